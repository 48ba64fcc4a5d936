//! Shipments (fulfilments) of an order: a parcel recorded, its carrier,
//! tracking and status changed. [`apply`] is the one step every surface takes a
//! changed parcel through — order intake from the API, CSV updates, Shopify and
//! WooCommerce, and the shipments API: it checks the order with all its parcels,
//! writes the changed ones, keeps the customer's refused-parcel count, and tells
//! the outside (`shipment.created`, `shipment.updated`).

use jiff::Timestamp;
use kembali_core::order::{MAX_NAME, Order, OrderError, Shipment, ShipmentLine, TrackingStatus};
use kembali_core::shop::Shop;
use kembali_core::{OrderId, ShipmentId};
use kembali_store::customers::{self, Counts};
use kembali_store::{Tx, orders as store};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{Conflict, Entity};
use crate::{App, AppError, events, to_millis};

/// A parcel of an order, as the merchant's system reports it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShipment {
    /// 1–255 characters (`JNE`, `InPost`, `DHL`).
    #[schema(min_length = 1, max_length = 255)]
    pub carrier: String,
    #[serde(default)]
    #[schema(max_length = 64)]
    pub tracking_number: Option<String>,
    /// The carrier's tracking page: `http://` or `https://`, at most 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub tracking_url: Option<String>,
    /// `pending` when absent.
    #[serde(default)]
    pub status: Option<TrackingStatus>,
    /// Not before the order was placed.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub shipped_at: Option<Timestamp>,
    /// With `delivered`: when it arrived (now when absent); not before `shipped_at`.
    /// The policy's delivery-based windows count from it.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    /// The delivery date promised at purchase.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub promised_by: Option<Timestamp>,
    /// The units of the order's lines in the parcel: 1–500 entries; no line is
    /// shipped more often than it was ordered, over all its parcels.
    #[schema(min_items = 1, max_items = 500)]
    pub lines: Vec<ShipmentLine>,
}

/// A change to a parcel: each field given replaces the stored one; the lines
/// of a parcel do not change (record another parcel instead).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentPatch {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 255)]
    pub carrier: Option<String>,
    #[serde(default)]
    #[schema(max_length = 64)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub tracking_url: Option<String>,
    /// The new status (`in_transit`, `out_for_delivery`, `delivered`,
    /// `returned_to_sender`, …). Tracking is order-free: any status may follow any.
    #[serde(default)]
    pub status: Option<TrackingStatus>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub shipped_at: Option<Timestamp>,
    /// When it arrived; with `status: delivered` and none stored, now.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub promised_by: Option<Timestamp>,
}

/// Records a new parcel of `order`, in `tx`.
pub async fn create(
    app: &App,
    tx: &mut Tx,
    shop: &Shop,
    order: OrderId,
    req: &NewShipment,
) -> Result<Shipment, AppError> {
    let (order, before) = locked(tx, shop, order).await?;
    if store::cancelled_at(tx, shop.id, order.id).await?.is_some() {
        return Err(AppError::State(Conflict::OrderCancelled));
    }
    let now = app.now();
    let status = req.status.unwrap_or(TrackingStatus::Pending);
    let shipment = Shipment {
        id: ShipmentId::new(now, app.entropy()),
        order_id: order.id,
        carrier: req.carrier.trim().to_owned(),
        tracking_number: req.tracking_number.clone(),
        tracking_url: req.tracking_url.clone(),
        status,
        shipped_at: req.shipped_at.map(to_millis),
        delivered_at: delivered_at(status, req.delivered_at, None, now),
        promised_by: req.promised_by.map(to_millis),
        lines: req.lines.clone(),
    };
    if req.lines.len() > kembali_core::order::MAX_LINES {
        return Err(AppError::invalid(
            "lines",
            crate::error::Rule::AtMost {
                max: kembali_core::order::MAX_LINES as u64,
            },
        ));
    }
    check(&order, &before, &shipment).map_err(|e| relative(e, before.len()))?;
    apply(
        app,
        tx,
        shop,
        &order,
        &before,
        std::slice::from_ref(&shipment),
        true,
    )
    .await?;
    Ok(shipment)
}

/// Changes a parcel's carrier, tracking or status, in `tx`.
pub async fn update(
    app: &App,
    tx: &mut Tx,
    shop: &Shop,
    id: ShipmentId,
    patch: &ShipmentPatch,
) -> Result<Shipment, AppError> {
    let found = store::get_shipment(tx, shop.id, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Shipment))?;
    let (order, before) = locked(tx, shop, found.order_id).await?;
    let position = before
        .iter()
        .position(|s| s.id == id)
        .ok_or(AppError::NotFound(Entity::Shipment))?;
    let mut s = before[position].clone();
    if let Some(c) = &patch.carrier {
        s.carrier = c.trim().to_owned();
    }
    if let Some(t) = &patch.tracking_number {
        s.tracking_number = Some(t.clone());
    }
    if let Some(u) = &patch.tracking_url {
        s.tracking_url = Some(u.clone());
    }
    if let Some(at) = patch.shipped_at {
        s.shipped_at = Some(to_millis(at));
    }
    if let Some(at) = patch.promised_by {
        s.promised_by = Some(to_millis(at));
    }
    if let Some(status) = patch.status {
        s.status = status;
    }
    s.delivered_at = delivered_at(s.status, patch.delivered_at, s.delivered_at, app.now());
    check(&order, &before, &s).map_err(|e| relative(e, position))?;
    apply(
        app,
        tx,
        shop,
        &order,
        &before,
        std::slice::from_ref(&s),
        true,
    )
    .await?;
    Ok(s)
}

