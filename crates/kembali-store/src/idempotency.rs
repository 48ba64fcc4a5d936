//! `Idempotency-Key`: the first response to a key is kept, in the same transaction
//! as the change it made, so a retry gets that response again and never repeats
//! the change; the same key with another request is refused.

use kembali_core::ShopId;

use crate::db::Session;
use crate::{StoreError, millis, run};

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("this Idempotency-Key was used with a different request")]
    Mismatch,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(sqlx::FromRow)]
struct KeptRow {
    request_hash: String,
    status_code: i64,
    response: String,
}

/// Looks the key up inside the request's transaction. `Ok(Some)` is a replay;
/// `Ok(None)` means go ahead and call [`record`] before committing. Nothing waits
/// here: a concurrent twin with the same key does its work too, then collides on
/// the key's primary key in [`record`] (waiting there, on PostgreSQL, for the first
/// to commit), rolls back and replays the first answer.
pub async fn lookup(
    ex: &mut impl Session,
    shop: ShopId,
    key: &str,
    request_hash: &str,
) -> Result<Option<Stored>, KeyError> {
    let row: Option<KeptRow> = run!(ex, |c| sqlx::query_as(LOOKUP)
        .bind(shop.to_string())
        .bind(key)
        .fetch_optional(&mut *c)
        .await)
    .map_err(StoreError::from)?;
    kept(row, request_hash)
}

const LOOKUP: &str = "SELECT request_hash, status_code, response FROM idempotency_keys WHERE shop_id = $1 AND key = $2";

/// [`lookup`] in a job on SQLite's writer ([`crate::Db::run_job`]).
pub fn lookup_on(
    c: &rusqlite::Connection,
    shop: ShopId,
    key: &str,
    request_hash: &str,
) -> Result<Option<Stored>, KeyError> {
    let row = c
        .prepare_cached(LOOKUP)
        .and_then(|mut s| {
            rusqlite::OptionalExtension::optional(s.query_row(
                rusqlite::params![shop.to_string(), key],
                |r| {
                    Ok(KeptRow {
                        request_hash: r.get(0)?,
                        status_code: r.get(1)?,
                        response: r.get(2)?,
                    })
                },
            ))
        })
        .map_err(crate::direct::sqlite)?;
    kept(row, request_hash)
}

fn kept(row: Option<KeptRow>, request_hash: &str) -> Result<Option<Stored>, KeyError> {
    match row {
        Some(r) if r.request_hash != request_hash => Err(KeyError::Mismatch),
        Some(r) => Ok(Some(Stored {
            status: u16::try_from(r.status_code).unwrap_or(500),
            body: r.response,
        })),
        None => Ok(None),
    }
}

/// Keeps the response to `key`. A concurrent first use of the same key makes this
/// fail with [`StoreError::Duplicate`]; the caller rolls back and replays.
pub async fn record(
    ex: &mut impl Session,
    shop: ShopId,
    key: &str,
    request_hash: &str,
    response: &Stored,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    run!(ex, |c| {
        sqlx::query(RECORD)
            .bind(shop.to_string())
            .bind(key)
            .bind(request_hash)
            .bind(i64::from(response.status))
            .bind(&response.body)
            .bind(millis(now))
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

const RECORD: &str =
    "INSERT INTO idempotency_keys (shop_id, key, request_hash, status_code, response, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)";

/// [`record`] in a job on SQLite's writer ([`crate::Db::run_job`]).
pub fn record_on(
    c: &rusqlite::Connection,
    shop: ShopId,
    key: &str,
    request_hash: &str,
    response: &Stored,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    c.prepare_cached(RECORD)
        .and_then(|mut s| {
            s.execute(rusqlite::params![
                shop.to_string(),
                key,
                request_hash,
                i64::from(response.status),
                response.body,
                millis(now)
            ])
        })
        .map_err(crate::direct::sqlite)?;
    Ok(())
}

/// Deletes every kept key (of every shop) recorded before `cutoff`, at most
/// `limit` of them; returns how many went. A retry after that is a new request.
pub async fn purge_before(
    ex: &mut impl Session,
    cutoff: jiff::Timestamp,
    limit: u32,
) -> Result<u64, StoreError> {
    // In batches through the primary key, so one run never holds a long lock.
    run!(ex, |c| sqlx::query(
        "DELETE FROM idempotency_keys WHERE (shop_id, key) IN (
            SELECT shop_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)"
    )
    .bind(millis(cutoff))
    .bind(i64::from(limit))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))
    .map_err(StoreError::from)
}
