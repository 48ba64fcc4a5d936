//! Order sources (a Shopify store, a WooCommerce site) with the secrets that sign
//! their webhooks, and the intake log of what each delivered.

use jiff::Timestamp;
use kembali_core::{IntakeId, OrderId, ShopId, SourceId};
use sqlx::types::Json;

use crate::db::Session;
use crate::{StoreError, corrupt, from_millis, millis, run};

/// A platform a shop takes orders from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: SourceId,
    pub shop_id: ShopId,
    /// `shopify` or `woocommerce`.
    pub kind: String,
    /// Shopify: the shop's `…myshopify.com` domain; WooCommerce: the site's URL.
    pub address: String,
    pub secret: String,
    /// The secret before the last rotation, still accepted until `previous_until`.
    pub previous_secret: Option<String>,
    pub previous_until: Option<Timestamp>,
    /// Payment gateway names that mean cash on delivery (compared without case).
    pub cod_gateways: Vec<String>,
    pub created_at: Timestamp,
}

impl Source {
    /// The secrets a delivery may be signed with at `now`: the current one, and
    /// the previous one while its grace period lasts.
    pub fn secrets(&self, now: Timestamp) -> Vec<&str> {
        let mut all = vec![self.secret.as_str()];
        if let (Some(prev), Some(until)) = (&self.previous_secret, self.previous_until)
            && now < until
        {
            all.push(prev);
        }
        all
    }
}

#[derive(sqlx::FromRow)]
struct SourceRow {
    shop_id: String,
    id: String,
    kind: String,
    address: String,
    secret: String,
    previous_secret: Option<String>,
    previous_until: Option<i64>,
    cod_gateways: Json<Vec<String>>,
    created_at: i64,
}

impl TryFrom<SourceRow> for Source {
    type Error = StoreError;
    fn try_from(r: SourceRow) -> Result<Source, StoreError> {
        Ok(Source {
            id: r.id.parse().map_err(corrupt)?,
            shop_id: r.shop_id.parse().map_err(corrupt)?,
            kind: r.kind,
            address: r.address,
            secret: r.secret,
            previous_secret: r.previous_secret,
            previous_until: r.previous_until.map(from_millis),
            cod_gateways: r.cod_gateways.0,
            created_at: from_millis(r.created_at),
        })
    }
}

macro_rules! source_columns {
    () => {
        "shop_id, id, kind, address, secret, previous_secret, previous_until, cod_gateways, created_at"
    };
}

/// Stores a new source; a Shopify domain or WooCommerce URL already taken is a
/// [`StoreError::Duplicate`].
pub async fn insert(ex: &mut impl Session, s: &Source) -> Result<(), StoreError> {
    run!(ex, |c| sqlx::query(
        "INSERT INTO sources (shop_id, id, kind, address, secret, previous_secret, previous_until,
            cod_gateways, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(s.shop_id.to_string())
    .bind(s.id.to_string())
    .bind(&s.kind)
    .bind(&s.address)
    .bind(&s.secret)
    .bind(&s.previous_secret)
    .bind(s.previous_until.map(millis))
    .bind(Json(&s.cod_gateways))
    .bind(millis(s.created_at))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The source of `kind` at `address` (a Shopify domain), whichever shop it is.
pub async fn by_address(
    ex: &mut impl Session,
    kind: &str,
    address: &str,
) -> Result<Option<Source>, StoreError> {
    let row: Option<SourceRow> = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        source_columns!(),
        " FROM sources WHERE kind = $1 AND address = $2"
    ))
    .bind(kind)
    .bind(address)
    .fetch_optional(&mut *c)
    .await)?;
    row.map(Source::try_from).transpose()
}

/// A source by its id alone: a WooCommerce webhook URL names it, before any shop
/// is known. Source ids are random, so they cannot be guessed.
pub async fn by_id(ex: &mut impl Session, id: SourceId) -> Result<Option<Source>, StoreError> {
    let row: Option<SourceRow> = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        source_columns!(),
        " FROM sources WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(Source::try_from).transpose()
}

/// The shop's sources, oldest first; every shop's when `shop` is `None`.
pub async fn list(ex: &mut impl Session, shop: Option<ShopId>) -> Result<Vec<Source>, StoreError> {
    let rows: Vec<SourceRow> = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        source_columns!(),
        " FROM sources WHERE $1 IS NULL OR shop_id = $1 ORDER BY id"
    ))
    .bind(shop.map(|s| s.to_string()))
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(Source::try_from).collect()
}

