//! `/api/v1/webhook-endpoints`: where a shop's signed webhooks go, their secrets
//! (shown on creation and rotation only), each endpoint's delivery log, and
//! manual retries.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kembali_app::webhooks::{self, EndpointChange, NewEndpoint};
use kembali_core::{DeliveryId, MessageId, WebhookEndpointId};
use kembali_store::webhooks::{Attempt, Delivery, Endpoint};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::{Auth, Body, Id, Named, once};
use crate::api::list::{ListQuery, NoFilters, Page, Paging};
use crate::api::orders::to_json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_endpoints, create_endpoint))
        .routes(routes!(get_endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_deliveries))
        .routes(routes!(retry_delivery))
}

impl Named for WebhookEndpointId {
    const WHAT: &'static str = "webhook endpoint";
    const TABLE: Option<&'static str> = Some("webhook_endpoints");
}

impl Named for DeliveryId {
    const WHAT: &'static str = "webhook delivery";
    const TABLE: Option<&'static str> = Some("webhook_deliveries");
}

/// An endpoint as the API shows it: its secret only right after it was made.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    pub id: WebhookEndpointId,
    pub url: String,
    /// Event types (`return.approved`), prefixes (`return.*`) or `*` for all.
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why Kembali turned the endpoint off (it answered 410 Gone), if it did.
    pub disabled_reason: Option<String>,
    /// Until when the secret before the last rotation still signs alongside.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub previous_secret_until: Option<jiff::Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
}

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> Self {
        EndpointView {
            id: e.id,
            url: e.url.clone(),
            events: e.events.clone(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone(),
            previous_secret_until: e.previous_until,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// An endpoint with its signing secret: answered once, on creation and on
/// rotation. Keep the secret; it is not shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// `whsec_` and the base64 of 32 random bytes: the HMAC key is the
    /// base64-decoded part after `whsec_`.
    #[schema(pattern = "^whsec_[A-Za-z0-9+/=]+$")]
    pub secret: String,
}

impl From<&Endpoint> for EndpointWithSecret {
    fn from(e: &Endpoint) -> Self {
        EndpointWithSecret {
            endpoint: EndpointView::from(e),
            secret: e.secret.clone(),
        }
    }
}

/// An event type (`return.approved`), a prefix (`return.*`) or `*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct EventPattern(String);

impl utoipa::PartialSchema for EventPattern {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "An event type (`return.approved`), a prefix (`return.*`) or `*` for every event",
            ))
            .max_length(Some(webhooks::MAX_EVENT_LEN))
            .pattern(Some(r"^(\*|([a-z][a-z0-9_]*\.)+(\*|[a-z][a-z0-9_]*))$"))
            .examples([serde_json::json!("return.*")])
            .into()
    }
}

impl ToSchema for EventPattern {}

fn patterns(events: &Option<Vec<EventPattern>>) -> Option<Vec<String>> {
    events
        .as_ref()
        .map(|v| v.iter().map(|e| e.0.clone()).collect())
}

/// An endpoint to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpointRequest {
    /// Where to POST: an `http://` or `https://` address.
    #[schema(max_length = 2000, pattern = "^[hH][tT][tT][pP][sS]?://")]
    pub url: String,
    /// What to send (default: every event, `["*"]`).
    #[serde(default)]
    #[schema(min_items = 1, max_items = 50)]
    pub events: Option<Vec<EventPattern>>,
    /// Default `true`.
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[utoipa::path(post, path = "/webhook-endpoints", tag = "webhooks",
    request_body = NewEndpointRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response")),
    responses(
        (status = 201, description = "Added; the answer holds the secret, shown only now", body = EndpointWithSecret),
        (status = 422, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn create_endpoint(
    State(state): State<AppState>,
    auth: Auth,
    body: Body<NewEndpointRequest>,
) -> Result<Response, ApiError> {
    let new = NewEndpoint {
        url: body.value.url.clone(),
        events: patterns(&body.value.events),
        enabled: body.value.enabled,
    };
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let endpoint = webhooks::create(&state.app, tx, auth.shop.id, new).await?;
        Ok((
            StatusCode::CREATED,
            to_json(&EndpointWithSecret::from(&endpoint))?,
        ))
    })
    .await
}

#[utoipa::path(get, path = "/webhook-endpoints", tag = "webhooks",
    params(Paging<WebhookEndpointId>),
    responses(
        (status = 200, description = "The shop's endpoints in id order", body = Page<EndpointView>),
        (status = 400, body = Problem),
    ),
    security(("api_key" = [])))]
