//! The shop's products and variants, with stock where the shop tracks it, and
//! the exchanges returns asked for.

use std::collections::BTreeMap;

use jiff::Timestamp;
use kembali_core::order::{Product, Variant};
use kembali_core::{
    Currency, Money, OrderId, ProductId, ReturnId, ReturnItemId, ShopId, VariantId,
};
use sqlx::types::Json;

use crate::db::Session;
use crate::{StoreError, corrupt, from_millis, millis, run};

/// A variant with what the core's `Variant` leaves out.
#[derive(Debug, Clone, PartialEq)]
pub struct Stocked {
    pub product_id: ProductId,
    pub variant: Variant,
    /// Units on hand; `None` when the shop does not track stock.
    pub stock: Option<i64>,
    pub options: BTreeMap<String, String>,
}

/// Stores a product with its variants; a SKU the shop already has is a
/// [`StoreError::Duplicate`].
pub async fn insert(
    ex: &mut impl Session,
    p: &Product,
    extra: &[(Option<i64>, BTreeMap<String, String>)],
) -> Result<(), StoreError> {
    let shop = p.shop_id.to_string();
    run!(ex, |c| sqlx::query(
        "INSERT INTO products (shop_id, id, title, category, tags) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(&shop)
    .bind(p.id.to_string())
    .bind(&p.title)
    .bind(&p.category)
    .bind(Json(&p.tags))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    for (v, (stock, options)) in p.variants.iter().zip(extra) {
        run!(ex, |c| {
            sqlx::query(
            "INSERT INTO variants (shop_id, id, product_id, sku, title, price, currency, final_sale,
                stock, options)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )
        .bind(&shop)
        .bind(v.id.to_string())
        .bind(p.id.to_string())
        .bind(&v.sku)
        .bind(&v.title)
        .bind(v.price.amount)
        .bind(v.price.currency.code())
        .bind(v.final_sale)
        .bind(*stock)
        .bind(Json(options))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: String,
    title: String,
    category: Option<String>,
    tags: Json<Vec<String>>,
}

#[derive(sqlx::FromRow)]
struct VariantRow {
    id: String,
    product_id: String,
    sku: String,
    title: String,
    price: i64,
    currency: String,
    final_sale: bool,
    stock: Option<i64>,
    options: Option<Json<BTreeMap<String, String>>>,
}

impl VariantRow {
    fn into_stocked(self) -> Result<Stocked, StoreError> {
        let currency: Currency = self.currency.parse().map_err(corrupt)?;
        Ok(Stocked {
            product_id: self.product_id.parse().map_err(corrupt)?,
            variant: Variant {
                id: self.id.parse().map_err(corrupt)?,
                sku: self.sku,
                title: self.title,
                price: Money::new(self.price, currency),
                final_sale: self.final_sale,
            },
            stock: self.stock,
            options: self.options.map(|o| o.0).unwrap_or_default(),
        })
    }
}

macro_rules! variant_columns {
    () => {
        "id, product_id, sku, title, price, currency, final_sale, stock, options"
    };
}

/// The product with its variants (and their stock), if it is the shop's.
pub async fn get(
    ex: &mut impl Session,
    shop: ShopId,
    id: ProductId,
) -> Result<Option<(Product, Vec<Stocked>)>, StoreError> {
    let row: Option<ProductRow> = run!(ex, |c| sqlx::query_as(
        "SELECT id, title, category, tags FROM products WHERE shop_id = $1 AND id = $2"
    )
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    let Some(p) = row else { return Ok(None) };
    let rows: Vec<VariantRow> = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        variant_columns!(),
        " FROM variants WHERE shop_id = $1 AND product_id = $2 ORDER BY id"
    ))
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_all(&mut *c)
    .await)?;
    let stocked = rows
        .into_iter()
        .map(VariantRow::into_stocked)
        .collect::<Result<Vec<_>, _>>()?;
    let product = Product {
        id: p.id.parse().map_err(corrupt)?,
        shop_id: shop,
        title: p.title,
        category: p.category,
        tags: p.tags.0,
        variants: stocked.iter().map(|s| s.variant.clone()).collect(),
    };
    Ok(Some((product, stocked)))
}

/// The shop's product ids in id order after `after`.
pub async fn list(
    ex: &mut impl Session,
    shop: ShopId,
    after: Option<ProductId>,
    limit: u32,
) -> Result<Vec<ProductId>, StoreError> {
    let rows: Vec<String> = run!(ex, |c| sqlx::query_scalar(
        "SELECT id FROM products WHERE shop_id = $1 AND ($2 IS NULL OR id > $2)
          ORDER BY id LIMIT $3"
    )
    .bind(shop.to_string())
    .bind(after.map(|a| a.to_string()))
    .bind(i64::from(limit))
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|r| r.parse().map_err(corrupt))
        .collect()
}

pub async fn variant(
    ex: &mut impl Session,
    shop: ShopId,
    id: VariantId,
) -> Result<Option<Stocked>, StoreError> {
    let row: Option<VariantRow> = run!(ex, |c| sqlx::query_as(concat!(
        "SELECT ",
        variant_columns!(),
        " FROM variants WHERE shop_id = $1 AND id = $2"
    ))
    .bind(shop.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(VariantRow::into_stocked).transpose()
}

/// Sets a variant's price and stock (`None` stock: not tracked).
pub async fn update_variant(
    ex: &mut impl Session,
    shop: ShopId,
    id: VariantId,
    price: i64,
    stock: Option<i64>,
) -> Result<bool, StoreError> {
    let n = run!(ex, |c| sqlx::query(
        "UPDATE variants SET price = $1, stock = $2 WHERE shop_id = $3 AND id = $4"
    )
    .bind(price)
    .bind(stock)
    .bind(shop.to_string())
    .bind(id.to_string())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Takes `quantity` units of the variant's stock; `false` (nothing taken) when
/// fewer are on hand. Untracked stock always has enough.
pub async fn take_stock(
    ex: &mut impl Session,
    shop: ShopId,
    id: VariantId,
    quantity: u32,
) -> Result<bool, StoreError> {
    let n = run!(ex, |c| sqlx::query(
        "UPDATE variants SET stock = CASE WHEN stock IS NULL THEN NULL ELSE stock - $1 END
          WHERE shop_id = $2 AND id = $3 AND (stock IS NULL OR stock >= $1)"
    )
    .bind(i64::from(quantity))
    .bind(shop.to_string())
    .bind(id.to_string())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// An exchange a return asked for, and how it was settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub shop_id: ShopId,
    pub item_id: ReturnItemId,
    pub return_id: ReturnId,
    pub variant_id: VariantId,
    pub quantity: u32,
    pub currency: String,
    pub order_id: Option<OrderId>,
    pub price_difference: Option<i64>,
    pub created_at: Timestamp,
    pub settled_at: Option<Timestamp>,
}

pub async fn insert_exchange(ex: &mut impl Session, e: &Exchange) -> Result<(), StoreError> {
    run!(ex, |c| sqlx::query(
        "INSERT INTO exchanges (shop_id, item_id, return_id, variant_id, quantity, currency,
            order_id, price_difference, created_at, settled_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    .bind(e.shop_id.to_string())
    .bind(e.item_id.to_string())
    .bind(e.return_id.to_string())
    .bind(e.variant_id.to_string())
    .bind(i64::from(e.quantity))
    .bind(&e.currency)
    .bind(e.order_id.map(|o| o.to_string()))
    .bind(e.price_difference)
    .bind(millis(e.created_at))
    .bind(e.settled_at.map(millis))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ExchangeRow {
    item_id: String,
    return_id: String,
    variant_id: String,
    quantity: i64,
    currency: String,
    order_id: Option<String>,
    price_difference: Option<i64>,
    created_at: i64,
    settled_at: Option<i64>,
}

/// The exchanges a return asked for.
pub async fn exchanges(
    ex: &mut impl Session,
    shop: ShopId,
    ret: ReturnId,
) -> Result<Vec<Exchange>, StoreError> {
    let rows: Vec<ExchangeRow> = run!(ex, |c| sqlx::query_as(
        "SELECT item_id, return_id, variant_id, quantity, currency, order_id, price_difference,
                created_at, settled_at
           FROM exchanges WHERE shop_id = $1 AND return_id = $2 ORDER BY item_id"
    )
    .bind(shop.to_string())
    .bind(ret.to_string())
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|r| {
            Ok(Exchange {
                shop_id: shop,
                item_id: r.item_id.parse().map_err(corrupt)?,
                return_id: r.return_id.parse().map_err(corrupt)?,
                variant_id: r.variant_id.parse().map_err(corrupt)?,
                quantity: u32::try_from(r.quantity).map_err(corrupt)?,
                currency: r.currency,
                order_id: r.order_id.map(|o| o.parse()).transpose().map_err(corrupt)?,
                price_difference: r.price_difference,
                created_at: from_millis(r.created_at),
                settled_at: r.settled_at.map(from_millis),
            })
        })
        .collect()
}

/// Records the exchange order and the price difference.
pub async fn settle_exchange(ex: &mut impl Session, e: &Exchange) -> Result<(), StoreError> {
    run!(ex, |c| sqlx::query(
        "UPDATE exchanges SET order_id = $1, price_difference = $2, settled_at = $3
          WHERE shop_id = $4 AND item_id = $5"
    )
    .bind(e.order_id.map(|o| o.to_string()))
    .bind(e.price_difference)
    .bind(e.settled_at.map(millis))
    .bind(e.shop_id.to_string())
    .bind(e.item_id.to_string())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