/// Replaces the secret, keeping the old one acceptable until `previous_until`.
pub async fn rotate(
    ex: &mut impl Session,
    shop: ShopId,
    id: SourceId,
    secret: &str,
    previous_until: Timestamp,
) -> Result<bool, StoreError> {
    let n = run!(ex, |c| sqlx::query(
        "UPDATE sources SET previous_secret = secret, previous_until = $1, secret = $2
          WHERE shop_id = $3 AND id = $4"
    )
    .bind(millis(previous_until))
    .bind(secret)
    .bind(shop.to_string())
    .bind(id.to_string())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// One delivery in the intake log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: IntakeId,
    pub shop_id: ShopId,
    pub source_id: SourceId,
    pub delivery_id: String,
    pub event_id: Option<String>,
    pub topic: String,
    /// `imported`, `updated`, `stale`, `ignored`, `redacted`, `rejected`.
    pub outcome: String,
    pub detail: Option<String>,
    pub order_id: Option<OrderId>,
    pub received_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    shop_id: String,
    source_id: String,
    id: String,
    delivery_id: String,
    event_id: Option<String>,
    topic: String,
    outcome: String,
    detail: Option<String>,
    order_id: Option<String>,
    received_at: i64,
}

impl TryFrom<EntryRow> for Entry {
    type Error = StoreError;
    fn try_from(r: EntryRow) -> Result<Entry, StoreError> {
        Ok(Entry {
            id: r.id.parse().map_err(corrupt)?,
            shop_id: r.shop_id.parse().map_err(corrupt)?,
            source_id: r.source_id.parse().map_err(corrupt)?,
            delivery_id: r.delivery_id,
            event_id: r.event_id,
            topic: r.topic,
            outcome: r.outcome,
            detail: r.detail,
            order_id: r.order_id.map(|o| o.parse()).transpose().map_err(corrupt)?,
            received_at: from_millis(r.received_at),
        })
    }
}

/// Records a delivery in the caller's transaction. A delivery id already logged
/// for this source is a [`StoreError::Duplicate`]: the caller treats it as a replay.
pub async fn log(ex: &mut impl Session, e: &Entry) -> Result<(), StoreError> {
    run!(ex, |c| sqlx::query(
        "INSERT INTO intake_log (shop_id, source_id, id, delivery_id, event_id, topic, outcome,
            detail, order_id, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    .bind(e.shop_id.to_string())
    .bind(e.source_id.to_string())
    .bind(e.id.to_string())
    .bind(&e.delivery_id)
    .bind(&e.event_id)
    .bind(&e.topic)
    .bind(&e.outcome)
    .bind(&e.detail)
    .bind(e.order_id.map(|o| o.to_string()))
    .bind(millis(e.received_at))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether the source already delivered `delivery_id`.
pub async fn seen(
    ex: &mut impl Session,
    shop: ShopId,
    source: SourceId,
    delivery_id: &str,
) -> Result<bool, StoreError> {
    let found: Option<String> = run!(ex, |c| sqlx::query_scalar(
        "SELECT id FROM intake_log WHERE shop_id = $1 AND source_id = $2 AND delivery_id = $3"
    )
    .bind(shop.to_string())
    .bind(source.to_string())
    .bind(delivery_id)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(found.is_some())
}

/// The source's log, newest first, at most `limit` entries before `before`.
pub async fn entries(
    ex: &mut impl Session,
    shop: ShopId,
    source: SourceId,
    before: Option<IntakeId>,
    limit: u32,
) -> Result<Vec<Entry>, StoreError> {
    let rows: Vec<EntryRow> = run!(ex, |c| {
        sqlx::query_as(
        "SELECT shop_id, source_id, id, delivery_id, event_id, topic, outcome, detail, order_id,
                received_at
           FROM intake_log
          WHERE shop_id = $1 AND source_id = $2 AND ($3 IS NULL OR id < $3)
          ORDER BY id DESC LIMIT $4"
    )
    .bind(shop.to_string())
    .bind(source.to_string())
    .bind(before.map(|b| b.to_string()))
    .bind(i64::from(limit))
    .fetch_all(&mut *c)
    .await
    })?;
    rows.into_iter().map(Entry::try_from).collect()
}
