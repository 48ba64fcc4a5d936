//! Webhooks out: a shop's endpoints with their signing secrets, one delivery per
//! (outbox message, endpoint), and the log of every attempt at a delivery.

use jiff::Timestamp;
use kembali_core::{DeliveryId, MessageId, ShopId, WebhookEndpointId};
use sqlx::types::Json;

use crate::db::Session;
use crate::stored::{self, Column, stored};
use crate::{StoreError, millis, run};

stored! {
    /// Where a shop wants its webhooks sent.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Endpoint from EndpointRow {
        pub id: WebhookEndpointId,
        pub shop_id: ShopId,
        pub url: String,
        /// Event types (`return.approved`), prefixes (`return.*`) or `*`.
        pub events: Vec<String>,
        /// `whsec_…`
        pub secret: String,
        /// The secret before the last rotation, still signing until `previous_until`.
        pub previous_secret: Option<String>,
        pub previous_until: Option<Timestamp>,
        pub enabled: bool,
        /// Why Kembali turned the endpoint off (it answered 410), if it did.
        pub disabled_reason: Option<String>,
        pub created_at: Timestamp,
        pub updated_at: Timestamp,
    }
}

impl Endpoint {
    /// The secrets a message is signed with at `now`: the current one, and the
    /// previous one while its grace period lasts.
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

macro_rules! endpoint_columns {
    () => {
        "id, shop_id, url, events, secret, previous_secret, previous_until, enabled,
         disabled_reason, created_at, updated_at"
    };
}

pub async fn insert_endpoint(ex: &mut impl Session, e: &Endpoint) -> Result<(), StoreError> {
    run!(ex, |c| sqlx::query(concat!(
        "INSERT INTO webhook_endpoints (",
        endpoint_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(e.id.to_string())
    .bind(e.shop_id.to_string())
    .bind(&e.url)
    .bind(Json(&e.events))
    .bind(&e.secret)
    .bind(&e.previous_secret)
    .bind(e.previous_until.map(millis))
    .bind(e.enabled)
    .bind(&e.disabled_reason)
    .bind(millis(e.created_at))
    .bind(millis(e.updated_at))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Writes every changeable field of `e` back; `false` when it is gone.
pub async fn update_endpoint(ex: &mut impl Session, e: &Endpoint) -> Result<bool, StoreError> {
    let n = run!(ex, |c| sqlx::query(
        "UPDATE webhook_endpoints SET url = $1, events = $2, secret = $3, previous_secret = $4,
                previous_until = $5, enabled = $6, disabled_reason = $7, updated_at = $8
          WHERE shop_id = $9 AND id = $10"
    )
    .bind(&e.url)
    .bind(Json(&e.events))
    .bind(&e.secret)
    .bind(&e.previous_secret)
    .bind(e.previous_until.map(millis))
    .bind(e.enabled)
    .bind(&e.disabled_reason)
    .bind(millis(e.updated_at))
    .bind(e.shop_id.to_string())
    .bind(e.id.to_string())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// One endpoint of the shop.
pub async fn get_endpoint(
    ex: &mut impl Session,
    shop: ShopId,
    id: WebhookEndpointId,
) -> Result<Option<Endpoint>, StoreError> {
    stored::by_id(ex, "webhook_endpoints", endpoint_columns!(), shop, id).await
}

/// The shop's endpoints after `after` in id order, at most `limit`.
pub async fn list_endpoints(
    ex: &mut impl Session,
    shop: ShopId,
    after: Option<WebhookEndpointId>,
    limit: u32,
) -> Result<Vec<Endpoint>, StoreError> {
    let rows: Vec<EndpointRow> = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        endpoint_columns!(),
        " FROM webhook_endpoints WHERE shop_id = $1 AND ($2 IS NULL OR id > $2)
          ORDER BY id LIMIT $3"
    ))
    .bind(shop.to_string())
    .bind(after.map(|a| a.to_string()))
    .bind(i64::from(limit))
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(Endpoint::try_from).collect()
}

/// How many endpoints the shop has.
pub async fn count_endpoints(ex: &mut impl Session, shop: ShopId) -> Result<u64, StoreError> {
    let n: i64 = run!(ex, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_endpoints WHERE shop_id = $1"
    )
    .bind(shop.to_string())
    .fetch_one(&mut *c)
    .await)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The shop's enabled endpoints: where a new message may go.
pub async fn enabled_endpoints(
    ex: &mut impl Session,
    shop: ShopId,
) -> Result<Vec<Endpoint>, StoreError> {
    let rows: Vec<EndpointRow> = run!(ex, |c| sqlx::query_as(ENABLED)
        .bind(shop.to_string())
        .bind(true)
        .fetch_all(&mut *c)
        .await)?;
    rows.into_iter().map(Endpoint::try_from).collect()
}

/// [`enabled_endpoints`] in a job on SQLite's writer ([`crate::Db::run_job`]).
pub fn enabled_endpoints_on(
    c: &rusqlite::Connection,
    shop: ShopId,
) -> Result<Vec<Endpoint>, StoreError> {
    stored::all_on(c, ENABLED, rusqlite::params![shop.to_string(), true])
}

const ENABLED: &str = concat!(
    "SELECT ",
    endpoint_columns!(),
    " FROM webhook_endpoints WHERE shop_id = $1 AND enabled = $2 ORDER BY id"
);

/// Deletes the endpoint with its deliveries and their log; `false` when it was
/// not there.
pub async fn delete_endpoint(
    ex: &mut impl Session,
    shop: ShopId,
    id: WebhookEndpointId,
) -> Result<bool, StoreError> {
    // Explicit rather than trusting ON DELETE CASCADE: SQLite only cascades
    // with its foreign keys switched on.
    for sql in [
        "DELETE FROM webhook_attempts WHERE shop_id = $1 AND endpoint_id = $2",
        "DELETE FROM webhook_deliveries WHERE shop_id = $1 AND endpoint_id = $2",
    ] {
        run!(ex, |c| sqlx::query(sql)
            .bind(shop.to_string())
            .bind(id.to_string())
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    let n = run!(ex, |c| sqlx::query(
        "DELETE FROM webhook_endpoints WHERE shop_id = $1 AND id = $2"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Where a delivery is: `pending` (its first attempt is queued), `delivered`,
/// `retrying` (an attempt failed; another is scheduled) or `dead` (no more
/// attempts, until someone retries it by hand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Retrying,
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Dead => "dead",
        }
    }
}

impl Column for DeliveryState {
    type Raw = String;
    fn from_raw(s: String) -> Result<DeliveryState, StoreError> {
        Ok(match s.as_str() {
            "pending" => DeliveryState::Pending,
            "delivered" => DeliveryState::Delivered,
            "retrying" => DeliveryState::Retrying,
            "dead" => DeliveryState::Dead,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "unknown delivery state `{other}`"
                )));
            }
        })
    }
}

stored! {
    /// One outbox message on its way to one endpoint.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Delivery from DeliveryRow {
        pub id: DeliveryId,
        pub shop_id: ShopId,
        pub endpoint_id: WebhookEndpointId,
        pub message_id: MessageId,
        /// The message's event type.
        pub kind: String,
        pub state: DeliveryState,
        pub attempts: u32,
        pub last_status: Option<u16>,
        pub last_error: Option<String>,
        pub last_attempt_at: Option<Timestamp>,
        pub created_at: Timestamp,
        pub updated_at: Timestamp,
    }
}

macro_rules! delivery_columns {
    () => {
        "id, shop_id, endpoint_id, message_id, kind, state, attempts, last_status, last_error,
         last_attempt_at, created_at, updated_at"
    };
}

/// Adds the delivery unless one for the same message and endpoint exists;
/// returns whether it was added.
pub async fn insert_delivery(ex: &mut impl Session, d: &Delivery) -> Result<bool, StoreError> {
    let n = run!(ex, |c| sqlx::query(INSERT_DELIVERY)
        .bind(d.id.to_string())
        .bind(d.shop_id.to_string())
        .bind(d.endpoint_id.to_string())
        .bind(d.message_id.to_string())
        .bind(&d.kind)
        .bind(d.state.as_str())
        .bind(i64::from(d.attempts))
        .bind(d.last_status.map(i64::from))
        .bind(&d.last_error)
        .bind(d.last_attempt_at.map(millis))
        .bind(millis(d.created_at))
        .bind(millis(d.updated_at))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// [`insert_delivery`] in a job on SQLite's writer ([`crate::Db::run_job`]).
pub fn insert_delivery_on(c: &rusqlite::Connection, d: &Delivery) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached(INSERT_DELIVERY)
        .and_then(|mut s| {
            s.execute(rusqlite::params![
                d.id.to_string(),
                d.shop_id.to_string(),
                d.endpoint_id.to_string(),
                d.message_id.to_string(),
                d.kind,
                d.state.as_str(),
                i64::from(d.attempts),
                d.last_status.map(i64::from),
                d.last_error,
                d.last_attempt_at.map(millis),
                millis(d.created_at),
                millis(d.updated_at),
            ])
        })
        .map_err(crate::direct::sqlite)?;
    Ok(n == 1)
}

const INSERT_DELIVERY: &str = concat!(
    "INSERT INTO webhook_deliveries (",
    delivery_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT DO NOTHING"
);

/// One delivery of the shop.
pub async fn get_delivery(
    ex: &mut impl Session,
    shop: ShopId,
    id: DeliveryId,
) -> Result<Option<Delivery>, StoreError> {
    stored::by_id(ex, "webhook_deliveries", delivery_columns!(), shop, id).await
}

/// The endpoint's deliveries before `before`, newest first, at most `limit`.
pub async fn list_deliveries(
    ex: &mut impl Session,
    shop: ShopId,
    endpoint: WebhookEndpointId,
    before: Option<DeliveryId>,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    let rows: Vec<DeliveryRow> = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        delivery_columns!(),
        " FROM webhook_deliveries
          WHERE shop_id = $1 AND endpoint_id = $2 AND ($3 IS NULL OR id < $3)
          ORDER BY id DESC LIMIT $4"
    ))
    .bind(shop.to_string())
    .bind(endpoint.to_string())
    .bind(before.map(|b| b.to_string()))
    .bind(i64::from(limit))
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(Delivery::try_from).collect()
}

/// Sets the delivery's state (a manual retry makes a dead one pending again).
pub async fn set_delivery_state(
    ex: &mut impl Session,
    shop: ShopId,
    id: DeliveryId,
    state: DeliveryState,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let n = run!(ex, |c| {
        sqlx::query(
        "UPDATE webhook_deliveries SET state = $1, updated_at = $2 WHERE shop_id = $3 AND id = $4"
    )
    .bind(state.as_str())
    .bind(millis(now))
    .bind(shop.to_string())
    .bind(id.to_string())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

stored! {
    /// One attempt at a delivery, as the log keeps it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Attempt from AttemptRow {
        pub delivery_id: DeliveryId,
        /// Counts from 1 over the delivery's whole life, manual retries included.
        pub attempt: u32,
        pub shop_id: ShopId,
        pub endpoint_id: WebhookEndpointId,
        pub message_id: MessageId,
        /// The receiver's HTTP status, when it answered.
        pub status: Option<u16>,
        /// What went wrong: the network error, or a non-2xx answer.
        pub error: Option<String>,
        pub duration_ms: u64,
        pub at: Timestamp,
    }
}

/// Logs an attempt and moves its delivery to `state`, numbering the attempt
/// after the delivery's last one. Returns the attempt's number.
pub async fn record_attempt(
    ex: &mut impl Session,
    a: &Attempt,
    state: DeliveryState,
) -> Result<u32, StoreError> {
    let attempts: Option<i64> = run!(ex, |c| sqlx::query_scalar(
        "UPDATE webhook_deliveries
            SET attempts = attempts + 1, state = $1, last_status = $2, last_error = $3,
                last_attempt_at = $4, updated_at = $4
          WHERE shop_id = $5 AND id = $6
      RETURNING attempts"
    )
    .bind(state.as_str())
    .bind(a.status.map(i64::from))
    .bind(&a.error)
    .bind(millis(a.at))
    .bind(a.shop_id.to_string())
    .bind(a.delivery_id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    let Some(attempt) = attempts else {
        return Err(StoreError::NotFound);
    };
    run!(ex, |c| sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, shop_id, endpoint_id, message_id,
                status, error, duration_ms, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(a.delivery_id.to_string())
    .bind(attempt)
    .bind(a.shop_id.to_string())
    .bind(a.endpoint_id.to_string())
    .bind(a.message_id.to_string())
    .bind(a.status.map(i64::from))
    .bind(&a.error)
    .bind(i64::try_from(a.duration_ms).unwrap_or(i64::MAX))
    .bind(millis(a.at))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(u32::try_from(attempt).unwrap_or(u32::MAX))
}

/// The attempts at these deliveries of the shop, oldest first per delivery.
pub async fn attempts(
    ex: &mut impl Session,
    shop: ShopId,
    deliveries: &[DeliveryId],
) -> Result<Vec<Attempt>, StoreError> {
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..deliveries.len())
        .map(|i| format!("${}", i + 2))
        .collect();
    let sql = format!(
        "SELECT delivery_id, attempt, shop_id, endpoint_id, message_id, status, error,
                duration_ms, at
           FROM webhook_attempts
          WHERE shop_id = $1 AND delivery_id IN ({})
          ORDER BY delivery_id, attempt",
        placeholders.join(", ")
    );
    let rows: Vec<AttemptRow> = run!(ex, |c| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(shop.to_string());
        for d in deliveries {
            q = q.bind(d.to_string());
        }
        q.fetch_all(&mut *c).await
    })?;
    rows.into_iter().map(Attempt::try_from).collect()
}
