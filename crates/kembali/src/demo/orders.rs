//! The demo shop's orders: who orders when (a growing shop with regulars),
//! what is in each basket, how it is paid and where its parcels stand, taken in
//! through the application like orders posted to the API.

use jiff::Timestamp;
use kembali_app::App;
use kembali_app::clock::ManualClock;
use kembali_app::orders::OrderView;
use kembali_core::LineId;
use kembali_core::OrderId;
use kembali_core::order::{LineDelivery, PaymentMethod, TrackingStatus};
use kembali_core::shop::Shop;
use kembali_store::StoreError;

use super::catalogue::{CATALOGUE, KEEP_BELOW};
use super::customers::{Customer, customers};
use super::markets::{ID, MARKETS, PL, tracking, vat_bps};
use super::rng::Rng;
use super::{app_err, days, hours, minutes};
use crate::synthetic::{self, Draft, Line, Parcel};

/// Orders per market.
const ORDERS_PER_MARKET: usize = 120;
/// Orders stored per transaction.
const BATCH: usize = 60;
/// The first order's number; numbers grow with time.
const FIRST_NUMBER: usize = 10_001;

/// An order line as the return stories see it.
pub(super) struct SeededLine {
    pub(super) id: LineId,
    pub(super) sku: String,
    pub(super) quantity: u32,
    /// Under the keep-the-item price.
    pub(super) cheap: bool,
    pub(super) delivered_at: Option<Timestamp>,
}

/// An order as the return stories see it.
pub(super) struct Seeded {
    pub(super) order: OrderId,
    pub(super) market: usize,
    pub(super) cod: bool,
    pub(super) risky: bool,
    pub(super) lines: Vec<SeededLine>,
}

