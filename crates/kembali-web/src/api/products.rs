//! `/api/v1/products` and `/api/v1/variants/{variant_id}`: the catalogue an
//! exchange is made from, with stock where the shop tracks it.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kembali_app::catalogue::{self, ProductInput};
use kembali_core::order::Product;
use kembali_core::{Money, ProductId, VariantId};
use kembali_store::catalogue::Stocked;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::error::{ApiError, Problem};
use crate::api::extract::{Auth, Body, Id, Named, once};
use crate::api::list::{ListQuery, NoFilters, Page, Paging};
use crate::api::orders::to_json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product))
        .routes(routes!(update_variant))
}

impl Named for ProductId {
    const WHAT: &'static str = "product";
    const TABLE: Option<&'static str> = Some("products");
}

impl Named for VariantId {
    const WHAT: &'static str = "variant";
    const TABLE: Option<&'static str> = Some("variants");
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariantView {
    pub id: VariantId,
    pub sku: String,
    pub title: String,
    pub price: Money,
    pub final_sale: bool,
    /// Units on hand; absent when not tracked.
    pub stock: Option<i64>,
    pub options: BTreeMap<String, String>,
}

impl From<Stocked> for VariantView {
    fn from(s: Stocked) -> Self {
        VariantView {
            id: s.variant.id,
            sku: s.variant.sku,
            title: s.variant.title,
            price: s.variant.price,
            final_sale: s.variant.final_sale,
            stock: s.stock,
            options: s.options,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    pub id: ProductId,
    pub title: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub variants: Vec<VariantView>,
}

fn view(p: Product, variants: Vec<Stocked>) -> ProductView {
    ProductView {
        id: p.id,
        title: p.title,
        category: p.category,
        tags: p.tags,
        variants: variants.into_iter().map(VariantView::from).collect(),
    }
}

#[utoipa::path(post, path = "/products", tag = "products",
    request_body = ProductInput,
    responses((status = 201, body = ProductView), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn create_product(
    State(state): State<AppState>,
    auth: Auth,
    body: Body<ProductInput>,
) -> Result<Response, ApiError> {
    let input = &body.value;
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let (p, v) = catalogue::create(&state.app, tx, auth.shop.id, input).await?;
        Ok((StatusCode::CREATED, to_json(&view(p, v))?))
    })
    .await
}

#[utoipa::path(get, path = "/products", tag = "products",
    params(Paging<ProductId>),
    responses((status = 200, description = "The shop's products in id order", body = Page<ProductView>), (status = 400, body = Problem)),
    security(("api_key" = [])))]
async fn list_products(
    State(state): State<AppState>,
    auth: Auth,
    q: ListQuery<NoFilters>,
) -> Result<Json<Page<ProductView>>, ApiError> {
    let rows = catalogue::list(&state.app, auth.shop.id, q.cursor()?, q.fetch()).await?;
    let page = q.page(rows, |(p, _)| p.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(|(p, v)| view(p, v)).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(get, path = "/products/{product_id}", tag = "products",
    params(("product_id" = ProductId, Path, description = "`prod_…`")),
    responses((status = 200, body = ProductView), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn get_product(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<ProductId>,
) -> Result<Json<ProductView>, ApiError> {
    let (p, v) = catalogue::get(&state.app, auth.shop.id, id).await?;
    Ok(Json(view(p, v)))
}

/// What to change on a variant; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantPatch {
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000i64)]
    pub price: Option<i64>,
    /// Units on hand (`null`: stop tracking stock).
    #[serde(default, deserialize_with = "present")]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub stock: Option<Option<i64>>,
}

/// A field that was sent, `null` included (absent stays `None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

#[utoipa::path(patch, path = "/variants/{variant_id}", tag = "products",
    params(("variant_id" = VariantId, Path, description = "`var_…`")),
    request_body = VariantPatch,
    responses((status = 200, body = VariantView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn update_variant(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<VariantId>,
    body: Body<VariantPatch>,
) -> Result<Response, ApiError> {
    let (price, stock) = (body.value.price, body.value.stock);
    once(&state, &auth, body.idempotency.as_ref(), async |tx| {
        let v = catalogue::update_variant(tx, auth.shop.id, id, price, stock).await?;
        Ok((StatusCode::OK, to_json(&VariantView::from(v))?))
    })
    .await
}
