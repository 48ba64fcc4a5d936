//! Shops (tenants), their settings, locales and readable return numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::id::ShopId;
use crate::money::Currency;
use crate::order::Address;
use crate::returns::ReturnReason;

/// The languages every page and message exists in.
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
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Locale {
    En,
    Id,
    Pl,
}

impl Locale {
    pub const ALL: [Locale; 3] = [Locale::En, Locale::Id, Locale::Pl];

    /// The ISO 639-1 code, which is also its serde name.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Accepts a language tag such as `pl-PL` or `id`.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        Locale::ALL.into_iter().find(|l| l.code() == primary)
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "PL")]
pub struct Country(String);

/// The officially assigned ISO 3166-1 alpha-2 codes (all 249), sorted for a binary
/// search, plus `XK`: Kosovo's code is only user-assigned, but the European
/// Commission, carriers and payment networks use it, and leaving it out would
/// refuse real orders. Reserved and unassigned codes (`XX`, `EU`, `UK`) are refused.
const ASSIGNED: [&str; 250] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
];

/// EU member states, where the 14-day withdrawal right applies to consumers.
const EU: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

impl Country {
    pub fn code(&self) -> &str {
        &self.0
    }

    pub fn is_eu(&self) -> bool {
        EU.contains(&self.0.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an assigned ISO 3166-1 alpha-2 country code")]
pub struct CountryError(pub String);

impl TryFrom<String> for Country {
    type Error = CountryError;
    fn try_from(s: String) -> Result<Self, CountryError> {
        let t = s.trim();
        let upper = t.to_ascii_uppercase();
        if t.len() == 2 && ASSIGNED.binary_search(&upper.as_str()).is_ok() {
            Ok(Country(upper))
        } else {
            Err(CountryError(s))
        }
    }
}

impl From<Country> for String {
    fn from(c: Country) -> String {
        c.0
    }
}

impl std::str::FromStr for Country {
    type Err = CountryError;
    fn from_str(s: &str) -> Result<Self, CountryError> {
        Country::try_from(s.to_owned())
    }
}

/// A shop using Kembali. Every other record belongs to exactly one shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Shop {
    pub id: ShopId,
    /// Short, URL-safe name (`toko-demo`).
    pub slug: String,
    pub name: String,
    /// The shop's own currency; orders may be in others.
    pub currency: Currency,
    /// IANA time zone, e.g. `Asia/Jakarta`: days and deadlines are counted in it.
    pub time_zone: String,
    pub default_locale: Locale,
    pub country: Country,
    /// Readable return numbers are `{prefix}{n}`, e.g. `R-1042`.
    pub return_prefix: String,
}

/// At most this many characters in a reason's label.
pub const MAX_REASON_LABEL: usize = 200;

/// A return reason as a shop offers it in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonLabel {
    pub reason: ReturnReason,
    /// What the shopper reads: one line of 1–200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub label: String,
}

/// A shop's settings beside its identity, read and written whole.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct ShopSettings {
    /// The reasons shoppers may pick, in the order shown, per language; a
    /// language left out offers every reason in Kembali's own words.
    #[schema(value_type = BTreeMap<String, Vec<ReasonLabel>>)]
    pub reasons: BTreeMap<Locale, Vec<ReasonLabel>>,
    /// Where returned parcels go, printed on labels and instructions.
    pub return_address: Option<Address>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShopError {
    #[error("`{0}` is not a known IANA time zone")]
    TimeZone(String),
    #[error("the slug must be 1–63 characters of a–z, 0–9 and `-`")]
    Slug,
    #[error("the return number prefix must be 1–10 letters, digits or `-`")]
    ReturnPrefix,
}

impl Shop {
    /// Checks the fields a constructor cannot express in types.
    pub fn validate(&self) -> Result<(), ShopError> {
        let slug_ok = (1..=63).contains(&self.slug.len())
            && self
                .slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !slug_ok {
            return Err(ShopError::Slug);
        }
        let prefix_ok = (1..=10).contains(&self.return_prefix.len())
            && self
                .return_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !prefix_ok {
            return Err(ShopError::ReturnPrefix);
        }
        self.tz()?;
        Ok(())
    }

    pub fn tz(&self) -> Result<jiff::tz::TimeZone, ShopError> {
        jiff::tz::TimeZone::get(&self.time_zone)
            .map_err(|_| ShopError::TimeZone(self.time_zone.clone()))
    }

    /// The readable number of the shop's `n`-th return.
    pub fn return_number(&self, n: i64) -> String {
        format!("{}{}", self.return_prefix, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_from_tags() {
        assert_eq!(Locale::from_tag("pl-PL"), Some(Locale::Pl));
        assert_eq!(Locale::from_tag("ID"), Some(Locale::Id));
        assert_eq!(Locale::from_tag("de"), None);
    }

    #[test]
    fn countries() {
        let pl: Country = "pl".parse().unwrap();
        assert!(pl.is_eu());
        assert!(!"ID".parse::<Country>().unwrap().is_eu());
        assert!("POL".parse::<Country>().is_err());
    }

    #[test]
    fn only_assigned_codes_are_countries() {
        assert!(ASSIGNED.windows(2).all(|w| w[0] < w[1]), "sorted, no twins");
        for code in ["PL", "id", " de ", "GB", "US", "XK", "AX", "ZW"] {
            assert!(code.parse::<Country>().is_ok(), "{code}");
        }
        for code in ["XX", "ZZ", "EU", "UK", "AA", "QM", "", "P", "P1", "ÄÖ"] {
            assert!(code.parse::<Country>().is_err(), "{code}");
        }
        // Every EU member is a country.
        assert!(EU.iter().all(|c| c.parse::<Country>().is_ok()));
    }
}
