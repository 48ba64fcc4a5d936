//! Order intake: an order as a source sends it (the API, CSV, a shop platform)
//! becomes an `Order` with its shipments, created once per source and source id
//! and updated after, so a redelivered or reordered platform webhook never makes
//! a second order.

use jiff::Timestamp;
use kembali_core::order::{
    Address, MAX_NAME, Order, OrderLine, PaymentMethod, Shipment, ShipmentLine, TrackingStatus,
};
use kembali_core::shop::{Locale, Shop};
use kembali_core::text::Form;
use kembali_core::{Currency, LineId, Money, OrderId, ProductId, ShipmentId, VariantId};
use kembali_store::customers::{self, Counts};
use kembali_store::orders::{self as store, Origin};
use kembali_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Conflict, Entity, Rule, check_text};
use crate::{App, AppError, events, shipments, to_millis};

/// The source of orders posted to the JSON API.
pub const API_SOURCE: &str = "api";

/// A line of a new order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewLine)]
pub struct LineInput {
    #[schema(min_length = 1, max_length = 255)]
    pub sku: String,
    #[schema(max_length = 1000)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub category: Option<String>,
    /// At most 250 tags, each at most 255 characters.
    #[serde(default)]
    #[schema(max_items = 250)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub final_sale: bool,
    /// 1–100 000 units.
    #[schema(minimum = 1, maximum = 100_000)]
    pub quantity: u32,
    /// Minor units of the order's currency, at most 10^15 (see `Money::MAX_AMOUNT`);
    /// so is the line's price × quantity, and the order's total.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub unit_price: i64,
    /// This line's share of the order's discounts, at most its price × quantity.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub discount: i64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub tax: i64,
    #[serde(default)]
    pub product_id: Option<ProductId>,
    #[serde(default)]
    pub variant_id: Option<VariantId>,
}

/// Units of a line (by its position in `lines`, from 0) in a shipment.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewShipmentLine)]
pub struct ShipmentLineInput {
    #[schema(minimum = 0, maximum = 499)]
    pub line: usize,
    #[schema(minimum = 1, maximum = 100_000)]
    pub quantity: u32,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewShipment)]
pub struct ShipmentInput {
    #[schema(max_length = 255)]
    pub carrier: String,
    #[serde(default)]
    #[schema(max_length = 64)]
    pub tracking_number: Option<String>,
    /// The carrier's tracking page: `http://` or `https://`, at most 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub tracking_url: Option<String>,
    pub status: TrackingStatus,
    /// Not before the order's `placed_at`.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub shipped_at: Option<Timestamp>,
    /// Not before the order's `placed_at`, nor before `shipped_at`.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub promised_by: Option<Timestamp>,
    pub lines: Vec<ShipmentLineInput>,
}

/// An order as the shop's platform sends it. Every text is one line without
/// control characters (U+0000–U+001F, U+007F–U+009F); lengths count characters.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewOrder)]
pub struct OrderInput {
    /// The shop's own order number (`#1001`); unique within the shop.
    #[schema(min_length = 1, max_length = 64)]
    pub number: String,
    #[schema(max_length = 254)]
    pub email: String,
    #[serde(default)]
    #[schema(max_length = 255)]
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
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub shipping_paid: i64,
    /// The cheapest standard delivery offered (for EU withdrawal refunds); defaults to `shipping_paid`.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub cheapest_shipping: Option<i64>,
    /// 1–500 lines.
    #[schema(min_items = 1, max_items = 500)]
    pub lines: Vec<LineInput>,
    #[serde(default)]
    pub shipments: Vec<ShipmentInput>,
}

fn yes() -> bool {
    true
}

/// An order with its shipments.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderView {
    #[serde(flatten)]
    pub order: Order,
    pub shipments: Vec<Shipment>,
    /// When the order was cancelled; no return can be opened for it then.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub cancelled_at: Option<Timestamp>,
}

/// What intake did with an order.
#[derive(Debug, Clone)]
pub enum Intake {
    Created(OrderView),
    Updated(OrderView),
    /// The source's copy is older than (or as old as) the one stored: kept as is.
    Stale(OrderView),
}

impl Intake {
    pub fn view(&self) -> &OrderView {
        match self {
            Intake::Created(v) | Intake::Updated(v) | Intake::Stale(v) => v,
        }
    }
}

/// Creates an order posted to the API; its number must be new in the shop.
pub async fn create(
    app: &App,
    tx: &mut Tx,
    shop: &Shop,
    input: &OrderInput,
) -> Result<OrderView, AppError> {
    let origin = Origin {
        source: API_SOURCE.to_owned(),
        external_id: input.number.trim().to_owned(),
        updated_at: None,
    };
    let (mut order, shipments) = build(app, shop, input, None)?;
    insert(app, tx, shop, &mut order, &shipments, &origin, input).await
}

