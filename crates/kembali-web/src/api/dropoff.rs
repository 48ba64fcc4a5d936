//! `GET /api/v1/dropoff-points`: the shop's drop-off points nearest to a postal
//! code or a place, with their opening hours and whether they are open now.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use kembali_app::dropoff::{self, MAX_NEAREST, Near, Nearby};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::Auth;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(nearest))
}

/// Where to look from, and how many to answer.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NearQuery {
    /// A postal code (`00-950`, `10110`) or a latitude and longitude in
    /// degrees (`52.2297,21.0122`).
    #[param(min_length = 1, max_length = 64, example = "00-950")]
    pub near: String,
    /// Only this carrier's points (`inpost`, `jne`, …).
    #[param(min_length = 1, max_length = 64)]
    pub carrier: Option<String>,
    /// How many points: 1–50, 10 when left out.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

/// The drop-off points nearest to a postal code or a place, nearest first.
/// From a postal code the distances count from the centre of the shop's points
/// with that postal code, or, when it has none there, of those whose postal code
/// starts the most like it (`origin.basis` says which).
#[utoipa::path(get, path = "/dropoff-points", tag = "shipping",
    params(NearQuery),
    responses(
        (status = 200, description = "The nearest points with their opening hours and whether \
            they are open now in the shop's time zone; none when the shop has imported none",
            body = Nearby),
        (status = 400, description = "An unknown or malformed query parameter", body = Problem),
        (status = 422, description = "`near` is neither a postal code nor a latitude and \
            longitude, or `limit` is out of range", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn nearest(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<NearQuery>, QueryRejection>,
) -> Result<Json<Nearby>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let near = Near::parse(&q.near)?;
    let limit = q.limit.map_or(10, |l| l as usize).min(MAX_NEAREST + 1);
    // Empty or too long is no carrier: a 400 naming it, as the schema says.
    crate::api::list::bounded("carrier", q.carrier.as_deref(), 64)?;
    let carrier = q.carrier.as_deref().map(str::trim);
    Ok(Json(
        dropoff::nearest(&state.app, &auth.shop, &near, carrier, limit).await?,
    ))
}
