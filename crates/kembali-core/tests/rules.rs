//! The issue-12 rules as a table: each case is a Polish, EU (Irish) or Indonesian
//! shop, the facts of one item, and what the decision must say, with the
//! arithmetic in the comments.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, date};
use kembali_core::order::PaymentMethod;
use kembali_core::policy::{
    Basis, ClaimKind, Conditions, CustomerHistory, Decision, DeliveryClaims, DestinationKind,
    Effects, ExchangeFor, ExchangeRefund, Explanation, Facts, Fee, FeeKind, Holiday, ItemCondition,
    ListEntry, Lists, Outcome, PolicyDocument, PriceRange, Range, Rule, Settlement, Warranty,
    evaluate,
};
use kembali_core::returns::{Resolution, ReturnMethod, ReturnReason};
use kembali_core::{Currency, LineId, Money};

#[derive(Clone, Copy)]
enum Shop {
    /// Warsaw, PLN, delivering to Poland.
    Pl,
    /// Dublin, EUR, delivering to Ireland.
    Ie,
    /// Jakarta, IDR, delivering in Indonesia.
    Id,
}

impl Shop {
    fn tz(self) -> &'static str {
        match self {
            Shop::Pl => "Europe/Warsaw",
            Shop::Ie => "Europe/Dublin",
            Shop::Id => "Asia/Jakarta",
        }
    }
    fn code(self) -> &'static str {
        match self {
            Shop::Pl => "PL",
            Shop::Ie => "IE",
            Shop::Id => "ID",
        }
    }
    fn currency(self) -> Currency {
        match self {
            Shop::Pl => Currency::PLN,
            Shop::Ie => Currency::EUR,
            Shop::Id => Currency::IDR,
        }
    }
}

/// Noon, shop time, on `d`.
fn at(shop: Shop, d: Date) -> Timestamp {
    d.at(12, 0, 0, 0).in_tz(shop.tz()).expect("tz").timestamp()
}

/// Midnight, shop time, starting `d`: the first instant after the day before.
fn midnight(shop: Shop, d: Date) -> Timestamp {
    d.at(0, 0, 0, 0).in_tz(shop.tz()).expect("tz").timestamp()
}

/// Three units for 100.00 (10 000 minor units) with 23 % VAT inside: 10 000 × 23
/// / 123 = 1 869.9 → 1 870 of tax. Delivered (the whole order) on `delivered`,
/// asked about on `now`, one unit, "changed my mind".
fn facts(shop: Shop, delivered: Date, now: Date) -> Facts {
    let c = shop.currency();
    Facts {
        now: at(shop, now),
        time_zone: shop.tz().into(),
        line_id: LineId::new(at(shop, delivered), 1),
        sku: "KOSZULA-M".into(),
        category: Some("shirts".into()),
        tags: vec![],
        final_sale: false,
        unit_price: Money::new(3_334, c),
        line_amount_paid: Money::new(10_000, c),
        line_quantity: 3,
        delivered_quantity: 3,
        held_quantity: 0,
        placed_at: at(shop, delivered) - jiff::SignedDuration::from_hours(72),
        first_shipped_at: Some(at(shop, delivered) - jiff::SignedDuration::from_hours(48)),
        delivered_at: Some(at(shop, delivered)),
        payment_method: PaymentMethod::Card,
        destination_country: shop.code().into(),
        postal_code: "00-001".into(),
        customer_email: "ola@example.pl".into(),
        customer_id: None,
        history: CustomerHistory::default(),
        reason: Some(ReturnReason::ChangedMind),
        quantity: 1,
        order_delivered_at: Some(at(shop, delivered)),
        parcels_outstanding: false,
        shop_country: shop.code().into(),
        line_tax: Some(Money::new(1_870, c)),
        return_method: Some(ReturnMethod::DropOff),
        item_condition: None,
        order_total: Some(Money::new(10_000, c)),
        items_returned: None,
        claim: None,
        exchange_for: None,
    }
}

/// An EU shop's policy: 30-day shop window from delivery, the withdrawal preset on.
fn eu() -> PolicyDocument {
    PolicyDocument {
        eu_withdrawal: true,
        warranty: Some(Warranty::default()),
        delivery_claims: Some(DeliveryClaims::default()),
        ..PolicyDocument::default()
    }
}

