//! Kembali's HTTP layer, split by audience: `api/` (JSON and problem documents),
//! `portal/` (the shopper's pages), `desk/` (the merchant's pages) and `hooks/`
//! (platform webhooks, raw bodies). Each renders its own errors; all of them call
//! the application layer.

pub mod api;
pub mod desk;
pub mod forwarded;
pub mod hooks;
pub mod i18n;
pub mod metrics;
pub mod page;
pub mod portal;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kembali_app::App;
use tokio::sync::{Semaphore, watch};
use tower_http::trace::TraceLayer;

use crate::api::error::ApiError;

/// The most a request body may carry.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What every handler shares: the application, and the keys this instance
/// authenticated lately. Instances share nothing else.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub keys: Arc<api::auth::KeyCache>,
}

impl AppState {
    pub fn new(app: App) -> AppState {
        AppState {
            app,
            keys: Arc::new(api::auth::KeyCache::new()),
        }
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::metrics))
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

/// What one server lets its clients hold. A connection counts from accept to
/// close; the header time runs from a connection's first byte, or from the end
/// of its previous response (so it also closes idle keep-alive connections),
/// to the end of the request's headers. Reading a body falls under the request
/// deadline ([`REQUEST_DEADLINE`]): the extractors read it inside the handler.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_read_timeout: Duration,
    /// Past this many open connections the server stops accepting; new ones
    /// wait in the kernel's listen backlog until a connection closes.
    pub max_connections: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client
    /// ([`forwarded`]); none by default.
    pub trusted_proxies: forwarded::TrustedProxies,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            trusted_proxies: forwarded::TrustedProxies::default(),
        }
    }
}

/// Serves `app` on `listener` with the default [`Limits`] until `shutdown`
/// resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Limits::default(), shutdown).await
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves, then
/// finishes the requests in flight.
///
/// Our own accept loop rather than `axum::serve`: that one sets no timer on
/// hyper's connections, so hyper's header read timeout never runs, and it
/// accepts without limit.
pub async fn serve_with(
    mut listener: tokio::net::TcpListener,
    state: AppState,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let router = app(state);
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // `stop` tells the connections to finish; each holds a `done` receiver, so
    // `done_tx.closed()` resolves when the last one has.
    let (stop_tx, _) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        // axum's `Listener` retries failed accepts (and waits out running out
        // of file descriptors) instead of ending the server.
        let (stream, peer) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        // The client's address rides on each request (the portal's rate
        // limit): the peer, or whom a trusted proxy says it forwards.
        let proxies = limits.trusted_proxies.clone();
        let service = tower::ServiceExt::map_request(
            router.clone(),
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                let client = portal::ClientAddr(proxies.client(peer.ip(), req.headers()));
                // As itself: `Extension<ClientAddr>` and `extensions.get`
                // look it up by its own type.
                req.extensions_mut().insert(client);
                req
            },
        );
        let conn = http1.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let mut stop = stop_tx.subscribe();
        let done = done_rx.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::debug!(%peer, error = %e, "connection ended");
                    }
                }
                _ = async { stop.wait_for(|stop| *stop).await.map(|_| ()) } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(slot);
            drop(done);
        });
    }
    drop(listener);
    stop_tx.send_replace(true);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}
