//! Customers, the catalogue, orders with their lines, and shipments.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::id::{CustomerId, LineId, OrderId, ProductId, ShipmentId, ShopId, VariantId};
use crate::money::{Currency, Money, MoneyError};
use crate::shop::{Country, Locale};
use crate::text::{Form, TextProblem};

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
    PartialOrd,
    Ord,
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

/// A postal address. Every text is one line without control characters, at most
/// [`MAX_NAME`] characters ([`MAX_CODE`] for the postal code and the phone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    #[schema(max_length = 255)]
    pub name: String,
    #[schema(max_length = 255)]
    pub line1: String,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub line2: Option<String>,
    #[schema(max_length = 255)]
    pub city: String,
    #[schema(max_length = 64)]
    pub postal_code: String,
    pub country: Country,
    #[serde(default)]
    #[schema(max_length = 64)]
    pub phone: Option<String>,
}

impl Address {
    /// The address's text against its bounds; `at` is the address's JSON path.
    pub fn validate(&self, at: &str) -> Result<(), OrderError> {
        let f = |name| Path::field(at, name);
        text(f("name"), &self.name, MAX_NAME)?;
        text(f("line1"), &self.line1, MAX_NAME)?;
        optional(f("line2"), self.line2.as_deref(), MAX_NAME)?;
        text(f("city"), &self.city, MAX_NAME)?;
        text(f("postal_code"), &self.postal_code, MAX_CODE)?;
        optional(f("phone"), self.phone.as_deref(), MAX_CODE)?;
        Ok(())
    }
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
    /// The carrier's tracking page for this parcel (http or https).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub tracking_url: Option<String>,
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

/// The bounds an order is checked against when it comes in. Text is counted in
/// characters and must be one line without control characters.
/// Order numbers: 1–64 characters.
pub const MAX_NUMBER: usize = 64;
/// Email addresses: at most 254 characters (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;
/// Names, address lines, SKUs, categories, tags and carriers: at most 255
/// characters, what shop platforms allow for their own such fields.
pub const MAX_NAME: usize = 255;
/// A line's title (product and variant title together): at most 1000 characters.
pub const MAX_TITLE: usize = 1000;
/// Postal codes, phone numbers and tracking numbers: at most 64 characters.
pub const MAX_CODE: usize = 64;
/// Tracking page addresses: at most 2000 characters, `http://` or `https://`.
pub const MAX_URL: usize = 2000;
/// Lines per order: 1–500.
pub const MAX_LINES: usize = 500;
/// Units per line: 1–100 000.
pub const MAX_QUANTITY: u32 = 100_000;
/// Tags per line: at most 250.
pub const MAX_TAGS: usize = 250;

/// What is wrong with one field of an order: a code with its arguments, so pages
/// can say it in their language; `Display` is the English the API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderProblem {
    #[error("must not be empty")]
    Empty,
    #[error("at most {max} characters")]
    TooLong { max: usize },
    #[error("contains the control character U+{code:04X}")]
    ControlCharacter { code: u32 },
    #[error("is not an email address")]
    NotAnEmail,
    #[error("is not an http or https address")]
    NotAUrl,
    #[error("must be between {min} and {max}")]
    OutOfRange { min: u64, max: u64 },
    #[error("at most {max} entries")]
    TooMany { max: usize },
    #[error("must be in {expected}")]
    WrongCurrency { expected: Currency },
    #[error("cannot be negative")]
    Negative,
    #[error("is larger than {max} minor units")]
    TooLarge { max: i64 },
    /// A sum (a line's price × quantity, or the order's total) is past the bound.
    #[error("the total is larger than {max} minor units")]
    TotalTooLarge { max: i64 },
    #[error("is larger than the line's price")]
    DiscountAboveLine,
    #[error("names no line of this order")]
    NoSuchLine,
    #[error("a delivered shipment needs its delivery time")]
    DeliveryTimeMissing,
    #[error("is before the order was placed")]
    BeforePlacing,
    #[error("is before the shipment was shipped")]
    BeforeShipping,
    #[error("ship {shipped} units of {sku} but the order has {ordered}")]
    Overshipped {
        sku: String,
        shipped: u32,
        ordered: u32,
    },
}

