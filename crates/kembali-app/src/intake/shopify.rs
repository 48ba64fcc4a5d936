//! Shopify's order webhooks (`orders/create`, `orders/updated`, `orders/fulfilled`,
//! `orders/cancelled`: each carries the whole order) mapped onto an order as
//! Kembali keeps it. Amounts are decimal strings in the order's currency; what a
//! line really cost comes from its `discount_allocations` (a discount code leaves
//! the line's `total_discount` at zero). Unknown fields are ignored and optional
//! ones may be missing.

use jiff::Timestamp;
use kembali_core::Currency;
use kembali_core::order::{Address, PaymentMethod, TrackingStatus};
use kembali_core::shop::{Country, Locale};
use serde::Deserialize;

use super::money::minor_units;
use crate::orders::{LineInput, OrderInput, ShipmentInput, ShipmentLineInput};

/// Shopify's own default name of its cash-on-delivery gateway.
pub const DEFAULT_COD_GATEWAYS: &[&str] = &["Cash on Delivery (COD)"];

#[derive(Debug, Deserialize)]
pub struct ShopifyOrder {
    pub id: u64,
    pub name: Option<String>,
    pub order_number: Option<u64>,
    pub email: Option<String>,
    pub contact_email: Option<String>,
    pub currency: String,
    pub created_at: Option<Timestamp>,
    pub processed_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    #[serde(default)]
    pub taxes_included: bool,
    pub customer_locale: Option<String>,
    #[serde(default)]
    pub payment_gateway_names: Vec<String>,
    pub customer: Option<Customer>,
    pub shipping_address: Option<ShopifyAddress>,
    pub billing_address: Option<ShopifyAddress>,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    #[serde(default)]
    pub shipping_lines: Vec<ShippingLine>,
    #[serde(default)]
    pub fulfillments: Vec<Fulfillment>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Customer {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ShopifyAddress {
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub zip: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Money {
    pub amount: String,
}

#[derive(Debug, Deserialize)]
pub struct TaxLine {
    pub price: String,
}

#[derive(Debug, Deserialize)]
pub struct LineItem {
    pub id: u64,
    pub sku: Option<String>,
    pub title: Option<String>,
    pub name: Option<String>,
    pub variant_id: Option<u64>,
    pub quantity: u32,
    pub price: String,
    pub total_discount: Option<String>,
    #[serde(default)]
    pub discount_allocations: Vec<Money>,
    #[serde(default)]
    pub tax_lines: Vec<TaxLine>,
    #[serde(default)]
    pub gift_card: bool,
    pub product_type: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ShippingLine {
    pub price: String,
    #[serde(default)]
    pub discount_allocations: Vec<Money>,
    #[serde(default)]
    pub tax_lines: Vec<TaxLine>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Fulfillment {
    pub status: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub tracking_company: Option<String>,
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub tracking_url: Option<String>,
    pub shipment_status: Option<String>,
    pub line_items: Vec<FulfilledLine>,
}

#[derive(Debug, Deserialize)]
pub struct FulfilledLine {
    pub id: u64,
    pub quantity: u32,
}

fn sum(currency: Currency, mut parts: impl Iterator<Item = String>) -> Result<i64, String> {
    parts.try_fold(0i64, |total, p| {
        total
            .checked_add(minor_units(&p, currency)?)
            .ok_or_else(|| "an amount is too large".to_owned())
    })
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Shopify's delivery status of a fulfillment, normalised.
fn tracking_status(f: &Fulfillment) -> TrackingStatus {
    match f.shipment_status.as_deref() {
        Some("delivered") => TrackingStatus::Delivered,
        Some("out_for_delivery") => TrackingStatus::OutForDelivery,
        Some("attempted_delivery") => TrackingStatus::FailedAttempt,
        Some("ready_for_pickup") => TrackingStatus::AvailableForPickup,
        Some("failure") => TrackingStatus::Exception,
        Some("label_printed" | "label_purchased" | "confirmed") => TrackingStatus::InfoReceived,
        _ => TrackingStatus::InTransit,
    }
}

impl ShopifyOrder {
    /// The order as Kembali keeps it. `cod_gateways` are the gateway names that
    /// mean cash on delivery for this source.
    pub fn to_input(&self, cod_gateways: &[String]) -> Result<OrderInput, String> {
        let currency: Currency = self
            .currency
            .parse()
            .map_err(|_| format!("unknown currency `{}`", self.currency))?;
        let email = nonempty(&self.email)
            .or(nonempty(&self.contact_email))
            .or(self.customer.as_ref().and_then(|c| nonempty(&c.email)))
            .ok_or("the order has no customer email")?
            .to_owned();
        let address = self
            .shipping_address
            .as_ref()
            .or(self.billing_address.as_ref())
            .ok_or("the order has no address")?;
        let person = |first: &Option<String>, last: &Option<String>| {
            let name = [nonempty(first), nonempty(last)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!name.is_empty()).then_some(name)
        };
        let address_name = nonempty(&address.name)
            .map(str::to_owned)
            .or_else(|| person(&address.first_name, &address.last_name))
            .unwrap_or_default();
        let country = address
            .country_code
            .as_deref()
            .ok_or("the address has no country")?;
        let shipping_address = Address {
            name: address_name.clone(),
            line1: nonempty(&address.address1).unwrap_or_default().to_owned(),
            line2: nonempty(&address.address2).map(str::to_owned),
            city: nonempty(&address.city).unwrap_or_default().to_owned(),
            postal_code: nonempty(&address.zip).unwrap_or_default().to_owned(),
            country: Country::try_from(country.to_owned()).map_err(|e| e.0)?,
            phone: nonempty(&address.phone).map(str::to_owned),
        };
        let cod = self.payment_gateway_names.iter().any(|g| {
            cod_gateways
                .iter()
                .any(|c| c.trim().eq_ignore_ascii_case(g.trim()))
        });
        let payment_method = if cod {
            PaymentMethod::CashOnDelivery
        } else if self
            .payment_gateway_names
            .iter()
            .any(|g| g.to_ascii_lowercase().contains("bank"))
        {
            PaymentMethod::BankTransfer
        } else if self.payment_gateway_names.is_empty() {
            PaymentMethod::Other
        } else {
            PaymentMethod::Card
        };
        let mut lines = Vec::with_capacity(self.line_items.len());
        for l in &self.line_items {
            let allocated = sum(
                currency,
                l.discount_allocations.iter().map(|d| d.amount.clone()),
            )?;
            // Older payloads without allocations carry the line's discount here.
            let discount = if l.discount_allocations.is_empty() {
                l.total_discount
                    .as_deref()
                    .map(|d| minor_units(d, currency))
                    .transpose()?
                    .unwrap_or(0)
            } else {
                allocated
            };
            let sku = nonempty(&l.sku)
                .map(str::to_owned)
                .or_else(|| l.variant_id.map(|v| format!("shopify-variant-{v}")))
                .unwrap_or_else(|| format!("shopify-line-{}", l.id));
            lines.push(LineInput {
                sku,
                title: nonempty(&l.name)
                    .or(nonempty(&l.title))
                    .unwrap_or("(untitled)")
                    .to_owned(),
                category: nonempty(&l.product_type).map(str::to_owned),
                tags: Vec::new(),
                // A gift card is money, not goods: it does not come back.
                final_sale: l.gift_card,
                quantity: l.quantity,
                unit_price: minor_units(&l.price, currency)?,
                discount,
                tax: sum(currency, l.tax_lines.iter().map(|t| t.price.clone()))?,
                product_id: None,
                variant_id: None,
            });
        }
        let mut shipping_paid: i64 = 0;
        for s in &self.shipping_lines {
            let price = minor_units(&s.price, currency)?;
            let off = sum(
                currency,
                s.discount_allocations.iter().map(|d| d.amount.clone()),
            )?;
            let tax = if self.taxes_included {
                0
            } else {
                sum(currency, s.tax_lines.iter().map(|t| t.price.clone()))?
            };
            shipping_paid = shipping_paid
                .checked_add(price.saturating_sub(off).max(0).saturating_add(tax))
                .ok_or("the shipping amount is too large")?;
        }
        let mut shipments = Vec::new();
        for f in &self.fulfillments {
            if matches!(f.status.as_deref(), Some("cancelled" | "error" | "failure")) {
                continue;
            }
            let mut slines = Vec::new();
            for fl in &f.line_items {
                if let Some(index) = self.line_items.iter().position(|l| l.id == fl.id) {
                    slines.push(ShipmentLineInput {
                        line: index,
                        quantity: fl.quantity,
                    });
                }
            }
            if slines.is_empty() {
                continue;
            }
            let status = tracking_status(f);
            shipments.push(ShipmentInput {
                carrier: nonempty(&f.tracking_company)
                    .unwrap_or("unknown")
                    .to_owned(),
                tracking_number: nonempty(&f.tracking_number).map(str::to_owned),
                // Only a web address is kept: anything else would refuse the order.
                tracking_url: nonempty(&f.tracking_url)
                    .filter(|u| {
                        kembali_core::order::is_web_address(u)
                            && u.chars().count() <= kembali_core::order::MAX_URL
                    })
                    .map(str::to_owned),
                status,
                shipped_at: f.created_at,
                // Shopify says when the status last changed, not when it was
                // delivered; for a delivered parcel that is the delivery.
                delivered_at: (status == TrackingStatus::Delivered)
                    .then(|| f.updated_at.or(f.created_at))
                    .flatten(),
                promised_by: None,
                lines: slines,
            });
        }
        let number = nonempty(&self.name)
            .map(str::to_owned)
            .or_else(|| self.order_number.map(|n| format!("#{n}")))
            .unwrap_or_else(|| format!("#{}", self.id));
        Ok(OrderInput {
            number,
            email,
            customer_name: self
                .customer
                .as_ref()
                .and_then(|c| person(&c.first_name, &c.last_name))
                .or(Some(address_name)),
            locale: self.customer_locale.as_deref().and_then(Locale::from_tag),
            currency,
            placed_at: self
                .processed_at
                .or(self.created_at)
                .ok_or("the order has no creation time")?,
            payment_method,
            taxes_included: self.taxes_included,
            shipping_address,
            shipping_paid,
            cheapest_shipping: None,
            lines,
            shipments,
        })
    }
}
