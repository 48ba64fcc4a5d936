//! The pages' languages: Fluent files for English, Indonesian and Polish
//! (compiled in), and amounts and dates written the way each language writes them.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use jiff::civil::Date;
use kembali_core::Money;
use kembali_core::shop::Locale;

/// The Fluent source of each language, in [`Locale::ALL`] order.
pub const SOURCES: [(Locale, &str); 3] = [
    (Locale::En, include_str!("en.ftl")),
    (Locale::Id, include_str!("id.ftl")),
    (Locale::Pl, include_str!("pl.ftl")),
];

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static [Bundle; 3] {
    static BUNDLES: OnceLock<[Bundle; 3]> = OnceLock::new();
    BUNDLES.get_or_init(|| SOURCES.map(|(locale, src)| bundle(locale, src)))
}

fn bundle(locale: Locale, src: &str) -> Bundle {
    // The files are ours and checked by the tests; a bad entry is skipped, not fatal.
    let resource = FluentResource::try_new(src.to_owned()).unwrap_or_else(|(r, _)| r);
    let lang = locale
        .code()
        .parse()
        .unwrap_or_else(|_| unic_langid::LanguageIdentifier::default());
    let mut b = FluentBundle::new_concurrent(vec![lang]);
    // No Unicode isolation marks: the pages are plain left-to-right HTML.
    b.set_use_isolating(false);
    let _ = b.add_resource(resource);
    b
}

/// The message ids of one language's file.
pub fn keys(locale: Locale) -> Vec<String> {
    let src = SOURCES
        .iter()
        .find(|(l, _)| *l == locale)
        .map_or("", |(_, s)| s);
    let resource = FluentResource::try_new(src.to_owned()).unwrap_or_else(|(r, _)| r);
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

/// An argument of a message.
pub enum Arg {
    Text(String),
    Number(i64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_owned())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<u32> for Arg {
    fn from(n: u32) -> Self {
        Arg::Number(i64::from(n))
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Number(n)
    }
}

/// The words of one page, in its language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub locale: Locale,
}

impl Tr {
    pub fn new(locale: Locale) -> Tr {
        Tr { locale }
    }

    fn bundle(&self) -> &'static Bundle {
        let all = bundles();
        match self.locale {
            Locale::En => &all[0],
            Locale::Id => &all[1],
            Locale::Pl => &all[2],
        }
    }

    /// The message `key`; the key itself (and a log line) if it is missing, which
    /// the tests make sure never ships.
    pub fn t(&self, key: &str) -> String {
        self.ta(key, Vec::new())
    }

    /// The message `key` with its arguments.
    pub fn ta(&self, key: &str, args: Vec<(&'static str, Arg)>) -> String {
        let b = self.bundle();
        let Some(pattern) = b.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(key, locale = self.locale.code(), "missing message");
            return key.to_owned();
        };
        let mut fargs = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Text(s) => fargs.set(name, FluentValue::from(s)),
                Arg::Number(n) => fargs.set(name, FluentValue::from(n)),
            }
        }
        let mut errors = Vec::new();
        let out = b.format_pattern(pattern, Some(&fargs), &mut errors);
        if !errors.is_empty() {
            tracing::warn!(key, locale = self.locale.code(), ?errors, "message errors");
        }
        out.into_owned()
    }

    /// `d` as this language writes a date: `3 March 2027`, `3 Maret 2027`, `3 marca 2027`.
    pub fn date(&self, d: Date) -> String {
        let month = self.t(&format!("month-{}", d.month()));
        format!("{} {month} {}", d.day(), d.year())
    }

    /// `m` as this language writes an amount of its currency: `Rp 165.000`,
    /// `165,00 zł`, `€12.50`.
    pub fn money(&self, m: Money) -> String {
        format_money(self.locale, m)
    }
}

