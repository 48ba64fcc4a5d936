//! `/api/v1/returns`: open a return, read it with its timeline, and move it
//! through its states.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kembali_app::AppError;
use kembali_app::error::Entity;
use kembali_app::notes::{self, Note};
use kembali_app::returns::{self, ReturnRequest, ReturnView};
use kembali_core::ReturnId;
use kembali_core::returns::{Command, ItemInspection, ItemReceipt, ItemResolution};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::{Answer, Auth, Body, Id, Idempotency, once};
use crate::api::orders::to_json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_return))
        .routes(routes!(get_return))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(mark_in_transit))
        .routes(routes!(receive))
        .routes(routes!(inspect))
        .routes(routes!(resolve))
        .routes(routes!(cancel))
        .routes(routes!(add_note))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The note: 1–2000 characters; line breaks allowed.
    #[schema(min_length = 1, max_length = 2000)]
    pub body: String,
}

/// Add an agent's internal note to a return. Not a change of status: the
/// return's version stays, and the shopper never sees it.
#[utoipa::path(post, path = "/returns/{return_id}/notes", tag = "returns",
    request_body = NoteRequest,
    params(
        ("return_id" = ReturnId, Path, description = "The return (`ret_…`)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response"),
    ),
    responses(
        (status = 201, description = "The note; `GET /returns/{return_id}` lists it under `notes`", body = Note),
        (status = 404, body = Problem),
        (status = 409, description = "The return holds as many notes as it can (200)", body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn add_note(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ReturnId>,
    body: Body<NoteRequest>,
) -> Result<Response, ApiError> {
    let text = &body.value.body;
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let note = notes::add(&state.app, tx, auth.shop.id, id, text, &auth.actor()).await?;
        Ok((StatusCode::CREATED, to_json(&note)?))
    })
    .await
}

