//! Returns: their rows, items and timeline, and the transactional steps that
//! decide eligibility, open a return and move it through its states.

use std::collections::HashMap;

use jiff::Timestamp;
use kembali_core::order::{LineDelivery, Order, Shipment};
use kembali_core::policy::{Decision, Facts, PolicyDocument, evaluate};
use kembali_core::returns::{
    Actor, Command, Event, ItemInspection, ItemReceipt, NewItem, NewReturn, OpenError, Quote,
    Resolution, Return, ReturnItem, ReturnMethod, ReturnReason, ReturnStatus, TransitionError,
};
use kembali_core::shop::Shop;
use kembali_core::{EventId, LineId, OrderId, ReturnId, ReturnItemId, ShopId};
use sqlx::types::Json;

use crate::db::{Backend, Db, Session, Tx};
use crate::jobs::{self, Job, NewJob};
use crate::{StoreError, corrupt, entropy, from_millis, millis, orders, policies, run, shops};

/// Units of each line of the order held by returns that still hold them.
pub async fn held_quantities(
    ex: &mut impl Session,
    shop: ShopId,
    order: OrderId,
) -> Result<HashMap<LineId, u32>, StoreError> {
    // Driven by the order's own items (an index on both databases whatever
    // the statistics say), and summed here rather than with GROUP BY, which
    // tempts SQLite into walking a whole index of the shop.
    let rows: Vec<(String, i64)> = run!(ex, |c| sqlx::query_as(
        "SELECT i.line_id, i.quantity FROM return_items i
           JOIN returns r ON r.shop_id = i.shop_id AND r.id = i.return_id
          WHERE i.shop_id = $1 AND i.order_id = $2
            AND r.status NOT IN ('rejected', 'cancelled', 'expired')"
    )
    .bind(shop.to_string())
    .bind(order.to_string())
    .fetch_all(&mut *c)
    .await)?;
    let mut held: HashMap<LineId, u32> = HashMap::new();
    for (line, qty) in rows {
        let qty = u32::try_from(qty).map_err(corrupt)?;
        let slot = held.entry(line.parse().map_err(corrupt)?).or_default();
        *slot = slot.saturating_add(qty);
    }
    Ok(held)
}

/// Everything needed to decide about items of one order.
pub struct Context {
    pub order: Order,
    pub shipments: Vec<Shipment>,
    pub policy_version: i64,
    pub policy: PolicyDocument,
    pub held: HashMap<LineId, u32>,
    pub history: kembali_core::policy::CustomerHistory,
}

/// Loads the order and what its decisions depend on; `None` if there is no such order.
pub async fn context(
    ex: &mut impl Session,
    shop: ShopId,
    order: OrderId,
) -> Result<Option<Context>, StoreError> {
    let Some((order, shipments)) = orders::get(ex, shop, order).await? else {
        return Ok(None);
    };
    let (policy_version, policy) = policies::current(ex, shop)
        .await?
        .ok_or_else(|| StoreError::Config("the shop has no return policy".into()))?;
    let held = held_quantities(ex, shop, order.id).await?;
    let history = orders::customer_history(ex, shop, &order.email).await?;
    Ok(Some(Context {
        order,
        shipments,
        policy_version,
        policy,
        held,
        history,
    }))
}

impl Context {
    /// The facts for `quantity` units of `line`, counting `extra_held` units that
    /// earlier items of the same request already take.
    pub fn facts(
        &self,
        shop: &Shop,
        line: LineId,
        quantity: u32,
        reason: Option<ReturnReason>,
        extra_held: u32,
        now: Timestamp,
    ) -> Option<Facts> {
        let l = self.order.line(line)?;
        let delivery = LineDelivery::of(line, &self.shipments);
        Some(Facts {
            now,
            time_zone: shop.time_zone.clone(),
            line_id: line,
            sku: l.sku.clone(),
            category: l.category.clone(),
            tags: l.tags.clone(),
            final_sale: l.final_sale,
            unit_price: l.unit_price,
            line_amount_paid: l.amount_paid(self.order.taxes_included).ok()?,
            line_quantity: l.quantity,
            delivered_quantity: delivery.delivered,
            held_quantity: self
                .held
                .get(&line)
                .copied()
                .unwrap_or(0)
                .saturating_add(extra_held),
            placed_at: self.order.placed_at,
            first_shipped_at: delivery.first_shipped_at,
            delivered_at: delivery.delivered_at,
            payment_method: self.order.payment_method,
            destination_country: self.order.shipping_address.country.code().to_owned(),
            postal_code: self.order.shipping_address.postal_code.clone(),
            customer_email: self.order.email.clone(),
            customer_id: self.order.customer_id,
            history: self.history,
            reason,
            quantity,
        })
    }

