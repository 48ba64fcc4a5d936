//! Bulk writes for imports: customers, orders, lines and shipments by the thousand
//! per statement (multi-row INSERTs on SQLite, COPY on PostgreSQL).
//!
//! This module is dialect-split by nature: each function has one body per
//! database, where the rest of the store writes its SQL once. The rows it writes
//! are the same rows `orders::insert` writes, one order at a time.

use std::collections::HashMap;

use kembali_core::order::{Order, Shipment};
use kembali_core::shop::Locale;
use kembali_core::{CustomerId, OrderId, ShopId};
use sqlx::types::Json;
use sqlx::{PgConnection, QueryBuilder, Sqlite, SqliteConnection};

use crate::db::{Inner, Session};
use crate::orders::Origin;
use crate::{StoreError, corrupt, entropy, millis};

/// SQLite's bound on variables in one statement (`SQLITE_MAX_VARIABLE_NUMBER`
/// since 3.32): a multi-row INSERT takes `SQLITE_VARIABLES / columns` rows.
pub const SQLITE_VARIABLES: usize = 32_766;

/// A customer as an import first sees them.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    /// Lower case, trimmed (what `orders::ensure_customer` stores).
    pub email: String,
    pub name: String,
    pub locale: Locale,
    /// Added to the customer's order count, new or already there.
    pub orders: i64,
    /// Added to the customer's refused cash-on-delivery parcels.
    pub refused_parcels: i64,
}

/// An order the shop already holds, found by its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub id: OrderId,
    pub number: String,
    pub source: String,
    pub external_id: Option<String>,
}

/// A customer already there keeps its name and adds the new counts, in the
/// same statement (no second pass over the customers).
const COUNTS_ON_CONFLICT: &str = " ON CONFLICT (shop_id, email) DO UPDATE SET
    order_count = customers.order_count + excluded.order_count,
    refused_parcels = customers.refused_parcels + excluded.refused_parcels";

/// Finds the shop's customers with these emails, creating those not yet there
/// (an upsert per customer, as `orders::ensure_customer` does one at a time):
/// email → id for every email given, with each one's counts added (see
/// [`COUNTS_ON_CONFLICT`]). Emails must be lower case and trimmed.
pub async fn customers(
    ex: &mut impl Session,
    shop: ShopId,
    new: &[NewCustomer],
    now: jiff::Timestamp,
) -> Result<HashMap<String, CustomerId>, StoreError> {
    // One row per email: PostgreSQL refuses to meet the same key twice in one
    // statement. The first name seen wins, as it would one by one; the counts
    // of every row with the email add up.
    let mut by_email: HashMap<&str, usize> = HashMap::with_capacity(new.len());
    let mut rows: Vec<(String, &NewCustomer, i64, i64)> = Vec::with_capacity(new.len());
    for c in new {
        match by_email.get(c.email.as_str()) {
            Some(&i) => {
                rows[i].2 += c.orders;
                rows[i].3 += c.refused_parcels;
            }
            None => {
                by_email.insert(c.email.as_str(), rows.len());
                let id = CustomerId::new(now, entropy()).to_string();
                rows.push((id, c, c.orders, c.refused_parcels));
            }
        }
    }
    let shop_s = shop.to_string();
    let created = millis(now);
    // The upsert returns the id of every row it inserted or updated, so the
    // customers are not looked up again by email afterwards.
    let mut found: Vec<(String, String)> = Vec::with_capacity(rows.len());
    match ex.inner() {
        Inner::Sqlite(c) => {
            for chunk in rows.chunks(SQLITE_VARIABLES / 8) {
                let mut q = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO customers (shop_id, id, email, name, locale, created_at,
                        order_count, refused_parcels) ",
                );
                q.push_values(chunk, |mut b, (id, cu, orders, refused)| {
                    b.push_bind(&shop_s)
                        .push_bind(id)
                        .push_bind(&cu.email)
                        .push_bind(&cu.name)
                        .push_bind(cu.locale.code())
                        .push_bind(created)
                        .push_bind(*orders)
                        .push_bind(*refused);
                });
                q.push(COUNTS_ON_CONFLICT);
                q.push(" RETURNING email, id");
                found.extend(q.build_query_as().fetch_all(&mut *c).await?);
            }
        }
        Inner::Postgres(c) => {
            let ids: Vec<&str> = rows.iter().map(|(id, ..)| id.as_str()).collect();
            let emails: Vec<&str> = rows.iter().map(|(_, c, ..)| c.email.as_str()).collect();
            let names: Vec<&str> = rows.iter().map(|(_, c, ..)| c.name.as_str()).collect();
            let locales: Vec<&str> = rows.iter().map(|(_, c, ..)| c.locale.code()).collect();
            let orders: Vec<i64> = rows.iter().map(|r| r.2).collect();
            let refused: Vec<i64> = rows.iter().map(|r| r.3).collect();
            found = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "INSERT INTO customers (shop_id, id, email, name, locale, created_at,
                    order_count, refused_parcels)
                 SELECT $1, id, email, name, locale, $6, orders, refused
                   FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[],
                               $7::bigint[], $8::bigint[])
                     AS t (id, email, name, locale, orders, refused)
                 {COUNTS_ON_CONFLICT}
                 RETURNING email, id"
            )))
            .bind(&shop_s)
            .bind(&ids)
            .bind(&emails)
            .bind(&names)
            .bind(&locales)
            .bind(created)
            .bind(&orders)
            .bind(&refused)
            .fetch_all(&mut *c)
            .await?;
        }
    }
    found
        .into_iter()
        .map(|(email, id)| Ok((email, id.parse().map_err(corrupt)?)))
        .collect()
}

