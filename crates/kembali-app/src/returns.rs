//! Returns: open one (every item decided under the shop's current policy), move
//! it through its states, read it with its timeline. Each change is stored with
//! its timeline event, its reporting figures and its outbox message in the
//! caller's transaction.

use std::collections::HashMap;

use kembali_core::dropoff::PointRef;
use kembali_core::payout::{DestinationRequest, RefundDestination};
use kembali_core::policy::{ClaimKind, ExchangeFor, ItemCondition};
use kembali_core::returns::{
    Actor, Command, Event, NewItem, NewReturn, Resolution, Return, ReturnMethod, ReturnReason,
};
use kembali_core::shop::Shop;
use kembali_core::text::{self, Form};
use kembali_core::{LineId, Money, OrderId, PhotoId, ReturnId, ReturnItemId, ShopId, VariantId};
use kembali_store::returns::{self as store, Figures, ItemRecord};
use kembali_store::{Backend, Session, Tx, catalogue, orders};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::eligibility::Context;
use crate::error::{Conflict, Entity, Rule, check_text};
use crate::idempotency::{self, Key, Reply};
use crate::notes::{self, Note};
use crate::{App, AppError, events};

/// At most this many items in one return.
pub const MAX_ITEMS: usize = 100;
/// At most this many characters in a shopper's comment.
pub const MAX_COMMENT: usize = 2000;
/// No order line has more units (see `Order::validate`); it also keeps the sums
/// of a request's quantities far from overflowing.
pub const MAX_QUANTITY: u32 = 100_000;
/// At most this many photos per item.
pub const MAX_PHOTOS: usize = 10;
/// At most this many characters in a note or a reason written on a transition
/// (approval, rejection, receipt, inspection, resolution, cancellation).
pub const MAX_NOTE: usize = 2000;
/// At most this many characters in the carrier's name given with a parcel.
pub const MAX_CARRIER: usize = kembali_core::order::MAX_NAME;
/// At most this many characters in a tracking number.
pub const MAX_TRACKING_NUMBER: usize = kembali_core::order::MAX_CODE;

/// A note or a reason a person writes on a transition: prose, at most
/// [`MAX_NOTE`] characters.
pub fn check_note(field: &str, note: Option<&str>) -> Result<(), AppError> {
    note.map_or(Ok(()), |n| check_text(field, n, Form::Prose, MAX_NOTE))
}

/// The text a command brings in, checked before anything is read or written:
/// every surface (API, pages, jobs) goes through [`transition`], which calls it.
pub fn check_command(cmd: &Command) -> Result<(), AppError> {
    match cmd {
        Command::Approve { note }
        | Command::Receive { note, .. }
        | Command::Resolve { note, .. } => check_note("note", note.as_deref()),
        Command::Reject { reason } => text::check_required(reason, Form::Prose, MAX_NOTE)
            .map_err(|p| AppError::invalid("reason", p.into())),
        Command::Cancel { reason } => check_note("reason", reason.as_deref()),
        Command::MarkInTransit {
            carrier,
            tracking_number,
        } => {
            if let Some(c) = carrier {
                check_text("carrier", c, Form::Line, MAX_CARRIER)?;
            }
            if let Some(t) = tracking_number {
                check_text("tracking_number", t, Form::Line, MAX_TRACKING_NUMBER)?;
            }
            Ok(())
        }
        Command::Inspect { items, note } => {
            check_note("note", note.as_deref())?;
            for (n, i) in items.iter().enumerate() {
                check_note(&format!("items[{n}].note"), i.note.as_deref())?;
            }
            Ok(())
        }
        Command::Expire => Ok(()),
    }
}

