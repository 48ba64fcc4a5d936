//! The shop's return policy, one row per version.

use kembali_core::ShopId;
use kembali_core::policy::PolicyDocument;
use sqlx::types::Json;

use crate::db::Session;
use crate::{StoreError, millis, run};

#[derive(sqlx::FromRow)]
struct PolicyRow {
    version: i64,
    document: Json<PolicyDocument>,
}

/// The newest version of the shop's policy; a shop without one gets the defaults
/// saved as version 1 on its first save.
pub async fn current(
    ex: &mut impl Session,
    shop: ShopId,
) -> Result<Option<(i64, PolicyDocument)>, StoreError> {
    let row: Option<PolicyRow> = run!(ex, |c| {
        sqlx::query_as(
        "SELECT version, document FROM policies WHERE shop_id = $1 ORDER BY version DESC LIMIT 1"
    )
    .bind(shop.to_string())
    .fetch_optional(&mut *c)
    .await
    })?;
    Ok(row.map(|r| (r.version, r.document.0)))
}

/// The number of the shop's newest version, without its document.
pub async fn latest_version(
    ex: &mut impl Session,
    shop: ShopId,
) -> Result<Option<i64>, StoreError> {
    let v: Option<i64> = run!(ex, |c| sqlx::query_scalar(
        "SELECT version FROM policies WHERE shop_id = $1 ORDER BY version DESC LIMIT 1"
    )
    .bind(shop.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    Ok(v)
}

/// A past version, to reproduce a decision made under it.
pub async fn version(
    ex: &mut impl Session,
    shop: ShopId,
    version: i64,
) -> Result<Option<PolicyDocument>, StoreError> {
    let row: Option<Json<PolicyDocument>> = run!(ex, |c| sqlx::query_scalar(
        "SELECT document FROM policies WHERE shop_id = $1 AND version = $2"
    )
    .bind(shop.to_string())
    .bind(version)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(row.map(|d| d.0))
}

/// Saves a new version (the document must be valid) and returns its number.
pub async fn save(
    ex: &mut impl Session,
    shop: ShopId,
    doc: &PolicyDocument,
    now: jiff::Timestamp,
) -> Result<i64, StoreError> {
    let next: i64 = run!(ex, |c| sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM policies WHERE shop_id = $1"
    )
    .bind(shop.to_string())
    .fetch_one(&mut *c)
    .await)?;
    run!(ex, |c| sqlx::query(
        "INSERT INTO policies (shop_id, version, document, created_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(shop.to_string())
    .bind(next)
    .bind(Json(doc))
    .bind(millis(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(next)
}

/// A stored version of a shop's policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub version: i64,
    pub document: PolicyDocument,
    pub created_at: jiff::Timestamp,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    version: i64,
    document: Json<PolicyDocument>,
    created_at: i64,
}

impl From<VersionRow> for Version {
    fn from(r: VersionRow) -> Version {
        Version {
            version: r.version,
            document: r.document.0,
            created_at: crate::from_millis(r.created_at),
        }
    }
}

/// One version with when it was saved; `None` for a version the shop does not have.
pub async fn get(
    ex: &mut impl Session,
    shop: ShopId,
    version: i64,
) -> Result<Option<Version>, StoreError> {
    let row: Option<VersionRow> = run!(ex, |c| sqlx::query_as(
        "SELECT version, document, created_at FROM policies WHERE shop_id = $1 AND version = $2"
    )
    .bind(shop.to_string())
    .bind(version)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(row.map(Version::from))
}

/// The newest version with when it was saved.
pub async fn latest(ex: &mut impl Session, shop: ShopId) -> Result<Option<Version>, StoreError> {
    let row: Option<VersionRow> = run!(ex, |c| sqlx::query_as(
        "SELECT version, document, created_at FROM policies
          WHERE shop_id = $1 ORDER BY version DESC LIMIT 1"
    )
    .bind(shop.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    Ok(row.map(Version::from))
}

/// Up to `limit` versions after `after`, oldest first.
pub async fn list(
    ex: &mut impl Session,
    shop: ShopId,
    after: Option<i64>,
    limit: u32,
) -> Result<Vec<Version>, StoreError> {
    let rows: Vec<VersionRow> = run!(ex, |c| sqlx::query_as(
        "SELECT version, document, created_at FROM policies
          WHERE shop_id = $1 AND version > $2 ORDER BY version LIMIT $3"
    )
    .bind(shop.to_string())
    .bind(after.unwrap_or(0))
    .bind(i64::from(limit))
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows.into_iter().map(Version::from).collect())
}
