//! The JSON API under `/api/v1`: one router per resource, merged here with the
//! OpenAPI document they describe.

pub mod orders;
pub mod returns;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

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

/// The API routes (relative to `/api/v1`) and their OpenAPI document.
pub fn router() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(orders::router())
        .merge(returns::router())
        .split_for_parts()
}
