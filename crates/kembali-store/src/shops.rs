//! Shops (tenants).

use kembali_core::ShopId;
use kembali_core::access::{Scope, Scopes};
use kembali_core::order::Address;
use kembali_core::shop::{Country, Locale, ReasonLabel, Shop, ShopSettings};
use sqlx::types::Json;

pub use crate::api_keys::NewApiKey;

use crate::db::Session;
use crate::{StoreError, corrupt, millis, run};

#[derive(sqlx::FromRow)]
struct ShopRow {
    id: String,
    slug: String,
    name: String,
    currency: String,
    time_zone: String,
    default_locale: String,
    country: String,
    return_prefix: String,
}

impl TryFrom<ShopRow> for Shop {
    type Error = StoreError;
    fn try_from(r: ShopRow) -> Result<Shop, StoreError> {
        Ok(Shop {
            id: r.id.parse().map_err(corrupt)?,
            slug: r.slug,
            name: r.name,
            currency: r.currency.parse().map_err(corrupt)?,
            time_zone: r.time_zone,
            default_locale: Locale::from_tag(&r.default_locale).unwrap_or(Locale::En),
            country: Country::try_from(r.country).map_err(corrupt)?,
            return_prefix: r.return_prefix,
        })
    }
}

macro_rules! shop_columns {
    () => {
        "id, slug, name, currency, time_zone, default_locale, country, return_prefix"
    };
}

pub async fn insert(
    ex: &mut impl Session,
    shop: &Shop,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    run!(ex, |c| {
        sqlx::query(
        "INSERT INTO shops (id, slug, name, currency, time_zone, default_locale, country, return_prefix, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(shop.id.to_string())
    .bind(&shop.slug)
    .bind(&shop.name)
    .bind(shop.currency.code())
    .bind(&shop.time_zone)
    .bind(shop.default_locale.code())
    .bind(shop.country.code())
    .bind(&shop.return_prefix)
    .bind(millis(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Creates the shop with its first return policy (version 1).
pub async fn create(
    ex: &mut impl Session,
    shop: &Shop,
    policy: &kembali_core::policy::PolicyDocument,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    insert(ex, shop, now).await?;
    crate::policies::save(ex, shop.id, policy, now).await?;
    Ok(())
}

pub async fn get(ex: &mut impl Session, id: ShopId) -> Result<Shop, StoreError> {
    let row: ShopRow = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        shop_columns!(),
        " FROM shops WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_one(&mut *c)
    .await)?;
    row.try_into()
}

pub async fn get_by_slug(ex: &mut impl Session, slug: &str) -> Result<Shop, StoreError> {
    let row: ShopRow = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        shop_columns!(),
        " FROM shops WHERE slug = $1"
    ))
    .bind(slug)
    .fetch_one(&mut *c)
    .await)?;
    row.try_into()
}

type Reasons = std::collections::BTreeMap<Locale, Vec<ReasonLabel>>;

/// The shop's settings beside its identity.
pub async fn settings(ex: &mut impl Session, id: ShopId) -> Result<ShopSettings, StoreError> {
    let (reasons, return_address): (Json<Reasons>, Option<Json<Address>>) =
        run!(ex, |c| sqlx::query_as(
            "SELECT reasons, return_address FROM shops WHERE id = $1"
        )
        .bind(id.to_string())
        .fetch_one(&mut *c)
        .await)?;
    Ok(ShopSettings {
        reasons: reasons.0,
        return_address: return_address.map(|a| a.0),
    })
}

/// Stores a changed shop (its slug and return counter stay) with its settings.
pub async fn update(
    ex: &mut impl Session,
    shop: &Shop,
    settings: &ShopSettings,
) -> Result<(), StoreError> {
    run!(ex, |c| {
        sqlx::query(
            "UPDATE shops SET name = $2, currency = $3, time_zone = $4, default_locale = $5,
                country = $6, return_prefix = $7, reasons = $8, return_address = $9
              WHERE id = $1",
        )
        .bind(shop.id.to_string())
        .bind(&shop.name)
        .bind(shop.currency.code())
        .bind(&shop.time_zone)
        .bind(shop.default_locale.code())
        .bind(shop.country.code())
        .bind(&shop.return_prefix)
        .bind(Json(&settings.reasons))
        .bind(settings.return_address.as_ref().map(Json))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Takes the shop's next readable return number in the caller's transaction
/// (SQLite, whose single writer serialises anyway; PostgreSQL takes blocks with
/// [`take_return_numbers`] instead of holding this row's lock until commit).
pub async fn next_return_seq(ex: &mut impl Session, shop: ShopId) -> Result<i64, StoreError> {
    let n: i64 = run!(ex, |c| sqlx::query_scalar(NEXT_RETURN_SEQ)
        .bind(shop.to_string())
        .fetch_one(&mut *c)
        .await)?;
    Ok(n)
}

const NEXT_RETURN_SEQ: &str =
    "UPDATE shops SET return_seq = return_seq + 1 WHERE id = $1 RETURNING return_seq";

/// [`next_return_seq`] in a job on SQLite's writer ([`crate::Db::run_job`]).
pub fn next_return_seq_on(c: &rusqlite::Connection, shop: ShopId) -> Result<i64, StoreError> {
    c.prepare_cached(NEXT_RETURN_SEQ)
        .and_then(|mut s| s.query_row([shop.to_string()], |r| r.get(0)))
        .map_err(crate::direct::sqlite)
}

/// Takes `n` return numbers from the shop's counter and answers the last one:
/// the block is `last - n + 1 ..= last`. Meant for a short transaction of its
/// own, so the row's lock is held only that long.
pub async fn take_return_numbers(
    ex: &mut impl Session,
    shop: ShopId,
    n: i64,
) -> Result<i64, StoreError> {
    let last: i64 = run!(ex, |c| sqlx::query_scalar(
        "UPDATE shops SET return_seq = return_seq + $2 WHERE id = $1 RETURNING return_seq"
    )
    .bind(shop.to_string())
    .bind(n)
    .fetch_one(&mut *c)
    .await)?;
    Ok(last)
}

/// A new key with every scope (`admin`), as keys were before scopes: the
/// CLI's default, the demo's and the test kit's. `api_keys::create` takes scopes.
pub async fn create_api_key(
    ex: &mut impl Session,
    shop: ShopId,
    name: &str,
    now: jiff::Timestamp,
) -> Result<NewApiKey, StoreError> {
    let admin = Scopes::new([Scope::Admin]);
    crate::api_keys::create(ex, shop, name, &admin, now).await
}

/// Whether `table` holds a row `id` of `shop`. Every table's primary key is
/// `(shop_id, id)`, so this is one index look-up. `table` is a name written in
/// our code (`'static`), never input.
pub async fn owns(
    ex: &mut impl Session,
    table: &'static str,
    shop: ShopId,
    id: &str,
) -> Result<bool, StoreError> {
    let sql = format!("SELECT 1 FROM {table} WHERE shop_id = $1 AND id = $2");
    let found: Option<i32> = run!(ex, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
        .bind(shop.to_string())
        .bind(id)
        .fetch_optional(&mut *c)
        .await)?;
    Ok(found.is_some())
}
