//! Shoppers' photos as stored: the re-encoded JPEG and what describes it.
//! Persisting and reading only; checking and re-encoding is the app's.

use kembali_core::{PhotoId, ReturnId, ShopId};
use sqlx::types::Json;

use crate::db::{Inner, Session};
use crate::{StoreError, corrupt, from_millis, millis, run};

/// What describes a stored photo, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoMeta {
    pub id: PhotoId,
    pub width: u32,
    pub height: u32,
    /// The stored JPEG's length in bytes.
    pub size: u64,
    /// SHA-256 of the stored bytes, lower-case hex.
    pub sha256: String,
    pub created_at: jiff::Timestamp,
}

pub async fn insert(
    ex: &mut impl Session,
    shop: ShopId,
    meta: &PhotoMeta,
    jpeg: &[u8],
) -> Result<(), StoreError> {
    run!(ex, |c| sqlx::query(
        "INSERT INTO photos (shop_id, id, width, height, size, sha256, created_at, jpeg)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(shop.to_string())
    .bind(meta.id.to_string())
    .bind(i64::from(meta.width))
    .bind(i64::from(meta.height))
    .bind(i64::try_from(meta.size).unwrap_or(i64::MAX))
    .bind(&meta.sha256)
    .bind(millis(meta.created_at))
    .bind(jpeg)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct PhotoRow {
    id: String,
    width: i64,
    height: i64,
    size: i64,
    sha256: String,
    created_at: i64,
    jpeg: Vec<u8>,
}

/// The shop's photo with its stored bytes; `None` when the shop has no such
/// photo (another shop's photo is not found either).
pub async fn get(
    ex: &mut impl Session,
    shop: ShopId,
    id: PhotoId,
) -> Result<Option<(PhotoMeta, Vec<u8>)>, StoreError> {
    let row: Option<PhotoRow> = run!(ex, |c| sqlx::query_as(
        "SELECT id, width, height, size, sha256, created_at, jpeg FROM photos
          WHERE shop_id = $1 AND id = $2"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    let Some(r) = row else { return Ok(None) };
    let meta = PhotoMeta {
        id: r.id.parse().map_err(corrupt)?,
        width: u32::try_from(r.width).map_err(corrupt)?,
        height: u32::try_from(r.height).map_err(corrupt)?,
        size: u64::try_from(r.size).map_err(corrupt)?,
        sha256: r.sha256,
        created_at: from_millis(r.created_at),
    };
    Ok(Some((meta, r.jpeg)))
}

/// Which of `ids` the shop has: one query, whatever their number.
pub async fn known(
    ex: &mut impl Session,
    shop: ShopId,
    ids: &[PhotoId],
) -> Result<Vec<PhotoId>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let shop_s = shop.to_string();
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let found: Vec<String> = match ex.inner() {
        Inner::Sqlite(c) => {
            sqlx::query_scalar(
                "SELECT id FROM photos
                  WHERE shop_id = $1 AND id IN (SELECT value FROM json_each($2))",
            )
            .bind(&shop_s)
            .bind(Json(&ids))
            .fetch_all(&mut *c)
            .await?
        }
        Inner::Postgres(c) => {
            sqlx::query_scalar("SELECT id FROM photos WHERE shop_id = $1 AND id = ANY($2)")
                .bind(&shop_s)
                .bind(&ids)
                .fetch_all(&mut *c)
                .await?
        }
    };
    found
        .into_iter()
        .map(|id| id.parse().map_err(corrupt))
        .collect()
}

/// Marks `ids` as named by the return `by`: they are kept from then on.
pub async fn attach(
    ex: &mut impl Session,
    shop: ShopId,
    ids: &[PhotoId],
    by: ReturnId,
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let shop_s = shop.to_string();
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    match ex.inner() {
        Inner::Sqlite(c) => {
            sqlx::query(
                "UPDATE photos SET return_id = $3
                  WHERE shop_id = $1 AND id IN (SELECT value FROM json_each($2))",
            )
            .bind(&shop_s)
            .bind(Json(&ids))
            .bind(by.to_string())
            .execute(&mut *c)
            .await?;
        }
        Inner::Postgres(c) => {
            sqlx::query("UPDATE photos SET return_id = $3 WHERE shop_id = $1 AND id = ANY($2)")
                .bind(&shop_s)
                .bind(&ids)
                .bind(by.to_string())
                .execute(&mut *c)
                .await?;
        }
    }
    Ok(())
}

/// Deletes at most `limit` photos of any shop that no return names and that
/// were uploaded before `cutoff`; answers how many.
pub async fn purge_unattached_before(
    ex: &mut impl Session,
    cutoff: jiff::Timestamp,
    limit: u32,
) -> Result<u64, StoreError> {
    // In batches through the primary key, so one run never holds a long lock.
    run!(ex, |c| sqlx::query(
        "DELETE FROM photos WHERE (shop_id, id) IN (
            SELECT shop_id, id FROM photos
             WHERE return_id IS NULL AND created_at < $1 LIMIT $2)"
    )
    .bind(millis(cutoff))
    .bind(i64::from(limit))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))
    .map_err(StoreError::from)
}

/// How many photos the shop has (tests check that a refused upload stored nothing).
pub async fn count(ex: &mut impl Session, shop: ShopId) -> Result<i64, StoreError> {
    Ok(run!(ex, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM photos WHERE shop_id = $1"
    )
    .bind(shop.to_string())
    .fetch_one(&mut *c)
    .await)?)
}
