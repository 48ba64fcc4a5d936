//! The API reference page at `/api/v1/docs`: one HTML file compiled into the
//! binary that renders `/api/v1/openapi.json` with a little inline JavaScript,
//! so it works on a machine with no internet (no CDN, nothing downloaded at build).

use axum::http::header;
use axum::response::IntoResponse;

const PAGE: &str = include_str!("docs.html");

/// What the page may load: itself and the document, nothing from elsewhere.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'";

pub async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
        ],
        PAGE,
    )
}