/// One item the shopper asks to send back: the one shape every surface uses.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewReturnItem)]
pub struct ItemRequest {
    pub line_id: LineId,
    /// 1–100 000 units.
    #[schema(minimum = 1, maximum = 100_000)]
    pub quantity: u32,
    pub reason: ReturnReason,
    /// The shopper's words: line breaks and tabs allowed, other control
    /// characters not; at most 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
    /// The shopper's photos: at most 10 ids of photos uploaded to this shop
    /// (`POST /photos`), each read back at `GET /photos/{photo_id}`.
    #[serde(default)]
    #[schema(max_items = 10, value_type = Vec<PhotoId>)]
    pub photos: Vec<String>,
    pub resolution: Resolution,
    /// With `exchange`: the variant wanted instead (another size, colour, or
    /// another product); its price difference is settled when the return resolves.
    #[serde(default)]
    pub exchange_variant_id: Option<VariantId>,
    /// A delivery claim instead of a return: damaged in transit, an item
    /// missing from the parcel, a parcel that never arrived. Its own window and
    /// no fees (docs/POLICY.md). Warranty claims need no flag: a reason the
    /// policy's warranty covers, after the return windows, is one.
    #[serde(default)]
    pub claim: Option<ClaimKind>,
    /// The item's condition as the shopper declares it; rules may set fees or
    /// refuse by it.
    #[serde(default)]
    pub condition: Option<ItemCondition>,
}

/// A return as asked for.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewReturnRequest)]
pub struct ReturnRequest {
    pub order_id: OrderId,
    pub method: ReturnMethod,
    /// 1–100 items.
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<ItemRequest>,
    /// Where a refund goes: the original payment method when absent. A
    /// cash-on-delivery order needs a bank account, an e-wallet or store
    /// credit. Account numbers are answered masked (`••••1234`).
    #[serde(default)]
    pub refund_destination: Option<DestinationRequest>,
    /// With method `drop_off`: the shop's drop-off point the parcel is handed
    /// in at (`GET /dropoff-points` lists the nearest), kept with the return.
    #[serde(default)]
    pub dropoff_point: Option<PointRef>,
}

/// The destination asked for, checked; a refusal names its field under `at`
/// (`refund_destination.iban`).
pub fn parse_destination(
    at: &str,
    req: Option<&DestinationRequest>,
) -> Result<Option<RefundDestination>, AppError> {
    req.map(|d| {
        RefundDestination::parse(d)
            .map_err(|e| AppError::invalid(format!("{at}.{}", e.field), Rule::Payout(e.problem)))
    })
    .transpose()
}

impl ReturnRequest {
    /// The limits every surface enforces before anything is decided.
    pub fn check(&self) -> Result<(), AppError> {
        if self.items.is_empty() {
            return Err(AppError::invalid("items", Rule::Empty));
        }
        parse_destination("refund_destination", self.refund_destination.as_ref())?;
        for (n, i) in self.items.iter().enumerate() {
            let exchange = i.resolution == Resolution::Exchange;
            if exchange != i.exchange_variant_id.is_some() {
                return Err(AppError::invalid(
                    format!("items[{n}].exchange_variant_id"),
                    Rule::NotValid {
                        why: "an exchange names the variant wanted, and only an exchange does",
                    },
                ));
            }
        }
        if self.items.len() > MAX_ITEMS {
            return Err(AppError::invalid(
                "items",
                Rule::AtMost {
                    max: MAX_ITEMS as u64,
                },
            ));
        }
        for (n, i) in self.items.iter().enumerate() {
            if let Some(c) = &i.comment {
                check_text(&format!("items[{n}].comment"), c, Form::Prose, MAX_COMMENT)?;
            }
            if i.quantity == 0 {
                return Err(AppError::invalid(
                    format!("items[{n}].quantity"),
                    Rule::AtLeast { min: 1 },
                ));
            }
            if i.quantity > MAX_QUANTITY {
                return Err(AppError::invalid(
                    format!("items[{n}].quantity"),
                    Rule::AtMost {
                        max: u64::from(MAX_QUANTITY),
                    },
                ));
            }
            if i.photos.len() > MAX_PHOTOS {
                return Err(AppError::invalid(
                    format!("items[{n}].photos"),
                    Rule::AtMost {
                        max: MAX_PHOTOS as u64,
                    },
                ));
            }
            for (k, p) in i.photos.iter().enumerate() {
                p.parse::<PhotoId>().map_err(|_| {
                    AppError::invalid(format!("items[{n}].photos[{k}]"), Rule::NotAPhotoId)
                })?;
            }
        }
        Ok(())
    }

