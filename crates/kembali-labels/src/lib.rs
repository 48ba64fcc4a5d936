//! Kembali's printed paper for a return: the 4×6 inch label as PDF and as ZPL
//! (for thermal printers), and the A4 packing slip in the shopper's language.
//! Pure rendering: the caller (`kembali_app::labels`) gathers the facts.
//!
//! The label carries the return number as Code 128 (character set B) and as
//! text, a QR code of [`Paper::qr`], both addresses and the items. The PDFs
//! embed a subset of Liberation Sans (fonts/LICENSE), so Polish and Indonesian
//! text prints and can be searched and extracted.

mod pdf;
pub mod strings;
mod zpl;

use kembali_core::order::Address;
use kembali_core::returns::ReturnMethod;
use kembali_core::shop::Locale;

pub use strings::{Strings, strings};

/// What a label and a packing slip show.
#[derive(Debug, Clone)]
pub struct Paper {
    pub shop_name: String,
    /// The readable return number (`R-1042`): the Code 128 and the big text.
    pub return_number: String,
    pub order_number: String,
    /// What the QR code holds.
    pub qr: String,
    /// The shopper's address: where the parcel comes from.
    pub from: Address,
    /// The shop's return address: where it goes.
    pub to: Address,
    pub items: Vec<Item>,
    pub method: ReturnMethod,
    /// The day the return was opened, as the shopper reads dates (`2027-03-03`).
    pub date: String,
    /// The language of the words printed.
    pub locale: Locale,
}

/// One returned line.
#[derive(Debug, Clone)]
pub struct Item {
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    /// The reason in the paper's language (the shop's own words, or
    /// [`Strings::reason`]).
    pub reason: String,
}

/// Why a label could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// Code 128 (set B) takes printable ASCII only.
    #[error("the return number `{0}` cannot be written as Code 128")]
    Barcode(String),
    #[error("the QR code cannot hold this text: {0}")]
    Qr(String),
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// The 4×6 inch return label as a PDF.
pub fn label_pdf(paper: &Paper) -> Result<Vec<u8>, LabelError> {
    pdf::label(paper)
}

/// The A4 packing slip as a PDF, in the paper's language.
pub fn packing_slip_pdf(paper: &Paper) -> Result<Vec<u8>, LabelError> {
    pdf::packing_slip(paper)
}

/// The 4×6 inch return label as ZPL II for a 203 dpi thermal printer.
pub fn label_zpl(paper: &Paper) -> Result<String, LabelError> {
    zpl::label(paper)
}

/// The bars and spaces of the return number's Code 128 (set B), one module
/// per entry (1 = bar), quiet zones not included.
pub fn code128_modules(data: &str) -> Result<Vec<u8>, LabelError> {
    if data.is_empty() || !data.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(LabelError::Barcode(data.to_owned()));
    }
    barcoders::sym::code128::Code128::new(format!("\u{0181}{data}"))
        .map(|c| c.encode())
        .map_err(|_| LabelError::Barcode(data.to_owned()))
}

/// The QR code's modules, row by row (`true` = dark), and its width.
pub(crate) fn qr_modules(text: &str) -> Result<(Vec<bool>, usize), LabelError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| LabelError::Qr(e.to_string()))?;
    let width = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Ok((dark, width))
}

/// An address as printed: name, lines, postal code and city, country.
pub(crate) fn address_lines(a: &Address) -> Vec<String> {
    let mut lines = vec![a.name.clone(), a.line1.clone()];
    if let Some(l2) = a.line2.as_deref().filter(|l| !l.trim().is_empty()) {
        lines.push(l2.to_owned());
    }
    lines.push(format!("{} {}", a.postal_code, a.city));
    lines.push(a.country.code().to_owned());
    if let Some(phone) = a.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        lines.push(phone.to_owned());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code128_is_set_b_with_start_check_and_stop() {
        let m = code128_modules("R-1042").unwrap();
        // Start B, six symbols, the check symbol (11 modules each), stop (13).
        assert_eq!(m.len(), 11 + 6 * 11 + 11 + 13);
        // Start B is 11010010000; the stop ends in two bars.
        assert_eq!(&m[..11], &[1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(&m[m.len() - 2..], &[1, 1]);
        assert!(code128_modules("Zwrot ż").is_err());
        assert!(code128_modules("").is_err());
    }

    #[test]
    fn qr_is_square() {
        let (m, w) = qr_modules("R-1042").unwrap();
        assert_eq!(m.len(), w * w);
        assert!(w >= 21);
    }
}
