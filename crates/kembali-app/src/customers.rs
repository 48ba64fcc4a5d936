//! Customers as the merchant sees them, with the counts kept on their row.

use jiff::Timestamp;
use kembali_core::shop::Locale;
use kembali_core::{CustomerId, ShopId};
use kembali_store::customers::{self as store, Customer};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Entity;
use crate::{App, AppError};

/// A customer with their history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerView {
    pub id: CustomerId,
    pub email: String,
    pub name: String,
    pub locale: Locale,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Orders taken in for this customer.
    pub order_count: i64,
    /// Returns opened for their orders.
    pub return_count: i64,
    /// Cash-on-delivery parcels that came back refused or undelivered.
    pub refused_parcel_count: i64,
}

impl From<Customer> for CustomerView {
    fn from(c: Customer) -> Self {
        CustomerView {
            id: c.id,
            email: c.email,
            name: c.name,
            locale: c.locale,
            created_at: c.created_at,
            order_count: c.orders,
            return_count: c.returns,
            refused_parcel_count: c.refused_parcels,
        }
    }
}

pub async fn get(app: &App, shop: ShopId, id: CustomerId) -> Result<CustomerView, AppError> {
    let mut conn = app.db.conn().await?;
    store::get(&mut conn, shop, id)
        .await?
        .map(CustomerView::from)
        .ok_or(AppError::NotFound(Entity::Customer))
}

/// Up to `limit` customers after `after`, oldest first; only the one with
/// `email` when given.
pub async fn list(
    app: &App,
    shop: ShopId,
    after: Option<CustomerId>,
    email: Option<&str>,
    limit: u32,
) -> Result<Vec<CustomerView>, AppError> {
    let mut conn = app.db.conn().await?;
    let found = store::list(&mut conn, shop, after, email, limit).await?;
    Ok(found.into_iter().map(CustomerView::from).collect())
}
