//! Evaluates a policy for one item: defaults, then matching rules in order, then
//! the law; every step that changed something is written to the trace.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::document::*;
use super::explain::Explanation;
use crate::id::{CustomerId, LineId};
use crate::money::{Money, MoneyError};
use crate::order::PaymentMethod;
use crate::returns::{Resolution, ReturnMethod, ReturnReason};

/// The customer's past, as far as the policy may look at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct CustomerHistory {
    pub orders: u32,
    pub returns: u32,
    pub refused_cod_parcels: u32,
}

impl CustomerHistory {
    /// Returns per order in basis points; zero with no orders.
    pub fn return_rate_bps(&self) -> i64 {
        if self.orders == 0 {
            0
        } else {
            i64::from(self.returns) * 10_000 / i64::from(self.orders)
        }
    }
}

/// Everything a decision depends on. Stored beside the decision, so the decision
/// can be reproduced from its policy version and these facts alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Facts {
    /// When the question was asked.
    #[schema(value_type = String, format = DateTime)]
    pub now: Timestamp,
    /// The shop's IANA time zone: days are counted in it.
    pub time_zone: String,
    pub line_id: LineId,
    pub sku: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub final_sale: bool,
    pub unit_price: Money,
    /// What was paid for the whole line (after discounts, with tax).
    pub line_amount_paid: Money,
    pub line_quantity: u32,
    pub delivered_quantity: u32,
    /// Units of this line already held by other returns.
    pub held_quantity: u32,
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_shipped_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    pub payment_method: PaymentMethod,
    pub destination_country: String,
    pub postal_code: String,
    pub customer_email: String,
    pub customer_id: Option<CustomerId>,
    pub history: CustomerHistory,
    /// The reason given, once the shopper has chosen one.
    pub reason: Option<ReturnReason>,
    /// Units asked about; the decision prices exactly these.
    pub quantity: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    ReturnShipping,
    Restocking,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FeeLine {
    pub kind: FeeKind,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Window {
    pub days: u32,
    pub from: WindowStart,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    /// The last day (shop time) on which the item may be returned.
    #[schema(value_type = String, format = Date)]
    pub last_day: Date,
    /// The first instant after the window.
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
}

/// One step of the explanation for the merchant: which rule matched and what it set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TraceStep {
    /// `defaults`, `rule:<id>`, `final_sale`, `eu_withdrawal`, `lists`, `window`, `quantity`.
    pub source: String,
    /// `field=value` for each value set, in the order set.
    pub set: Vec<String>,
}

/// The policy's answer for one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub policy_version: i64,
    pub eligible: bool,
    /// Units that can still come back.
    pub returnable_quantity: u32,
    /// Sentences for the shopper, as codes with their values.
    pub explanations: Vec<Explanation>,
    pub window: Option<Window>,
    pub resolutions: Vec<Resolution>,
    pub methods: Vec<ReturnMethod>,
    /// What was paid for the units asked about.
    pub item_amount: Money,
    pub fees: Vec<FeeLine>,
    /// `item_amount − fees`, never below zero.
    pub refund_preview: Money,
    /// The refund preview plus the store-credit bonus.
    pub store_credit_preview: Money,
    pub store_credit_bonus_bps: u32,
    pub require_photos: bool,
    pub auto_approve: bool,
    pub keep_item: bool,
    pub refund_timing: RefundTiming,
    pub ship_by_days: u32,
    /// Reasons to send the return to a person instead of approving it automatically.
    pub risk: Vec<String>,
    /// The EU withdrawal right applies (refund due within 14 days of the withdrawal).
    pub eu_withdrawal: bool,
    pub trace: Vec<TraceStep>,
}

