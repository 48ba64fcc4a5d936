//! The policy document: what a merchant writes (JSON or TOML), checked on the way in.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::Holiday;
use crate::money::{Currency, Money, MoneyError};
use crate::order::PaymentMethod;
use crate::returns::{Resolution, ReturnMethod, ReturnReason};

/// The EU consumer withdrawal period, in days from delivery.
pub const EU_WITHDRAWAL_DAYS: u32 = 14;

/// What the return window counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowStart {
    Delivery,
    Fulfillment,
    Order,
}

/// When the money moves, relative to the parcel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundTiming {
    OnApproval,
    OnFirstScan,
    OnReceipt,
    OnInspection,
}

/// A fee: a percentage of the item amount, plus a fixed amount per currency,
/// kept between a minimum and a maximum, charged only for the return methods
/// listed (all when none are). A currency missing from a map has no such part.
/// The engine never lets a fee take more than what is still refundable.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    /// Basis points of the item amount (1000 = 10 %).
    #[serde(default)]
    pub percent_bps: u32,
    /// Minor units per ISO 4217 currency, e.g. `{"PLN": 999, "IDR": 1500000}`.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, i64>)]
    pub fixed: BTreeMap<Currency, i64>,
    /// The least the fee is, per currency (still capped at the refundable value).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = BTreeMap<String, i64>)]
    pub min: BTreeMap<Currency, i64>,
    /// The most the fee is, per currency.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = BTreeMap<String, i64>)]
    pub max: BTreeMap<Currency, i64>,
    /// Charged only when the item travels by one of these methods (a prepaid
    /// label costs, sending it yourself does not); every method when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<ReturnMethod>>,
}

impl Fee {
    pub fn is_zero(&self) -> bool {
        self.percent_bps == 0
            && self.fixed.values().all(|v| *v == 0)
            && self.min.values().all(|v| *v == 0)
    }

    /// Whether the fee applies to an item sent back by `method`.
    pub fn applies_to(&self, method: Option<ReturnMethod>) -> bool {
        match (&self.methods, method) {
            (None, _) => true,
            (Some(list), Some(m)) => list.contains(&m),
            // Nothing travels without a method: a method-bound fee has nothing to price.
            (Some(_), None) => false,
        }
    }

    /// The fee on `base` (the amount paid for the items it applies to), before the
    /// cap at the refundable value: percentage (half up) plus fixed, raised to the
    /// minimum, lowered to the maximum.
    pub fn on(&self, base: Money) -> Result<Money, MoneyError> {
        let c = base.currency;
        let pct = base.floor_zero().percent_bps(self.percent_bps)?;
        let fixed = Money::new(self.fixed.get(&c).copied().unwrap_or(0), c);
        let mut fee = pct.checked_add(fixed)?;
        if let Some(min) = self.min.get(&c) {
            fee.amount = fee.amount.max(*min);
        }
        if let Some(max) = self.max.get(&c) {
            fee.amount = fee.amount.min(*max);
        }
        Ok(fee)
    }
}

/// The condition of an item as the shopper declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemCondition {
    /// Sealed, as it came.
    Unopened,
    /// Opened or tried on, not used.
    Opened,
    Used,
}

/// Where the difference goes when the new variant of an exchange costs less.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeRefund {
    /// Back to the way the order was paid (see `refund_destinations`).
    OriginalPayment,
    #[default]
    StoreCredit,
}

/// Where a refund may go.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DestinationKind {
    /// The card, transfer or wallet the order was paid with; never cash on delivery.
    OriginalMethod,
    BankAccount,
    EWallet,
    StoreCredit,
}

impl DestinationKind {
    /// Its serde name (`bank_account`).
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::OriginalMethod => "original_method",
            DestinationKind::BankAccount => "bank_account",
            DestinationKind::EWallet => "e_wallet",
            DestinationKind::StoreCredit => "store_credit",
        }
    }

    /// Where a refund of an order paid by `method` may go when the policy does not say.
    pub fn defaults_for(method: PaymentMethod) -> Vec<DestinationKind> {
        use DestinationKind::*;
        match method {
            // The money was cash at the door: there is no original method to refund to.
            PaymentMethod::CashOnDelivery => vec![BankAccount, EWallet, StoreCredit],
            _ => vec![OriginalMethod, StoreCredit],
        }
    }
}

