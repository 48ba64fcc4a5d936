//! `/api/v1/api-keys`: make keys with scopes (the secret is shown once), list
//! them (never their secrets), revoke them. All of it needs an `admin` key.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kembali_app::api_keys;
use kembali_core::ApiKeyId;
use kembali_core::access::{Scope, Scopes};
use kembali_store::api_keys::ApiKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::{Admin, Body, Id, Named};
use crate::api::list::{ListQuery, NoFilters, Page, Paging};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
}

impl Named for ApiKeyId {
    const WHAT: &'static str = "API key";
    const TABLE: Option<&'static str> = Some("api_keys");
}

/// A key as it is shown: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: ApiKeyId,
    pub name: String,
    /// The secret's first ten characters, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    /// When it was revoked; absent while it works.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<jiff::Timestamp>,
}

impl From<ApiKey> for ApiKeyView {
    fn from(k: ApiKey) -> Self {
        ApiKeyView {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes.as_slice().to_vec(),
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A key just made, with its secret: the only time it is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// Send as `Authorization: Bearer <secret>`. Only its hash is kept: store it now.
    pub secret: String,
}

/// A key to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for, to recognise it in the list.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// `read`, `write` (includes read) or `admin` (everything); 1–3 of them.
    #[schema(min_items = 1, max_items = 3)]
    pub scopes: Vec<Scope>,
}

#[utoipa::path(post, path = "/api-keys", tag = "api-keys",
    request_body = NewApiKey,
    responses(
        (status = 201, description = "The key, with its secret shown this once. An `Idempotency-Key` is not kept for this operation: a replay would have to store the secret.", body = CreatedApiKey),
        (status = 422, body = Problem),
    ),
    security(("api_key" = ["admin"])))]
async fn create_key(
    State(state): State<AppState>,
    Admin(auth): Admin,
    body: Body<NewApiKey>,
) -> Result<Response, ApiError> {
    // As the schema says: 1–3 scopes (a repeated one counts once).
    let asked = &body.value.scopes;
    if asked.len() > Scope::ALL.len() {
        return Err(ApiError::invalid("scopes", "at most 3"));
    }
    let scopes = Scopes::new(asked.iter().copied());
    let mut tx = state.app.db.begin().await?;
    let made =
        api_keys::create(&state.app, &mut tx, auth.shop.id, &body.value.name, &scopes).await?;
    tx.commit().await?;
    let view = CreatedApiKey {
        key: made.key.into(),
        secret: made.secret,
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[utoipa::path(get, path = "/api-keys", tag = "api-keys",
    params(Paging<ApiKeyId>),
    responses(
        (status = 200, description = "The shop's keys, newest first, revoked ones included", body = Page<ApiKeyView>),
        (status = 400, body = Problem),
    ),
    security(("api_key" = ["admin"])))]
async fn list_keys(
    State(state): State<AppState>,
    Admin(auth): Admin,
    q: ListQuery<NoFilters>,
) -> Result<Json<Page<ApiKeyView>>, ApiError> {
    let before = q.cursor::<ApiKeyId>()?;
    let keys = api_keys::list(&state.app, auth.shop.id, before, q.fetch()).await?;
    let page = q.page(keys, |k| k.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(ApiKeyView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(post, path = "/api-keys/{key_id}/revoke", tag = "api-keys",
    params(("key_id" = ApiKeyId, Path, description = "The key (`key_…`)")),
    responses(
        (status = 200, description = "Revoked: this instance refuses it at once, every other within a few seconds. Revoking again changes nothing.", body = ApiKeyView),
        (status = 404, body = Problem),
    ),
    security(("api_key" = ["admin"])))]
async fn revoke_key(
    State(state): State<AppState>,
    Admin(auth): Admin,
    Id(id): Id<ApiKeyId>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let mut tx = state.app.db.begin().await?;
    let key = api_keys::revoke(&state.app, &mut tx, auth.shop.id, id).await?;
    tx.commit().await?;
    state.keys.forget(auth.shop.id, id);
    Ok(Json(key.into()))
}