    /// The photos the items name, with where each is named (`items[n].photos[k]`);
    /// after [`ReturnRequest::check`], every reference is a photo id.
    fn photo_refs(&self) -> Vec<(String, PhotoId)> {
        let mut refs = Vec::new();
        for (n, i) in self.items.iter().enumerate() {
            for (k, p) in i.photos.iter().enumerate() {
                if let Ok(id) = p.parse::<PhotoId>() {
                    refs.push((format!("items[{n}].photos[{k}]"), id));
                }
            }
        }
        refs
    }
}

/// Refuses, naming the first, a reference to a photo the shop does not have
/// (unknown, or another shop's).
async fn check_photos(
    ex: &mut impl kembali_store::Session,
    shop: ShopId,
    req: &ReturnRequest,
) -> Result<(), AppError> {
    let refs = req.photo_refs();
    if refs.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<PhotoId> = refs.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let known = kembali_store::photos::known(ex, shop, &ids).await?;
    match refs.into_iter().find(|(_, id)| !known.contains(id)) {
        Some((field, _)) => Err(AppError::invalid(field, Rule::UnknownPhoto)),
        None => Ok(()),
    }
}

/// A return with its timeline and its agents' notes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReturnView {
    #[serde(flatten)]
    pub ret: Return,
    pub timeline: Vec<Event>,
    /// The exchanges asked for, and once resolved their order and price difference.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<ExchangeView>,
    /// Internal notes, oldest first (`POST /returns/{return_id}/notes`).
    pub notes: Vec<Note>,
}

/// An exchange of a returned item for another variant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExchangeView {
    pub item_id: ReturnItemId,
    pub variant_id: VariantId,
    pub quantity: u32,
    /// The exchange order, once the return resolved.
    pub order_id: Option<OrderId>,
    /// Minor units: positive, the shopper pays it; negative, given back as credit.
    pub price_difference: Option<i64>,
    pub currency: String,
}

impl From<catalogue::Exchange> for ExchangeView {
    fn from(e: catalogue::Exchange) -> Self {
        ExchangeView {
            item_id: e.item_id,
            variant_id: e.variant_id,
            quantity: e.quantity,
            order_id: e.order_id,
            price_difference: e.price_difference,
            currency: e.currency,
        }
    }
}

async fn exchanges_of(
    ex: &mut impl kembali_store::Session,
    shop: ShopId,
    id: ReturnId,
) -> Result<Vec<ExchangeView>, AppError> {
    Ok(catalogue::exchanges(ex, shop, id)
        .await?
        .into_iter()
        .map(ExchangeView::from)
        .collect())
}

/// A request decided and priced, not yet stored.
struct Prepared {
    ctx: Context,
    new_items: Vec<NewItem>,
    facts: Vec<kembali_core::policy::Facts>,
    delivery_refund: Money,
    destination: Option<RefundDestination>,
    /// Each item's wanted exchange variant, by the item's position.
    wanted: Vec<(usize, catalogue::Stocked)>,
}

impl Prepared {
    fn new_return(
        &self,
        shop: &Shop,
        req: &ReturnRequest,
        actor: &Actor,
        now: jiff::Timestamp,
        id: ReturnId,
        number: String,
    ) -> NewReturn {
        NewReturn {
            id,
            shop_id: shop.id,
            order_id: req.order_id,
            number,
            method: req.method,
            policy_version: self.ctx.policy_version,
            items: self.new_items.clone(),
            delivery_refund: self.delivery_refund,
            refund_destination: self.destination.clone(),
            dropoff_point: req.dropoff_point.clone(),
            actor: actor.clone(),
            at: now,
        }
    }
}

/// A decided return with its number, as it is stored.
struct Made {
    ret: Return,
    timeline: Vec<Event>,
    figures: Figures,
    local_date: String,
    messages: Vec<kembali_store::outbox::Message>,
}

impl Prepared {
    /// Refuses what [`kembali_core::returns::open`] refuses, before a number
    /// is taken.
    fn check(
        &self,
        shop: &Shop,
        req: &ReturnRequest,
        actor: &Actor,
        now: jiff::Timestamp,
    ) -> Result<(), AppError> {
        kembali_core::returns::open(self.new_return(
            shop,
            req,
            actor,
            now,
            ReturnId::new(now, 0),
            String::new(),
        ))?;
        Ok(())
    }

