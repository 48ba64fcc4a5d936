//! Webhooks out: a shop's endpoints (create, change, rotate the secret, delete),
//! the fan-out of each outbox message to the endpoints subscribed to it, manual
//! retries, and the Standard Webhooks signature every delivery carries.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use kembali_core::text::Form;
use kembali_core::{DeliveryId, MessageId, ShopId, WebhookEndpointId};
use kembali_store::jobs::{self as store_jobs, NewJob};
use kembali_store::outbox::Message;
use kembali_store::webhooks::{self as store, Delivery, DeliveryState, Endpoint};
use kembali_store::{Session, StoreError, Tx};
use sha2::Sha256;

use crate::error::{Entity, Rule, check_text};
use crate::jobs::Job;
use crate::jobs::deliver_webhook::DeliverWebhook;
use crate::{App, AppError};

/// The longest endpoint URL.
pub const MAX_URL: usize = 2000;
/// Entries in an endpoint's event list.
pub const MAX_EVENTS: usize = 50;
/// The longest event type (or `prefix.*`) in that list.
pub const MAX_EVENT_LEN: usize = 64;
/// Endpoints per shop: each message becomes one job per endpoint.
pub const MAX_ENDPOINTS: u64 = 20;
/// The longest grace period of a rotated secret.
pub const MAX_GRACE_HOURS: u32 = 72;
/// Random bytes in a new secret (Standard Webhooks asks for 24 to 64).
const SECRET_BYTES: usize = 32;
const SECRET_PREFIX: &str = "whsec_";

/// An endpoint to create.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    pub url: String,
    /// `None`: every event (`["*"]`).
    pub events: Option<Vec<String>>,
    /// `None`: enabled.
    pub enabled: Option<bool>,
}

