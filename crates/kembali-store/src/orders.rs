//! Orders with their lines and shipments, and the customer's history the policy
//! looks at.

use std::collections::HashMap;

use kembali_core::order::{
    Address, Order, OrderLine, PaymentMethod, Shipment, ShipmentLine, TrackingStatus,
};
use kembali_core::policy::CustomerHistory;
use kembali_core::shop::Locale;
use kembali_core::{Currency, CustomerId, LineId, Money, OrderId, ShipmentId, ShopId};
use rusqlite::OptionalExtension;
use serde::Deserialize;
use sqlx::types::Json;

use crate::db::Session;
use crate::{Db, StoreError, corrupt, direct, entropy, from_millis, millis, run};

fn payment_str(p: PaymentMethod) -> &'static str {
    match p {
        PaymentMethod::Card => "card",
        PaymentMethod::CashOnDelivery => "cash_on_delivery",
        PaymentMethod::BankTransfer => "bank_transfer",
        PaymentMethod::EWallet => "e_wallet",
        PaymentMethod::Other => "other",
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(corrupt)
}

/// Finds the shop's customer with this email, creating them on first sight. An
/// upsert: two first orders of one new shopper at once both end with the same
/// customer, on either database.
pub async fn ensure_customer(
    ex: &mut impl Session,
    shop: ShopId,
    email: &str,
    name: &str,
    locale: Locale,
    now: jiff::Timestamp,
) -> Result<CustomerId, StoreError> {
    let email = email.trim().to_lowercase();
    let id = CustomerId::new(now, entropy());
    run!(ex, |c| {
        sqlx::query(
            "INSERT INTO customers (shop_id, id, email, name, locale, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (shop_id, email) DO NOTHING",
        )
        .bind(shop.to_string())
        .bind(id.to_string())
        .bind(&email)
        .bind(name)
        .bind(locale.code())
        .bind(millis(now))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    let found: String = run!(ex, |c| sqlx::query_scalar(
        "SELECT id FROM customers WHERE shop_id = $1 AND email = $2"
    )
    .bind(shop.to_string())
    .bind(&email)
    .fetch_one(&mut *c)
    .await)?;
    found.parse().map_err(corrupt)
}

/// Where an order came from: `api`, `csv`, or a platform source, with the
/// platform's own id of the order and its last-change time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub source: String,
    pub external_id: String,
    pub updated_at: Option<jiff::Timestamp>,
}

/// The order a source's own id names, with the source's last-change time stored.
pub async fn find_by_origin(
    ex: &mut impl Session,
    shop: ShopId,
    source: &str,
    external_id: &str,
) -> Result<Option<(OrderId, Option<jiff::Timestamp>)>, StoreError> {
    let row: Option<(String, Option<i64>)> = run!(ex, |c| sqlx::query_as(
        "SELECT id, source_updated_at FROM orders
          WHERE shop_id = $1 AND source = $2 AND external_id = $3"
    )
    .bind(shop.to_string())
    .bind(source)
    .bind(external_id)
    .fetch_optional(&mut *c)
    .await)?;
    row.map(|(id, at)| Ok((id.parse().map_err(corrupt)?, at.map(from_millis))))
        .transpose()
}

/// Locks the order row until the transaction ends (PostgreSQL; SQLite's single
/// writer already serialises). `false` when there is no such order.
pub async fn lock(ex: &mut impl Session, shop: ShopId, id: OrderId) -> Result<bool, StoreError> {
    let sql = crate::dialect::for_update!(
        ex.backend(),
        "SELECT id FROM orders WHERE shop_id = $1 AND id = $2"
    );
    let found: Option<String> = run!(ex, |c| sqlx::query_scalar(sql)
        .bind(shop.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await)?;
    Ok(found.is_some())
}

/// Locks the order row as [`lock`] does and answers when it was cancelled, in
/// one statement: `None` when there is no such order, `Some(None)` for an
/// order that is not cancelled.
pub async fn lock_cancelled(
    ex: &mut impl Session,
    shop: ShopId,
    id: OrderId,
) -> Result<Option<Option<jiff::Timestamp>>, StoreError> {
    let sql = crate::dialect::for_update!(
        ex.backend(),
        "SELECT cancelled_at FROM orders WHERE shop_id = $1 AND id = $2"
    );
    let row: Option<Option<i64>> = run!(ex, |c| sqlx::query_scalar(sql)
        .bind(shop.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await)?;
    Ok(row.map(|at| at.map(from_millis)))
}

/// Stores a new order with its lines and shipments. The order must be valid
/// (`Order::validate`); a duplicate order number is a [`StoreError::Duplicate`].
pub async fn insert(
    ex: &mut impl Session,
    order: &Order,
    shipments: &[Shipment],
    origin: &Origin,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let shop = order.shop_id.to_string();
    run!(ex, |c| {
        sqlx::query(
        "INSERT INTO orders (shop_id, id, number, customer_id, email, locale, currency, placed_at,
            payment_method, taxes_included, shipping_address, shipping_paid, cheapest_shipping, created_at,
            source, external_id, source_updated_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $14)"
    )
    .bind(&shop)
    .bind(order.id.to_string())
    .bind(&order.number)
    .bind(order.customer_id.map(|c| c.to_string()))
    .bind(order.email.trim().to_lowercase())
    .bind(order.locale.code())
    .bind(order.currency.code())
    .bind(millis(order.placed_at))
    .bind(payment_str(order.payment_method))
    .bind(order.taxes_included)
    .bind(Json(&order.shipping_address))
    .bind(order.shipping_paid.amount)
    .bind(order.cheapest_shipping.amount)
    .bind(millis(now))
    .bind(&origin.source)
    .bind(&origin.external_id)
    .bind(origin.updated_at.map(millis))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    save_lines(ex, order).await?;
    for s in shipments {
        save_shipment(ex, order.shop_id, s).await?;
    }
    Ok(())
}

/// Stores a changed order: its header, its lines (new ones added, known ones
/// changed; none removed, since returns may name them) and its shipments.
pub async fn update(
    ex: &mut impl Session,
    order: &Order,
    shipments: &[Shipment],
    origin: &Origin,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    run!(ex, |c| {
        sqlx::query(
            "UPDATE orders SET number = $3, customer_id = $4, email = $5, locale = $6,
                payment_method = $7, taxes_included = $8, shipping_address = $9,
                shipping_paid = $10, cheapest_shipping = $11, source_updated_at = $12,
                updated_at = $13
              WHERE shop_id = $1 AND id = $2",
        )
        .bind(order.shop_id.to_string())
        .bind(order.id.to_string())
        .bind(&order.number)
        .bind(order.customer_id.map(|c| c.to_string()))
        .bind(order.email.trim().to_lowercase())
        .bind(order.locale.code())
        .bind(payment_str(order.payment_method))
        .bind(order.taxes_included)
        .bind(Json(&order.shipping_address))
        .bind(order.shipping_paid.amount)
        .bind(order.cheapest_shipping.amount)
        .bind(origin.updated_at.map(millis))
        .bind(millis(now))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    save_lines(ex, order).await?;
    for s in shipments {
        save_shipment(ex, order.shop_id, s).await?;
    }
    Ok(())
}

/// Inserts or updates every line of `order` by its id.
async fn save_lines(ex: &mut impl Session, order: &Order) -> Result<(), StoreError> {
    let shop = order.shop_id.to_string();
    for (pos, l) in order.lines.iter().enumerate() {
        run!(ex, |c| {
            sqlx::query(
            "INSERT INTO order_lines (shop_id, id, order_id, position, product_id, variant_id, sku, title,
                category, tags, final_sale, quantity, unit_price, discount, tax)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT (shop_id, id) DO UPDATE SET position = excluded.position,
                product_id = excluded.product_id, variant_id = excluded.variant_id,
                sku = excluded.sku, title = excluded.title, category = excluded.category,
                tags = excluded.tags, final_sale = excluded.final_sale,
                quantity = excluded.quantity, unit_price = excluded.unit_price,
                discount = excluded.discount, tax = excluded.tax"
        )
        .bind(&shop)
        .bind(l.id.to_string())
        .bind(order.id.to_string())
        .bind(pos as i64)
        .bind(l.product_id.map(|p| p.to_string()))
        .bind(l.variant_id.map(|v| v.to_string()))
        .bind(&l.sku)
        .bind(&l.title)
        .bind(&l.category)
        .bind(Json(&l.tags))
        .bind(l.final_sale)
        .bind(i64::from(l.quantity))
        .bind(l.unit_price.amount)
        .bind(l.discount.amount)
        .bind(l.tax.amount)
        .execute(&mut *c)
        .await
    .map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Inserts or updates a shipment by its id.
pub async fn save_shipment(
    ex: &mut impl Session,
    shop: ShopId,
    s: &Shipment,
) -> Result<(), StoreError> {
    run!(ex, |c| {
        sqlx::query(
        "INSERT INTO shipments (shop_id, id, order_id, carrier, tracking_number, status, shipped_at,
            delivered_at, promised_by, lines, tracking_url)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (shop_id, id) DO UPDATE SET carrier = excluded.carrier,
            tracking_number = excluded.tracking_number, status = excluded.status,
            shipped_at = excluded.shipped_at, delivered_at = excluded.delivered_at,
            promised_by = excluded.promised_by, lines = excluded.lines,
            tracking_url = excluded.tracking_url"
    )
    .bind(shop.to_string())
    .bind(s.id.to_string())
    .bind(s.order_id.to_string())
    .bind(&s.carrier)
    .bind(&s.tracking_number)
    .bind(s.status.as_str())
    .bind(s.shipped_at.map(millis))
    .bind(s.delivered_at.map(millis))
    .bind(s.promised_by.map(millis))
    .bind(Json(&s.lines))
    .bind(&s.tracking_url)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// One shipment of the shop, by its id.
pub async fn get_shipment(
    ex: &mut impl Session,
    shop: ShopId,
    id: ShipmentId,
) -> Result<Option<Shipment>, StoreError> {
    let row: Option<ShipmentRow> = run!(ex, |c| {
        sqlx::query_as(
            "SELECT id, order_id, carrier, tracking_number, status, shipped_at, delivered_at,
                promised_by, lines, tracking_url
             FROM shipments WHERE shop_id = $1 AND id = $2",
        )
        .bind(shop.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await
    })?;
    row.map(shipment_from).transpose()
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: String,
    number: String,
    customer_id: Option<String>,
    email: String,
    locale: String,
    currency: String,
    placed_at: i64,
    payment_method: String,
    taxes_included: bool,
    shipping_address: Json<Address>,
    shipping_paid: i64,
    cheapest_shipping: i64,
}

/// A line as the folded read's JSON array holds it (fields in this order).
#[derive(Deserialize)]
struct LineRow {
    id: String,
    product_id: Option<String>,
    variant_id: Option<String>,
    sku: String,
    title: String,
    category: Option<String>,
    tags: Json<Vec<String>>,
    #[serde(deserialize_with = "flag")]
    final_sale: bool,
    quantity: i64,
    unit_price: i64,
    discount: i64,
    tax: i64,
}

/// A shipment as a row, or in the folded read's JSON array (fields in this order).
#[derive(sqlx::FromRow, Deserialize)]
struct ShipmentRow {
    id: String,
    order_id: String,
    carrier: String,
    tracking_number: Option<String>,
    status: String,
    shipped_at: Option<i64>,
    delivered_at: Option<i64>,
    promised_by: Option<i64>,
    lines: Json<Vec<ShipmentLine>>,
    tracking_url: Option<String>,
}

/// A boolean as JSON holds it: `true`/`false` from PostgreSQL, `1`/`0` from
/// SQLite (which has no boolean type).
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Int(i64),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Int(i) => i != 0,
    })
}

fn line_from(r: LineRow, currency: Currency) -> Result<OrderLine, StoreError> {
    Ok(OrderLine {
        id: r.id.parse().map_err(corrupt)?,
        product_id: r
            .product_id
            .map(|p| p.parse())
            .transpose()
            .map_err(corrupt)?,
        variant_id: r
            .variant_id
            .map(|v| v.parse())
            .transpose()
            .map_err(corrupt)?,
        sku: r.sku,
        title: r.title,
        category: r.category,
        tags: r.tags.0,
        final_sale: r.final_sale,
        quantity: u32::try_from(r.quantity).map_err(corrupt)?,
        unit_price: Money::new(r.unit_price, currency),
        discount: Money::new(r.discount, currency),
        tax: Money::new(r.tax, currency),
    })
}

fn shipment_from(r: ShipmentRow) -> Result<Shipment, StoreError> {
    Ok(Shipment {
        id: r.id.parse().map_err(corrupt)?,
        order_id: r.order_id.parse().map_err(corrupt)?,
        carrier: r.carrier,
        tracking_number: r.tracking_number,
        tracking_url: r.tracking_url,
        status: parse_enum::<TrackingStatus>(&r.status)?,
        shipped_at: r.shipped_at.map(from_millis),
        delivered_at: r.delivered_at.map(from_millis),
        promised_by: r.promised_by.map(from_millis),
        lines: r.lines.0,
    })
}

macro_rules! order_columns {
    () => {
        "o.id, o.number, o.customer_id, o.email, o.locale, o.currency, o.placed_at,
         o.payment_method, o.taxes_included, o.shipping_address, o.shipping_paid,
         o.cheapest_shipping"
    };
}

/// The order's lines and shipments as JSON arrays beside its row, so that one
/// statement reads what three did; the `facts!` columns add the units its open
/// returns hold and its customer's counters. Written once per database: the JSON
/// functions differ. `$1` is the shop, `$2` the order's id or number.
macro_rules! folded {
    (sqlite, $facts:expr, $key:literal) => {
        concat!(
            "SELECT ",
            order_columns!(),
            ",
             (SELECT json_group_array(json_array(l.id, l.product_id, l.variant_id, l.sku,
                         l.title, l.category, json(l.tags), l.final_sale, l.quantity,
                         l.unit_price, l.discount, l.tax) ORDER BY l.position)
                FROM order_lines l WHERE l.shop_id = o.shop_id AND l.order_id = o.id) AS lines_json,
             (SELECT json_group_array(json_array(s.id, s.order_id, s.carrier, s.tracking_number,
                         s.status, s.shipped_at, s.delivered_at, s.promised_by, json(s.lines),
                         s.tracking_url) ORDER BY s.id)
                FROM shipments s WHERE s.shop_id = o.shop_id AND s.order_id = o.id) AS shipments_json,",
            $facts,
            " FROM orders o WHERE o.shop_id = $1 AND o.",
            $key,
            " = $2"
        )
    };
    (postgres, $facts:expr, $key:literal) => {
        concat!(
            "SELECT ",
            order_columns!(),
            ",
             (SELECT json_agg(json_build_array(l.id, l.product_id, l.variant_id, l.sku,
                         l.title, l.category, l.tags, l.final_sale, l.quantity,
                         l.unit_price, l.discount, l.tax) ORDER BY l.position)::text
                FROM order_lines l WHERE l.shop_id = o.shop_id AND l.order_id = o.id) AS lines_json,
             (SELECT json_agg(json_build_array(s.id, s.order_id, s.carrier, s.tracking_number,
                         s.status, s.shipped_at, s.delivered_at, s.promised_by, s.lines,
                         s.tracking_url) ORDER BY s.id)::text
                FROM shipments s WHERE s.shop_id = o.shop_id AND s.order_id = o.id) AS shipments_json,",
            $facts,
            " FROM orders o WHERE o.shop_id = $1 AND o.",
            $key,
            " = $2"
        )
    };
}

/// The facts columns: the units held by the order's open returns (as
/// `returns::held_quantities` reads them) and the customer's counters (as
/// `customers::history`), or nothing.
macro_rules! facts {
    (none) => {
        "NULL AS held_json, NULL AS customer_json, o.cancelled_at"
    };
    (sqlite) => {
        "(SELECT json_group_array(json_array(i.line_id, i.quantity)) FROM return_items i
            JOIN returns r ON r.shop_id = i.shop_id AND r.id = i.return_id
           WHERE i.shop_id = o.shop_id AND i.order_id = o.id
             AND r.status NOT IN ('rejected', 'cancelled', 'expired')) AS held_json,
         (SELECT json_array(c.order_count, c.return_count, c.refused_parcels) FROM customers c
           WHERE c.shop_id = o.shop_id AND c.id = o.customer_id) AS customer_json,
         o.cancelled_at"
    };
    (postgres) => {
        "(SELECT json_agg(json_build_array(i.line_id, i.quantity))::text FROM return_items i
            JOIN returns r ON r.shop_id = i.shop_id AND r.id = i.return_id
           WHERE i.shop_id = o.shop_id AND i.order_id = o.id
             AND r.status NOT IN ('rejected', 'cancelled', 'expired')) AS held_json,
         (SELECT json_build_array(c.order_count, c.return_count, c.refused_parcels)::text
            FROM customers c WHERE c.shop_id = o.shop_id AND c.id = o.customer_id) AS customer_json,
         o.cancelled_at"
    };
}

/// How a read names the order.
#[derive(Clone, Copy)]
enum Key {
    Id,
    Number,
}

/// The statement for a read by `key`, with or without the facts.
fn folded_sql(backend: crate::Backend, key: Key, with_facts: bool) -> &'static str {
    use crate::Backend::{Postgres, Sqlite};
    match (backend, key, with_facts) {
        (Sqlite, Key::Id, false) => folded!(sqlite, facts!(none), "id"),
        (Sqlite, Key::Id, true) => folded!(sqlite, facts!(sqlite), "id"),
        (Sqlite, Key::Number, _) => folded!(sqlite, facts!(none), "number"),
        (Postgres, Key::Id, false) => folded!(postgres, facts!(none), "id"),
        (Postgres, Key::Id, true) => folded!(postgres, facts!(postgres), "id"),
        (Postgres, Key::Number, _) => folded!(postgres, facts!(none), "number"),
    }
}

#[derive(sqlx::FromRow)]
struct FoldedRow {
    #[sqlx(flatten)]
    order: OrderRow,
    lines_json: Option<String>,
    shipments_json: Option<String>,
    held_json: Option<String>,
    customer_json: Option<String>,
    cancelled_at: Option<i64>,
}

/// An order with what the policy's decisions about it depend on.
pub struct ForDecision {
    pub order: Order,
    pub shipments: Vec<Shipment>,
    /// Units of each line that open returns already hold.
    pub held: HashMap<LineId, u32>,
    /// The customer's counters; `None` for an order without a customer (look
    /// them up by email: `customer_history`).
    pub history: Option<CustomerHistory>,
    /// When the order was cancelled, if it was.
    pub cancelled_at: Option<jiff::Timestamp>,
}

/// A JSON array column: `NULL` (PostgreSQL's aggregate over no rows) is empty.
fn json_rows<T: serde::de::DeserializeOwned>(text: Option<&str>) -> Result<Vec<T>, StoreError> {
    match text {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(t).map_err(corrupt),
    }
}

async fn read_folded(
    ex: &mut impl Session,
    shop: ShopId,
    key: Key,
    value: &str,
    with_facts: bool,
) -> Result<Option<ForDecision>, StoreError> {
    let sql = folded_sql(ex.backend(), key, with_facts);
    let row: Option<FoldedRow> = run!(ex, |c| sqlx::query_as(sql)
        .bind(shop.to_string())
        .bind(value)
        .fetch_optional(&mut *c)
        .await)?;
    row.map(|row| assemble(shop, row)).transpose()
}

/// The folded read by id outside a transaction: on SQLite on this thread
/// ([`crate::direct`]), on PostgreSQL on a pooled connection.
async fn read_folded_in(
    db: &Db,
    shop: ShopId,
    id: OrderId,
    with_facts: bool,
) -> Result<Option<ForDecision>, StoreError> {
    if let Db::Sqlite {
        direct: Some(readers),
        ..
    } = db
    {
        // The read never waits, so a task that loops over look-ups would
        // keep its worker from every other task: it gives the worker up
        // when tokio's budget for one turn is spent, as sockets do.
        tokio::task::coop::consume_budget().await;
        match readers.read(|c| folded_on(c, shop, id, with_facts)) {
            Ok(found) => return Ok(found),
            // The file is busy (another process recovers or locks it): wait
            // for it on sqlx's thread, not on this worker.
            Err(StoreError::Unavailable(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let mut conn = db.conn().await?;
    read_folded(&mut conn, shop, Key::Id, &id.to_string(), with_facts).await
}

/// The folded read by id on a rusqlite connection.
fn folded_on(
    c: &rusqlite::Connection,
    shop: ShopId,
    id: OrderId,
    with_facts: bool,
) -> Result<Option<ForDecision>, StoreError> {
    let sql = folded_sql(crate::Backend::Sqlite, Key::Id, with_facts);
    let mut stmt = c.prepare_cached(sql).map_err(direct::sqlite)?;
    let row = stmt
        .query_row(
            rusqlite::params![shop.to_string(), id.to_string()],
            folded_row,
        )
        .optional()
        .map_err(direct::sqlite)?;
    row.map(|row| assemble(shop, row)).transpose()
}

/// [`for_decision`] in a job on SQLite's writer ([`crate::Db::run_job`]).
pub fn for_decision_on(
    c: &rusqlite::Connection,
    shop: ShopId,
    id: OrderId,
) -> Result<Option<ForDecision>, StoreError> {
    folded_on(c, shop, id, true)
}

/// A row of the folded read as rusqlite gives it; the address is parsed here
/// (sqlx's `Json` does it on the other path), a bad one failing as a column
/// that did not convert (`Corrupt`, `direct::sqlite`).
fn folded_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FoldedRow> {
    let shipping_address = crate::direct::json_column(r, "shipping_address")?;
    Ok(FoldedRow {
        order: OrderRow {
            id: r.get("id")?,
            number: r.get("number")?,
            customer_id: r.get("customer_id")?,
            email: r.get("email")?,
            locale: r.get("locale")?,
            currency: r.get("currency")?,
            placed_at: r.get("placed_at")?,
            payment_method: r.get("payment_method")?,
            taxes_included: r.get("taxes_included")?,
            shipping_address: Json(shipping_address),
            shipping_paid: r.get("shipping_paid")?,
            cheapest_shipping: r.get("cheapest_shipping")?,
        },
        lines_json: r.get("lines_json")?,
        shipments_json: r.get("shipments_json")?,
        held_json: r.get("held_json")?,
        customer_json: r.get("customer_json")?,
        cancelled_at: r.get("cancelled_at")?,
    })
}

/// The order and its facts out of a folded row, whichever driver read it.
fn assemble(shop: ShopId, row: FoldedRow) -> Result<ForDecision, StoreError> {
    let r = row.order;
    let currency: Currency = r.currency.parse().map_err(corrupt)?;
    let lines: Vec<LineRow> = json_rows(row.lines_json.as_deref())?;
    let shipments: Vec<ShipmentRow> = json_rows(row.shipments_json.as_deref())?;
    let held = crate::returns::sum_held(json_rows(row.held_json.as_deref())?)?;
    let history = match row.customer_json.as_deref() {
        Some(t) => {
            let (orders, returns, refused): (i64, i64, i64) =
                serde_json::from_str(t).map_err(corrupt)?;
            Some(crate::customers::to_history(Some((
                orders, returns, refused,
            ))))
        }
        None => None,
    };
    let order = Order {
        id: r.id.parse().map_err(corrupt)?,
        shop_id: shop,
        number: r.number,
        customer_id: r
            .customer_id
            .map(|c| c.parse())
            .transpose()
            .map_err(corrupt)?,
        email: r.email,
        locale: Locale::from_tag(&r.locale).unwrap_or(Locale::En),
        currency,
        placed_at: from_millis(r.placed_at),
        payment_method: parse_enum(&r.payment_method)?,
        taxes_included: r.taxes_included,
        shipping_address: r.shipping_address.0,
        shipping_paid: Money::new(r.shipping_paid, currency),
        cheapest_shipping: Money::new(r.cheapest_shipping, currency),
        lines: lines
            .into_iter()
            .map(|l| line_from(l, currency))
            .collect::<Result<_, _>>()?,
    };
    let shipments = shipments
        .into_iter()
        .map(shipment_from)
        .collect::<Result<_, _>>()?;
    Ok(ForDecision {
        order,
        shipments,
        held,
        history,
        cancelled_at: row.cancelled_at.map(from_millis),
    })
}

/// The order with its lines and shipments and when it was cancelled, if it
/// was: what the API shows of it, in one statement outside a transaction; on
/// SQLite without a hand-off to sqlx's connection thread.
pub async fn view(
    db: &Db,
    shop: ShopId,
    id: OrderId,
) -> Result<Option<(Order, Vec<Shipment>, Option<jiff::Timestamp>)>, StoreError> {
    Ok(read_folded_in(db, shop, id, false)
        .await?
        .map(|f| (f.order, f.shipments, f.cancelled_at)))
}

/// [`for_decision`] outside a transaction (eligibility): on SQLite without a
/// hand-off to sqlx's connection thread.
pub async fn decision(
    db: &Db,
    shop: ShopId,
    id: OrderId,
) -> Result<Option<ForDecision>, StoreError> {
    read_folded_in(db, shop, id, true).await
}

/// The order with its lines and shipments, if it is this shop's: one statement.
pub async fn get(
    ex: &mut impl Session,
    shop: ShopId,
    id: OrderId,
) -> Result<Option<(Order, Vec<Shipment>)>, StoreError> {
    Ok(read_folded(ex, shop, Key::Id, &id.to_string(), false)
        .await?
        .map(|f| (f.order, f.shipments)))
}

/// The order with its lines and shipments, the units its open returns hold and
/// its customer's counters: what a decision about its lines needs, in one
/// statement.
pub async fn for_decision(
    ex: &mut impl Session,
    shop: ShopId,
    id: OrderId,
) -> Result<Option<ForDecision>, StoreError> {
    read_folded(ex, shop, Key::Id, &id.to_string(), true).await
}

/// The order the shopper knows by its number.
pub async fn get_by_number(
    ex: &mut impl Session,
    shop: ShopId,
    number: &str,
) -> Result<Option<(Order, Vec<Shipment>)>, StoreError> {
    Ok(read_folded(ex, shop, Key::Number, number, false)
        .await?
        .map(|f| (f.order, f.shipments)))
}

/// What the customer known by `email` did before: orders, returns, refused COD
/// parcels, as their row keeps them (`customers::add`); one look-up.
pub async fn customer_history(
    ex: &mut impl Session,
    shop: ShopId,
    email: &str,
) -> Result<CustomerHistory, StoreError> {
    let email = email.trim().to_lowercase();
    let row: Option<(i64, i64, i64)> = run!(ex, |c| sqlx::query_as(
        "SELECT order_count, return_count, refused_parcels FROM customers
          WHERE shop_id = $1 AND email = $2"
    )
    .bind(shop.to_string())
    .bind(&email)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(crate::customers::to_history(row))
}

/// When the order was cancelled; `None` for an order that is not, `Err(NotFound)`
/// for one that is not this shop's.
pub async fn cancelled_at(
    ex: &mut impl Session,
    shop: ShopId,
    id: OrderId,
) -> Result<Option<jiff::Timestamp>, StoreError> {
    let row: Option<Option<i64>> = run!(ex, |c| sqlx::query_scalar(
        "SELECT cancelled_at FROM orders WHERE shop_id = $1 AND id = $2"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    Ok(row.ok_or(StoreError::NotFound)?.map(from_millis))
}

/// Marks the order cancelled at `at`; `false` when it already was (nothing changes).
pub async fn cancel(
    ex: &mut impl Session,
    shop: ShopId,
    id: OrderId,
    at: jiff::Timestamp,
) -> Result<bool, StoreError> {
    let n = run!(ex, |c| sqlx::query(
        "UPDATE orders SET cancelled_at = $3, updated_at = $3
          WHERE shop_id = $1 AND id = $2 AND cancelled_at IS NULL"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .bind(millis(at))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Whether the shop has taken any order.
pub async fn any(ex: &mut impl Session, shop: ShopId) -> Result<bool, StoreError> {
    let found: Option<String> = run!(ex, |c| sqlx::query_scalar(
        "SELECT id FROM orders WHERE shop_id = $1 LIMIT 1"
    )
    .bind(shop.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    Ok(found.is_some())
}

/// The shop's orders placed with `email`, or from `source` when `email` is `None`.
pub async fn ids_of(
    ex: &mut impl Session,
    shop: ShopId,
    email: Option<&str>,
    source: Option<&str>,
) -> Result<Vec<OrderId>, StoreError> {
    let rows: Vec<String> = run!(ex, |c| sqlx::query_scalar(
        "SELECT id FROM orders
          WHERE shop_id = $1 AND ($2 IS NULL OR email = $2) AND ($3 IS NULL OR source = $3)
          ORDER BY id"
    )
    .bind(shop.to_string())
    .bind(email.map(|e| e.trim().to_lowercase()))
    .bind(source)
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|r| r.parse().map_err(corrupt))
        .collect()
}

/// Erases the personal data of an order (GDPR, UU PDP): the email becomes a
/// placeholder, the address keeps only its country (which the policy's past
/// decisions used), and the copies on its returns and its customer go too.
pub async fn redact(ex: &mut impl Session, shop: ShopId, id: OrderId) -> Result<(), StoreError> {
    let Some((order, _)) = get(ex, shop, id).await? else {
        return Ok(());
    };
    let placeholder = format!("redacted-{id}@redacted.invalid");
    let address = Address {
        name: String::new(),
        line1: String::new(),
        line2: None,
        city: String::new(),
        postal_code: String::new(),
        country: order.shipping_address.country.clone(),
        phone: None,
    };
    run!(ex, |c| sqlx::query(
        "UPDATE orders SET email = $1, shipping_address = $2 WHERE shop_id = $3 AND id = $4"
    )
    .bind(&placeholder)
    .bind(Json(&address))
    .bind(shop.to_string())
    .bind(id.to_string())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    run!(ex, |c| sqlx::query(
        "UPDATE returns SET email = $1 WHERE shop_id = $2 AND order_id = $3"
    )
    .bind(&placeholder)
    .bind(shop.to_string())
    .bind(id.to_string())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    if let Some(customer) = order.customer_id {
        run!(ex, |c| sqlx::query(
            "UPDATE customers SET email = $1, name = '' WHERE shop_id = $2 AND id = $3"
        )
        .bind(format!("redacted-{customer}@redacted.invalid"))
        .bind(shop.to_string())
        .bind(customer.to_string())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}
