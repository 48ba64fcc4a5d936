//! Platform amounts (decimal strings such as `"199.00"`) into minor units,
//! exactly: digit by digit, never through floating point.

use kembali_core::Currency;

/// `text` as minor units of `currency`: `"149.99"` PLN is 14999, `"150000.00"`
/// IDR (two decimals in ISO 4217) is 15000000. More decimals than the currency
/// has are refused unless they are zeros.
pub fn minor_units(text: &str, currency: Currency) -> Result<i64, String> {
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("`{text}` is not an amount"));
    }
    let exp = usize::from(currency.exponent());
    let (kept, dropped) = fraction.split_at(fraction.len().min(exp));
    if dropped.bytes().any(|b| b != b'0') {
        return Err(format!(
            "`{text}` has more decimals than {} has",
            currency.code()
        ));
    }
    let mut value: i64 = 0;
    for b in whole
        .bytes()
        .chain(kept.bytes())
        .chain(std::iter::repeat_n(b'0', exp - kept.len()))
    {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or_else(|| format!("`{text}` is too large"))?;
    }
    Ok(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_in_every_exponent() {
        assert_eq!(minor_units("149.99", Currency::PLN), Ok(14_999));
        assert_eq!(minor_units("150000.00", Currency::IDR), Ok(15_000_000));
        assert_eq!(minor_units("0.1", Currency::EUR), Ok(10));
        assert_eq!(minor_units("7", Currency::EUR), Ok(700));
        assert_eq!(minor_units("0.30", Currency::EUR), Ok(30));
        assert_eq!(minor_units("-5.00", Currency::EUR), Ok(-500));
        assert_eq!(minor_units("1.000", Currency::EUR), Ok(100));
        assert!(minor_units("1.005", Currency::EUR).is_err());
        assert!(minor_units("", Currency::EUR).is_err());
        assert!(minor_units("1e3", Currency::EUR).is_err());
        assert!(minor_units("99999999999999999999", Currency::EUR).is_err());
    }
}