async fn list_endpoints(
    State(state): State<AppState>,
    auth: Auth,
    q: ListQuery<NoFilters>,
) -> Result<Json<Page<EndpointView>>, ApiError> {
    let list = webhooks::list(&state.app, auth.shop.id, q.cursor()?, q.fetch()).await?;
    let page = q.page(list, |e| e.id.to_string());
    Ok(Json(Page {
        data: page.data.iter().map(EndpointView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(get, path = "/webhook-endpoints/{endpoint_id}", tag = "webhooks",
    params(("endpoint_id" = WebhookEndpointId, Path, description = "`whe_…`")),
    responses(
        (status = 200, body = EndpointView),
        (status = 404, body = Problem),
    ),
    security(("api_key" = [])))]
async fn get_endpoint(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<WebhookEndpointId>,
) -> Result<Json<EndpointView>, ApiError> {
    let mut conn = state.app.db.conn().await?;
    let endpoint = webhooks::get(&mut conn, auth.shop.id, id).await?;
    Ok(Json(EndpointView::from(&endpoint)))
}

/// What to change; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointChangeRequest {
    #[serde(default)]
    #[schema(max_length = 2000, pattern = "^[hH][tT][tT][pP][sS]?://")]
    pub url: Option<String>,
    #[serde(default)]
    #[schema(min_items = 1, max_items = 50)]
    pub events: Option<Vec<EventPattern>>,
    /// Turning an endpoint on again clears `disabled_reason`; deliveries that
    /// died meanwhile wait for a manual retry.
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[utoipa::path(patch, path = "/webhook-endpoints/{endpoint_id}", tag = "webhooks",
    params(("endpoint_id" = WebhookEndpointId, Path, description = "`whe_…`")),
    request_body = EndpointChangeRequest,
    responses(
        (status = 200, body = EndpointView),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = [])))]
async fn update_endpoint(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<WebhookEndpointId>,
    body: Body<EndpointChangeRequest>,
) -> Result<Response, ApiError> {
    let change = EndpointChange {
        url: body.value.url.clone(),
        events: patterns(&body.value.events),
        enabled: body.value.enabled,
    };
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let endpoint = webhooks::update(&state.app, tx, auth.shop.id, id, change).await?;
        Ok((StatusCode::OK, to_json(&EndpointView::from(&endpoint))?))
    })
    .await
}

#[utoipa::path(delete, path = "/webhook-endpoints/{endpoint_id}", tag = "webhooks",
    params(("endpoint_id" = WebhookEndpointId, Path, description = "`whe_…`")),
    responses(
        (status = 204, description = "Deleted, with its delivery log"),
        (status = 404, body = Problem),
    ),
    security(("api_key" = [])))]
async fn delete_endpoint(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<WebhookEndpointId>,
) -> Result<Response, ApiError> {
    let mut tx = state.app.db.begin().await?;
    webhooks::delete(&mut tx, auth.shop.id, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// Hours the old secret still signs alongside the new one (0–72, default
    /// 24): `webhook-signature` then carries both, and either verifies.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 72)]
    pub grace_hours: Option<u32>,
}

#[utoipa::path(post, path = "/webhook-endpoints/{endpoint_id}/rotate-secret", tag = "webhooks",
    params(("endpoint_id" = WebhookEndpointId, Path, description = "`whe_…`")),
    request_body = RotateSecretRequest,
    responses(
        (status = 200, description = "The new secret, shown only now", body = EndpointWithSecret),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = [])))]
async fn rotate_secret(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<WebhookEndpointId>,
    body: Body<RotateSecretRequest>,
) -> Result<Response, ApiError> {
    let hours = body.value.grace_hours.unwrap_or(24);
    if hours > webhooks::MAX_GRACE_HOURS {
        return Err(ApiError::invalid("grace_hours", "at most 72"));
    }
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let grace = jiff::SignedDuration::from_hours(i64::from(hours));
        let endpoint = webhooks::rotate(&state.app, tx, auth.shop.id, id, grace).await?;
        Ok((
            StatusCode::OK,
            to_json(&EndpointWithSecret::from(&endpoint))?,
        ))
    })
    .await
}

