//! Property tests of the core's invariants:
//! no command sequence reaches an illegal state; returned quantities never exceed
//! delivered ones; the refund preview is the amount paid less fees, never
//! negative, and the refunds of a line add up to what was paid; no decision after
//! the statutory window carries a withdrawal-only effect; a stored decision
//! re-evaluates to itself under its policy version.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use kembali_core::order::{Address, MAX_LINES, MAX_QUANTITY, Order, OrderLine, PaymentMethod};
use kembali_core::payout::RefundDestination;
use kembali_core::policy::{
    Conditions, CustomerHistory, Decision, Defaults, Effects, Facts, Fee, MAX_BONUS_BPS,
    PolicyDocument, PriceRange, Range, Rule, WindowStart, evaluate,
};
use kembali_core::returns::{
    Actor, Command, Condition, Disposition, ItemInspection, ItemReceipt, ItemResolution, NewItem,
    NewReturn, ReceiptOutcome, Resolution, Return, ReturnMethod, ReturnReason, ReturnStatus, open,
    quote,
};
use kembali_core::shop::Locale;
use kembali_core::{Currency, LineId, Money, OrderId, ReturnId, ReturnItemId, ShopId};
use proptest::prelude::*;

fn t0() -> Timestamp {
    Timestamp::from_second(1_790_000_000).expect("time")
}

fn facts(line: LineId, amount: i64, line_qty: u32, delivered: u32, held: u32, qty: u32) -> Facts {
    let now = t0();
    Facts {
        now,
        time_zone: "Asia/Jakarta".into(),
        line_id: line,
        sku: "SKU-1".into(),
        category: Some("shirts".into()),
        tags: vec!["batik".into()],
        final_sale: false,
        unit_price: Money::new(amount / i64::from(line_qty.max(1)), Currency::IDR),
        line_amount_paid: Money::new(amount, Currency::IDR),
        line_quantity: line_qty,
        delivered_quantity: delivered,
        held_quantity: held,
        placed_at: now - SignedDuration::from_hours(24 * 6),
        first_shipped_at: Some(now - SignedDuration::from_hours(24 * 5)),
        delivered_at: Some(now - SignedDuration::from_hours(24 * 3)),
        payment_method: PaymentMethod::CashOnDelivery,
        destination_country: "ID".into(),
        postal_code: "10220".into(),
        customer_email: "budi@example.id".into(),
        customer_id: None,
        history: CustomerHistory::default(),
        reason: Some(ReturnReason::WrongSize),
        quantity: qty,
        order_delivered_at: None,
        parcels_outstanding: false,
        shop_country: String::new(),
        line_tax: None,
        return_method: None,
        item_condition: None,
        order_total: None,
        items_returned: None,
        claim: None,
        exchange_for: None,
    }
}

// ---------- 1. The state machine ----------

/// The lifecycle's edges, written out independently of the implementation.
fn allowed(from: ReturnStatus, to: ReturnStatus, keep: bool) -> bool {
    use ReturnStatus::*;
    match (from, to) {
        (Requested, Approved | Rejected | Cancelled) => true,
        (Approved, Cancelled) => true,
        (Approved, InTransit | Received | Expired) => !keep,
        (Approved, Resolved) => keep,
        (InTransit, Received) => true,
        (Received, Inspected) => true,
        (Inspected, Resolved) => true,
        _ => false,
    }
}

fn item_decision(keep: bool) -> Decision {
    let policy = PolicyDocument {
        rules: vec![Rule {
            id: "keep".into(),
            description: None,
            when: Conditions::default(),
            then: Effects {
                keep_item: Some(keep),
                ..Effects::default()
            },
        }],
        ..PolicyDocument::default()
    };
    evaluate(
        &policy,
        1,
        &facts(LineId::new(t0(), 1), 300_000, 3, 3, 0, 1),
    )
    .expect("evaluate")
}

