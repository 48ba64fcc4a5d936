//! `POST /hooks/shopify` and `POST /hooks/woocommerce/{source_id}`. The source is
//! found, the signature checked over the raw bytes, and only then is anything
//! parsed. A refused delivery (no or wrong signature, unknown shop or source, a
//! body over the limit) leaves no trace: no order, and its delivery id is not
//! remembered, so the genuine delivery with the same id is still taken later.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use kembali_app::intake::{self, Delivery as Verified, Outcome, SHOPIFY, WOOCOMMERCE};
use kembali_core::SourceId;
use kembali_store::sources::{self, Source};
use serde_json::{Value, json};

use super::Delivery;
use super::signature::verify;
use crate::AppState;
use crate::api::error::ApiError;

/// Deliveries refused before parsing, by reason (for the metrics endpoint).
pub static REFUSED_UNSIGNED: AtomicU64 = AtomicU64::new(0);
pub static REFUSED_FORGED: AtomicU64 = AtomicU64::new(0);
pub static REFUSED_UNKNOWN: AtomicU64 = AtomicU64::new(0);

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn refuse(counter: &AtomicU64, platform: &str, error: ApiError) -> ApiError {
    counter.fetch_add(1, Ordering::Relaxed);
    // The body is never logged: it is unverified, and it holds personal data.
    tracing::warn!(platform, reason = %error, "webhook refused");
    error
}

/// Checks the signature, then hands the verified bytes to intake.
async fn take(
    state: &AppState,
    source: &Source,
    d: &Delivery,
    signature: Option<&str>,
    topic_header: &str,
    delivery_header: &str,
    event_header: Option<&str>,
) -> Result<Json<Value>, ApiError> {
    let platform = source.kind.as_str();
    let signature = signature.ok_or_else(|| {
        refuse(
            &REFUSED_UNSIGNED,
            platform,
            ApiError::Unauthorized("the delivery is not signed".into()),
        )
    })?;
    let now = state.app.now();
    if !verify(&source.secrets(now), &d.body, signature) {
        return Err(refuse(
            &REFUSED_FORGED,
            platform,
            ApiError::Unauthorized("the signature does not match this source's secret".into()),
        ));
    }
    let topic = header(&d.headers, topic_header)
        .ok_or_else(|| ApiError::invalid(topic_header, "the delivery names no topic"))?;
    let delivery_id = header(&d.headers, delivery_header)
        .ok_or_else(|| ApiError::invalid(delivery_header, "the delivery has no id"))?;
    let outcome = intake::receive(
        &state.app,
        source,
        Verified {
            topic,
            delivery_id,
            event_id: event_header.and_then(|h| header(&d.headers, h)),
            body: &d.body,
        },
    )
    .await?;
    if let Outcome::Rejected(why) = &outcome {
        tracing::warn!(platform, topic, delivery_id, reason = %why, "webhook rejected");
    }
    // A signed delivery is always answered 200, even when its content cannot be
    // used (that is in the intake log): a platform that keeps failing to deliver
    // removes the webhook.
    Ok(Json(json!({
        "outcome": outcome.as_str(),
        "order_id": match &outcome {
            Outcome::Imported(o) | Outcome::Updated(o) | Outcome::Stale(o) => Some(o.to_string()),
            _ => None,
        },
    })))
}

pub async fn shopify(State(state): State<AppState>, d: Delivery) -> Result<Json<Value>, ApiError> {
    let domain = header(&d.headers, "x-shopify-shop-domain").ok_or_else(|| {
        refuse(
            &REFUSED_UNKNOWN,
            SHOPIFY,
            ApiError::NotFound("the delivery names no shop (X-Shopify-Shop-Domain)".into()),
        )
    })?;
    let mut conn = state.app.db.conn().await?;
    let source = sources::by_address(&mut conn, SHOPIFY, &domain.to_ascii_lowercase())
        .await?
        .ok_or_else(|| {
            refuse(
                &REFUSED_UNKNOWN,
                SHOPIFY,
                ApiError::NotFound("no shop is connected to this Shopify store".into()),
            )
        })?;
    drop(conn);
    let signature = header(&d.headers, "x-shopify-hmac-sha256");
    take(
        &state,
        &source,
        &d,
        signature,
        "x-shopify-topic",
        "x-shopify-webhook-id",
        Some("x-shopify-event-id"),
    )
    .await
}

pub async fn woocommerce(
    State(state): State<AppState>,
    Path(source_id): Path<String>,
    d: Delivery,
) -> Result<Json<Value>, ApiError> {
    let unknown = || {
        refuse(
            &REFUSED_UNKNOWN,
            WOOCOMMERCE,
            ApiError::NotFound("there is no such WooCommerce source".into()),
        )
    };
    let id: SourceId = source_id.parse().map_err(|_| unknown())?;
    let mut conn = state.app.db.conn().await?;
    let source = sources::by_id(&mut conn, id)
        .await?
        .filter(|s| s.kind == WOOCOMMERCE)
        .ok_or_else(unknown)?;
    drop(conn);
    let signature = header(&d.headers, "x-wc-webhook-signature");
    // Saving a webhook in WooCommerce sends an unsigned form body `webhook_id=N`
    // to check the address answers: it does, and nothing else happens.
    if signature.is_none() && is_ping(&d.body) {
        return Ok(Json(json!({ "outcome": "ping" })));
    }
    take(
        &state,
        &source,
        &d,
        signature,
        "x-wc-webhook-topic",
        "x-wc-webhook-delivery-id",
        None,
    )
    .await
}

fn is_ping(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok_and(|b| {
        b.strip_prefix("webhook_id=")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
    })
}
