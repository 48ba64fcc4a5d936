//! `GET /api/v1/orders` and `GET /api/v1/returns`: the lists, newest first,
//! with their filters (the shared paging of `api::list`).

use axum::Json;
use axum::extract::State;
use kembali_app::listing::{self, OrderSummary, ReturnSummary};
use kembali_core::returns::{Resolution, ReturnReason, ReturnStatus};
use kembali_core::{CustomerId, OrderId, ProductId, ReturnId};
use kembali_store::listing::{OrderFilter, ReturnFilter};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::Auth;
use crate::api::list::{ListQuery, Page, Paging, texts};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(list_returns))
}

/// What the orders list can be narrowed to.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderFilters {
    /// Stored at or after this time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_after: Option<jiff::Timestamp>,
    /// Stored before this time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_before: Option<jiff::Timestamp>,
    /// The buyer's email address, exactly.
    #[param(min_length = 1, max_length = 254)]
    pub email: Option<String>,
    /// The shop's order number, exactly.
    #[param(min_length = 1, max_length = 64)]
    pub number: Option<String>,
}

impl OrderFilters {
    /// The store's filter, or `None` when no order can match (see [`texts`]).
    fn checked(&self) -> Result<Option<OrderFilter>, ApiError> {
        let (email, number) = (self.email.as_deref(), self.number.as_deref());
        Ok(
            texts(&[("email", email, 254), ("number", number, 64)])?.then(|| OrderFilter {
                created_from: self.created_after,
                created_until: self.created_before,
                email: self.email.clone(),
                number: self.number.clone(),
            }),
        )
    }
}

#[utoipa::path(get, path = "/orders", tag = "orders",
    params(Paging<OrderId>, OrderFilters),
    responses(
        (status = 200, description = "The shop's orders, newest first; `GET /orders/{order_id}` has the lines and shipments", body = Page<OrderSummary>),
        (status = 400, description = "An unknown or malformed query parameter", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn list_orders(
    State(state): State<AppState>,
    auth: Auth,
    q: ListQuery<OrderFilters>,
) -> Result<Json<Page<OrderSummary>>, ApiError> {
    let Some(filter) = q.filters.checked()? else {
        return Ok(Json(Page::empty()));
    };
    let before = q.cursor::<OrderId>()?;
    let rows = listing::orders(&state.app, auth.shop.id, before, &filter, q.fetch()).await?;
    Ok(Json(q.page(rows, |o| o.id.to_string())))
}

/// What the returns list can be narrowed to.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReturnFilters {
    pub status: Option<ReturnStatus>,
    /// Any item returned for this reason.
    pub reason: Option<ReturnReason>,
    /// Any item resolved this way (or asked to be, until resolved).
    pub resolution: Option<Resolution>,
    /// Opened at or after this time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_after: Option<jiff::Timestamp>,
    /// Opened before this time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_before: Option<jiff::Timestamp>,
    /// Returns of this order.
    #[param(value_type = Option<OrderId>)]
    pub order_id: Option<OrderId>,
    /// The customer's email address, exactly.
    #[param(min_length = 1, max_length = 254)]
    pub email: Option<String>,
    /// Returns of this customer (`cus_…`), whatever email their orders had.
    #[param(value_type = Option<CustomerId>)]
    pub customer_id: Option<CustomerId>,
    /// Any item of this product (`prd_…`).
    #[param(value_type = Option<ProductId>)]
    pub product_id: Option<ProductId>,
    /// Any item with this SKU, exactly.
    #[param(min_length = 1, max_length = 255)]
    pub sku: Option<String>,
}

impl ReturnFilters {
    /// The store's filter, or `None` when no return can match (see [`texts`]).
    fn checked(&self) -> Result<Option<ReturnFilter>, ApiError> {
        let (email, sku) = (self.email.as_deref(), self.sku.as_deref());
        Ok(
            texts(&[("email", email, 254), ("sku", sku, 255)])?.then(|| ReturnFilter {
                status: self.status,
                reason: self.reason,
                resolution: self.resolution,
                created_from: self.created_after,
                created_until: self.created_before,
                order: self.order_id,
                email: self.email.clone(),
                customer: self.customer_id,
                product: self.product_id,
                sku: self.sku.clone(),
            }),
        )
    }
}

#[utoipa::path(get, path = "/returns", tag = "returns",
    params(Paging<ReturnId>, ReturnFilters),
    responses(
        (status = 200, description = "The shop's returns, newest first; `GET /returns/{return_id}` has the items and timeline", body = Page<ReturnSummary>),
        (status = 400, description = "An unknown or malformed query parameter", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn list_returns(
    State(state): State<AppState>,
    auth: Auth,
    q: ListQuery<ReturnFilters>,
) -> Result<Json<Page<ReturnSummary>>, ApiError> {
    let Some(filter) = q.filters.checked()? else {
        return Ok(Json(Page::empty()));
    };
    let before = q.cursor::<ReturnId>()?;
    let rows = listing::returns(&state.app, auth.shop.id, before, &filter, q.fetch()).await?;
    Ok(Json(q.page(rows, |r| r.id.to_string())))
}
