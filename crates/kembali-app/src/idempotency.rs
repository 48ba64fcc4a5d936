//! Writes with an idempotency key (the API's `Idempotency-Key`, a page's form
//! token): a retry gets the first answer, and the first answer is kept in the
//! same transaction as the change it made, so neither exists without the other.

use kembali_core::ShopId;
use kembali_store::Tx;
use kembali_store::idempotency::{self, Stored};

use crate::{App, AppError};

/// A request's key and a fingerprint of what it asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub key: String,
    pub hash: String,
}

/// The answer to a write: fresh, or the first answer replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub replayed: bool,
}

/// Runs `work` in one transaction with key semantics. A concurrent twin with the
/// same key collides on the key's primary key when it records its answer, rolls
/// back, and replays the answer of the one that committed. The answer is written
/// out inside the transaction only when a key keeps it; otherwise after the
/// commit, so that SQLite's one writer is not held for it.
pub async fn once<F, T, E>(app: &App, shop: ShopId, key: Option<&Key>, work: F) -> Result<Reply, E>
where
    F: AsyncFnOnce(&mut Tx) -> Result<(u16, T), E>,
    T: serde::Serialize,
    E: From<AppError>,
{
    let mut tx = app.db.begin().await.map_err(AppError::from)?;
    if let Some(k) = key
        && let Some(stored) = idempotency::lookup(&mut tx, shop, &k.key, &k.hash)
            .await
            .map_err(AppError::from)?
    {
        // On SQLite the first answer may belong to a write of the same group,
        // not committed yet: replay it only once it is (`commit` waits).
        tx.commit().await.map_err(AppError::from)?;
        return Ok(replayed(stored));
    }
    let (status, body) = match work(&mut tx).await {
        Ok(ok) => ok,
        Err(e) => {
            drop(tx);
            return match earlier(app, shop, key).await? {
                Some(r) => Ok(r),
                None => Err(e),
            };
        }
    };
    let Some(k) = key else {
        tx.commit().await.map_err(AppError::from)?;
        return Ok(Reply {
            status,
            body: written(&body)?,
            replayed: false,
        });
    };
    let body = written(&body)?;
    let stored = Stored {
        status,
        body: body.clone(),
    };
    if let Err(e) = idempotency::record(&mut tx, shop, &k.key, &k.hash, &stored, app.now()).await {
        drop(tx);
        return match earlier(app, shop, key).await? {
            Some(r) => Ok(r),
            None => Err(AppError::from(e).into()),
        };
    }
    tx.commit().await.map_err(AppError::from)?;
    Ok(Reply {
        status,
        body,
        replayed: false,
    })
}

/// An answer's JSON body.
pub(crate) fn written<T: serde::Serialize>(body: &T) -> Result<String, AppError> {
    serde_json::to_string(body).map_err(|e| AppError::Answer(e.to_string()))
}

/// The answer a concurrent twin with the same key committed meanwhile, if any.
async fn earlier(app: &App, shop: ShopId, key: Option<&Key>) -> Result<Option<Reply>, AppError> {
    let Some(k) = key else { return Ok(None) };
    let mut conn = app.db.conn().await?;
    Ok(idempotency::lookup(&mut conn, shop, &k.key, &k.hash)
        .await?
        .map(replayed))
}

fn replayed(stored: Stored) -> Reply {
    Reply {
        status: stored.status,
        body: stored.body,
        replayed: true,
    }
}