    pub fn decide(&self, facts: &Facts) -> Result<Decision, StoreError> {
        evaluate(&self.policy, self.policy_version, facts).map_err(corrupt)
    }
}

/// One item of a return the shopper asks for.
#[derive(Debug, Clone)]
pub struct OpenItem {
    pub line_id: LineId,
    pub quantity: u32,
    pub reason: ReturnReason,
    pub comment: Option<String>,
    pub photos: Vec<String>,
    pub resolution: Resolution,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenFailure {
    #[error("no such order")]
    OrderNotFound,
    #[error("item {index}: the line is not part of this order")]
    LineNotFound { index: usize },
    #[error(transparent)]
    Refused(#[from] OpenError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens a return inside `tx`: decides each item under the current policy,
/// takes the shop's next return number and stores the return with its first
/// events. Concurrent returns of one order are serialised (a row lock on
/// PostgreSQL, the single writer on SQLite), so quantities can never overrun.
pub async fn open(
    tx: &mut Tx,
    shop: &Shop,
    order_id: OrderId,
    method: ReturnMethod,
    items: &[OpenItem],
    actor: Actor,
    now: Timestamp,
) -> Result<(Return, Vec<Event>), OpenFailure> {
    if tx.backend() == Backend::Postgres {
        let locked: Option<String> = run!(tx, |c| sqlx::query_scalar(
            "SELECT id FROM orders WHERE shop_id = $1 AND id = $2 FOR UPDATE"
        )
        .bind(shop.id.to_string())
        .bind(order_id.to_string())
        .fetch_optional(&mut *c)
        .await)
        .map_err(StoreError::from)?;
        if locked.is_none() {
            return Err(OpenFailure::OrderNotFound);
        }
    }
    let ctx = context(tx, shop.id, order_id)
        .await?
        .ok_or(OpenFailure::OrderNotFound)?;
    let mut taken: HashMap<LineId, u32> = HashMap::new();
    let mut new_items = Vec::with_capacity(items.len());
    for (index, it) in items.iter().enumerate() {
        let extra = taken.get(&it.line_id).copied().unwrap_or(0);
        let facts = ctx
            .facts(shop, it.line_id, it.quantity, Some(it.reason), extra, now)
            .ok_or(OpenFailure::LineNotFound { index })?;
        let decision = ctx.decide(&facts)?;
        *taken.entry(it.line_id).or_default() += it.quantity;
        new_items.push((
            NewItem {
                id: ReturnItemId::new(now, entropy()),
                line_id: it.line_id,
                quantity: it.quantity,
                reason: it.reason,
                comment: it.comment.clone(),
                photos: it.photos.clone(),
                resolution: it.resolution,
                decision,
            },
            facts,
        ));
    }
    // EU withdrawal of the whole order refunds the cheapest standard delivery paid.
    let whole_order = ctx.order.lines.iter().all(|l| {
        ctx.held.get(&l.id).copied().unwrap_or(0) + taken.get(&l.id).copied().unwrap_or(0)
            >= l.quantity
    });
    let delivery_refund = if whole_order {
        ctx.order.cheapest_shipping.min(ctx.order.shipping_paid)
    } else {
        kembali_core::Money::zero(ctx.order.currency)
    };
    // Check before taking a number, so a refused request leaves no gap.
    let seq_probe = kembali_core::returns::open(NewReturn {
        id: ReturnId::new(now, 0),
        shop_id: shop.id,
        order_id,
        number: String::new(),
        method,
        policy_version: ctx.policy_version,
        items: new_items.iter().map(|(i, _)| i.clone()).collect(),
        delivery_refund,
        actor: actor.clone(),
        at: now,
    });
    seq_probe?;
    let seq = shops::next_return_seq(tx, shop.id).await?;
    let (ret, events) = kembali_core::returns::open(NewReturn {
        id: ReturnId::new(now, entropy()),
        shop_id: shop.id,
        order_id,
        number: shop.return_number(seq),
        method,
        policy_version: ctx.policy_version,
        items: new_items.iter().map(|(i, _)| i.clone()).collect(),
        delivery_refund,
        actor,
        at: now,
    })?;
    insert(
        tx,
        &ret,
        &ctx.order.email,
        &new_items.iter().map(|(_, f)| f).collect::<Vec<_>>(),
    )
    .await?;
    for (n, e) in events.iter().enumerate() {
        append_event(tx, &ret, n as i64 + 1, e).await?;
    }
    if ret.status == ReturnStatus::Approved {
        schedule_expiry(tx, &ret, now).await?;
    }
    Ok((ret, events))
}

async fn insert(tx: &mut Tx, r: &Return, email: &str, facts: &[&Facts]) -> Result<(), StoreError> {
    let shop = r.shop_id.to_string();
    run!(tx, |c| {
        sqlx::query(
        "INSERT INTO returns (shop_id, id, number, order_id, email, status, version, policy_version,
            method, risk, quote, refund_due_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    )
    .bind(&shop)
    .bind(r.id.to_string())
    .bind(&r.number)
    .bind(r.order_id.to_string())
    .bind(email)
    .bind(r.status.as_str())
    .bind(r.version)
    .bind(r.policy_version)
    .bind(r.method.as_str())
    .bind(Json(&r.risk))
    .bind(Json(&r.quote))
    .bind(r.refund_due_by.map(millis))
    .bind(millis(r.created_at))
    .bind(millis(r.updated_at))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    for (pos, (item, f)) in r.items.iter().zip(facts).enumerate() {
        run!(tx, |c| {
            sqlx::query(
            "INSERT INTO return_items (shop_id, id, return_id, order_id, position, line_id, quantity,
                reason, comment, resolution, photos, decision, facts)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )
        .bind(&shop)
        .bind(item.id.to_string())
        .bind(r.id.to_string())
        .bind(r.order_id.to_string())
        .bind(pos as i64)
        .bind(item.line_id.to_string())
        .bind(i64::from(item.quantity))
        .bind(item.reason.as_str())
        .bind(&item.comment)
        .bind(item.resolution.as_str())
        .bind(Json(&item.photos))
        .bind(Json(&item.decision))
        .bind(Json(*f))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

async fn append_event(tx: &mut Tx, r: &Return, seq: i64, e: &Event) -> Result<(), StoreError> {
    run!(tx, |c| sqlx::query(
        "INSERT INTO return_events (shop_id, id, return_id, seq, kind, at, actor, note, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(r.shop_id.to_string())
    .bind(EventId::new(e.at, entropy()).to_string())
    .bind(r.id.to_string())
    .bind(seq)
    .bind(e.kind.as_str())
    .bind(millis(e.at))
    .bind(Json(&e.actor))
    .bind(&e.note)
    .bind(Json(&e.data))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ReturnRow {
    id: String,
    number: String,
    order_id: String,
    status: String,
    version: i64,
    policy_version: i64,
    method: String,
    risk: Json<Vec<String>>,
    quote: Json<Quote>,
    refund_due_by: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: String,
    line_id: String,
    quantity: i64,
    reason: String,
    comment: Option<String>,
    resolution: String,
    photos: Json<Vec<String>>,
    decision: Json<Decision>,
    receipt: Option<Json<ItemReceipt>>,
    inspection: Option<Json<ItemInspection>>,
    final_resolution: Option<String>,
}

fn bad(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} `{v}`"))
}

/// The return with its items, if it is this shop's.
pub async fn get(
    ex: &mut impl Session,
    shop: ShopId,
    id: ReturnId,
) -> Result<Option<Return>, StoreError> {
    let row: Option<ReturnRow> = run!(ex, |c| {
        sqlx::query_as(
        "SELECT id, number, order_id, status, version, policy_version, method, risk, quote, refund_due_by,
                created_at, updated_at
           FROM returns WHERE shop_id = $1 AND id = $2"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await
    })?;
    let Some(r) = row else { return Ok(None) };
    let items: Vec<ItemRow> = run!(ex, |c| sqlx::query_as(
        "SELECT id, line_id, quantity, reason, comment, resolution, photos, decision, receipt,
                inspection, final_resolution
           FROM return_items WHERE shop_id = $1 AND return_id = $2 ORDER BY position"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_all(&mut *c)
    .await)?;
    let items = items
        .into_iter()
        .map(|i| {
            Ok(ReturnItem {
                id: i.id.parse().map_err(corrupt)?,
                line_id: i.line_id.parse().map_err(corrupt)?,
                quantity: u32::try_from(i.quantity).map_err(corrupt)?,
                reason: ReturnReason::parse(&i.reason).ok_or_else(|| bad("reason", &i.reason))?,
                comment: i.comment,
                photos: i.photos.0,
                resolution: Resolution::parse(&i.resolution)
                    .ok_or_else(|| bad("resolution", &i.resolution))?,
                decision: i.decision.0,
                receipt: i.receipt.map(|j| j.0),
                inspection: i.inspection.map(|j| j.0),
                final_resolution: i
                    .final_resolution
                    .map(|f| Resolution::parse(&f).ok_or_else(|| bad("resolution", &f)))
                    .transpose()?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(Return {
        id: r.id.parse().map_err(corrupt)?,
        shop_id: shop,
        order_id: r.order_id.parse().map_err(corrupt)?,
        number: r.number,
        status: ReturnStatus::parse(&r.status).ok_or_else(|| bad("status", &r.status))?,
        version: r.version,
        policy_version: r.policy_version,
        method: ReturnMethod::parse(&r.method).ok_or_else(|| bad("method", &r.method))?,
        risk: r.risk.0,
        quote: r.quote.0,
        refund_due_by: r.refund_due_by.map(from_millis),
        items,
        created_at: from_millis(r.created_at),
        updated_at: from_millis(r.updated_at),
    }))
}

/// The stored facts of each item, in item order, to reproduce its decision.
pub async fn item_facts(
    ex: &mut impl Session,
    shop: ShopId,
    id: ReturnId,
) -> Result<Vec<Facts>, StoreError> {
    let rows: Vec<Json<Facts>> = run!(ex, |c| sqlx::query_scalar(
        "SELECT facts FROM return_items WHERE shop_id = $1 AND return_id = $2 ORDER BY position"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows.into_iter().map(|j| j.0).collect())
}

#[derive(sqlx::FromRow)]
struct EventRow {
    kind: String,
    at: i64,
    actor: Json<Actor>,
    note: Option<String>,
    data: Json<serde_json::Value>,
}

/// The return's timeline, oldest first.
pub async fn events(
    ex: &mut impl Session,
    shop: ShopId,
    id: ReturnId,
) -> Result<Vec<Event>, StoreError> {
    let rows: Vec<EventRow> = run!(ex, |c| sqlx::query_as(
        "SELECT kind, at, actor, note, data FROM return_events
          WHERE shop_id = $1 AND return_id = $2 ORDER BY seq"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|r| {
            Ok(Event {
                kind: ReturnStatus::parse(&r.kind).ok_or_else(|| bad("event", &r.kind))?,
                at: from_millis(r.at),
                actor: r.actor.0,
                note: r.note,
                data: r.data.0,
            })
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum TransitionFailure {
    #[error("no such return")]
    NotFound,
    /// The caller based the change on an older version, or lost a race.
    #[error("the return changed since version {expected}; it is now at version {current}")]
    Conflict { expected: i64, current: i64 },
    #[error(transparent)]
    Refused(#[from] TransitionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies `cmd` to the return inside `tx`, storing the new state, the changed
/// items and the timeline event together. `expected_version`, when given, must be
/// the version the caller saw. Returns the return as it now is, and its event.
pub async fn transition(
    tx: &mut Tx,
    shop: ShopId,
    id: ReturnId,
    expected_version: Option<i64>,
    cmd: &Command,
    actor: &Actor,
    now: Timestamp,
) -> Result<(Return, Event), TransitionFailure> {
    let mut ret = get(tx, shop, id)
        .await?
        .ok_or(TransitionFailure::NotFound)?;
    let before = ret.version;
    if let Some(expected) = expected_version
        && expected != before
    {
        return Err(TransitionFailure::Conflict {
            expected,
            current: before,
        });
    }
    let event = ret.apply(cmd, actor, now)?;
    let updated = run!(tx, |c| sqlx::query(
        "UPDATE returns SET status = $1, version = $2, updated_at = $3
          WHERE shop_id = $4 AND id = $5 AND version = $6"
    )
    .bind(ret.status.as_str())
    .bind(ret.version)
    .bind(millis(now))
    .bind(shop.to_string())
    .bind(id.to_string())
    .bind(before)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))
    .map_err(StoreError::from)?;
    if updated != 1 {
        // Someone else moved it between our read and our write.
        return Err(TransitionFailure::Conflict {
            expected: before,
            current: before + 1,
        });
    }
    for item in &ret.items {
        run!(tx, |c| sqlx::query(
            "UPDATE return_items SET receipt = $1, inspection = $2, final_resolution = $3
              WHERE shop_id = $4 AND id = $5"
        )
        .bind(item.receipt.as_ref().map(Json))
        .bind(item.inspection.as_ref().map(Json))
        .bind(item.final_resolution.map(Resolution::as_str))
        .bind(shop.to_string())
        .bind(item.id.to_string())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))
        .map_err(StoreError::from)?;
    }
    append_event(tx, &ret, ret.version, &event).await?;
    if ret.status == ReturnStatus::Approved {
        schedule_expiry(tx, &ret, now).await?;
    }
    Ok((ret, event))
}

/// The job that expires an approved return nobody shipped in time.
pub const EXPIRE_JOB: &str = "return.expire";

/// Schedules the expiry of a just-approved return at the end of its ship-by days
/// (the shortest of its items'), in the approving transaction.
async fn schedule_expiry(tx: &mut Tx, ret: &Return, now: Timestamp) -> Result<(), StoreError> {
    if ret.is_keep_item() {
        return Ok(());
    }
    let days = ret
        .items
        .iter()
        .map(|i| i.decision.ship_by_days)
        .min()
        .unwrap_or(14);
    let at = now
        .checked_add(jiff::SignedDuration::from_hours(i64::from(days) * 24))
        .unwrap_or(now);
    let job = NewJob::new(
        Some(ret.shop_id),
        EXPIRE_JOB,
        serde_json::json!({ "return_id": ret.id }),
        now,
    )
    .at(at)
    .dedupe(ret.id.to_string());
    jobs::enqueue(tx, &job, now).await?;
    Ok(())
}

/// Runs an expiry job: the return expires if it is still approved and unshipped;
/// if it moved on meanwhile there is nothing to do.
pub async fn run_expire_job(db: Db, job: Job) -> Result<(), String> {
    let shop = job.shop_id.ok_or("an expiry job needs its shop")?;
    let id: ReturnId = job
        .payload
        .get("return_id")
        .and_then(|v| v.as_str())
        .ok_or("the payload has no return_id")?
        .parse()
        .map_err(|e| format!("bad return_id: {e}"))?;
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    match transition(
        &mut tx,
        shop,
        id,
        None,
        &Command::Expire,
        &Actor::System,
        Timestamp::now(),
    )
    .await
    {
        Ok(_) => tx.commit().await.map_err(|e| e.to_string()),
        Err(TransitionFailure::Refused(TransitionError::Illegal { .. })) => Ok(()),
        Err(TransitionFailure::NotFound) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}
