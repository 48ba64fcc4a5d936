//! Kembali's HTTP layer, split by audience: `api/` (JSON and problem documents),
//! `portal/` (the shopper's pages), `desk/` (the merchant's pages) and `hooks/`
//! (platform webhooks, raw bodies). Each renders its own errors; all of them call
//! the application layer.

pub mod api;
pub mod desk;
pub mod hooks;
pub mod page;
pub mod portal;

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kembali_app::App;
use tower_http::trace::TraceLayer;

use crate::api::error::ApiError;

/// The most a request body may carry.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What every handler shares: the application. Instances share nothing else.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .nest("/api/v1", api::router())
        .nest("/portal", portal::router())
        .nest("/desk", desk::router())
        .nest("/hooks", hooks::router())
        // Another version of the API, or none: still a machine asking.
        .route("/api", axum::routing::any(api::not_found))
        .route("/api/{*rest}", axum::routing::any(api::not_found))
        .merge(page::pages(Router::new()))
        // The health endpoints are for machines too.
        .method_not_allowed_fallback(api::method_not_allowed)
        .with_state(state)
        // Enforced by the body extractors, so an oversized body is our 413 problem.
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(deadline))
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

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// How long `/readyz` waits for the database: a probe must answer at once, and a
/// database slower than this is not ready to serve.
pub const READY_PING: Duration = Duration::from_secs(1);

/// The process can serve: the database answers. When it does not, the same 503
/// problem document (with `Retry-After`) as any request that needs it.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.app.db.ping(READY_PING).await {
        Ok(()) => "ready".into_response(),
        Err(e) => ApiError::from(e).into_response(),
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
