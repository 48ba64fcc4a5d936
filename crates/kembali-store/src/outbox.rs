//! The transactional outbox: messages about changes the outside may care about,
//! appended in the transaction of the change. What to write, and who consumes it,
//! is the application layer's business; this module only keeps the rows.

use jiff::Timestamp;
use kembali_core::{MessageId, ShopId};
use sqlx::types::Json;

use crate::db::{Inner, Session};
use crate::{StoreError, corrupt, from_millis, millis, run};

/// One message: `kind` is the event name (`return.approved`), `subject` the id of
/// what it is about, `payload` the versioned envelope sent to the outside.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: MessageId,
    pub shop_id: ShopId,
    pub kind: String,
    pub subject: String,
    pub payload: serde_json::Value,
    pub occurred_at: Timestamp,
    pub dispatched_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: String,
    kind: String,
    subject: String,
    payload: Json<serde_json::Value>,
    occurred_at: i64,
    dispatched_at: Option<i64>,
}

impl MessageRow {
    fn into_message(self, shop: ShopId) -> Result<Message, StoreError> {
        Ok(Message {
            id: self.id.parse().map_err(corrupt)?,
            shop_id: shop,
            kind: self.kind,
            subject: self.subject,
            payload: self.payload.0,
            occurred_at: from_millis(self.occurred_at),
            dispatched_at: self.dispatched_at.map(from_millis),
        })
    }
}

