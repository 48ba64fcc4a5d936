//! The shopper's pages (the return portal): server-rendered HTML in the
//! shopper's language. The pages come with the portal issue; the router, its
//! fallback and its error page are wired so they have a home.

use axum::Router;

use crate::AppState;
use crate::page;

/// Everything under `/portal`.
pub fn router() -> Router<AppState> {
    page::pages(Router::new())
}