/// The shop's orders with these numbers, whatever their source.
pub async fn known(
    ex: &mut impl Session,
    shop: ShopId,
    numbers: &[String],
) -> Result<Vec<Known>, StoreError> {
    let shop_s = shop.to_string();
    let rows: Vec<(String, String, String, Option<String>)> = match ex.inner() {
        Inner::Sqlite(c) => {
            sqlx::query_as(
                "SELECT id, number, source, external_id FROM orders
                  WHERE shop_id = $1 AND number IN (SELECT value FROM json_each($2))",
            )
            .bind(&shop_s)
            .bind(Json(numbers))
            .fetch_all(&mut *c)
            .await?
        }
        Inner::Postgres(c) => {
            sqlx::query_as(
                "SELECT id, number, source, external_id FROM orders
                  WHERE shop_id = $1 AND number = ANY($2)",
            )
            .bind(&shop_s)
            .bind(numbers)
            .fetch_all(&mut *c)
            .await?
        }
    };
    rows.into_iter()
        .map(|(id, number, source, external_id)| {
            Ok(Known {
                id: id.parse().map_err(corrupt)?,
                number,
                source,
                external_id,
            })
        })
        .collect()
}

/// Every order of the shop with its first line, in no set order: what a
/// benchmark that loaded the orders in bulk needs to ask about them.
pub async fn first_lines(
    ex: &mut impl Session,
    shop: ShopId,
) -> Result<Vec<(OrderId, kembali_core::LineId)>, StoreError> {
    let rows: Vec<(String, String)> = crate::run!(ex, |c| sqlx::query_as(
        "SELECT order_id, id FROM order_lines WHERE shop_id = $1 AND position = 0"
    )
    .bind(shop.to_string())
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|(o, l)| Ok((o.parse().map_err(corrupt)?, l.parse().map_err(corrupt)?)))
        .collect()
}

/// A new order with its shipments and where it came from.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub order: Order,
    pub shipments: Vec<Shipment>,
    pub origin: Origin,
}

/// Stores new orders with their lines and shipments, as `orders::insert` would
/// one by one. Every order must be valid (`Order::validate`), have its customer
/// set, and be new: a number the shop holds already fails the whole call with
/// [`StoreError::Duplicate`].
pub async fn insert_orders(
    ex: &mut impl Session,
    orders: &[NewOrder],
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    if orders.is_empty() {
        return Ok(());
    }
    match ex.inner() {
        Inner::Sqlite(c) => sqlite_orders(c, orders, millis(now)).await,
        Inner::Postgres(c) => pg_orders(c, orders, millis(now)).await,
    }
}

const ORDER_COLUMNS: &str = "shop_id, id, number, customer_id, email, locale, currency, \
    placed_at, payment_method, taxes_included, shipping_address, shipping_paid, \
    cheapest_shipping, created_at, source, external_id, source_updated_at, updated_at";
const LINE_COLUMNS: &str = "shop_id, id, order_id, position, product_id, variant_id, sku, \
    title, category, tags, final_sale, quantity, unit_price, discount, tax";
const SHIPMENT_COLUMNS: &str = "shop_id, id, order_id, carrier, tracking_number, status, \
    shipped_at, delivered_at, promised_by, lines";

fn columns(list: &str) -> usize {
    list.split(',').count()
}

