//! Customers, the catalogue, orders with their lines, and shipments.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::id::{CustomerId, LineId, OrderId, ProductId, ShipmentId, ShopId, VariantId};
use crate::money::{Currency, Money, MoneyError};
use crate::shop::{Country, Locale};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    pub id: CustomerId,
    pub shop_id: ShopId,
    pub email: String,
    pub name: String,
    pub locale: Locale,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub shop_id: ShopId,
    pub title: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Variant {
    pub id: VariantId,
    pub sku: String,
    pub title: String,
    pub price: Money,
    /// Sold as final sale: not returnable unless a rule or the law says otherwise.
    pub final_sale: bool,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PaymentMethod {
    Card,
    /// Cash on delivery: refunds go to a bank account, an e-wallet or store credit.
    CashOnDelivery,
    BankTransfer,
    EWallet,
    Other,
}

impl PaymentMethod {
    /// The name stored and sent: its serde name, derived by strum.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The inverse of [`as_str`](Self::as_str); `None` for any other text.
    pub fn parse(s: &str) -> Option<PaymentMethod> {
        s.parse().ok()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: Country,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A line of an order as it was sold: the catalogue facts the policy needs are
/// copied onto it, so later catalogue edits never change a past decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    pub id: LineId,
    pub product_id: Option<ProductId>,
    pub variant_id: Option<VariantId>,
    pub sku: String,
    pub title: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub final_sale: bool,
    pub quantity: u32,
    /// Price of one unit before discounts, in the order's currency.
    pub unit_price: Money,
    /// This line's share of all order discounts, for the whole line.
    pub discount: Money,
    /// Tax for the whole line; included in the price or added on top (see the order).
    pub tax: Money,
}

impl OrderLine {
    /// What the shopper paid for the whole line: price × quantity − discount, plus tax
    /// where the prices exclude it.
    pub fn amount_paid(&self, taxes_included: bool) -> Result<Money, MoneyError> {
        let gross = self.unit_price.checked_mul(i64::from(self.quantity))?;
        let net = gross.checked_sub(self.discount)?;
        if taxes_included {
            Ok(net)
        } else {
            net.checked_add(self.tax)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: OrderId,
    pub shop_id: ShopId,
    /// The shop's own order number as the shopper knows it (`#1001`).
    pub number: String,
    pub customer_id: Option<CustomerId>,
    pub email: String,
    pub locale: Locale,
    pub currency: Currency,
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: Timestamp,
    pub payment_method: PaymentMethod,
    pub taxes_included: bool,
    pub shipping_address: Address,
    /// Delivery cost the shopper paid.
    pub shipping_paid: Money,
    /// The cheapest standard delivery the shop offered; under EU withdrawal a full
    /// withdrawal refunds up to this much of the delivery cost.
    pub cheapest_shipping: Money,
    pub lines: Vec<OrderLine>,
}

impl Order {
    pub fn line(&self, id: LineId) -> Option<&OrderLine> {
        self.lines.iter().find(|l| l.id == id)
    }
}

/// Where a parcel is, normalised across carriers (DESIGN §5).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TrackingStatus {
    Pending,
    InfoReceived,
    InTransit,
    OutForDelivery,
    FailedAttempt,
    AvailableForPickup,
    Delivered,
    Exception,
    ReturnedToSender,
    Expired,
}

impl TrackingStatus {
    /// The name stored and sent: its serde name, derived by strum.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The inverse of [`as_str`](Self::as_str); `None` for any other text.
    pub fn parse(s: &str) -> Option<TrackingStatus> {
        s.parse().ok()
    }
}

/// How many units of one line travel in a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShipmentLine {
    pub line_id: LineId,
    pub quantity: u32,
}

/// An outbound parcel (a fulfilment) of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Shipment {
    pub id: ShipmentId,
    pub order_id: OrderId,
    pub carrier: String,
    pub tracking_number: Option<String>,
    pub status: TrackingStatus,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub shipped_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
    /// The delivery date promised at purchase, for on-time measurement.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub promised_by: Option<Timestamp>,
    pub lines: Vec<ShipmentLine>,
}

/// What the shopper has in hand for one line: delivered units and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineDelivery {
    pub shipped: u32,
    pub delivered: u32,
    pub first_shipped_at: Option<Timestamp>,
    /// When the last delivered unit arrived: the window counts from the latest delivery.
    pub delivered_at: Option<Timestamp>,
}

