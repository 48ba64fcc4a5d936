//! The demo's returns: seven in each state, each a story told with an order
//! that fits it, opened at a plausible moment and moved through the real
//! policy engine and lifecycle to the story's state.

use std::collections::HashMap;

use jiff::Timestamp;
use kembali_app::clock::ManualClock;
use kembali_app::eligibility::Context;
use kembali_app::returns::{ItemRequest, ReturnRequest};
use kembali_app::{App, AppError};
use kembali_core::VariantId;
use kembali_core::payout::{Bank, DestinationRequest, EWalletProvider};
use kembali_core::policy::Decision;
use kembali_core::returns::{Actor, Resolution, ReturnMethod, ReturnReason, ReturnStatus};
use kembali_core::shop::Shop;
use kembali_store::{StoreError, Tx};

use super::markets::{EU, ID, MARKETS, Market, PL};
use super::orders::{Seeded, SeededLine};
use super::phrases::shopper_comment;
use super::rng::Rng;
use super::steps;
use super::{app_err, days, err, hours, minutes};

// What a return story needs of its order.
const KEEP: u8 = 1;
const COD: u8 = 2;
const RISKY: u8 = 4;
const TWO: u8 = 8;
/// The story's twist: a wrong item received, a damaged or worn item inspected,
/// store credit instead of a refund, an agent cancelling.
const ODD: u8 = 16;

/// Seven returns in each state, across markets, reasons and payment methods.
pub(super) const STORIES: &[(ReturnStatus, usize, ReturnReason, u8)] = {
    use ReturnReason as R;
    use ReturnStatus as S;
    &[
        // Waiting for a person: the shop's faults need a look at the photos,
        // unclear cases a judgement, and a risky customer a review.
        (S::Requested, ID, R::Damaged, COD),
        (S::Requested, ID, R::ChangedMind, RISKY),
        (S::Requested, PL, R::NotAsDescribed, 0),
        (S::Requested, EU, R::Defective, 0),
        (S::Requested, ID, R::WrongItem, 0),
        (S::Requested, PL, R::Damaged, 0),
        (S::Requested, EU, R::NotAsDescribed, TWO),
        (S::Approved, ID, R::WrongSize, COD),
        (S::Approved, PL, R::ChangedMind, 0),
        (S::Approved, EU, R::WrongSize, 0),
        (S::Approved, ID, R::ChangedMind, KEEP),
        (S::Approved, PL, R::Defective, 0),
        (S::Approved, EU, R::Damaged, 0),
        (S::Approved, ID, R::WrongSize, TWO),
        (S::Rejected, ID, R::ChangedMind, RISKY),
        (S::Rejected, PL, R::NotAsDescribed, 0),
        (S::Rejected, EU, R::Damaged, 0),
        (S::Rejected, ID, R::NotAsDescribed, COD),
        (S::Rejected, PL, R::Other, 0),
        (S::Rejected, EU, R::NotAsDescribed, 0),
        (S::Rejected, ID, R::Defective, 0),
        (S::InTransit, ID, R::WrongSize, COD),
        (S::InTransit, PL, R::ChangedMind, 0),
        (S::InTransit, EU, R::WrongSize, 0),
        (S::InTransit, ID, R::Defective, 0),
        (S::InTransit, PL, R::WrongSize, TWO),
        (S::InTransit, EU, R::ChangedMind, 0),
        (S::InTransit, ID, R::ChangedMind, 0),
        (S::Received, ID, R::WrongSize, COD),
        (S::Received, PL, R::ChangedMind, 0),
        (S::Received, EU, R::Damaged, 0),
        (S::Received, ID, R::ChangedMind, ODD),
        (S::Received, PL, R::WrongSize, 0),
        (S::Received, EU, R::ChangedMind, TWO),
        (S::Received, ID, R::NotAsDescribed, COD),
        (S::Inspected, ID, R::WrongSize, 0),
        (S::Inspected, PL, R::Defective, ODD),
        (S::Inspected, EU, R::ChangedMind, ODD),
        (S::Inspected, ID, R::Damaged, COD | ODD),
        (S::Inspected, PL, R::ChangedMind, 0),
        (S::Inspected, EU, R::WrongSize, 0),
        (S::Inspected, ID, R::ChangedMind, COD),
        // Keep-the-item returns are resolved straight from approved.
        (S::Resolved, ID, R::Damaged, KEEP | COD),
        (S::Resolved, PL, R::WrongItem, KEEP),
        (S::Resolved, EU, R::ChangedMind, KEEP),
        (S::Resolved, ID, R::Defective, 0),
        (S::Resolved, ID, R::WrongSize, COD),
        (S::Resolved, PL, R::WrongSize, 0),
        (S::Resolved, EU, R::ChangedMind, TWO),
        (S::Resolved, PL, R::ChangedMind, ODD),
        (S::Cancelled, ID, R::ChangedMind, COD),
        (S::Cancelled, PL, R::NotAsDescribed, 0),
        (S::Cancelled, EU, R::WrongSize, 0),
        (S::Cancelled, ID, R::Damaged, ODD),
        (S::Cancelled, PL, R::ChangedMind, 0),
        (S::Cancelled, EU, R::NotAsDescribed, ODD),
        (S::Cancelled, ID, R::WrongSize, 0),
        (S::Expired, ID, R::ChangedMind, COD),
        (S::Expired, PL, R::WrongSize, 0),
        (S::Expired, EU, R::ChangedMind, 0),
        (S::Expired, ID, R::WrongSize, 0),
        (S::Expired, PL, R::ChangedMind, 0),
        (S::Expired, EU, R::WrongSize, 0),
        (S::Expired, ID, R::NotAsDescribed, 0),
    ]
};

