//! Sends one outbox message to one webhook endpoint, signed as Standard Webhooks
//! says, logs the attempt, and retries with back-off over about three days.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::SignedDuration;
use kembali_core::{DeliveryId, WebhookEndpointId};
use kembali_store::outbox;
use kembali_store::webhooks::{self as store, Attempt, DeliveryState};
use serde::{Deserialize, Serialize};

use super::{Job, JobContext, JobError};
use crate::webhooks;

/// A receiver gets this long to connect, and this long in all to answer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// Deliveries to one endpoint a worker process sends at once: a receiver that
/// never answers holds at most these slots (for [`TIMEOUT`] each), never all.
pub const PER_ENDPOINT: usize = 2;
/// How long a delivery waits when its endpoint has no free slot.
const BUSY_WAIT: SignedDuration = SignedDuration::from_secs(2);

/// The wait after each failed attempt (attempt 1 failed: 5 s, …): about 76
/// hours from the first attempt to the last.
const SCHEDULE: [SignedDuration; 9] = [
    SignedDuration::from_secs(5),
    SignedDuration::from_mins(1),
    SignedDuration::from_mins(10),
    SignedDuration::from_hours(1),
    SignedDuration::from_hours(3),
    SignedDuration::from_hours(8),
    SignedDuration::from_hours(16),
    SignedDuration::from_hours(24),
    SignedDuration::from_hours(24),
];

/// The HTTP client and the per-endpoint slots, shared by every delivery a
/// worker runs.
#[derive(Clone, Debug)]
pub struct Outbound {
    client: Result<reqwest::Client, String>,
    busy: Arc<Mutex<HashMap<WebhookEndpointId, usize>>>,
}

impl Default for Outbound {
    fn default() -> Self {
        Outbound::new()
    }
}

impl Outbound {
    pub fn new() -> Outbound {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            // A redirect is an answer to fix at the endpoint, not to follow
            // with a signed body.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Kembali-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string());
        Outbound {
            client,
            busy: Arc::default(),
        }
    }

    /// One of the endpoint's slots, or `None` when all are taken.
    fn slot(&self, endpoint: WebhookEndpointId) -> Option<Slot> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        let n = busy.entry(endpoint).or_insert(0);
        if *n >= PER_ENDPOINT {
            return None;
        }
        *n += 1;
        Some(Slot {
            busy: self.busy.clone(),
            endpoint,
        })
    }
}

/// A taken slot, given back when dropped (the job ended, or was aborted).
struct Slot {
    busy: Arc<Mutex<HashMap<WebhookEndpointId, usize>>>,
    endpoint: WebhookEndpointId,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = busy.get_mut(&self.endpoint) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                busy.remove(&self.endpoint);
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverWebhook {
    pub delivery_id: DeliveryId,
}

/// What one attempt came to.
enum Outcome {
    Delivered(u16),
    Gone,
    Failed { status: Option<u16>, error: String },
}

impl Job for DeliverWebhook {
    const KIND: &'static str = "webhook.deliver";
    const MAX_ATTEMPTS: u32 = SCHEDULE.len() as u32 + 1;

