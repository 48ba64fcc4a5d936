//! Store credit: issue it to a customer (a resolved return, or the shop's
//! goodwill), redeem it partially by code or account — never below zero, also
//! under concurrent redemptions — and read an account with its ledger.

use kembali_core::{CreditAccountId, CustomerId, Money, ShopId};
use kembali_store::Tx;
use kembali_store::credit::{self, Account, Entry};

use crate::error::{Entity, Rule};
use crate::{App, AppError, events, settlement};

/// Adds `amount` to the customer's account in its currency (opened on first
/// credit), and says so in the outbox (`store_credit.issued`).
pub async fn issue(
    app: &App,
    tx: &mut Tx,
    shop: ShopId,
    customer: CustomerId,
    amount: Money,
    reference: Option<String>,
) -> Result<(Account, Entry), AppError> {
    if amount.amount <= 0 || amount.amount > Money::MAX_AMOUNT {
        return Err(AppError::invalid(
            "amount",
            Rule::NotValid {
                why: "credit is a positive amount within the bound of every amount",
            },
        ));
    }
    if !credit::customer_exists(tx, shop, customer).await? {
        return Err(AppError::NotFound(Entity::Customer));
    }
    let (id, code) = settlement::new_account(app);
    let account = credit::ensure_account(
        tx,
        &Account {
            id,
            shop_id: shop,
            customer_id: customer,
            currency: amount.currency.code().to_owned(),
            code,
            balance: 0,
            created_at: app.now(),
        },
    )
    .await?;
    let entry = Entry {
        id: settlement::new_entry(app),
        account_id: account.id,
        kind: "issue".to_owned(),
        amount: amount.amount,
        balance_after: 0,
        reference,
        created_at: app.now(),
    };
    let entry = credit::apply(tx, shop, entry)
        .await?
        .ok_or_else(|| AppError::invalid("amount", Rule::AtMost { max: 0 }))?;
    let account = Account {
        balance: entry.balance_after,
        ..account
    };
    events::credit_changed(app, tx, "store_credit.issued", &account, &entry).await?;
    Ok((account, entry))
}

/// Takes `amount` (minor units of the account's currency) off the account. More
/// than the balance is refused whole, with the balance in the error.
pub async fn redeem(
    app: &App,
    tx: &mut Tx,
    shop: ShopId,
    account: CreditAccountId,
    amount: i64,
    reference: Option<String>,
) -> Result<(Account, Entry), AppError> {
    if amount <= 0 || amount > Money::MAX_AMOUNT {
        return Err(AppError::invalid(
            "amount",
            Rule::NotValid {
                why: "a redemption is a positive amount",
            },
        ));
    }
    let found = credit::get(tx, shop, account)
        .await?
        .ok_or(AppError::NotFound(Entity::CreditAccount))?;
    let entry = Entry {
        id: settlement::new_entry(app),
        account_id: account,
        kind: "redeem".to_owned(),
        amount: -amount,
        balance_after: 0,
        reference,
        created_at: app.now(),
    };
    match credit::apply(tx, shop, entry).await? {
        Some(entry) => {
            let account = Account {
                balance: entry.balance_after,
                ..found
            };
            events::credit_changed(app, tx, "store_credit.redeemed", &account, &entry).await?;
            Ok((account, entry))
        }
        None => {
            let balance = credit::get(tx, shop, account)
                .await?
                .map_or(0, |a| a.balance);
            Err(AppError::InsufficientCredit { balance })
        }
    }
}

/// The account with its ledger, oldest entry first.
pub async fn get(
    app: &App,
    shop: ShopId,
    account: CreditAccountId,
) -> Result<(Account, Vec<Entry>), AppError> {
    let mut conn = app.db.conn().await?;
    let found = credit::get(&mut conn, shop, account)
        .await?
        .ok_or(AppError::NotFound(Entity::CreditAccount))?;
    let entries = credit::entries(&mut conn, shop, account).await?;
    Ok((found, entries))
}
