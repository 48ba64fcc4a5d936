//! Opening a return: the items are checked against their policy decisions, and a
//! return the policy auto-approves is recorded as requested and then approved.

use jiff::Timestamp;

use super::{Actor, Event, Resolution, Return, ReturnItem, ReturnMethod, ReturnStatus};
use crate::id::{LineId, OrderId, ReturnId, ReturnItemId, ShopId};
use crate::money::Money;
use crate::payout::RefundDestination;
use crate::policy::DestinationKind;
use crate::policy::{Decision, EU_WITHDRAWAL_DAYS, Explanation};
use crate::returns::ReturnReason;

/// One item the shopper wants to send back, with the decision made for it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    pub id: ReturnItemId,
    pub line_id: LineId,
    pub quantity: u32,
    pub reason: ReturnReason,
    pub comment: Option<String>,
    pub photos: Vec<String>,
    pub resolution: Resolution,
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewReturn {
    pub id: ReturnId,
    pub shop_id: ShopId,
    pub order_id: OrderId,
    pub number: String,
    pub method: ReturnMethod,
    pub policy_version: i64,
    pub items: Vec<NewItem>,
    /// The delivery cost to refund because this return withdraws the whole order
    /// under EU law (the caller knows the order; zero otherwise).
    pub delivery_refund: Money,
    /// Where the refund goes; `None` means the original payment method.
    pub refund_destination: Option<RefundDestination>,
    /// The drop-off point chosen, checked by the caller (it knows the shop's points).
    pub dropoff_point: Option<crate::dropoff::PointRef>,
    pub actor: Actor,
    pub at: Timestamp,
}

/// Why a return cannot be opened. Each names the item (by position) at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpenError {
    #[error("a return needs at least one item")]
    NoItems,
    #[error("item {index}: this item cannot be returned")]
    NotEligible {
        index: usize,
        explanations: Vec<Explanation>,
    },
    #[error("item {index}: the quantity must be between 1 and {available}")]
    Quantity { index: usize, available: u32 },
    #[error("item {index}: `{}` is not offered for this item", .resolution.as_str())]
    Resolution {
        index: usize,
        resolution: Resolution,
    },
    #[error("item {index}: `{}` is not offered for this item", .method.as_str())]
    Method { index: usize, method: ReturnMethod },
    #[error("item {index}: photos are required for this item")]
    PhotosRequired { index: usize },
    #[error("the amounts of this return are too large")]
    Amount,
    /// The refund cannot go where asked (or, unnamed, to the original payment
    /// method: cash on delivery needs a bank account, an e-wallet or store credit).
    #[error("item {index}: a refund of this order may go to {}, not {}", list(.allowed), .asked.as_str())]
    Destination {
        index: usize,
        asked: DestinationKind,
        allowed: Vec<DestinationKind>,
    },
    #[error("item {index}: the decision was made under policy version {found}, not {expected}")]
    PolicyVersion {
        index: usize,
        expected: i64,
        found: i64,
    },
}