impl From<TextProblem> for OrderProblem {
    fn from(p: TextProblem) -> Self {
        match p {
            TextProblem::Empty => OrderProblem::Empty,
            TextProblem::TooLong { max } => OrderProblem::TooLong { max },
            TextProblem::ControlCharacter { code } => OrderProblem::ControlCharacter { code },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct OrderError {
    /// Where the problem is, as a JSON path into the order (`lines[1].discount`).
    pub field: String,
    pub problem: OrderProblem,
}

/// Where in the order a checked value is (`lines[1].title`), spelled out only
/// when there is a problem to report: an order's check names some thirty
/// fields, and formatting each name up front was most of the check's cost in a
/// bulk import.
#[derive(Debug, Clone, Copy)]
struct Path<'a> {
    list: &'a str,
    index: Option<usize>,
    name: &'a str,
}

impl<'a> Path<'a> {
    /// `list[index].name`, or `list[index]` when `name` is empty.
    fn item(list: &'a str, index: usize, name: &'a str) -> Path<'a> {
        Path {
            list,
            index: Some(index),
            name,
        }
    }

    /// `list.name`.
    fn field(list: &'a str, name: &'a str) -> Path<'a> {
        Path {
            list,
            index: None,
            name,
        }
    }
}

impl From<Path<'_>> for String {
    fn from(p: Path<'_>) -> String {
        match (p.index, p.name.is_empty()) {
            (Some(i), true) => format!("{}[{i}]", p.list),
            (Some(i), false) => format!("{}[{i}].{}", p.list, p.name),
            (None, true) => p.list.to_owned(),
            (None, false) => format!("{}.{}", p.list, p.name),
        }
    }
}

fn order_error(field: impl Into<String>, problem: OrderProblem) -> OrderError {
    OrderError {
        field: field.into(),
        problem,
    }
}

/// One-line text of at most `max` characters.
fn text(field: impl Into<String>, s: &str, max: usize) -> Result<(), OrderError> {
    crate::text::check(s, Form::Line, max).map_err(|p| order_error(field, p.into()))
}

/// [`text`] that must not be blank.
fn required(field: impl Into<String>, s: &str, max: usize) -> Result<(), OrderError> {
    crate::text::check_required(s, Form::Line, max).map_err(|p| order_error(field, p.into()))
}

/// `http://` or `https://` with a host, and no white space anywhere.
pub fn is_web_address(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with('/') && !url.chars().any(char::is_whitespace)
    })
}

fn optional(field: impl Into<String>, s: Option<&str>, max: usize) -> Result<(), OrderError> {
    s.map_or(Ok(()), |s| text(field, s, max))
}