/// A return's story: the state it ends in, its market and reason, and what
/// its order must offer.
#[derive(Clone, Copy)]
pub(super) struct Story {
    pub(super) target: ReturnStatus,
    market: usize,
    pub(super) reason: ReturnReason,
    /// Items cheap enough to keep, and kept.
    pub(super) keep: bool,
    cod: bool,
    /// By a customer the policy flags for review.
    pub(super) risky: bool,
    /// Two items, not one.
    two: bool,
    pub(super) odd: bool,
}

impl Story {
    fn new((target, market, reason, flags): (ReturnStatus, usize, ReturnReason, u8)) -> Story {
        Story {
            target,
            market,
            reason,
            keep: flags & KEEP != 0,
            cod: flags & COD != 0,
            risky: flags & RISKY != 0,
            two: flags & TWO != 0,
            odd: flags & ODD != 0,
        }
    }

    /// Whether the order can carry the story: its market, customer and payment,
    /// and a line delivered between 26 days and 7 hours ago.
    fn fits(&self, o: &Seeded, now: Timestamp) -> bool {
        o.market == self.market
            && o.risky == self.risky
            && (!self.cod || o.cod)
            && o.lines.iter().any(|l| {
                l.cheap == self.keep
                    && l.delivered_at
                        .is_some_and(|d| d > now - days(26) && d < now - hours(7))
            })
    }
}

/// Where the stories are told: the application on the clock the seed moves to
/// each step's moment, the shop, and the real now.
pub(super) struct Scene<'a> {
    pub(super) app: &'a App,
    pub(super) clock: &'a ManualClock,
    pub(super) shop: &'a Shop,
    pub(super) now: Timestamp,
    /// For each SKU of the catalogue, the variant it is exchanged for.
    pub(super) swaps: &'a HashMap<String, VariantId>,
    /// Photo ids (`pho_…`) for the returns that come with photos.
    pub(super) photos: &'a [String],
}

/// What the stories came to: the orders they used, and the returns in each
/// state in [`ReturnStatus::ALL`] order.
pub(super) struct Told {
    pub(super) used: Vec<bool>,
    pub(super) by_status: Vec<(ReturnStatus, usize)>,
}