/// One attempt at a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// From 1, over the delivery's whole life (manual retries included).
    pub attempt: u32,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// What went wrong, when something did.
    pub error: Option<String>,
    pub duration_ms: u64,
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        AttemptView {
            attempt: a.attempt,
            status: a.status,
            error: a.error,
            duration_ms: a.duration_ms,
            at: a.at,
        }
    }
}

/// One message on its way to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: DeliveryId,
    pub endpoint_id: WebhookEndpointId,
    /// The message, sent as `webhook-id`.
    pub message_id: MessageId,
    /// The event type (`return.approved`).
    pub event_type: String,
    /// `pending`, `delivered`, `retrying` (another attempt is scheduled) or
    /// `dead` (no more attempts; retry it by hand).
    pub state: String,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_attempt_at: Option<jiff::Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    /// Every attempt, oldest first.
    pub log: Vec<AttemptView>,
}

impl DeliveryView {
    fn new(d: Delivery, log: Vec<Attempt>) -> Self {
        DeliveryView {
            id: d.id,
            endpoint_id: d.endpoint_id,
            message_id: d.message_id,
            event_type: d.kind,
            state: d.state.as_str().to_owned(),
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            last_attempt_at: d.last_attempt_at,
            created_at: d.created_at,
            log: log.into_iter().map(AttemptView::from).collect(),
        }
    }
}

#[utoipa::path(get, path = "/webhook-endpoints/{endpoint_id}/deliveries", tag = "webhooks",
    params(("endpoint_id" = WebhookEndpointId, Path, description = "`whe_…`"), Paging<DeliveryId>),
    responses(
        (status = 200, description = "The endpoint's deliveries, newest first", body = Page<DeliveryView>),
        (status = 400, body = Problem),
        (status = 404, body = Problem),
    ),
    security(("api_key" = [])))]
async fn list_deliveries(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<WebhookEndpointId>,
    q: ListQuery<NoFilters>,
) -> Result<Json<Page<DeliveryView>>, ApiError> {
    let mut conn = state.app.db.conn().await?;
    let list = webhooks::deliveries(&mut conn, auth.shop.id, id, q.cursor()?, q.fetch()).await?;
    let page = q.page(list, |(d, _)| d.id.to_string());
    Ok(Json(Page {
        data: page
            .data
            .into_iter()
            .map(|(d, log)| DeliveryView::new(d, log))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {}

#[utoipa::path(post, path = "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    params(
        ("endpoint_id" = WebhookEndpointId, Path, description = "`whe_…`"),
        ("delivery_id" = DeliveryId, Path, description = "`dlv_…`"),
    ),
    request_body = RetryRequest,
    responses(
        (status = 202, description = "An attempt is due now (a pending one was brought forward)", body = DeliveryView),
        (status = 404, body = Problem),
        (status = 422, description = "The endpoint is disabled", body = Problem),
    ),
    security(("api_key" = [])))]
async fn retry_delivery(
    State(state): State<AppState>,
    auth: Auth,
    path: axum::extract::Path<(String, String)>,
    body: Body<RetryRequest>,
) -> Result<Response, ApiError> {
    let axum::extract::Path((endpoint, delivery)) = path;
    let endpoint: WebhookEndpointId = endpoint
        .parse()
        .map_err(|_| ApiError::NotFound("no such webhook endpoint".into()))?;
    let delivery: DeliveryId = delivery
        .parse()
        .map_err(|_| ApiError::NotFound("no such webhook delivery".into()))?;
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let d = webhooks::retry(&state.app, tx, auth.shop.id, endpoint, delivery).await?;
        let mut log = kembali_store::webhooks::attempts(tx, auth.shop.id, &[d.id]).await?;
        log.retain(|a| a.delivery_id == d.id);
        Ok((StatusCode::ACCEPTED, to_json(&DeliveryView::new(d, log))?))
    })
    .await
}