impl Seeded {
    fn new(view: &OrderView, c: &Customer) -> Seeded {
        let lines = view.order.lines.iter().map(|l| SeededLine {
            id: l.id,
            sku: l.sku.clone(),
            quantity: l.quantity,
            cheap: l.unit_price.amount <= KEEP_BELOW[c.market],
            delivered_at: LineDelivery::of(l.id, &view.shipments).delivered_at,
        });
        Seeded {
            order: view.order.id,
            market: c.market,
            cod: view.order.payment_method == PaymentMethod::CashOnDelivery,
            risky: c.risky,
            lines: lines.collect(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Whatever the dice say.
    Any,
    /// Cash on delivery, refused at the door.
    Refused,
    /// Cash on delivery, delivered a week ago.
    Delivered,
}

struct Plan {
    customer: usize,
    placed: Timestamp,
    fate: Fate,
}

/// Makes the customers and their orders, oldest first, each taken in at the
/// moment it was placed.
pub(super) async fn place_orders(
    app: &App,
    clock: &ManualClock,
    rng: &mut Rng,
    shop: &Shop,
    now: Timestamp,
) -> Result<Vec<Seeded>, StoreError> {
    let people = customers(rng)?;
    let plans = plans(rng, &people, now);
    let mut seeded = Vec::with_capacity(plans.len());
    let mut tx = app.db.begin().await?;
    for (n, plan) in plans.iter().enumerate() {
        let c = &people[plan.customer];
        let draft = draft(rng, FIRST_NUMBER + n, plan, c, now);
        clock.set(plan.placed);
        let view = synthetic::place(app, &mut tx, shop, &draft)
            .await
            .map_err(|e| app_err(&format!("order {}", draft.number), e))?;
        seeded.push(Seeded::new(&view, c));
        if n % BATCH == BATCH - 1 {
            tx.commit().await?;
            tx = app.db.begin().await?;
        }
    }
    tx.commit().await?;
    Ok(seeded)
}

/// When each order is placed and by whom: a growing shop, with regulars.
fn plans(rng: &mut Rng, customers: &[Customer], now: Timestamp) -> Vec<Plan> {
    let mut out = risky_plans(rng, customers, now);
    for m in 0..MARKETS.len() {
        let pool: Vec<usize> = (0..customers.len())
            .filter(|&c| customers[c].market == m && !customers[c].risky)
            .collect();
        let forced = out
            .iter()
            .filter(|p| customers[p.customer].market == m)
            .count();
        for _ in forced..ORDERS_PER_MARKET {
            let customer = if rng.chance(35) {
                *rng.pick(&pool[..10])
            } else {
                *rng.pick(&pool)
            };
            // A growing shop: a busy last few days, most orders in the last month.
            let age_hours = match rng.weighted(&[12, 48, 40]) {
                0 => rng.range(1, 5 * 24),
                1 => rng.range(5 * 24, 35 * 24),
                _ => rng.range(35 * 24, 90 * 24),
            };
            out.push(Plan {
                customer,
                placed: now - hours(age_hours) - minutes(rng.range(0, 59)),
                fate: Fate::Any,
            });
        }
    }
    out.sort_by_key(|p| p.placed);
    out
}

/// The two risky customers: two refused parcels each, then one delivered order.
fn risky_plans(rng: &mut Rng, customers: &[Customer], now: Timestamp) -> Vec<Plan> {
    let risky = (0..customers.len()).filter(|&c| customers[c].risky);
    let mut out = Vec::new();
    for (k, c) in risky.enumerate() {
        let k = k as i64;
        for (age_days, fate) in [
            (52 - 6 * k, Fate::Refused),
            (31 - 3 * k, Fate::Refused),
            (7 + k, Fate::Delivered),
        ] {
            out.push(Plan {
                customer: c,
                placed: now - days(age_days) - hours(rng.range(0, 20)),
                fate,
            });
        }
    }
    out
}

/// One order from its plan.
fn draft<'c>(
    rng: &mut Rng,
    number: usize,
    plan: &Plan,
    c: &'c Customer,
    now: Timestamp,
) -> Draft<'c> {
    let m = &MARKETS[c.market];
    let (cod, payment_method) = payment(rng, c.market, plan.fate);
    let picked = basket(rng, c.market, plan.fate);
    let vat = vat_bps(c.buyer.address.country.code());
    let lines = lines(rng, &picked, c.market, vat);
    let mut draft = Draft {
        number: format!("#{number}"),
        buyer: &c.buyer,
        currency: m.currency,
        placed_at: plan.placed,
        payment_method,
        shipping_paid: 0,
        cheapest_shipping: 0,
        lines,
        parcels: Vec::new(),
    };
    if draft.subtotal() < m.free_from {
        // Express costs twice the standard delivery.
        let express = rng.chance(15);
        draft.shipping_paid = if express { m.shipping * 2 } else { m.shipping };
        draft.cheapest_shipping = m.shipping;
    }
    draft.parcels = parcels(rng, c.market, plan, cod, draft.lines.len(), now);
    draft
}

/// Whether it is cash on delivery, and the payment method.
fn payment(rng: &mut Rng, m_index: usize, fate: Fate) -> (bool, PaymentMethod) {
    if fate != Fate::Any || rng.chance(MARKETS[m_index].cod) {
        return (true, PaymentMethod::CashOnDelivery);
    }
    let method = match m_index {
        ID => [
            PaymentMethod::EWallet,
            PaymentMethod::BankTransfer,
            PaymentMethod::Card,
        ][rng.weighted(&[50, 35, 15])],
        PL if rng.chance(15) => PaymentMethod::BankTransfer,
        _ => PaymentMethod::Card,
    };
    (false, method)
}

/// The products bought (positions in the catalogue), each once.
fn basket(rng: &mut Rng, m_index: usize, fate: Fate) -> Vec<usize> {
    let weights: Vec<u64> = CATALOGUE.iter().map(|p| p.weight[m_index]).collect();
    let wanted = 1 + rng.weighted(&[45, 30, 17, 8]);
    let mut picked: Vec<usize> = Vec::new();
    for _ in 0..wanted * 4 {
        if picked.len() == wanted {
            break;
        }
        let p = rng.weighted(&weights);
        // The risky customers' delivered order holds something they can send back.
        let product = &CATALOGUE[p];
        let returnable = !product.item.final_sale && product.prices[m_index] > KEEP_BELOW[m_index];
        if !picked.contains(&p) && (returnable || fate != Fate::Delivered || !picked.is_empty()) {
            picked.push(p);
        }
    }
    picked
}

/// The lines of a basket, with a promotion now and then and the VAT inside.
fn lines(rng: &mut Rng, picked: &[usize], m_index: usize, vat: i64) -> Vec<Line<'static>> {
    let promo = rng.chance(25).then(|| *rng.pick(&[10, 15, 20]));
    let idr = MARKETS[m_index].currency == kembali_core::Currency::IDR;
    picked
        .iter()
        .map(|&p| {
            let p = &CATALOGUE[p];
            let quantity = 1 + rng.weighted(&[80, 15, 5]) as u32;
            let unit_price = p.prices[m_index];
            let gross = unit_price * i64::from(quantity);
            let mut discount = match promo {
                Some(pct) if !p.item.final_sale => gross * pct / 100,
                _ => 0,
            };
            if idr {
                discount -= discount % 100; // whole rupiah
            }
            let net = gross - discount;
            // Tax included in the price, rounded half up.
            let tax = (net * vat + (10_000 + vat) / 2) / (10_000 + vat);
            Line {
                item: p.item,
                quantity,
                unit_price,
                discount,
                tax,
            }
        })
        .collect()
}