/// The order checked with `s` in place of (or beside) its stored parcels:
/// text bounds, times after the order and in order, no line shipped more often
/// than it was ordered.
fn check(order: &Order, before: &[Shipment], s: &Shipment) -> Result<(), AppError> {
    kembali_core::text::check_required(&s.carrier, kembali_core::text::Form::Line, MAX_NAME)
        .map_err(|p| AppError::invalid("carrier", p.into()))?;
    let mut all = before.to_vec();
    match all.iter_mut().find(|e| e.id == s.id) {
        Some(e) => *e = s.clone(),
        None => all.push(s.clone()),
    }
    order.validate(&all)?;
    Ok(())
}

/// One parcel of the shop.
pub async fn get(app: &App, shop: &Shop, id: ShipmentId) -> Result<Shipment, AppError> {
    let mut conn = app.db.conn().await?;
    store::get_shipment(&mut conn, shop.id, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Shipment))
}

/// The parcels of an order, oldest first.
pub async fn of_order(app: &App, shop: &Shop, order: OrderId) -> Result<Vec<Shipment>, AppError> {
    let mut conn = app.db.conn().await?;
    let (_, shipments) = store::get(&mut conn, shop.id, order)
        .await?
        .ok_or(AppError::NotFound(Entity::Order))?;
    Ok(shipments)
}

/// The order with its parcels, its row locked (the lock `returns::open` and
/// `orders::cancel` take): a parcel and a return never pass each other.
async fn locked(
    tx: &mut Tx,
    shop: &Shop,
    order: OrderId,
) -> Result<(Order, Vec<Shipment>), AppError> {
    if !store::lock(tx, shop.id, order).await? {
        return Err(AppError::NotFound(Entity::Order));
    }
    store::get(tx, shop.id, order)
        .await?
        .ok_or(AppError::NotFound(Entity::Order))
}

/// A delivered parcel has its delivery time: the one given, else the one
/// stored, else now. Any other status keeps what it has.
fn delivered_at(
    status: TrackingStatus,
    given: Option<Timestamp>,
    stored: Option<Timestamp>,
    now: Timestamp,
) -> Option<Timestamp> {
    let known = given.map(to_millis).or(stored);
    if status == TrackingStatus::Delivered {
        Some(known.unwrap_or_else(|| to_millis(now)))
    } else {
        known
    }
}

/// An order's own error about its parcel `index` (`shipments[1].delivered_at`)
/// named as the shipment request names it (`delivered_at`).
fn relative(e: AppError, index: usize) -> AppError {
    match e {
        AppError::InvalidOrder(OrderError { field, problem }) => {
            let prefix = format!("shipments[{index}].");
            let field = match field.strip_prefix(&prefix) {
                Some(rest) => rest.to_owned(),
                None if field == "shipments" => "lines".to_owned(),
                None => field,
            };
            AppError::InvalidOrder(OrderError { field, problem })
        }
        other => other,
    }
}

/// Stores the parcels in `changed` (new ones, or new copies of `before`'s),
/// already checked by the caller (with the order); moves the customer's count of
/// refused cash-on-delivery parcels by the difference; and, when `announce`,
/// writes `shipment.created` / `shipment.updated` for each parcel that is new or
/// differs from its stored copy. Parcels of `before` not in `changed` stay.
pub(crate) async fn apply(
    app: &App,
    tx: &mut Tx,
    shop: &Shop,
    order: &Order,
    before: &[Shipment],
    changed: &[Shipment],
    announce: bool,
) -> Result<Vec<Shipment>, AppError> {
    let mut after: Vec<Shipment> = before.to_vec();
    for s in changed {
        match after.iter_mut().find(|e| e.id == s.id) {
            Some(e) => *e = s.clone(),
            None => after.push(s.clone()),
        }
    }
    for s in changed {
        let old = before.iter().find(|e| e.id == s.id);
        if old == Some(s) {
            continue;
        }
        store::save_shipment(tx, shop.id, s).await?;
        if announce {
            events::shipment_changed(app, tx, old.is_none(), order, s).await?;
        }
    }
    if let Some(customer) = order.customer_id {
        let refused =
            i64::from(refused_parcels(order, &after)) - i64::from(refused_parcels(order, before));
        if refused != 0 {
            let change = Counts {
                refused_parcels: refused,
                ..Counts::default()
            };
            customers::add(tx, shop.id, customer, change).await?;
        }
    }
    Ok(after)
}

/// Parcels of a cash-on-delivery order that came back unasked (refused at the
/// door, nobody home): what the policy's `refused_cod_parcels` counts.
pub(crate) fn refused_parcels(order: &Order, shipments: &[Shipment]) -> u32 {
    if order.payment_method != kembali_core::order::PaymentMethod::CashOnDelivery {
        return 0;
    }
    let n = shipments
        .iter()
        .filter(|s| s.status == TrackingStatus::ReturnedToSender)
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}