/// The amount `m` written for `locale`: the language decides the separators
/// (and Polish puts every symbol after the number), the currency its symbol.
pub fn format_money(locale: Locale, m: Money) -> String {
    let exp = u32::from(m.currency.exponent());
    let scale = 10u128.pow(exp);
    let abs = m.amount.unsigned_abs() as u128;
    let (whole, frac) = (abs / scale, abs % scale);
    let (group, decimal) = match locale {
        Locale::En => (",", "."),
        Locale::Id => (".", ","),
        // Polish groups with a (non-breaking) space, and not four-digit numbers.
        Locale::Pl => ("\u{a0}", ","),
    };
    let digits = whole.to_string();
    let grouped = if locale == Locale::Pl && digits.len() <= 4 {
        digits
    } else {
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push_str(group);
            }
            out.push(c);
        }
        out
    };
    // Rupiah has two decimals in ISO 4217, but nobody writes sen: whole amounts
    // are written without them.
    let whole_rupiah = m.currency.code() == "IDR" && frac == 0;
    let number = if exp == 0 || whole_rupiah {
        grouped
    } else {
        format!("{grouped}{decimal}{frac:0width$}", width = exp as usize)
    };
    let sign = if m.amount < 0 { "-" } else { "" };
    let code = m.currency.code();
    let symbol = match code {
        "IDR" => "Rp",
        "PLN" => "zł",
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        other => other,
    };
    let suffix = locale == Locale::Pl || code == "PLN";
    if suffix {
        format!("{sign}{number}\u{a0}{symbol}")
    } else if symbol.chars().all(char::is_alphabetic) {
        format!("{sign}{symbol}\u{a0}{number}")
    } else {
        format!("{sign}{symbol}{number}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kembali_core::Currency;

    #[test]
    fn amounts_per_locale() {
        let nb = |s: String| s.replace('\u{a0}', " ");
        assert_eq!(
            nb(format_money(
                Locale::Id,
                Money::new(16_500_000, Currency::IDR)
            )),
            "Rp 165.000"
        );
        assert_eq!(
            nb(format_money(Locale::Pl, Money::new(16_500, Currency::PLN))),
            "165,00 zł"
        );
        assert_eq!(
            nb(format_money(Locale::En, Money::new(1_250, Currency::EUR))),
            "€12.50"
        );
        assert_eq!(
            nb(format_money(
                Locale::En,
                Money::new(12_345_678_900, Currency::IDR)
            )),
            "Rp 123,456,789"
        );
        assert_eq!(
            nb(format_money(
                Locale::Pl,
                Money::new(1_234_567, Currency::PLN)
            )),
            "12 345,67 zł"
        );
        assert_eq!(
            nb(format_money(Locale::En, Money::new(-5, Currency::EUR))),
            "-€0.05"
        );
    }

    #[test]
    fn dates_per_locale() {
        let d = Date::new(2027, 3, 3).expect("date");
        assert_eq!(Tr::new(Locale::En).date(d), "3 March 2027");
        assert_eq!(Tr::new(Locale::Id).date(d), "3 Maret 2027");
        assert_eq!(Tr::new(Locale::Pl).date(d), "3 marca 2027");
    }

    /// Every language has every message the others have, each parses, and every
    /// message the code asks for exists.
    #[test]
    fn every_language_has_every_key() {
        for (locale, src) in SOURCES {
            if let Err((_, errors)) = FluentResource::try_new(src.to_owned()) {
                panic!("{}.ftl does not parse: {errors:?}", locale.code());
            }
        }
        let en: std::collections::BTreeSet<String> = keys(Locale::En).into_iter().collect();
        assert!(!en.is_empty());
        for locale in [Locale::Id, Locale::Pl] {
            let other: std::collections::BTreeSet<String> = keys(locale).into_iter().collect();
            let missing: Vec<_> = en.difference(&other).collect();
            let extra: Vec<_> = other.difference(&en).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}.ftl: missing {missing:?}, not in en.ftl {extra:?}",
                locale.code()
            );
        }
        for key in crate::portal::used_keys() {
            assert!(
                en.contains(&key),
                "the code asks for `{key}`, which en.ftl lacks"
            );
        }
    }
}
