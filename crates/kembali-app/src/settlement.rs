//! What a resolved return pays out, decided once when it resolves: a refund for
//! the items resolved to a refund or kept, store credit (with the policy's bonus)
//! for those resolved to credit — each for the units the inspection accepted.
//! The refund is a decision, granted; the money moving is the refund's own life
//! (crate::refunds).

use kembali_core::order::PaymentMethod;
use kembali_core::payout::RefundDestination;
use kembali_core::returns::quote;
use kembali_core::returns::{Resolution, Return};
use kembali_core::{CreditAccountId, CreditEntryId, Money, RefundId};
use kembali_store::orders::Origin;
use kembali_store::refunds::Refund;
use kembali_store::{StoreError, Tx, catalogue, orders, refunds};

use crate::error::{Entity, Rule};
use crate::orders::{LineInput, OrderInput};
use crate::{App, AppError, events};

/// Where a refund goes, as the refund row names it: where the shopper asked
/// (checked against the policy when the return was opened), else the original
/// payment method — or for cash on delivery, where the original method is
/// cash, a bank account (returns opened before destinations were asked for).
pub fn destination(payment: PaymentMethod, asked: Option<&RefundDestination>) -> &'static str {
    match (asked, payment) {
        (Some(RefundDestination::BankAccount { .. }), _) => "bank_account",
        (Some(RefundDestination::EWallet { .. }), _) => "e_wallet",
        (Some(RefundDestination::StoreCredit), _) => "store_credit",
        (Some(RefundDestination::OriginalMethod), _) => "original_payment_method",
        (None, PaymentMethod::CashOnDelivery) => "bank_account",
        (None, _) => "original_payment_method",
    }
}

/// Settles a return that has just resolved, in the resolving transaction.
pub async fn settle(app: &App, tx: &mut Tx, ret: &Return) -> Result<(), AppError> {
    let (order, _) = orders::get(tx, ret.shop_id, ret.order_id)
        .await?
        .ok_or(AppError::NotFound(Entity::Order))?;
    let currency = order.currency;
    // Each item as the inspection left it: its decision for the accepted units.
    let mut items = Vec::with_capacity(ret.items.len());
    let mut refund_tax = Money::zero(currency);
    for item in &ret.items {
        let resolution = item.final_resolution.unwrap_or(item.resolution);
        let accepted = item
            .inspection
            .as_ref()
            .map_or(item.quantity, |i| i.accepted_quantity.min(item.quantity));
        let mut d = item.decision.clone();
        if accepted < item.quantity {
            d.item_amount = d.item_amount.share(0, accepted, item.quantity);
            for f in &mut d.fees {
                f.amount = f.amount.share(0, accepted, item.quantity);
            }
        }
        if matches!(resolution, Resolution::Refund | Resolution::KeepItem)
            && let Some(line) = order.line(item.line_id)
        {
            refund_tax = refund_tax
                .checked_add(line.tax.share(0, accepted, line.quantity))
                .map_err(|e| AppError::Store(StoreError::Corrupt(e.to_string())))?;
        }
        items.push((resolution, d));
    }
    let money = |e: kembali_core::MoneyError| AppError::Store(StoreError::Corrupt(e.to_string()));
    let refunded: Vec<_> = items
        .iter()
        .filter(|(r, _)| matches!(r, Resolution::Refund | Resolution::KeepItem))
        .map(|(r, d)| (*r, d))
        .collect();
    let credited: Vec<_> = items
        .iter()
        .filter(|(r, _)| *r == Resolution::StoreCredit)
        .map(|(r, d)| (*r, d))
        .collect();
    let now = app.now();
    let asked = ret.refund_destination.as_ref();
    if !refunded.is_empty() && asked == Some(&RefundDestination::StoreCredit) {
        // The shopper chose credit for the money: the refund's amount, without
        // the bonus a `store_credit` resolution earns.
        let q = quote(&refunded, ret.quote.delivery_refund).map_err(money)?;
        let customer = order.customer_id.ok_or(AppError::NotFound(Entity::Order))?;
        if q.refund_total.amount > 0 {
            crate::credit::issue(
                app,
                tx,
                ret.shop_id,
                customer,
                q.refund_total,
                Some(ret.number.clone()),
            )
            .await?;
        }
    } else if !refunded.is_empty() {
        // The delivery refund of an EU full withdrawal goes with the money.
        let q = quote(&refunded, ret.quote.delivery_refund).map_err(money)?;
        if q.refund_total.amount > 0 {
            let refund = Refund {
                id: RefundId::new(now, app.entropy()),
                shop_id: ret.shop_id,
                return_id: ret.id,
                amount: q.refund_total.amount,
                tax: refund_tax.amount.min(q.refund_total.amount),
                currency: currency.code().to_owned(),
                destination: destination(order.payment_method, asked).to_owned(),
                status: "pending".to_owned(),
                reference: None,
                failure: None,
                due_by: ret.refund_due_by,
                created_at: now,
                updated_at: now,
                payout: asked
                    .filter(|d| {
                        matches!(
                            d,
                            RefundDestination::BankAccount { .. }
                                | RefundDestination::EWallet { .. }
                        )
                    })
                    .cloned(),
            };
            refunds::insert(tx, &refund).await?;
            events::refund_changed(app, tx, "refund.requested", &refund).await?;
        }
    }
    settle_exchanges(app, tx, ret, &order).await?;
    if !credited.is_empty() {
        let q = quote(&credited, Money::zero(currency)).map_err(money)?;
        let customer = order.customer_id.ok_or(AppError::NotFound(Entity::Order))?;
        if q.store_credit_total.amount > 0 {
            crate::credit::issue(
                app,
                tx,
                ret.shop_id,
                customer,
                q.store_credit_total,
                Some(ret.number.clone()),
            )
            .await?;
        }
    }
    Ok(())
}

