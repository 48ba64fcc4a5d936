//! WooCommerce's order webhooks (REST API v3 order object: `order.created`,
//! `order.updated`) mapped onto an order as Kembali keeps it. Line and shipping
//! amounts are net, with their tax beside them (paid = total + total_tax); dates
//! come site-local and as `_gmt` variants without an offset.

use jiff::Timestamp;
use jiff::civil::DateTime;
use kembali_core::Currency;
use kembali_core::order::{Address, PaymentMethod, TrackingStatus};
use kembali_core::shop::Country;
use serde::Deserialize;

use super::money::minor_units;
use crate::orders::{LineInput, OrderInput, ShipmentInput, ShipmentLineInput};

#[derive(Debug, Deserialize)]
pub struct WooOrder {
    pub id: u64,
    pub number: Option<String>,
    pub status: Option<String>,
    pub currency: String,
    pub date_created_gmt: Option<String>,
    pub date_modified_gmt: Option<String>,
    pub date_completed_gmt: Option<String>,
    pub payment_method: Option<String>,
    pub billing: Option<WooAddress>,
    pub shipping: Option<WooAddress>,
    #[serde(default)]
    pub line_items: Vec<WooLine>,
    #[serde(default)]
    pub shipping_lines: Vec<WooShipping>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WooAddress {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub address_1: Option<String>,
    pub address_2: Option<String>,
    pub city: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct WooLine {
    pub id: u64,
    pub name: Option<String>,
    pub sku: Option<String>,
    pub product_id: Option<u64>,
    pub variation_id: Option<u64>,
    pub quantity: u32,
    /// Before discounts, without tax.
    pub subtotal: String,
    /// After discounts, without tax.
    pub total: String,
    pub total_tax: String,
}

#[derive(Debug, Deserialize)]
pub struct WooShipping {
    pub total: String,
    pub total_tax: Option<String>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A `_gmt` date (`2026-11-24T12:08:00`, no offset) as the instant it names.
pub fn gmt(s: &str) -> Result<Timestamp, String> {
    let dt: DateTime = s
        .trim()
        .parse()
        .map_err(|e| format!("`{s}` is not a date: {e}"))?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(dt)
        .map_err(|e| format!("`{s}` is not a date: {e}"))
}

impl WooOrder {
    pub fn updated_at(&self) -> Option<Timestamp> {
        self.date_modified_gmt.as_deref().and_then(|d| gmt(d).ok())
    }

    /// The order as Kembali keeps it.
    pub fn to_input(&self) -> Result<OrderInput, String> {
        let currency: Currency = self
            .currency
            .parse()
            .map_err(|_| format!("unknown currency `{}`", self.currency))?;
        let billing = self.billing.as_ref();
        let email = billing
            .and_then(|b| nonempty(&b.email))
            .ok_or("the order has no customer email")?
            .to_owned();
        // Virtual orders have no shipping address: the billing one stands in.
        let shipping = self
            .shipping
            .as_ref()
            .filter(|s| nonempty(&s.country).is_some())
            .or(billing)
            .ok_or("the order has no address")?;
        let name = [
            nonempty(&shipping.first_name),
            nonempty(&shipping.last_name),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let country = nonempty(&shipping.country).ok_or("the address has no country")?;
        let shipping_address = Address {
            name: name.clone(),
            line1: nonempty(&shipping.address_1).unwrap_or_default().to_owned(),
            line2: nonempty(&shipping.address_2).map(str::to_owned),
            city: nonempty(&shipping.city).unwrap_or_default().to_owned(),
            postal_code: nonempty(&shipping.postcode).unwrap_or_default().to_owned(),
            country: Country::try_from(country.to_owned()).map_err(|e| e.0)?,
            phone: nonempty(&shipping.phone)
                .or(billing.and_then(|b| nonempty(&b.phone)))
                .map(str::to_owned),
        };
        let payment_method = match self.payment_method.as_deref() {
            Some("cod") => PaymentMethod::CashOnDelivery,
            Some("bacs") => PaymentMethod::BankTransfer,
            Some("cheque") | None => PaymentMethod::Other,
            Some(_) => PaymentMethod::Card,
        };
        let mut lines = Vec::with_capacity(self.line_items.len());
        for l in &self.line_items {
            if l.quantity == 0 {
                return Err(format!("line {} has no quantity", l.id));
            }
            let subtotal = minor_units(&l.subtotal, currency)?;
            let total = minor_units(&l.total, currency)?;
            let q = i64::from(l.quantity);
            // WooCommerce gives line totals, not a unit price: the unit price is
            // the subtotal's share rounded up, and the discount whatever makes
            // price × quantity − discount exactly the net total paid.
            let unit_price = subtotal.div_euclid(q) + i64::from(subtotal.rem_euclid(q) != 0);
            let discount = unit_price
                .checked_mul(q)
                .and_then(|g| g.checked_sub(total))
                .ok_or("a line amount is too large")?;
            let sku = nonempty(&l.sku).map(str::to_owned).unwrap_or_else(|| {
                match (l.variation_id.filter(|v| *v != 0), l.product_id) {
                    (Some(v), _) => format!("woo-variation-{v}"),
                    (None, Some(p)) => format!("woo-product-{p}"),
                    (None, None) => format!("woo-line-{}", l.id),
                }
            });
            lines.push(LineInput {
                sku,
                title: nonempty(&l.name).unwrap_or("(untitled)").to_owned(),
                category: None,
                tags: Vec::new(),
                final_sale: false,
                quantity: l.quantity,
                unit_price,
                discount,
                tax: minor_units(&l.total_tax, currency)?,
                product_id: None,
                variant_id: None,
            });
        }
        let mut shipping_paid: i64 = 0;
        for s in &self.shipping_lines {
            let total = minor_units(&s.total, currency)?;
            let tax = s
                .total_tax
                .as_deref()
                .map(|t| minor_units(t, currency))
                .transpose()?
                .unwrap_or(0);
            shipping_paid = shipping_paid
                .checked_add(total.saturating_add(tax))
                .ok_or("the shipping amount is too large")?;
        }
        // WooCommerce knows no parcels; a completed order is one the shop has
        // delivered (for cash on delivery, paid at the door), so all of it is.
        let mut shipments = Vec::new();
        if self.status.as_deref() == Some("completed") && !lines.is_empty() {
            let done = self
                .date_completed_gmt
                .as_deref()
                .or(self.date_modified_gmt.as_deref())
                .map(gmt)
                .transpose()?;
            shipments.push(ShipmentInput {
                carrier: "woocommerce".into(),
                tracking_url: None,
                tracking_number: None,
                status: TrackingStatus::Delivered,
                shipped_at: done,
                delivered_at: done,
                promised_by: None,
                lines: lines
                    .iter()
                    .enumerate()
                    .map(|(line, l)| ShipmentLineInput {
                        line,
                        quantity: l.quantity,
                    })
                    .collect(),
            });
        }
        let placed_at = self
            .date_created_gmt
            .as_deref()
            .ok_or("the order has no creation date")
            .map_err(str::to_owned)
            .and_then(gmt)?;
        Ok(OrderInput {
            number: nonempty(&self.number)
                .map(|n| format!("#{n}"))
                .unwrap_or_else(|| format!("#{}", self.id)),
            email,
            customer_name: (!name.is_empty()).then_some(name),
            locale: None,
            currency,
            placed_at,
            payment_method,
            taxes_included: false,
            shipping_address,
            shipping_paid,
            cheapest_shipping: None,
            lines,
            shipments,
        })
    }
}
