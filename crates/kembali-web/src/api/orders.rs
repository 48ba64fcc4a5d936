//! `/api/v1/orders`: create and read orders, and ask what the policy says about
//! their items.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use kembali_app::eligibility::{self, Question};
use kembali_app::orders::{self, OrderInput, OrderView};
use kembali_core::policy::{ClaimKind, Decision, DestinationKind, ItemCondition};
use kembali_core::returns::{ReturnMethod, ReturnReason};
use kembali_core::{LineId, OrderId, VariantId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ExplanationView, Problem};
use crate::api::extract::{Auth, Body, Id, once};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_order))
        .routes(routes!(get_order))
        .routes(routes!(eligibility))
        .routes(routes!(cancel_order))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelOrderRequest {
    /// Why, for the `order.cancelled` event; at most 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// Cancel an order before delivery: no return can be opened for it afterwards,
/// and `order.cancelled` is sent.
#[utoipa::path(post, path = "/orders/{order_id}/cancel", tag = "orders",
    request_body = CancelOrderRequest,
    params(
        ("order_id" = OrderId, Path, description = "The order (`ord_…`)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response"),
    ),
    responses(
        (status = 200, description = "The order, cancelled", body = OrderView),
        (status = 404, body = Problem),
        (status = 409, description = "Already cancelled, delivered, or a return holds its units", body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn cancel_order(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<OrderId>,
    body: Body<CancelOrderRequest>,
) -> Result<Response, ApiError> {
    let reason = body.value.reason.as_deref();
    if let Some(r) = reason {
        kembali_app::error::check_text(
            "reason",
            r,
            kembali_core::text::Form::Prose,
            orders::MAX_CANCEL_REASON,
        )?;
    }
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let view = orders::cancel(&state.app, tx, &auth.shop, id, reason).await?;
        Ok((StatusCode::OK, to_json(&view)?))
    })
    .await
}

#[utoipa::path(post, path = "/orders", tag = "orders",
    request_body = OrderInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response")),
    responses(
        (status = 201, description = "The order was stored", body = OrderView),
        (status = 409, description = "An order with this number exists", body = Problem),
        (status = 422, description = "The order is not valid", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn create_order(
    State(state): State<AppState>,
    auth: Auth,
    body: Body<OrderInput>,
) -> Result<Response, ApiError> {
    let input = &body.value;
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let view = orders::create(&state.app, tx, &auth.shop, input).await?;
        Ok((StatusCode::CREATED, to_json(&view)?))
    })
    .await
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::Internal(e.to_string()))
}

#[utoipa::path(get, path = "/orders/{order_id}", tag = "orders",
    params(("order_id" = OrderId, Path, description = "The order (`ord_…`)")),
    responses(
        (status = 200, body = OrderView),
        (status = 404, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn get_order(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<OrderId>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(orders::get(&state.app, &auth.shop, id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EligibilityQuery {
    // Read as text and parsed in the handler, so a refusal names its field;
    // documented as the types they must parse to.
    /// Only this line (`line_…`); all lines when absent.
    #[param(value_type = Option<LineId>)]
    pub line_id: Option<String>,
    /// Units to price; defaults to all that can still be returned.
    #[param(minimum = 1)]
    pub quantity: Option<u32>,
    /// The reason the shopper would give (`changed_mind`, `damaged`, …).
    #[param(value_type = Option<ReturnReason>)]
    pub reason: Option<String>,
    /// How the item would travel back: fees per method show in `decision.fees`.
    #[param(value_type = Option<ReturnMethod>)]
    pub method: Option<String>,
    /// The item's condition as the shopper would declare it.
    #[param(value_type = Option<ItemCondition>)]
    pub condition: Option<String>,
    /// A delivery claim instead of a return.
    #[param(value_type = Option<ClaimKind>)]
    pub claim: Option<String>,
    /// The variant wanted in exchange: `decision.exchange` prices it.
    #[param(value_type = Option<VariantId>)]
    pub exchange_variant_id: Option<String>,
    /// Where the refund would go: `destination_allowed` answers whether it may.
    #[param(value_type = Option<DestinationKind>)]
    pub refund_destination: Option<String>,
}

/// `value` read as the serde name of `T`, or a 422 naming `field`.
fn named<T: serde::de::DeserializeOwned>(
    field: &str,
    value: Option<&str>,
    what: &str,
) -> Result<Option<T>, ApiError> {
    value
        .map(|v| {
            serde_json::from_value(serde_json::Value::String(v.to_owned()))
                .map_err(|_| ApiError::invalid(field, format!("`{v}` is not {what}")))
        })
        .transpose()
}

/// The policy's decision for one line, with its explanations in English.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineEligibility {
    pub line_id: LineId,
    pub sku: String,
    pub quantity: u32,
    pub decision: Decision,
    pub messages: Vec<ExplanationView>,
    /// With `refund_destination`: whether a refund of this line may go there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_allowed: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityView {
    pub order_id: OrderId,
    pub policy_version: i64,
    pub lines: Vec<LineEligibility>,
}

#[utoipa::path(get, path = "/orders/{order_id}/eligibility", tag = "orders",
    params(("order_id" = OrderId, Path, description = "The order (`ord_…`)"), EligibilityQuery),
    responses(
        (status = 200, description = "What can come back, until when, for how much, and why", body = EligibilityView),
        (status = 404, body = Problem),
        (status = 409, description = "The variant asked for in exchange has fewer units in stock than asked", body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn eligibility(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<OrderId>,
    query: Result<Query<EligibilityQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EligibilityView>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let reason = q
        .reason
        .as_deref()
        .map(|r| {
            ReturnReason::parse(r).ok_or_else(|| {
                ApiError::invalid("reason", format!("`{r}` is not a known return reason"))
            })
        })
        .transpose()?;
    let line: Option<LineId> = q
        .line_id
        .as_deref()
        .map(|l| {
            l.parse()
                .map_err(|_| ApiError::invalid("line_id", "not a line id (`line_…`)"))
        })
        .transpose()?;
    let exchange_variant: Option<VariantId> = q
        .exchange_variant_id
        .as_deref()
        .map(|v| {
            v.parse()
                .map_err(|_| ApiError::invalid("exchange_variant_id", "not a variant id (`var_…`)"))
        })
        .transpose()?;
    let question = Question {
        line,
        quantity: q.quantity,
        reason,
        method: named("method", q.method.as_deref(), "a return method")?,
        condition: named("condition", q.condition.as_deref(), "an item condition")?,
        claim: named("claim", q.claim.as_deref(), "a kind of delivery claim")?,
        exchange_variant,
        destination: named(
            "refund_destination",
            q.refund_destination.as_deref(),
            "a refund destination",
        )?,
    };
    let found = eligibility::eligibility(&state.app, &auth.shop, id, &question).await?;
    Ok(Json(EligibilityView {
        order_id: found.order_id,
        policy_version: found.policy_version,
        lines: found
            .lines
            .into_iter()
            .map(|l| LineEligibility {
                line_id: l.line_id,
                sku: l.sku,
                quantity: l.quantity,
                destination_allowed: l.destination_allowed,
                messages: l
                    .decision
                    .explanations
                    .iter()
                    .map(ExplanationView::from)
                    .collect(),
                decision: l.decision,
            })
            .collect(),
    }))
}