/// An Indonesian shop's policy: 7-day window, claims, its own holiday table.
fn id() -> PolicyDocument {
    let mut p = PolicyDocument::default();
    p.defaults.window_days = 7;
    p.delivery_claims = Some(DeliveryClaims::default());
    p.warranty = Some(Warranty {
        months: 12,
        ..Warranty::default()
    });
    // The 2026 decree's Idul Fitri days, as the shop enters them.
    p.calendar.holidays = [date(2026, 3, 20), date(2026, 3, 21)]
        .into_iter()
        .map(|d| Holiday {
            date: d,
            name: Some("Idul Fitri 1447 H".into()),
        })
        .collect();
    p
}

fn fee(bps: u32, fixed: i64, c: Currency) -> Fee {
    Fee {
        percent_bps: bps,
        fixed: BTreeMap::from([(c, fixed)]),
        ..Fee::default()
    }
}

fn rule(id: &str, when: Conditions, then: Effects) -> Rule {
    Rule {
        id: id.into(),
        description: None,
        when,
        then,
    }
}

fn fee_of(d: &Decision, kind: FeeKind) -> i64 {
    d.fees
        .iter()
        .filter(|f| f.kind == kind)
        .map(|f| f.amount.amount)
        .sum()
}

fn amount(m: Option<Money>) -> i64 {
    m.expect("money").amount
}

type Check = Box<dyn Fn(&Decision)>;

struct Case {
    name: &'static str,
    policy: PolicyDocument,
    facts: Facts,
    check: Check,
}

fn case(
    name: &'static str,
    policy: PolicyDocument,
    facts: Facts,
    check: impl Fn(&Decision) + 'static,
) -> Case {
    Case {
        name,
        policy,
        facts,
        check: Box::new(check),
    }
}

