//! The demo shop's customers: forty a market, with names, addresses, phone
//! numbers and email addresses as the market writes them.

use std::collections::HashSet;

use kembali_core::order::Address;
use kembali_core::shop::Country;
use kembali_store::StoreError;

use super::err;
use super::markets::{ID, MARKETS, Market, PL};
use super::rng::Rng;
use crate::synthetic::Buyer;

const PER_MARKET: usize = 40;

pub(super) struct Customer {
    pub(super) market: usize,
    pub(super) buyer: Buyer,
    /// Refused two cash-on-delivery parcels: the policy flags their returns.
    pub(super) risky: bool,
}

pub(super) fn customers(rng: &mut Rng) -> Result<Vec<Customer>, StoreError> {
    let mut out = Vec::new();
    let mut emails = HashSet::new();
    for (m_index, m) in MARKETS.iter().enumerate() {
        let mut n = 0;
        while n < PER_MARKET {
            let (first, last) = name(rng, m);
            let suffix = if rng.chance(60) {
                rng.range(1, 99).to_string()
            } else {
                String::new()
            };
            let email = format!(
                "{}.{}{suffix}@{}",
                ascii(first),
                ascii(last),
                m.email_domain
            );
            if !emails.insert(email.clone()) {
                continue;
            }
            let name = format!("{first} {last}");
            out.push(Customer {
                market: m_index,
                buyer: Buyer {
                    address: address(rng, m_index, &name)?,
                    name,
                    email,
                    locale: m.locale,
                },
                // The first two Indonesian customers are the ones who refuse parcels.
                risky: m_index == ID && n < 2,
            });
            n += 1;
        }
    }
    Ok(out)
}

/// A first name and a surname in its form for that first name.
fn name(rng: &mut Rng, m: &Market) -> (&'static str, &'static str) {
    let (first, female) = *rng.pick(m.first);
    let (him, her) = *rng.pick(m.last);
    (first, if female { her } else { him })
}

fn address(rng: &mut Rng, m_index: usize, name: &str) -> Result<Address, StoreError> {
    let p = rng.pick(MARKETS[m_index].places);
    let number = match m_index {
        PL if rng.chance(60) => format!("{}/{}", rng.range(1, 120), rng.range(1, 40)),
        _ => rng.range(1, 180).to_string(),
    };
    Ok(Address {
        name: name.to_owned(),
        line1: p.street.replace("{}", &number),
        line2: None,
        city: p.city.into(),
        postal_code: p.postal.into(),
        country: Country::try_from(p.country.to_owned()).map_err(err)?,
        phone: Some(phone(rng, p.country)),
    })
}

fn phone(rng: &mut Rng, country: &str) -> String {
    match country {
        "ID" => format!(
            "+62 8{}-{}-{}",
            rng.range(11, 59),
            rng.digits(4),
            rng.digits(4)
        ),
        "PL" => format!(
            "+48 {}{} {} {}",
            rng.pick(&["5", "6", "7", "8"]),
            rng.digits(2),
            rng.digits(3),
            rng.digits(3)
        ),
        "IE" => format!(
            "+353 8{} {} {}",
            rng.range(3, 9),
            rng.digits(3),
            rng.digits(4)
        ),
        "MT" => format!("+356 79{}", rng.digits(6)),
        _ => format!("+31 6 {}", rng.digits(8)),
    }
}

/// Lower case ASCII for email addresses (`Paweł Wiśniewski` → `pawel`, `wisniewski`).
fn ascii(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            'ą' => Some('a'),
            'ć' => Some('c'),
            'ę' => Some('e'),
            'ł' => Some('l'),
            'ń' => Some('n'),
            'ó' => Some('o'),
            'ś' => Some('s'),
            'ź' | 'ż' => Some('z'),
            c if c.is_ascii_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}
