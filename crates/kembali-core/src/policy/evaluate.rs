//! Evaluates a policy for one item: defaults, then matching rules in order, then
//! the law; every step that changed something is written to the trace.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::ShopCalendar;
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

/// What a delivery claim is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    DamagedInTransit,
    MissingItem,
    NeverArrived,
}

/// The variant the shopper wants instead, for an exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExchangeFor {
    pub sku: String,
    /// Its price per unit now, tax included.
    pub unit_price: Money,
}

/// Everything a decision depends on. Stored beside the decision, so the decision
/// can be reproduced from its policy version and these facts alone. Fields added
/// later read as their default from facts stored before them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Facts {
    /// When the question was asked (for a return: when the shopper made the
    /// statement of withdrawal or the claim).
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
    /// When this line's last delivered unit arrived.
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
    /// When the consumer took the last parcel of the whole order: day 0 of the
    /// statutory withdrawal period. Absent (facts stored before it was kept), the
    /// line's own delivery stands in.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub order_delivered_at: Option<Timestamp>,
    /// Some parcel of the order has not been delivered yet: the statutory period
    /// has not started.
    #[serde(default)]
    pub parcels_outstanding: bool,
    /// The shop's ISO country: its public holidays move statutory deadlines.
    #[serde(default)]
    pub shop_country: String,
    /// The tax inside `line_amount_paid`.
    #[serde(default)]
    pub line_tax: Option<Money>,
    /// How the item would travel back, when known.
    #[serde(default)]
    pub return_method: Option<ReturnMethod>,
    /// The item's condition as the shopper declares it.
    #[serde(default)]
    pub item_condition: Option<ItemCondition>,
    /// What the whole order cost.
    #[serde(default)]
    pub order_total: Option<Money>,
    /// Units in the whole return being asked for (this item's when absent).
    #[serde(default)]
    pub items_returned: Option<u32>,
    /// A delivery claim instead of a return.
    #[serde(default)]
    pub claim: Option<ClaimKind>,
    /// The new variant of an exchange.
    #[serde(default)]
    pub exchange_for: Option<ExchangeFor>,
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
    /// The last day before the calendar moved it past a weekend or holiday.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub moved_from: Option<Date>,
    /// The statutory period has not started (a parcel is still on its way): the
    /// last day shown is the earliest it can be.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
}

/// Which right grants the return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    StatutoryWithdrawal,
    ShopPolicy,
    Warranty,
    DeliveryClaim,
}

/// The answer in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    #[default]
    Eligible,
    /// A person checks the request first (block list, risk); not accepted yet.
    Review,
    Refused,
}

/// Who settles an exchange's price difference, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    Even,
    ShopperPays,
    OriginalPayment,
    StoreCredit,
}

/// An exchange priced: the new variant against what was paid for the old one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExchangePrice {
    pub sku: String,
    /// The new variant's price for the units exchanged.
    pub new_amount: Money,
    /// `new_amount − item_amount`: above zero the shopper pays it, below zero it
    /// goes back as `settlement` says.
    pub difference: Money,
    pub settlement: Settlement,
}

/// One step of the explanation for the merchant: which rule matched and what it set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TraceStep {
    /// `defaults`, `lists`, `rule:<id>`, `statutory_window`, `shop_window`,
    /// `warranty`, `delivery_claim`, `basis`, `final_sale`, `eu_withdrawal`,
    /// `fees`, `exchange`, `window`.
    pub source: String,
    /// `field=value` for each value set, in the order set.
    pub set: Vec<String>,
}