impl Order {
    /// Checks what the types cannot: one currency throughout, sane quantities,
    /// amounts within [`Money::MAX_AMOUNT`] (each, per line and for the whole
    /// order, so every later sum fits), text within its bounds and free of control
    /// characters, shipments that carry only units of this order and happen after
    /// it was placed.
    pub fn validate(&self, shipments: &[Shipment]) -> Result<(), OrderError> {
        required("number", &self.number, MAX_NUMBER)?;
        text("email", &self.email, MAX_EMAIL)?;
        if !self.email.contains('@') {
            return Err(order_error("email", OrderProblem::NotAnEmail));
        }
        self.shipping_address.validate("shipping_address")?;
        if self.lines.is_empty() {
            return Err(order_error("lines", OrderProblem::Empty));
        }
        if self.lines.len() > MAX_LINES {
            return Err(order_error(
                "lines",
                OrderProblem::TooMany { max: MAX_LINES },
            ));
        }
        let amount = |field: Path<'_>, m: Money| -> Result<(), OrderError> {
            if m.currency != self.currency {
                return Err(order_error(
                    field,
                    OrderProblem::WrongCurrency {
                        expected: self.currency,
                    },
                ));
            }
            if m.amount < 0 {
                return Err(order_error(field, OrderProblem::Negative));
            }
            if m.amount > Money::MAX_AMOUNT {
                return Err(order_error(
                    field,
                    OrderProblem::TooLarge {
                        max: Money::MAX_AMOUNT,
                    },
                ));
            }
            Ok(())
        };
        amount(Path::field("shipping_paid", ""), self.shipping_paid)?;
        amount(Path::field("cheapest_shipping", ""), self.cheapest_shipping)?;
        let too_large = |field: Path<'_>| {
            order_error(
                field,
                OrderProblem::TotalTooLarge {
                    max: Money::MAX_AMOUNT,
                },
            )
        };
        let within = |field: Path<'_>, m: Result<Money, MoneyError>| match m {
            Ok(m) if m.amount <= Money::MAX_AMOUNT => Ok(m),
            _ => Err(too_large(field)),
        };
        let mut total = self.shipping_paid;
        for (n, l) in self.lines.iter().enumerate() {
            let f = |name| Path::item("lines", n, name);
            required(f("sku"), &l.sku, MAX_NAME)?;
            text(f("title"), &l.title, MAX_TITLE)?;
            optional(f("category"), l.category.as_deref(), MAX_NAME)?;
            if l.tags.len() > MAX_TAGS {
                return Err(order_error(
                    f("tags"),
                    OrderProblem::TooMany { max: MAX_TAGS },
                ));
            }
            for (k, tag) in l.tags.iter().enumerate() {
                text(format!("lines[{n}].tags[{k}]"), tag, MAX_NAME)?;
            }
            if !(1..=MAX_QUANTITY).contains(&l.quantity) {
                return Err(order_error(
                    f("quantity"),
                    OrderProblem::OutOfRange {
                        min: 1,
                        max: u64::from(MAX_QUANTITY),
                    },
                ));
            }
            amount(f("unit_price"), l.unit_price)?;
            amount(f("discount"), l.discount)?;
            amount(f("tax"), l.tax)?;
            let gross = within(f(""), l.unit_price.checked_mul(i64::from(l.quantity)))?;
            if l.discount.amount > gross.amount {
                return Err(order_error(f("discount"), OrderProblem::DiscountAboveLine));
            }
            let paid = within(f(""), l.amount_paid(self.taxes_included))?;
            total = within(Path::field("lines", ""), total.checked_add(paid))?;
        }
        for (n, s) in shipments.iter().enumerate() {
            let f = |name| Path::item("shipments", n, name);
            text(f("carrier"), &s.carrier, MAX_NAME)?;
            optional(f("tracking_number"), s.tracking_number.as_deref(), MAX_CODE)?;
            if let Some(url) = &s.tracking_url {
                text(f("tracking_url"), url, MAX_URL)?;
                if !is_web_address(url) {
                    return Err(order_error(f("tracking_url"), OrderProblem::NotAUrl));
                }
            }
            if s.status == TrackingStatus::Delivered && s.delivered_at.is_none() {
                return Err(order_error(
                    f("delivered_at"),
                    OrderProblem::DeliveryTimeMissing,
                ));
            }
            // A parcel cannot leave or arrive before the order exists, nor arrive
            // before it left: such times would open return windows early.
            for (name, at) in [
                ("shipped_at", s.shipped_at),
                ("delivered_at", s.delivered_at),
            ] {
                if at.is_some_and(|at| at < self.placed_at) {
                    return Err(order_error(f(name), OrderProblem::BeforePlacing));
                }
            }
            if let (Some(shipped), Some(delivered)) = (s.shipped_at, s.delivered_at)
                && delivered < shipped
            {
                return Err(order_error(f("delivered_at"), OrderProblem::BeforeShipping));
            }
            if s.lines.is_empty() {
                return Err(order_error(f("lines"), OrderProblem::Empty));
            }
            for (k, sl) in s.lines.iter().enumerate() {
                if self.line(sl.line_id).is_none() {
                    return Err(order_error(
                        format!("shipments[{n}].lines[{k}]"),
                        OrderProblem::NoSuchLine,
                    ));
                }
                if !(1..=MAX_QUANTITY).contains(&sl.quantity) {
                    return Err(order_error(
                        format!("shipments[{n}].lines[{k}].quantity"),
                        OrderProblem::OutOfRange {
                            min: 1,
                            max: u64::from(MAX_QUANTITY),
                        },
                    ));
                }
            }
        }
        for l in &self.lines {
            let shipped = LineDelivery::of(l.id, shipments).shipped;
            if shipped > l.quantity {
                return Err(order_error(
                    "shipments",
                    OrderProblem::Overshipped {
                        sku: l.sku.clone(),
                        shipped,
                        ordered: l.quantity,
                    },
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod path_tests {
    use super::Path;

    #[test]
    fn a_problem_names_its_field_as_a_json_path() {
        let spelled = |p: Path<'_>| String::from(p);
        assert_eq!(
            spelled(Path::item("lines", 2, "discount")),
            "lines[2].discount"
        );
        assert_eq!(spelled(Path::item("lines", 0, "")), "lines[0]");
        assert_eq!(
            spelled(Path::item("shipments", 1, "carrier")),
            "shipments[1].carrier"
        );
        assert_eq!(
            spelled(Path::field("shipping_address", "city")),
            "shipping_address.city"
        );
        assert_eq!(spelled(Path::field("lines", "")), "lines");
    }
}
