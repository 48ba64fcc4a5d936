//! Webhooks from shop platforms and carriers: the raw body is kept as bytes so
//! its signature can be checked over exactly what arrived, before any parsing.
//! Answers are problem documents (the callers are machines).

pub mod platforms;
pub mod signature;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use tower_http::catch_panic::CatchPanicLayer;

use crate::AppState;
use crate::api::error::ApiError;

/// Everything under `/hooks`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/shopify", post(platforms::shopify))
        .route("/woocommerce/{source_id}", post(platforms::woocommerce))
        .fallback(|| async { ApiError::NotFound("there is no hook at this address".into()) })
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed("hooks take POST".into())
        })
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("a hook panicked".into()).into_response()
        }))
}

/// A delivery as it arrived: its headers and the exact bytes of its body, for
/// the signature check that comes before any parsing.
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Delivery {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(format!("send at most {} bytes", crate::BODY_LIMIT))
            } else {
                ApiError::BadRequest(format!("the body could not be read: {e}"))
            }
        })?;
        Ok(Delivery { headers, body })
    }
}