/// Builds the return and its first timeline events, or refuses it whole.
pub fn open(new: NewReturn) -> Result<(Return, Vec<Event>), OpenError> {
    if new.items.is_empty() {
        return Err(OpenError::NoItems);
    }
    for (index, item) in new.items.iter().enumerate() {
        let d = &item.decision;
        if d.policy_version != new.policy_version {
            return Err(OpenError::PolicyVersion {
                index,
                expected: new.policy_version,
                found: d.policy_version,
            });
        }
        if !d.eligible {
            return Err(OpenError::NotEligible {
                index,
                explanations: d.explanations.clone(),
            });
        }
        // The same line may appear twice (e.g. with different reasons): the caller
        // evaluates items in order, counting earlier items of the line as held, so
        // each decision's returnable quantity already excludes them.
        if item.quantity == 0 || item.quantity > d.returnable_quantity {
            return Err(OpenError::Quantity {
                index,
                available: d.returnable_quantity,
            });
        }
        if !d.resolutions.contains(&item.resolution) {
            return Err(OpenError::Resolution {
                index,
                resolution: item.resolution,
            });
        }
        // Nothing travels for keep-the-item, or for a claim about goods that never
        // reached the shopper (the decision then offers only `no_shipping`).
        let nothing_travels = d.methods == [ReturnMethod::NoShipping] && !d.keep_item;
        let method_ok = if item.resolution == Resolution::KeepItem || nothing_travels {
            true
        } else {
            d.methods.contains(&new.method) && new.method != ReturnMethod::NoShipping
        };
        if !method_ok {
            return Err(OpenError::Method {
                index,
                method: new.method,
            });
        }
        if d.require_photos && item.photos.is_empty() {
            return Err(OpenError::PhotosRequired { index });
        }
        // Money goes somewhere only for refunds and kept items; an empty list is
        // a decision stored before destinations existed.
        let money = matches!(item.resolution, Resolution::Refund | Resolution::KeepItem);
        let asked = new
            .refund_destination
            .as_ref()
            .map_or(DestinationKind::OriginalMethod, RefundDestination::kind);
        if money && !d.refund_destinations.is_empty() && !d.refund_destinations.contains(&asked) {
            return Err(OpenError::Destination {
                index,
                asked,
                allowed: d.refund_destinations.clone(),
            });
        }
    }

    let all_kept = new.items.iter().all(|i| {
        i.resolution == Resolution::KeepItem || i.decision.methods == [ReturnMethod::NoShipping]
    });
    let method = if all_kept {
        ReturnMethod::NoShipping
    } else {
        new.method
    };
    let mut risk: Vec<String> = Vec::new();
    for r in new.items.iter().flat_map(|i| i.decision.risk.iter()) {
        if !risk.contains(r) {
            risk.push(r.clone());
        }
    }
    let auto = risk.is_empty() && new.items.iter().all(|i| i.decision.auto_approve);
    // Under withdrawal the refund is due 14 days after the statement (the decision
    // counted them in the shop's calendar); decisions stored before that field
    // existed fall back to 14 × 24 hours.
    let refund_due_by = new
        .items
        .iter()
        .find(|i| i.decision.eu_withdrawal)
        .map(|i| {
            i.decision.refund_due_by.unwrap_or_else(|| {
                new.at
                    .checked_add(jiff::SignedDuration::from_hours(
                        i64::from(EU_WITHDRAWAL_DAYS) * 24,
                    ))
                    .unwrap_or(new.at)
            })
        });

    let eu = new.items.iter().any(|i| i.decision.eu_withdrawal);
    let delivery_refund = if eu {
        new.delivery_refund
    } else {
        Money::zero(new.delivery_refund.currency)
    };
    let priced: Vec<(Resolution, &Decision)> = new
        .items
        .iter()
        .map(|i| (i.resolution, &i.decision))
        .collect();
    let quote = super::quote(&priced, delivery_refund).map_err(|_| OpenError::Amount)?;

    let mut ret = Return {
        id: new.id,
        shop_id: new.shop_id,
        order_id: new.order_id,
        number: new.number,
        status: ReturnStatus::Requested,
        version: 1,
        policy_version: new.policy_version,
        method,
        risk: risk.clone(),
        refund_due_by,
        quote,
        refund_destination: new.refund_destination,
        dropoff_point: new.dropoff_point,
        items: new
            .items
            .into_iter()
            .map(|i| ReturnItem {
                id: i.id,
                line_id: i.line_id,
                quantity: i.quantity,
                reason: i.reason,
                comment: i.comment,
                photos: i.photos,
                resolution: i.resolution,
                decision: i.decision,
                receipt: None,
                inspection: None,
                final_resolution: None,
            })
            .collect(),
        created_at: new.at,
        updated_at: new.at,
    };
    let mut events = vec![Event {
        kind: ReturnStatus::Requested,
        at: new.at,
        actor: new.actor,
        note: None,
        data: serde_json::json!({ "risk": risk }),
    }];
    if auto {
        let approved = ret.apply(
            &super::Command::Approve {
                note: Some("approved automatically by the return policy".into()),
            },
            &Actor::System,
            new.at,
        );
        // Approving a just-requested return is always legal; if the state machine
        // ever disagreed, the return simply stays requested for a person to handle.
        if let Ok(event) = approved {
            events.push(event);
        }
    }
    Ok((ret, events))
}

fn list(kinds: &[DestinationKind]) -> String {
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
