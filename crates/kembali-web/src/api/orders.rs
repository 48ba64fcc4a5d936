//! `/api/v1/orders`: create and read orders, and ask what the policy says about
//! their items.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use kembali_core::order::{
    Address, Order, OrderLine, PaymentMethod, Shipment, ShipmentLine, TrackingStatus,
};
use kembali_core::policy::Decision;
use kembali_core::returns::ReturnReason;
use kembali_core::shop::Locale;
use kembali_core::{Currency, LineId, Money, OrderId, ProductId, ShipmentId, VariantId};
use kembali_store::{StoreError, orders, returns};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ExplanationView, Problem};
use crate::extract::{Auth, Body, once, path_id, to_millis};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_order))
        .routes(routes!(get_order))
        .routes(routes!(eligibility))
}

/// A line of a new order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    pub sku: String,
    pub title: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub final_sale: bool,
    pub quantity: u32,
    /// Minor units of the order's currency.
    pub unit_price: i64,
    #[serde(default)]
    pub discount: i64,
    #[serde(default)]
    pub tax: i64,
    #[serde(default)]
    pub product_id: Option<ProductId>,
    #[serde(default)]
    pub variant_id: Option<VariantId>,
}

/// Units of a line (by its position in `lines`, from 0) in a shipment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShipmentLine {
    pub line: usize,
    pub quantity: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShipment {
    pub carrier: String,
    #[serde(default)]
    pub tracking_number: Option<String>,
    pub status: TrackingStatus,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub shipped_at: Option<Timestamp>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub promised_by: Option<Timestamp>,
    pub lines: Vec<NewShipmentLine>,
}

/// An order as the shop's platform sends it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// The shop's own order number (`#1001`); unique within the shop.
    pub number: String,
    pub email: String,
    #[serde(default)]
    pub customer_name: Option<String>,
    #[serde(default)]
    pub locale: Option<Locale>,
    pub currency: Currency,
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: Timestamp,
    pub payment_method: PaymentMethod,
    #[serde(default = "yes")]
    pub taxes_included: bool,
    pub shipping_address: Address,
    #[serde(default)]
    pub shipping_paid: i64,
    /// The cheapest standard delivery offered (for EU withdrawal refunds); defaults to `shipping_paid`.
    #[serde(default)]
    pub cheapest_shipping: Option<i64>,
    pub lines: Vec<NewLine>,
    #[serde(default)]
    pub shipments: Vec<NewShipment>,
}

fn yes() -> bool {
    true
}

/// An order with its shipments.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    #[serde(flatten)]
    pub order: Order,
    pub shipments: Vec<Shipment>,
}

#[utoipa::path(post, path = "/orders", tag = "orders",
    request_body = NewOrder,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response")),
    responses(
        (status = 201, description = "The order was stored", body = OrderView),
        (status = 409, description = "An order with this number exists", body = Problem),
        (status = 422, description = "The order is not valid", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn create_order(
    State(state): State<AppState>,
    auth: Auth,
    body: Body<NewOrder>,
) -> Result<Response, ApiError> {
    let now = crate::extract::now();
    let shop = &auth.shop;
    let input = body.value;
    let currency = input.currency;
    let money = |v: i64| Money::new(v, currency);
    let order_id = OrderId::new(now, kembali_store::entropy());
    let lines: Vec<OrderLine> = input
        .lines
        .iter()
        .map(|l| OrderLine {
            id: LineId::new(now, kembali_store::entropy()),
            product_id: l.product_id,
            variant_id: l.variant_id,
            sku: l.sku.trim().to_owned(),
            title: l.title.clone(),
            category: l.category.clone(),
            tags: l.tags.clone(),
            final_sale: l.final_sale,
            quantity: l.quantity,
            unit_price: money(l.unit_price),
            discount: money(l.discount),
            tax: money(l.tax),
        })
        .collect();
    let mut shipments = Vec::with_capacity(input.shipments.len());
    for (n, s) in input.shipments.iter().enumerate() {
        let mut slines = Vec::with_capacity(s.lines.len());
        for (k, sl) in s.lines.iter().enumerate() {
            let line = lines.get(sl.line).ok_or_else(|| {
                ApiError::invalid(
                    format!("shipments[{n}].lines[{k}].line"),
                    format!("there is no line {} (lines count from 0)", sl.line),
                )
            })?;
            slines.push(ShipmentLine {
                line_id: line.id,
                quantity: sl.quantity,
            });
        }
        shipments.push(Shipment {
            id: ShipmentId::new(now, kembali_store::entropy()),
            order_id,
            carrier: s.carrier.clone(),
            tracking_number: s.tracking_number.clone(),
            status: s.status,
            // Stored to the millisecond: the answer shows what a read will.
            shipped_at: s.shipped_at.map(to_millis),
            delivered_at: s.delivered_at.map(to_millis),
            promised_by: s.promised_by.map(to_millis),
            lines: slines,
        });
    }
    let locale = input.locale.unwrap_or(shop.default_locale);
    let order = Order {
        id: order_id,
        shop_id: shop.id,
        number: input.number.trim().to_owned(),
        customer_id: None,
        email: input.email.trim().to_lowercase(),
        locale,
        currency,
        placed_at: to_millis(input.placed_at),
        payment_method: input.payment_method,
        taxes_included: input.taxes_included,
        shipping_address: input.shipping_address,
        shipping_paid: money(input.shipping_paid),
        cheapest_shipping: money(input.cheapest_shipping.unwrap_or(input.shipping_paid)),
        lines,
    };
    order
        .validate(&shipments)
        .map_err(|e| ApiError::invalid(e.field, e.message))?;
    let name = input.customer_name.unwrap_or_default();
    // Two first orders of one new shopper at once both try to create the
    // customer; the one that loses that race tries again and finds them.
    let raced = std::sync::atomic::AtomicBool::new(false);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let order = order.clone();
        let result = once(&state, &auth, body.idempotency.as_ref(), async |tx| {
            let mut order = order;
            let customer = orders::ensure_customer(tx, shop.id, &order.email, &name, locale, now)
                .await
                .inspect_err(|e| {
                    if matches!(e, StoreError::Duplicate { .. }) {
                        raced.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                })?;
            order.customer_id = Some(customer);
            orders::insert(tx, &order, &shipments, now)
                .await
                .map_err(|e| match e {
                    StoreError::Duplicate { .. } => ApiError::Conflict(format!(
                        "order {} already exists in this shop",
                        order.number
                    )),
                    other => other.into(),
                })?;
            let view = OrderView {
                order,
                shipments: shipments.clone(),
            };
            Ok((StatusCode::CREATED, to_json(&view)?))
        })
        .await;
        if result.is_err()
            && attempts < 3
            && raced.swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            continue;
        }
        return result;
    }
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::Internal(e.to_string()))
}

