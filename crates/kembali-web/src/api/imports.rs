//! `/api/v1/imports/…`: a CSV file in — orders (docs/INTAKE.md, "CSV") or
//! drop-off points (docs/SHIPPING.md) — and the import's report out.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use kembali_app::dropoff::{self, PointsReport};
use kembali_app::import::{self, Options, Report};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::Auth;

/// The largest file the API takes: 32 MiB, some hundred thousand order lines.
/// Larger files go through `kembali import orders`, which has no limit.
pub const MAX_UPLOAD: usize = 32 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_orders))
        .routes(routes!(import_dropoff_points))
        // Inside the application's 1 MiB default, so it wins for this route.
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Import the good orders and leave out each order with a bad row; without
    /// it, a file with any bad row imports nothing.
    #[serde(default)]
    pub skip_bad_rows: bool,
}

#[utoipa::path(post, path = "/imports/orders", tag = "imports",
    request_body(content = String, content_type = "text/csv",
        description = "Orders as CSV, one row per order line, UTF-8, at most 32 MiB \
            (docs/INTAKE.md lists the columns). Orders imported before (the same order number) \
            are updated, so sending a file again changes nothing more."),
    params(ImportQuery),
    responses(
        (status = 200, description = "The orders were imported; the report counts them and \
            lists the rows left out", body = Report),
        (status = 400, description = "The body could not be read", body = Problem),
        (status = 413, description = "The file is larger than 32 MiB", body = Problem),
        (status = 415, description = "The body is not sent as `text/csv`", body = Problem),
        (status = 422, description = "Rows of the file are not valid and nothing was imported: \
            `errors` names each (`row 7, unit_price`) and why", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn import_orders(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<ImportQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Report>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let body = csv_body(&headers, body, "orders")?;
    let options = Options {
        skip_bad_rows: q.skip_bad_rows,
    };
    let mut tx = state.app.db.begin().await?;
    // A refused import returns before the commit: dropping the transaction
    // rolls back whatever it wrote.
    let report = import::orders(&state.app, &mut tx, &auth.shop, &body, options).await?;
    tx.commit().await?;
    Ok(Json(report))
}

/// The body of a CSV upload: sent as `text/csv` and within [`MAX_UPLOAD`].
fn csv_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    what: &str,
) -> Result<Bytes, ApiError> {
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|ct| ct.trim().eq_ignore_ascii_case("text/csv"));
    if !is_csv {
        return Err(ApiError::UnsupportedMediaType(
            "send the file as CSV with `Content-Type: text/csv`".into(),
        ));
    }
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "send at most {MAX_UPLOAD} bytes; import larger files with `kembali import {what}`"
            ))
        } else {
            ApiError::BadRequest(format!("the body could not be read: {e}"))
        }
    })
}

#[utoipa::path(post, path = "/imports/dropoff-points", tag = "imports",
    request_body(content = String, content_type = "text/csv",
        description = "Drop-off points as CSV, one row per point, UTF-8, at most 32 MiB \
            (docs/SHIPPING.md lists the columns and the opening-hours format). A point imported \
            before (the same `carrier` and `id`) is updated in place, so sending a file again \
            adds nothing."),
    responses(
        (status = 200, description = "The points were imported; the report counts those \
            created and updated", body = PointsReport),
        (status = 400, description = "The body could not be read", body = Problem),
        (status = 413, description = "The file is larger than 32 MiB", body = Problem),
        (status = 415, description = "The body is not sent as `text/csv`", body = Problem),
        (status = 422, description = "Rows of the file are not valid and nothing was imported: \
            `errors` names each (`line 7, latitude`) and why", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn import_dropoff_points(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PointsReport>, ApiError> {
    let body = csv_body(&headers, body, "dropoff-points")?;
    let mut tx = state.app.db.begin().await?;
    // A refused import returns before the commit: nothing it wrote stays.
    let report = dropoff::import(&state.app, &mut tx, &auth.shop, &body).await?;
    tx.commit().await?;
    Ok(Json(report))
}