fn new_return(items: usize, keep: bool) -> Return {
    let d = item_decision(keep);
    let resolution = if keep {
        Resolution::KeepItem
    } else {
        Resolution::Refund
    };
    let (ret, _) = open(NewReturn {
        id: ReturnId::new(t0(), 1),
        shop_id: ShopId::new(t0(), 2),
        order_id: OrderId::new(t0(), 3),
        number: "R-1".into(),
        method: ReturnMethod::DropOff,
        policy_version: 1,
        items: (0..items)
            .map(|n| NewItem {
                id: ReturnItemId::new(t0(), 100 + n as u128),
                line_id: LineId::new(t0(), 50 + n as u128),
                quantity: 1,
                reason: ReturnReason::WrongSize,
                comment: None,
                photos: vec![],
                resolution,
                decision: d.clone(),
            })
            .collect(),
        delivery_refund: Money::zero(Currency::IDR),
        // Cash on delivery: the money needs somewhere to go but cash.
        refund_destination: Some(RefundDestination::StoreCredit),
        dropoff_point: None,
        actor: Actor::Shopper,
        at: t0(),
    })
    .expect("open");
    ret
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        Just(Actor::Shopper),
        Just(Actor::System),
        Just(Actor::User { id: "agent".into() }),
    ]
}

/// Commands with item lists that are sometimes right and sometimes wrong.
fn command(items: Vec<ReturnItemId>) -> impl Strategy<Value = Command> {
    let ids = items.clone();
    let pick = move |i: usize, stranger: bool| {
        if stranger || ids.is_empty() {
            ReturnItemId::new(t0(), 999_999)
        } else {
            ids[i % ids.len()]
        }
    };
    let p1 = pick.clone();
    let p2 = pick.clone();
    let p3 = pick;
    let n = items.len().max(1);
    // Complete, valid receipts and inspections, so the walk gets past them often.
    let full_receipt = Command::Receive {
        items: items
            .iter()
            .map(|&item_id| ItemReceipt {
                item_id,
                outcome: ReceiptOutcome::Received,
                quantity: 1,
            })
            .collect(),
        note: None,
    };
    let full_inspection = Command::Inspect {
        items: items
            .iter()
            .map(|&item_id| ItemInspection {
                item_id,
                accepted_quantity: 1,
                condition: Condition::LikeNew,
                disposition: Disposition::Restock,
                note: None,
            })
            .collect(),
        note: None,
    };
    prop_oneof![
        3 => Just(full_receipt),
        3 => Just(full_inspection),
        2 => Just(Command::Resolve { items: vec![], note: None }),
        1 => Just(Command::Approve { note: None }),
        1 => prop_oneof![Just(String::new()), Just("worn".to_owned())].prop_map(|reason| Command::Reject { reason }),
        1 => Just(Command::MarkInTransit { carrier: None, tracking_number: None }),
        1 => proptest::collection::vec((0..n, any::<bool>(), 0u32..3, 0usize..4), 0..4).prop_map(move |v| Command::Receive {
            items: v
                .into_iter()
                .map(|(i, s, q, o)| ItemReceipt {
                    item_id: p1(i, s && q == 2),
                    outcome: [ReceiptOutcome::Received, ReceiptOutcome::Missing, ReceiptOutcome::Short, ReceiptOutcome::WrongItem][o],
                    quantity: q,
                })
                .collect(),
            note: None,
        }),
        1 => proptest::collection::vec((0..n, any::<bool>(), 0u32..3), 0..4).prop_map(move |v| Command::Inspect {
            items: v
                .into_iter()
                .map(|(i, s, q)| ItemInspection {
                    item_id: p2(i, s && q == 2),
                    accepted_quantity: q,
                    condition: Condition::Used,
                    disposition: Disposition::Restock,
                    note: None,
                })
                .collect(),
            note: None,
        }),
        1 => proptest::collection::vec((0..n, any::<bool>(), 0usize..5), 0..3).prop_map(move |v| Command::Resolve {
            items: v
                .into_iter()
                .map(|(i, s, r)| ItemResolution { item_id: p3(i, s && r == 0), resolution: Resolution::ALL[r] })
                .collect(),
            note: None,
        }),
        1 => Just(Command::Cancel { reason: None }),
        1 => Just(Command::Expire),
    ]
}

