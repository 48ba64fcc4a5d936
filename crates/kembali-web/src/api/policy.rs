//! `/api/v1/policy`: the shop's return policy — the current version, a new
//! version, a draft checked without saving, past versions, and the decision for
//! an order line explained under the current policy or a draft.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kembali_app::AppError;
use kembali_app::error::Entity;
use kembali_app::policies::{self, ExplainRequest, Explained, PolicyCheck, PolicyVersionView};
use kembali_core::policy::{Decision, PolicyDocument};
use kembali_core::{LineId, OrderId};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, ExplanationView, Problem};
use crate::api::extract::{Auth, Body, once};
use crate::api::list::{ListQuery, NoFilters, Page, Paging};
use crate::api::orders::to_json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(current, put_policy))
        .routes(routes!(validate))
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
        .routes(routes!(explain))
}

#[utoipa::path(get, path = "/policy", tag = "policy",
    responses((status = 200, description = "The version new returns are decided under", body = PolicyVersionView)),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn current(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<PolicyVersionView>, ApiError> {
    Ok(Json(policies::current(&state.app, &auth.shop).await?))
}

#[utoipa::path(put, path = "/policy", tag = "policy",
    request_body = PolicyDocument,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response")),
    responses(
        (status = 200, description = "Saved as the next version; returns opened before keep theirs", body = PolicyVersionView),
        (status = 422, description = "Not valid: each of `errors` names its field by JSON pointer (`/rules/2/when/skus`)", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn put_policy(
    State(state): State<AppState>,
    auth: Auth,
    body: Body<Value>,
) -> Result<Response, ApiError> {
    let doc = &body.value;
    // Refused before a transaction starts: nothing to roll back.
    policies::parse(doc, "").map_err(AppError::InvalidPolicy)?;
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let saved = policies::save(&state.app, tx, &auth.shop, doc).await?;
        Ok((StatusCode::OK, to_json(&saved)?))
    })
    .await
}

#[utoipa::path(post, path = "/policy/validate", tag = "policy",
    request_body = PolicyDocument,
    responses(
        (status = 200, description = "Whether the document would be saved, what is wrong that its schema cannot say (by JSON pointer: lengths, control characters, rule ids used twice, …), and warnings such as a window below the EU's 14 days", body = PolicyCheck),
        (status = 422, description = "Not a policy document by its schema; `errors` names the field by JSON pointer", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn validate(auth: Auth, body: Body<Value>) -> Result<Json<PolicyCheck>, ApiError> {
    Ok(Json(policies::check(&auth.shop, &body.value)?))
}

#[utoipa::path(get, path = "/policy/versions", tag = "policy",
    params(Paging<i64>),
    responses(
        (status = 200, description = "Every saved version, oldest first; the cursor is a version number", body = Page<PolicyVersionView>),
        (status = 400, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn list_versions(
    State(state): State<AppState>,
    auth: Auth,
    q: ListQuery<NoFilters>,
) -> Result<Json<Page<PolicyVersionView>>, ApiError> {
    let rows = policies::versions(&state.app, &auth.shop, q.cursor()?, q.fetch()).await?;
    Ok(Json(q.page(rows, |v| v.version.to_string())))
}

#[utoipa::path(get, path = "/policy/versions/{version}", tag = "policy",
    params(("version" = i64, Path, minimum = 1, description = "The version number")),
    responses(
        (status = 200, body = PolicyVersionView),
        (status = 404, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn get_version(
    State(state): State<AppState>,
    auth: Auth,
    path: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<PolicyVersionView>, ApiError> {
    // A version that is not a number names nothing: a 404, like an unknown one.
    let n: i64 = path
        .ok()
        .and_then(|p| p.0.parse().ok())
        .ok_or_else(|| ApiError::NotFound("no such policy version".into()))?;
    Ok(Json(policies::version(&state.app, &auth.shop, n).await?))
}

/// The decision for the line, with its explanations in English.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainView {
    /// The version decided under; `null` for a draft.
    pub policy_version: Option<i64>,
    pub order_id: OrderId,
    pub line_id: LineId,
    pub sku: String,
    pub quantity: u32,
    /// The moment decided at.
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    pub decision: Decision,
    pub messages: Vec<ExplanationView>,
}

impl From<Explained> for ExplainView {
    fn from(e: Explained) -> Self {
        ExplainView {
            messages: e
                .decision
                .explanations
                .iter()
                .map(ExplanationView::from)
                .collect(),
            policy_version: e.policy_version,
            order_id: e.order_id,
            line_id: e.line_id,
            sku: e.sku,
            quantity: e.quantity,
            at: e.at,
            decision: e.decision,
        }
    }
}

#[utoipa::path(post, path = "/policy/explain", tag = "policy",
    request_body = ExplainRequest,
    responses(
        (status = 200, description = "What the policy (or the draft) decides for the line, and why, with its trace; nothing is saved", body = ExplainView),
        (status = 422, description = "No such order or line, a date out of range, or a draft that is not valid (by JSON pointer under `/policy`)", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn explain(
    State(state): State<AppState>,
    auth: Auth,
    body: Body<ExplainRequest>,
) -> Result<Json<ExplainView>, ApiError> {
    let found = policies::explain(&state.app, &auth.shop, &body.value)
        .await
        .map_err(|e| match e {
            // The order is named in the body, not the path: the body is wrong.
            AppError::NotFound(Entity::Order) => {
                ApiError::invalid("order_id", "no such order in this shop")
            }
            other => other.into(),
        })?;
    Ok(Json(found.into()))
}