/// The policy's answer for one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub policy_version: i64,
    /// The item can come back (perhaps after review: see `outcome`).
    pub eligible: bool,
    #[serde(default)]
    pub outcome: Outcome,
    /// Which right grants the return; none when refused.
    #[serde(default)]
    pub basis: Option<Basis>,
    /// Units that can still come back.
    pub returnable_quantity: u32,
    /// Sentences for the shopper, as codes with their values.
    pub explanations: Vec<Explanation>,
    /// The window that grants the return (or, refused, the one that ended last).
    pub window: Option<Window>,
    /// The statutory withdrawal window (EU destinations under `eu_withdrawal`).
    #[serde(default)]
    pub statutory_window: Option<Window>,
    /// The shop's own window, as the policy writes it.
    #[serde(default)]
    pub shop_window: Option<Window>,
    /// The warranty or delivery-claim period, when the reason asks for one.
    #[serde(default)]
    pub claim_window: Option<Window>,
    /// The last day the return can be asked for, whichever window grants it.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub deadline: Option<Date>,
    /// Offered now; empty when refused.
    pub resolutions: Vec<Resolution>,
    /// Warranty: what the shopper may ask for once repair or replacement is
    /// impossible or has failed (price reduction, refund).
    #[serde(default)]
    pub later_resolutions: Vec<Resolution>,
    pub methods: Vec<ReturnMethod>,
    /// What was paid for the units asked about, tax included.
    pub item_amount: Money,
    /// The tax inside `item_amount`.
    #[serde(default)]
    pub item_tax: Option<Money>,
    /// Each fee, never more than what is left to refund.
    pub fees: Vec<FeeLine>,
    /// `item_amount − fees`; none when refused.
    pub refund_preview: Option<Money>,
    /// The tax inside the refund preview.
    #[serde(default)]
    pub refund_tax: Option<Money>,
    /// The refund preview plus the store-credit bonus; none when refused.
    pub store_credit_preview: Option<Money>,
    pub store_credit_bonus_bps: u32,
    /// Where the refund may go for this order's payment method.
    #[serde(default)]
    pub refund_destinations: Vec<DestinationKind>,
    /// The exchange priced, when a new variant was named.
    #[serde(default)]
    pub exchange: Option<ExchangePrice>,
    pub require_photos: bool,
    pub auto_approve: bool,
    pub keep_item: bool,
    /// The shop pays the shipping both ways (warranty and delivery claims).
    #[serde(default)]
    pub shop_pays_shipping: bool,
    pub refund_timing: RefundTiming,
    pub ship_by_days: u32,
    /// Reasons to send the return to a person instead of approving it automatically.
    pub risk: Vec<String>,
    /// Inside the statutory withdrawal window: the withdrawal-only effects apply
    /// (delivery refund on a whole-order withdrawal, refund due 14 days after the
    /// statement, no fee but return shipping, final sale lifted).
    pub eu_withdrawal: bool,
    /// Under withdrawal: the refund must be paid before this instant.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub refund_due_by: Option<Timestamp>,
    /// Warranty, delivery claim or review: the shop answers before this instant
    /// (a warranty claim unanswered by then is deemed accepted).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub answer_due_by: Option<Timestamp>,
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
    window_until: Option<Date>,
    window_moves: bool,
    exchange_refund: ExchangeRefund,
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

/// The last day of a window of `days` from `start` (day 0), unmoved.
fn last_day_of(start: Timestamp, days: u32, tz: &TimeZone) -> Date {
    let first = local_date(start, tz);
    // `days` comes from the document unchecked: past jiff's span limit it is simply
    // "forever", never a panic.
    jiff::Span::new()
        .try_days(i64::from(days))
        .and_then(|span| first.checked_add(span))
        .unwrap_or(Date::MAX)
}

/// The first instant after the end of `last` in the shop's zone.
fn after_day(last: Date, tz: &TimeZone) -> Timestamp {
    last.checked_add(1.day())
        .ok()
        .and_then(|d| d.to_zoned_datetime(tz.clone()).ok())
        .map_or(Timestamp::MAX, |z| z.timestamp())
}

/// A window of `days` from `start` whose last day is `last` (perhaps moved).
fn window(
    days: u32,
    from: WindowStart,
    start: Timestamp,
    unmoved: Date,
    last: Date,
    tz: &TimeZone,
) -> Window {
    Window {
        days,
        from,
        starts_at: start,
        last_day: last,
        ends_at: after_day(last, tz),
        moved_from: (last != unmoved).then_some(unmoved),
        provisional: false,
    }
}

/// A statutory period of `days` from `start`: ending on a day off, it ends with
/// the next working day of the shop's country.
fn statutory(
    days: u32,
    from: WindowStart,
    start: Timestamp,
    tz: &TimeZone,
    cal: &ShopCalendar<'_>,
) -> Window {
    let unmoved = last_day_of(start, days, tz);
    window(
        days,
        from,
        start,
        unmoved,
        cal.next_working_day(unmoved),
        tz,
    )
}