fn cases() -> Vec<Case> {
    let pl = Shop::Pl;
    let mut v = Vec::new();

    // ---- 1. Two windows, kept apart ----
    // Line delivered 2 March, the order's last parcel 5 March 2026: day 0 is
    // 5 March, 5 + 14 = Thursday 19 March, a working day. On 18 March the
    // statutory window grants the return although the line arrived 16 days ago.
    let mut f = facts(pl, date(2026, 3, 2), date(2026, 3, 18));
    f.order_delivered_at = Some(at(pl, date(2026, 3, 5)));
    let mut p = eu();
    p.defaults.window_days = 14;
    v.push(case("pl: day 0 is the last parcel", p, f, |d| {
        assert_eq!(d.basis, Some(Basis::StatutoryWithdrawal));
        let s = d.statutory_window.as_ref().expect("statutory");
        assert_eq!(s.last_day, date(2026, 3, 19));
        assert_eq!(s.ends_at, midnight(Shop::Pl, date(2026, 3, 20)));
        // The shop window counts from the line's own delivery: 2 + 14 = 16 March.
        assert_eq!(
            d.shop_window.as_ref().expect("shop").last_day,
            date(2026, 3, 16)
        );
        assert_eq!(d.deadline, Some(date(2026, 3, 19)));
        assert!(d.eu_withdrawal);
    }));

    // A parcel still on its way: the period has not started; the earliest it
    // can end is 14 days from today (18 March + 14 = 1 April, a Wednesday).
    let mut f = facts(pl, date(2026, 3, 2), date(2026, 3, 18));
    f.order_delivered_at = None;
    f.parcels_outstanding = true;
    v.push(case("pl: parcels outstanding", eu(), f, |d| {
        let s = d.statutory_window.as_ref().expect("statutory");
        assert!(s.provisional);
        assert_eq!(s.last_day, date(2026, 4, 1));
        assert_eq!(d.basis, Some(Basis::StatutoryWithdrawal));
    }));

    // Inside the statutory window (day 5) a restocking fee of 10 % is not charged,
    // the direct cost of the return label (9.99) is: 3 333 − 999 = 2 334.
    let mut p = eu();
    p.defaults.restocking_fee = fee(1_000, 0, Currency::PLN);
    p.defaults.return_shipping_fee = fee(0, 999, Currency::PLN);
    v.push(case(
        "pl: withdrawal bans the restocking fee",
        p.clone(),
        facts(pl, date(2026, 3, 2), date(2026, 3, 7)),
        |d| {
            assert_eq!(d.basis, Some(Basis::StatutoryWithdrawal));
            assert_eq!(d.item_amount.amount, 3_333);
            assert_eq!(fee_of(d, FeeKind::Restocking), 0);
            assert_eq!(fee_of(d, FeeKind::ReturnShipping), 999);
            assert_eq!(amount(d.refund_preview), 2_334);
            // Refund due 14 days after the statement: 7 + 14 = Saturday 21
            // March → Monday 23 March, so before midnight starting 24 March.
            assert_eq!(d.refund_due_by, Some(midnight(Shop::Pl, date(2026, 3, 24))));
        },
    ));
    // Day 20: the statutory window (until 16 March) is over, the 30-day shop
    // window grants it and its fees apply as written: 10 % of 3 333 = 333.3 →
    // 333; 3 333 − 333 − 999 = 2 001; no refund-due date, no withdrawal.
    v.push(case(
        "pl: after the statutory window the shop's fees apply",
        p,
        facts(pl, date(2026, 3, 2), date(2026, 3, 22)),
        |d| {
            assert_eq!(d.basis, Some(Basis::ShopPolicy));
            assert_eq!(fee_of(d, FeeKind::Restocking), 333);
            assert_eq!(amount(d.refund_preview), 2_001);
            assert!(!d.eu_withdrawal && d.refund_due_by.is_none());
            assert_eq!(d.deadline, Some(date(2026, 4, 1)));
            assert_eq!(
                d.explanations,
                [Explanation::WindowOpen {
                    days: 30,
                    last_day: date(2026, 4, 1)
                }]
            );
        },
    ));

    // Final sale: lifted on day 5 (withdrawal), refused on day 20 (shop policy).
    let mut f = facts(pl, date(2026, 3, 2), date(2026, 3, 7));
    f.final_sale = true;
    v.push(case("pl: final sale lifted inside", eu(), f.clone(), |d| {
        assert!(d.eligible, "{:?}", d.explanations);
    }));
    f.now = at(pl, date(2026, 3, 22));
    v.push(case("pl: final sale refused outside", eu(), f, |d| {
        assert_eq!(d.outcome, Outcome::Refused);
        assert_eq!(d.explanations, [Explanation::FinalSale]);
    }));

    // An Irish shop, same law: delivered 20 March 2026 → Friday 3 April (Good
    // Friday is no public holiday in Ireland, and the shop has no table entry).
    v.push(case(
        "ie: no Polish holidays in Dublin",
        eu(),
        facts(Shop::Ie, date(2026, 3, 20), date(2026, 3, 21)),
        |d| {
            assert_eq!(
                d.statutory_window.as_ref().expect("s").last_day,
                date(2026, 4, 3)
            );
        },
    ));
    // A non-EU destination from an EU shop: no statutory window at all.
    let mut f = facts(Shop::Ie, date(2026, 3, 20), date(2026, 3, 21));
    f.destination_country = "ID".into();
    v.push(case("ie: shipped outside the EU", eu(), f, |d| {
        assert!(d.statutory_window.is_none());
        assert_eq!(d.basis, Some(Basis::ShopPolicy));
    }));

    // ---- 2. The statutory calendar ----
    // 23 March + 14 = 6 April 2026, Easter Monday → Tuesday 7 April.
    v.push(case(
        "pl: Easter Monday moves the last day",
        eu(),
        facts(pl, date(2026, 3, 23), date(2026, 4, 7)),
        |d| {
            let s = d.statutory_window.as_ref().expect("s");
            assert_eq!(
                (s.last_day, s.moved_from),
                (date(2026, 4, 7), Some(date(2026, 4, 6)))
            );
            assert_eq!(d.basis, Some(Basis::StatutoryWithdrawal));
        },
    ));
    // 21 May + 14 = 4 June 2026, Corpus Christi → Friday 5 June.
    v.push(case(
        "pl: Corpus Christi",
        eu(),
        facts(pl, date(2026, 5, 21), date(2026, 5, 22)),
        |d| {
            assert_eq!(
                d.statutory_window.as_ref().expect("s").last_day,
                date(2026, 6, 5)
            );
        },
    ));
    // 10 December 2025 + 14 = Wednesday 24 December (a holiday from 2025), then
    // 25, 26 (holidays), 27, 28 (weekend) → Monday 29 December.
    v.push(case(
        "pl: Christmas Eve 2025",
        eu(),
        facts(pl, date(2025, 12, 10), date(2025, 12, 11)),
        |d| {
            assert_eq!(
                d.statutory_window.as_ref().expect("s").last_day,
                date(2025, 12, 29)
            );
        },
    ));
    // Shop windows do not move: 14 days from 1 March 2026 is Sunday 15 March.
    let mut p = PolicyDocument::default();
    p.defaults.window_days = 14;
    v.push(case(
        "pl: the shop window stays on a Sunday",
        p.clone(),
        facts(pl, date(2026, 3, 1), date(2026, 3, 2)),
        |d| {
            let w = d.shop_window.as_ref().expect("w");
            assert_eq!((w.last_day, w.moved_from), (date(2026, 3, 15), None));
        },
    ));
    // ...unless a rule says so.
    let mut moving = p.clone();
    moving.rules.push(rule(
        "move",
        Conditions::default(),
        Effects {
            window_moves_past_holidays: Some(true),
            ..Effects::default()
        },
    ));
    v.push(case(
        "pl: a rule moves the shop window",
        moving,
        facts(pl, date(2026, 3, 1), date(2026, 3, 2)),
        |d| {
            assert_eq!(
                d.shop_window.as_ref().expect("w").last_day,
                date(2026, 3, 16)
            );
        },
    ));
    // Holiday season: orders placed 15 November – 24 December 2026 may come back
    // until 15 January 2027, or 14 days from delivery if that is later.
    let mut season = p;
    season.rules.push(rule(
        "holiday-2026",
        Conditions {
            order_date: Some(kembali_core::policy::DateRange {
                from: Some(date(2026, 11, 15)),
                to: Some(date(2026, 12, 24)),
            }),
            ..Conditions::default()
        },
        Effects {
            window_until: Some(date(2027, 1, 15)),
            ..Effects::default()
        },
    ));
    v.push(case(
        "pl: the later of two windows (holiday date)",
        season.clone(),
        facts(pl, date(2026, 12, 10), date(2027, 1, 14)),
        |d| {
            // 10 + 14 = 24 December < 15 January: the date wins.
            assert_eq!(d.deadline, Some(date(2027, 1, 15)));
            assert!(d.eligible);
        },
    ));
    v.push(case(
        "pl: the later of two windows (days)",
        season,
        facts(pl, date(2027, 1, 10), date(2027, 1, 20)),
        |d| {
            // Placed 7 January: the rule does not match; 10 + 14 = 24 January.
            assert_eq!(d.deadline, Some(date(2027, 1, 24)));
        },
    ));

    // ---- 3. Money ----
    // Units 1..3 of 10 000 with 1 870 tax: cuts 3 333.3 → 3 333, 6 666.7 → 6 667,
    // 10 000; tax cuts 623.3 → 623, 1 246.7 → 1 247, 1 870.
    for (held, amount_, tax) in [(0, 3_333, 623), (1, 3_334, 624), (2, 3_333, 623)] {
        let mut f = facts(pl, date(2026, 3, 2), date(2026, 3, 3));
        f.held_quantity = held;
        v.push(case(
            "pl: cumulative half-up unit shares",
            eu(),
            f,
            move |d| {
                assert_eq!(d.item_amount.amount, amount_);
                assert_eq!(amount(d.item_tax), tax);
                assert_eq!(amount(d.refund_tax), tax);
            },
        ));
    }
    // Fee minimum and maximum: 10 % of 3 333 = 333 → raised to the 5.00 minimum;
    // of all three units (10 000) 1 000 → lowered to the 8.00 maximum. Day 20, so
    // the shop's restocking fee applies.
    let mut p = eu();
    p.defaults.restocking_fee = Fee {
        min: BTreeMap::from([(Currency::PLN, 500)]),
        max: BTreeMap::from([(Currency::PLN, 800)]),
        ..fee(1_000, 0, Currency::PLN)
    };
    v.push(case(
        "pl: fee minimum",
        p.clone(),
        facts(pl, date(2026, 3, 2), date(2026, 3, 22)),
        |d| assert_eq!(fee_of(d, FeeKind::Restocking), 500),
    ));
    let mut f = facts(pl, date(2026, 3, 2), date(2026, 3, 22));
    f.quantity = 3;
    v.push(case("pl: fee maximum", p, f, |d| {
        assert_eq!(fee_of(d, FeeKind::Restocking), 800);
        // 10 000 − 800 = 9 200; tax 1 870 × 9 200 / 10 000 = 1 720.4 → 1 720.
        assert_eq!(amount(d.refund_preview), 9_200);
        assert_eq!(amount(d.refund_tax), 1_720);
    }));
    // A 50.00 label on a 33.33 item takes the whole item, never more: refund 0.
    let mut p = eu();
    p.defaults.return_shipping_fee = fee(0, 5_000, Currency::PLN);
    v.push(case(
        "pl: a fee is capped at the refundable value",
        p.clone(),
        facts(pl, date(2026, 3, 2), date(2026, 3, 4)),
        |d| {
            assert_eq!(fee_of(d, FeeKind::ReturnShipping), 3_333);
            assert_eq!(amount(d.refund_preview), 0);
            assert_eq!(amount(d.refund_tax), 0);
        },
    ));
    // Defective, damaged or wrong: no fee at all.
    let mut f = facts(pl, date(2026, 3, 2), date(2026, 3, 4));
    f.reason = Some(ReturnReason::WrongItem);
    v.push(case("pl: the shop's fault is free", p, f, |d| {
        assert!(d.fees.is_empty());
        assert_eq!(amount(d.refund_preview), 3_333);
    }));
    // The label costs 15 000.00 IDR; sending it yourself does not.
    let mut p = id();
    p.defaults.return_shipping_fee = Fee {
        methods: Some(vec![ReturnMethod::DropOff, ReturnMethod::CourierPickup]),
        ..fee(0, 1_500_000, Currency::IDR)
    };
    p.defaults.methods = vec![ReturnMethod::DropOff, ReturnMethod::OwnShipping];
    let mut f = facts(Shop::Id, date(2026, 3, 2), date(2026, 3, 4));
    f.line_amount_paid = Money::new(30_000_000, Currency::IDR);
    f.line_tax = Some(Money::new(2_972_973, Currency::IDR));
    v.push(case("id: the label costs", p.clone(), f.clone(), |d| {
        // 30 000 000 / 3 = 10 000 000; − 1 500 000 = 8 500 000.
        assert_eq!(amount(d.refund_preview), 8_500_000);
        // Tax: 2 972 973 / 3 = 990 991; × 8.5 / 10 = 842 342.35 → 842 342.
        assert_eq!(amount(d.item_tax), 990_991);
        assert_eq!(amount(d.refund_tax), 842_342);
    }));
    f.return_method = Some(ReturnMethod::OwnShipping);
    v.push(case("id: sending it yourself is free", p, f, |d| {
        assert_eq!(amount(d.refund_preview), 10_000_000);
    }));

    // ---- 4. Refused means refused; held for review ----
    let mut f = facts(pl, date(2026, 3, 2), date(2026, 3, 4));
    f.quantity = 5;
    v.push(case("pl: too many", eu(), f, |d| {
        assert_eq!(d.outcome, Outcome::Refused);
        assert_eq!(
            d.explanations,
            [Explanation::TooMany {
                requested: 5,
                available: 3
            }]
        );
        assert!(d.resolutions.is_empty() && d.methods.is_empty() && d.fees.is_empty());
        assert!(d.refund_preview.is_none() && d.store_credit_preview.is_none());
        assert!(!d.eu_withdrawal && d.deadline.is_none());
    }));
    let mut p = eu();
    p.defaults.auto_approve = true;
    p.lists = Lists {
        blocked_emails: vec![ListEntry {
            value: "OLA@example.pl".into(),
            note: Some("chargeback in 2025".into()),
        }],
        ..Lists::default()
    };
    v.push(case(
        "pl: held for review",
        p,
        facts(pl, date(2026, 3, 2), date(2026, 3, 4)),
        |d| {
            assert!(d.eligible && !d.auto_approve);
            assert_eq!(d.outcome, Outcome::Review);
            assert_eq!(d.risk, ["email on the block list: chargeback in 2025"]);
            // 4 March + 2 review days = 6 March.
            assert_eq!(
                d.explanations,
                [Explanation::HeldForReview {
                    answer_by: date(2026, 3, 6)
                }]
            );
            assert_eq!(
                d.explanations[0].english(),
                "We will check your request and answer by 6 March 2026."
            );
            assert_eq!(d.deadline, Some(date(2026, 3, 16)));
        },
    ));

    // ---- 5. Warranty and delivery claims ----
    // Delivered 1 March 2024; 24 months → Sunday 1 March 2026 → Monday 2 March.
    // Complaint on 10 February 2026: answer due 10 + 14 = Tuesday 24 February.
    let mut f = facts(pl, date(2024, 3, 1), date(2026, 2, 10));
    f.reason = Some(ReturnReason::Defective);
    f.final_sale = true;
    let mut p = eu();
    p.defaults.restocking_fee = fee(1_000, 0, Currency::PLN);
    p.rules.push(rule(
        "no-shirts",
        Conditions {
            categories: Some(vec!["shirts".into()]),
            ..Conditions::default()
        },
        Effects {
            deny: Some("Shirts are not taken back.".into()),
            ..Effects::default()
        },
    ));
    v.push(case("pl: reklamacja", p.clone(), f.clone(), |d| {
        assert_eq!(d.basis, Some(Basis::Warranty));
        let w = d.claim_window.as_ref().expect("warranty");
        assert_eq!(
            (w.last_day, w.moved_from),
            (date(2026, 3, 2), Some(date(2026, 3, 1)))
        );
        assert_eq!(d.resolutions, [Resolution::Repair, Resolution::Replacement]);
        assert_eq!(
            d.later_resolutions,
            [Resolution::PriceReduction, Resolution::Refund]
        );
        assert!(d.fees.is_empty() && d.shop_pays_shipping);
        assert_eq!(d.answer_due_by, Some(midnight(Shop::Pl, date(2026, 2, 25))));
        assert_eq!(
            d.explanations,
            [Explanation::WarrantyClaim {
                last_day: date(2026, 3, 2),
                answer_by: date(2026, 2, 24)
            }]
        );
        assert!(!d.eu_withdrawal);
    }));
    f.now = at(pl, date(2026, 3, 3));
    v.push(case("pl: warranty over", p, f, |d| {
        assert_eq!(d.outcome, Outcome::Refused);
        assert!(matches!(d.explanations[0], Explanation::WindowEnded { .. }));
    }));
    // A parcel that never arrived (Jakarta): shipped, not delivered; nothing
    // travels back. Claimed 19 March 2026: 19 + 14 = 2 April (Thursday).
    let mut f = facts(Shop::Id, date(2026, 3, 2), date(2026, 3, 19));
    f.delivered_quantity = 0;
    f.delivered_at = None;
    f.order_delivered_at = None;
    f.claim = Some(ClaimKind::NeverArrived);
    v.push(case("id: never arrived", id(), f, |d| {
        assert_eq!(d.basis, Some(Basis::DeliveryClaim));
        assert_eq!(d.returnable_quantity, 3);
        assert_eq!(d.methods, [ReturnMethod::NoShipping]);
        assert!(d.resolutions.contains(&Resolution::Replacement));
        assert_eq!(
            d.explanations,
            [Explanation::DeliveryClaim {
                answer_by: date(2026, 4, 2)
            }]
        );
    }));
    // Damaged in transit, claimed on 6 March 2026 (delivered 2 March): answer
    // 6 + 14 = Friday 20 March, Idul Fitri in the shop's table, then 21 (table
    // and Saturday), 22 (Sunday) → Monday 23 March.
    let mut f = facts(Shop::Id, date(2026, 3, 2), date(2026, 3, 6));
    f.claim = Some(ClaimKind::DamagedInTransit);
    v.push(case(
        "id: damaged in transit, table holidays",
        id(),
        f.clone(),
        |d| {
            assert_eq!(d.basis, Some(Basis::DeliveryClaim));
            assert!(d.fees.is_empty() && d.shop_pays_shipping);
            assert_eq!(d.answer_due_by, Some(midnight(Shop::Id, date(2026, 3, 24))));
        },
    ));
    f.now = at(Shop::Id, date(2026, 3, 17));
    v.push(case("id: damage reported too late", id(), f.clone(), |d| {
        // 2 March + 14 = 16 March was the last day for damage claims.
        assert_eq!(
            d.explanations,
            [Explanation::WindowEnded {
                days: 14,
                last_day: date(2026, 3, 16)
            }]
        );
    }));
    // Damage reported 20 days after delivery in Poland: the shop's 30-day
    // window is still open, but a claim is judged by its own 14 days.
    let mut f = facts(pl, date(2026, 3, 2), date(2026, 3, 22));
    f.claim = Some(ClaimKind::DamagedInTransit);
    v.push(case(
        "pl: a late claim names its own window",
        eu(),
        f,
        |d| {
            assert!(!d.eligible);
            assert_eq!(
                d.explanations,
                [Explanation::WindowEnded {
                    days: 14,
                    last_day: date(2026, 3, 16)
                }]
            );
        },
    ));
    let mut f = facts(Shop::Id, date(2026, 3, 2), date(2026, 3, 17));
    f.claim = Some(ClaimKind::DamagedInTransit);
    let mut none = id();
    none.delivery_claims = None;
    f.now = at(Shop::Id, date(2026, 3, 6));
    v.push(case("id: claims not offered", none, f, |d| {
        assert_eq!(d.explanations, [Explanation::ClaimNotOffered]);
    }));

    // ---- 6. Exchanges priced, refund destinations ----
    // Item worth 3 333, new variant 39.99: the shopper pays 3 999 − 3 333 = 666.
    let mut f = facts(pl, date(2026, 3, 2), date(2026, 3, 4));
    f.exchange_for = Some(ExchangeFor {
        sku: "KOSZULA-L".into(),
        unit_price: Money::new(3_999, Currency::PLN),
    });
    v.push(case("pl: exchange up", eu(), f.clone(), |d| {
        let x = d.exchange.as_ref().expect("exchange");
        assert_eq!(
            (x.difference.amount, x.settlement),
            (666, Settlement::ShopperPays)
        );
    }));
    // New variant 29.99: 2 999 − 3 333 = −334, back as store credit by default,
    // to the card when the policy says so.
    f.exchange_for = Some(ExchangeFor {
        sku: "KOSZULA-S".into(),
        unit_price: Money::new(2_999, Currency::PLN),
    });
    v.push(case("pl: exchange down, credit", eu(), f.clone(), |d| {
        let x = d.exchange.as_ref().expect("exchange");
        assert_eq!(
            (x.difference.amount, x.settlement),
            (-334, Settlement::StoreCredit)
        );
    }));
    let mut p = eu();
    p.defaults.exchange_refund = ExchangeRefund::OriginalPayment;
    v.push(case("pl: exchange down, to the card", p, f, |d| {
        assert_eq!(
            d.exchange.as_ref().expect("x").settlement,
            Settlement::OriginalPayment
        );
        assert_eq!(
            d.refund_destinations,
            [
                DestinationKind::OriginalMethod,
                DestinationKind::StoreCredit
            ]
        );
    }));
    let mut f = facts(Shop::Id, date(2026, 3, 2), date(2026, 3, 4));
    f.payment_method = PaymentMethod::CashOnDelivery;
    v.push(case("id: cash on delivery", id(), f.clone(), |d| {
        assert_eq!(
            d.refund_destinations,
            [
                DestinationKind::BankAccount,
                DestinationKind::EWallet,
                DestinationKind::StoreCredit
            ]
        );
    }));
    let mut p = id();
    p.refund_destinations = BTreeMap::from([(
        PaymentMethod::CashOnDelivery,
        vec![DestinationKind::EWallet],
    )]);
    v.push(case("id: cash on delivery, e-wallet only", p, f, |d| {
        assert_eq!(d.refund_destinations, [DestinationKind::EWallet]);
    }));

    // ---- 7. New conditions ----
    let when = |c: Conditions| {
        let mut p = id();
        p.rules.push(rule(
            "r",
            c,
            Effects {
                ship_by_days: Some(3),
                ..Effects::default()
            },
        ));
        p
    };
    let base = || {
        let mut f = facts(Shop::Id, date(2026, 8, 14), date(2026, 8, 18));
        f.item_condition = Some(ItemCondition::Opened);
        f.items_returned = Some(2);
        f
    };
    let hit = |d: &Decision| assert_eq!(d.ship_by_days, 3);
    let miss = |d: &Decision| assert_eq!(d.ship_by_days, 14);
    let methods = |m| Conditions {
        return_methods: Some(vec![m]),
        ..Conditions::default()
    };
    v.push(case(
        "cond: method",
        when(methods(ReturnMethod::DropOff)),
        base(),
        hit,
    ));
    v.push(case(
        "cond: method",
        when(methods(ReturnMethod::InStore)),
        base(),
        miss,
    ));
    let cond = |c| Conditions {
        item_conditions: Some(vec![c]),
        ..Conditions::default()
    };
    v.push(case(
        "cond: opened",
        when(cond(ItemCondition::Opened)),
        base(),
        hit,
    ));
    v.push(case(
        "cond: unopened",
        when(cond(ItemCondition::Unopened)),
        base(),
        miss,
    ));
    let total = |min| Conditions {
        order_total: Some(PriceRange {
            currency: Currency::IDR,
            min: Some(min),
            max: None,
        }),
        ..Conditions::default()
    };
    v.push(case("cond: order total", when(total(10_000)), base(), hit));
    v.push(case("cond: order total", when(total(10_001)), base(), miss));
    let count = |min| Conditions {
        items_returned: Some(Range {
            min: Some(min),
            max: None,
        }),
        ..Conditions::default()
    };
    v.push(case("cond: items returned", when(count(2)), base(), hit));
    v.push(case("cond: items returned", when(count(3)), base(), miss));
    let country = |c: &str| Conditions {
        shop_countries: Some(vec![c.into()]),
        ..Conditions::default()
    };
    v.push(case("cond: shop country", when(country("id")), base(), hit));
    v.push(case(
        "cond: shop country",
        when(country("PL")),
        base(),
        miss,
    ));
    // Delivered Friday 14 August 2026, asked Tuesday 18 August: Saturday and
    // Sunday do not count, Monday 17 August is Independence Day: one working day.
    let working = |n| Conditions {
        working_days_since_delivery: Some(Range {
            min: Some(n),
            max: Some(n),
        }),
        ..Conditions::default()
    };
    v.push(case("cond: working days", when(working(1)), base(), hit));
    v.push(case("cond: working days", when(working(4)), base(), miss));
    v
}

