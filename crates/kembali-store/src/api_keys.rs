//! API keys: only a hash of each secret is kept; a key names its shop and scopes.

use kembali_core::access::Scopes;
use kembali_core::shop::{Country, Locale, Shop};
use kembali_core::{ApiKeyId, ShopId};
use sha2::{Digest, Sha256};

use crate::db::Session;
use crate::{StoreError, corrupt, entropy, from_millis, millis, run};

/// A newly made API key: the secret is shown once and only its hash is kept.
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub secret: String,
    pub key: ApiKey,
}

/// A key as it can be shown: never the secret, only its first characters.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    /// The secret's first ten characters (`kb_` and seven more), to recognise it.
    pub prefix: String,
    pub scopes: Scopes,
    pub created_at: jiff::Timestamp,
    pub revoked_at: Option<jiff::Timestamp>,
}

/// What a live key's secret opens: the key, its scopes and its shop.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub key: ApiKeyId,
    pub scopes: Scopes,
    pub shop: Shop,
}

/// The hash kept for a secret. Keys are 192 random bits: a fast hash is
/// enough, unlike for passwords.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub async fn create(
    ex: &mut impl Session,
    shop: ShopId,
    name: &str,
    scopes: &Scopes,
    now: jiff::Timestamp,
) -> Result<NewApiKey, StoreError> {
    let id = ApiKeyId::new(now, entropy());
    let mut raw = [0u8; 24];
    getrandom::fill(&mut raw).map_err(|e| StoreError::Config(format!("no randomness: {e}")))?;
    let secret = format!("kb_{}", hex::encode(raw));
    let prefix = secret[..10].to_owned();
    run!(ex, |c| {
        sqlx::query(
            "INSERT INTO api_keys (shop_id, id, name, prefix, hash, scopes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(shop.to_string())
        .bind(id.to_string())
        .bind(name)
        .bind(&prefix)
        .bind(hash_secret(&secret))
        .bind(scopes.to_text())
        .bind(millis(now))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    let key = ApiKey {
        id,
        name: name.to_owned(),
        prefix,
        scopes: scopes.clone(),
        created_at: crate::from_millis(millis(now)),
        revoked_at: None,
    };
    Ok(NewApiKey { id, secret, key })
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: String,
    name: String,
    prefix: String,
    scopes: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl TryFrom<KeyRow> for ApiKey {
    type Error = StoreError;
    fn try_from(r: KeyRow) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            id: r.id.parse().map_err(corrupt)?,
            name: r.name,
            prefix: r.prefix,
            scopes: Scopes::from_text(&r.scopes)
                .ok_or_else(|| corrupt(format!("unknown scopes `{}`", r.scopes)))?,
            created_at: from_millis(r.created_at),
            revoked_at: r.revoked_at.map(from_millis),
        })
    }
}

/// The shop's keys, newest first, older than `before` when given; at most `limit`.
pub async fn list(
    ex: &mut impl Session,
    shop: ShopId,
    before: Option<ApiKeyId>,
    limit: u32,
) -> Result<Vec<ApiKey>, StoreError> {
    let before = before.map_or_else(
        || crate::AFTER_EVERY_ID.replace('*', "key"),
        |b| b.to_string(),
    );
    let rows: Vec<KeyRow> = run!(ex, |c| sqlx::query_as(
        "SELECT id, name, prefix, scopes, created_at, revoked_at FROM api_keys
          WHERE shop_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    )
    .bind(shop.to_string())
    .bind(&before)
    .bind(i64::from(limit))
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(ApiKey::try_from).collect()
}

/// The key, if it is this shop's.
pub async fn get(
    ex: &mut impl Session,
    shop: ShopId,
    id: ApiKeyId,
) -> Result<Option<ApiKey>, StoreError> {
    let row: Option<KeyRow> = run!(ex, |c| sqlx::query_as(
        "SELECT id, name, prefix, scopes, created_at, revoked_at FROM api_keys
          WHERE shop_id = $1 AND id = $2"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(ApiKey::try_from).transpose()
}

/// Revokes the key (a key already revoked keeps its first time); `false` if
/// the shop has no such key.
pub async fn revoke(
    ex: &mut impl Session,
    shop: ShopId,
    id: ApiKeyId,
    now: jiff::Timestamp,
) -> Result<bool, StoreError> {
    let n = run!(ex, |c| {
        sqlx::query(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE shop_id = $1 AND id = $2"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .bind(millis(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(n > 0)
}

#[derive(sqlx::FromRow)]
struct AuthRow {
    key_id: String,
    scopes: String,
    id: String,
    slug: String,
    name: String,
    currency: String,
    time_zone: String,
    default_locale: String,
    country: String,
    return_prefix: String,
}

/// The live key a bearer secret belongs to, with its shop: one query (the key
/// by its hash's unique index, joined to its shop by primary key).
pub async fn authenticate(
    ex: &mut impl Session,
    secret: &str,
) -> Result<Option<Authenticated>, StoreError> {
    if !secret.starts_with("kb_") || secret.len() > 100 {
        return Ok(None);
    }
    let row: Option<AuthRow> = run!(ex, |c| sqlx::query_as(
        "SELECT k.id AS key_id, k.scopes, s.id, s.slug, s.name, s.currency, s.time_zone,
                s.default_locale, s.country, s.return_prefix
           FROM api_keys k JOIN shops s ON s.id = k.shop_id
          WHERE k.hash = $1 AND k.revoked_at IS NULL"
    )
    .bind(hash_secret(secret))
    .fetch_optional(&mut *c)
    .await)?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Authenticated {
        key: r.key_id.parse().map_err(corrupt)?,
        scopes: Scopes::from_text(&r.scopes)
            .ok_or_else(|| corrupt(format!("unknown scopes `{}`", r.scopes)))?,
        shop: Shop {
            id: r.id.parse().map_err(corrupt)?,
            slug: r.slug,
            name: r.name,
            currency: r.currency.parse().map_err(corrupt)?,
            time_zone: r.time_zone,
            default_locale: Locale::from_tag(&r.default_locale).unwrap_or(Locale::En),
            country: Country::try_from(r.country).map_err(corrupt)?,
            return_prefix: r.return_prefix,
        },
    }))
}