#[utoipa::path(get, path = "/orders/{order_id}", tag = "orders",
    params(("order_id" = String, Path, description = "`ord_…`")),
    responses(
        (status = 200, body = OrderView),
        (status = 404, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn get_order(
    State(state): State<AppState>,
    auth: Auth,
    Path(order_id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let id: OrderId = path_id(&order_id, "order")?;
    let mut conn = state.db.conn().await?;
    let (order, shipments) = orders::get(&mut conn, auth.shop.id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such order".into()))?;
    Ok(Json(OrderView { order, shipments }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EligibilityQuery {
    /// Only this line (`line_…`); all lines when absent.
    pub line_id: Option<String>,
    /// Units to price; defaults to all that can still be returned.
    pub quantity: Option<u32>,
    /// The reason the shopper would give (`changed_mind`, `damaged`, …).
    pub reason: Option<String>,
}

/// The policy's decision for one line, with its explanations in English.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineEligibility {
    pub line_id: LineId,
    pub sku: String,
    pub quantity: u32,
    pub decision: Decision,
    pub messages: Vec<ExplanationView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityView {
    pub order_id: OrderId,
    pub policy_version: i64,
    pub lines: Vec<LineEligibility>,
}

#[utoipa::path(get, path = "/orders/{order_id}/eligibility", tag = "orders",
    params(("order_id" = String, Path, description = "`ord_…`"), EligibilityQuery),
    responses(
        (status = 200, description = "What can come back, until when, for how much, and why", body = EligibilityView),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(shop = %auth.shop.id))]
async fn eligibility(
    State(state): State<AppState>,
    auth: Auth,
    Path(order_id): Path<String>,
    query: Result<Query<EligibilityQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EligibilityView>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let id: OrderId = path_id(&order_id, "order")?;
    let reason = q
        .reason
        .as_deref()
        .map(|r| {
            ReturnReason::parse(r).ok_or_else(|| {
                ApiError::invalid("reason", format!("`{r}` is not a known return reason"))
            })
        })
        .transpose()?;
    let only: Option<LineId> = q
        .line_id
        .as_deref()
        .map(|l| {
            l.parse()
                .map_err(|_| ApiError::invalid("line_id", "not a line id (`line_…`)"))
        })
        .transpose()?;
    if q.quantity == Some(0) {
        return Err(ApiError::invalid("quantity", "must be at least 1"));
    }
    let mut conn = state.db.conn().await?;
    let ctx = returns::context(&mut conn, auth.shop.id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such order".into()))?;
    if let Some(l) = only
        && ctx.order.line(l).is_none()
    {
        return Err(ApiError::invalid("line_id", "not a line of this order"));
    }
    let now = Timestamp::now();
    let mut lines = Vec::new();
    for line in ctx
        .order
        .lines
        .iter()
        .filter(|l| only.is_none_or(|o| o == l.id))
    {
        // Price what can still come back unless a quantity was asked for.
        let probe = ctx
            .facts(&auth.shop, line.id, 1, reason, 0, now)
            .ok_or_else(|| ApiError::Internal("line vanished".into()))?;
        let available = ctx.decide(&probe)?.returnable_quantity.max(1);
        let quantity = q.quantity.unwrap_or(available);
        let facts = ctx
            .facts(&auth.shop, line.id, quantity, reason, 0, now)
            .ok_or_else(|| ApiError::Internal("line vanished".into()))?;
        let decision = ctx.decide(&facts)?;
        lines.push(LineEligibility {
            line_id: line.id,
            sku: line.sku.clone(),
            quantity,
            messages: decision
                .explanations
                .iter()
                .map(ExplanationView::from)
                .collect(),
            decision,
        });
    }
    Ok(Json(EligibilityView {
        order_id: id,
        policy_version: ctx.policy_version,
        lines,
    }))
}