    /// The return with number `seq`, its first events, their messages and
    /// its reporting figures.
    fn make(
        &self,
        app: &App,
        shop: &Shop,
        req: &ReturnRequest,
        actor: &Actor,
        now: jiff::Timestamp,
        seq: i64,
    ) -> Result<Made, AppError> {
        let (ret, timeline) = kembali_core::returns::open(self.new_return(
            shop,
            req,
            actor,
            now,
            ReturnId::new(now, app.entropy()),
            shop.return_number(seq),
        ))?;
        Ok(Made {
            figures: figures(&ret),
            local_date: local_date(shop, ret.created_at),
            messages: events::return_opened(app, &ret, &timeline),
            ret,
            timeline,
        })
    }
}

impl Made {
    /// Its row, items, first events, their messages and the customer's count:
    /// what `store::insert` writes in one round trip.
    fn record<'a>(&'a self, p: &'a Prepared) -> store::NewRecord<'a> {
        store::NewRecord {
            ret: &self.ret,
            email: &p.ctx.order.email,
            customer: p.ctx.order.customer_id,
            items: self
                .ret
                .items
                .iter()
                .zip(&p.facts)
                .map(|(item, f)| ItemRecord {
                    facts: f,
                    category: p
                        .ctx
                        .order
                        .line(item.line_id)
                        .and_then(|l| l.category.as_deref()),
                    value: item.decision.item_amount.amount,
                })
                .collect(),
            figures: &self.figures,
            local_date: &self.local_date,
            timeline: &self.timeline,
            messages: &self.messages,
        }
    }
}

/// The drop-off point `req` names, if any: only a `drop_off` return names one,
/// and it must be one of the shop's points.
async fn check_dropoff_point(
    ex: &mut impl kembali_store::Session,
    shop: ShopId,
    req: &ReturnRequest,
) -> Result<(), AppError> {
    let Some(p) = &req.dropoff_point else {
        return Ok(());
    };
    if req.method != ReturnMethod::DropOff {
        return Err(AppError::invalid(
            "dropoff_point",
            Rule::NotValid {
                why: "only a `drop_off` return names a drop-off point",
            },
        ));
    }
    if !kembali_store::dropoff::exists(ex, shop, &p.carrier, &p.id).await? {
        return Err(AppError::invalid(
            "dropoff_point",
            Rule::NotValid {
                why: "names none of the shop's drop-off points",
            },
        ));
    }
    Ok(())
}

/// Decides every item of `req` under the shop's current policy, with the
/// exchange variants checked and priced into the decisions: what [`open`]
/// stores and [`preview`] shows.
async fn prepare(
    app: &App,
    ex: &mut impl kembali_store::Session,
    shop: &Shop,
    req: &ReturnRequest,
    now: jiff::Timestamp,
) -> Result<Prepared, AppError> {
    let ctx = Context::load(app, ex, shop.id, req.order_id).await?;
    if ctx.cancelled_at.is_some() {
        return Err(AppError::State(Conflict::OrderCancelled));
    }
    check_photos(ex, shop.id, req).await?;
    check_dropoff_point(ex, shop.id, req).await?;
    let destination = parse_destination("refund_destination", req.refund_destination.as_ref())?;
    // The variants wanted in exchange: the shop's, in the order's currency, in
    // stock; their price goes into the decision (the exchange priced).
    let mut exchange: Vec<Option<ExchangeFor>> = Vec::with_capacity(req.items.len());
    let mut wanted = Vec::new();
    for (n, it) in req.items.iter().enumerate() {
        let Some(variant) = it.exchange_variant_id else {
            exchange.push(None);
            continue;
        };
        let (found, priced) = exchange_for(ex, shop, &ctx, n, variant, it.quantity).await?;
        exchange.push(Some(priced));
        wanted.push((n, found));
    }
    let asked = Asked {
        destination,
        exchange,
        wanted,
    };
    decide(app, shop, req, ctx, asked, now)
}