/// What an update changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// An `http(s)` address with a host, without a fragment, at most [`MAX_URL`].
fn check_url(raw: &str) -> Result<String, AppError> {
    let raw = raw.trim();
    check_text("url", raw, Form::Line, MAX_URL)?;
    let refuse = |why| AppError::invalid("url", Rule::NotValid { why });
    let url = url::Url::parse(raw).map_err(|_| refuse("give an absolute http(s) address"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("the address must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("the address needs a host"));
    }
    if url.fragment().is_some() {
        return Err(refuse("the address must not have a #fragment"));
    }
    let url = url.to_string();
    if url.len() > MAX_URL {
        return Err(AppError::invalid("url", Rule::TooLong { max: MAX_URL }));
    }
    Ok(url)
}

/// Each entry an event type (`return.approved`), a prefix (`return.*`) or `*`;
/// types are not checked against today's list, so new kinds need no change here.
fn check_events(events: Vec<String>) -> Result<Vec<String>, AppError> {
    if events.is_empty() {
        return Err(AppError::invalid("events", Rule::Empty));
    }
    if events.len() > MAX_EVENTS {
        return Err(AppError::invalid(
            "events",
            Rule::AtMost {
                max: MAX_EVENTS as u64,
            },
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(events.len());
    for (i, e) in events.into_iter().enumerate() {
        let field = format!("events/{i}");
        if e.chars().count() > MAX_EVENT_LEN {
            return Err(AppError::invalid(
                field,
                Rule::TooLong { max: MAX_EVENT_LEN },
            ));
        }
        if !is_event_pattern(&e) {
            return Err(AppError::invalid(
                field,
                Rule::NotValid {
                    why: "an event type such as `return.approved`, a prefix such as `return.*`, or `*`",
                },
            ));
        }
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

/// `*`, or dot-separated lower-case words whose last may be `*`.
fn is_event_pattern(e: &str) -> bool {
    if e == "*" {
        return true;
    }
    let parts: Vec<&str> = e.split('.').collect();
    if parts.len() < 2 {
        return false;
    }
    let word = |w: &str| {
        w.starts_with(|c: char| c.is_ascii_lowercase())
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    let (last, rest) = parts.split_last().map_or(("", &[][..]), |(l, r)| (*l, r));
    rest.iter().all(|w| word(w)) && (last == "*" || word(last))
}

/// Whether an endpoint subscribed to `events` wants a message of type `kind`.
pub fn subscribed(events: &[String], kind: &str) -> bool {
    events.iter().any(|e| {
        e == "*"
            || e == kind
            || e.strip_suffix('*')
                .is_some_and(|prefix| prefix.ends_with('.') && kind.starts_with(prefix))
    })
}

/// A fresh `whsec_…` secret: base64 of 32 random bytes.
fn new_secret() -> Result<String, AppError> {
    let mut raw = [0u8; SECRET_BYTES];
    getrandom::fill(&mut raw)
        .map_err(|e| AppError::Store(StoreError::Config(format!("no randomness: {e}"))))?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(raw)))
}

/// The `webhook-signature` header for a message: `v1,<base64 HMAC-SHA256 of
/// "{id}.{timestamp}.{body}">` for each secret, space-separated. The key is
/// the base64-decoded part of the secret after `whsec_`; a secret that does
/// not decode (never one we made) is skipped.
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut out = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
        let Ok(key) = STANDARD.decode(encoded) else {
            continue;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
            continue;
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        out.push(format!(
            "v1,{}",
            STANDARD.encode(mac.finalize().into_bytes())
        ));
    }
    out.join(" ")
}

/// One endpoint of the shop, or [`AppError::NotFound`].
pub async fn get(
    ex: &mut impl Session,
    shop: ShopId,
    id: WebhookEndpointId,
) -> Result<Endpoint, AppError> {
    store::get_endpoint(ex, shop, id)
        .await?
        .ok_or(AppError::NotFound(Entity::WebhookEndpoint))
}

/// Adds an endpoint with a new secret; the caller shows the secret once.
pub async fn create(
    app: &App,
    tx: &mut Tx,
    shop: ShopId,
    new: NewEndpoint,
) -> Result<Endpoint, AppError> {
    let url = check_url(&new.url)?;
    let events = check_events(new.events.unwrap_or_else(|| vec!["*".to_owned()]))?;
    if store::count_endpoints(tx, shop).await? >= MAX_ENDPOINTS {
        return Err(AppError::invalid(
            "url",
            Rule::NotValid {
                why: "a shop has at most 20 webhook endpoints; delete one first",
            },
        ));
    }
    let now = app.now();
    let endpoint = Endpoint {
        id: WebhookEndpointId::new(now, app.entropy()),
        shop_id: shop,
        url,
        events,
        secret: new_secret()?,
        previous_secret: None,
        previous_until: None,
        enabled: new.enabled.unwrap_or(true),
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    store::insert_endpoint(tx, &endpoint).await?;
    Ok(endpoint)
}

/// Changes the address, the events or the enabled flag. Enabling clears why
/// Kembali disabled it; deliveries that died meanwhile wait for a manual retry.
pub async fn update(
    app: &App,
    tx: &mut Tx,
    shop: ShopId,
    id: WebhookEndpointId,
    change: EndpointChange,
) -> Result<Endpoint, AppError> {
    let url = change.url.as_deref().map(check_url).transpose()?;
    let events = change.events.map(check_events).transpose()?;
    let mut endpoint = get(tx, shop, id).await?;
    if let Some(url) = url {
        endpoint.url = url;
    }
    if let Some(events) = events {
        endpoint.events = events;
    }
    if let Some(enabled) = change.enabled {
        endpoint.enabled = enabled;
        if enabled {
            endpoint.disabled_reason = None;
        }
    }
    endpoint.updated_at = app.now();
    store::update_endpoint(tx, &endpoint).await?;
    Ok(endpoint)
}

/// Deletes the endpoint and its delivery log; queued deliveries find it gone
/// and stop.
pub async fn delete(tx: &mut Tx, shop: ShopId, id: WebhookEndpointId) -> Result<(), AppError> {
    if store::delete_endpoint(tx, shop, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound(Entity::WebhookEndpoint))
    }
}

/// Gives the endpoint a new secret. For `grace` the old one signs alongside it
/// (the header then carries two signatures), so a receiver can switch without
/// refusing a delivery.
pub async fn rotate(
    app: &App,
    tx: &mut Tx,
    shop: ShopId,
    id: WebhookEndpointId,
    grace: SignedDuration,
) -> Result<Endpoint, AppError> {
    let mut endpoint = get(tx, shop, id).await?;
    let now = app.now();
    let old = std::mem::replace(&mut endpoint.secret, new_secret()?);
    if grace.is_positive() {
        endpoint.previous_secret = Some(old);
        endpoint.previous_until = now.checked_add(grace).ok();
    } else {
        endpoint.previous_secret = None;
        endpoint.previous_until = None;
    }
    endpoint.updated_at = now;
    store::update_endpoint(tx, &endpoint).await?;
    Ok(endpoint)
}

/// The deliveries that fan `message` out to those of `endpoints` (the shop's
/// enabled ones, read once for a whole batch of its messages) that subscribe to
/// its type, each with the job that sends it. The dispatch writes them; a
/// repeated dispatch adds nothing (one delivery per message and endpoint: its
/// job is queued only with a delivery that was new).
pub fn deliveries_of(
    app: &App,
    message: &Message,
    endpoints: &[Endpoint],
) -> Result<Vec<(Delivery, NewJob)>, StoreError> {
    let now = app.now();
    endpoints
        .iter()
        .filter(|endpoint| subscribed(&endpoint.events, &message.kind))
        .map(|endpoint| {
            let delivery = Delivery {
                id: DeliveryId::new(now, app.entropy()),
                shop_id: message.shop_id,
                endpoint_id: endpoint.id,
                message_id: message.id,
                kind: message.kind.clone(),
                state: DeliveryState::Pending,
                attempts: 0,
                last_status: None,
                last_error: None,
                last_attempt_at: None,
                created_at: now,
                updated_at: now,
            };
            let job = delivery_job(app, &delivery, now)?;
            Ok((delivery, job))
        })
        .collect()
}

/// The job that sends `delivery`, due at `at`: one pending per delivery.
fn delivery_job(app: &App, delivery: &Delivery, at: Timestamp) -> Result<NewJob, StoreError> {
    let job = DeliverWebhook {
        delivery_id: delivery.id,
    };
    crate::jobs::new_job(
        app,
        Some(delivery.shop_id),
        &job,
        at,
        Some(delivery.id.to_string()),
    )
}

/// Queues the delivery's job due at `at`; `false` when one is already pending.
async fn enqueue(
    app: &App,
    tx: &mut Tx,
    delivery: &Delivery,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let new = delivery_job(app, delivery, at)?;
    Ok(store_jobs::enqueue(tx, &new, app.now()).await?.is_some())
}

/// The endpoint's deliveries, newest first, with the log of their attempts.
pub async fn deliveries(
    ex: &mut impl Session,
    shop: ShopId,
    endpoint: WebhookEndpointId,
    before: Option<DeliveryId>,
    limit: u32,
) -> Result<Vec<(Delivery, Vec<store::Attempt>)>, AppError> {
    get(ex, shop, endpoint).await?;
    let list = store::list_deliveries(ex, shop, endpoint, before, limit).await?;
    let ids: Vec<DeliveryId> = list.iter().map(|d| d.id).collect();
    let mut log = store::attempts(ex, shop, &ids).await?;
    Ok(list
        .into_iter()
        .map(|d| {
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut log)
                .into_iter()
                .partition(|a| a.delivery_id == d.id);
            log = rest;
            (d, mine)
        })
        .collect())
}

/// Sends the delivery again now: a queued attempt is brought forward, a
/// delivered or dead one gets a new attempt (with the full set of retries). The
/// endpoint must be enabled.
pub async fn retry(
    app: &App,
    tx: &mut Tx,
    shop: ShopId,
    endpoint: WebhookEndpointId,
    id: DeliveryId,
) -> Result<Delivery, AppError> {
    let ep = get(tx, shop, endpoint).await?;
    let mut delivery = store::get_delivery(tx, shop, id)
        .await?
        .filter(|d| d.endpoint_id == ep.id)
        .ok_or(AppError::NotFound(Entity::WebhookDelivery))?;
    if !ep.enabled {
        return Err(AppError::invalid(
            "enabled",
            Rule::NotValid {
                why: "the endpoint is disabled; enable it before retrying its deliveries",
            },
        ));
    }
    let now = app.now();
    if !enqueue(app, tx, &delivery, now).await? {
        store_jobs::run_now(
            tx,
            Some(shop),
            DeliverWebhook::KIND,
            &delivery.id.to_string(),
            now,
        )
        .await?;
    }
    if matches!(
        delivery.state,
        DeliveryState::Delivered | DeliveryState::Dead
    ) {
        store::set_delivery_state(tx, shop, id, DeliveryState::Pending, now).await?;
        delivery.state = DeliveryState::Pending;
        delivery.updated_at = now;
    }
    Ok(delivery)
}

/// The message id a delivery carries as `webhook-id`.
pub fn webhook_id(message: MessageId) -> String {
    message.to_string()
}

/// The shop's endpoints after `after` in id order, at most `limit`.
pub async fn list(
    app: &App,
    shop: ShopId,
    after: Option<WebhookEndpointId>,
    limit: u32,
) -> Result<Vec<Endpoint>, AppError> {
    let mut conn = app.db.conn().await?;
    Ok(store::list_endpoints(&mut conn, shop, after, limit).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_patterns() {
        for ok in [
            "*",
            "return.approved",
            "return.*",
            "store_credit.issued",
            "a.b.c",
        ] {
            assert!(is_event_pattern(ok), "{ok}");
        }
        for bad in [
            "",
            "return",
            ".x",
            "return.",
            "Return.approved",
            "return.*.x",
            "*.x",
            "a b.c",
        ] {
            assert!(!is_event_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn subscriptions() {
        let all = vec!["*".to_owned()];
        assert!(subscribed(&all, "refund.succeeded"));
        let returns = vec!["return.*".to_owned(), "order.created".to_owned()];
        assert!(subscribed(&returns, "return.approved"));
        assert!(subscribed(&returns, "order.created"));
        assert!(!subscribed(&returns, "order.updated"));
        assert!(!subscribed(&returns, "returns.x"));
    }

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_like_standard_webhooks() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let sig = signature(&[secret], id, 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let two = signature(&[secret, secret], id, 1614265330, body);
        assert_eq!(two, format!("{sig} {sig}"));
    }

    #[test]
    fn secrets_decode_to_enough_bytes() {
        let s = new_secret().unwrap();
        let raw = STANDARD.decode(s.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
    }

    #[test]
    fn urls() {
        assert!(check_url("https://example.com/hooks").is_ok());
        assert!(check_url("http://127.0.0.1:9000/x?y=1").is_ok());
        assert!(check_url("ftp://example.com").is_err());
        assert!(check_url("example.com").is_err());
        assert!(check_url("https://example.com/#x").is_err());
        assert!(check_url(&format!("https://e.com/{}", "a".repeat(MAX_URL))).is_err());
    }
}