fn scenario() -> impl Strategy<Value = (Return, Vec<(Command, Actor)>)> {
    (1usize..4, any::<bool>()).prop_flat_map(|(n, keep)| {
        let ret = new_return(n, keep);
        let ids: Vec<ReturnItemId> = ret.items.iter().map(|i| i.id).collect();
        (
            Just(ret),
            proptest::collection::vec((command(ids), actor()), 1..40),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_command_sequence_reaches_an_illegal_state((mut ret, cmds) in scenario()) {
        let keep = ret.is_keep_item();
        let mut at = t0();
        for (cmd, actor) in cmds {
            at += SignedDuration::from_secs(60);
            let before = ret.clone();
            match ret.apply(&cmd, &actor, at) {
                Ok(event) => {
                    prop_assert!(allowed(before.status, ret.status, keep),
                        "{:?} -> {:?} by {}", before.status, ret.status, cmd.name());
                    prop_assert!(!before.status.is_final());
                    prop_assert_eq!(ret.version, before.version + 1);
                    prop_assert_eq!(event.kind, ret.status);
                    prop_assert_eq!(event.actor, actor.clone());
                    if ret.status == ReturnStatus::Expired {
                        prop_assert_eq!(actor, Actor::System);
                    }
                }
                Err(_) => prop_assert_eq!(&ret, &before, "a refused command changed the return"),
            }
            if matches!(ret.status, ReturnStatus::Inspected | ReturnStatus::Resolved) && !keep {
                for item in &ret.items {
                    let receipt = item.receipt.as_ref();
                    let inspection = item.inspection.as_ref();
                    prop_assert!(receipt.is_some() && inspection.is_some());
                    let (r, i) = (receipt.map_or(0, |r| r.quantity), inspection.map_or(0, |i| i.accepted_quantity));
                    prop_assert!(i <= r && r <= item.quantity);
                }
            }
            if ret.status == ReturnStatus::Resolved {
                prop_assert!(ret.items.iter().all(|i| i.final_resolution.is_some()));
            }
            if keep {
                prop_assert!(!matches!(ret.status, ReturnStatus::InTransit | ReturnStatus::Received | ReturnStatus::Inspected));
            }
        }
    }
}

// ---------- 2. Quantities ----------

#[derive(Debug, Clone)]
enum Op {
    Open(u32),
    Close(usize, u8),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(
        prop_oneof![
            (1u32..4).prop_map(Op::Open),
            (0usize..20, 0u8..5).prop_map(|(i, how)| Op::Close(i, how)),
        ],
        1..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn returned_quantity_never_exceeds_delivered(ordered in 1u32..6, short in 0u32..3, ops in ops()) {
        let delivered = ordered.saturating_sub(short);
        let line = LineId::new(t0(), 7);
        let policy = PolicyDocument::default();
        let mut returns: Vec<Return> = Vec::new();
        let mut at = t0();
        for op in ops {
            at += SignedDuration::from_secs(60);
            let held: u32 = returns
                .iter()
                .filter(|r| r.status.holds_quantity())
                .flat_map(|r| r.items.iter().map(|i| i.quantity))
                .sum();
            match op {
                Op::Open(qty) => {
                    let mut f = facts(line, 100_000 * i64::from(ordered), ordered, delivered, held, qty);
                    f.now = at;
                    let d = evaluate(&policy, 1, &f).expect("evaluate");
                    let opened = open(NewReturn {
                        id: ReturnId::new(at, returns.len() as u128),
                        shop_id: ShopId::new(t0(), 1),
                        order_id: OrderId::new(t0(), 1),
                        number: format!("R-{}", returns.len()),
                        method: ReturnMethod::DropOff,
                        policy_version: 1,
                        items: vec![NewItem {
                            id: ReturnItemId::new(at, returns.len() as u128),
                            line_id: line,
                            quantity: qty,
                            reason: ReturnReason::WrongSize,
                            comment: None,
                            photos: vec![],
                            resolution: Resolution::Refund,
                            decision: d,
                        }],
                        delivery_refund: Money::zero(Currency::IDR),
                        // Cash on delivery: the money needs somewhere to go but cash.
        refund_destination: Some(RefundDestination::StoreCredit),
        dropoff_point: None,
                        actor: Actor::Shopper,
                        at,
                    });
                    let fits = held + qty <= delivered;
                    prop_assert_eq!(opened.is_ok(), fits, "held {} + {} vs delivered {}", held, qty, delivered);
                    if let Ok((r, _)) = opened {
                        returns.push(r);
                    }
                }
                Op::Close(i, how) => {
                    if returns.is_empty() { continue; }
                    let n = i % returns.len();
                    let r = &mut returns[n];
                    let cmd = match how {
                        0 => Command::Cancel { reason: None },
                        1 => Command::Reject { reason: "no".into() },
                        2 => Command::Approve { note: None },
                        3 => Command::Expire,
                        _ => Command::MarkInTransit { carrier: None, tracking_number: None },
                    };
                    let _ = r.apply(&cmd, &Actor::System, at).or_else(|_| r.apply(&cmd, &Actor::Shopper, at));
                }
            }
            let now_held: u32 = returns
                .iter()
                .filter(|r| r.status.holds_quantity())
                .flat_map(|r| r.items.iter().map(|i| i.quantity))
                .sum();
            prop_assert!(now_held <= delivered, "held {} of {} delivered", now_held, delivered);
        }
    }
}

// ---------- 3. Money ----------

/// Any valid fee: percentage, fixed part, a minimum and maximum (min ≤ max), and
/// sometimes only for some return methods.
fn fee() -> impl Strategy<Value = Fee> {
    (
        0u32..=10_000,
        proptest::option::of(0i64..5_000_000),
        proptest::option::of(0i64..20_000_000),
        proptest::option::of(0i64..20_000_000),
        proptest::option::of(proptest::sample::subsequence(
            vec![
                ReturnMethod::DropOff,
                ReturnMethod::CourierPickup,
                ReturnMethod::OwnShipping,
            ],
            0..3,
        )),
    )
        .prop_map(|(bps, fixed, min, span, methods)| {
            let idr = |v: Option<i64>| {
                v.map(|f| BTreeMap::from([(Currency::IDR, f)]))
                    .unwrap_or_default()
            };
            Fee {
                percent_bps: bps,
                fixed: idr(fixed),
                min: idr(min),
                max: idr(span.map(|s| min.unwrap_or(0) + s)),
                methods,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn refund_preview_is_paid_minus_fees_and_never_negative(
        amount in 0i64..10_000_000_000,
        qty in 1u32..20,
        take in 1u32..20,
        restocking in fee(),
        shipping in fee(),
        keep in any::<bool>(),
    ) {
        let policy = PolicyDocument {
            defaults: Defaults { restocking_fee: restocking, return_shipping_fee: shipping, ..Defaults::default() },
            rules: vec![Rule { id: "keep".into(), description: None, when: Conditions::default(),
                then: Effects { keep_item: Some(keep), ..Effects::default() } }],
            ..PolicyDocument::default()
        };
        let line = LineId::new(t0(), 1);
        let mut held = 0;
        let mut total = 0i64;
        while held < qty {
            let n = take.min(qty - held);
            let d = evaluate(&policy, 1, &facts(line, amount, qty, qty, held, n)).expect("evaluate");
            let fees: i64 = d.fees.iter().map(|f| f.amount.amount).sum();
            prop_assert!(d.refund_preview.expect("preview").amount >= 0);
            prop_assert_eq!(d.refund_preview.expect("preview").amount, (d.item_amount.amount - fees).max(0));
            prop_assert!(d.store_credit_preview.expect("preview").amount >= d.refund_preview.expect("preview").amount);
            if keep {
                prop_assert!(d.fees.iter().all(|f| f.kind != kembali_core::policy::FeeKind::ReturnShipping));
            }
            total += d.item_amount.amount;
            held += n;
        }
        // Partial returns add up to exactly what was paid for the line.
        prop_assert_eq!(total, amount);
    }

    /// Any split of a line into returns, with tax and any fees, EU or not: each
    /// refund is at most what its units cost, no fee line is larger than what it
    /// takes, no refund is negative, and the item amounts and their taxes add up
    /// to the line exactly when all of it comes back.
    #[test]
    fn refunds_of_a_line_never_exceed_what_was_paid(
        amount in 0i64..10_000_000_000,
        tax_permille in 0i64..=300,
        qty in 1u32..12,
        takes in proptest::collection::vec(1u32..6, 1..12),
        restocking in fee(),
        shipping in fee(),
        country in prop_oneof![Just("ID"), Just("PL")],
        method in prop_oneof![Just(ReturnMethod::DropOff), Just(ReturnMethod::OwnShipping)],
        reason in prop_oneof![Just(ReturnReason::WrongSize), Just(ReturnReason::Defective)],
    ) {
        let policy = PolicyDocument {
            defaults: Defaults { restocking_fee: restocking, return_shipping_fee: shipping, ..Defaults::default() },
            eu_withdrawal: true,
            ..PolicyDocument::default()
        };
        let tax = amount * tax_permille / 1000;
        let line = LineId::new(t0(), 1);
        let (mut held, mut total, mut total_tax, mut n) = (0u32, 0i64, 0i64, 0usize);
        while held < qty {
            let take = takes[n % takes.len()].min(qty - held);
            n += 1;
            let mut f = facts(line, amount, qty, qty, held, take);
            f.line_tax = Some(Money::new(tax, Currency::IDR));
            f.destination_country = country.into();
            f.return_method = Some(method);
            f.reason = Some(reason);
            let d = evaluate(&policy, 1, &f).expect("evaluate");
            prop_assert!(d.eligible);
            let refund = d.refund_preview.expect("preview").amount;
            let fees: i64 = d.fees.iter().map(|f| f.amount.amount).sum();
            prop_assert!(refund >= 0 && refund <= d.item_amount.amount);
            prop_assert_eq!(refund, d.item_amount.amount - fees);
            prop_assert!(d.fees.iter().all(|f| f.amount.amount > 0 && f.amount.amount <= d.item_amount.amount));
            if reason.is_merchant_fault() {
                prop_assert!(d.fees.is_empty());
            }
            let rt = d.refund_tax.expect("tax").amount;
            prop_assert!(rt >= 0 && rt <= d.item_tax.expect("tax").amount);
            total += d.item_amount.amount;
            total_tax += d.item_tax.expect("tax").amount;
            held += take;
        }
        prop_assert_eq!(total, amount);
        prop_assert_eq!(total_tax, tax);
    }

    /// Whatever the day, the rules and the fees, a decision taken when the
    /// statutory window is over (or where there is none) carries no
    /// withdrawal-only effect: no withdrawal flag, no refund-due date, no
    /// restocking fee waived or final sale lifted on its account.
    #[test]
    fn no_withdrawal_effect_after_the_statutory_window(
        p in policy(),
        f in any_facts(),
        restocking in fee(),
        shop_country in prop_oneof![Just("PL"), Just("ID"), Just("")],
        last_parcel_later in 0i64..10,
    ) {
        let mut p = p;
        p.defaults.restocking_fee = restocking;
        let mut f = f;
        f.shop_country = shop_country.into();
        f.order_delivered_at = f.delivered_at.map(|d| d + SignedDuration::from_hours(24 * last_parcel_later));
        let d = evaluate(&p, 1, &f).expect("evaluate");
        let inside = d.statutory_window.as_ref().is_some_and(|w| f.now < w.ends_at);
        if !inside {
            prop_assert!(!d.eu_withdrawal);
            prop_assert!(d.refund_due_by.is_none());
            prop_assert_ne!(d.basis, Some(kembali_core::policy::Basis::StatutoryWithdrawal));
            prop_assert!(!d.trace.iter().flat_map(|t| t.set.iter()).any(|s| s.contains("statutory withdrawal")));
        }
        if d.eu_withdrawal {
            prop_assert!(inside && d.refund_due_by.is_some());
            prop_assert!(d.fees.iter().all(|f| f.kind != kembali_core::policy::FeeKind::Restocking));
        }
        // The statutory window never ends before 14 days from the last parcel.
        if let (Some(w), Some(last), false) = (&d.statutory_window, f.order_delivered_at, f.parcels_outstanding) {
            prop_assert!(w.ends_at >= last + SignedDuration::from_hours(24 * 14));
        }
    }
}

// ---------- 4. Reproducible decisions ----------

fn conditions() -> impl Strategy<Value = Conditions> {
    (
        proptest::option::of(proptest::collection::vec(
            prop_oneof![Just("SKU-1".to_owned()), Just("SKU-2".to_owned())],
            1..3,
        )),
        proptest::option::of(proptest::collection::vec(
            prop_oneof![Just("batik".to_owned()), Just("sale".to_owned())],
            1..3,
        )),
        proptest::option::of(
            (
                proptest::option::of(0i64..200_000),
                proptest::option::of(0i64..2_000_000),
            )
                .prop_map(|(min, max)| PriceRange {
                    currency: Currency::IDR,
                    min,
                    max,
                }),
        ),
        proptest::option::of(proptest::collection::vec(
            prop_oneof![
                Just("ID".to_owned()),
                Just("EU".to_owned()),
                Just("PL".to_owned())
            ],
            1..3,
        )),
        proptest::option::of(proptest::collection::vec(
            prop_oneof![
                Just(PaymentMethod::CashOnDelivery),
                Just(PaymentMethod::Card)
            ],
            1..3,
        )),
        proptest::option::of(proptest::collection::vec(
            prop_oneof![Just(ReturnReason::WrongSize), Just(ReturnReason::Damaged)],
            1..3,
        )),
        proptest::option::of(
            (
                proptest::option::of(0i64..10),
                proptest::option::of(0i64..40),
            )
                .prop_map(|(min, max)| Range { min, max }),
        ),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(
            |(skus, tags, price, countries, payments, reasons, days, final_sale)| Conditions {
                skus,
                product_tags: tags,
                price,
                destination_countries: countries,
                payment_methods: payments,
                reasons,
                days_since_delivery: days,
                final_sale,
                ..Conditions::default()
            },
        )
}

fn effects() -> impl Strategy<Value = Effects> {
    (
        proptest::option::of(0u32..60),
        proptest::option::of(prop_oneof![
            Just(WindowStart::Delivery),
            Just(WindowStart::Order),
            Just(WindowStart::Fulfillment)
        ]),
        proptest::option::of(Just("not this one".to_owned())),
        proptest::option::of(fee()),
        proptest::option::of(fee()),
        proptest::option::of(0u32..3000),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(Just("watch".to_owned())),
    )
        .prop_map(
            |(
                window_days,
                window_from,
                deny,
                restocking_fee,
                return_shipping_fee,
                bonus,
                auto,
                keep,
                risk,
            )| Effects {
                window_days,
                window_from,
                deny,
                restocking_fee,
                return_shipping_fee,
                store_credit_bonus_bps: bonus,
                auto_approve: auto,
                keep_item: keep,
                flag_risk: risk,
                ..Effects::default()
            },
        )
}

fn policy() -> impl Strategy<Value = PolicyDocument> {
    (
        0u32..60,
        any::<bool>(),
        proptest::collection::vec((conditions(), effects()), 0..5),
    )
        .prop_map(|(window, eu, rules)| PolicyDocument {
            defaults: Defaults {
                window_days: window,
                ..Defaults::default()
            },
            rules: rules
                .into_iter()
                .enumerate()
                .map(|(n, (when, then))| Rule {
                    id: format!("r{n}"),
                    description: None,
                    when,
                    then,
                })
                .collect(),
            eu_withdrawal: eu,
            warranty: eu.then(kembali_core::policy::Warranty::default),
            delivery_claims: eu.then(kembali_core::policy::DeliveryClaims::default),
            ..PolicyDocument::default()
        })
}

fn any_facts() -> impl Strategy<Value = Facts> {
    (
        1i64..5_000_000,
        1u32..5,
        0u32..5,
        0u32..5,
        1u32..5,
        0i64..60,
        prop_oneof![Just("ID"), Just("PL"), Just("IE")],
        any::<bool>(),
        prop_oneof![Just("SKU-1"), Just("SKU-2")],
    )
        .prop_map(
            |(amount, qty, delivered, held, take, days, country, final_sale, sku)| {
                let mut f = facts(
                    LineId::new(t0(), 9),
                    amount * i64::from(qty),
                    qty,
                    delivered.min(qty),
                    held,
                    take,
                );
                f.delivered_at = Some(f.now - SignedDuration::from_hours(24 * days));
                f.destination_country = country.into();
                f.final_sale = final_sale;
                f.sku = sku.into();
                f
            },
        )
        .prop_flat_map(|f| {
            (
                Just(f),
                prop_oneof![Just(""), Just("PL"), Just("ID")],
                proptest::option::of(prop_oneof![
                    Just(ReturnMethod::DropOff),
                    Just(ReturnMethod::OwnShipping)
                ]),
                proptest::option::of(prop_oneof![
                    Just(kembali_core::policy::ClaimKind::DamagedInTransit),
                    Just(kembali_core::policy::ClaimKind::NeverArrived)
                ]),
                proptest::option::of(1i64..5_000_000),
                any::<bool>(),
            )
        })
        .prop_map(|(mut f, country, method, claim, exchange, outstanding)| {
            f.shop_country = country.into();
            f.return_method = method;
            f.claim = claim;
            f.parcels_outstanding = outstanding;
            f.line_tax = Some(Money::new(f.line_amount_paid.amount / 5, Currency::IDR));
            f.exchange_for = exchange.map(|p| kembali_core::policy::ExchangeFor {
                sku: "SKU-3".into(),
                unit_price: Money::new(p, Currency::IDR),
            });
            f
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_stored_decision_reevaluates_to_itself(p in policy(), f in any_facts(), version in 1i64..100) {
        let decided = evaluate(&p, version, &f).expect("evaluate");
        // What the store keeps: the policy version's document, the facts, the decision.
        let stored_policy = serde_json::to_string(&p).expect("policy json");
        let stored_facts = serde_json::to_string(&f).expect("facts json");
        let stored_decision = serde_json::to_string(&decided).expect("decision json");
        let p2: PolicyDocument = serde_json::from_str(&stored_policy).expect("policy back");
        let f2: Facts = serde_json::from_str(&stored_facts).expect("facts back");
        let d2: Decision = serde_json::from_str(&stored_decision).expect("decision back");
        prop_assert_eq!(&d2, &decided);
        prop_assert_eq!(evaluate(&p2, version, &f2).expect("again"), decided);
    }
}

// ---------- 5. A valid order can always be priced ----------

/// An amount as a part of `budget`: thousandths of it, often all of it (the bound
/// is where overflows live), sometimes a little more; or any amount an `i64`
/// holds, mostly huge ones, as a client may send (validation must catch those).
#[derive(Debug, Clone, Copy)]
enum Part {
    Permille(i64),
    Raw(i64),
}

fn part() -> impl Strategy<Value = Part> + Clone {
    prop_oneof![
        3 => Just(Part::Permille(1000)),
        3 => (0i64..=1000).prop_map(Part::Permille),
        1 => (1000i64..=1100).prop_map(Part::Permille),
        2 => prop_oneof![Just(i64::MAX), i64::MAX / 2..=i64::MAX, 0..=i64::MAX].prop_map(Part::Raw),
    ]
}

impl Part {
    fn of(self, budget: i64) -> i64 {
        match self {
            Part::Permille(p) => (budget / 1000).saturating_mul(p),
            Part::Raw(v) => v,
        }
    }
}

/// Orders near `Money::MAX_AMOUNT`: each line gets a share of the bound and uses
/// up to all of it (or any `i64`), with one to 500 lines.
fn big_order() -> impl Strategy<Value = Order> {
    let line = (
        prop_oneof![Just(1u32), Just(MAX_QUANTITY), 1u32..=MAX_QUANTITY],
        part(),
        prop_oneof![3 => Just(Part::Permille(0)), 1 => part()],
        part(),
        any::<bool>(),
    );
    let lines = prop_oneof![6 => Just(1usize), 3 => 2usize..4, 1 => Just(MAX_LINES)]
        .prop_flat_map(move |n| proptest::collection::vec(line.clone(), n));
    (lines, any::<bool>(), part(), part()).prop_map(
        |(lines, taxes_included, shipping, cheapest)| {
            let budget = Money::MAX_AMOUNT / lines.len() as i64;
            let idr = |v: i64| Money::new(v, Currency::IDR);
            Order {
                id: OrderId::new(t0(), 1),
                shop_id: ShopId::new(t0(), 2),
                number: "#1".into(),
                customer_id: None,
                email: "budi@example.id".into(),
                locale: Locale::Id,
                currency: Currency::IDR,
                placed_at: t0() - SignedDuration::from_hours(24 * 10),
                payment_method: PaymentMethod::Card,
                taxes_included,
                shipping_address: Address {
                    name: "Budi".into(),
                    line1: "Jl. Sudirman 1".into(),
                    line2: None,
                    city: "Jakarta".into(),
                    postal_code: "10220".into(),
                    country: "ID".parse().expect("country"),
                    phone: None,
                },
                shipping_paid: idr(shipping.of(Money::MAX_AMOUNT / 1000)),
                cheapest_shipping: idr(cheapest.of(Money::MAX_AMOUNT)),
                lines: lines
                    .into_iter()
                    .enumerate()
                    .map(|(n, (quantity, price, discount, tax, final_sale))| {
                        let unit = price.of(budget) / i64::from(quantity);
                        let gross = unit.saturating_mul(i64::from(quantity));
                        OrderLine {
                            id: LineId::new(t0(), 10 + n as u128),
                            product_id: None,
                            variant_id: None,
                            sku: format!("SKU-{n}"),
                            title: "Batik".into(),
                            category: None,
                            tags: vec![],
                            final_sale,
                            quantity,
                            unit_price: idr(unit),
                            discount: idr(discount.of(gross)),
                            tax: idr(tax.of(budget)),
                        }
                    })
                    .collect(),
            }
        },
    )
}

/// The extremes a valid policy allows: no fees and the largest bonus (the most
/// store credit), and the largest fees (the most taken off).
fn extreme_policies() -> Vec<PolicyDocument> {
    let fee = |bps: u32, fixed: i64| Fee {
        percent_bps: bps,
        fixed: BTreeMap::from([(Currency::IDR, fixed)]),
        ..Fee::default()
    };
    [
        (0, 0),
        (10_000, Money::MAX_AMOUNT),
        (5_000, Money::MAX_AMOUNT / 3),
    ]
    .into_iter()
    .map(|(bps, fixed)| PolicyDocument {
        defaults: Defaults {
            restocking_fee: fee(bps, fixed),
            return_shipping_fee: fee(bps, fixed),
            store_credit_bonus_bps: MAX_BONUS_BPS,
            final_sale_returnable: true,
            ..Defaults::default()
        },
        eu_withdrawal: true,
        ..PolicyDocument::default()
    })
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, max_global_rejects: 8192, ..ProptestConfig::default() })]

    /// Whatever `Order::validate` lets in can be evaluated and quoted for any
    /// quantity, under the largest fees and bonus a valid policy allows: an
    /// accepted order never turns into an error later.
    #[test]
    fn a_valid_order_can_always_be_priced(
        order in big_order(),
        quantities in proptest::collection::vec((any::<u32>(), any::<u32>()), 1..8),
        resolution in prop_oneof![Just(Resolution::Refund), Just(Resolution::StoreCredit), Just(Resolution::KeepItem)],
    ) {
        prop_assume!(order.validate(&[]).is_ok());
        for policy in extreme_policies() {
            prop_assert!(policy.validate().is_ok());
            let mut decisions = Vec::with_capacity(order.lines.len());
            for (n, l) in order.lines.iter().enumerate() {
                let (quantity, held) = quantities[n % quantities.len()];
                let mut f = facts(l.id, 0, l.quantity, l.quantity, held % (l.quantity + 1), quantity);
                f.unit_price = l.unit_price;
                f.line_amount_paid = l.amount_paid(order.taxes_included).expect("amount paid");
                f.final_sale = l.final_sale;
                let d = evaluate(&policy, 1, &f).expect("a valid order is evaluated");
                prop_assert!(d.store_credit_preview.is_none_or(|m| m.amount >= 0));
                decisions.push(d);
            }
            let items: Vec<(Resolution, &Decision)> = decisions.iter().map(|d| (resolution, d)).collect();
            let delivery = order.cheapest_shipping.min(order.shipping_paid);
            let q = quote(&items, delivery).expect("a valid order is quoted");
            prop_assert!(q.refund_total.amount >= 0 && q.store_credit_total.amount >= 0);
        }
    }

    /// Amounts past the bound never get in, however they are combined.
    #[test]
    fn amounts_past_the_bound_are_refused(order in big_order()) {
        let past = |m: Money| m.amount > Money::MAX_AMOUNT;
        let any_past = past(order.shipping_paid)
            || past(order.cheapest_shipping)
            || order.lines.iter().any(|l| past(l.unit_price) || past(l.discount) || past(l.tax));
        if any_past {
            prop_assert!(order.validate(&[]).is_err());
        }
    }
}
