//! Drop-off points of a shop's carriers, keyed by (carrier, the carrier's id).

use std::collections::HashSet;

use kembali_core::ShopId;

use crate::db::Session;
use crate::{StoreError, millis, run};

/// A drop-off point as stored. Coordinates in millionths of a degree; the
/// opening hours in their canonical text (`kembali_core::dropoff::OpeningHours`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Point {
    pub carrier: String,
    pub point_id: String,
    pub name: String,
    pub kind: Option<String>,
    pub address: String,
    pub city: Option<String>,
    pub postal_code: String,
    pub postal_key: String,
    pub country: Option<String>,
    pub latitude: i64,
    pub longitude: i64,
    pub opening_hours: String,
}

macro_rules! columns {
    () => {
        "carrier, point_id, name, kind, address, city, postal_code, postal_key, country, \
         latitude, longitude, opening_hours"
    };
}

/// The (carrier, point id) pairs the shop has.
pub async fn keys(
    ex: &mut impl Session,
    shop: ShopId,
) -> Result<HashSet<(String, String)>, StoreError> {
    let rows: Vec<(String, String)> = run!(ex, |c| sqlx::query_as(
        "SELECT carrier, point_id FROM dropoff_points WHERE shop_id = $1"
    )
    .bind(shop.to_string())
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows.into_iter().collect())
}

/// Whether the shop has the point `carrier`/`point_id`.
pub async fn exists(
    ex: &mut impl Session,
    shop: ShopId,
    carrier: &str,
    point_id: &str,
) -> Result<bool, StoreError> {
    // A text column, not `SELECT 1`: its integer type differs between the two.
    let found: Option<(String,)> = run!(ex, |c| {
        sqlx::query_as(
        "SELECT point_id FROM dropoff_points WHERE shop_id = $1 AND carrier = $2 AND point_id = $3"
    )
    .bind(shop.to_string())
    .bind(carrier)
    .bind(point_id)
    .fetch_optional(&mut *c)
    .await
    })?;
    Ok(found.is_some())
}

/// Writes the point: a new one, or the one of the same carrier and id updated
/// in place (its `created_at` stays).
pub async fn upsert(
    ex: &mut impl Session,
    shop: ShopId,
    p: &Point,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    run!(ex, |c| sqlx::query(concat!(
        "INSERT INTO dropoff_points (shop_id, ",
        columns!(),
        ", created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
         ON CONFLICT (shop_id, carrier, point_id) DO UPDATE SET
           name = excluded.name, kind = excluded.kind, address = excluded.address,
           city = excluded.city, postal_code = excluded.postal_code,
           postal_key = excluded.postal_key, country = excluded.country,
           latitude = excluded.latitude, longitude = excluded.longitude,
           opening_hours = excluded.opening_hours, updated_at = excluded.updated_at"
    ))
    .bind(shop.to_string())
    .bind(&p.carrier)
    .bind(&p.point_id)
    .bind(&p.name)
    .bind(&p.kind)
    .bind(&p.address)
    .bind(&p.city)
    .bind(&p.postal_code)
    .bind(&p.postal_key)
    .bind(&p.country)
    .bind(p.latitude)
    .bind(p.longitude)
    .bind(&p.opening_hours)
    .bind(millis(now))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The shop's points inside a box of latitudes and longitudes (millionths of
/// a degree, bounds included), of one carrier when given. The latitude index
/// narrows the search; longitude is checked on the rows it finds.
pub async fn within(
    ex: &mut impl Session,
    shop: ShopId,
    latitude: (i64, i64),
    longitude: (i64, i64),
    carrier: Option<&str>,
) -> Result<Vec<Point>, StoreError> {
    const ANY: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM dropoff_points WHERE shop_id = $1 AND latitude BETWEEN $2 AND $3
           AND longitude BETWEEN $4 AND $5"
    );
    const ONE: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM dropoff_points WHERE shop_id = $1 AND latitude BETWEEN $2 AND $3
           AND longitude BETWEEN $4 AND $5 AND carrier = $6"
    );
    let rows: Vec<Point> = run!(ex, |c| {
        let q = sqlx::query_as(if carrier.is_some() { ONE } else { ANY })
            .bind(shop.to_string())
            .bind(latitude.0)
            .bind(latitude.1)
            .bind(longitude.0)
            .bind(longitude.1);
        let q = match carrier {
            Some(carrier) => q.bind(carrier),
            None => q,
        };
        q.fetch_all(&mut *c).await
    })?;
    Ok(rows)
}

/// Up to `limit` of the shop's points whose postal code starts with `prefix`
/// (letters and digits, upper case: a `postal_key`), of one carrier when given.
pub async fn by_postal_prefix(
    ex: &mut impl Session,
    shop: ShopId,
    prefix: &str,
    carrier: Option<&str>,
    limit: i64,
) -> Result<Vec<Point>, StoreError> {
    const ANY: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM dropoff_points WHERE shop_id = $1 AND postal_key LIKE $2
          ORDER BY postal_key, carrier, point_id LIMIT $3"
    );
    const ONE: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM dropoff_points WHERE shop_id = $1 AND postal_key LIKE $2 AND carrier = $4
          ORDER BY postal_key, carrier, point_id LIMIT $3"
    );
    // A postal key holds only letters and digits: no LIKE wildcard in it.
    let pattern = format!("{prefix}%");
    let rows: Vec<Point> = run!(ex, |c| {
        let q = sqlx::query_as(if carrier.is_some() { ONE } else { ANY })
            .bind(shop.to_string())
            .bind(&pattern)
            .bind(limit);
        let q = match carrier {
            Some(carrier) => q.bind(carrier),
            None => q,
        };
        q.fetch_all(&mut *c).await
    })?;
    Ok(rows)
}

/// How many points the shop has.
pub async fn count(ex: &mut impl Session, shop: ShopId) -> Result<i64, StoreError> {
    let n: i64 = run!(ex, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM dropoff_points WHERE shop_id = $1"
    )
    .bind(shop.to_string())
    .fetch_one(&mut *c)
    .await)?;
    Ok(n)
}