/// What a request asks beside its items, checked: where the refund goes, and
/// each item's exchange variant (by position; `None` for no exchange), priced.
struct Asked {
    destination: Option<RefundDestination>,
    exchange: Vec<Option<ExchangeFor>>,
    wanted: Vec<(usize, catalogue::Stocked)>,
}

/// Decides every item of `req` on what [`prepare`] read, in memory.
fn decide(
    app: &App,
    shop: &Shop,
    req: &ReturnRequest,
    ctx: Context,
    asked: Asked,
    now: jiff::Timestamp,
) -> Result<Prepared, AppError> {
    let Asked {
        destination,
        exchange,
        wanted,
    } = asked;
    let mut taken: HashMap<LineId, u32> = HashMap::new();
    let mut new_items = Vec::with_capacity(req.items.len());
    let mut facts = Vec::with_capacity(req.items.len());
    let units_returned = req
        .items
        .iter()
        .fold(0u32, |n, i| n.saturating_add(i.quantity));
    for (index, it) in req.items.iter().enumerate() {
        let extra = taken.get(&it.line_id).copied().unwrap_or(0);
        let mut f = ctx
            .facts(shop, it.line_id, it.quantity, Some(it.reason), extra, now)
            .ok_or(AppError::UnknownLine { index })?;
        // Fees may depend on how the parcel travels and on the size of the return.
        f.return_method = Some(req.method);
        f.items_returned = Some(units_returned);
        f.claim = it.claim;
        f.item_condition = it.condition;
        f.exchange_for = exchange.get(index).cloned().flatten();
        let decision = ctx.decide(&f)?;
        *taken.entry(it.line_id).or_default() += it.quantity;
        new_items.push(NewItem {
            id: ReturnItemId::new(now, app.entropy()),
            line_id: it.line_id,
            quantity: it.quantity,
            reason: it.reason,
            comment: it.comment.clone(),
            // As the id prints (lower case), however the request spelled it.
            photos: it
                .photos
                .iter()
                .map(|p| {
                    p.parse::<PhotoId>()
                        .map_or_else(|_| p.clone(), |id| id.to_string())
                })
                .collect(),
            resolution: it.resolution,
            decision,
        });
        facts.push(f);
    }
    // EU withdrawal of the whole order refunds the cheapest standard delivery paid.
    let whole_order = ctx.order.lines.iter().all(|l| {
        ctx.held.get(&l.id).copied().unwrap_or(0) + taken.get(&l.id).copied().unwrap_or(0)
            >= l.quantity
    });
    let delivery_refund = if whole_order {
        ctx.order.cheapest_shipping.min(ctx.order.shipping_paid)
    } else {
        Money::zero(ctx.order.currency)
    };
    Ok(Prepared {
        ctx,
        new_items,
        facts,
        delivery_refund,
        destination,
        wanted,
    })
}

/// A return as it would be opened now, not stored: its decisions, its quote
/// and the price difference of each exchange. What the portal's review page
/// shows is what [`open`] then stores, because both decide through the same steps.
#[derive(Debug, Clone)]
pub struct Preview {
    pub ret: Return,
    /// For each exchanged item (by position): the variant wanted and what the
    /// new units cost less what the returned ones were worth (positive: the
    /// shopper pays it; negative: given back as store credit).
    pub exchanges: Vec<(usize, catalogue::Stocked, Money)>,
}

/// Decides and prices `req` as [`open`] would at this moment, without storing
/// anything or taking a return number.
pub async fn preview(
    app: &App,
    shop: &Shop,
    req: &ReturnRequest,
    actor: Actor,
) -> Result<Preview, AppError> {
    req.check()?;
    let now = app.now();
    let mut conn = app.db.conn().await?;
    let p = prepare(app, &mut conn, shop, req, now).await?;
    drop(conn);
    let (ret, _) = kembali_core::returns::open(p.new_return(
        shop,
        req,
        &actor,
        now,
        ReturnId::new(now, 0),
        String::new(),
    ))?;
    let mut exchanges = Vec::new();
    for (n, found) in p.wanted {
        let Some(item) = ret.items.get(n) else {
            continue;
        };
        let cost = found
            .variant
            .price
            .checked_mul(i64::from(item.quantity))
            .map_err(|_| AppError::Refused(kembali_core::returns::OpenError::Amount))?;
        let difference = cost
            .checked_sub(item.decision.item_amount)
            .map_err(|_| AppError::Refused(kembali_core::returns::OpenError::Amount))?;
        exchanges.push((n, found, difference));
    }
    Ok(Preview { ret, exchanges })
}

