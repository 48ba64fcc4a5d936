//! The demo shop's returns policy: a 30-day window from delivery, free returns
//! for the shop's own faults, quick approval for regulars, keep-the-item for
//! cheap things, and the cash-on-delivery habits of the Indonesian market.

use kembali_core::order::PaymentMethod;
use kembali_core::policy::{
    Conditions, Defaults, Effects, Fee, Lists, PolicyDocument, PriceRange, Range, RefundTiming,
    Rule, WindowStart,
};
use kembali_core::returns::{Resolution, ReturnMethod, ReturnReason};
use kembali_core::{Currency, Money};

use super::catalogue::KEEP_BELOW;
use super::markets::{EU, ID, MARKETS, PL};

pub(super) fn demo_policy() -> PolicyDocument {
    PolicyDocument {
        name: Some("Toko Kembali returns policy".into()),
        defaults: defaults(),
        rules: vec![
            final_sale_hygiene(),
            cod_refund_or_credit(),
            merchant_fault_with_photos(),
            quick_approve(),
            keep_cheap(ID),
            keep_cheap(PL),
            keep_cheap(EU),
            refused_cod_parcels(),
        ],
        eu_withdrawal: true,
        lists: Lists::default(),
        ..PolicyDocument::default()
    }
}

fn defaults() -> Defaults {
    let fixed = [
        (Currency::IDR, 1_500_000),
        (Currency::PLN, 999),
        (Currency::EUR, 495),
    ];
    Defaults {
        window_days: 30,
        window_from: WindowStart::Delivery,
        resolutions: vec![
            Resolution::Refund,
            Resolution::StoreCredit,
            Resolution::Exchange,
        ],
        methods: vec![ReturnMethod::DropOff, ReturnMethod::CourierPickup],
        return_shipping_fee: Fee {
            percent_bps: 0,
            fixed: fixed.into_iter().collect(),
            ..Fee::default()
        },
        store_credit_bonus_bps: 1_000,
        refund_timing: RefundTiming::OnInspection,
        ship_by_days: 10,
        ..Defaults::default()
    }
}

fn final_sale_hygiene() -> Rule {
    Rule {
        id: "final-sale-hygiene".into(),
        description: Some("Final-sale cosmetics are not taken back once opened (hygiene)".into()),
        when: Conditions {
            final_sale: Some(true),
            product_tags: Some(vec!["hygiene".into()]),
            ..Conditions::default()
        },
        then: Effects {
            deny: Some("Opened cosmetics cannot be returned for hygiene reasons.".into()),
            ..Effects::default()
        },
    }
}

fn cod_refund_or_credit() -> Rule {
    Rule {
        id: "cod-refund-or-credit".into(),
        description: Some(
            "Cash-on-delivery orders: a refund to a bank account or e-wallet, or store credit, once the parcel is back"
                .into(),
        ),
        when: Conditions {
            payment_methods: Some(vec![PaymentMethod::CashOnDelivery]),
            ..Conditions::default()
        },
        then: Effects {
            resolutions: Some(vec![Resolution::Refund, Resolution::StoreCredit]),
            refund_timing: Some(RefundTiming::OnReceipt),
            ..Effects::default()
        },
    }
}

/// The shop's own faults come back free, with photos as evidence.
fn merchant_fault_with_photos() -> Rule {
    let merchant_fault = Rule::merchant_fault_is_free();
    Rule {
        then: Effects {
            require_photos: Some(true),
            ..merchant_fault.then.clone()
        },
        ..merchant_fault
    }
}

fn quick_approve() -> Rule {
    Rule {
        id: "quick-approve".into(),
        description: Some(
            "Size and change-of-mind returns of regular customers are approved at once".into(),
        ),
        when: Conditions {
            reasons: Some(vec![ReturnReason::ChangedMind, ReturnReason::WrongSize]),
            customer_returns: Some(Range {
                min: None,
                max: Some(3),
            }),
            ..Conditions::default()
        },
        then: Effects {
            auto_approve: Some(true),
            ..Effects::default()
        },
    }
}

fn keep_cheap(m: usize) -> Rule {
    let currency = MARKETS[m].currency;
    Rule {
        id: format!("keep-cheap-{}", currency.code().to_lowercase()),
        description: Some(format!(
            "Items up to {}: the shopper keeps them, sending them back costs more",
            Money::new(KEEP_BELOW[m], currency)
        )),
        when: Conditions {
            price: Some(PriceRange {
                currency,
                min: None,
                max: Some(KEEP_BELOW[m]),
            }),
            ..Conditions::default()
        },
        then: Effects {
            keep_item: Some(true),
            ..Effects::default()
        },
    }
}

fn refused_cod_parcels() -> Rule {
    Rule {
        id: "refused-cod-parcels".into(),
        description: Some("Customers who refused two cash-on-delivery parcels go to review".into()),
        when: Conditions {
            refused_cod_parcels: Some(Range {
                min: Some(2),
                max: None,
            }),
            ..Conditions::default()
        },
        then: Effects {
            flag_risk: Some("refused two or more cash-on-delivery parcels".into()),
            ..Effects::default()
        },
    }
}