/// Tells every story with the first order (in a shuffled order) that fits it,
/// all in one transaction.
pub(super) async fn tell_all(
    scene: &Scene<'_>,
    rng: &mut Rng,
    seeded: &[Seeded],
) -> Result<Told, StoreError> {
    let mut order_index: Vec<usize> = (0..seeded.len()).collect();
    rng.shuffle(&mut order_index);
    let mut used = vec![false; seeded.len()];
    let mut counts = [0usize; ReturnStatus::ALL.len()];
    let mut tx = scene.app.db.begin().await?;
    for &row in STORIES {
        let story = Story::new(row);
        for &i in &order_index {
            if used[i] || !story.fits(&seeded[i], scene.now) {
                continue;
            }
            if let Some(status) = tell(scene, &mut tx, rng, &seeded[i], story).await? {
                used[i] = true;
                if let Some(k) = ReturnStatus::ALL.iter().position(|s| *s == status) {
                    counts[k] += 1;
                }
                break;
            }
        }
    }
    tx.commit().await?;
    let by_status = ReturnStatus::ALL.iter().copied().zip(counts).collect();
    Ok(Told { used, by_status })
}

/// A line the shopper sends back, with how many units and the policy's say.
struct Chosen<'a> {
    line: &'a SeededLine,
    quantity: u32,
    decision: Decision,
}

/// Tries to tell `story` with the order `o`: opens the return at a plausible time
/// and moves it to the story's state. `None` when the order does not fit (nothing
/// is written then); an error if the lifecycle refuses a step it was expected to take.
async fn tell(
    scene: &Scene<'_>,
    tx: &mut Tx,
    rng: &mut Rng,
    o: &Seeded,
    story: Story,
) -> Result<Option<ReturnStatus>, StoreError> {
    let m = &MARKETS[o.market];
    let ctx = Context::load(scene.app, tx, scene.shop.id, o.order)
        .await
        .map_err(err)?;
    let Some(chosen) = choose(&ctx, rng, scene, o, story)? else {
        return Ok(None);
    };
    let auto = chosen
        .iter()
        .all(|c| c.decision.auto_approve && c.decision.risk.is_empty());
    if !plausible(story, auto)? {
        return Ok(None);
    }
    let ship_by = chosen
        .iter()
        .map(|c| i64::from(c.decision.ship_by_days))
        .min()
        .unwrap_or(14);
    let (plan, took) = steps::plan(rng, story, auto, ship_by, m);
    let Some(opened) = opening(rng, story, &chosen, o.market, ship_by, took, scene.now) else {
        return Ok(None);
    };
    let Some(request) = request(rng, story, &chosen, m, o, scene) else {
        return Ok(None);
    };
    scene.clock.set(opened);
    let ret = match kembali_app::returns::open(scene.app, tx, scene.shop, &request, Actor::Shopper)
        .await
    {
        Ok(view) => view.ret,
        // Refused before anything is written (e.g. the window closed that day).
        Err(AppError::Refused(_)) => return Ok(None),
        Err(e) => return Err(app_err("opening a return", e)),
    };
    if (ret.status == ReturnStatus::Approved) != auto {
        return Err(err(format!(
            "{}: the policy did not approve it as predicted",
            ret.number
        )));
    }
    let at = plan
        .into_iter()
        .map(|(step, after)| (step, opened + minutes(after)));
    let status = steps::run(scene, tx, rng, story, m, &ret, at.collect()).await?;
    if status != story.target {
        return Err(err(format!(
            "{} ended {} instead of {}",
            ret.number,
            status.as_str(),
            story.target.as_str()
        )));
    }
    Ok(Some(status))
}

/// Whether the story can be told given whether the policy approves at once:
/// an approved return never waits for a person nor is rejected. A keep-the-item
/// return that should reach the warehouse is a mistake in the table.
fn plausible(story: Story, auto: bool) -> Result<bool, StoreError> {
    use ReturnStatus as S;
    if auto && matches!(story.target, S::Requested | S::Rejected) {
        return Ok(false);
    }
    if story.keep
        && !matches!(
            story.target,
            S::Requested | S::Approved | S::Resolved | S::Rejected | S::Cancelled
        )
    {
        return Err(err(format!(
            "a keep-the-item return cannot be {}",
            story.target.as_str()
        )));
    }
    Ok(true)
}

