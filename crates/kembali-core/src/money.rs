//! Money as integer minor units with an ISO 4217 currency; never floats.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The currencies Kembali knows, with their ISO 4217 minor-unit exponent.
/// A shop in a currency not listed here is refused rather than guessed at.
const CURRENCIES: &[(&str, u8)] = &[
    ("AUD", 2),
    ("BGN", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("INR", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("MYR", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("PHP", 2),
    ("PLN", 2),
    ("RON", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an ISO 4217 currency code Kembali supports")]
    UnknownCurrency(String),
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("the amount is too large")]
    Overflow,
}

/// An ISO 4217 currency code that Kembali supports.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const IDR: Currency = Currency(*b"IDR");
    pub const PLN: Currency = Currency(*b"PLN");
    pub const EUR: Currency = Currency(*b"EUR");
    pub const USD: Currency = Currency(*b"USD");

    pub fn code(&self) -> &str {
        // Only ever built from the ASCII table above.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point (ISO 4217 minor unit).
    pub fn exponent(&self) -> u8 {
        CURRENCIES
            .iter()
            .find(|(c, _)| c.as_bytes() == self.0)
            .map_or(2, |(_, e)| *e)
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, MoneyError> {
        let upper = s.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == upper)
            .map(|(c, _)| {
                let b = c.as_bytes();
                Currency([b[0], b[1], b[2]])
            })
            .ok_or_else(|| MoneyError::UnknownCurrency(s.to_owned()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("ISO 4217 currency code"))
            .examples([serde_json::json!("PLN")])
            .into()
    }
}
impl utoipa::ToSchema for Currency {}

/// An amount in minor units (grosze, cents, sen) of one currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    /// Integer minor units, e.g. 14999 for 149.99 PLN.
    pub amount: i64,
    pub currency: Currency,
}

impl Money {
    /// The largest amount, in minor units, that an order may carry anywhere: a unit
    /// price, a discount, a tax, a delivery cost, a line's total and the order's
    /// total. 10^15 minor units is ten trillion złoty or euro and about sixty billion
    /// dollars in rupiah — no real order comes near it — and it keeps every later
    /// step far from `i64::MAX` (≈ 9.2 × 10^18): a fee is at most the amount plus a
    /// fixed part of at most this much, store credit adds a bonus of at most 100 %,
    /// and a return or a report sums at most 500 lines of such amounts, so
    /// 500 × 4 × 10^15 = 2 × 10^18 still fits. Orders are checked against it when
    /// they come in (`Order::validate`), so a stored order can always be priced.
    pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

    pub const fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub const fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    fn same(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same(&other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same(&other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// `self × bps / 10 000`, rounded half up; used for percentage fees and bonuses.
    pub fn percent_bps(self, bps: u32) -> Result<Money, MoneyError> {
        let scaled = i128::from(self.amount) * i128::from(bps);
        let rounded = (scaled + 5_000).div_euclid(10_000);
        let amount = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// The share of `self` that belongs to units `from..to` of `of` units: the
    /// difference of two cumulative cuts, each `self × k / of` rounded half up.
    /// Consecutive shares always add up to exactly `self` (no lost or extra minor
    /// unit), and each is what a person with a calculator gets: 100.00 over three
    /// units is 33.33, 33.34, 33.33 (cuts at 33.333… → 33.33, 66.666… → 66.67, 100).
    pub fn share(self, from: u32, to: u32, of: u32) -> Money {
        if of == 0 {
            return Money::zero(self.currency);
        }
        let cut = |k: u32| {
            let (a, k, n) = (
                i128::from(self.amount),
                i128::from(k.min(of)),
                i128::from(of),
            );
            // floor((a·k + n/2) / n) = a·k/n rounded half up, exact in integers.
            (2 * a * k + n).div_euclid(2 * n)
        };
        // The difference of two cuts of an i64 total always fits back in an i64.
        let amount = i64::try_from(cut(to) - cut(from)).unwrap_or(0);
        Money::new(amount, self.currency)
    }

    /// Zero when negative: refunds are never below nothing.
    pub fn floor_zero(self) -> Money {
        Money::new(self.amount.max(0), self.currency)
    }

    pub fn min(self, other: Money) -> Money {
        if other.amount < self.amount && other.currency == self.currency {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Money {
    /// A neutral form (`149.99 PLN`); locale formatting belongs to the web layer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = u32::from(self.currency.exponent());
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        if exp == 0 {
            return write!(f, "{sign}{abs} {}", self.currency);
        }
        let unit = 10u64.pow(exp);
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / unit,
            abs % unit,
            self.currency,
            width = exp as usize
        )
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_formats() {
        let pln: Currency = "pln".parse().unwrap();
        assert_eq!(pln, Currency::PLN);
        assert_eq!(Money::new(14999, pln).to_string(), "149.99 PLN");
        assert_eq!(Money::new(-5, pln).to_string(), "-0.05 PLN");
        assert_eq!(
            Money::new(150, "JPY".parse().unwrap()).to_string(),
            "150 JPY"
        );
        assert!("XYZ".parse::<Currency>().is_err());
    }

    #[test]
    fn refuses_mixed_currencies() {
        let a = Money::new(1, Currency::PLN);
        let b = Money::new(1, Currency::EUR);
        assert!(matches!(
            a.checked_add(b),
            Err(MoneyError::CurrencyMismatch(..))
        ));
    }

    #[test]
    fn percent_rounds_half_up() {
        assert_eq!(
            Money::new(1005, Currency::EUR)
                .percent_bps(1000)
                .unwrap()
                .amount,
            101
        );
        assert_eq!(
            Money::new(1004, Currency::EUR)
                .percent_bps(1000)
                .unwrap()
                .amount,
            100
        );
    }

    #[test]
    fn shares_round_half_up_cumulatively() {
        let m = Money::new(10_000, Currency::PLN);
        let parts: Vec<i64> = (0..3).map(|k| m.share(k, k + 1, 3).amount).collect();
        assert_eq!(parts, [3333, 3334, 3333]);
        // 0.05 over two units: cuts 2.5 → 3, then 5.
        let m = Money::new(5, Currency::PLN);
        assert_eq!(m.share(0, 1, 2).amount, 3);
        assert_eq!(m.share(1, 2, 2).amount, 2);
    }

    proptest! {
        #[test]
        fn shares_add_up_to_the_whole(total in -1_000_000_000i64..1_000_000_000, of in 1u32..50, cuts in proptest::collection::vec(0u32..50, 0..6)) {
            let m = Money::new(total, Currency::IDR);
            let mut points: Vec<u32> = cuts.into_iter().map(|c| c % (of + 1)).collect();
            points.push(0);
            points.push(of);
            points.sort_unstable();
            let sum: i64 = points.windows(2).map(|w| m.share(w[0], w[1], of).amount).sum();
            prop_assert_eq!(sum, total);
        }
    }
}