/// One multi-row INSERT of the SQLite bulk path: which table, and which of
/// its rows (indexes into the orders, lines or shipments).
enum Rows {
    Orders(std::ops::Range<usize>),
    Lines(std::ops::Range<usize>),
    Shipments(std::ops::Range<usize>),
}

async fn sqlite_orders(
    c: &mut SqliteConnection,
    orders: &[NewOrder],
    now: i64,
) -> Result<(), StoreError> {
    // A bulk write walks every index of three tables: a 256 MiB page cache for
    // this connection (SQLite's default is 2 MiB) keeps their pages at hand.
    // The connection's own size comes back afterwards, failed or not, so a
    // server that imported does not keep the memory.
    let (before,): (i64,) = sqlx::query_as("PRAGMA cache_size")
        .fetch_one(&mut *c)
        .await?;
    sqlx::query("PRAGMA cache_size = -262144")
        .execute(&mut *c)
        .await?;
    let written = sqlite_rows(c, orders, now).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA cache_size = {before}")))
        .execute(&mut *c)
        .await?;
    written
}

async fn sqlite_rows(
    c: &mut SqliteConnection,
    orders: &[NewOrder],
    now: i64,
) -> Result<(), StoreError> {
    let lines: Vec<(&Order, usize)> = orders
        .iter()
        .flat_map(|n| (0..n.order.lines.len()).map(move |k| (&n.order, k)))
        .collect();
    let shops: Vec<String> = orders.iter().map(|n| n.order.shop_id.to_string()).collect();
    let shipments: Vec<(&str, &Shipment)> = orders
        .iter()
        .zip(&shops)
        .flat_map(|(n, shop)| n.shipments.iter().map(move |s| (shop.as_str(), s)))
        .collect();
    let mut rows = Vec::new();
    let mut split = |len: usize, per: usize, make: fn(std::ops::Range<usize>) -> Rows| {
        let mut at = 0;
        while at < len {
            let end = (at + per).min(len);
            rows.push(make(at..end));
            at = end;
        }
    };
    split(
        orders.len(),
        SQLITE_VARIABLES / columns(ORDER_COLUMNS),
        Rows::Orders,
    );
    split(
        lines.len(),
        SQLITE_VARIABLES / columns(LINE_COLUMNS),
        Rows::Lines,
    );
    split(
        shipments.len(),
        SQLITE_VARIABLES / columns(SHIPMENT_COLUMNS),
        Rows::Shipments,
    );
    let statement = |r: &Rows| -> QueryBuilder<Sqlite> {
        match r {
            Rows::Orders(range) => {
                let mut q =
                    QueryBuilder::<Sqlite>::new(format!("INSERT INTO orders ({ORDER_COLUMNS}) "));
                q.push_values(&orders[range.clone()], |mut b, n| {
                    let o = &n.order;
                    b.push_bind(o.shop_id.to_string())
                        .push_bind(o.id.to_string())
                        .push_bind(o.number.clone())
                        .push_bind(o.customer_id.map(|c| c.to_string()))
                        .push_bind(o.email.clone())
                        .push_bind(o.locale.code())
                        .push_bind(o.currency.code().to_owned())
                        .push_bind(millis(o.placed_at))
                        .push_bind(o.payment_method.as_str())
                        .push_bind(o.taxes_included)
                        .push_bind(Json(o.shipping_address.clone()))
                        .push_bind(o.shipping_paid.amount)
                        .push_bind(o.cheapest_shipping.amount)
                        .push_bind(now)
                        .push_bind(n.origin.source.clone())
                        .push_bind(n.origin.external_id.clone())
                        .push_bind(n.origin.updated_at.map(millis))
                        .push_bind(now);
                });
                q
            }
            Rows::Lines(range) => {
                let mut q = QueryBuilder::<Sqlite>::new(format!(
                    "INSERT INTO order_lines ({LINE_COLUMNS}) "
                ));
                q.push_values(&lines[range.clone()], |mut b, (o, k)| {
                    let l = &o.lines[*k];
                    b.push_bind(o.shop_id.to_string())
                        .push_bind(l.id.to_string())
                        .push_bind(o.id.to_string())
                        .push_bind(*k as i64)
                        .push_bind(l.product_id.map(|p| p.to_string()))
                        .push_bind(l.variant_id.map(|v| v.to_string()))
                        .push_bind(l.sku.clone())
                        .push_bind(l.title.clone())
                        .push_bind(l.category.clone())
                        .push_bind(Json(l.tags.clone()))
                        .push_bind(l.final_sale)
                        .push_bind(i64::from(l.quantity))
                        .push_bind(l.unit_price.amount)
                        .push_bind(l.discount.amount)
                        .push_bind(l.tax.amount);
                });
                q
            }
            Rows::Shipments(range) => {
                let mut q = QueryBuilder::<Sqlite>::new(format!(
                    "INSERT INTO shipments ({SHIPMENT_COLUMNS}) "
                ));
                q.push_values(&shipments[range.clone()], |mut b, (shop, s)| {
                    b.push_bind(*shop)
                        .push_bind(s.id.to_string())
                        .push_bind(s.order_id.to_string())
                        .push_bind(s.carrier.clone())
                        .push_bind(s.tracking_number.clone())
                        .push_bind(s.status.as_str())
                        .push_bind(s.shipped_at.map(millis))
                        .push_bind(s.delivered_at.map(millis))
                        .push_bind(s.promised_by.map(millis))
                        .push_bind(Json(s.lines.clone()));
                });
                q
            }
        }
    };
    // Each statement is built while the one before runs on the connection's
    // worker thread: on two cores the building and SQLite's work overlap
    // instead of taking turns.
    let mut rows = rows.iter();
    let mut next = rows.next().map(statement);
    while let Some(mut q) = next.take() {
        let (done, following) = tokio::join!(async { q.build().execute(&mut *c).await }, async {
            rows.next().map(statement)
        });
        done?;
        next = following;
    }
    Ok(())
}

