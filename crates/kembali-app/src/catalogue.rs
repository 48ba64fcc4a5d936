//! The shop's products and variants: what an exchange can be made for, with
//! stock where the shop tracks it.

use std::collections::BTreeMap;

use kembali_core::order::{Product, Variant};
use kembali_core::text::{self, Form};
use kembali_core::{Currency, Money, ProductId, ShopId, VariantId};
use kembali_store::catalogue::{self, Stocked};
use kembali_store::{StoreError, Tx};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{Entity, Rule};
use crate::{App, AppError};

/// A variant of a new product.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantInput {
    #[schema(min_length = 1, max_length = 100)]
    pub sku: String,
    #[schema(min_length = 1, max_length = 500)]
    pub title: String,
    /// Minor units of the product's currency.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000i64)]
    pub price: i64,
    #[serde(default)]
    pub final_sale: bool,
    /// Units on hand; leave out when the shop does not track stock.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub stock: Option<i64>,
    /// Options as the shop names them (`{"size": "M", "colour": "indigo"}`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    #[schema(min_length = 1, max_length = 500)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub category: Option<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub tags: Vec<String>,
    pub currency: Currency,
    #[schema(min_items = 1, max_items = 100)]
    pub variants: Vec<VariantInput>,
}

fn line(field: String, value: &str, max: usize) -> Result<(), AppError> {
    text::check_required(value, Form::Line, max).map_err(|_| {
        AppError::invalid(
            field,
            Rule::NotValid {
                why: "one line of text within its length, no control characters",
            },
        )
    })
}

/// Adds a product with its variants.
pub async fn create(
    app: &App,
    tx: &mut Tx,
    shop: ShopId,
    input: &ProductInput,
) -> Result<(Product, Vec<Stocked>), AppError> {
    line("title".into(), &input.title, 500)?;
    if let Some(c) = &input.category {
        line("category".into(), c, 200)?;
    }
    if input.tags.len() > 50 {
        return Err(AppError::invalid("tags", Rule::AtMost { max: 50 }));
    }
    for (n, t) in input.tags.iter().enumerate() {
        line(format!("tags[{n}]"), t, 100)?;
    }
    if input.variants.is_empty() || input.variants.len() > 100 {
        return Err(AppError::invalid(
            "variants",
            Rule::NotValid {
                why: "1 to 100 variants",
            },
        ));
    }
    let now = app.now();
    let mut variants = Vec::new();
    let mut extra = Vec::new();
    for (n, v) in input.variants.iter().enumerate() {
        line(format!("variants[{n}].sku"), &v.sku, 100)?;
        line(format!("variants[{n}].title"), &v.title, 500)?;
        if !(0..=Money::MAX_AMOUNT).contains(&v.price) {
            return Err(AppError::invalid(
                format!("variants[{n}].price"),
                Rule::NotValid {
                    why: "an amount from 0 to the bound of every amount",
                },
            ));
        }
        if v.stock.is_some_and(|s| !(0..=1_000_000_000).contains(&s)) {
            return Err(AppError::invalid(
                format!("variants[{n}].stock"),
                Rule::NotValid {
                    why: "0 to 1,000,000,000 units",
                },
            ));
        }
        if v.options.len() > 20 {
            return Err(AppError::invalid(
                format!("variants[{n}].options"),
                Rule::AtMost { max: 20 },
            ));
        }
        for (k, val) in &v.options {
            line(format!("variants[{n}].options.{k}"), k, 100)?;
            line(format!("variants[{n}].options.{k}"), val, 200)?;
        }
        variants.push(Variant {
            // In the order given: variants list by id.
            id: VariantId::new(now, app.ordered_entropy()),
            sku: v.sku.trim().to_owned(),
            title: v.title.clone(),
            price: Money::new(v.price, input.currency),
            final_sale: v.final_sale,
        });
        extra.push((v.stock, v.options.clone()));
    }
    let product = Product {
        id: ProductId::new(now, app.entropy()),
        shop_id: shop,
        title: input.title.clone(),
        category: input.category.clone(),
        tags: input.tags.clone(),
        variants,
    };
    catalogue::insert(tx, &product, &extra)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate { .. } => AppError::invalid(
                "variants",
                Rule::NotValid {
                    why: "a SKU the shop already has",
                },
            ),
            other => other.into(),
        })?;
    catalogue::get(tx, shop, product.id)
        .await?
        .ok_or(AppError::NotFound(Entity::Product))
}

/// Sets a variant's price and stock.
pub async fn update_variant(
    tx: &mut Tx,
    shop: ShopId,
    id: VariantId,
    price: Option<i64>,
    stock: Option<Option<i64>>,
) -> Result<Stocked, AppError> {
    let now = catalogue::variant(tx, shop, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Variant))?;
    let price = price.unwrap_or(now.variant.price.amount);
    if !(0..=Money::MAX_AMOUNT).contains(&price) {
        return Err(AppError::invalid(
            "price",
            Rule::NotValid {
                why: "an amount from 0 to the bound of every amount",
            },
        ));
    }
    let stock = stock.unwrap_or(now.stock);
    if stock.is_some_and(|s| !(0..=1_000_000_000).contains(&s)) {
        return Err(AppError::invalid(
            "stock",
            Rule::NotValid {
                why: "0 to 1,000,000,000 units",
            },
        ));
    }
    catalogue::update_variant(tx, shop, id, price, stock).await?;
    catalogue::variant(tx, shop, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Variant))
}

/// A product with its variants and their stock.
pub async fn get(
    app: &App,
    shop: ShopId,
    id: ProductId,
) -> Result<(Product, Vec<Stocked>), AppError> {
    let mut conn = app.db.conn().await?;
    catalogue::get(&mut conn, shop, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Product))
}

/// The shop's products after `after` in id order, at most `limit`, each with
/// its variants and their stock.
pub async fn list(
    app: &App,
    shop: ShopId,
    after: Option<ProductId>,
    limit: u32,
) -> Result<Vec<(Product, Vec<Stocked>)>, AppError> {
    let mut conn = app.db.conn().await?;
    let ids = catalogue::list(&mut conn, shop, after, limit).await?;
    let mut products = Vec::with_capacity(ids.len());
    for id in ids {
        // Deleted between the two reads: not on this page.
        if let Some(p) = catalogue::get(&mut conn, shop, id).await? {
            products.push(p);
        }
    }
    Ok(products)
}
