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
use crate::outbox::Message;
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

/// A new return as it is stored: its row and items (each with the facts it was
/// decided on), its first timeline entries, the outbox messages that tell of
/// them, and one more return on the customer's counts.
pub struct NewRecord<'a> {
    pub ret: &'a Return,
    pub email: &'a str,
    pub customer: Option<CustomerId>,
    pub items: Vec<ItemRecord<'a>>,
    pub figures: &'a Figures,
    /// The day it was opened, `YYYY-MM-DD` in the shop's time zone.
    pub local_date: &'a str,
    /// Entries 1, 2, … of the timeline.
    pub timeline: &'a [Event],
    pub messages: &'a [Message],
}

/// Stores a new return and everything that comes with it ([`NewRecord`]) in
/// one round trip: on SQLite the statements go together in one query, on
/// PostgreSQL as data-modifying CTEs of one statement. A return is written
/// while holding the order (and on SQLite the one writer): every statement
/// less is a turn less on that hold.
pub async fn insert(tx: &mut Tx, n: &NewRecord<'_>) -> Result<(), StoreError> {
    let r = n.ret;
    let shop = r.shop_id.to_string();
    let id = r.id.to_string();
    let order = r.order_id.to_string();
    let customer = n.customer.map(|c| c.to_string());
    let items: Vec<(String, String, &ReturnItem, &ItemRecord<'_>)> = r
        .items
        .iter()
        .zip(&n.items)
        .map(|(item, rec)| (item.id.to_string(), item.line_id.to_string(), item, rec))
        .collect();
    let events: Vec<(String, i64, &Event)> = n
        .timeline
        .iter()
        .zip(1..)
        .map(|(e, seq)| (EventId::new(e.at, entropy()).to_string(), seq, e))
        .collect();
    let messages: Vec<(String, String, &Message)> = n
        .messages
        .iter()
        .map(|m| (m.shop_id.to_string(), m.id.to_string(), m))
        .collect();
    let parts = 1
        + usize::from(!items.is_empty())
        + usize::from(!events.is_empty())
        + usize::from(!messages.is_empty())
        + usize::from(customer.is_some());
    let cte = tx.backend() == crate::Backend::Postgres;
    let mut k = 0;
    run!(tx, |c| {
        let mut q = sqlx::QueryBuilder::new("");
        part(&mut q, cte, &mut k, parts);
        q.push(RETURN_ROW);
        q.push(" VALUES (");
        q.separated(", ")
            .push_bind(&shop)
            .push_bind(&id)
            .push_bind(&r.number)
            .push_bind(&order)
            .push_bind(n.email)
            .push_bind(r.status.as_str())
            .push_bind(r.version)
            .push_bind(r.policy_version)
            .push_bind(r.method.as_str())
            .push_bind(Json(&r.risk))
            .push_bind(Json(&r.quote))
            .push_bind(r.refund_due_by.map(millis))
            .push_bind(millis(r.created_at))
            .push_bind(millis(r.updated_at))
            .push_bind(&n.figures.currency)
            .push_bind(n.figures.item_value)
            .push_bind(n.figures.fees)
            .push_bind(n.figures.refund)
            .push_bind(n.figures.credit)
            .push_bind(n.local_date)
            .push_bind(r.refund_destination.as_ref().map(Json))
            .push_bind(customer.as_deref())
            .push_bind(r.dropoff_point.as_ref().map(|p| p.carrier.as_str()))
            .push_bind(r.dropoff_point.as_ref().map(|p| p.id.as_str()))
            .push_unseparated(")");
        if !items.is_empty() {
            part(&mut q, cte, &mut k, parts);
            q.push(ITEM_ROW);
            q.push_values(
                items.iter().zip(0i64..),
                |mut b, ((item_id, line, item, rec), pos)| {
                    b.push_bind(&shop)
                        .push_bind(item_id)
                        .push_bind(&id)
                        .push_bind(&order)
                        .push_bind(pos)
                        .push_bind(line)
                        .push_bind(i64::from(item.quantity))
                        .push_bind(item.reason.as_str())
                        .push_bind(&item.comment)
                        .push_bind(item.resolution.as_str())
                        .push_bind(Json(&item.photos))
                        .push_bind(Json(&item.decision))
                        .push_bind(Json(rec.facts))
                        .push_bind(rec.category)
                        .push_bind(rec.value);
                },
            );
        }
        if !events.is_empty() {
            part(&mut q, cte, &mut k, parts);
            q.push(EVENT_ROW);
            q.push_values(&events, |mut b, (event_id, seq, e)| {
                b.push_bind(&shop)
                    .push_bind(event_id)
                    .push_bind(&id)
                    .push_bind(*seq)
                    .push_bind(e.kind.as_str())
                    .push_bind(millis(e.at))
                    .push_bind(Json(&e.actor))
                    .push_bind(&e.note)
                    .push_bind(Json(&e.data));
            });
        }
        if !messages.is_empty() {
            part(&mut q, cte, &mut k, parts);
            q.push(MESSAGE_ROW);
            q.push_values(&messages, |mut b, (message_shop, message_id, m)| {
                b.push_bind(message_shop)
                    .push_bind(message_id)
                    .push_bind(&m.kind)
                    .push_bind(&m.subject)
                    .push_bind(Json(&m.payload))
                    .push_bind(millis(m.occurred_at));
            });
        }
        if let Some(customer) = &customer {
            part(&mut q, cte, &mut k, parts);
            q.push("UPDATE customers SET return_count = return_count + 1 WHERE shop_id = ");
            q.push_bind(&shop);
            q.push(" AND id = ");
            q.push_bind(customer);
        }
        q.build().execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

const RETURN_ROW: &str = "INSERT INTO returns (shop_id, id, number, order_id, email, status,
    version, policy_version, method, risk, quote, refund_due_by, created_at, updated_at, currency,
    item_value, fees, refund, credit, local_date, refund_destination, customer_id,
    dropoff_carrier, dropoff_point_id)";
const ITEM_ROW: &str = "INSERT INTO return_items (shop_id, id, return_id, order_id, position,
    line_id, quantity, reason, comment, resolution, photos, decision, facts, category, value) ";
const EVENT_ROW: &str =
    "INSERT INTO return_events (shop_id, id, return_id, seq, kind, at, actor, note, data) ";
const MESSAGE_ROW: &str = "INSERT INTO outbox (shop_id, id, kind, subject, payload, occurred_at) ";

/// [`insert`] in a job on SQLite's writer ([`crate::Db::run_job`]): the same
/// rows, a prepared statement per table, run on the calling thread.
pub fn insert_on(c: &rusqlite::Connection, n: &NewRecord<'_>) -> Result<(), StoreError> {
    let r = n.ret;
    let shop = r.shop_id.to_string();
    let id = r.id.to_string();
    let order = r.order_id.to_string();
    let customer = n.customer.map(|c| c.to_string());
    let run = |sql: &str, values: &[&dyn rusqlite::ToSql]| {
        c.prepare_cached(sql)
            .and_then(|mut s| s.execute(values))
            .map_err(crate::direct::sqlite)
    };
    // Each statement's text, made once: a row's columns and its `?N` slots.
    static SQL: std::sync::LazyLock<[String; 4]> = std::sync::LazyLock::new(|| {
        let row = |insert: &str, n: usize| {
            let slots: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
            format!("{insert} VALUES ({})", slots.join(", "))
        };
        [
            row(RETURN_ROW, 24),
            row(ITEM_ROW, 15),
            row(EVENT_ROW, 9),
            row(MESSAGE_ROW, 6),
        ]
    });
    let [return_sql, item_sql, event_sql, message_sql] = &*SQL;
    run(
        return_sql,
        rusqlite::params![
            shop,
            id,
            r.number,
            order,
            n.email,
            r.status.as_str(),
            r.version,
            r.policy_version,
            r.method.as_str(),
            json(&r.risk)?,
            json(&r.quote)?,
            r.refund_due_by.map(millis),
            millis(r.created_at),
            millis(r.updated_at),
            n.figures.currency,
            n.figures.item_value,
            n.figures.fees,
            n.figures.refund,
            n.figures.credit,
            n.local_date,
            r.refund_destination.as_ref().map(json).transpose()?,
            customer,
            r.dropoff_point.as_ref().map(|p| p.carrier.as_str()),
            r.dropoff_point.as_ref().map(|p| p.id.as_str()),
        ],
    )?;
    for ((item, rec), pos) in r.items.iter().zip(&n.items).zip(0i64..) {
        run(
            item_sql,
            rusqlite::params![
                shop,
                item.id.to_string(),
                id,
                order,
                pos,
                item.line_id.to_string(),
                i64::from(item.quantity),
                item.reason.as_str(),
                item.comment,
                item.resolution.as_str(),
                json(&item.photos)?,
                json(&item.decision)?,
                json(rec.facts)?,
                rec.category,
                rec.value,
            ],
        )?;
    }
    for (e, seq) in n.timeline.iter().zip(1i64..) {
        run(
            event_sql,
            rusqlite::params![
                shop,
                EventId::new(e.at, entropy()).to_string(),
                id,
                seq,
                e.kind.as_str(),
                millis(e.at),
                json(&e.actor)?,
                e.note,
                json(&e.data)?,
            ],
        )?;
    }
    for m in n.messages {
        run(
            message_sql,
            rusqlite::params![
                m.shop_id.to_string(),
                m.id.to_string(),
                m.kind,
                m.subject,
                json(&m.payload)?,
                millis(m.occurred_at),
            ],
        )?;
    }
    if let Some(customer) = customer {
        run(
            "UPDATE customers SET return_count = return_count + 1 WHERE shop_id = ?1 AND id = ?2",
            rusqlite::params![shop, customer],
        )?;
    }
    Ok(())
}

/// A value as the JSON text sqlx's `Json` stores on SQLite.
fn json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Starts statement `k` of `parts` sent as one: on SQLite one after the other
/// in one query, on PostgreSQL as `WITH p0 AS (…), p1 AS (…) last`.
fn part<DB: sqlx::Database>(
    q: &mut sqlx::QueryBuilder<DB>,
    cte: bool,
    k: &mut usize,
    parts: usize,
) {
    let at = *k;
    *k += 1;
    if at == 0 {
        if cte && parts > 1 {
            q.push("WITH p0 AS (");
        }
    } else if !cte {
        q.push("; ");
    } else if at + 1 == parts {
        q.push(") ");
    } else {
        q.push(format!("), p{at} AS ("));
    }
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
