//! The JSON API under `/api/v1`: one router per resource, merged here with the
//! OpenAPI document they describe.

pub mod api_keys;
pub mod auth;
pub mod customers;
pub mod docs;
pub mod dropoff;
pub mod error;
pub mod extract;
pub mod imports;
pub mod labels;
pub mod list;
pub mod listings;
pub mod money;
pub mod orders;
pub mod photos;
pub mod policy;
pub mod products;
pub mod returns;
pub mod shipments;
pub mod shop;
pub mod sources;
pub mod webhooks;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::api::error::{ApiError, PROBLEM_JSON, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kembali API",
        description = "Returns and post-purchase API. Errors are RFC 9457 problem documents \
            (`application/problem+json`); every POST accepts an `Idempotency-Key`, kept for 24 hours; \
            money is integer minor units with an ISO 4217 code.",
        license(name = "AGPL-3.0-or-later")
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth),
    tags(
        (name = "orders", description = "Orders and what the return policy says about their items"),
        (name = "returns", description = "Returns and their lifecycle"),
        (name = "products", description = "The catalogue exchanges are made from, with stock"),
        (name = "refunds", description = "The money resolved returns give back, and its way"),
        (name = "store credit", description = "Store-credit accounts, codes, redemptions and ledgers"),
        (name = "sources", description = "The platforms orders come from, and what they delivered"),
        (name = "webhooks", description = "Signed webhooks out (Standard Webhooks): endpoints, secrets, delivery log, retries"),
        (name = "shop", description = "The shop's own settings"),
        (name = "policy", description = "The return policy: versions, drafts checked, decisions explained"),
        (name = "customers", description = "Customers with their order, return and refused-parcel counts"),
        (name = "api-keys", description = "API keys and their scopes"),
        (name = "imports", description = "Orders and drop-off points in from CSV files"),
        (name = "shipping", description = "Drop-off points near the shopper; return labels and packing slips"),
        (name = "photos", description = "Shoppers' photos for returns and claims: checked by content, re-encoded, served only as re-encoded"),
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

/// How long an `Idempotency-Key` and its first answer are kept; the worker's
/// `idempotency.purge` job deletes older ones (`kembali_app::jobs`).
pub const IDEMPOTENCY_KEY_HOURS: i64 = kembali_app::jobs::purge_idempotency_keys::KEEP_HOURS;

/// What every operation shares, written once instead of on each handler: the
/// problem documents it can answer with (under their real media type, and the
/// statuses that come from extractors and layers rather than the handler: 400,
/// 401, 413, 415, 503), and the headers' exact syntax.
struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};

        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.put, true),
                (&mut item.patch, true),
                (&mut item.delete, false),
            ];
            for (op, has_body) in ops {
                let Some(op) = op.as_mut() else { continue };
                let responses = &mut op.responses.responses;
                // Problems are served as application/problem+json: say so.
                for (code, response) in responses.iter_mut() {
                    let utoipa::openapi::RefOr::T(response) = response else {
                        continue;
                    };
                    if !(code.starts_with('4') || code.starts_with('5')) {
                        continue;
                    }
                    if let Some(content) = response.content.shift_remove("application/json") {
                        response.content.insert(PROBLEM_JSON.to_owned(), content);
                    }
                }
                let mut add = |code: &str, description: &str| {
                    responses
                        .entry(code.to_owned())
                        .or_insert_with(|| problem(description).into());
                };
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                if secured {
                    add("401", "No API key, or one that is not valid or was revoked");
                }
                if has_body {
                    add("400", "The body is not JSON, or could not be read");
                    add("413", "The body is larger than the server takes (1 MiB)");
                    add(
                        "415",
                        "The body is not sent as JSON (`Content-Type: application/json`)",
                    );
                    add("422", "The request is not valid; `errors` names each field");
                }
                if path.contains('{') {
                    add("404", "Nothing with this id in this shop");
                }
                add(
                    "503",
                    "The database is not reachable, or the request took longer than 30 seconds",
                );
                for param in op.parameters.iter_mut().flatten() {
                    if param.parameter_in != ParameterIn::Header {
                        continue;
                    }
                    match param.name.as_str() {
                        "Idempotency-Key" => {
                            param.description = Some(format!(
                                "Retries with the same key within {IDEMPOTENCY_KEY_HOURS} hours \
                                 get the first response again and change nothing; the same key \
                                 with another request is a 422. Keys are kept for \
                                 {IDEMPOTENCY_KEY_HOURS} hours."
                            ));
                            param.schema = Some(header_schema(IDEMPOTENCY_KEY_PATTERN, 255));
                        }
                        "If-Match" => {
                            param.schema = Some(header_schema(IF_MATCH_PATTERN, 22));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// 1–255 visible ASCII characters; inner spaces allowed.
const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]([ -~]{0,253}[!-~])?$";
/// The return's version as its ETag gives it (`"3"`), weak or bare.
pub(crate) const IF_MATCH_PATTERN: &str = r#"^(W/)?("[0-9]{1,18}"|[0-9]{1,18})$"#;

fn header_schema(
    pattern: &str,
    max: usize,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(pattern))
        .into()
}

/// The API's OpenAPI document, as served.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(orders::router())
        .merge(shipments::router())
        .merge(returns::router())
        .merge(sources::router())
        .merge(money::router())
        .merge(products::router())
        .merge(webhooks::router())
        .merge(shop::router())
        .merge(policy::router())
        .merge(customers::router())
        .merge(api_keys::router())
        .merge(listings::router())
        .merge(imports::router())
        .merge(dropoff::router())
        .merge(labels::router())
        .merge(photos::router())
        .split_for_parts();
    // After the merge: `modifiers(…)` run before the routes add their paths.
    Contract.modify(&mut doc);
    auth::ScopeContract.modify(&mut doc);
    (router, doc)
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
    .route("/docs", get(docs::page))
    .fallback(not_found)
    .method_not_allowed_fallback(method_not_allowed)
    .layer(axum::middleware::map_response(problems_only))
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

/// Every error under /api is a problem document: answers that come from axum or
/// tower rather than our extractors (a rejection we did not wrap, a layer's
/// own refusal) are rewritten here, keeping their status and headers (`Allow`).
async fn problems_only(res: Response) -> Response {
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let (parts, body) = res.into_parts();
    // axum's rejections say what went wrong in a line of text; keep it.
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let reason = status.canonical_reason().unwrap_or("Error");
    let detail = if text.is_empty() {
        reason.to_owned()
    } else {
        text
    };
    let problem = match status {
        StatusCode::BAD_REQUEST => ApiError::BadRequest(detail).problem(),
        StatusCode::NOT_FOUND => ApiError::NotFound(detail).problem(),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed(detail).problem(),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(detail).problem(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(detail).problem(),
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::invalid("request", detail).problem(),
        StatusCode::INTERNAL_SERVER_ERROR => {
            tracing::error!(error = %detail, "internal error");
            ApiError::Internal(detail).problem()
        }
        // RFC 9457 §4.2.1: no more to say than the status.
        _ => Problem {
            kind: "about:blank".into(),
            title: reason.into(),
            status: status.as_u16(),
            detail,
            errors: Vec::new(),
            explanations: Vec::new(),
        },
    };
    let mut res = problem.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            res.headers_mut().append(name, value.clone());
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    /// A refusal from outside our code (axum's, a layer's) leaves as a problem
    /// document with its status and headers.
    #[tokio::test]
    async fn plain_refusals_become_problems() {
        let app: Router = Router::new()
            .route(
                "/plain",
                get(|| async { (StatusCode::BAD_REQUEST, [("x-kept", "1")], "Invalid UTF-8") }),
            )
            .route("/fine", get(|| async { (StatusCode::OK, "ok") }))
            .layer(axum::middleware::map_response(problems_only));
        let res = app
            .clone()
            .oneshot(Request::get("/plain").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(res.headers()["x-kept"], "1");
        let body = axum::body::to_bytes(res.into_body(), 4096).await.unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["type"], "urn:kembali:problem:bad-request");
        assert_eq!(doc["detail"], "Invalid UTF-8");
        let res = app
            .oneshot(Request::get("/fine").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
    }
}
