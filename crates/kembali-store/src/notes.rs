//! Agents' internal notes on returns: beside the timeline, never a status change.

use kembali_core::returns::Actor;
use kembali_core::{NoteId, ReturnId, ShopId};
use sqlx::types::Json;

use crate::db::Session;
use crate::{StoreError, corrupt, from_millis, millis, run};

/// A note as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub id: NoteId,
    pub return_id: ReturnId,
    pub body: String,
    pub actor: Actor,
    pub at: jiff::Timestamp,
}

pub async fn insert(ex: &mut impl Session, shop: ShopId, n: &Note) -> Result<(), StoreError> {
    run!(ex, |c| sqlx::query(
        "INSERT INTO return_notes (shop_id, id, return_id, body, actor, at)
         VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(shop.to_string())
    .bind(n.id.to_string())
    .bind(n.return_id.to_string())
    .bind(&n.body)
    .bind(Json(&n.actor))
    .bind(millis(n.at))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct NoteRow {
    id: String,
    body: String,
    actor: Json<Actor>,
    at: i64,
}

/// The return's notes, oldest first.
pub async fn of_return(
    ex: &mut impl Session,
    shop: ShopId,
    id: ReturnId,
) -> Result<Vec<Note>, StoreError> {
    let rows: Vec<NoteRow> = run!(ex, |c| sqlx::query_as(
        "SELECT id, body, actor, at FROM return_notes
          WHERE shop_id = $1 AND return_id = $2 ORDER BY id"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|r| {
            Ok(Note {
                id: r.id.parse().map_err(corrupt)?,
                return_id: id,
                body: r.body,
                actor: r.actor.0,
                at: from_millis(r.at),
            })
        })
        .collect()
}
