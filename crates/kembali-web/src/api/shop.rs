//! `/api/v1/shop`: the shop's own settings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kembali_app::shops::{self, ShopChange, ShopView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::{Auth, Body, once};
use crate::api::orders::to_json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_shop, update_shop))
}

#[utoipa::path(get, path = "/shop", tag = "shop",
    responses((status = 200, description = "The shop and its settings", body = ShopView)),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn get_shop(State(state): State<AppState>, auth: Auth) -> Result<Json<ShopView>, ApiError> {
    Ok(Json(shops::get(&state.app, auth.shop.id).await?))
}

#[utoipa::path(patch, path = "/shop", tag = "shop",
    request_body = ShopChange,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response")),
    responses(
        (status = 200, description = "The shop after the change", body = ShopView),
        (status = 409, description = "The currency cannot change: the shop has taken orders", body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn update_shop(
    State(state): State<AppState>,
    auth: Auth,
    body: Body<ShopChange>,
) -> Result<Response, ApiError> {
    let change = &body.value;
    let answer = once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let view = shops::update(tx, auth.shop.id, change).await?;
        Ok((StatusCode::OK, to_json(&view)?))
    })
    .await;
    // The cached keys carry the shop's settings: read them fresh from now on.
    state.keys.forget_shop(auth.shop.id);
    answer
}
