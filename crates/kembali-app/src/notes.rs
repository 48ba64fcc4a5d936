//! Agents' internal notes on a return: written beside the timeline, never a
//! change of status, and shown with the return.

use jiff::Timestamp;
use kembali_core::returns::Actor;
use kembali_core::text::{self, Form};
use kembali_core::{NoteId, ReturnId, ShopId};
use kembali_store::notes::{self as store};
use kembali_store::{Session, Tx, returns};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{Conflict, Entity};
use crate::returns::MAX_NOTE;
use crate::{App, AppError};

/// At most this many notes on one return, so a return stays one small read.
pub const MAX_NOTES: usize = 200;

/// An internal note: who wrote what, when.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Note {
    pub id: NoteId,
    pub body: String,
    pub author: Actor,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

impl From<store::Note> for Note {
    fn from(n: store::Note) -> Self {
        Note {
            id: n.id,
            body: n.body,
            author: n.actor,
            at: n.at,
        }
    }
}

/// The return's notes, oldest first.
pub async fn of_return(
    ex: &mut impl Session,
    shop: ShopId,
    id: ReturnId,
) -> Result<Vec<Note>, AppError> {
    Ok(store::of_return(ex, shop, id)
        .await?
        .into_iter()
        .map(Note::from)
        .collect())
}

/// Adds a note to the return in `tx`: prose of 1–2000 characters.
pub async fn add(
    app: &App,
    tx: &mut Tx,
    shop: ShopId,
    id: ReturnId,
    body: &str,
    author: &Actor,
) -> Result<Note, AppError> {
    text::check_required(body, Form::Prose, MAX_NOTE)
        .map_err(|p| AppError::invalid("body", p.into()))?;
    if returns::get(tx, shop, id).await?.is_none() {
        return Err(AppError::NotFound(Entity::Return));
    }
    let count = store::of_return(tx, shop, id).await?.len();
    if count >= MAX_NOTES {
        return Err(AppError::State(Conflict::TooManyNotes));
    }
    let at = app.now();
    // Notes list by id: the note's position fills the top bits of the id's
    // random part, so two notes of one millisecond keep the order they came in.
    let position = u128::try_from(count).unwrap_or(0);
    let random = app.entropy() & ((1u128 << 64) - 1);
    let note = store::Note {
        id: NoteId::new(at, (position << 64) | random),
        return_id: id,
        body: body.trim().to_owned(),
        actor: author.clone(),
        at,
    };
    store::insert(tx, shop, &note).await?;
    Ok(note.into())
}
