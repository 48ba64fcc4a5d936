//! Customers and the history the policy reads, kept on their row.

use kembali_core::policy::CustomerHistory;
use kembali_core::shop::Locale;
use kembali_core::{CustomerId, ShopId};

use crate::db::Session;
use crate::{StoreError, corrupt, from_millis, run};

/// A customer as stored, with their counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: CustomerId,
    pub email: String,
    pub name: String,
    pub locale: Locale,
    pub created_at: jiff::Timestamp,
    pub orders: i64,
    pub returns: i64,
    /// Cash-on-delivery parcels that came back refused (`returned_to_sender`).
    pub refused_parcels: i64,
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    id: String,
    email: String,
    name: String,
    locale: String,
    created_at: i64,
    order_count: i64,
    return_count: i64,
    refused_parcels: i64,
}

impl TryFrom<CustomerRow> for Customer {
    type Error = StoreError;
    fn try_from(r: CustomerRow) -> Result<Customer, StoreError> {
        Ok(Customer {
            id: r.id.parse().map_err(corrupt)?,
            email: r.email,
            name: r.name,
            locale: Locale::from_tag(&r.locale).unwrap_or(Locale::En),
            created_at: from_millis(r.created_at),
            orders: r.order_count,
            returns: r.return_count,
            refused_parcels: r.refused_parcels,
        })
    }
}

macro_rules! customer_columns {
    () => {
        "id, email, name, locale, created_at, order_count, return_count, refused_parcels"
    };
}

/// The customer, if they are this shop's.
pub async fn get(
    ex: &mut impl Session,
    shop: ShopId,
    id: CustomerId,
) -> Result<Option<Customer>, StoreError> {
    let row: Option<CustomerRow> = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        customer_columns!(),
        " FROM customers WHERE shop_id = $1 AND id = $2"
    ))
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(Customer::try_from).transpose()
}

/// Up to `limit` of the shop's customers after `after`, by id (oldest first),
/// only the one with `email` when given.
pub async fn list(
    ex: &mut impl Session,
    shop: ShopId,
    after: Option<CustomerId>,
    email: Option<&str>,
    limit: u32,
) -> Result<Vec<Customer>, StoreError> {
    let rows: Vec<CustomerRow> = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        customer_columns!(),
        " FROM customers
          WHERE shop_id = $1 AND ($2 IS NULL OR id > $2) AND ($3 IS NULL OR email = $3)
          ORDER BY id LIMIT $4"
    ))
    .bind(shop.to_string())
    .bind(after.map(|a| a.to_string()))
    .bind(email.map(|e| e.trim().to_lowercase()))
    .bind(i64::from(limit))
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(Customer::try_from).collect()
}

/// Changes to a customer's counts, applied together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub orders: i64,
    pub returns: i64,
    pub refused_parcels: i64,
}

impl Counts {
    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }
}

/// Adds `by` to the customer's counts, in the caller's transaction. The row is
/// changed in place (`x = x + n`), so concurrent changes add up on both
/// databases; no count goes below zero.
pub async fn add(
    ex: &mut impl Session,
    shop: ShopId,
    id: CustomerId,
    by: Counts,
) -> Result<(), StoreError> {
    if by.is_zero() {
        return Ok(());
    }
    run!(ex, |c| {
        sqlx::query(
        "UPDATE customers SET
            order_count = CASE WHEN order_count + $3 < 0 THEN 0 ELSE order_count + $3 END,
            return_count = CASE WHEN return_count + $4 < 0 THEN 0 ELSE return_count + $4 END,
            refused_parcels = CASE WHEN refused_parcels + $5 < 0 THEN 0 ELSE refused_parcels + $5 END
          WHERE shop_id = $1 AND id = $2"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .bind(by.orders)
    .bind(by.returns)
    .bind(by.refused_parcels)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// What the customer did before, from their row: one look-up however many
/// orders they have. A customer not known has no history.
pub async fn history(
    ex: &mut impl Session,
    shop: ShopId,
    id: CustomerId,
) -> Result<CustomerHistory, StoreError> {
    let row: Option<(i64, i64, i64)> = run!(ex, |c| sqlx::query_as(
        "SELECT order_count, return_count, refused_parcels FROM customers
          WHERE shop_id = $1 AND id = $2"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    Ok(to_history(row))
}

pub(crate) fn to_history(row: Option<(i64, i64, i64)>) -> CustomerHistory {
    let (orders, returns, refused) = row.unwrap_or_default();
    let n = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
    CustomerHistory {
        orders: n(orders),
        returns: n(returns),
        refused_cod_parcels: n(refused),
    }
}