/// The lines to send back, as the policy sees them a day after delivery; `None`
/// when the order has too few that the policy treats as the story needs.
fn choose<'o>(
    ctx: &Context,
    rng: &mut Rng,
    scene: &Scene<'_>,
    o: &'o Seeded,
    story: Story,
) -> Result<Option<Vec<Chosen<'o>>>, StoreError> {
    let shop = scene.shop;
    let mut candidates: Vec<&SeededLine> = o
        .lines
        .iter()
        .filter(|l| l.delivered_at.is_some() && l.cheap == story.keep)
        .collect();
    rng.shuffle(&mut candidates);
    // A wrong size is sent back for another one where the catalogue has it.
    if story.reason == ReturnReason::WrongSize {
        candidates.sort_by_key(|l| !scene.swaps.contains_key(&l.sku));
    }
    let want = if story.two { 2 } else { 1 };
    let mut chosen = Vec::new();
    for line in candidates {
        if chosen.len() == want {
            break;
        }
        let quantity = if line.quantity > 1 && rng.chance(40) {
            line.quantity
        } else {
            1
        };
        let Some(delivered) = line.delivered_at else {
            continue;
        };
        let reason = Some(story.reason);
        let Some(facts) = ctx.facts(shop, line.id, quantity, reason, 0, delivered + days(1)) else {
            continue;
        };
        let decision = ctx.decide(&facts).map_err(err)?;
        if !decision.eligible
            || decision.keep_item != story.keep
            || decision.risk.is_empty() == story.risky
        {
            continue;
        }
        chosen.push(Chosen {
            line,
            quantity,
            decision,
        });
    }
    Ok((chosen.len() == want).then_some(chosen))
}

