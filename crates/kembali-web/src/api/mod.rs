//! The JSON API under `/api/v1`: one router per resource, merged here with the
//! OpenAPI document they describe.

pub mod error;
pub mod extract;
pub mod orders;
pub mod returns;
pub mod sources;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::api::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kembali API",
        description = "Returns and post-purchase API. Errors are RFC 9457 problem documents; \
            every POST accepts an `Idempotency-Key`; money is integer minor units with an ISO 4217 code.",
        license(name = "AGPL-3.0-or-later")
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth),
    tags(
        (name = "orders", description = "Orders and what the return policy says about their items"),
        (name = "returns", description = "Returns and their lifecycle"),
        (name = "sources", description = "The platforms orders come from, and what they delivered"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A shop's API key (`kb_…`), from `kembali apikey create`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The API's OpenAPI document, as served.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(orders::router())
        .merge(returns::router())
        .merge(sources::router())
        .split_for_parts()
}

/// Everything under `/api/v1`: the resources, the OpenAPI document, and the
/// API's own answers for unknown addresses, wrong methods and panics — all
/// problem documents.
pub fn router() -> Router<AppState> {
    let (api, openapi) = routes();
    let openapi_json = serde_json::to_string_pretty(&openapi).unwrap_or_default();
    api.route(
        "/openapi.json",
        get(move || {
            let body = openapi_json.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    )
    .fallback(not_found)
    .method_not_allowed_fallback(method_not_allowed)
    .layer(CatchPanicLayer::custom(|_| {
        ApiError::Internal("a handler panicked".into()).into_response()
    }))
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound("there is nothing at this address".into())
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("this address does not take this method".into())
}