/// Creates the order `origin` names, or updates it when it exists and the
/// source's copy is newer than the stored one.
pub async fn intake(
    app: &App,
    tx: &mut Tx,
    shop: &Shop,
    origin: &Origin,
    input: &OrderInput,
) -> Result<Intake, AppError> {
    let found = store::find_by_origin(tx, shop.id, &origin.source, &origin.external_id).await?;
    if let Some((id, stored_at)) = found {
        let taken = update(app, tx, shop, (id, stored_at), origin, input, true).await?;
        if let Intake::Updated(v) = &taken {
            events::order_changed(app, tx, false, &v.order, &v.shipments).await?;
        }
        return Ok(taken);
    }
    let (mut order, shipments) = build(app, shop, input, None)?;
    Ok(Intake::Created(
        insert(app, tx, shop, &mut order, &shipments, origin, input).await?,
    ))
}

/// The update half of [`intake`] for the order the origin found (its id, and
/// the source's time of the stored copy), without its `order.updated` message;
/// the parcels' own messages only when `announce` (an import tells the outside
/// once, for all its orders).
pub(crate) async fn update(
    app: &App,
    tx: &mut Tx,
    shop: &Shop,
    (id, stored_at): (OrderId, Option<jiff::Timestamp>),
    origin: &Origin,
    input: &OrderInput,
    announce: bool,
) -> Result<Intake, AppError> {
    let existing = store::get(tx, shop.id, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Order))?;
    let newer = match (origin.updated_at, stored_at) {
        (Some(new), Some(old)) => new > old,
        _ => true,
    };
    let cancelled_at = store::cancelled_at(tx, shop.id, id).await?;
    if !newer {
        let (order, shipments) = existing;
        return Ok(Intake::Stale(OrderView {
            order,
            shipments,
            cancelled_at,
        }));
    }
    let (mut order, shipments) = build(app, shop, input, Some(&existing))?;
    order.customer_id = existing.0.customer_id;
    // The order's header and lines here; its parcels through the one step
    // every surface takes a parcel through.
    store::update(tx, &order, &[], origin, app.now()).await?;
    if let Some(customer) = order.customer_id {
        // A changed payment method changes which stored parcels count as
        // refused; `apply` counts what the parcels' changes do.
        let moved = i64::from(shipments::refused_parcels(&order, &existing.1))
            - i64::from(shipments::refused_parcels(&existing.0, &existing.1));
        if moved != 0 {
            let change = Counts {
                refused_parcels: moved,
                ..Counts::default()
            };
            customers::add(tx, shop.id, customer, change).await?;
        }
    }
    // Stored shipments not in this copy stay: a platform may send a part.
    shipments::apply(app, tx, shop, &order, &existing.1, &shipments, announce).await?;
    Ok(Intake::Updated(OrderView {
        order,
        shipments,
        cancelled_at,
    }))
}

/// The order with its shipments.
pub async fn get(app: &App, shop: &Shop, id: OrderId) -> Result<OrderView, AppError> {
    let (order, shipments, cancelled_at) = store::view(&app.db, shop.id, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Order))?;
    Ok(OrderView {
        order,
        shipments,
        cancelled_at,
    })
}

/// At most this many characters in the reason given for a cancellation.
pub const MAX_CANCEL_REASON: usize = 2000;

/// Cancels an order before delivery, in `tx`: from then on no return can be
/// opened for it, and the outside hears `order.cancelled`. Refused once any
/// unit was delivered (that is a return's business) or while a return holds
/// units of it.
pub async fn cancel(
    app: &App,
    tx: &mut Tx,
    shop: &Shop,
    id: OrderId,
    reason: Option<&str>,
) -> Result<OrderView, AppError> {
    if let Some(r) = reason {
        check_text("reason", r, Form::Prose, MAX_CANCEL_REASON)?;
    }
    // The same lock `returns::open` takes: a return and a cancellation of one
    // order never pass each other.
    if !store::lock(tx, shop.id, id).await? {
        return Err(AppError::NotFound(Entity::Order));
    }
    let (order, shipments) = store::get(tx, shop.id, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Order))?;
    if store::cancelled_at(tx, shop.id, id).await?.is_some() {
        return Err(AppError::State(Conflict::OrderCancelled));
    }
    let delivered = order
        .lines
        .iter()
        .any(|l| kembali_core::order::LineDelivery::of(l.id, &shipments).delivered > 0)
        || shipments
            .iter()
            .any(|s| s.status == TrackingStatus::Delivered);
    if delivered {
        return Err(AppError::State(Conflict::OrderDelivered));
    }
    if !kembali_store::returns::held_quantities(tx, shop.id, id)
        .await?
        .is_empty()
    {
        return Err(AppError::State(Conflict::OrderHasReturns));
    }
    let now = app.now();
    if !store::cancel(tx, shop.id, id, now).await? {
        return Err(AppError::State(Conflict::OrderCancelled));
    }
    events::order_cancelled(app, tx, &order, now, reason).await?;
    Ok(OrderView {
        order,
        shipments,
        cancelled_at: Some(now),
    })
}