    fn retry_after(attempt: u32) -> SignedDuration {
        let i = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
        SCHEDULE
            .get(i)
            .copied()
            .unwrap_or(SCHEDULE[SCHEDULE.len() - 1])
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let shop = ctx
            .shop
            .ok_or_else(|| JobError::GiveUp("a webhook delivery needs its shop".into()))?;
        let app = &ctx.app;
        let (delivery, endpoint, message) = {
            let mut conn = app.db.conn().await?;
            let Some(delivery) = store::get_delivery(&mut conn, shop, self.delivery_id).await?
            else {
                // Its endpoint was deleted.
                return Ok(());
            };
            if delivery.state == DeliveryState::Delivered {
                // A repeated run after the first was recorded.
                return Ok(());
            }
            let Some(endpoint) = store::get_endpoint(&mut conn, shop, delivery.endpoint_id).await?
            else {
                return Ok(());
            };
            let Some(message) = outbox::get(&mut conn, shop, delivery.message_id).await? else {
                return Err(JobError::GiveUp(format!(
                    "no outbox message {}",
                    delivery.message_id
                )));
            };
            (delivery, endpoint, message)
        };
        if !endpoint.enabled {
            // Disabled while this waited: it stays in the log as dead, for a
            // manual retry once the endpoint is on again.
            let mut conn = app.db.conn().await?;
            store::set_delivery_state(&mut conn, shop, delivery.id, DeliveryState::Dead, app.now())
                .await?;
            return Ok(());
        }
        let Some(_slot) = ctx.outbound.slot(endpoint.id) else {
            return Err(JobError::Defer {
                reason: format!("endpoint {} is busy", endpoint.id),
                after: BUSY_WAIT,
            });
        };
        let client = ctx
            .outbound
            .client
            .as_ref()
            .map_err(|e| JobError::Retry(format!("no HTTP client: {e}")))?;

        // The envelope as the outbox keeps it; the signature covers these exact bytes.
        let body = serde_json::to_vec(&message.payload)
            .map_err(|e| JobError::GiveUp(format!("cannot encode the message: {e}")))?;
        let id = webhooks::webhook_id(message.id);
        let sent_at = app.now();
        let timestamp = sent_at.as_second();
        let signature = webhooks::signature(&endpoint.secrets(sent_at), &id, timestamp, &body);
        let started = Instant::now();
        let answer = client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let outcome = match answer {
            Ok(res) if res.status().is_success() => Outcome::Delivered(res.status().as_u16()),
            Ok(res) if res.status() == reqwest::StatusCode::GONE => Outcome::Gone,
            Ok(res) => Outcome::Failed {
                status: Some(res.status().as_u16()),
                error: format!("the endpoint answered {}", res.status()),
            },
            Err(e) => Outcome::Failed {
                status: None,
                error: describe(&e),
            },
        };

        let last = ctx.attempt >= Self::MAX_ATTEMPTS;
        let (state, status, error) = match &outcome {
            Outcome::Delivered(code) => (DeliveryState::Delivered, Some(*code), None),
            Outcome::Gone => (
                DeliveryState::Dead,
                Some(410),
                Some("the endpoint answered 410 Gone; it is disabled".to_owned()),
            ),
            Outcome::Failed { status, error } if last => {
                (DeliveryState::Dead, *status, Some(error.clone()))
            }
            Outcome::Failed { status, error } => {
                (DeliveryState::Retrying, *status, Some(error.clone()))
            }
        };
        let mut tx = app.db.begin().await?;
        store::record_attempt(
            &mut tx,
            &Attempt {
                delivery_id: delivery.id,
                attempt: 0,
                shop_id: shop,
                endpoint_id: endpoint.id,
                message_id: message.id,
                status,
                error: error.clone(),
                duration_ms,
                at: sent_at,
            },
            state,
        )
        .await?;
        if let Outcome::Gone = outcome {
            // 410: the receiver says it is gone for good; stop sending to it.
            if let Some(mut ep) = store::get_endpoint(&mut tx, shop, endpoint.id).await? {
                ep.enabled = false;
                ep.disabled_reason = Some(format!("answered 410 Gone at {sent_at}"));
                ep.updated_at = app.now();
                store::update_endpoint(&mut tx, &ep).await?;
            }
        }
        tx.commit().await?;
        match (outcome, last) {
            (Outcome::Failed { error, .. }, false) => Err(JobError::Retry(error)),
            // The last attempt failed: the delivery is dead in its own log,
            // where the shop sees it and can retry it; the job is done.
            _ => Ok(()),
        }
    }
}

/// A network error in a line, with its cause (reqwest's own message is terse).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = format!("{what}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_spreads_over_about_three_days() {
        let total: i64 = (1..DeliverWebhook::MAX_ATTEMPTS)
            .map(|a| DeliverWebhook::retry_after(a).as_secs())
            .sum();
        let hours = total / 3600;
        assert!((70..=80).contains(&hours), "{hours} h");
        assert_eq!(DeliverWebhook::retry_after(1), SignedDuration::from_secs(5));
        assert_eq!(
            DeliverWebhook::retry_after(99),
            SignedDuration::from_hours(24)
        );
    }

    #[test]
    fn slots_per_endpoint() {
        let out = Outbound::new();
        let a = WebhookEndpointId::new(jiff::Timestamp::UNIX_EPOCH, 1);
        let b = WebhookEndpointId::new(jiff::Timestamp::UNIX_EPOCH, 2);
        let s1 = out.slot(a).unwrap();
        let _s2 = out.slot(a).unwrap();
        assert!(out.slot(a).is_none());
        assert!(out.slot(b).is_some());
        drop(s1);
        assert!(out.slot(a).is_some());
    }
}