#[utoipa::path(post, path = "/returns", tag = "returns",
    request_body = ReturnRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response")),
    responses(
        (status = 201, description = "The return was opened (and approved, where the policy says so)", body = ReturnView),
        (status = 409, description = "The order was cancelled", body = Problem),
        (status = 422, description = "An item cannot come back as asked; `explanations` says why", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn create_return(
    State(state): State<AppState>,
    auth: Auth,
    body: Body<ReturnRequest>,
) -> Result<Response, ApiError> {
    let key = body.idempotency.as_ref().map(Idempotency::key);
    let reply = returns::open_once(
        &state.app,
        &auth.shop,
        &body.value,
        auth.actor(),
        key.as_ref(),
    )
    .await
    .map_err(|e| match e {
        // The order is named in the body, not the path: the body is wrong.
        AppError::NotFound(Entity::Order) => {
            ApiError::invalid("order_id", "no such order in this shop")
        }
        other => other.into(),
    })?;
    Ok(Answer::from(reply).respond())
}

#[utoipa::path(get, path = "/returns/{return_id}", tag = "returns",
    params(("return_id" = ReturnId, Path, description = "The return (`ret_…`)")),
    responses(
        (status = 200, description = "The return, its items with their decisions, and its timeline; `ETag` is the version", body = ReturnView),
        (status = 404, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn get_return(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ReturnId>,
) -> Result<Response, ApiError> {
    let view = returns::get(&state.app, auth.shop.id, id).await?;
    let etag = HeaderValue::from_str(&format!("\"{}\"", view.ret.version))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut res = axum::Json(view).into_response();
    res.headers_mut().insert(header::ETAG, etag);
    Ok(res)
}

/// The version the caller saw, from `If-Match` or the body's `version`.
fn expected_version(headers: &HeaderMap, body: Option<i64>) -> Result<Option<i64>, ApiError> {
    let header = match headers.get(header::IF_MATCH) {
        None => None,
        Some(v) => Some(if_match(v.as_bytes()).ok_or_else(|| {
            ApiError::invalid(
                "If-Match",
                "must be the return's version, as given in its ETag (`\"3\"`)",
            )
        })?),
    };
    match (header, body) {
        // Both are well-formed versions and at most one is current: the
        // change is based on a stale view, like any other stale version.
        (Some(h), Some(b)) if h != b => Err(ApiError::Conflict(format!(
            "the body's version ({b}) and If-Match ({h}) disagree; read the return again"
        ))),
        (h, b) => Ok(h.or(b)),
    }
}

/// The version in an `If-Match`: `"3"`, `W/"3"` or `3`, as the OpenAPI
/// document's pattern says, and nothing else.
fn if_match(v: &[u8]) -> Option<i64> {
    let v = v.strip_prefix(b"W/").unwrap_or(v);
    let digits = match v {
        [b'"', inner @ .., b'"'] => inner,
        bare => bare,
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

async fn act(
    state: AppState,
    auth: Auth,
    id: ReturnId,
    headers: HeaderMap,
    version: Option<i64>,
    idem: Option<&Idempotency>,
    cmd: Command,
) -> Result<Response, ApiError> {
    // Refused before a transaction starts, like a new return's limits.
    returns::check_command(&cmd)?;
    let expected = expected_version(&headers, version)?;
    once(&state, &auth, idem, async |tx| {
        let view = returns::transition(
            &state.app,
            tx,
            auth.shop.id,
            id,
            expected,
            &cmd,
            &auth.actor(),
        )
        .await?;
        Ok((StatusCode::OK, to_json(&view)?))
    })
    .await
}

macro_rules! action {
    ($fn:ident, $path:literal, $body:ident, $summary:literal, { $($(#[$m:meta])* $field:ident : $ty:ty),* $(,)? }, |$b:ident| $cmd:expr) => {
        #[derive(Debug, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $body {
            /// The version this change is based on (or send `If-Match`); a stale one is a 409.
            #[serde(default)]
            pub version: Option<i64>,
            $($(#[$m])* pub $field: $ty,)*
        }

        #[doc = $summary]
        #[utoipa::path(post, path = $path, tag = "returns",
            request_body = $body,
            params(
                ("return_id" = ReturnId, Path, description = "The return (`ret_…`)"),
                ("If-Match" = Option<String>, Header, description = "The version (ETag) the change is based on"),
                ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response"),
            ),
            responses(
                (status = 200, description = "The return after the change", body = ReturnView),
                (status = 404, body = Problem),
                (status = 409, description = "Not allowed in the return's state, or the version is stale", body = Problem),
                (status = 422, body = Problem),
            ),
            security(("api_key" = [])))]
        #[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
        async fn $fn(
            State(state): State<AppState>,
            auth: Auth,
            Id(id): Id<ReturnId>,
            headers: HeaderMap,
            body: Body<$body>,
        ) -> Result<Response, ApiError> {
            let idem = body.idempotency;
            let $b = body.value;
            let version = $b.version;
            act(state, auth, id, headers, version, idem.as_ref(), $cmd).await
        }
    };
}

action!(approve, "/returns/{return_id}/approve", ApproveBody,
    "Approve a requested return.",
    { #[serde(default)] #[schema(max_length = 2000)] note: Option<String> },
    |b| Command::Approve { note: b.note });
action!(reject, "/returns/{return_id}/reject", RejectBody,
    "Reject a requested return, with a reason the shopper reads.",
    { #[schema(min_length = 1, max_length = 2000)] reason: String },
    |b| Command::Reject { reason: b.reason });
action!(mark_in_transit, "/returns/{return_id}/mark-in-transit", InTransitBody,
    "Record that the carrier has the parcel.",
    { #[serde(default)] #[schema(max_length = 255)] carrier: Option<String>,
      #[serde(default)] #[schema(max_length = 64)] tracking_number: Option<String> },
    |b| Command::MarkInTransit { carrier: b.carrier, tracking_number: b.tracking_number });
action!(receive, "/returns/{return_id}/receive", ReceiveBody,
    "Record what arrived, item by item. Receiving never refunds by itself.",
    { items: Vec<ItemReceipt>, #[serde(default)] #[schema(max_length = 2000)] note: Option<String> },
    |b| Command::Receive { items: b.items, note: b.note });
action!(inspect, "/returns/{return_id}/inspect", InspectBody,
    "Record the inspection: accepted quantity, condition and disposition per item.",
    { items: Vec<ItemInspection>, #[serde(default)] #[schema(max_length = 2000)] note: Option<String> },
    |b| Command::Inspect { items: b.items, note: b.note });
action!(resolve, "/returns/{return_id}/resolve", ResolveBody,
    "Close the return with the resolution of each item (default: the one asked for).",
    { #[serde(default)] items: Vec<ItemResolution>, #[serde(default)] #[schema(max_length = 2000)] note: Option<String> },
    |b| Command::Resolve { items: b.items, note: b.note });
action!(cancel, "/returns/{return_id}/cancel", CancelBody,
    "Cancel a return before it is shipped back.",
    { #[serde(default)] #[schema(max_length = 2000)] reason: Option<String> },
    |b| Command::Cancel { reason: b.reason });
