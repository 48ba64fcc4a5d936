//! The label as ZPL II: 4×6 inches at 203 dpi (812 × 1218 dots), UTF-8 text
//! (`^CI28`), the return number as `^BC` (Code 128) and the QR code as `^BQ`.

use std::fmt::Write;

use crate::{LabelError, Paper, address_lines, code128_modules, strings};

/// Field data with ZPL's command characters written as hex (`^FH`): `^`, `~`
/// and the escape `_` itself; control characters are dropped.
fn field(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '^' => out.push_str("_5E"),
            '~' => out.push_str("_7E"),
            '_' => out.push_str("_5F"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters of `text`, with `…` when cut: ZPL's font 0 is
/// proportional, so this is a bound, not a fit.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut t: String = text.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

pub(crate) fn label(paper: &Paper) -> Result<String, LabelError> {
    // Checked as the PDF checks it: Code 128 set B takes printable ASCII only.
    code128_modules(&paper.return_number)?;
    let s = strings(paper.locale);
    let mut z = String::new();
    // Writing to a String cannot fail.
    let line = |z: &mut String, x: u32, y: u32, h: u32, text: &str, max: usize| {
        let _ = writeln!(
            z,
            "^FO{x},{y}^A0N,{h},{h}^FH^FD{}^FS",
            field(&cut(text, max))
        );
    };
    z.push_str("^XA\n^CI28\n^PW812\n^LL1218\n^LH0,0\n");
    line(&mut z, 40, 40, 60, s.label_title, 12);
    line(&mut z, 470, 30, 26, &paper.shop_name, 22);
    let order = format!("{} {}", s.order, paper.order_number);
    line(&mut z, 470, 62, 22, &order, 26);
    line(&mut z, 470, 90, 22, &paper.date, 26);
    z.push_str("^FO40,125^GB732,2,2^FS\n");

    line(&mut z, 40, 145, 20, &s.from.to_uppercase(), 40);
    for (k, l) in address_lines(&paper.from).iter().take(6).enumerate() {
        line(&mut z, 40, 172 + 27 * k as u32, 22, l, 56);
    }

    z.push_str("^FO40,345^GB732,285,3^FS\n");
    line(&mut z, 58, 362, 20, &s.to.to_uppercase(), 40);
    for (k, l) in address_lines(&paper.to).iter().take(6).enumerate() {
        line(&mut z, 58, 392 + 37 * k as u32, 32, l, 38);
    }

    // ^BY: 3-dot modules; ^BC: normal orientation, 190 dots high, the
    // number printed below, no check digit of our own (Code 128 has its own).
    let _ = writeln!(
        z,
        "^FO60,655^BY3,3,190^BCN,190,Y,N,N^FH^FD{}^FS",
        field(&paper.return_number)
    );
    z.push_str("^FO40,920^GB732,2,2^FS\n");

    line(&mut z, 40, 940, 20, &s.items.to_uppercase(), 40);
    let rows = 7;
    let shown = if paper.items.len() > rows {
        rows - 1
    } else {
        paper.items.len()
    };
    for (k, item) in paper.items.iter().take(shown).enumerate() {
        let text = format!("{} × {} {}", item.quantity, item.sku, item.title);
        line(&mut z, 40, 970 + 30 * k as u32, 22, &text, 40);
    }
    if shown < paper.items.len() {
        let more = s.more(paper.items.len() - shown);
        line(&mut z, 40, 970 + 30 * shown as u32, 22, &more, 40);
    }
    // ^BQ: model 2, magnification 6; `MA,` = error correction M, automatic input.
    let _ = writeln!(z, "^FO560,930^BQN,2,6^FH^FDMA,{}^FS", field(&paper.qr));
    z.push_str("^XZ\n");
    Ok(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_data_cannot_end_a_field_or_start_a_command() {
        assert_eq!(field("A^FS~JR_x\n"), "A_5EFS_7EJR_5Fx");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
