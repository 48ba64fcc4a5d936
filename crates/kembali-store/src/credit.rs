//! Store credit: an account per customer and currency with a code, and its
//! ledger. The balance only changes through [`apply`], whose guarded UPDATE can
//! never take it below zero, whatever runs at the same time.

use jiff::Timestamp;
use kembali_core::{CreditAccountId, CreditEntryId, CustomerId, ShopId};

use crate::db::Session;
use crate::{StoreError, corrupt, from_millis, millis, run};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: CreditAccountId,
    pub shop_id: ShopId,
    pub customer_id: CustomerId,
    pub currency: String,
    pub code: String,
    pub balance: i64,
    pub created_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    customer_id: String,
    currency: String,
    code: String,
    balance: i64,
    created_at: i64,
}

impl AccountRow {
    fn into_account(self, shop: ShopId) -> Result<Account, StoreError> {
        Ok(Account {
            id: self.id.parse().map_err(corrupt)?,
            shop_id: shop,
            customer_id: self.customer_id.parse().map_err(corrupt)?,
            currency: self.currency,
            code: self.code,
            balance: self.balance,
            created_at: from_millis(self.created_at),
        })
    }
}

macro_rules! account_columns {
    () => {
        "id, customer_id, currency, code, balance, created_at"
    };
}

/// Creates the account unless the customer has one in this currency (an
/// upsert, so concurrent first credits end with one account); returns it.
pub async fn ensure_account(ex: &mut impl Session, a: &Account) -> Result<Account, StoreError> {
    run!(ex, |c| {
        sqlx::query(
        "INSERT INTO credit_accounts (shop_id, id, customer_id, currency, code, balance, created_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6)
         ON CONFLICT (shop_id, customer_id, currency) DO NOTHING"
    )
    .bind(a.shop_id.to_string())
    .bind(a.id.to_string())
    .bind(a.customer_id.to_string())
    .bind(&a.currency)
    .bind(&a.code)
    .bind(millis(a.created_at))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    let row: AccountRow = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        account_columns!(),
        " FROM credit_accounts WHERE shop_id = $1 AND customer_id = $2 AND currency = $3"
    ))
    .bind(a.shop_id.to_string())
    .bind(a.customer_id.to_string())
    .bind(&a.currency)
    .fetch_one(&mut *c)
    .await)?;
    row.into_account(a.shop_id)
}

pub async fn get(
    ex: &mut impl Session,
    shop: ShopId,
    id: CreditAccountId,
) -> Result<Option<Account>, StoreError> {
    let row: Option<AccountRow> = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        account_columns!(),
        " FROM credit_accounts WHERE shop_id = $1 AND id = $2"
    ))
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(|r| r.into_account(shop)).transpose()
}

pub async fn by_code(
    ex: &mut impl Session,
    shop: ShopId,
    code: &str,
) -> Result<Option<Account>, StoreError> {
    let row: Option<AccountRow> = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        account_columns!(),
        " FROM credit_accounts WHERE shop_id = $1 AND code = $2"
    ))
    .bind(shop.to_string())
    .bind(code)
    .fetch_optional(&mut *c)
    .await)?;
    row.map(|r| r.into_account(shop)).transpose()
}

/// One movement of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: CreditEntryId,
    pub account_id: CreditAccountId,
    /// `issue` or `redeem`.
    pub kind: String,
    /// Positive for an issue, negative for a redemption.
    pub amount: i64,
    pub balance_after: i64,
    pub reference: Option<String>,
    pub created_at: Timestamp,
}

/// Adds `entry.amount` to the balance and writes the entry, in the caller's
/// transaction. A redemption larger than the balance changes nothing and
/// answers `None`; otherwise the entry with the balance after it.
pub async fn apply(
    ex: &mut impl Session,
    shop: ShopId,
    mut entry: Entry,
) -> Result<Option<Entry>, StoreError> {
    // One statement checks and changes: two redemptions at once can never both
    // pass the check (PostgreSQL locks the row, SQLite has one writer).
    let after: Option<i64> = run!(ex, |c| sqlx::query_scalar(
        "UPDATE credit_accounts SET balance = balance + $1
          WHERE shop_id = $2 AND id = $3 AND balance + $1 >= 0
          RETURNING balance"
    )
    .bind(entry.amount)
    .bind(shop.to_string())
    .bind(entry.account_id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    let Some(after) = after else {
        return Ok(None);
    };
    entry.balance_after = after;
    run!(ex, |c| sqlx::query(
        "INSERT INTO credit_entries (shop_id, id, account_id, kind, amount, balance_after,
            reference, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(shop.to_string())
    .bind(entry.id.to_string())
    .bind(entry.account_id.to_string())
    .bind(&entry.kind)
    .bind(entry.amount)
    .bind(entry.balance_after)
    .bind(&entry.reference)
    .bind(millis(entry.created_at))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(Some(entry))
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: String,
    account_id: String,
    kind: String,
    amount: i64,
    balance_after: i64,
    reference: Option<String>,
    created_at: i64,
}

/// The account's ledger, oldest first.
pub async fn entries(
    ex: &mut impl Session,
    shop: ShopId,
    account: CreditAccountId,
) -> Result<Vec<Entry>, StoreError> {
    let rows: Vec<EntryRow> = run!(ex, |c| sqlx::query_as(
        "SELECT id, account_id, kind, amount, balance_after, reference, created_at
           FROM credit_entries WHERE shop_id = $1 AND account_id = $2 ORDER BY id"
    )
    .bind(shop.to_string())
    .bind(account.to_string())
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|r| {
            Ok(Entry {
                id: r.id.parse().map_err(corrupt)?,
                account_id: r.account_id.parse().map_err(corrupt)?,
                kind: r.kind,
                amount: r.amount,
                balance_after: r.balance_after,
                reference: r.reference,
                created_at: from_millis(r.created_at),
            })
        })
        .collect()
}

/// Whether the shop has this customer.
pub async fn customer_exists(
    ex: &mut impl Session,
    shop: ShopId,
    customer: CustomerId,
) -> Result<bool, StoreError> {
    let found: Option<String> = run!(ex, |c| sqlx::query_scalar(
        "SELECT id FROM customers WHERE shop_id = $1 AND id = $2"
    )
    .bind(shop.to_string())
    .bind(customer.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    Ok(found.is_some())
}