#[test]
fn every_rule_on_polish_eu_and_indonesian_shops() {
    let all = cases();
    assert!(all.len() >= 45, "{}", all.len());
    for c in all {
        assert!(c.policy.validate().is_ok(), "{}", c.name);
        let d = evaluate(&c.policy, 7, &c.facts).expect(c.name);
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (c.check)(&d)));
        if run.is_err() {
            panic!("case `{}` failed; decision: {d:#?}", c.name);
        }
        // Every eligible item names its deadline and basis.
        if d.eligible {
            assert!(d.deadline.is_some() && d.basis.is_some(), "{}", c.name);
        } else {
            assert!(
                d.resolutions.is_empty() && d.refund_preview.is_none(),
                "{}",
                c.name
            );
        }
    }
}

#[test]
fn list_entries_read_as_strings_or_with_a_note() {
    let lists: Lists = serde_json::from_value(serde_json::json!({
        "blocked_emails": ["a@example.pl", {"value": "b@example.pl", "note": "fraud"}]
    }))
    .expect("lists");
    assert_eq!(lists.blocked_emails[0], ListEntry::from("a@example.pl"));
    assert_eq!(lists.blocked_emails[1].note.as_deref(), Some("fraud"));
    assert!(
        serde_json::from_value::<Lists>(serde_json::json!({"blocked_emails": [{"valu": "x"}]}))
            .is_err()
    );
}

