//! `/api/v1/orders/{order_id}/shipments` and `/api/v1/shipments/{shipment_id}`:
//! the parcels (fulfilments) of an order, recorded and tracked by the merchant's
//! system through the same step order intake takes them through.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kembali_app::shipments::{self, NewShipment, ShipmentPatch};
use kembali_core::order::Shipment;
use kembali_core::{OrderId, ShipmentId};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::{Auth, Body, Id, Named, once};
use crate::api::orders::to_json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_shipment, list_shipments))
        .routes(routes!(get_shipment, update_shipment))
}

impl Named for ShipmentId {
    const WHAT: &'static str = "shipment";
    const TABLE: Option<&'static str> = Some("shipments");
}

/// The parcels of an order, oldest first (an order has few: no paging).
#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentList {
    pub data: Vec<Shipment>,
}

/// Record a parcel of an order: carrier, tracking, status and the units of
/// its lines inside. `shipment.created` is sent; a `delivered` parcel starts
/// the delivery-based return windows.
#[utoipa::path(post, path = "/orders/{order_id}/shipments", tag = "orders",
    request_body = NewShipment,
    params(
        ("order_id" = OrderId, Path, description = "The order (`ord_…`)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response"),
    ),
    responses(
        (status = 201, description = "The parcel was recorded", body = Shipment),
        (status = 404, body = Problem),
        (status = 409, description = "The order was cancelled", body = Problem),
        (status = 422, description = "Not valid: a line shipped more often than ordered, a time before the order, …", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn create_shipment(
    State(state): State<AppState>,
    auth: Auth,
    Id(order): Id<OrderId>,
    body: Body<NewShipment>,
) -> Result<Response, ApiError> {
    let req = &body.value;
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let s = shipments::create(&state.app, tx, &auth.shop, order, req).await?;
        Ok((StatusCode::CREATED, to_json(&s)?))
    })
    .await
}

#[utoipa::path(get, path = "/orders/{order_id}/shipments", tag = "orders",
    params(("order_id" = OrderId, Path, description = "The order (`ord_…`)")),
    responses(
        (status = 200, description = "The order's parcels, oldest first", body = ShipmentList),
        (status = 404, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn list_shipments(
    State(state): State<AppState>,
    auth: Auth,
    Id(order): Id<OrderId>,
) -> Result<Json<ShipmentList>, ApiError> {
    let data = shipments::of_order(&state.app, &auth.shop, order).await?;
    Ok(Json(ShipmentList { data }))
}

#[utoipa::path(get, path = "/shipments/{shipment_id}", tag = "orders",
    params(("shipment_id" = ShipmentId, Path, description = "The parcel (`shp_…`)")),
    responses(
        (status = 200, body = Shipment),
        (status = 404, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn get_shipment(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ShipmentId>,
) -> Result<Json<Shipment>, ApiError> {
    Ok(Json(shipments::get(&state.app, &auth.shop, id).await?))
}

/// Change a parcel's carrier, tracking or status (`in_transit`, `delivered`
/// with its `delivered_at`, `returned_to_sender`, …). `shipment.updated` is
/// sent when anything changed.
#[utoipa::path(patch, path = "/shipments/{shipment_id}", tag = "orders",
    request_body = ShipmentPatch,
    params(
        ("shipment_id" = ShipmentId, Path, description = "The parcel (`shp_…`)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response"),
    ),
    responses(
        (status = 200, description = "The parcel as it is now", body = Shipment),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn update_shipment(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ShipmentId>,
    body: Body<ShipmentPatch>,
) -> Result<Response, ApiError> {
    let patch = &body.value;
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let s = shipments::update(&state.app, tx, &auth.shop, id, patch).await?;
        Ok((StatusCode::OK, to_json(&s)?))
    })
    .await
}
