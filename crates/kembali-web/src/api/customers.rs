//! `/api/v1/customers`: the shop's customers with their order, return and
//! refused-parcel counts.

use axum::Json;
use axum::extract::State;
use kembali_app::customers::{self, CustomerView};
use kembali_core::CustomerId;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::{Auth, Id, Named};
use crate::api::list::{ListQuery, Page, Paging};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers))
        .routes(routes!(get_customer))
}

impl Named for CustomerId {
    const WHAT: &'static str = "customer";
    const TABLE: Option<&'static str> = Some("customers");
}

/// What the customers list can be narrowed to.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerFilters {
    /// Only the customer with this email address.
    #[param(max_length = 254)]
    pub email: Option<String>,
}

#[utoipa::path(get, path = "/customers", tag = "customers",
    params(Paging<CustomerId>, CustomerFilters),
    responses(
        (status = 200, description = "The shop's customers, oldest first", body = Page<CustomerView>),
        (status = 400, description = "An unknown or malformed query parameter", body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn list_customers(
    State(state): State<AppState>,
    auth: Auth,
    q: ListQuery<CustomerFilters>,
) -> Result<Json<Page<CustomerView>>, ApiError> {
    let email = q.filters.email.as_deref();
    if let Some(e) = email {
        kembali_app::error::check_text("email", e, kembali_core::text::Form::Line, 254)?;
    }
    let rows = customers::list(&state.app, auth.shop.id, q.cursor()?, email, q.fetch()).await?;
    Ok(Json(q.page(rows, |c| c.id.to_string())))
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