/// The working values while rules apply.
struct Draft {
    window_days: u32,
    window_from: WindowStart,
    resolutions: Vec<Resolution>,
    methods: Vec<ReturnMethod>,
    return_shipping_fee: Fee,
    restocking_fee: Fee,
    bonus: u32,
    refund_timing: RefundTiming,
    ship_by_days: u32,
    auto_approve: bool,
    require_photos: bool,
    keep_item: bool,
    denied: Vec<Explanation>,
    risk: Vec<String>,
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn local_date(t: Timestamp, tz: &TimeZone) -> Date {
    t.to_zoned_datetime(tz.clone()).date()
}

/// Whole calendar days from `from` to `to` in the shop's zone (0 on the same day).
fn days_between(from: Timestamp, to: Timestamp, tz: &TimeZone) -> i64 {
    let (a, b) = (local_date(from, tz), local_date(to, tz));
    a.until(b).map(|s| i64::from(s.get_days())).unwrap_or(0)
}

/// The last day of a window of `days` from `start`, and the first instant after it.
fn window_end(start: Timestamp, days: u32, tz: &TimeZone) -> (Date, Timestamp) {
    let first = local_date(start, tz);
    // `days` comes from the document unchecked: past jiff's span limit it is simply
    // "forever", never a panic.
    let last = jiff::Span::new()
        .try_days(i64::from(days))
        .and_then(|span| first.checked_add(span))
        .unwrap_or(Date::MAX);
    let after = last
        .checked_add(1.day())
        .ok()
        .and_then(|d| d.to_zoned_datetime(tz.clone()).ok())
        .map_or(Timestamp::MAX, |z| z.timestamp());
    (last, after)
}

impl Conditions {
    fn matches(&self, f: &Facts, tz: &TimeZone, blocked: bool) -> bool {
        let any = |list: &Option<Vec<String>>, value: &str| {
            list.as_ref()
                .is_none_or(|l| l.iter().any(|v| eq_ci(v, value)))
        };
        if !any(&self.skus, &f.sku) || !any(&self.customer_emails, &f.customer_email) {
            return false;
        }
        if let Some(tags) = &self.product_tags
            && !tags.iter().any(|t| f.tags.iter().any(|x| eq_ci(t, x)))
        {
            return false;
        }
        if let Some(cats) = &self.categories {
            match &f.category {
                Some(c) if cats.iter().any(|x| eq_ci(x, c)) => {}
                _ => return false,
            }
        }
        if let Some(p) = &self.price {
            let a = f.unit_price.amount;
            if p.currency != f.unit_price.currency
                || p.min.is_some_and(|m| a < m)
                || p.max.is_some_and(|m| a > m)
            {
                return false;
            }
        }
        if let Some(countries) = &self.destination_countries {
            let dest = f.destination_country.as_str();
            let is_eu = crate::shop::Country::try_from(dest.to_owned()).is_ok_and(|c| c.is_eu());
            if !countries
                .iter()
                .any(|c| eq_ci(c, dest) || (eq_ci(c, "EU") && is_eu))
            {
                return false;
            }
        }
        if self
            .payment_methods
            .as_ref()
            .is_some_and(|m| !m.contains(&f.payment_method))
        {
            return false;
        }
        if let Some(reasons) = &self.reasons {
            match f.reason {
                Some(r) if reasons.contains(&r) => {}
                _ => return false,
            }
        }
        if let Some(range) = &self.days_since_delivery {
            match f.delivered_at {
                Some(d) if range.contains(days_between(d, f.now, tz)) => {}
                _ => return false,
            }
        }
        if let Some(range) = &self.order_date {
            let d = local_date(f.placed_at, tz);
            if range.from.is_some_and(|from| d < from) || range.to.is_some_and(|to| d > to) {
                return false;
            }
        }
        if self.final_sale.is_some_and(|fs| fs != f.final_sale) {
            return false;
        }
        let h = &f.history;
        if self
            .customer_returns
            .is_some_and(|r| !r.contains(i64::from(h.returns)))
            || self
                .customer_return_rate_bps
                .is_some_and(|r| !r.contains(h.return_rate_bps()))
            || self
                .refused_cod_parcels
                .is_some_and(|r| !r.contains(i64::from(h.refused_cod_parcels)))
        {
            return false;
        }
        if self.blocked.is_some_and(|b| b != blocked) {
            return false;
        }
        true
    }
}

impl Draft {
    fn apply(&mut self, rule: &Rule, allowed: bool) -> Vec<String> {
        let t = &rule.then;
        let mut set = Vec::new();
        if let Some(v) = t.window_days {
            self.window_days = v;
            set.push(format!("window_days={v}"));
        }
        if let Some(v) = t.window_from {
            self.window_from = v;
            set.push(format!("window_from={v:?}"));
        }
        if let Some(msg) = &t.deny {
            self.denied.push(Explanation::Denied {
                rule: rule.id.clone(),
                message: msg.clone(),
            });
            set.push(format!("deny={msg}"));
        }
        if let Some(v) = &t.resolutions {
            self.resolutions = v.clone();
            set.push(format!(
                "resolutions={}",
                v.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
            ));
        }
        if let Some(v) = &t.methods {
            self.methods = v.clone();
            set.push(format!(
                "methods={}",
                v.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(",")
            ));
        }
        if let Some(v) = &t.return_shipping_fee {
            self.return_shipping_fee = v.clone();
            set.push("return_shipping_fee".into());
        }
        if let Some(v) = &t.restocking_fee {
            self.restocking_fee = v.clone();
            set.push("restocking_fee".into());
        }
        if let Some(v) = t.store_credit_bonus_bps {
            self.bonus = v;
            set.push(format!("store_credit_bonus_bps={v}"));
        }
        if let Some(v) = t.require_photos {
            self.require_photos = v;
            set.push(format!("require_photos={v}"));
        }
        if let Some(v) = t.auto_approve {
            self.auto_approve = v;
            set.push(format!("auto_approve={v}"));
        }
        if let Some(v) = t.keep_item {
            self.keep_item = v;
            set.push(format!("keep_item={v}"));
        }
        if let Some(v) = t.refund_timing {
            self.refund_timing = v;
            set.push(format!("refund_timing={v:?}"));
        }
        if let Some(v) = t.ship_by_days {
            self.ship_by_days = v;
            set.push(format!("ship_by_days={v}"));
        }
        if let Some(why) = &t.flag_risk {
            if allowed {
                set.push(format!("flag_risk ignored (allow list): {why}"));
            } else {
                self.risk.push(why.clone());
                set.push(format!("flag_risk={why}"));
            }
        }
        set
    }
}

/// Decides whether the item in `facts` can come back under `policy` (version
/// `version`), until when, how, and for how much. Pure: the same inputs always
/// give the same decision.
pub fn evaluate(
    policy: &PolicyDocument,
    version: i64,
    facts: &Facts,
) -> Result<Decision, MoneyError> {
    let tz = TimeZone::get(&facts.time_zone).unwrap_or(TimeZone::UTC);
    let d = &policy.defaults;
    let mut trace = vec![TraceStep {
        source: "defaults".into(),
        set: vec![
            format!("window_days={}", d.window_days),
            format!("window_from={:?}", d.window_from),
        ],
    }];
    let mut draft = Draft {
        window_days: d.window_days,
        window_from: d.window_from,
        resolutions: d.resolutions.clone(),
        methods: d.methods.clone(),
        return_shipping_fee: d.return_shipping_fee.clone(),
        restocking_fee: d.restocking_fee.clone(),
        bonus: d.store_credit_bonus_bps,
        refund_timing: d.refund_timing,
        ship_by_days: d.ship_by_days,
        auto_approve: d.auto_approve,
        require_photos: d.require_photos,
        keep_item: false,
        denied: Vec::new(),
        risk: Vec::new(),
    };

    let lists = &policy.lists;
    let on = |list: &[String], v: &str| list.iter().any(|x| eq_ci(x, v));
    let allowed = on(&lists.allowed_emails, &facts.customer_email);
    let mut blocked_why = Vec::new();
    if on(&lists.blocked_emails, &facts.customer_email) {
        blocked_why.push("email on the block list".to_owned());
    }
    if facts
        .customer_id
        .is_some_and(|c| on(&lists.blocked_customers, &c.to_string()))
    {
        blocked_why.push("customer on the block list".to_owned());
    }
    if on(&lists.blocked_postal_codes, &facts.postal_code) {
        blocked_why.push("postal code on the block list".to_owned());
    }
    let blocked = !blocked_why.is_empty() && !allowed;
    if blocked {
        trace.push(TraceStep {
            source: "lists".into(),
            set: blocked_why
                .iter()
                .map(|w| format!("flag_risk={w}"))
                .collect(),
        });
        draft.risk.extend(blocked_why);
    }

    for rule in &policy.rules {
        if rule.when.matches(facts, &tz, blocked) {
            let set = draft.apply(rule, allowed);
            trace.push(TraceStep {
                source: format!("rule:{}", rule.id),
                set,
            });
        }
    }

    let dest_eu =
        crate::shop::Country::try_from(facts.destination_country.clone()).is_ok_and(|c| c.is_eu());
    let eu = policy.eu_withdrawal && dest_eu;

    let mut explanations = Vec::new();
    // Final sale: refused by default, but not against the EU withdrawal right.
    if facts.final_sale && !d.final_sale_returnable {
        let allowed_by_rule = policy.rules.iter().any(|r| {
            r.when.final_sale == Some(true)
                && r.when.matches(facts, &tz, blocked)
                && r.then.deny.is_none()
        });
        if eu {
            trace.push(TraceStep {
                source: "final_sale".into(),
                set: vec!["not applied: EU withdrawal right".into()],
            });
        } else if !allowed_by_rule {
            draft.denied.push(Explanation::FinalSale);
            trace.push(TraceStep {
                source: "final_sale".into(),
                set: vec!["deny=final_sale".into()],
            });
        }
    }

    // The window.
    let start = match draft.window_from {
        WindowStart::Delivery => facts.delivered_at,
        // A delivered parcel was shipped by the time it arrived: with no shipping time
        // on record the window counts from delivery instead of never closing.
        WindowStart::Fulfillment if facts.first_shipped_at.is_none() => {
            if facts.delivered_at.is_some() {
                trace.push(TraceStep {
                    source: "window".into(),
                    set: vec!["no shipping time known: counted from delivery".into()],
                });
            }
            facts.delivered_at
        }
        WindowStart::Fulfillment => facts.first_shipped_at,
        WindowStart::Order => Some(facts.placed_at),
    };
    let mut window = start.map(|s| {
        let (last_day, ends_at) = window_end(s, draft.window_days, &tz);
        Window {
            days: draft.window_days,
            from: draft.window_from,
            starts_at: s,
            last_day,
            ends_at,
        }
    });
    if eu && let Some(delivered) = facts.delivered_at {
        let (last_day, ends_at) = window_end(delivered, EU_WITHDRAWAL_DAYS, &tz);
        let extends = window.as_ref().is_none_or(|w| w.ends_at < ends_at);
        if extends {
            window = Some(Window {
                days: EU_WITHDRAWAL_DAYS,
                from: WindowStart::Delivery,
                starts_at: delivered,
                last_day,
                ends_at,
            });
            trace.push(TraceStep {
                source: "eu_withdrawal".into(),
                set: vec![format!("window=14 days from delivery, until {last_day}")],
            });
            explanations.push(Explanation::EuWithdrawal { last_day });
        } else {
            trace.push(TraceStep {
                source: "eu_withdrawal".into(),
                set: vec!["policy window already covers 14 days from delivery".into()],
            });
        }
    }

    // Quantities: only delivered units, less those other returns hold.
    let returnable = facts
        .delivered_quantity
        .min(facts.line_quantity)
        .saturating_sub(facts.held_quantity);
    let mut blockers = Vec::new();
    if facts.delivered_quantity == 0 || facts.delivered_at.is_none() {
        blockers.push(Explanation::NotDelivered);
    } else if returnable == 0 {
        blockers.push(Explanation::NothingLeft);
    } else if facts.quantity > returnable {
        blockers.push(Explanation::TooMany {
            requested: facts.quantity,
            available: returnable,
        });
    }
    match &window {
        Some(w) if facts.now >= w.ends_at => blockers.push(Explanation::WindowEnded {
            days: w.days,
            last_day: w.last_day,
        }),
        Some(w) if !eu || w.days != EU_WITHDRAWAL_DAYS || w.from != WindowStart::Delivery => {
            explanations.push(Explanation::WindowOpen {
                days: w.days,
                last_day: w.last_day,
            })
        }
        _ => {}
    }
    blockers.extend(draft.denied.iter().cloned());
    let eligible = blockers.is_empty();
    blockers.extend(explanations);
    let explanations = blockers;

    // Money for exactly the units asked about, as their share of the line.
    let units = facts.quantity.min(facts.line_quantity);
    let item_amount = facts.line_amount_paid.share(
        facts.held_quantity.min(facts.line_quantity),
        facts
            .held_quantity
            .saturating_add(units)
            .min(facts.line_quantity),
        facts.line_quantity,
    );
    let mut fees = Vec::new();
    let restocking = draft.restocking_fee.on(item_amount)?;
    if restocking.amount != 0 {
        fees.push(FeeLine {
            kind: FeeKind::Restocking,
            amount: restocking,
        });
    }
    if !draft.keep_item {
        let shipping = draft.return_shipping_fee.on(item_amount)?;
        if shipping.amount != 0 {
            fees.push(FeeLine {
                kind: FeeKind::ReturnShipping,
                amount: shipping,
            });
        }
    }
    let mut refund = item_amount;
    for f in &fees {
        refund = refund.checked_sub(f.amount)?;
    }
    let refund_preview = refund.floor_zero();
    let store_credit_preview =
        refund_preview.checked_add(refund_preview.percent_bps(draft.bonus)?)?;

    let mut methods = draft.methods;
    let mut resolutions = draft.resolutions;
    if draft.keep_item {
        methods = vec![ReturnMethod::NoShipping];
        if !resolutions.contains(&Resolution::KeepItem) {
            resolutions.push(Resolution::KeepItem);
        }
    } else {
        resolutions.retain(|r| *r != Resolution::KeepItem);
    }
    let auto_approve = draft.auto_approve && draft.risk.is_empty();

    Ok(Decision {
        policy_version: version,
        eligible,
        returnable_quantity: returnable,
        explanations,
        window,
        resolutions,
        methods,
        item_amount,
        fees,
        refund_preview,
        store_credit_preview,
        store_credit_bonus_bps: draft.bonus,
        require_photos: draft.require_photos,
        auto_approve,
        keep_item: draft.keep_item,
        refund_timing: draft.refund_timing,
        ship_by_days: draft.ship_by_days,
        risk: draft.risk,
        eu_withdrawal: eu,
        trace,
    })
}
