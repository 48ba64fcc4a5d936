//! `/api/v1/customers`: the shop's customers with their order, return and
//! refused-parcel counts.

use axum::Json;
use axum::extract::{Query, State};
use kembali_app::customers::{self, CustomerView};
use kembali_core::CustomerId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::cursor;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::{Auth, Id, Named};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers))
        .routes(routes!(get_customer))
}

impl Named for CustomerId {
    const WHAT: &'static str = "customer";
    const TABLE: Option<&'static str> = Some("customers");
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// At most this many customers (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<CustomerId>)]
    pub cursor: Option<String>,
    /// Only the customer with this email address.
    #[param(max_length = 254)]
    pub email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPage {
    /// Oldest first.
    pub data: Vec<CustomerView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/customers", tag = "customers",
    params(CustomerQuery),
    responses(
        (status = 200, description = "The shop's customers, oldest first", body = CustomerPage),
        (status = 400, description = "An unknown query parameter", body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn list_customers(
    State(state): State<AppState>,
    auth: Auth,
    query: Result<Query<CustomerQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CustomerPage>, ApiError> {
    let q = cursor::query(query)?;
    let limit = cursor::limit(q.limit)?;
    let after: Option<CustomerId> = cursor::after(q.cursor.as_deref())?;
    if let Some(e) = &q.email {
        kembali_app::error::check_text("email", e, kembali_core::text::Form::Line, 254)?;
    }
    let rows = customers::list(
        &state.app,
        auth.shop.id,
        after,
        q.email.as_deref(),
        limit + 1,
    )
    .await?;
    let (data, next_cursor) = cursor::page(rows, limit, |c| c.id.to_string());
    Ok(Json(CustomerPage { data, next_cursor }))
}

#[utoipa::path(get, path = "/customers/{customer_id}", tag = "customers",
    params(("customer_id" = CustomerId, Path, description = "The customer (`cus_…`)")),
    responses(
        (status = 200, body = CustomerView),
        (status = 404, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn get_customer(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<CustomerId>,
) -> Result<Json<CustomerView>, ApiError> {
    Ok(Json(customers::get(&state.app, auth.shop.id, id).await?))
}