/// The statutory warranty (EU legal guarantee; Polish `rękojmia`, claimed by a
/// `reklamacja`): its period from delivery, the reasons it covers, and the days the
/// shop has to answer before the claim is deemed accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Warranty {
    /// Months from delivery (24 in the EU; 12 for used goods where agreed).
    pub months: u32,
    pub reasons: Vec<ReturnReason>,
    /// Days the shop has to answer a claim (14 in Poland, art. 7a of the consumer
    /// rights act); the answer-by date is on the decision.
    pub answer_days: u32,
}

impl Default for Warranty {
    fn default() -> Self {
        Self {
            months: 24,
            reasons: vec![ReturnReason::Defective, ReturnReason::NotAsDescribed],
            answer_days: 14,
        }
    }
}

/// Claims about the delivery itself: damaged in transit, an item missing from the
/// parcel, a parcel that never arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryClaims {
    /// Days from delivery to report damage or a missing item.
    pub days: u32,
    /// Days from shipping within which a parcel that never arrived can be claimed.
    pub never_arrived_days: u32,
    /// Days the shop has to answer a claim.
    pub answer_days: u32,
}

impl Default for DeliveryClaims {
    fn default() -> Self {
        Self {
            days: 14,
            never_arrived_days: 60,
            answer_days: 14,
        }
    }
}

/// The shop's own additions to its country's public holidays, year by year
/// (Indonesia's lunar holidays and collective leave, as decreed each year).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyCalendar {
    pub holidays: Vec<Holiday>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    pub window_days: u32,
    pub window_from: WindowStart,
    pub resolutions: Vec<Resolution>,
    pub methods: Vec<ReturnMethod>,
    pub return_shipping_fee: Fee,
    pub restocking_fee: Fee,
    /// Extra store credit on top of the amount, in basis points (1000 = +10 %).
    pub store_credit_bonus_bps: u32,
    pub refund_timing: RefundTiming,
    /// Days after approval to hand the parcel to the carrier before the return expires.
    pub ship_by_days: u32,
    pub auto_approve: bool,
    pub require_photos: bool,
    /// Final-sale items are refused unless this is set or a rule allows them.
    pub final_sale_returnable: bool,
    /// Where the difference goes when an exchange's new variant costs less.
    pub exchange_refund: ExchangeRefund,
    /// Days within which a person answers a return held for review.
    pub review_days: u32,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            window_days: 30,
            window_from: WindowStart::Delivery,
            resolutions: vec![
                Resolution::Refund,
                Resolution::StoreCredit,
                Resolution::Exchange,
            ],
            methods: vec![ReturnMethod::DropOff],
            return_shipping_fee: Fee::default(),
            restocking_fee: Fee::default(),
            store_credit_bonus_bps: 0,
            refund_timing: RefundTiming::OnInspection,
            ship_by_days: 14,
            auto_approve: false,
            require_photos: false,
            final_sale_returnable: false,
            exchange_refund: ExchangeRefund::StoreCredit,
            review_days: 2,
        }
    }
}

/// An inclusive range; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Range {
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
}

impl Range {
    pub fn contains(&self, v: i64) -> bool {
        self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m)
    }
}

/// A unit-price range in one currency's minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceRange {
    pub currency: Currency,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
}

/// Calendar dates in the shop's time zone, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<Date>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub to: Option<Date>,
}

/// When a rule applies: every condition given must hold; an absent one always does.
/// List conditions hold when the item matches any entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Conditions {
    pub skus: Option<Vec<String>>,
    pub product_tags: Option<Vec<String>>,
    pub categories: Option<Vec<String>>,
    pub price: Option<PriceRange>,
    /// ISO country codes; `EU` stands for every EU member state.
    pub destination_countries: Option<Vec<String>>,
    pub payment_methods: Option<Vec<PaymentMethod>>,
    pub reasons: Option<Vec<ReturnReason>>,
    pub days_since_delivery: Option<Range>,
    pub order_date: Option<DateRange>,
    pub final_sale: Option<bool>,
    /// The customer's returns before this one.
    pub customer_returns: Option<Range>,
    /// Returns per order of the customer, in basis points (2500 = one in four).
    pub customer_return_rate_bps: Option<Range>,
    /// Cash-on-delivery parcels the customer refused at the door.
    pub refused_cod_parcels: Option<Range>,
    pub customer_emails: Option<Vec<String>>,
    /// Holds when the customer is (true) or is not (false) on one of the block lists.
    pub blocked: Option<bool>,
    /// The method the item travels back by.
    pub return_methods: Option<Vec<ReturnMethod>>,
    /// The item's condition as the shopper declares it.
    pub item_conditions: Option<Vec<ItemCondition>>,
    /// What the whole order cost, in one currency's minor units.
    pub order_total: Option<PriceRange>,
    /// Units in the whole return being asked for.
    pub items_returned: Option<Range>,
    /// The shop's country (whose calendar counts working days).
    pub shop_countries: Option<Vec<String>>,
    /// Working days since delivery by the shop's country calendar (weekends and
    /// public holidays not counted).
    pub working_days_since_delivery: Option<Range>,
}