impl Conditions {
    fn matches(&self, f: &Facts, tz: &TimeZone, cal: &ShopCalendar<'_>, blocked: bool) -> bool {
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
        if let Some(methods) = &self.return_methods {
            match f.return_method {
                Some(m) if methods.contains(&m) => {}
                _ => return false,
            }
        }
        if let Some(conditions) = &self.item_conditions {
            match f.item_condition {
                Some(c) if conditions.contains(&c) => {}
                _ => return false,
            }
        }
        if let Some(p) = &self.order_total {
            match f.order_total {
                Some(t)
                    if t.currency == p.currency
                        && p.min.is_none_or(|m| t.amount >= m)
                        && p.max.is_none_or(|m| t.amount <= m) => {}
                _ => return false,
            }
        }
        if let Some(r) = &self.items_returned
            && !r.contains(i64::from(f.items_returned.unwrap_or(f.quantity)))
        {
            return false;
        }
        if let Some(countries) = &self.shop_countries
            && !countries.iter().any(|c| eq_ci(c, &f.shop_country))
        {
            return false;
        }
        if let Some(range) = &self.working_days_since_delivery {
            match f.delivered_at {
                Some(d)
                    if range.contains(
                        cal.working_days_between(local_date(d, tz), local_date(f.now, tz)),
                    ) => {}
                _ => return false,
            }
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
        if let Some(v) = t.window_until {
            self.window_until = Some(v);
            set.push(format!("window_until={v}"));
        }
        if let Some(v) = t.window_moves_past_holidays {
            self.window_moves = v;
            set.push(format!("window_moves_past_holidays={v}"));
        }
        if let Some(v) = t.exchange_refund {
            self.exchange_refund = v;
            set.push(format!("exchange_refund={v:?}"));
        }
        set
    }
}

/// The first instant after `days` days from the shop-local day of `at`, moved
/// past days off when `moves`.
fn due_after(
    at: Timestamp,
    days: u32,
    tz: &TimeZone,
    cal: &ShopCalendar<'_>,
    moves: bool,
) -> (Date, Timestamp) {
    let last = last_day_of(at, days, tz);
    let last = if moves {
        cal.next_working_day(last)
    } else {
        last
    };
    (last, after_day(last, tz))
}

/// `part × num / den` rounded half up (zero when `den` is not positive): the tax
/// inside a refund that is `num` of an amount `den` carrying `part` of tax.
fn proportional(part: Money, num: i64, den: i64) -> Money {
    if den <= 0 {
        return Money::zero(part.currency);
    }
    let (p, n, d) = (i128::from(part.amount), i128::from(num), i128::from(den));
    let v = (2 * p * n + d).div_euclid(2 * d);
    // |v| ≤ |part| because 0 ≤ num ≤ den.
    Money::new(i64::try_from(v).unwrap_or(part.amount), part.currency)
}

/// Decides whether the item in `facts` can come back under `policy` (version
/// `version`), on which right, until when, how, and for how much. Pure: the same
/// inputs always give the same decision.
pub fn evaluate(
    policy: &PolicyDocument,
    version: i64,
    facts: &Facts,
) -> Result<Decision, MoneyError> {
    let tz = TimeZone::get(&facts.time_zone).unwrap_or(TimeZone::UTC);
    let cal = ShopCalendar {
        country: &facts.shop_country,
        extra: &policy.calendar.holidays,
    };
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
        window_until: None,
        window_moves: false,
        exchange_refund: d.exchange_refund,
    };

