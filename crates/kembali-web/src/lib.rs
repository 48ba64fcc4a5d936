//! Kembali's HTTP layer: the JSON API with its OpenAPI document, health
//! endpoints, and the one mapping from errors to responses.

pub mod api;
pub mod error;
pub mod extract;

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kembali_store::Db;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;

/// The most a request body may carry.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What every handler shares: the database. Instances share nothing else.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (api, openapi) = api::router();
    let openapi_json = serde_json::to_string_pretty(&openapi).unwrap_or_default();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let body = openapi_json.clone();
                async move { ([("content-type", "application/json")], body) }
            }),
        )
        .nest("/api/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        // Enforced by the body extractors, so an oversized body is our 413 problem.
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(deadline))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("a handler panicked".into()).into_response()
        }))
        .layer(TraceLayer::new_for_http())
}

/// How long one request may take before it is answered with a 503 problem.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

async fn deadline(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::time::timeout(REQUEST_DEADLINE, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound("there is nothing at this address".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("this address does not take this method".into())
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes the
/// requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