/// Opens a return inside `tx`: decides each item under the current policy, takes
/// the shop's next return number, stores the return with its first events and
/// their outbox messages. Concurrent returns of one order are serialised (a row
/// lock on PostgreSQL, the single writer on SQLite), so quantities never overrun.
pub async fn open(
    app: &App,
    tx: &mut Tx,
    shop: &Shop,
    req: &ReturnRequest,
    actor: Actor,
) -> Result<ReturnView, AppError> {
    req.check()?;
    let now = app.now();
    // PostgreSQL: the order's row lock serialises returns of one order, so
    // their quantities never overrun. SQLite's one writer already does, and
    // `prepare` reads whether the order is there and cancelled.
    if tx.backend() == Backend::Postgres {
        match orders::lock_cancelled(tx, shop.id, req.order_id).await? {
            None => return Err(AppError::NotFound(Entity::Order)),
            Some(Some(_)) => return Err(AppError::State(Conflict::OrderCancelled)),
            Some(None) => {}
        }
    }
    let prepared = prepare(app, tx, shop, req, now).await?;
    // Checked before taking a number, so a refused request leaves no gap.
    prepared.check(shop, req, &actor, now)?;
    let seq = app.numbers.next(&app.db, tx, shop.id).await?;
    let made = prepared.make(app, shop, req, &actor, now, seq)?;
    store::insert(tx, &made.record(&prepared)).await?;
    let Prepared { ctx, wanted, .. } = &prepared;
    let Made { ret, timeline, .. } = made;
    let wanted: Vec<(usize, VariantId)> = wanted.iter().map(|(n, s)| (*n, s.variant.id)).collect();
    let any_exchange = !wanted.is_empty();
    let mut photos: Vec<PhotoId> = req.photo_refs().into_iter().map(|(_, id)| id).collect();
    photos.sort_unstable();
    photos.dedup();
    // Named by a return, a photo is kept (`jobs::purge_photos` skips it).
    kembali_store::photos::attach(tx, shop.id, &photos, ret.id).await?;
    for (n, variant) in wanted {
        if let Some(item) = ret.items.get(n) {
            catalogue::insert_exchange(
                tx,
                &catalogue::Exchange {
                    shop_id: shop.id,
                    item_id: item.id,
                    return_id: ret.id,
                    variant_id: variant,
                    quantity: item.quantity,
                    currency: ctx.order.currency.code().to_owned(),
                    order_id: None,
                    price_difference: None,
                    created_at: now,
                    settled_at: None,
                },
            )
            .await?;
        }
    }
    // A return that asked for no exchange has none to read back.
    let exchanges = if any_exchange {
        exchanges_of(tx, shop.id, ret.id).await?
    } else {
        Vec::new()
    };
    Ok(ReturnView {
        ret,
        timeline,
        exchanges,
        notes: Vec::new(),
    })
}

/// [`open`] with the key semantics of [`idempotency::once`]: what the API
/// and the portal call. On SQLite a return without photos, exchanges or a
/// drop-off point, of an order with a customer, is one job on the writer's
/// own connection ([`kembali_store::Db::run_job`]): the same reads, decisions
/// and rows as [`open`], without a hand-off to another thread per statement
/// while the writer is held. Anything else goes through [`open`].
pub async fn open_once(
    app: &App,
    shop: &Shop,
    req: &ReturnRequest,
    actor: Actor,
    key: Option<&Key>,
) -> Result<Reply, AppError> {
    req.check()?;
    let covered = req.dropoff_point.is_none()
        && req
            .items
            .iter()
            .all(|i| i.photos.is_empty() && i.exchange_variant_id.is_none());
    if covered && let Some(done) = open_in_job(app, shop, req, &actor, key).await? {
        return Ok(done);
    }
    idempotency::once(app, shop.id, key, async |tx| {
        open(app, tx, shop, req, actor).await.map(|v| (201, v))
    })
    .await
}