/// Rows in PostgreSQL's binary COPY format: each row its field count, each
/// field its length (-1 for NULL) and its bytes: text as UTF-8, `BIGINT` as
/// eight bytes big-endian, `BOOLEAN` as one, `JSONB` as its version (1) and
/// the JSON text. Nothing is escaped on our side or parsed as text on the
/// server's, which the text format cost both (docs/BENCHMARKS.md).
struct CopyRows {
    buf: Vec<u8>,
    /// Fields per row: the table's columns, in the order COPY names them.
    fields: i16,
    /// A row has begun (its field count is written).
    open: bool,
    rows: usize,
}

/// What starts every binary COPY: the signature, no flags, no extension.
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

impl CopyRows {
    fn new(columns: &str) -> CopyRows {
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(COPY_HEADER);
        CopyRows {
            buf,
            fields: i16::try_from(self::columns(columns)).unwrap_or(i16::MAX),
            open: false,
            rows: 0,
        }
    }

    fn field(&mut self) {
        if !self.open {
            self.buf.extend_from_slice(&self.fields.to_be_bytes());
            self.open = true;
        }
    }

    /// Starts a field whose length is known once it is written; `done`
    /// writes that length in front of it.
    fn begin(&mut self) -> usize {
        self.field();
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        at
    }

    fn done(&mut self, at: usize) {
        // A field over 2 GiB cannot be sent (the server would refuse the
        // data); no request comes near it.
        let len = i32::try_from(self.buf.len() - at - 4).unwrap_or(i32::MAX);
        self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        let at = self.begin();
        self.buf.extend_from_slice(b);
        self.done(at);
        self
    }

