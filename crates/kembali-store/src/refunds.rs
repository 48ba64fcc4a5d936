//! Refunds: the money a resolved return gives back, and where it is on its way.

use jiff::Timestamp;
use kembali_core::{RefundId, ReturnId, ShopId};

use crate::db::Session;
use crate::stored::{self, stored};
use crate::{StoreError, millis, run};

stored! {
    /// A refund as stored. The application layer decides amounts and moves the
    /// status; this only keeps the rows.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Refund from Row {
        pub id: RefundId,
        pub shop_id: ShopId,
        pub return_id: ReturnId,
        /// Minor units of `currency`, tax included.
        pub amount: i64,
        /// The tax inside `amount`.
        pub tax: i64,
        pub currency: String,
        pub destination: String,
        pub status: String,
        pub reference: Option<String>,
        pub failure: Option<String>,
        pub due_by: Option<Timestamp>,
        pub created_at: Timestamp,
        pub updated_at: Timestamp,
    }
}

macro_rules! columns {
    () => {
        "id, shop_id, return_id, amount, tax, currency, destination, status, reference, failure, due_by,
         created_at, updated_at"
    };
}

pub async fn insert(ex: &mut impl Session, r: &Refund) -> Result<(), StoreError> {
    run!(ex, |c| sqlx::query(
        "INSERT INTO refunds (shop_id, id, return_id, amount, tax, currency, destination, status,
            reference, failure, due_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )
    .bind(r.shop_id.to_string())
    .bind(r.id.to_string())
    .bind(r.return_id.to_string())
    .bind(r.amount)
    .bind(r.tax)
    .bind(&r.currency)
    .bind(&r.destination)
    .bind(&r.status)
    .bind(&r.reference)
    .bind(&r.failure)
    .bind(r.due_by.map(millis))
    .bind(millis(r.created_at))
    .bind(millis(r.updated_at))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn get(
    ex: &mut impl Session,
    shop: ShopId,
    id: RefundId,
) -> Result<Option<Refund>, StoreError> {
    stored::by_id(ex, "refunds", columns!(), shop, id).await
}

/// The shop's refunds in id order after `after`, optionally of one status.
pub async fn list(
    ex: &mut impl Session,
    shop: ShopId,
    status: Option<&str>,
    after: Option<RefundId>,
    limit: u32,
) -> Result<Vec<Refund>, StoreError> {
    let rows: Vec<Row> = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM refunds WHERE shop_id = $1 AND ($2 IS NULL OR status = $2)
            AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4"
    ))
    .bind(shop.to_string())
    .bind(status)
    .bind(after.map(|a| a.to_string()))
    .bind(i64::from(limit))
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(Refund::try_from).collect()
}

/// Moves the refund from `from` to `to`; `false` when it was not in `from`
/// (someone else moved it, or the step is not allowed from where it is).
pub async fn set_status(ex: &mut impl Session, r: &Refund, from: &str) -> Result<bool, StoreError> {
    let n = run!(ex, |c| sqlx::query(
        "UPDATE refunds SET status = $1, reference = $2, failure = $3, updated_at = $4
          WHERE shop_id = $5 AND id = $6 AND status = $7"
    )
    .bind(&r.status)
    .bind(&r.reference)
    .bind(&r.failure)
    .bind(millis(r.updated_at))
    .bind(r.shop_id.to_string())
    .bind(r.id.to_string())
    .bind(from)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