/// What a job answered.
enum Job {
    Replay(kembali_store::idempotency::Stored),
    /// Opened; the body written already when a key keeps it.
    Opened(Box<ReturnView>, Option<String>),
    /// The order has no customer row: its history is read by email, which
    /// the job does not do.
    NotCovered,
}

/// [`open_once`] as one job on SQLite's writer; `None` where there is none
/// (PostgreSQL, an in-memory database) or the job does not cover the order.
async fn open_in_job(
    app: &App,
    shop: &Shop,
    req: &ReturnRequest,
    actor: &Actor,
    key: Option<&Key>,
) -> Result<Option<Reply>, AppError> {
    if !app.db.runs_jobs() {
        return Ok(None);
    }
    let now = app.now();
    // The policy comes from memory (re-read every few seconds), as the
    // folded read's callers take it.
    let (policy_version, policy) = match app.policies.fresh(now, shop.id) {
        Some(p) => p,
        None => {
            let mut conn = app.db.conn().await?;
            app.policies
                .current(now, &mut conn, shop.id)
                .await?
                .ok_or(AppError::NoPolicy)?
        }
    };
    let destination = parse_destination("refund_destination", req.refund_destination.as_ref())?;
    // The job runs on the writer's thread: it takes what it needs along.
    let (app, shop, req, actor, key) = (
        app.clone(),
        shop.clone(),
        req.clone(),
        actor.clone(),
        key.cloned(),
    );
    let db = app.db.clone();
    let answer = db.run_job(move |c| {
        let (app, shop, req, actor) = (&app, &shop, &req, &actor);
        if let Some(k) = &key
            && let Some(stored) =
                kembali_store::idempotency::lookup_on(c, shop.id, &k.key, &k.hash)?
        {
            return Ok(Job::Replay(stored));
        }
        let found = orders::for_decision_on(c, shop.id, req.order_id)?
            .ok_or(AppError::NotFound(Entity::Order))?;
        let Some(history) = found.history else {
            return Ok(Job::NotCovered);
        };
        let ctx = Context::of(found, policy_version, policy, history);
        if ctx.cancelled_at.is_some() {
            return Err(AppError::State(Conflict::OrderCancelled));
        }
        let asked = Asked {
            destination,
            exchange: vec![None; req.items.len()],
            wanted: Vec::new(),
        };
        let prepared = decide(app, shop, req, ctx, asked, now)?;
        prepared.check(shop, req, actor, now)?;
        let seq = kembali_store::shops::next_return_seq_on(c, shop.id)?;
        let made = prepared.make(app, shop, req, actor, now, seq)?;
        store::insert_on(c, &made.record(&prepared))?;
        let view = Box::new(ReturnView {
            ret: made.ret,
            timeline: made.timeline,
            exchanges: Vec::new(),
            notes: Vec::new(),
        });
        let Some(k) = &key else {
            return Ok(Job::Opened(view, None));
        };
        let body = idempotency::written(&view)?;
        let stored = kembali_store::idempotency::Stored { status: 201, body };
        kembali_store::idempotency::record_on(c, shop.id, &k.key, &k.hash, &stored, now)?;
        Ok(Job::Opened(view, Some(stored.body)))
    });
    Ok(match answer.await.transpose()? {
        None | Some(Job::NotCovered) => None,
        Some(Job::Replay(stored)) => Some(Reply {
            status: stored.status,
            body: stored.body,
            replayed: true,
        }),
        Some(Job::Opened(view, body)) => Some(Reply {
            status: 201,
            body: match body {
                Some(b) => b,
                // Written out after the commit, not while holding the writer.
                None => idempotency::written(&view)?,
            },
            replayed: false,
        }),
    })
}