    // Lists: a block-list entry sends the return to review, with the merchant's note.
    let lists = &policy.lists;
    fn find<'a>(list: &'a [ListEntry], v: &str) -> Option<&'a ListEntry> {
        list.iter().find(|x| eq_ci(&x.value, v))
    }
    let allowed = find(&lists.allowed_emails, &facts.customer_email).is_some();
    let why = |what: &str, e: &ListEntry| match &e.note {
        Some(n) => format!("{what} on the block list: {n}"),
        None => format!("{what} on the block list"),
    };
    let mut blocked_why = Vec::new();
    if let Some(e) = find(&lists.blocked_emails, &facts.customer_email) {
        blocked_why.push(why("email", e));
    }
    if let Some(e) = facts
        .customer_id
        .and_then(|c| find(&lists.blocked_customers, &c.to_string()))
    {
        blocked_why.push(why("customer", e));
    }
    if let Some(e) = find(&lists.blocked_postal_codes, &facts.postal_code) {
        blocked_why.push(why("postal code", e));
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
        if rule.when.matches(facts, &tz, &cal, blocked) {
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
    let now = facts.now;
    let open = |w: &Option<Window>| w.as_ref().is_some_and(|w| now < w.ends_at);

    // 1. The statutory withdrawal window: 14 days from the day the consumer took
    // the last parcel of the order, moved past days off.
    let statutory_window = match (eu, facts.delivered_at) {
        (true, Some(line_delivered)) if facts.parcels_outstanding => {
            // Not started yet: it cannot end before 14 days from today.
            let mut w = statutory(
                EU_WITHDRAWAL_DAYS,
                WindowStart::Delivery,
                now.max(line_delivered),
                &tz,
                &cal,
            );
            w.provisional = true;
            Some(w)
        }
        (true, Some(line_delivered)) => Some(statutory(
            EU_WITHDRAWAL_DAYS,
            WindowStart::Delivery,
            facts.order_delivered_at.unwrap_or(line_delivered),
            &tz,
            &cal,
        )),
        _ => None,
    };
    if let Some(w) = &statutory_window {
        let mut set = vec![format!("last_day={}", w.last_day)];
        if let Some(m) = w.moved_from {
            set.push(format!("moved from {m} (weekend or public holiday)"));
        }
        if w.provisional {
            set.push("not started: a parcel is still on its way".into());
        }
        trace.push(TraceStep {
            source: "statutory_window".into(),
            set,
        });
    }

    // 2. The shop's own window, as written; it moves only when a rule says so.
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
    let shop_window = start.map(|s| {
        let unmoved = last_day_of(s, draft.window_days, &tz);
        let mut last = unmoved;
        if let Some(until) = draft.window_until
            && until > last
        {
            last = until;
        }
        if draft.window_moves {
            last = cal.next_working_day(last);
        }
        window(draft.window_days, draft.window_from, s, unmoved, last, &tz)
    });
    if let Some(w) = &shop_window {
        trace.push(TraceStep {
            source: "shop_window".into(),
            set: vec![format!("last_day={}", w.last_day)],
        });
    }

    // 3. Warranty (a statutory period: it moves) and delivery claims (the shop's).
    let warranty = policy
        .warranty
        .as_ref()
        .filter(|w| facts.claim.is_none() && facts.reason.is_some_and(|r| w.reasons.contains(&r)));
    let claims = policy.delivery_claims.as_ref();
    let claim_window = if let Some(kind) = facts.claim {
        claims.and_then(|c| {
            let (start, days, from) = if kind == ClaimKind::NeverArrived {
                (
                    facts.first_shipped_at.unwrap_or(facts.placed_at),
                    c.never_arrived_days,
                    WindowStart::Fulfillment,
                )
            } else {
                (facts.delivered_at?, c.days, WindowStart::Delivery)
            };
            let last = last_day_of(start, days, &tz);
            Some(window(days, from, start, last, last, &tz))
        })
    } else {
        warranty.and_then(|w| {
            let s = facts.delivered_at?;
            let first = local_date(s, &tz);
            let unmoved = jiff::Span::new()
                .try_months(i64::from(w.months))
                .and_then(|span| first.checked_add(span))
                .unwrap_or(Date::MAX);
            let days = first
                .until(unmoved)
                .ok()
                .and_then(|sp| u32::try_from(sp.get_days()).ok())
                .unwrap_or(u32::MAX);
            let last = cal.next_working_day(unmoved);
            Some(window(days, WindowStart::Delivery, s, unmoved, last, &tz))
        })
    };

    // 4. The basis: a claim stands on its own; otherwise the statutory withdrawal
    // inside its window, then the shop's window, then the warranty.
    let basis = if facts.claim.is_some() {
        open(&claim_window).then_some(Basis::DeliveryClaim)
    } else if open(&statutory_window) {
        Some(Basis::StatutoryWithdrawal)
    } else if open(&shop_window) {
        Some(Basis::ShopPolicy)
    } else if open(&claim_window) {
        Some(Basis::Warranty)
    } else {
        None
    };
    trace.push(TraceStep {
        source: "basis".into(),
        set: vec![match basis {
            Some(b) => format!("basis={b:?}"),
            None => "no window is open".into(),
        }],
    });
    let withdrawal = basis == Some(Basis::StatutoryWithdrawal);
    let legal_claim = matches!(basis, Some(Basis::Warranty | Basis::DeliveryClaim));

    // Final sale: refused by default; lifted inside the statutory window and for
    // warranty and delivery claims, which a shop's terms cannot take away.
    let mut denied = draft.denied.clone();
    if facts.final_sale && !d.final_sale_returnable {
        let allowed_by_rule = policy.rules.iter().any(|r| {
            r.when.final_sale == Some(true)
                && r.when.matches(facts, &tz, &cal, blocked)
                && r.then.deny.is_none()
        });
        if withdrawal {
            trace.push(TraceStep {
                source: "final_sale".into(),
                set: vec!["not applied: EU statutory withdrawal".into()],
            });
        } else if legal_claim {
            trace.push(TraceStep {
                source: "final_sale".into(),
                set: vec!["not applied: warranty or delivery claim".into()],
            });
        } else if !allowed_by_rule {
            denied.push(Explanation::FinalSale);
            trace.push(TraceStep {
                source: "final_sale".into(),
                set: vec!["deny=final_sale".into()],
            });
        }
    }
    if legal_claim && !denied.is_empty() {
        trace.push(TraceStep {
            source: "basis".into(),
            set: vec!["rule denials not applied: the law grants this claim".into()],
        });
        denied.clear();
    }

    // Quantities: delivered units less those other returns hold; a parcel that
    // never arrived is claimed for the units not delivered.
    let never_arrived = facts.claim == Some(ClaimKind::NeverArrived);
    let returnable = if never_arrived {
        facts
            .line_quantity
            .saturating_sub(facts.delivered_quantity)
            .saturating_sub(facts.held_quantity)
    } else {
        facts
            .delivered_quantity
            .min(facts.line_quantity)
            .saturating_sub(facts.held_quantity)
    };
    let mut blockers = Vec::new();
    if !never_arrived && (facts.delivered_quantity == 0 || facts.delivered_at.is_none()) {
        blockers.push(Explanation::NotDelivered);
    } else if returnable == 0 {
        blockers.push(Explanation::NothingLeft);
    } else if facts.quantity > returnable {
        blockers.push(Explanation::TooMany {
            requested: facts.quantity,
            available: returnable,
        });
    }
    // The window that grants the return or, with none open, the one that ended last.
    let granting = match basis {
        Some(Basis::StatutoryWithdrawal) => statutory_window.clone(),
        Some(Basis::ShopPolicy) => shop_window.clone(),
        Some(Basis::Warranty | Basis::DeliveryClaim) => claim_window.clone(),
        // A claim is refused by its own window, not by a return window still open.
        None if facts.claim.is_some() && claim_window.is_some() => claim_window.clone(),
        None => [&statutory_window, &shop_window, &claim_window]
            .into_iter()
            .flatten()
            .max_by_key(|w| w.ends_at)
            .cloned(),
    };
    if basis.is_none() {
        if facts.claim.is_some() && claims.is_none() {
            blockers.push(Explanation::ClaimNotOffered);
        } else if let Some(w) = &granting
            && (never_arrived || facts.delivered_at.is_some())
        {
            blockers.push(Explanation::WindowEnded {
                days: w.days,
                last_day: w.last_day,
            });
        }
    }
    blockers.extend(denied);
    let eligible = blockers.is_empty();

    // What is offered, by basis.
    let mut resolutions = draft.resolutions.clone();
    let mut later_resolutions = Vec::new();
    let mut methods = draft.methods.clone();
    let mut keep_item = draft.keep_item;
    let mut shop_pays_shipping = false;
    match basis {
        Some(Basis::Warranty) => {
            // The law's order: repair or replacement first; price reduction or a
            // refund once those are impossible or have failed.
            resolutions = vec![Resolution::Repair, Resolution::Replacement];
            later_resolutions = vec![Resolution::PriceReduction, Resolution::Refund];
            shop_pays_shipping = true;
            keep_item = false;
        }
        Some(Basis::DeliveryClaim) => {
            resolutions = vec![
                Resolution::Replacement,
                Resolution::Refund,
                Resolution::StoreCredit,
            ];
            shop_pays_shipping = true;
            keep_item = false;
            if matches!(
                facts.claim,
                Some(ClaimKind::MissingItem | ClaimKind::NeverArrived)
            ) {
                // Nothing to send back.
                methods = vec![ReturnMethod::NoShipping];
            }
        }
        _ => {}
    }
    if keep_item {
        methods = vec![ReturnMethod::NoShipping];
        if !resolutions.contains(&Resolution::KeepItem) {
            resolutions.push(Resolution::KeepItem);
        }
    } else {
        resolutions.retain(|r| *r != Resolution::KeepItem);
    }

    // Money for exactly the units asked about, as their share of the line.
    let units = facts.quantity.min(facts.line_quantity);
    let from = facts.held_quantity.min(facts.line_quantity);
    let to = facts
        .held_quantity
        .saturating_add(units)
        .min(facts.line_quantity);
    let item_amount = facts.line_amount_paid.share(from, to, facts.line_quantity);
    let item_tax = facts
        .line_tax
        .map(|t| t.share(from, to, facts.line_quantity));
    let mut fees = Vec::new();
    let mut remaining = item_amount.floor_zero();
    if eligible {
        let merchant_fault = facts.reason.is_some_and(ReturnReason::is_merchant_fault);
        let free = merchant_fault || legal_claim;
        let method = if keep_item {
            Some(ReturnMethod::NoShipping)
        } else {
            facts.return_method.or(methods.first().copied())
        };
        let mut note = Vec::new();
        if free {
            note.push("no fees: the shop's fault or a legal claim".to_owned());
        }
        let mut charge =
            |kind: FeeKind, fee: &Fee, remaining: &mut Money| -> Result<(), MoneyError> {
                if !fee.applies_to(method) {
                    return Ok(());
                }
                // Never more than what is left to refund.
                let amount = fee.on(item_amount)?.floor_zero().min(*remaining);
                if amount.amount != 0 {
                    *remaining = remaining.checked_sub(amount)?;
                    fees.push(FeeLine { kind, amount });
                }
                Ok(())
            };
        if !free {
            if withdrawal {
                if !draft.restocking_fee.is_zero() {
                    note.push("restocking fee not applied: statutory withdrawal".to_owned());
                }
            } else {
                charge(FeeKind::Restocking, &draft.restocking_fee, &mut remaining)?;
            }
            if !keep_item && !shop_pays_shipping {
                charge(
                    FeeKind::ReturnShipping,
                    &draft.return_shipping_fee,
                    &mut remaining,
                )?;
            }
        }
        if !note.is_empty() {
            trace.push(TraceStep {
                source: "fees".into(),
                set: note,
            });
        }
    }
    let refund = remaining;
    let refund_preview = eligible.then_some(refund);
    let refund_tax = if eligible {
        item_tax.map(|t| proportional(t, refund.amount, item_amount.amount))
    } else {
        None
    };
    let store_credit_preview = if eligible {
        Some(refund.checked_add(refund.percent_bps(draft.bonus)?)?)
    } else {
        None
    };

    // An exchange priced against what the returned units are worth back.
    let exchange = match &facts.exchange_for {
        Some(x) if eligible && resolutions.contains(&Resolution::Exchange) => {
            if x.unit_price.currency == refund.currency {
                let new_amount = x.unit_price.checked_mul(i64::from(units))?;
                let difference = new_amount.checked_sub(refund)?;
                let settlement = match difference.amount.signum() {
                    0 => Settlement::Even,
                    1 => Settlement::ShopperPays,
                    _ => match draft.exchange_refund {
                        ExchangeRefund::OriginalPayment => Settlement::OriginalPayment,
                        ExchangeRefund::StoreCredit => Settlement::StoreCredit,
                    },
                };
                trace.push(TraceStep {
                    source: "exchange".into(),
                    set: vec![format!(
                        "{} for {}: difference {difference}, {settlement:?}",
                        x.sku, new_amount
                    )],
                });
                Some(ExchangePrice {
                    sku: x.sku.clone(),
                    new_amount,
                    difference,
                    settlement,
                })
            } else {
                trace.push(TraceStep {
                    source: "exchange".into(),
                    set: vec!["not priced: the new variant is in another currency".into()],
                });
                None
            }
        }
        _ => None,
    };

    let refund_destinations = if eligible {
        policy
            .refund_destinations
            .get(&facts.payment_method)
            .cloned()
            .unwrap_or_else(|| DestinationKind::defaults_for(facts.payment_method))
    } else {
        Vec::new()
    };

    let risk = draft.risk;
    let outcome = if !eligible {
        Outcome::Refused
    } else if !risk.is_empty() {
        Outcome::Review
    } else {
        Outcome::Eligible
    };
    let auto_approve = eligible && draft.auto_approve && risk.is_empty();

    // Deadlines the shop must meet.
    let refund_due_by =
        (eligible && withdrawal).then(|| due_after(now, EU_WITHDRAWAL_DAYS, &tz, &cal, true).1);
    let answer_days = match basis {
        Some(Basis::Warranty) => policy.warranty.as_ref().map(|w| (w.answer_days, true)),
        Some(Basis::DeliveryClaim) => claims.map(|c| (c.answer_days, true)),
        _ if outcome == Outcome::Review => Some((d.review_days, false)),
        _ => None,
    };
    let answer = answer_days
        .filter(|_| eligible)
        .map(|(days, moves)| due_after(now, days, &tz, &cal, moves));
    if withdrawal && eligible {
        trace.push(TraceStep {
            source: "eu_withdrawal".into(),
            set: vec![format!(
                "withdrawal-only effects apply until {}",
                statutory_window
                    .as_ref()
                    .map_or_else(String::new, |w| w.last_day.to_string())
            )],
        });
    }

    let deadline = if eligible {
        granting.as_ref().map(|w| w.last_day)
    } else {
        None
    };
    let explanations = if !eligible {
        blockers
    } else if outcome == Outcome::Review {
        vec![Explanation::HeldForReview {
            answer_by: answer.map_or(local_date(now, &tz), |a| a.0),
        }]
    } else {
        let mut e = Vec::new();
        match (basis, &granting) {
            (Some(Basis::StatutoryWithdrawal), Some(w)) => {
                e.push(Explanation::EuWithdrawal {
                    last_day: w.last_day,
                });
                if let Some(s) = shop_window.as_ref().filter(|s| s.last_day > w.last_day) {
                    e.push(Explanation::WindowOpen {
                        days: s.days,
                        last_day: s.last_day,
                    });
                }
            }
            (Some(Basis::ShopPolicy), Some(w)) => e.push(Explanation::WindowOpen {
                days: w.days,
                last_day: w.last_day,
            }),
            (Some(Basis::Warranty), Some(w)) => e.push(Explanation::WarrantyClaim {
                last_day: w.last_day,
                answer_by: answer.map_or(w.last_day, |a| a.0),
            }),
            (Some(Basis::DeliveryClaim), _) => e.push(Explanation::DeliveryClaim {
                answer_by: answer.map_or(local_date(now, &tz), |a| a.0),
            }),
            _ => {}
        }
        e
    };

    Ok(Decision {
        policy_version: version,
        eligible,
        outcome,
        basis: basis.filter(|_| eligible),
        returnable_quantity: returnable,
        explanations,
        window: granting,
        statutory_window,
        shop_window,
        claim_window,
        deadline,
        resolutions: if eligible { resolutions } else { Vec::new() },
        later_resolutions: if eligible {
            later_resolutions
        } else {
            Vec::new()
        },
        methods: if eligible { methods } else { Vec::new() },
        item_amount,
        item_tax,
        fees,
        refund_preview,
        refund_tax,
        store_credit_preview,
        store_credit_bonus_bps: draft.bonus,
        refund_destinations,
        exchange,
        require_photos: draft.require_photos,
        auto_approve,
        keep_item: eligible && keep_item,
        shop_pays_shipping: eligible && shop_pays_shipping,
        refund_timing: draft.refund_timing,
        ship_by_days: draft.ship_by_days,
        risk,
        eu_withdrawal: eligible && withdrawal,
        refund_due_by,
        answer_due_by: answer.map(|a| a.1),
        trace,
    })
}