/// Appends `m` inside the caller's transaction.
pub async fn append(ex: &mut impl Session, m: &Message) -> Result<(), StoreError> {
    run!(ex, |c| sqlx::query(
        "INSERT INTO outbox (shop_id, id, kind, subject, payload, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(m.shop_id.to_string())
    .bind(m.id.to_string())
    .bind(&m.kind)
    .bind(&m.subject)
    .bind(Json(&m.payload))
    .bind(millis(m.occurred_at))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// One message of the shop.
pub async fn get(
    ex: &mut impl Session,
    shop: ShopId,
    id: MessageId,
) -> Result<Option<Message>, StoreError> {
    let row: Option<MessageRow> = run!(ex, |c| sqlx::query_as(
        "SELECT id, kind, subject, payload, occurred_at, dispatched_at
           FROM outbox WHERE shop_id = $1 AND id = $2"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(|r| r.into_message(shop)).transpose()
}

/// The messages about one subject (a return, an order), oldest first.
pub async fn for_subject(
    ex: &mut impl Session,
    shop: ShopId,
    subject: &str,
) -> Result<Vec<Message>, StoreError> {
    let rows: Vec<MessageRow> = run!(ex, |c| sqlx::query_as(
        "SELECT id, kind, subject, payload, occurred_at, dispatched_at
           FROM outbox WHERE shop_id = $1 AND subject = $2 ORDER BY id"
    )
    .bind(shop.to_string())
    .bind(subject)
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(|r| r.into_message(shop)).collect()
}

/// Marks the shop's messages `ids` fanned out in one query (a dispatch's
/// batch); answers how many were not marked before.
pub async fn mark_all_dispatched(
    ex: &mut impl Session,
    shop: ShopId,
    ids: &[MessageId],
    now: Timestamp,
) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let shop = shop.to_string();
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let done = match ex.inner() {
        Inner::Sqlite(c) => {
            // A statement per message, all sent as one query: each is a look-up
            // by primary key whatever the planner's statistics say. With an
            // `IN` list, statistics taken while the outbox was small (the
            // server analyses at start, then every ten minutes) made SQLite scan the
            // whole outbox on every batch. Not kept prepared: its text
            // changes with the batch's size.
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
            for (n, id) in ids.iter().enumerate() {
                if n > 0 {
                    q.push("; ");
                }
                q.push("UPDATE outbox SET dispatched_at = ")
                    .push_bind(millis(now))
                    .push(" WHERE shop_id = ")
                    .push_bind(&shop)
                    .push(" AND id = ")
                    .push_bind(id)
                    .push(" AND dispatched_at IS NULL");
            }
            q.build()
                .persistent(false)
                .execute(&mut *c)
                .await?
                .rows_affected()
        }
        Inner::Postgres(c) => sqlx::query(
            "UPDATE outbox SET dispatched_at = $1
                  WHERE shop_id = $2 AND id = ANY($3) AND dispatched_at IS NULL",
        )
        .bind(millis(now))
        .bind(&shop)
        .bind(&ids)
        .execute(&mut *c)
        .await?
        .rows_affected(),
    };
    Ok(done)
}

/// Marks one message dispatched, by primary key.
const MARK: &str = "UPDATE outbox SET dispatched_at = $1
      WHERE shop_id = $2 AND id = $3 AND dispatched_at IS NULL";

#[derive(sqlx::FromRow)]
struct PendingRow {
    shop_id: String,
    #[sqlx(flatten)]
    message: MessageRow,
}

impl PendingRow {
    fn into_message(self) -> Result<Message, StoreError> {
        let shop = self.shop_id.parse().map_err(corrupt)?;
        self.message.into_message(shop)
    }
}

/// The relay's queue, oldest first; PostgreSQL adds its lock clause.
macro_rules! pending {
    () => {
        "SELECT shop_id, id, kind, subject, payload, occurred_at, dispatched_at
           FROM outbox WHERE dispatched_at IS NULL AND handed_off_at IS NULL
          ORDER BY occurred_at, id LIMIT $1"
    };
}

/// Takes up to `limit` messages not yet dispatched (nor handed to a job of their
/// own), oldest first, across shops: the relay's queue. On PostgreSQL the rows
/// stay locked until the transaction ends and concurrent relays skip them
/// (`FOR UPDATE SKIP LOCKED`); on SQLite the write transaction serialises relays.
pub async fn take_pending(ex: &mut impl Session, limit: u32) -> Result<Vec<Message>, StoreError> {
    let sql = crate::dialect::skip_locked!(ex.backend(), pending!());
    let rows: Vec<PendingRow> = run!(ex, |c| sqlx::query_as(sql)
        .bind(i64::from(limit))
        .fetch_all(&mut *c)
        .await)?;
    rows.into_iter().map(PendingRow::into_message).collect()
}

/// [`take_pending`] in a job on SQLite's writer ([`crate::Db::run_job`]).
pub fn take_pending_on(c: &rusqlite::Connection, limit: u32) -> Result<Vec<Message>, StoreError> {
    let rows = c
        .prepare_cached(pending!())
        .and_then(|mut s| {
            s.query_map([i64::from(limit)], |r| {
                Ok(PendingRow {
                    shop_id: r.get(0)?,
                    message: MessageRow {
                        id: r.get(1)?,
                        kind: r.get(2)?,
                        subject: r.get(3)?,
                        payload: Json(crate::direct::json_column(r, 4)?),
                        occurred_at: r.get(5)?,
                        dispatched_at: r.get(6)?,
                    },
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(crate::direct::sqlite)?;
    rows.into_iter().map(PendingRow::into_message).collect()
}

/// [`mark_all_dispatched`] in a job on SQLite's writer: the same look-up by
/// primary key per message, one prepared statement run for each.
pub fn mark_all_dispatched_on(
    c: &rusqlite::Connection,
    shop: ShopId,
    ids: &[MessageId],
    now: Timestamp,
) -> Result<u64, StoreError> {
    let shop = shop.to_string();
    let mut done = 0;
    let mut s = c.prepare_cached(MARK).map_err(crate::direct::sqlite)?;
    for id in ids {
        let n = s
            .execute(rusqlite::params![millis(now), shop, id.to_string()])
            .map_err(crate::direct::sqlite)?;
        done += n as u64;
    }
    Ok(done)
}

/// Whether any message waits for the relay (the test kit's drain).
pub async fn any_pending(ex: &mut impl Session) -> Result<bool, StoreError> {
    let found: Option<String> = run!(ex, |c| sqlx::query_scalar(
        // The order is the relay's index's (`outbox_pending`): without it,
        // statistics taken while the outbox was small made SQLite scan the
        // whole outbox, where the pending messages are the newest.
        "SELECT id FROM outbox WHERE dispatched_at IS NULL AND handed_off_at IS NULL
          ORDER BY occurred_at, id LIMIT 1"
    )
    .fetch_optional(&mut *c)
    .await)?;
    Ok(found.is_some())
}

/// Takes the message out of the relay's queue: a job of its own dispatches it.
pub async fn hand_off(
    ex: &mut impl Session,
    shop: ShopId,
    id: MessageId,
    now: Timestamp,
) -> Result<(), StoreError> {
    run!(ex, |c| sqlx::query(
        "UPDATE outbox SET handed_off_at = $1
          WHERE shop_id = $2 AND id = $3 AND dispatched_at IS NULL"
    )
    .bind(millis(now))
    .bind(shop.to_string())
    .bind(id.to_string())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
