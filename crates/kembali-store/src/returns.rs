//! Returns: their rows, items with the facts they were decided on, the timeline,
//! and the reporting figures beside them.

use std::collections::HashMap;

use kembali_core::dropoff::PointRef;
use kembali_core::policy::{Decision, Facts};
use kembali_core::returns::{
    Actor, Event, ItemInspection, ItemReceipt, Quote, Resolution, Return, ReturnItem, ReturnMethod,
    ReturnReason, ReturnStatus,
};
use kembali_core::{CustomerId, EventId, LineId, OrderId, ReturnId, ShopId};
use sqlx::types::Json;

use crate::db::{Session, Tx};
use crate::{StoreError, corrupt, entropy, from_millis, millis, run};

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
    sum_held(rows)
}

/// Units per line from (line, quantity) rows of return items.
pub(crate) fn sum_held(rows: Vec<(String, i64)>) -> Result<HashMap<LineId, u32>, StoreError> {
    let mut held: HashMap<LineId, u32> = HashMap::new();
    for (line, qty) in rows {
        let qty = u32::try_from(qty).map_err(corrupt)?;
        let slot = held.entry(line.parse().map_err(corrupt)?).or_default();
        *slot = slot.saturating_add(qty);
    }
    Ok(held)
}

/// What reports sum and group by, kept in columns beside the return (minor units
/// of `currency`). The application layer decides the figures; this only stores them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub currency: String,
    pub item_value: i64,
    pub fees: i64,
    pub refund: i64,
    pub credit: i64,
}

/// A new item's facts and its reporting columns.
pub struct ItemRecord<'a> {
    pub facts: &'a Facts,
    pub category: Option<&'a str>,
    pub value: i64,
}

/// Stores a new return with its items (each with the facts it was decided on);
/// `local_date` is the day it was opened, `YYYY-MM-DD` in the shop's time zone.
pub async fn insert(
    tx: &mut Tx,
    r: &Return,
    email: &str,
    customer: Option<CustomerId>,
    items: &[ItemRecord<'_>],
    figures: &Figures,
    local_date: &str,
) -> Result<(), StoreError> {
    let shop = r.shop_id.to_string();
    run!(tx, |c| {
        sqlx::query(
        "INSERT INTO returns (shop_id, id, number, order_id, email, status, version, policy_version,
            method, risk, quote, refund_due_by, created_at, updated_at,
            currency, item_value, fees, refund, credit, local_date, refund_destination, customer_id,
            dropoff_carrier, dropoff_point_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                 $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
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
    .bind(&figures.currency)
    .bind(figures.item_value)
    .bind(figures.fees)
    .bind(figures.refund)
    .bind(figures.credit)
    .bind(local_date)
    .bind(r.refund_destination.as_ref().map(Json))
    .bind(customer.map(|c| c.to_string()))
    .bind(r.dropoff_point.as_ref().map(|p| p.carrier.as_str()))
    .bind(r.dropoff_point.as_ref().map(|p| p.id.as_str()))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    for (pos, (item, rec)) in r.items.iter().zip(items).enumerate() {
        run!(tx, |c| {
            sqlx::query(
            "INSERT INTO return_items (shop_id, id, return_id, order_id, position, line_id, quantity,
                reason, comment, resolution, photos, decision, facts, category, value)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
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
        .bind(Json(rec.facts))
        .bind(rec.category)
        .bind(rec.value)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Appends `e` to the return's timeline as entry `seq` (the return's version).
pub async fn append_event(tx: &mut Tx, r: &Return, seq: i64, e: &Event) -> Result<(), StoreError> {
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
    refund_destination: Option<Json<kembali_core::payout::RefundDestination>>,
    dropoff_carrier: Option<String>,
    dropoff_point_id: Option<String>,
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
                created_at, updated_at, refund_destination, dropoff_carrier, dropoff_point_id
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
        refund_destination: r.refund_destination.map(|j| j.0),
        dropoff_point: r
            .dropoff_carrier
            .zip(r.dropoff_point_id)
            .map(|(carrier, id)| PointRef { carrier, id }),
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

/// Stores a return after a transition: its state and version, its items'
/// receipts, inspections and resolutions, its figures, and the timeline event.
/// `seen` is the version it was read at; `false` when someone else moved it
/// meanwhile (nothing is written then).
pub async fn save_transition(
    tx: &mut Tx,
    ret: &Return,
    seen: i64,
    event: &Event,
    figures: &Figures,
) -> Result<bool, StoreError> {
    let shop = ret.shop_id.to_string();
    let updated = run!(tx, |c| {
        sqlx::query(
        "UPDATE returns SET status = $1, version = $2, updated_at = $3, refund = $4, credit = $5,
                fees = $6
          WHERE shop_id = $7 AND id = $8 AND version = $9"
    )
    .bind(ret.status.as_str())
    .bind(ret.version)
    .bind(millis(ret.updated_at))
    .bind(figures.refund)
    .bind(figures.credit)
    .bind(figures.fees)
    .bind(&shop)
    .bind(ret.id.to_string())
    .bind(seen)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    if updated != 1 {
        return Ok(false);
    }
    for item in &ret.items {
        run!(tx, |c| sqlx::query(
            "UPDATE return_items SET receipt = $1, inspection = $2, final_resolution = $3
              WHERE shop_id = $4 AND id = $5"
        )
        .bind(item.receipt.as_ref().map(Json))
        .bind(item.inspection.as_ref().map(Json))
        .bind(item.final_resolution.map(Resolution::as_str))
        .bind(&shop)
        .bind(item.id.to_string())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    append_event(tx, ret, ret.version, event).await?;
    Ok(true)
}