    fn text(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    /// An id, written without a `String` of its own.
    fn id(&mut self, id: impl std::fmt::Display) -> &mut Self {
        use std::io::Write as _;
        let at = self.begin();
        // Writing into a Vec cannot fail.
        let _ = write!(self.buf, "{id}");
        self.done(at);
        self
    }

    fn opt_id(&mut self, id: Option<impl std::fmt::Display>) -> &mut Self {
        match id {
            Some(id) => self.id(id),
            None => self.null(),
        }
    }

    fn null(&mut self) -> &mut Self {
        self.field();
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
        self
    }

    fn opt(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    fn int(&mut self, v: i64) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    fn boolean(&mut self, v: bool) -> &mut Self {
        self.bytes(&[u8::from(v)])
    }

    fn json(&mut self, v: &impl serde::Serialize) -> Result<&mut Self, StoreError> {
        let at = self.begin();
        // JSONB's binary form: a version byte, then the text.
        self.buf.push(1);
        serde_json::to_writer(&mut self.buf, v)?;
        self.done(at);
        Ok(self)
    }

    fn end(&mut self) {
        self.open = false;
        self.rows += 1;
    }

    /// The whole stream, with the trailer that ends it.
    fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.buf
    }
}

async fn copy(
    c: &mut PgConnection,
    table: &str,
    cols: &str,
    rows: CopyRows,
) -> Result<(), StoreError> {
    if rows.rows == 0 {
        return Ok(());
    }
    let sql = format!("COPY {table} ({cols}) FROM STDIN (FORMAT binary)");
    let mut sink = c.copy_in_raw(&sql).await?;
    // A failed send leaves the COPY open; abort it so the connection is usable
    // for the rollback that follows.
    if let Err(e) = sink.send(rows.finish()).await {
        let _ = sink.abort(e.to_string()).await;
        return Err(e.into());
    }
    sink.finish().await?;
    Ok(())
}

async fn pg_orders(c: &mut PgConnection, orders: &[NewOrder], now: i64) -> Result<(), StoreError> {
    let mut rows = CopyRows::new(ORDER_COLUMNS);
    for n in orders {
        let o = &n.order;
        rows.id(o.shop_id)
            .id(o.id)
            .text(&o.number)
            .opt_id(o.customer_id)
            .text(&o.email)
            .text(o.locale.code())
            .text(o.currency.code())
            .int(millis(o.placed_at))
            .text(o.payment_method.as_str())
            .boolean(o.taxes_included)
            .json(&o.shipping_address)?
            .int(o.shipping_paid.amount)
            .int(o.cheapest_shipping.amount)
            .int(now)
            .text(&n.origin.source)
            .text(&n.origin.external_id)
            .opt_int(n.origin.updated_at.map(millis))
            .int(now)
            .end();
    }
    copy(c, "orders", ORDER_COLUMNS, rows).await?;
    let mut rows = CopyRows::new(LINE_COLUMNS);
    for n in orders {
        let o = &n.order;
        for (k, l) in o.lines.iter().enumerate() {
            rows.id(o.shop_id)
                .id(l.id)
                .id(o.id)
                .int(k as i64)
                .opt_id(l.product_id)
                .opt_id(l.variant_id)
                .text(&l.sku)
                .text(&l.title)
                .opt(l.category.as_deref())
                .json(&l.tags)?
                .boolean(l.final_sale)
                .int(i64::from(l.quantity))
                .int(l.unit_price.amount)
                .int(l.discount.amount)
                .int(l.tax.amount)
                .end();
        }
    }
    copy(c, "order_lines", LINE_COLUMNS, rows).await?;
    let mut rows = CopyRows::new(SHIPMENT_COLUMNS);
    for n in orders {
        for s in &n.shipments {
            rows.id(n.order.shop_id)
                .id(s.id)
                .id(s.order_id)
                .text(&s.carrier)
                .opt(s.tracking_number.as_deref())
                .text(s.status.as_str())
                .opt_int(s.shipped_at.map(millis))
                .opt_int(s.delivered_at.map(millis))
                .opt_int(s.promised_by.map(millis))
                .json(&s.lines)?
                .end();
        }
    }
    copy(c, "shipments", SHIPMENT_COLUMNS, rows).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_copy_rows_are_counted_and_length_prefixed() {
        let mut r = CopyRows::new("a, b, c, d, e, f");
        r.text("a\tb")
            .opt(None)
            .int(-5)
            .boolean(true)
            .id(42)
            .json(&serde_json::json!(["é"]))
            .unwrap_or_else(|e| panic!("{e}"));
        r.end();
        let mut want = COPY_HEADER.to_vec();
        want.extend_from_slice(&6i16.to_be_bytes());
        want.extend_from_slice(&[0, 0, 0, 3, b'a', b'\t', b'b']);
        want.extend_from_slice(&[0xff; 4]);
        want.extend_from_slice(&[0, 0, 0, 8]);
        want.extend_from_slice(&(-5i64).to_be_bytes());
        want.extend_from_slice(&[0, 0, 0, 1, 1]);
        want.extend_from_slice(&[0, 0, 0, 2, b'4', b'2']);
        want.extend_from_slice(&[0, 0, 0, 7, 1]);
        want.extend_from_slice("[\"é\"]".as_bytes());
        want.extend_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(r.rows, 1);
        assert_eq!(r.finish(), want);
        assert_eq!(&COPY_HEADER[..11], b"PGCOPY\n\xff\r\n\0");
        assert_eq!(COPY_HEADER.len(), 19);
    }

    #[test]
    fn a_sqlite_statement_stays_under_the_variable_bound() {
        for cols in [ORDER_COLUMNS, LINE_COLUMNS, SHIPMENT_COLUMNS] {
            let n = columns(cols);
            assert!((SQLITE_VARIABLES / n) * n <= SQLITE_VARIABLES);
        }
        assert_eq!(columns(ORDER_COLUMNS), 18);
        assert_eq!(columns(LINE_COLUMNS), 15);
        assert_eq!(columns(SHIPMENT_COLUMNS), 10);
    }
}