impl LineDelivery {
    /// Folds the order's shipments into the facts for one line.
    pub fn of(line: LineId, shipments: &[Shipment]) -> LineDelivery {
        let mut d = LineDelivery::default();
        for s in shipments {
            let qty: u32 = s
                .lines
                .iter()
                .filter(|l| l.line_id == line)
                .map(|l| l.quantity)
                .sum();
            if qty == 0 {
                continue;
            }
            d.shipped = d.shipped.saturating_add(qty);
            if let Some(at) = s.shipped_at {
                d.first_shipped_at = Some(d.first_shipped_at.map_or(at, |f| f.min(at)));
            }
            if s.status == TrackingStatus::Delivered {
                d.delivered = d.delivered.saturating_add(qty);
                if let Some(at) = s.delivered_at {
                    d.delivered_at = Some(d.delivered_at.map_or(at, |f| f.max(at)));
                }
            }
        }
        d
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct OrderError {
    /// Where the problem is, as a JSON path into the order (`lines[1].discount`).
    pub field: String,
    pub message: String,
}

fn order_error(field: impl Into<String>, message: impl Into<String>) -> OrderError {
    OrderError {
        field: field.into(),
        message: message.into(),
    }
}

impl Order {
    /// Checks what the types cannot: one currency throughout, sane quantities and
    /// amounts, and shipments that carry only units of this order.
    pub fn validate(&self, shipments: &[Shipment]) -> Result<(), OrderError> {
        if self.number.trim().is_empty() || self.number.len() > 64 {
            return Err(order_error("number", "must be 1–64 characters"));
        }
        if !self.email.contains('@') || self.email.len() > 254 {
            return Err(order_error("email", "is not an email address"));
        }
        if self.lines.is_empty() {
            return Err(order_error("lines", "an order needs at least one line"));
        }
        if self.lines.len() > 500 {
            return Err(order_error("lines", "at most 500 lines per order"));
        }
        for (field, m) in [
            ("shipping_paid", self.shipping_paid),
            ("cheapest_shipping", self.cheapest_shipping),
        ] {
            if m.currency != self.currency {
                return Err(order_error(field, format!("must be in {}", self.currency)));
            }
            if m.amount < 0 {
                return Err(order_error(field, "cannot be negative"));
            }
        }
        for (n, l) in self.lines.iter().enumerate() {
            let f = |name: &str| format!("lines[{n}].{name}");
            if l.sku.trim().is_empty() {
                return Err(order_error(f("sku"), "is empty"));
            }
            if l.quantity == 0 || l.quantity > 100_000 {
                return Err(order_error(f("quantity"), "must be between 1 and 100000"));
            }
            for (name, m) in [
                ("unit_price", l.unit_price),
                ("discount", l.discount),
                ("tax", l.tax),
            ] {
                if m.currency != self.currency {
                    return Err(order_error(
                        f(name),
                        format!("must be in {}", self.currency),
                    ));
                }
                if m.amount < 0 {
                    return Err(order_error(f(name), "cannot be negative"));
                }
            }
            let gross = l
                .unit_price
                .checked_mul(i64::from(l.quantity))
                .map_err(|_| order_error(f("unit_price"), "is too large"))?;
            if l.discount.amount > gross.amount {
                return Err(order_error(
                    f("discount"),
                    "is larger than the line's price",
                ));
            }
            l.amount_paid(self.taxes_included)
                .map_err(|_| order_error(f("tax"), "is too large"))?;
        }
        for (n, s) in shipments.iter().enumerate() {
            if s.status == TrackingStatus::Delivered && s.delivered_at.is_none() {
                return Err(order_error(
                    format!("shipments[{n}].delivered_at"),
                    "a delivered shipment needs its delivery time",
                ));
            }
            if s.lines.is_empty() {
                return Err(order_error(format!("shipments[{n}].lines"), "is empty"));
            }
            for (k, sl) in s.lines.iter().enumerate() {
                if self.line(sl.line_id).is_none() {
                    return Err(order_error(
                        format!("shipments[{n}].lines[{k}]"),
                        "names no line of this order",
                    ));
                }
                if sl.quantity == 0 {
                    return Err(order_error(
                        format!("shipments[{n}].lines[{k}].quantity"),
                        "must be at least 1",
                    ));
                }
            }
        }
        for l in &self.lines {
            let shipped = LineDelivery::of(l.id, shipments).shipped;
            if shipped > l.quantity {
                return Err(order_error(
                    "shipments",
                    format!(
                        "ship {shipped} units of {} but the order has {}",
                        l.sku, l.quantity
                    ),
                ));
            }
        }
        Ok(())
    }
}