/// What a matching rule sets. Absent fields leave the value as it was.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Effects {
    pub window_days: Option<u32>,
    pub window_from: Option<WindowStart>,
    /// Refuse the item, with the reason the shopper is shown. A deny stays even
    /// when a later rule matches.
    pub deny: Option<String>,
    pub resolutions: Option<Vec<Resolution>>,
    pub methods: Option<Vec<ReturnMethod>>,
    pub return_shipping_fee: Option<Fee>,
    pub restocking_fee: Option<Fee>,
    pub store_credit_bonus_bps: Option<u32>,
    pub require_photos: Option<bool>,
    pub auto_approve: Option<bool>,
    /// The shopper keeps the item and is refunded or credited without sending it.
    pub keep_item: Option<bool>,
    pub refund_timing: Option<RefundTiming>,
    pub ship_by_days: Option<u32>,
    /// Send the return to a person for review, with this reason.
    pub flag_risk: Option<String>,
    /// The shop window lasts at least until the end of this day (the later of the
    /// computed window and this date), e.g. a holiday season.
    #[schema(value_type = Option<String>, format = Date)]
    pub window_until: Option<Date>,
    /// The shop window's last day moves past weekends and public holidays like
    /// the statutory one (shop windows do not move otherwise).
    pub window_moves_past_holidays: Option<bool>,
    pub exchange_refund: Option<ExchangeRefund>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable name of the rule, shown in the trace (`final-sale`, `holiday-2026`).
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub when: Conditions,
    pub then: Effects,
}

impl Rule {
    /// The preset rule for the shop's own faults: damaged, defective or wrong items
    /// come back without fees, for a refund, a replacement or store credit.
    pub fn merchant_fault_is_free() -> Rule {
        Rule {
            id: "merchant-fault-is-free".into(),
            description: Some("Damaged, defective or wrong items come back free".into()),
            when: Conditions {
                reasons: Some(vec![
                    ReturnReason::Damaged,
                    ReturnReason::Defective,
                    ReturnReason::WrongItem,
                ]),
                ..Conditions::default()
            },
            then: Effects {
                return_shipping_fee: Some(Fee::default()),
                restocking_fee: Some(Fee::default()),
                resolutions: Some(vec![
                    Resolution::Refund,
                    Resolution::Replacement,
                    Resolution::StoreCredit,
                ]),
                ..Effects::default()
            },
        }
    }
}

/// One entry of an allow or block list: the value, and the merchant's own note on
/// why it is there. Written as a plain string or as `{"value": .., "note": ..}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ListEntry {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl<'de> Deserialize<'de> for ListEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Noted {
            value: String,
            #[serde(default)]
            note: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Plain(String),
            Noted(Noted),
        }
        Ok(match Either::deserialize(d)? {
            Either::Plain(value) => ListEntry { value, note: None },
            Either::Noted(n) => ListEntry {
                value: n.value,
                note: n.note,
            },
        })
    }
}

impl From<&str> for ListEntry {
    fn from(v: &str) -> Self {
        ListEntry {
            value: v.to_owned(),
            note: None,
        }
    }
}

/// Allow and block lists against abuse. A blocked customer's returns go to review;
/// an allowed email is never flagged by a rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Lists {
    pub blocked_emails: Vec<ListEntry>,
    pub blocked_customers: Vec<ListEntry>,
    pub blocked_postal_codes: Vec<ListEntry>,
    pub allowed_emails: Vec<ListEntry>,
}