/// When the shopper opens the return, so that its last step (`took` minutes
/// later) lands where the story wants it: queues hold recent work, and an
/// approved return is still inside its ship-by days (else the worker expires it).
fn opening(
    rng: &mut Rng,
    story: Story,
    chosen: &[Chosen<'_>],
    market: usize,
    ship_by: i64,
    took: i64,
    now: Timestamp,
) -> Option<Timestamp> {
    use ReturnStatus as S;
    // How long ago the last step happened, in minutes: (at most, at least).
    let recent = match story.target {
        S::Requested => Some((60 * 60, 60)),
        S::Approved if story.keep => Some((48 * 60, 60)),
        S::Approved => Some(((ship_by - 2).max(1) * 24 * 60, 60)),
        S::InTransit | S::Received => Some((40 * 60, 60)),
        S::Inspected => Some((30 * 60, 60)),
        _ => None,
    };
    let delivered = chosen.iter().filter_map(|c| c.line.delivered_at).max()?;
    let mut lo = delivered + hours(6);
    if story.target == S::Rejected && market != ID {
        // Past the 14-day EU withdrawal period: only then may the shop refuse.
        lo = lo.max(delivered + days(15));
    }
    let mut hi = (delivered + days(25)).min(now - minutes(60 + took));
    if let Some((from, to)) = recent {
        lo = lo.max(now - minutes(from + took));
        hi = hi.min(now - minutes(to + took));
    }
    (lo <= hi).then(|| rng.between(lo, hi))
}

/// The shopper's request; `None` when the policy offers nothing they would take.
fn request(
    rng: &mut Rng,
    story: Story,
    chosen: &[Chosen<'_>],
    m: &Market,
    o: &Seeded,
    scene: &Scene<'_>,
) -> Option<ReturnRequest> {
    let reason = story.reason;
    let mut items = Vec::new();
    for c in chosen {
        // The catalogue is priced in the shop's currency: its orders can
        // exchange a size or colour; others get a replacement instead.
        let swap = scene
            .swaps
            .get(&c.line.sku)
            .copied()
            .filter(|_| m.currency == scene.shop.currency);
        let resolution = if story.keep {
            Resolution::KeepItem
        } else {
            let prefer_refund = story.odd && story.target == ReturnStatus::Resolved;
            choose_resolution(
                rng,
                reason,
                &c.decision.resolutions,
                prefer_refund,
                swap.is_some(),
            )?
        };
        let photos = if c.decision.require_photos
            || (reason == ReturnReason::NotAsDescribed && rng.chance(60))
        {
            let n = usize::try_from(rng.range(1, 3)).unwrap_or(1);
            scene.photos.iter().take(n).cloned().collect()
        } else {
            Vec::new()
        };
        items.push(ItemRequest {
            line_id: c.line.id,
            quantity: c.quantity,
            reason,
            comment: rng.chance(75).then(|| shopper_comment(m.locale, reason)),
            photos,
            resolution,
            exchange_variant_id: swap.filter(|_| resolution == Resolution::Exchange),
            claim: None,
            condition: None,
        });
    }
    let method = method(rng, story, &chosen.first()?.decision.methods)?;
    Some(ReturnRequest {
        order_id: o.order,
        method,
        items,
        refund_destination: o.cod.then(|| cod_destination(rng, m)),
        dropoff_point: None,
    })
}

/// Where a cash-on-delivery shopper wants the money: in Indonesia a bank
/// account or an e-wallet, elsewhere store credit (the policy allows these
/// three for cash on delivery; the numbers are made up but pass their checks).
fn cod_destination(rng: &mut Rng, m: &Market) -> DestinationRequest {
    if m.currency != kembali_core::Currency::IDR {
        return DestinationRequest::StoreCredit {};
    }
    let (first, _) = rng.pick(m.first);
    let (last, _) = rng.pick(m.last);
    if rng.chance(60) {
        let bank = *rng.pick(&[Bank::Bca, Bank::Mandiri, Bank::Bni, Bank::Bri]);
        let length = bank.account_lengths().first().copied().unwrap_or(10);
        DestinationRequest::BankAccount {
            holder: format!("{first} {last}"),
            iban: None,
            bank: Some(bank),
            account_number: Some(rng.digits(length)),
        }
    } else {
        let provider = *rng.pick(&[
            EWalletProvider::Gopay,
            EWalletProvider::Ovo,
            EWalletProvider::Dana,
        ]);
        DestinationRequest::EWallet {
            provider,
            phone: format!("0812{}", rng.digits(8)),
            holder: Some(format!("{first} {last}")),
        }
    }
}

/// How the parcel goes back: no parcel for kept items, a pickup now and then.
fn method(rng: &mut Rng, story: Story, offered: &[ReturnMethod]) -> Option<ReturnMethod> {
    if story.keep {
        Some(ReturnMethod::NoShipping)
    } else if offered.contains(&ReturnMethod::CourierPickup) && rng.chance(30) {
        Some(ReturnMethod::CourierPickup)
    } else if offered.contains(&ReturnMethod::DropOff) {
        Some(ReturnMethod::DropOff)
    } else {
        offered.first().copied()
    }
}

/// What the shopper asks for, given what the policy offers.
fn choose_resolution(
    rng: &mut Rng,
    reason: ReturnReason,
    offered: &[Resolution],
    prefer_refund: bool,
    can_exchange: bool,
) -> Option<Resolution> {
    use Resolution as Res;
    if prefer_refund && offered.contains(&Res::Refund) {
        return Some(Res::Refund);
    }
    let wishes: &[(Resolution, u64)] = if reason.is_merchant_fault() {
        &[
            (Res::Replacement, 45),
            (Res::Refund, 40),
            (Res::StoreCredit, 15),
        ]
    } else if reason == ReturnReason::WrongSize {
        &[
            (Res::Exchange, 60),
            (Res::Refund, 25),
            (Res::StoreCredit, 15),
        ]
    } else {
        &[
            (Res::Refund, 55),
            (Res::StoreCredit, 30),
            (Res::Exchange, 15),
        ]
    };
    // An exchange names the variant wanted: where the catalogue has another
    // size or colour of the item the shopper exchanges it, elsewhere they get a
    // replacement.
    let offered_now = |r: Resolution| offered.contains(&r) && (r != Res::Exchange || can_exchange);
    let open: Vec<(Resolution, u64)> = wishes
        .iter()
        .map(|&(r, w)| match r {
            Res::Exchange if !can_exchange => (Res::Replacement, w),
            other => (other, w),
        })
        .filter(|(r, _)| offered_now(*r))
        .collect();
    if open.is_empty() {
        return offered
            .iter()
            .copied()
            .find(|r| *r != Res::KeepItem && *r != Res::Exchange);
    }
    let weights: Vec<u64> = open.iter().map(|(_, w)| *w).collect();
    Some(open[rng.weighted(&weights)].0)
}