#[test]
fn validation_refuses_what_the_law_or_arithmetic_forbids() {
    let mut p = eu();
    p.refund_destinations = BTreeMap::from([(
        PaymentMethod::CashOnDelivery,
        vec![DestinationKind::OriginalMethod],
    )]);
    assert!(p.validate().is_err(), "cash cannot go back to cash");
    let mut p = eu();
    p.defaults.restocking_fee = Fee {
        min: BTreeMap::from([(Currency::PLN, 900)]),
        max: BTreeMap::from([(Currency::PLN, 800)]),
        ..Fee::default()
    };
    assert!(p.validate().is_err(), "min above max");
    let mut p = eu();
    p.warranty = Some(Warranty {
        months: 0,
        ..Warranty::default()
    });
    assert!(p.validate().is_err());
}

#[test]
fn facts_stored_before_these_fields_still_read() {
    let mut json =
        serde_json::to_value(facts(Shop::Pl, date(2026, 3, 2), date(2026, 3, 4))).expect("json");
    for k in [
        "order_delivered_at",
        "parcels_outstanding",
        "shop_country",
        "line_tax",
        "return_method",
        "item_condition",
        "order_total",
        "items_returned",
        "claim",
        "exchange_for",
    ] {
        json.as_object_mut().expect("obj").remove(k);
    }
    let old: Facts = serde_json::from_value(json).expect("old facts read");
    let d = evaluate(&eu(), 1, &old).expect("decide");
    // The line's own delivery stands in for the last parcel; no country: weekends
    // only (2 + 14 = Monday 16 March).
    assert_eq!(
        d.statutory_window.expect("statutory").last_day,
        date(2026, 3, 16)
    );
}