/// One parcel, or two when part of the order was out of stock (the last line
/// follows later).
fn parcels(
    rng: &mut Rng,
    m_index: usize,
    plan: &Plan,
    cod: bool,
    lines: usize,
    now: Timestamp,
) -> Vec<Parcel> {
    let m = &MARKETS[m_index];
    let split = lines >= 2 && plan.fate == Fate::Any && rng.chance(12);
    let first = if split { lines - 1 } else { lines };
    let groups = [0..first, first..lines]
        .into_iter()
        .filter(|g| !g.is_empty());
    let carrier = *rng.pick(m.carriers);
    let mut out = Vec::new();
    for (g, group) in groups.enumerate() {
        let mut handling = rng.range(4, 40);
        if g > 0 {
            handling += rng.range(24, 72);
        }
        let shipped = plan.placed + hours(handling);
        let t = track(rng, m_index, carrier, shipped, cod, plan.fate, now);
        out.push(Parcel {
            carrier: carrier.into(),
            tracking_number: t.number,
            status: t.status,
            shipped_at: t.shipped_at,
            delivered_at: t.delivered_at,
            promised_by: Some(plan.placed + days(m.promise_days)),
            lines: group,
        });
    }
    out
}

/// Where a parcel stands now.
struct Tracking {
    status: TrackingStatus,
    shipped_at: Option<Timestamp>,
    delivered_at: Option<Timestamp>,
    number: Option<String>,
}

/// A parcel that left the warehouse at `shipped`.
fn on_its_way(status: TrackingStatus, shipped: Timestamp, number: String) -> Tracking {
    Tracking {
        status,
        shipped_at: Some(shipped),
        delivered_at: None,
        number: Some(number),
    }
}

fn track(
    rng: &mut Rng,
    m_index: usize,
    carrier: &str,
    shipped: Timestamp,
    cod: bool,
    fate: Fate,
    now: Timestamp,
) -> Tracking {
    let m = &MARKETS[m_index];
    let number = tracking(rng, carrier);
    if fate == Fate::Refused {
        return on_its_way(TrackingStatus::ReturnedToSender, shipped, number);
    }
    if shipped > now {
        // Packed and labelled, or not even that yet.
        let labelled = rng.chance(50);
        return Tracking {
            status: if labelled {
                TrackingStatus::InfoReceived
            } else {
                TrackingStatus::Pending
            },
            shipped_at: None,
            delivered_at: None,
            number: labelled.then_some(number),
        };
    }
    let mut transit = rng.range(m.transit_hours.0, m.transit_hours.1);
    if rng.chance(8) {
        transit += rng.range(24, 96); // a late one
    }
    let mut arrives = shipped + hours(transit);
    if fate == Fate::Delivered && arrives > now - hours(12) {
        arrives = now - hours(12);
    }
    if arrives > now {
        let status = if arrives.duration_since(now) < hours(8) {
            TrackingStatus::OutForDelivery
        } else if cod && rng.chance(10) {
            TrackingStatus::FailedAttempt
        } else {
            TrackingStatus::InTransit
        };
        return on_its_way(status, shipped, number);
    }
    let since = now.duration_since(arrives);
    if fate == Fate::Any && cod && since > days(5) && rng.chance(6) {
        return on_its_way(TrackingStatus::ReturnedToSender, shipped, number);
    }
    if carrier == "InPost" && since < hours(40) && rng.chance(50) {
        // Waiting in a parcel locker.
        return on_its_way(TrackingStatus::AvailableForPickup, shipped, number);
    }
    Tracking {
        delivered_at: Some(arrives),
        ..on_its_way(TrackingStatus::Delivered, shipped, number)
    }
}