/// The variant of item `n` wanted in exchange: this shop's, priced in the
/// order's currency, with `quantity` units in stock (where stock is kept); as
/// stocked, and as the policy prices it.
pub async fn exchange_for(
    ex: &mut impl kembali_store::Session,
    shop: &Shop,
    ctx: &Context,
    n: usize,
    variant: VariantId,
    quantity: u32,
) -> Result<(catalogue::Stocked, ExchangeFor), AppError> {
    let field = format!("items[{n}].exchange_variant_id");
    let found = catalogue::variant(ex, shop.id, variant)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                field.clone(),
                Rule::NotValid {
                    why: "no such variant in this shop",
                },
            )
        })?;
    if found.variant.price.currency != ctx.order.currency {
        return Err(AppError::invalid(
            field,
            Rule::NotValid {
                why: "the variant is priced in another currency than the order",
            },
        ));
    }
    if found.stock.is_some_and(|s| s < i64::from(quantity)) {
        return Err(AppError::OutOfStock {
            sku: found.variant.sku,
        });
    }
    let priced = ExchangeFor {
        sku: found.variant.sku.clone(),
        unit_price: found.variant.price,
    };
    Ok((found, priced))
}

/// Applies `cmd` to the return inside `tx`, storing the new state, the changed
/// items, the timeline event and its outbox message together. `expected`, when
/// given, must be the version the caller saw.
pub async fn transition(
    app: &App,
    tx: &mut Tx,
    shop: ShopId,
    id: ReturnId,
    expected: Option<i64>,
    cmd: &Command,
    actor: &Actor,
) -> Result<ReturnView, AppError> {
    check_command(cmd)?;
    let mut ret = store::get(tx, shop, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Return))?;
    let seen = ret.version;
    if let Some(expected) = expected
        && expected != seen
    {
        return Err(AppError::VersionConflict {
            expected,
            current: seen,
        });
    }
    let event = ret.apply(cmd, actor, app.now())?;
    if !store::save_transition(tx, &ret, seen, &event, &figures(&ret)).await? {
        // Someone else moved it between our read and our write.
        return Err(AppError::VersionConflict {
            expected: seen,
            current: seen + 1,
        });
    }
    events::return_changed(app, tx, &ret, &event).await?;
    if ret.status == kembali_core::returns::ReturnStatus::Resolved {
        crate::settlement::settle(app, tx, &ret).await?;
    }
    let timeline = store::events(tx, shop, id).await?;
    let notes = notes::of_return(tx, shop, id).await?;
    let exchanges = exchanges_of(tx, shop, id).await?;
    Ok(ReturnView {
        ret,
        timeline,
        exchanges,
        notes,
    })
}

/// The return with its timeline.
pub async fn get(app: &App, shop: ShopId, id: ReturnId) -> Result<ReturnView, AppError> {
    let mut conn = app.db.conn().await?;
    let ret = store::get(&mut conn, shop, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Return))?;
    let timeline = store::events(&mut conn, shop, id).await?;
    let notes = notes::of_return(&mut conn, shop, id).await?;
    let exchanges = exchanges_of(&mut conn, shop, id).await?;
    Ok(ReturnView {
        ret,
        timeline,
        exchanges,
        notes,
    })
}

/// The figures reports sum: the value of the items, the fees, and what goes back
/// as money or as credit — by the final resolutions once resolved, by the
/// requested ones before.
pub fn figures(ret: &Return) -> Figures {
    let q = &ret.quote;
    let fees = q
        .fees
        .iter()
        .fold(0i64, |sum, f| sum.saturating_add(f.amount.amount));
    let resolution =
        |i: &kembali_core::returns::ReturnItem| i.final_resolution.unwrap_or(i.resolution);
    let all_credit = ret
        .items
        .iter()
        .all(|i| resolution(i) == Resolution::StoreCredit);
    let any_money = ret
        .items
        .iter()
        .any(|i| matches!(resolution(i), Resolution::Refund | Resolution::KeepItem));
    let (refund, credit) = if all_credit {
        (0, q.store_credit_total.amount)
    } else if any_money {
        (q.refund_total.amount, 0)
    } else {
        (0, 0)
    };
    Figures {
        currency: q.items_amount.currency.code().to_owned(),
        item_value: q.items_amount.amount,
        fees,
        refund,
        credit,
    }
}

/// The shop's calendar day at `at`, `YYYY-MM-DD`: what insights group by.
pub fn local_date(shop: &Shop, at: jiff::Timestamp) -> String {
    let tz = jiff::tz::TimeZone::get(&shop.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    tz.to_datetime(at).date().to_string()
}
