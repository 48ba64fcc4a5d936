//! A return's printed paper: the 4×6 inch label (PDF and ZPL) and the A4
//! packing slip in the shopper's language, from the return, its order and the
//! shop's return address (`kembali_labels` draws them).
//!
//! Paper exists for a return that is on its way back: approved or in transit.
//! Before approval the shop has not agreed to take the parcel; after receipt,
//! or for a return that ended otherwise, there is nothing left to send.

use jiff::Timestamp;
use kembali_core::returns::{ReturnMethod, ReturnStatus};
use kembali_core::shop::{Locale, Shop};
use kembali_core::{ReturnId, ShopId};
use kembali_labels::{Item, Paper};
use kembali_store::{orders as order_store, returns as store, shops as shop_store};

use crate::error::{Conflict, Entity};
use crate::{App, AppError};

pub use kembali_labels::{Strings, strings};

/// The printed forms of a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The 4×6 inch label as PDF.
    LabelPdf,
    /// The same label as ZPL II for 203 dpi thermal printers.
    LabelZpl,
    /// The A4 packing slip as PDF.
    PackingSlip,
}

impl Form {
    pub fn content_type(self) -> &'static str {
        match self {
            Form::LabelPdf | Form::PackingSlip => "application/pdf",
            Form::LabelZpl => "application/zpl; charset=utf-8",
        }
    }

    /// A file name for the download (`R-1042-label.pdf`).
    pub fn file_name(self, number: &str) -> String {
        let safe: String = number
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        match self {
            Form::LabelPdf => format!("{safe}-label.pdf"),
            Form::LabelZpl => format!("{safe}-label.zpl"),
            Form::PackingSlip => format!("{safe}-packing-slip.pdf"),
        }
    }
}

/// A printed form, ready to send.
#[derive(Debug, Clone)]
pub struct Printed {
    pub form: Form,
    pub bytes: Vec<u8>,
    pub file_name: String,
}

/// The return's `form`, in `locale` or else the language of its order.
pub async fn print(
    app: &App,
    shop: &Shop,
    id: ReturnId,
    form: Form,
    locale: Option<Locale>,
) -> Result<Printed, AppError> {
    let paper = paper(app, shop, id, locale).await?;
    let printed = match form {
        Form::LabelPdf => kembali_labels::label_pdf(&paper),
        Form::LabelZpl => kembali_labels::label_zpl(&paper).map(String::into_bytes),
        Form::PackingSlip => kembali_labels::packing_slip_pdf(&paper),
    };
    let bytes = printed.map_err(|e| AppError::Print(e.to_string()))?;
    Ok(Printed {
        form,
        bytes,
        file_name: form.file_name(&paper.return_number),
    })
}

/// What the label and slip of a return show.
pub async fn paper(
    app: &App,
    shop: &Shop,
    id: ReturnId,
    locale: Option<Locale>,
) -> Result<Paper, AppError> {
    let mut conn = app.db.conn().await?;
    let ret = store::get(&mut conn, shop.id, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Return))?;
    if !matches!(ret.status, ReturnStatus::Approved | ReturnStatus::InTransit) {
        return Err(AppError::State(Conflict::NoLabel {
            status: ret.status.as_str(),
        }));
    }
    if ret.method == ReturnMethod::NoShipping {
        return Err(AppError::State(Conflict::NothingToSend));
    }
    let (order, _) = order_store::get(&mut conn, shop.id, ret.order_id)
        .await?
        .ok_or(AppError::NotFound(Entity::Order))?;
    let settings = shop_store::settings(&mut conn, shop.id).await?;
    let to = settings
        .return_address
        .ok_or(AppError::State(Conflict::NoReturnAddress))?;
    let locale = locale.unwrap_or(order.locale);
    let words = strings(locale);
    let own = settings.reasons.get(&locale);
    let items = ret
        .items
        .iter()
        .map(|item| {
            let line = order.line(item.line_id);
            let reason = own
                .and_then(|list| list.iter().find(|r| r.reason == item.reason))
                .map_or_else(|| words.reason(item.reason).to_owned(), |r| r.label.clone());
            Item {
                sku: line.map(|l| l.sku.clone()).unwrap_or_default(),
                title: line.map(|l| l.title.clone()).unwrap_or_default(),
                quantity: item.quantity,
                reason,
            }
        })
        .collect();
    Ok(Paper {
        shop_name: shop.name.clone(),
        qr: ret.number.clone(),
        return_number: ret.number,
        order_number: order.number,
        from: order.shipping_address,
        to,
        items,
        method: ret.method,
        date: date(ret.created_at, &shop.time_zone, locale),
        locale,
    })
}

/// The day of `at` in the shop's time zone, as the language writes it
/// numerically: `2027-03-03`, `03/03/2027`, `03.03.2027`.
fn date(at: Timestamp, time_zone: &str, locale: Locale) -> String {
    let zone = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let d = at.to_zoned_datetime(zone).date();
    let (y, m, day) = (d.year(), d.month(), d.day());
    match locale {
        Locale::En => format!("{y:04}-{m:02}-{day:02}"),
        Locale::Id => format!("{day:02}/{m:02}/{y:04}"),
        Locale::Pl => format!("{day:02}.{m:02}.{y:04}"),
    }
}

/// Whether the shop can print labels at all: it needs a return address.
pub async fn ready(app: &App, shop: ShopId) -> Result<bool, AppError> {
    let mut conn = app.db.conn().await?;
    Ok(shop_store::settings(&mut conn, shop)
        .await?
        .return_address
        .is_some())
}
