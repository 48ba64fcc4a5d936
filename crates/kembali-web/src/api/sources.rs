//! `/api/v1/sources`: the platforms a shop takes orders from, their webhook
//! addresses, secret rotation, and each source's intake log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kembali_app::sources::{self, NewSource};
use kembali_core::{IntakeId, OrderId, SourceId};
use kembali_store::sources::{Entry, Source};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::{Admin, Body, Id, Named, once};
use crate::api::list::{ListQuery, NoFilters, Page, Paging};
use crate::api::orders::to_json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sources, add_source))
        .routes(routes!(rotate_secret))
        .routes(routes!(intake_log))
}

impl Named for SourceId {
    const WHAT: &'static str = "source";
    const TABLE: Option<&'static str> = Some("sources");
}

/// A source as the API shows it: never its secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceView {
    pub id: SourceId,
    /// `shopify` or `woocommerce`.
    pub kind: String,
    /// The Shopify domain or the WooCommerce site.
    pub address: String,
    /// Where the platform must send its webhooks, after this Kembali's public address.
    pub webhook_path: String,
    pub cod_gateways: Vec<String>,
    /// Until when the secret before the last rotation is still accepted.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub previous_secret_until: Option<jiff::Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
}

impl From<&Source> for SourceView {
    fn from(s: &Source) -> Self {
        SourceView {
            id: s.id,
            kind: s.kind.clone(),
            address: s.address.clone(),
            webhook_path: sources::hook_path(s),
            cod_gateways: s.cod_gateways.clone(),
            previous_secret_until: s.previous_until,
            created_at: s.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SourceList {
    pub data: Vec<SourceView>,
}

#[utoipa::path(get, path = "/sources", tag = "sources",
    responses((status = 200, body = SourceList)),
    security(("api_key" = ["admin"])))]
async fn list_sources(
    State(state): State<AppState>,
    Admin(auth): Admin,
) -> Result<Json<SourceList>, ApiError> {
    let mut conn = state.app.db.conn().await?;
    let all = kembali_store::sources::list(&mut conn, Some(auth.shop.id)).await?;
    Ok(Json(SourceList {
        data: all.iter().map(SourceView::from).collect(),
    }))
}

/// A source to connect.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum NewSourceRequest {
    Shopify {
        /// The store's `…myshopify.com` domain.
        #[schema(max_length = 255)]
        domain: String,
        /// The secret the store's webhooks are signed with.
        #[schema(min_length = 8, max_length = 512)]
        secret: String,
        /// Payment gateway names that mean cash on delivery.
        #[serde(default)]
        cod_gateways: Vec<String>,
    },
    Woocommerce {
        /// The site's `https://` address.
        #[schema(max_length = 2000)]
        url: String,
        /// The secret typed into the site's webhooks.
        #[schema(min_length = 8, max_length = 512)]
        secret: String,
    },
}

#[utoipa::path(post, path = "/sources", tag = "sources",
    request_body = NewSourceRequest,
    responses(
        (status = 201, description = "Connected; give the platform `webhook_path` after this Kembali's address", body = SourceView),
        (status = 422, body = Problem),
    ),
    security(("api_key" = ["admin"])))]
async fn add_source(
    State(state): State<AppState>,
    Admin(auth): Admin,
    body: Body<NewSourceRequest>,
) -> Result<Response, ApiError> {
    let new = match &body.value {
        NewSourceRequest::Shopify {
            domain,
            secret,
            cod_gateways,
        } => NewSource::Shopify {
            domain: domain.clone(),
            secret: secret.clone(),
            cod_gateways: cod_gateways.clone(),
        },
        NewSourceRequest::Woocommerce { url, secret } => NewSource::WooCommerce {
            url: url.clone(),
            secret: secret.clone(),
        },
    };
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let added = sources::add(&state.app, tx, auth.shop.id, new).await?;
        Ok((StatusCode::CREATED, to_json(&SourceView::from(&added))?))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    #[schema(min_length = 8, max_length = 512)]
    pub secret: String,
    /// Minutes the previous secret is still accepted (default 60: Shopify needs up to an hour).
    #[serde(default)]
    #[schema(maximum = 10080)]
    pub grace_minutes: Option<u32>,
}

#[utoipa::path(post, path = "/sources/{source_id}/rotate", tag = "sources",
    params(("source_id" = SourceId, Path, description = "The source (`src_…`)")),
    request_body = RotateRequest,
    responses(
        (status = 200, body = SourceView),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = ["admin"])))]
async fn rotate_secret(
    State(state): State<AppState>,
    Admin(auth): Admin,
    Id(id): Id<SourceId>,
    body: Body<RotateRequest>,
) -> Result<Response, ApiError> {
    let minutes = body.value.grace_minutes.unwrap_or(60);
    if minutes > 10_080 {
        return Err(ApiError::invalid("grace_minutes", "at most 10080 (a week)"));
    }
    let secret = body.value.secret.clone();
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let grace = jiff::SignedDuration::from_mins(i64::from(minutes));
        sources::rotate(&state.app, tx, auth.shop.id, id, &secret, grace).await?;
        let all = kembali_store::sources::list(tx, Some(auth.shop.id)).await?;
        let source = all
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| ApiError::NotFound("no such source".into()))?;
        Ok((StatusCode::OK, to_json(&SourceView::from(source))?))
    })
    .await
}

/// One delivery as the intake log keeps it.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeEntryView {
    pub id: IntakeId,
    pub delivery_id: String,
    pub event_id: Option<String>,
    pub topic: String,
    /// `imported`, `updated`, `stale`, `redacted`, `ignored` or `rejected`.
    pub outcome: String,
    /// Why, for `rejected` and `ignored`.
    pub detail: Option<String>,
    pub order_id: Option<OrderId>,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: jiff::Timestamp,
}

impl From<Entry> for IntakeEntryView {
    fn from(e: Entry) -> Self {
        IntakeEntryView {
            id: e.id,
            delivery_id: e.delivery_id,
            event_id: e.event_id,
            topic: e.topic,
            outcome: e.outcome,
            detail: e.detail,
            order_id: e.order_id,
            received_at: e.received_at,
        }
    }
}

#[utoipa::path(get, path = "/sources/{source_id}/intake", tag = "sources",
    params(("source_id" = SourceId, Path, description = "The source (`src_…`)"), Paging<IntakeId>),
    responses(
        (status = 200, description = "What the source delivered, newest first", body = Page<IntakeEntryView>),
        (status = 400, body = Problem),
        (status = 404, body = Problem),
    ),
    security(("api_key" = ["admin"])))]
async fn intake_log(
    State(state): State<AppState>,
    Admin(auth): Admin,
    Id(id): Id<SourceId>,
    q: ListQuery<NoFilters>,
) -> Result<Json<Page<IntakeEntryView>>, ApiError> {
    let entries = sources::intake_log(&state.app, auth.shop.id, id, q.cursor()?, q.fetch()).await?;
    let page = q.page(entries, |e| e.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(IntakeEntryView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