async fn insert(
    app: &App,
    tx: &mut Tx,
    shop: &Shop,
    order: &mut Order,
    shipments: &[Shipment],
    origin: &Origin,
    input: &OrderInput,
) -> Result<OrderView, AppError> {
    let name = input.customer_name.as_deref().unwrap_or_default();
    let customer =
        store::ensure_customer(tx, shop.id, &order.email, name, order.locale, app.now()).await?;
    order.customer_id = Some(customer);
    store::insert(tx, order, shipments, origin, app.now())
        .await
        .map_err(|e| match e {
            StoreError::Duplicate { .. } => AppError::OrderExists {
                number: order.number.clone(),
            },
            other => other.into(),
        })?;
    // The customer's history counts the order in the same transaction.
    let counts = Counts {
        orders: 1,
        returns: 0,
        refused_parcels: i64::from(shipments::refused_parcels(order, shipments)),
    };
    customers::add(tx, shop.id, customer, counts).await?;
    events::order_changed(app, tx, true, order, shipments).await?;
    Ok(OrderView {
        order: order.clone(),
        shipments: shipments.to_vec(),
        cancelled_at: None,
    })
}

/// Maps the input onto an order, keeping the ids of `existing` lines (matched
/// by position and SKU, then by SKU) and shipments (by carrier and tracking
/// number), and checks it whole.
pub(crate) fn build(
    app: &App,
    shop: &Shop,
    input: &OrderInput,
    existing: Option<&(Order, Vec<Shipment>)>,
) -> Result<(Order, Vec<Shipment>), AppError> {
    if let Some(name) = &input.customer_name {
        check_text("customer_name", name, Form::Line, MAX_NAME)?;
    }
    let now = app.now();
    let currency = input.currency;
    let money = |v: i64| Money::new(v, currency);
    let mut unused: Vec<&OrderLine> = existing
        .map(|(o, _)| o.lines.iter().collect())
        .unwrap_or_default();
    let mut lines: Vec<OrderLine> = Vec::with_capacity(input.lines.len());
    for (n, l) in input.lines.iter().enumerate() {
        let sku = l.sku.trim().to_owned();
        let same_place = unused.iter().position(|e| {
            e.sku == sku
                && existing.is_some_and(|(o, _)| o.lines.get(n).is_some_and(|x| x.id == e.id))
        });
        let known = same_place.or_else(|| unused.iter().position(|e| e.sku == sku));
        let id = match known {
            Some(k) => unused.remove(k).id,
            None => LineId::new(now, app.entropy()),
        };
        lines.push(OrderLine {
            id,
            product_id: l.product_id,
            variant_id: l.variant_id,
            sku,
            title: l.title.clone(),
            category: l.category.clone(),
            tags: l.tags.clone(),
            final_sale: l.final_sale,
            quantity: l.quantity,
            unit_price: money(l.unit_price),
            discount: money(l.discount),
            tax: money(l.tax),
        });
    }
    let order_id = existing.map_or_else(|| OrderId::new(now, app.entropy()), |(o, _)| o.id);
    let mut shipments = Vec::with_capacity(input.shipments.len());
    let mut matched: Vec<ShipmentId> = Vec::new();
    for (n, s) in input.shipments.iter().enumerate() {
        let mut slines = Vec::with_capacity(s.lines.len());
        for (k, sl) in s.lines.iter().enumerate() {
            let line = lines.get(sl.line).ok_or_else(|| {
                AppError::invalid(
                    format!("shipments[{n}].lines[{k}].line"),
                    Rule::NoSuchLine { index: sl.line },
                )
            })?;
            slines.push(ShipmentLine {
                line_id: line.id,
                quantity: sl.quantity,
            });
        }
        // The stored parcel with this carrier and tracking number; without a
        // tracking number, the next stored one of the carrier that has none
        // (a platform that sends no number sends its parcels in one order), so
        // a repeated update does not add the parcel again.
        let known = existing.and_then(|(_, ships)| {
            ships.iter().find(|e| {
                e.carrier == s.carrier
                    && e.tracking_number == s.tracking_number
                    && !matched.contains(&e.id)
            })
        });
        if let Some(e) = known {
            matched.push(e.id);
        }
        shipments.push(Shipment {
            id: known.map_or_else(|| ShipmentId::new(now, app.entropy()), |e| e.id),
            order_id,
            carrier: s.carrier.clone(),
            tracking_number: s.tracking_number.clone(),
            tracking_url: s.tracking_url.clone(),
            status: s.status,
            // Stored to the millisecond: the answer shows what a read will.
            shipped_at: s.shipped_at.map(to_millis),
            delivered_at: s.delivered_at.map(to_millis),
            promised_by: s.promised_by.map(to_millis),
            lines: slines,
        });
    }
    let order = Order {
        id: order_id,
        shop_id: shop.id,
        number: input.number.trim().to_owned(),
        customer_id: None,
        email: input.email.trim().to_lowercase(),
        locale: input.locale.unwrap_or(shop.default_locale),
        currency,
        placed_at: to_millis(input.placed_at),
        payment_method: input.payment_method,
        taxes_included: input.taxes_included,
        shipping_address: input.shipping_address.clone(),
        shipping_paid: money(input.shipping_paid),
        cheapest_shipping: money(input.cheapest_shipping.unwrap_or(input.shipping_paid)),
        lines,
    };
    order.validate(&shipments)?;
    Ok((order, shipments))
}