/// A shop's return policy. Stored as numbered versions; a decision names its version.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// The EU consumer withdrawal preset: for deliveries to EU countries at least
    /// 14 days from delivery, final-sale items included (unless a rule denies them).
    #[serde(default)]
    pub eu_withdrawal: bool,
    #[serde(default)]
    pub lists: Lists,
    /// The shop's additions to its country's public holidays.
    #[serde(default)]
    pub calendar: PolicyCalendar,
    /// The statutory warranty; off when absent.
    #[serde(default)]
    pub warranty: Option<Warranty>,
    /// Delivery claims; off when absent.
    #[serde(default)]
    pub delivery_claims: Option<DeliveryClaims>,
    /// Where refunds of orders paid each way may go; a payment method missing
    /// here gets [`DestinationKind::defaults_for`].
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Vec<DestinationKind>>)]
    pub refund_destinations: BTreeMap<PaymentMethod, Vec<DestinationKind>>,
}

/// Something a merchant should hear about a policy they save; not an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyWarning {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("{0}")]
    Invalid(String),
}

impl PolicyDocument {
    /// Refuses a document that cannot mean anything sensible.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let invalid = |m: String| Err(PolicyError::Invalid(m));
        if self.defaults.resolutions.is_empty() {
            return invalid("defaults.resolutions must allow at least one resolution".into());
        }
        if self.defaults.methods.is_empty() {
            return invalid("defaults.methods must allow at least one return method".into());
        }
        if self.defaults.window_days > 3650 {
            return invalid("defaults.window_days is more than ten years".into());
        }
        if self.defaults.store_credit_bonus_bps > MAX_BONUS_BPS {
            return invalid("defaults.store_credit_bonus_bps is more than 100 %".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for (n, rule) in self.rules.iter().enumerate() {
            if rule.id.trim().is_empty() {
                return invalid(format!("rules[{n}].id is empty"));
            }
            if !seen.insert(rule.id.as_str()) {
                return invalid(format!("rules[{n}].id `{}` is used twice", rule.id));
            }
            if rule.then.window_days.is_some_and(|d| d > 3650) {
                return invalid(format!(
                    "rules[{n}].then.window_days is more than ten years"
                ));
            }
            if rule
                .then
                .store_credit_bonus_bps
                .is_some_and(|b| b > MAX_BONUS_BPS)
            {
                return invalid(format!(
                    "rules[{n}].then.store_credit_bonus_bps is more than 100 %"
                ));
            }
            if rule.then.resolutions.as_ref().is_some_and(Vec::is_empty) {
                return invalid(format!(
                    "rules[{n}].then.resolutions is empty: use `deny` to refuse the item"
                ));
            }
            for fee in [&rule.then.restocking_fee, &rule.then.return_shipping_fee]
                .into_iter()
                .flatten()
            {
                check_fee(fee).map_err(|m| PolicyError::Invalid(format!("rules[{n}]: {m}")))?;
            }
            if let Some(p) = &rule.when.price
                && p.min.zip(p.max).is_some_and(|(a, b)| a > b)
            {
                return invalid(format!("rules[{n}].when.price: min is above max"));
            }
        }
        for fee in [
            &self.defaults.restocking_fee,
            &self.defaults.return_shipping_fee,
        ] {
            check_fee(fee).map_err(|m| PolicyError::Invalid(format!("defaults: {m}")))?;
        }
        if self.defaults.review_days > 365 {
            return invalid("defaults.review_days is more than a year".into());
        }
        if let Some(w) = &self.warranty {
            if w.months == 0 || w.months > 120 {
                return invalid("warranty.months must be between 1 and 120".into());
            }
            if w.answer_days > 365 {
                return invalid("warranty.answer_days is more than a year".into());
            }
        }
        if let Some(c) = &self.delivery_claims
            && (c.days > 3650 || c.never_arrived_days > 3650 || c.answer_days > 365)
        {
            return invalid("delivery_claims: a period is more than ten years".into());
        }
        if self.calendar.holidays.len() > MAX_HOLIDAYS {
            return invalid(format!(
                "calendar.holidays has more than {MAX_HOLIDAYS} days"
            ));
        }
        for (method, kinds) in &self.refund_destinations {
            if kinds.is_empty() {
                return invalid(format!(
                    "refund_destinations.{}: allow at least one destination",
                    method.as_str()
                ));
            }
            if *method == PaymentMethod::CashOnDelivery
                && kinds.contains(&DestinationKind::OriginalMethod)
            {
                return invalid(
                    "refund_destinations.cash_on_delivery: cash cannot be refunded to its original method; use bank_account, e_wallet or store_credit".into(),
                );
            }
        }
        let lists = [
            &self.lists.blocked_emails,
            &self.lists.blocked_customers,
            &self.lists.blocked_postal_codes,
            &self.lists.allowed_emails,
        ];
        for e in lists.into_iter().flatten() {
            if e.value.chars().count() > MAX_LIST_TEXT
                || e.note
                    .as_ref()
                    .is_some_and(|n| n.chars().count() > MAX_LIST_TEXT)
            {
                return invalid(format!(
                    "lists: an entry or its note is longer than {MAX_LIST_TEXT} characters"
                ));
            }
        }
        Ok(())
    }

    /// Warnings for a shop in `shop_country_is_eu`: a window shorter than the law's.
    pub fn warnings(&self, shop_country_is_eu: bool) -> Vec<PolicyWarning> {
        let mut out = Vec::new();
        if !shop_country_is_eu {
            return out;
        }
        if !self.eu_withdrawal {
            out.push(PolicyWarning {
                code: "eu_withdrawal_off".into(),
                message: "EU consumers may withdraw within 14 days of delivery; turn on `eu_withdrawal` so Kembali applies it".into(),
            });
        }
        let short = |days: u32, from: WindowStart| {
            days < EU_WITHDRAWAL_DAYS || from != WindowStart::Delivery
        };
        if short(self.defaults.window_days, self.defaults.window_from) {
            out.push(PolicyWarning {
                code: "window_below_eu_minimum".into(),
                message: format!(
                    "the default window ({} days from {:?}) is shorter than the EU minimum of 14 days from delivery",
                    self.defaults.window_days, self.defaults.window_from
                ),
            });
        }
        for rule in &self.rules {
            if let Some(days) = rule.then.window_days
                && days < EU_WITHDRAWAL_DAYS
            {
                out.push(PolicyWarning {
                    code: "window_below_eu_minimum".into(),
                    message: format!(
                        "rule `{}` sets a {days}-day window, below the EU minimum of 14 days",
                        rule.id
                    ),
                });
            }
        }
        out
    }

    /// The EU consumer withdrawal preset with sensible defaults for a Polish shop.
    pub fn eu_preset() -> PolicyDocument {
        PolicyDocument {
            name: Some("EU consumer withdrawal".into()),
            defaults: Defaults {
                window_days: EU_WITHDRAWAL_DAYS,
                ..Defaults::default()
            },
            rules: vec![Rule::merchant_fault_is_free()],
            eu_withdrawal: true,
            warranty: Some(Warranty::default()),
            delivery_claims: Some(DeliveryClaims::default()),
            ..PolicyDocument::default()
        }
    }
}

/// The largest store-credit bonus: 100 % on top. With [`Money::MAX_AMOUNT`] it
/// bounds what any return can pay out (see there).
pub const MAX_BONUS_BPS: u32 = 10_000;

/// Days a policy's holiday table may hold (years of holidays, not a list of every day).
pub const MAX_HOLIDAYS: usize = 1000;
/// Characters of a list entry and of its note.
pub const MAX_LIST_TEXT: usize = 500;

fn check_fee(fee: &Fee) -> Result<(), String> {
    for (c, min) in &fee.min {
        if *min < 0 || *min > Money::MAX_AMOUNT {
            return Err(format!("a minimum fee in {c} is out of range"));
        }
        if fee.max.get(c).is_some_and(|max| max < min) {
            return Err(format!("the minimum fee in {c} is above the maximum"));
        }
    }
    if fee.max.values().any(|v| *v < 0 || *v > Money::MAX_AMOUNT) {
        return Err("a maximum fee is out of range".into());
    }
    if fee.percent_bps > 10_000 {
        return Err("a fee cannot be more than 100 % of the item".into());
    }
    if fee.fixed.values().any(|v| *v < 0) {
        return Err("a fixed fee cannot be negative".into());
    }
    if fee.fixed.values().any(|v| *v > Money::MAX_AMOUNT) {
        return Err(format!(
            "a fixed fee cannot be more than {} minor units",
            Money::MAX_AMOUNT
        ));
    }
    Ok(())
}
