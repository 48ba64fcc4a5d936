//! Orders the program makes up itself (the demo shop's, the benchmark's),
//! described by what tells them apart and taken in through
//! `kembali_app::orders::create`, the function the API calls: they get the same
//! checks, ids, customer and `order.created` outbox message as a posted order.

use std::ops::Range;

use jiff::Timestamp;
use kembali_app::orders::{LineInput, OrderInput, OrderView, ShipmentInput, ShipmentLineInput};
use kembali_app::{App, AppError};
use kembali_core::Currency;
use kembali_core::order::{Address, PaymentMethod, TrackingStatus};
use kembali_core::shop::{Locale, Shop};
use kembali_store::Tx;

/// Who orders, and where the parcels go.
#[derive(Debug, Clone)]
pub struct Buyer {
    pub name: String,
    pub email: String,
    pub locale: Locale,
    pub address: Address,
}

/// What is sold on a line.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub sku: &'a str,
    pub title: &'a str,
    pub category: &'a str,
    pub tags: &'a [&'a str],
    pub final_sale: bool,
}

/// Units of an item; amounts in minor units of the order's currency, the tax
/// included in the price.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub item: Item<'a>,
    pub quantity: u32,
    pub unit_price: i64,
    pub discount: i64,
    pub tax: i64,
}

/// A parcel carrying every unit of the order's lines at positions `lines`.
#[derive(Debug, Clone)]
pub struct Parcel {
    pub carrier: String,
    pub tracking_number: Option<String>,
    pub status: TrackingStatus,
    pub shipped_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub promised_by: Option<Timestamp>,
    pub lines: Range<usize>,
}

/// An order before it is taken in. Prices include taxes.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    pub number: String,
    pub buyer: &'a Buyer,
    pub currency: Currency,
    pub placed_at: Timestamp,
    pub payment_method: PaymentMethod,
    /// What the buyer paid for delivery.
    pub shipping_paid: i64,
    /// The cheapest standard delivery offered.
    pub cheapest_shipping: i64,
    pub lines: Vec<Line<'a>>,
    pub parcels: Vec<Parcel>,
}

impl Draft<'_> {
    /// The order as a shop's platform would post it to the API.
    pub fn input(&self) -> OrderInput {
        OrderInput {
            number: self.number.clone(),
            email: self.buyer.email.clone(),
            customer_name: Some(self.buyer.name.clone()),
            locale: Some(self.buyer.locale),
            currency: self.currency,
            placed_at: self.placed_at,
            payment_method: self.payment_method,
            taxes_included: true,
            shipping_address: self.buyer.address.clone(),
            shipping_paid: self.shipping_paid,
            cheapest_shipping: Some(self.cheapest_shipping),
            lines: self.lines.iter().map(line_input).collect(),
            shipments: self
                .parcels
                .iter()
                .map(|p| shipment_input(p, &self.lines))
                .collect(),
        }
    }

    /// What the lines cost after discounts, before delivery.
    pub fn subtotal(&self) -> i64 {
        self.lines
            .iter()
            .map(|l| l.unit_price * i64::from(l.quantity) - l.discount)
            .sum()
    }
}

fn line_input(l: &Line<'_>) -> LineInput {
    LineInput {
        sku: l.item.sku.to_owned(),
        title: l.item.title.to_owned(),
        category: Some(l.item.category.to_owned()),
        tags: l.item.tags.iter().map(|t| (*t).to_owned()).collect(),
        final_sale: l.item.final_sale,
        quantity: l.quantity,
        unit_price: l.unit_price,
        discount: l.discount,
        tax: l.tax,
        product_id: None,
        variant_id: None,
    }
}

/// A parcel naming positions past the last line is left for `create` to refuse.
fn shipment_input(p: &Parcel, lines: &[Line<'_>]) -> ShipmentInput {
    ShipmentInput {
        carrier: p.carrier.clone(),
        tracking_url: None,
        tracking_number: p.tracking_number.clone(),
        status: p.status,
        shipped_at: p.shipped_at,
        delivered_at: p.delivered_at,
        promised_by: p.promised_by,
        lines: p
            .lines
            .clone()
            .map(|line| ShipmentLineInput {
                line,
                quantity: lines.get(line).map_or(0, |l| l.quantity),
            })
            .collect(),
    }
}

/// Takes the order in as the API does, at the application clock's moment.
pub async fn place(
    app: &App,
    tx: &mut Tx,
    shop: &Shop,
    draft: &Draft<'_>,
) -> Result<OrderView, AppError> {
    kembali_app::orders::create(app, tx, shop, &draft.input()).await
}