/// Each item resolved to an exchange gets its exchange order (the wanted variant,
/// stock taken), and the price difference: what the new units cost less what the
/// accepted returned units were worth — paid by the shopper when positive (the
/// exchange order's amount due), given back as store credit when negative.
async fn settle_exchanges(
    app: &App,
    tx: &mut Tx,
    ret: &Return,
    order: &kembali_core::order::Order,
) -> Result<(), AppError> {
    let wanted = catalogue::exchanges(tx, ret.shop_id, ret.id).await?;
    for (index, item) in ret.items.iter().enumerate() {
        if item.final_resolution.unwrap_or(item.resolution) != Resolution::Exchange {
            continue;
        }
        let Some(mut exchange) = wanted.iter().find(|e| e.item_id == item.id).cloned() else {
            return Err(AppError::invalid(
                format!("items[{index}].resolution"),
                Rule::NotValid {
                    why: "an exchange needs the variant the shopper asked for",
                },
            ));
        };
        let accepted = item
            .inspection
            .as_ref()
            .map_or(item.quantity, |i| i.accepted_quantity.min(item.quantity));
        if accepted == 0 {
            continue;
        }
        let variant = catalogue::variant(tx, ret.shop_id, exchange.variant_id)
            .await?
            .ok_or(AppError::NotFound(Entity::Variant))?;
        if !catalogue::take_stock(tx, ret.shop_id, exchange.variant_id, accepted).await? {
            return Err(AppError::OutOfStock {
                sku: variant.variant.sku,
            });
        }
        let worth = item.decision.item_amount.share(0, accepted, item.quantity);
        let cost = variant
            .variant
            .price
            .checked_mul(i64::from(accepted))
            .map_err(|e| AppError::Store(StoreError::Corrupt(e.to_string())))?;
        let difference = cost.amount - worth.amount;
        let shop = kembali_store::shops::get(tx, ret.shop_id).await?;
        let input = OrderInput {
            number: format!("{}-X{}", ret.number, index + 1),
            email: order.email.clone(),
            customer_name: None,
            locale: Some(order.locale),
            currency: order.currency,
            placed_at: app.now(),
            payment_method: order.payment_method,
            taxes_included: order.taxes_included,
            shipping_address: order.shipping_address.clone(),
            shipping_paid: 0,
            cheapest_shipping: None,
            lines: vec![LineInput {
                sku: variant.variant.sku.clone(),
                title: variant.variant.title.clone(),
                category: None,
                tags: Vec::new(),
                final_sale: variant.variant.final_sale,
                quantity: accepted,
                unit_price: variant.variant.price.amount,
                // The returned units pay for the new ones, up to their price.
                discount: worth.amount.min(cost.amount),
                tax: 0,
                product_id: Some(variant.product_id),
                variant_id: Some(variant.variant.id),
            }],
            shipments: Vec::new(),
        };
        let origin = Origin {
            source: "exchange".to_owned(),
            external_id: item.id.to_string(),
            updated_at: None,
        };
        let made = crate::orders::intake(app, tx, &shop, &origin, &input).await?;
        if difference < 0
            && let Some(customer) = order.customer_id
        {
            crate::credit::issue(
                app,
                tx,
                ret.shop_id,
                customer,
                Money::new(-difference, order.currency),
                Some(format!("{} exchange", ret.number)),
            )
            .await?;
        }
        exchange.order_id = Some(made.view().order.id);
        exchange.price_difference = Some(difference);
        exchange.settled_at = Some(app.now());
        catalogue::settle_exchange(tx, &exchange).await?;
        events::exchange_created(app, tx, ret, &exchange).await?;
    }
    Ok(())
}

/// A fresh account's id and code: `KC-` and ten characters of Crockford base32,
/// from 50 random bits (guessing one is not a practical attack; redeeming needs
/// an API key of the shop anyway).
pub fn new_account(app: &App) -> (CreditAccountId, String) {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bits = app.entropy();
    let mut code = String::from("KC-");
    for k in 0..10 {
        if k == 5 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[(bits & 31) as usize]));
        bits >>= 5;
    }
    (CreditAccountId::new(app.now(), app.entropy()), code)
}

/// An entry id for the ledger.
pub fn new_entry(app: &App) -> CreditEntryId {
    CreditEntryId::new(app.now(), app.ordered_entropy())
}
