//! The merchant's pages (the returns desk): server-rendered HTML for agents and
//! warehouse staff. The router, its fallback and its error page are wired; the
//! pages come with their own issue.

use axum::Router;

use crate::AppState;
use crate::page;

/// Everything under `/desk`.
pub fn router() -> Router<AppState> {
    page::pages(Router::new())
}
