//! The policy engine on concrete cases: windows and their days, final sale and the
//! EU withdrawal right, rule order, conditions, effects, lists, validation.

use std::collections::BTreeMap;

use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use kembali_core::order::PaymentMethod;
use kembali_core::policy::{
    Conditions, CustomerHistory, Defaults, Effects, Explanation, Facts, Fee, FeeKind, Lists,
    PolicyDocument, PriceRange, Range, Rule, WindowStart, evaluate,
};
use kembali_core::returns::{Resolution, ReturnMethod, ReturnReason};
use kembali_core::{Currency, LineId, Money};

/// Delivered in Jakarta at 10:00 local time on 1 March 2026.
fn delivered() -> Timestamp {
    date(2026, 3, 1)
        .at(10, 0, 0, 0)
        .in_tz("Asia/Jakarta")
        .expect("tz")
        .timestamp()
}

fn facts(days_after_delivery: i64) -> Facts {
    let d = delivered();
    Facts {
        now: d + SignedDuration::from_hours(24 * days_after_delivery),
        time_zone: "Asia/Jakarta".into(),
        line_id: LineId::new(d, 1),
        sku: "BATIK-L".into(),
        category: Some("shirts".into()),
        tags: vec!["batik".into(), "cotton".into()],
        final_sale: false,
        unit_price: Money::new(25_000_000, Currency::IDR),
        line_amount_paid: Money::new(50_000_000, Currency::IDR),
        line_quantity: 2,
        delivered_quantity: 2,
        held_quantity: 0,
        placed_at: d - SignedDuration::from_hours(72),
        first_shipped_at: Some(d - SignedDuration::from_hours(48)),
        delivered_at: Some(d),
        payment_method: PaymentMethod::CashOnDelivery,
        destination_country: "ID".into(),
        postal_code: "10220".into(),
        customer_email: "budi@example.id".into(),
        customer_id: None,
        history: CustomerHistory {
            orders: 4,
            returns: 1,
            refused_cod_parcels: 0,
        },
        reason: Some(ReturnReason::WrongSize),
        quantity: 1,
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

fn rule(id: &str, when: Conditions, then: Effects) -> Rule {
    Rule {
        id: id.into(),
        description: None,
        when,
        then,
    }
}

fn codes(d: &kembali_core::policy::Decision) -> Vec<String> {
    d.explanations
        .iter()
        .map(|e| {
            serde_json::to_value(e).expect("json")["code"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

#[test]
fn the_window_counts_calendar_days_in_the_shop_zone() {
    let p = PolicyDocument::default();
    let open = evaluate(&p, 1, &facts(30)).expect("eval");
    assert!(open.eligible);
    let w = open.window.as_ref().expect("window");
    assert_eq!(w.last_day, date(2026, 3, 31));
    // The window closes at midnight Jakarta time after the last day.
    assert_eq!(
        w.ends_at,
        date(2026, 4, 1)
            .at(0, 0, 0, 0)
            .in_tz("Asia/Jakarta")
            .expect("tz")
            .timestamp()
    );
    let late = evaluate(&p, 1, &facts(31)).expect("eval");
    assert!(!late.eligible);
    assert_eq!(
        late.explanations[0],
        Explanation::WindowEnded {
            days: 30,
            last_day: date(2026, 3, 31)
        }
    );
    assert_eq!(
        late.explanations[0].english(),
        "The 30-day return window ended on 31 March 2026."
    );
}

#[test]
fn final_sale_is_refused_except_under_eu_withdrawal() {
    let mut f = facts(3);
    f.final_sale = true;
    let p = PolicyDocument {
        eu_withdrawal: true,
        ..PolicyDocument::default()
    };
    let d = evaluate(&p, 1, &f).expect("eval");
    assert!(!d.eligible);
    // Refused means refused: no "you can return until" beside the refusal.
    assert_eq!(codes(&d), ["final_sale"]);
    assert!(d.resolutions.is_empty() && d.refund_preview.is_none());

    f.destination_country = "PL".into();
    let d = evaluate(&p, 1, &f).expect("eval");
    assert!(d.eligible, "{:?}", d.explanations);
    assert!(
        d.trace
            .iter()
            .any(|t| t.source == "final_sale" && t.set[0].contains("EU"))
    );

    // An explicit deny rule still holds under EU law (exempt goods).
    let exempt = PolicyDocument {
        rules: vec![rule(
            "hygiene",
            Conditions {
                product_tags: Some(vec!["cotton".into()]),
                ..Conditions::default()
            },
            Effects {
                deny: Some("Opened hygiene goods cannot be returned.".into()),
                ..Effects::default()
            },
        )],
        ..p
    };
    let d = evaluate(&exempt, 1, &f).expect("eval");
    assert!(!d.eligible);
    assert_eq!(
        d.explanations[0].english(),
        "Opened hygiene goods cannot be returned."
    );
}

#[test]
fn later_rules_override_but_a_deny_stays() {
    let p = PolicyDocument {
        rules: vec![
            rule(
                "long",
                Conditions::default(),
                Effects {
                    window_days: Some(60),
                    ..Effects::default()
                },
            ),
            rule(
                "no-batik",
                Conditions {
                    product_tags: Some(vec!["BATIK".into()]),
                    ..Conditions::default()
                },
                Effects {
                    deny: Some("Batik is final.".into()),
                    ..Effects::default()
                },
            ),
            rule(
                "short",
                Conditions::default(),
                Effects {
                    window_days: Some(10),
                    auto_approve: Some(true),
                    ..Effects::default()
                },
            ),
            rule(
                "never",
                Conditions {
                    skus: Some(vec!["OTHER".into()]),
                    ..Conditions::default()
                },
                Effects {
                    window_days: Some(365),
                    ..Effects::default()
                },
            ),
        ],
        ..PolicyDocument::default()
    };
    let d = evaluate(&p, 3, &facts(3)).expect("eval");
    assert_eq!(d.window.as_ref().map(|w| w.days), Some(10));
    assert!(!d.eligible);
    assert_eq!(codes(&d)[0], "denied");
    let sources: Vec<&str> = d
        .trace
        .iter()
        .map(|t| t.source.as_str())
        .filter(|s| *s == "defaults" || s.starts_with("rule:"))
        .collect();
    assert_eq!(
        sources,
        ["defaults", "rule:long", "rule:no-batik", "rule:short"]
    );
    assert_eq!(d.policy_version, 3);
}

#[test]
fn each_condition_matches_and_misses() {
    let f = facts(5);
    let cases: Vec<(&str, Conditions, bool)> = vec![
        (
            "sku",
            Conditions {
                skus: Some(vec!["batik-l".into()]),
                ..Default::default()
            },
            true,
        ),
        (
            "sku",
            Conditions {
                skus: Some(vec!["X".into()]),
                ..Default::default()
            },
            false,
        ),
        (
            "category",
            Conditions {
                categories: Some(vec!["shirts".into()]),
                ..Default::default()
            },
            true,
        ),
        (
            "category",
            Conditions {
                categories: Some(vec!["shoes".into()]),
                ..Default::default()
            },
            false,
        ),
        (
            "price",
            Conditions {
                price: Some(PriceRange {
                    currency: Currency::IDR,
                    min: Some(20_000_000),
                    max: Some(30_000_000),
                }),
                ..Default::default()
            },
            true,
        ),
        (
            "price other currency",
            Conditions {
                price: Some(PriceRange {
                    currency: Currency::PLN,
                    min: None,
                    max: None,
                }),
                ..Default::default()
            },
            false,
        ),
        (
            "price below",
            Conditions {
                price: Some(PriceRange {
                    currency: Currency::IDR,
                    min: None,
                    max: Some(100),
                }),
                ..Default::default()
            },
            false,
        ),
        (
            "country",
            Conditions {
                destination_countries: Some(vec!["id".into()]),
                ..Default::default()
            },
            true,
        ),
        (
            "country EU",
            Conditions {
                destination_countries: Some(vec!["EU".into()]),
                ..Default::default()
            },
            false,
        ),
        (
            "payment",
            Conditions {
                payment_methods: Some(vec![PaymentMethod::CashOnDelivery]),
                ..Default::default()
            },
            true,
        ),
        (
            "payment",
            Conditions {
                payment_methods: Some(vec![PaymentMethod::Card]),
                ..Default::default()
            },
            false,
        ),
        (
            "reason",
            Conditions {
                reasons: Some(vec![ReturnReason::WrongSize]),
                ..Default::default()
            },
            true,
        ),
        (
            "reason",
            Conditions {
                reasons: Some(vec![ReturnReason::Damaged]),
                ..Default::default()
            },
            false,
        ),
        (
            "days",
            Conditions {
                days_since_delivery: Some(Range {
                    min: Some(5),
                    max: Some(5),
                }),
                ..Default::default()
            },
            true,
        ),
        (
            "days",
            Conditions {
                days_since_delivery: Some(Range {
                    min: Some(6),
                    max: None,
                }),
                ..Default::default()
            },
            false,
        ),
        (
            "order date",
            Conditions {
                order_date: Some(kembali_core::policy::DateRange {
                    from: Some(date(2026, 2, 1)),
                    to: Some(date(2026, 2, 28)),
                }),
                ..Default::default()
            },
            true,
        ),
        (
            "order date",
            Conditions {
                order_date: Some(kembali_core::policy::DateRange {
                    from: Some(date(2026, 3, 1)),
                    to: None,
                }),
                ..Default::default()
            },
            false,
        ),
        (
            "final sale",
            Conditions {
                final_sale: Some(false),
                ..Default::default()
            },
            true,
        ),
        (
            "final sale",
            Conditions {
                final_sale: Some(true),
                ..Default::default()
            },
            false,
        ),
        (
            "returns",
            Conditions {
                customer_returns: Some(Range {
                    min: Some(1),
                    max: Some(1),
                }),
                ..Default::default()
            },
            true,
        ),
        (
            "returns",
            Conditions {
                customer_returns: Some(Range {
                    min: Some(2),
                    max: None,
                }),
                ..Default::default()
            },
            false,
        ),
        (
            "rate",
            Conditions {
                customer_return_rate_bps: Some(Range {
                    min: Some(2500),
                    max: Some(2500),
                }),
                ..Default::default()
            },
            true,
        ),
        (
            "rate",
            Conditions {
                customer_return_rate_bps: Some(Range {
                    min: Some(5000),
                    max: None,
                }),
                ..Default::default()
            },
            false,
        ),
        (
            "refused",
            Conditions {
                refused_cod_parcels: Some(Range {
                    min: None,
                    max: Some(0),
                }),
                ..Default::default()
            },
            true,
        ),
        (
            "refused",
            Conditions {
                refused_cod_parcels: Some(Range {
                    min: Some(1),
                    max: None,
                }),
                ..Default::default()
            },
            false,
        ),
        (
            "email",
            Conditions {
                customer_emails: Some(vec!["BUDI@example.id".into()]),
                ..Default::default()
            },
            true,
        ),
        (
            "email",
            Conditions {
                customer_emails: Some(vec!["siti@example.id".into()]),
                ..Default::default()
            },
            false,
        ),
        (
            "blocked",
            Conditions {
                blocked: Some(false),
                ..Default::default()
            },
            true,
        ),
        (
            "blocked",
            Conditions {
                blocked: Some(true),
                ..Default::default()
            },
            false,
        ),
        (
            "tags",
            Conditions {
                product_tags: Some(vec!["cotton".into()]),
                ..Default::default()
            },
            true,
        ),
        (
            "tags",
            Conditions {
                product_tags: Some(vec!["silk".into()]),
                ..Default::default()
            },
            false,
        ),
    ];
    for (name, when, expected) in cases {
        let p = PolicyDocument {
            rules: vec![rule(
                "r",
                when,
                Effects {
                    ship_by_days: Some(3),
                    ..Effects::default()
                },
            )],
            ..PolicyDocument::default()
        };
        let d = evaluate(&p, 1, &f).expect("eval");
        assert_eq!(d.ship_by_days == 3, expected, "{name}");
        assert_eq!(
            d.trace.iter().any(|t| t.source == "rule:r"),
            expected,
            "{name}"
        );
    }
}

#[test]
fn fees_bonus_keep_item_and_photos() {
    let p = PolicyDocument {
        defaults: Defaults {
            restocking_fee: Fee {
                percent_bps: 1000,
                fixed: BTreeMap::new(),
                ..Fee::default()
            },
            return_shipping_fee: Fee {
                percent_bps: 0,
                fixed: BTreeMap::from([(Currency::IDR, 1_500_000)]),
                ..Fee::default()
            },
            store_credit_bonus_bps: 1000,
            require_photos: true,
            ..Defaults::default()
        },
        ..PolicyDocument::default()
    };
    let d = evaluate(&p, 1, &facts(2)).expect("eval");
    // One of two units: 250 000 IDR paid; 10 % restocking, 15 000 shipping.
    assert_eq!(d.item_amount.amount, 25_000_000);
    let fee = |k| d.fees.iter().find(|f| f.kind == k).map(|f| f.amount.amount);
    assert_eq!(fee(FeeKind::Restocking), Some(2_500_000));
    assert_eq!(fee(FeeKind::ReturnShipping), Some(1_500_000));
    assert_eq!(d.refund_preview.expect("preview").amount, 21_000_000);
    assert_eq!(d.store_credit_preview.expect("preview").amount, 23_100_000);
    assert!(d.require_photos);

    let keep = PolicyDocument {
        rules: vec![rule(
            "keep",
            Conditions::default(),
            Effects {
                keep_item: Some(true),
                ..Effects::default()
            },
        )],
        ..p
    };
    let d = evaluate(&keep, 1, &facts(2)).expect("eval");
    assert!(d.keep_item);
    assert_eq!(d.methods, [ReturnMethod::NoShipping]);
    assert!(d.resolutions.contains(&Resolution::KeepItem));
    assert_eq!(
        fee(FeeKind::ReturnShipping),
        Some(1_500_000),
        "the first decision is unchanged"
    );
    assert!(d.fees.iter().all(|f| f.kind != FeeKind::ReturnShipping));
}

#[test]
fn risk_lists_and_auto_approval() {
    let flag = rule(
        "serial",
        Conditions {
            customer_returns: Some(Range {
                min: Some(1),
                max: None,
            }),
            ..Conditions::default()
        },
        Effects {
            flag_risk: Some("returns often".into()),
            ..Effects::default()
        },
    );
    let p = PolicyDocument {
        defaults: Defaults {
            auto_approve: true,
            ..Defaults::default()
        },
        rules: vec![flag.clone()],
        ..PolicyDocument::default()
    };
    let d = evaluate(&p, 1, &facts(2)).expect("eval");
    assert_eq!(d.risk, ["returns often"]);
    assert!(!d.auto_approve, "a risk flag sends the return to a person");

    let allowed = PolicyDocument {
        lists: Lists {
            allowed_emails: vec!["budi@example.id".into()],
            ..Lists::default()
        },
        ..p.clone()
    };
    let d = evaluate(&allowed, 1, &facts(2)).expect("eval");
    assert!(d.risk.is_empty() && d.auto_approve);

    let blocked = PolicyDocument {
        rules: vec![],
        lists: Lists {
            blocked_postal_codes: vec!["10220".into()],
            ..Lists::default()
        },
        ..p
    };
    let d = evaluate(&blocked, 1, &facts(2)).expect("eval");
    assert_eq!(d.risk, ["postal code on the block list"]);
    assert!(!d.auto_approve);
}

#[test]
fn eu_withdrawal_keeps_fourteen_days_from_delivery_for_eu_destinations() {
    let p = PolicyDocument {
        defaults: Defaults {
            window_days: 7,
            window_from: WindowStart::Order,
            ..Defaults::default()
        },
        eu_withdrawal: true,
        ..PolicyDocument::default()
    };
    let mut f = facts(10);
    f.destination_country = "PL".into();
    let d = evaluate(&p, 1, &f).expect("eval");
    assert!(d.eligible && d.eu_withdrawal);
    let w = d.window.as_ref().expect("window");
    // 1 March + 14 days = Sunday 15 March 2026: the statutory period ends with
    // the next working day, Monday 16 March.
    assert_eq!(
        (w.days, w.from, w.last_day, w.moved_from),
        (
            14,
            WindowStart::Delivery,
            date(2026, 3, 16),
            Some(date(2026, 3, 15))
        )
    );
    assert_eq!(codes(&d), ["eu_withdrawal"]);

    f.destination_country = "ID".into();
    let d = evaluate(&p, 1, &f).expect("eval");
    assert!(!d.eligible && !d.eu_withdrawal);
    assert_eq!(codes(&d), ["window_ended"]);

    assert!(
        p.warnings(true)
            .iter()
            .any(|w| w.code == "window_below_eu_minimum")
    );
    assert!(
        PolicyDocument::default()
            .warnings(true)
            .iter()
            .any(|w| w.code == "eu_withdrawal_off")
    );
    assert!(PolicyDocument::default().warnings(false).is_empty());
    assert!(PolicyDocument::eu_preset().warnings(true).is_empty());
}

#[test]
fn validation_and_strict_parsing() {
    let dup = PolicyDocument {
        rules: vec![
            rule("a", Conditions::default(), Effects::default()),
            rule("a", Conditions::default(), Effects::default()),
        ],
        ..PolicyDocument::default()
    };
    assert!(dup.validate().is_err());
    let empty = PolicyDocument {
        defaults: Defaults {
            resolutions: vec![],
            ..Defaults::default()
        },
        ..PolicyDocument::default()
    };
    assert!(empty.validate().is_err());
    let too_much = PolicyDocument {
        defaults: Defaults {
            restocking_fee: Fee {
                percent_bps: 10_001,
                fixed: BTreeMap::new(),
                ..Fee::default()
            },
            ..Defaults::default()
        },
        ..PolicyDocument::default()
    };
    assert!(too_much.validate().is_err());
    let negative = PolicyDocument {
        rules: vec![rule(
            "n",
            Conditions::default(),
            Effects {
                return_shipping_fee: Some(Fee {
                    percent_bps: 0,
                    fixed: BTreeMap::from([(Currency::PLN, -1)]),
                    ..Fee::default()
                }),
                ..Effects::default()
            },
        )],
        ..PolicyDocument::default()
    };
    assert!(negative.validate().is_err());
    assert!(PolicyDocument::eu_preset().validate().is_ok());

    let json = serde_json::to_value(PolicyDocument::eu_preset()).expect("json");
    let back: PolicyDocument = serde_json::from_value(json.clone()).expect("back");
    assert_eq!(back, PolicyDocument::eu_preset());
    let mut typo = json;
    typo["defaults"]["windw_days"] = serde_json::json!(60);
    assert!(serde_json::from_value::<PolicyDocument>(typo).is_err());
}
