//! What a whole return pays out: item amounts less fees, the return shipping fee
//! charged once per parcel, and the delivery cost under an EU full withdrawal.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Resolution;
use crate::money::{Money, MoneyError};
use crate::policy::{Decision, FeeKind, FeeLine};

/// The money of a return, shown before the shopper confirms and kept with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    /// What was paid for the returned units.
    pub items_amount: Money,
    /// Every fee, each once: restocking per item, return shipping once per return.
    pub fees: Vec<FeeLine>,
    /// Delivery cost refunded when the whole order is withdrawn under EU law.
    pub delivery_refund: Money,
    /// `items_amount − fees + delivery_refund`, never below zero.
    pub refund_total: Money,
    /// The same as store credit, with the policy's bonus.
    pub store_credit_total: Money,
}

/// Quotes the items (with their resolutions and decisions) of one return.
pub fn quote(
    items: &[(Resolution, &Decision)],
    delivery_refund: Money,
) -> Result<Quote, MoneyError> {
    let currency = delivery_refund.currency;
    let mut items_amount = Money::zero(currency);
    let mut restocking = Money::zero(currency);
    let mut credit = Money::zero(currency);
    let mut shipping = Money::zero(currency);
    for (resolution, d) in items {
        items_amount = items_amount.checked_add(d.item_amount)?;
        let mut own = Money::zero(currency);
        for f in &d.fees {
            match f.kind {
                FeeKind::Restocking => own = own.checked_add(f.amount)?,
                // One parcel per return: the largest shipping fee of the items
                // that travel, not one per item.
                FeeKind::ReturnShipping if *resolution != Resolution::KeepItem => {
                    if f.amount.amount > shipping.amount {
                        shipping = f.amount;
                    }
                }
                FeeKind::ReturnShipping => {}
            }
        }
        restocking = restocking.checked_add(own)?;
        let net = d.item_amount.checked_sub(own)?.floor_zero();
        credit =
            credit.checked_add(net.checked_add(net.percent_bps(d.store_credit_bonus_bps)?)?)?;
    }
    let mut fees = Vec::new();
    if restocking.amount != 0 {
        fees.push(FeeLine {
            kind: FeeKind::Restocking,
            amount: restocking,
        });
    }
    if shipping.amount != 0 {
        fees.push(FeeLine {
            kind: FeeKind::ReturnShipping,
            amount: shipping,
        });
    }
    let refund_total = items_amount
        .checked_sub(restocking)?
        .checked_sub(shipping)?
        .floor_zero()
        .checked_add(delivery_refund)?;
    let store_credit_total = credit
        .checked_sub(shipping)?
        .floor_zero()
        .checked_add(delivery_refund)?;
    Ok(Quote {
        items_amount,
        fees,
        delivery_refund,
        refund_total,
        store_credit_total,
    })
}
