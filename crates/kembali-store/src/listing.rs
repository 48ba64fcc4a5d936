//! Lists: a shop's rows below a cursor, newest id first, with only the filters
//! given written into the SQL (one statement shape per combination, so each
//! cached plan is made for the conditions it has), and the two lists built on it.

use kembali_core::returns::{Resolution, ReturnReason, ReturnStatus};
use kembali_core::{OrderId, ReturnId, ShopId};

use crate::db::Session;
use crate::stored::stored;
use crate::{StoreError, millis, run};

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub enum Bind {
    Text(String),
    Int(i64),
}

/// `SELECT <columns> FROM <table> WHERE shop_id = $1 AND id < $2 [AND …]
/// ORDER BY id DESC LIMIT n`: the primary key `(shop_id, id)` walked backwards.
pub struct Query {
    sql: String,
    binds: Vec<Bind>,
}

impl Query {
    /// `table` and `columns` are written in our code, never input. `before` is
    /// the cursor (the last id of the previous page); `prefix` is the ids' own.
    pub fn new(
        columns: &'static str,
        table: &'static str,
        prefix: &'static str,
        shop: ShopId,
        before: Option<String>,
    ) -> Query {
        let before = before.unwrap_or_else(|| crate::AFTER_EVERY_ID.replace('*', prefix));
        Query {
            sql: format!("SELECT {columns} FROM {table} WHERE shop_id = $1 AND id < $2"),
            binds: vec![Bind::Text(shop.to_string()), Bind::Text(before)],
        }
    }

    /// Adds `AND <condition>`, where `?` in `condition` stands for `value`'s
    /// placeholder.
    pub fn and(&mut self, condition: &'static str, value: Bind) -> &mut Query {
        self.binds.push(value);
        let placeholder = format!("${}", self.binds.len());
        self.sql.push_str(" AND ");
        self.sql.push_str(&condition.replace('?', &placeholder));
        self
    }

    pub async fn fetch<R>(mut self, ex: &mut impl Session, limit: u32) -> Result<Vec<R>, StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        self.sql
            .push_str(&format!(" ORDER BY id DESC LIMIT {limit}"));
        let sql = self.sql;
        let binds = self.binds;
        let rows: Vec<R> = run!(ex, |c| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for b in &binds {
                q = match b {
                    Bind::Text(s) => q.bind(s.clone()),
                    Bind::Int(i) => q.bind(*i),
                };
            }
            q.fetch_all(&mut *c).await
        })?;
        Ok(rows)
    }
}

/// Created at or after `from`, and before `until`, on a `created_at` column.
fn created(q: &mut Query, from: Option<jiff::Timestamp>, until: Option<jiff::Timestamp>) {
    if let Some(t) = from {
        q.and("created_at >= ?", Bind::Int(millis(t)));
    }
    if let Some(t) = until {
        q.and("created_at < ?", Bind::Int(millis(t)));
    }
}

/// What the orders list can be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub created_from: Option<jiff::Timestamp>,
    pub created_until: Option<jiff::Timestamp>,
    pub email: Option<String>,
    pub number: Option<String>,
}

stored! {
    /// An order as a list shows it; its lines and shipments are one read away.
    #[derive(Debug, Clone)]
    pub struct OrderRow from RawOrder {
        pub id: OrderId,
        pub number: String,
        pub email: String,
        pub currency: String,
        pub placed_at: jiff::Timestamp,
        pub source: String,
        pub created_at: jiff::Timestamp,
    }
}

pub async fn orders(
    ex: &mut impl Session,
    shop: ShopId,
    before: Option<OrderId>,
    f: &OrderFilter,
    limit: u32,
) -> Result<Vec<OrderRow>, StoreError> {
    let mut q = Query::new(
        "id, number, email, currency, placed_at, source, created_at",
        "orders",
        "ord",
        shop,
        before.map(|b| b.to_string()),
    );
    created(&mut q, f.created_from, f.created_until);
    if let Some(e) = &f.email {
        q.and("email = ?", Bind::Text(e.clone()));
    }
    if let Some(n) = &f.number {
        q.and("number = ?", Bind::Text(n.clone()));
    }
    let rows: Vec<RawOrder> = q.fetch(ex, limit).await?;
    rows.into_iter().map(OrderRow::try_from).collect()
}

/// What the returns list can be narrowed to. `reason` and `resolution`
/// match when any item has them (the resolution decided, else the one asked).
#[derive(Debug, Clone, Default)]
pub struct ReturnFilter {
    pub status: Option<ReturnStatus>,
    pub reason: Option<ReturnReason>,
    pub resolution: Option<Resolution>,
    pub created_from: Option<jiff::Timestamp>,
    pub created_until: Option<jiff::Timestamp>,
    pub order: Option<OrderId>,
    pub email: Option<String>,
}

stored! {
    /// A return as a list shows it; items and timeline are one read away.
    #[derive(Debug, Clone)]
    pub struct ReturnRow from RawReturn {
        pub id: ReturnId,
        pub number: String,
        pub order_id: OrderId,
        pub email: String,
        pub status: ReturnStatus,
        pub version: i64,
        pub currency: String,
        pub refund: i64,
        pub credit: i64,
        pub created_at: jiff::Timestamp,
        pub updated_at: jiff::Timestamp,
    }
}

pub async fn returns(
    ex: &mut impl Session,
    shop: ShopId,
    before: Option<ReturnId>,
    f: &ReturnFilter,
    limit: u32,
) -> Result<Vec<ReturnRow>, StoreError> {
    let mut q = Query::new(
        "id, number, order_id, email, status, version, currency, refund, credit, created_at, updated_at",
        "returns r",
        "ret",
        shop,
        before.map(|b| b.to_string()),
    );
    if let Some(s) = f.status {
        q.and("status = ?", Bind::Text(s.as_str().into()));
    }
    created(&mut q, f.created_from, f.created_until);
    if let Some(o) = f.order {
        q.and("order_id = ?", Bind::Text(o.to_string()));
    }
    if let Some(e) = &f.email {
        q.and("email = ?", Bind::Text(e.clone()));
    }
    // The items of one return: an index look-up per candidate return.
    if let Some(r) = f.reason {
        q.and(
            "EXISTS (SELECT 1 FROM return_items i WHERE i.shop_id = r.shop_id
                AND i.return_id = r.id AND i.reason = ?)",
            Bind::Text(r.as_str().into()),
        );
    }
    if let Some(r) = f.resolution {
        q.and(
            "EXISTS (SELECT 1 FROM return_items i WHERE i.shop_id = r.shop_id
                AND i.return_id = r.id AND COALESCE(i.final_resolution, i.resolution) = ?)",
            Bind::Text(r.as_str().into()),
        );
    }
    let rows: Vec<RawReturn> = q.fetch(ex, limit).await?;
    rows.into_iter().map(ReturnRow::try_from).collect()
}
