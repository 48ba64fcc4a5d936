//! The demo shop: a realistic, deterministic shop with orders from Indonesian,
//! Polish and English-speaking EU customers, and returns in every state.
//!
//! Everything is generated relative to `now` from a seeded generator, so two runs
//! at different moments give the same shop, only shifted in time. Orders go in
//! through the store like imported ones; returns are opened and moved through the
//! real policy engine and state machine, so every decision, quote, timeline event
//! and expiry job is what the product itself would have made.

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use kembali_app::returns::{ItemRequest, ReturnRequest};
use kembali_app::{App, AppError, clock::ManualClock};
use kembali_core::order::{
    Address, LineDelivery, Order, OrderLine, PaymentMethod, Shipment, ShipmentLine, TrackingStatus,
};
use kembali_core::policy::{
    Conditions, Decision, Defaults, Effects, Fee, Lists, PolicyDocument, PriceRange, Range,
    RefundTiming, Rule, WindowStart,
};
use kembali_core::returns::{
    Actor, Command, Condition, Disposition, ItemInspection, ItemReceipt, ItemResolution,
    ReceiptOutcome, Resolution, ReturnMethod, ReturnReason, ReturnStatus,
};
use kembali_core::shop::{Country, Locale, Shop};
use kembali_core::{Currency, CustomerId, LineId, Money, OrderId, ShipmentId, ShopId};
use kembali_store::{Db, StoreError, Tx, orders, shops};

pub struct DemoSummary {
    pub shop: Shop,
    pub orders: usize,
    /// A delivered order without a return, still inside its window, to try the API on.
    pub sample_order: Option<OrderId>,
    /// Returns seeded in each state, in [`ReturnStatus::ALL`] order.
    pub returns_by_status: Vec<(ReturnStatus, usize)>,
    pub api_key: String,
}

/// Orders per market.
const ORDERS_PER_MARKET: usize = 120;
/// Orders stored per transaction.
const BATCH: usize = 60;

const ID: usize = 0;
const PL: usize = 1;
const EU: usize = 2;

/// SplitMix64: a tiny deterministic generator, so the demo is the same every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// A number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below(hi.saturating_sub(lo).max(0) as u64 + 1) as i64
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// An index into `weights`, each as likely as its weight.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut roll = self.below(weights.iter().sum());
        for (i, w) in weights.iter().enumerate() {
            if roll < *w {
                return i;
            }
            roll -= w;
        }
        weights.len().saturating_sub(1)
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
    /// An instant in `lo..=hi`, to the second.
    fn between(&mut self, lo: Timestamp, hi: Timestamp) -> Timestamp {
        let secs = hi.duration_since(lo).as_secs().max(0);
        lo + SignedDuration::from_secs(self.range(0, secs))
    }
    fn entropy(&mut self) -> u128 {
        (u128::from(self.next()) << 64) | u128::from(self.next())
    }
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

fn days(d: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * d)
}

fn minutes(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

/// A town and one of its streets; `{}` in the street is the house number.
struct Place {
    country: &'static str,
    city: &'static str,
    postal: &'static str,
    street: &'static str,
}

const fn place(
    country: &'static str,
    city: &'static str,
    postal: &'static str,
    street: &'static str,
) -> Place {
    Place {
        country,
        city,
        postal,
        street,
    }
}

struct Market {
    currency: Currency,
    locale: Locale,
    places: &'static [Place],
    /// First names, and whether they are a woman's (Polish surnames follow it).
    first: &'static [(&'static str, bool)],
    /// Surnames in their men's and women's forms.
    last: &'static [(&'static str, &'static str)],
    carriers: &'static [&'static str],
    /// A reserved domain (RFC 2606): the demo never mails a real person.
    email_domain: &'static str,
    /// Percent of orders paid cash on delivery.
    cod: u64,
    /// Standard delivery, and the order value from which it is free (minor units).
    shipping: i64,
    free_from: i64,
    /// Delivery promised at checkout, in days after the order.
    promise_days: i64,
    /// Hours from the first scan to the door, outbound and back to the warehouse.
    transit_hours: (i64, i64),
    agent: &'static str,
    warehouse: &'static str,
}

const MARKETS: [Market; 3] = [
    Market {
        currency: Currency::IDR,
        locale: Locale::Id,
        places: &[
            place(
                "ID",
                "Jakarta Selatan",
                "12190",
                "Jl. Jenderal Sudirman No. {}",
            ),
            place(
                "ID",
                "Jakarta Barat",
                "11470",
                "Jl. Tanjung Duren Raya No. {}",
            ),
            place("ID", "Bandung", "40135", "Jl. Ir. H. Juanda No. {}"),
            place("ID", "Surabaya", "60264", "Jl. Raya Darmo No. {}"),
            place("ID", "Yogyakarta", "55281", "Jl. Kaliurang Km 5 No. {}"),
            place("ID", "Medan", "20112", "Jl. Gatot Subroto No. {}"),
            place("ID", "Denpasar", "80113", "Jl. Teuku Umar No. {}"),
            place("ID", "Semarang", "50241", "Jl. Pandanaran No. {}"),
            place("ID", "Makassar", "90111", "Jl. Somba Opu No. {}"),
        ],
        first: &[
            ("Budi", false),
            ("Siti", true),
            ("Agus", false),
            ("Dewi", true),
            ("Rizky", false),
            ("Putri", true),
            ("Andi", false),
            ("Nur", true),
            ("Fajar", false),
            ("Ayu", true),
            ("Hendra", false),
            ("Rina", true),
            ("Wahyu", false),
            ("Indah", true),
        ],
        last: &[
            ("Santoso", "Santoso"),
            ("Wijaya", "Wijaya"),
            ("Hidayat", "Hidayat"),
            ("Saputra", "Saputri"),
            ("Kusuma", "Kusuma"),
            ("Pratama", "Pratiwi"),
            ("Nasution", "Nasution"),
            ("Siregar", "Siregar"),
            ("Setiawan", "Setiawati"),
            ("Gunawan", "Gunawan"),
        ],
        carriers: &["JNE", "J&T Express", "SiCepat"],
        email_domain: "example.com",
        cod: 65,
        shipping: 1_800_000,
        free_from: 50_000_000,
        promise_days: 5,
        transit_hours: (24, 110),
        agent: "agent-dewi",
        warehouse: "warehouse-cikarang",
    },
    Market {
        currency: Currency::PLN,
        locale: Locale::Pl,
        places: &[
            place("PL", "Warszawa", "00-695", "ul. Marszałkowska {}"),
            place("PL", "Warszawa", "02-516", "ul. Puławska {}"),
            place("PL", "Kraków", "31-042", "ul. Floriańska {}"),
            place("PL", "Gdańsk", "80-831", "ul. Długa {}"),
            place("PL", "Wrocław", "50-077", "ul. Świdnicka {}"),
            place("PL", "Poznań", "61-888", "ul. Półwiejska {}"),
            place("PL", "Łódź", "90-135", "ul. Piotrkowska {}"),
            place("PL", "Lublin", "20-076", "ul. Krakowskie Przedmieście {}"),
        ],
        first: &[
            ("Anna", true),
            ("Piotr", false),
            ("Katarzyna", true),
            ("Tomasz", false),
            ("Magdalena", true),
            ("Paweł", false),
            ("Agnieszka", true),
            ("Michał", false),
            ("Joanna", true),
            ("Krzysztof", false),
            ("Zofia", true),
            ("Jakub", false),
        ],
        last: &[
            ("Nowak", "Nowak"),
            ("Kowalski", "Kowalska"),
            ("Wiśniewski", "Wiśniewska"),
            ("Wójcik", "Wójcik"),
            ("Kamiński", "Kamińska"),
            ("Lewandowski", "Lewandowska"),
            ("Zieliński", "Zielińska"),
            ("Szymański", "Szymańska"),
            ("Dąbrowski", "Dąbrowska"),
            ("Mazur", "Mazur"),
        ],
        carriers: &["InPost", "DPD Polska", "Poczta Polska"],
        email_domain: "example.net",
        cod: 15,
        shipping: 1_499,
        free_from: 24_900,
        promise_days: 3,
        transit_hours: (18, 50),
        agent: "agent-kasia",
        warehouse: "warehouse-strykow",
    },
    Market {
        currency: Currency::EUR,
        locale: Locale::En,
        places: &[
            place("IE", "Dublin", "D02 X285", "{} Grafton Street"),
            place("IE", "Dublin", "D08 E1W3", "{} Thomas Street"),
            place("IE", "Cork", "T12 RX2Y", "{} Oliver Plunkett Street"),
            place("IE", "Galway", "H91 TK33", "{} Shop Street"),
            place("MT", "Valletta", "VLT 1117", "{} Republic Street"),
            place("MT", "Sliema", "SLM 1549", "{} Tower Road"),
            place("NL", "Amsterdam", "1016 DK", "Prinsengracht {}"),
            place("NL", "Utrecht", "3511 LN", "Oudegracht {}"),
        ],
        first: &[
            ("Emma", true),
            ("Liam", false),
            ("Olivia", true),
            ("Noah", false),
            ("Sophie", true),
            ("James", false),
            ("Grace", true),
            ("Jack", false),
            ("Chloe", true),
            ("Daniel", false),
            ("Aoife", true),
            ("Conor", false),
        ],
        last: &[
            ("Murphy", "Murphy"),
            ("Kelly", "Kelly"),
            ("Walsh", "Walsh"),
            ("Byrne", "Byrne"),
            ("O'Brien", "O'Brien"),
            ("Ryan", "Ryan"),
            ("Camilleri", "Camilleri"),
            ("Borg", "Borg"),
            ("Vella", "Vella"),
            ("Taylor", "Taylor"),
        ],
        carriers: &["DHL", "GLS"],
        email_domain: "example.org",
        cod: 0,
        shipping: 695,
        free_from: 10_000,
        promise_days: 5,
        transit_hours: (36, 110),
        agent: "agent-sean",
        warehouse: "warehouse-dublin",
    },
];

/// VAT in basis points by destination; the prices include it.
fn vat_bps(country: &str) -> i64 {
    match country {
        "ID" => 1_100, // PPN
        "PL" | "IE" => 2_300,
        "NL" => 2_100,
        "MT" => 1_800,
        _ => 2_000,
    }
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

/// A tracking number shaped like the carrier's.
fn tracking(rng: &mut Rng, carrier: &str) -> String {
    match carrier {
        "JNE" => format!("CGK{}", rng.digits(13)),
        "J&T Express" => format!("JP{}", rng.digits(10)),
        "SiCepat" => format!("0041{}", rng.digits(8)),
        "InPost" => rng.digits(24),
        "DPD Polska" => format!("{}U", rng.digits(13)),
        "Poczta Polska" => format!("RR{}PL", rng.digits(9)),
        "DHL" => format!("JJD00{}", rng.digits(16)),
        _ => rng.digits(11),
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

struct Product {
    sku: &'static str,
    title: &'static str,
    category: &'static str,
    tags: &'static [&'static str],
    /// Prices in IDR, PLN and EUR minor units (IDR has two decimals in Kembali).
    prices: [i64; 3],
    final_sale: bool,
    /// How often it sells in each market.
    weight: [u64; 3],
}

const fn product(
    sku: &'static str,
    title: &'static str,
    category: &'static str,
    tags: &'static [&'static str],
    prices: [i64; 3],
    final_sale: bool,
    weight: [u64; 3],
) -> Product {
    Product {
        sku,
        title,
        category,
        tags,
        prices,
        final_sale,
        weight,
    }
}

#[rustfmt::skip]
const CATALOGUE: &[Product] = &[
    // sku, title, category, tags, prices (IDR, PLN, EUR), final sale, weight (ID, PL, EU)
    product("BATIK-PARANG-M", "Batik shirt, parang pattern, M", "shirts", &["batik", "cotton"], [32_500_000, 14_999, 3_499], false, [9, 3, 3]),
    product("BATIK-PARANG-L", "Batik shirt, parang pattern, L", "shirts", &["batik", "cotton"], [32_500_000, 14_999, 3_499], false, [8, 3, 3]),
    product("HIJAB-VOAL-SAGE", "Voal hijab, sage", "accessories", &["hijab"], [8_900_000, 4_999, 1_299], false, [10, 1, 1]),
    product("HIJAB-VOAL-NAVY", "Voal hijab, navy", "accessories", &["hijab"], [8_900_000, 4_999, 1_299], false, [8, 1, 1]),
    product("SARONG-TENUN", "Hand-woven tenun sarong", "accessories", &["tenun", "handmade"], [42_500_000, 18_900, 4_499], false, [5, 1, 2]),
    product("SNEAKER-CANVAS-41", "Canvas sneakers, EU 41", "shoes", &["shoes"], [45_000_000, 22_900, 5_499], false, [6, 6, 6]),
    product("SNEAKER-CANVAS-42", "Canvas sneakers, EU 42", "shoes", &["shoes"], [45_000_000, 22_900, 5_499], false, [6, 6, 6]),
    product("KETTLE-STEEL-17", "Electric kettle, steel, 1.7 l", "kitchen", &["electronics", "warranty-2y"], [38_900_000, 18_900, 4_499], false, [4, 5, 5]),
    product("MUG-STONEWARE-2", "Stoneware mugs, set of 2", "kitchen", &["ceramics", "fragile"], [12_900_000, 5_999, 1_899], false, [3, 5, 5]),
    product("PHONECASE-CLEAR", "Clear phone case", "accessories", &["phone"], [4_500_000, 1_999, 499], false, [7, 6, 6]),
    product("CABLE-USBC-1M", "USB-C cable, 1 m", "electronics", &["phone", "electronics"], [3_900_000, 1_899, 450], false, [5, 5, 5]),
    product("BOOK-LASKAR", "Laskar Pelangi, paperback", "books", &["books"], [9_800_000, 3_999, 1_199], false, [4, 2, 2]),
    product("SERUM-VITC-30", "Vitamin C serum, 30 ml", "beauty", &["cosmetics", "hygiene", "final-sale"], [15_900_000, 7_999, 1_999], true, [5, 5, 5]),
    product("LIPSTICK-MATTE-04", "Matte lipstick, shade 04", "beauty", &["cosmetics", "hygiene", "final-sale"], [7_900_000, 3_499, 899], true, [4, 4, 4]),
    product("DRESS-LINEN-S", "Linen dress, S, last season", "dresses", &["linen", "clearance", "final-sale"], [27_500_000, 12_900, 2_999], true, [3, 4, 4]),
    product("BACKPACK-20L", "Everyday backpack, 20 l", "bags", &["bags"], [59_900_000, 27_900, 6_499], false, [4, 5, 5]),
    product("EARBUDS-BT", "Bluetooth earbuds", "electronics", &["electronics", "warranty-1y"], [69_900_000, 29_900, 7_999], false, [5, 5, 5]),
    product("SCARF-MERINO", "Merino wool scarf", "accessories", &["wool"], [24_900_000, 11_900, 2_999], false, [1, 6, 6]),
    product("YOGA-MAT-6MM", "Yoga mat, 6 mm", "sports", &["sports"], [29_900_000, 13_900, 3_299], false, [3, 4, 4]),
];

/// Unit prices up to these (IDR, PLN, EUR minor units) are kept, not sent back.
const KEEP_BELOW: [i64; 3] = [5_000_000, 2_000, 500];

fn demo_policy() -> PolicyDocument {
    let fixed = |idr: i64, pln: i64, eur: i64| {
        [
            (Currency::IDR, idr),
            (Currency::PLN, pln),
            (Currency::EUR, eur),
        ]
        .into_iter()
        .collect()
    };
    let keep_cheap = |m: usize| {
        let currency = MARKETS[m].currency;
        Rule {
            id: format!("keep-cheap-{}", currency.code().to_lowercase()),
            description: Some(format!(
                "Items up to {}: the shopper keeps them, sending them back costs more",
                Money::new(KEEP_BELOW[m], currency)
            )),
            when: Conditions {
                price: Some(PriceRange {
                    currency,
                    min: None,
                    max: Some(KEEP_BELOW[m]),
                }),
                ..Conditions::default()
            },
            then: Effects {
                keep_item: Some(true),
                ..Effects::default()
            },
        }
    };
    let merchant_fault = Rule::merchant_fault_is_free();
    PolicyDocument {
        name: Some("Toko Kembali returns policy".into()),
        defaults: Defaults {
            window_days: 30,
            window_from: WindowStart::Delivery,
            resolutions: vec![
                Resolution::Refund,
                Resolution::StoreCredit,
                Resolution::Exchange,
            ],
            methods: vec![ReturnMethod::DropOff, ReturnMethod::CourierPickup],
            return_shipping_fee: Fee {
                percent_bps: 0,
                fixed: fixed(1_500_000, 999, 495),
            },
            store_credit_bonus_bps: 1_000,
            refund_timing: RefundTiming::OnInspection,
            ship_by_days: 10,
            ..Defaults::default()
        },
        rules: vec![
            Rule {
                id: "final-sale-hygiene".into(),
                description: Some(
                    "Final-sale cosmetics are not taken back once opened (hygiene)".into(),
                ),
                when: Conditions {
                    final_sale: Some(true),
                    product_tags: Some(vec!["hygiene".into()]),
                    ..Conditions::default()
                },
                then: Effects {
                    deny: Some("Opened cosmetics cannot be returned for hygiene reasons.".into()),
                    ..Effects::default()
                },
            },
            Rule {
                id: "cod-refund-or-credit".into(),
                description: Some(
                    "Cash-on-delivery orders: a refund to a bank account or e-wallet, or store credit, once the parcel is back"
                        .into(),
                ),
                when: Conditions {
                    payment_methods: Some(vec![PaymentMethod::CashOnDelivery]),
                    ..Conditions::default()
                },
                then: Effects {
                    resolutions: Some(vec![Resolution::Refund, Resolution::StoreCredit]),
                    refund_timing: Some(RefundTiming::OnReceipt),
                    ..Effects::default()
                },
            },
            // The shop's own faults come back free, with photos as evidence.
            Rule {
                then: Effects {
                    require_photos: Some(true),
                    ..merchant_fault.then.clone()
                },
                ..merchant_fault
            },
            Rule {
                id: "quick-approve".into(),
                description: Some(
                    "Size and change-of-mind returns of regular customers are approved at once"
                        .into(),
                ),
                when: Conditions {
                    reasons: Some(vec![ReturnReason::ChangedMind, ReturnReason::WrongSize]),
                    customer_returns: Some(Range {
                        min: None,
                        max: Some(3),
                    }),
                    ..Conditions::default()
                },
                then: Effects {
                    auto_approve: Some(true),
                    ..Effects::default()
                },
            },
            keep_cheap(ID),
            keep_cheap(PL),
            keep_cheap(EU),
            Rule {
                id: "refused-cod-parcels".into(),
                description: Some(
                    "Customers who refused two cash-on-delivery parcels go to review".into(),
                ),
                when: Conditions {
                    refused_cod_parcels: Some(Range {
                        min: Some(2),
                        max: None,
                    }),
                    ..Conditions::default()
                },
                then: Effects {
                    flag_risk: Some("refused two or more cash-on-delivery parcels".into()),
                    ..Effects::default()
                },
            },
        ],
        eu_withdrawal: true,
        lists: Lists::default(),
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Config(format!("demo: {e}"))
}

struct Customer {
    market: usize,
    name: String,
    email: String,
    address: Address,
    /// Refused two cash-on-delivery parcels: the policy flags their returns.
    risky: bool,
}

fn customers(rng: &mut Rng) -> Result<Vec<Customer>, StoreError> {
    let mut out = Vec::new();
    let mut emails = HashSet::new();
    for (m_index, m) in MARKETS.iter().enumerate() {
        let mut n = 0;
        while n < 40 {
            let (first, female) = *rng.pick(m.first);
            let (him, her) = *rng.pick(m.last);
            let last = if female { her } else { him };
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
            let p = rng.pick(m.places);
            let number = match m_index {
                PL if rng.chance(60) => format!("{}/{}", rng.range(1, 120), rng.range(1, 40)),
                _ => rng.range(1, 180).to_string(),
            };
            let name = format!("{first} {last}");
            out.push(Customer {
                market: m_index,
                address: Address {
                    name: name.clone(),
                    line1: p.street.replace("{}", &number),
                    line2: None,
                    city: p.city.into(),
                    postal_code: p.postal.into(),
                    country: Country::try_from(p.country.to_owned()).map_err(err)?,
                    phone: Some(phone(rng, p.country)),
                },
                name,
                email,
                // The first two Indonesian customers are the ones who refuse parcels.
                risky: m_index == ID && n < 2,
            });
            n += 1;
        }
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Whatever the dice say.
    Any,
    /// Cash on delivery, refused at the door.
    Refused,
    /// Cash on delivery, delivered a week ago.
    Delivered,
}

struct Plan {
    customer: usize,
    placed: Timestamp,
    fate: Fate,
}

/// When each order is placed and by whom: a growing shop, with regulars.
fn plans(rng: &mut Rng, customers: &[Customer], now: Timestamp) -> Vec<Plan> {
    let mut out = Vec::new();
    // The two risky customers: two refused parcels each, then one delivered order.
    let risky: Vec<usize> = (0..customers.len())
        .filter(|&c| customers[c].risky)
        .collect();
    for (k, &c) in risky.iter().enumerate() {
        let k = k as i64;
        for (age_days, fate) in [
            (52 - 6 * k, Fate::Refused),
            (31 - 3 * k, Fate::Refused),
            (7 + k, Fate::Delivered),
        ] {
            out.push(Plan {
                customer: c,
                placed: now - days(age_days) - hours(rng.range(0, 20)),
                fate,
            });
        }
    }
    for m in 0..MARKETS.len() {
        let pool: Vec<usize> = (0..customers.len())
            .filter(|&c| customers[c].market == m && !customers[c].risky)
            .collect();
        let forced = out
            .iter()
            .filter(|p| customers[p.customer].market == m)
            .count();
        for _ in forced..ORDERS_PER_MARKET {
            let customer = if rng.chance(35) {
                *rng.pick(&pool[..10])
            } else {
                *rng.pick(&pool)
            };
            // A growing shop: a busy last few days, most orders in the last month.
            let age_hours = match rng.weighted(&[12, 48, 40]) {
                0 => rng.range(1, 5 * 24),
                1 => rng.range(5 * 24, 35 * 24),
                _ => rng.range(35 * 24, 90 * 24),
            };
            out.push(Plan {
                customer,
                placed: now - hours(age_hours) - minutes(rng.range(0, 59)),
                fate: Fate::Any,
            });
        }
    }
    out.sort_by_key(|p| p.placed);
    out
}

/// Where a parcel stands: (status, shipped_at, delivered_at, tracking number).
fn parcel(
    rng: &mut Rng,
    m_index: usize,
    carrier: &str,
    shipped: Timestamp,
    cod: bool,
    fate: Fate,
    now: Timestamp,
) -> (
    TrackingStatus,
    Option<Timestamp>,
    Option<Timestamp>,
    Option<String>,
) {
    let m = &MARKETS[m_index];
    let number = tracking(rng, carrier);
    if fate == Fate::Refused {
        return (
            TrackingStatus::ReturnedToSender,
            Some(shipped),
            None,
            Some(number),
        );
    }
    if shipped > now {
        // Packed and labelled, or not even that yet.
        return if rng.chance(50) {
            (TrackingStatus::InfoReceived, None, None, Some(number))
        } else {
            (TrackingStatus::Pending, None, None, None)
        };
    }
    let mut transit = rng.range(m.transit_hours.0, m.transit_hours.1);
    if rng.chance(8) {
        transit += rng.range(24, 96); // a late one
    }
    let mut arrives = shipped + hours(transit);
    if fate == Fate::Delivered && arrives > now - hours(12) {
        arrives = now - hours(12);
    }
    if arrives > now {
        let status = if arrives.duration_since(now) < hours(8) {
            TrackingStatus::OutForDelivery
        } else if cod && rng.chance(10) {
            TrackingStatus::FailedAttempt
        } else {
            TrackingStatus::InTransit
        };
        return (status, Some(shipped), None, Some(number));
    }
    let since = now.duration_since(arrives);
    if fate == Fate::Any && cod && since > days(5) && rng.chance(6) {
        return (
            TrackingStatus::ReturnedToSender,
            Some(shipped),
            None,
            Some(number),
        );
    }
    if carrier == "InPost" && since < hours(40) && rng.chance(50) {
        // Waiting in a parcel locker.
        return (
            TrackingStatus::AvailableForPickup,
            Some(shipped),
            None,
            Some(number),
        );
    }
    (
        TrackingStatus::Delivered,
        Some(shipped),
        Some(arrives),
        Some(number),
    )
}

struct SeededLine {
    id: LineId,
    quantity: u32,
    /// Under the keep-the-item price.
    cheap: bool,
    delivered_at: Option<Timestamp>,
}

struct Seeded {
    order: OrderId,
    market: usize,
    cod: bool,
    risky: bool,
    lines: Vec<SeededLine>,
}

/// Builds one order and its shipments from its plan.
fn build_order(
    rng: &mut Rng,
    shop: ShopId,
    number: usize,
    plan: &Plan,
    c: &Customer,
    customer_id: CustomerId,
    now: Timestamp,
) -> (Order, Vec<Shipment>) {
    let m_index = c.market;
    let m = &MARKETS[m_index];
    let placed = plan.placed;
    let money = |v: i64| Money::new(v, m.currency);
    let cod = plan.fate != Fate::Any || rng.chance(m.cod);
    let payment = if cod {
        PaymentMethod::CashOnDelivery
    } else {
        match m_index {
            ID => [
                PaymentMethod::EWallet,
                PaymentMethod::BankTransfer,
                PaymentMethod::Card,
            ][rng.weighted(&[50, 35, 15])],
            PL if rng.chance(15) => PaymentMethod::BankTransfer,
            _ => PaymentMethod::Card,
        }
    };
    let vat = vat_bps(c.address.country.code());
    let weights: Vec<u64> = CATALOGUE.iter().map(|p| p.weight[m_index]).collect();
    let wanted = 1 + rng.weighted(&[45, 30, 17, 8]);
    let mut picked: Vec<usize> = Vec::new();
    for _ in 0..wanted * 4 {
        if picked.len() == wanted {
            break;
        }
        let p = rng.weighted(&weights);
        // The risky customers' delivered order holds something they can send back.
        let returnable =
            !CATALOGUE[p].final_sale && CATALOGUE[p].prices[m_index] > KEEP_BELOW[m_index];
        if !picked.contains(&p)
            && (returnable || plan.fate != Fate::Delivered || !picked.is_empty())
        {
            picked.push(p);
        }
    }
    let promo = rng.chance(25).then(|| *rng.pick(&[10, 15, 20]));
    let lines: Vec<OrderLine> = picked
        .iter()
        .map(|&p| {
            let p = &CATALOGUE[p];
            let quantity = 1 + rng.weighted(&[80, 15, 5]) as u32;
            let unit = p.prices[m_index];
            let gross = unit * i64::from(quantity);
            let mut discount = match promo {
                Some(pct) if !p.final_sale => gross * pct / 100,
                _ => 0,
            };
            if m.currency == Currency::IDR {
                discount -= discount % 100; // whole rupiah
            }
            let net = gross - discount;
            // Tax included in the price, rounded half up.
            let tax = (net * vat + (10_000 + vat) / 2) / (10_000 + vat);
            OrderLine {
                id: LineId::new(placed, rng.entropy()),
                product_id: None,
                variant_id: None,
                sku: p.sku.into(),
                title: p.title.into(),
                category: Some(p.category.into()),
                tags: p.tags.iter().map(|t| (*t).to_owned()).collect(),
                final_sale: p.final_sale,
                quantity,
                unit_price: money(unit),
                discount: money(discount),
                tax: money(tax),
            }
        })
        .collect();
    let subtotal: i64 = lines
        .iter()
        .map(|l| l.unit_price.amount * i64::from(l.quantity) - l.discount.amount)
        .sum();
    let (shipping_paid, cheapest_shipping) = if subtotal >= m.free_from {
        (0, 0)
    } else if rng.chance(15) {
        (m.shipping * 2, m.shipping) // express
    } else {
        (m.shipping, m.shipping)
    };
    let order = Order {
        id: OrderId::new(placed, rng.entropy()),
        shop_id: shop,
        number: format!("#{number}"),
        customer_id: Some(customer_id),
        email: c.email.clone(),
        locale: m.locale,
        currency: m.currency,
        placed_at: placed,
        payment_method: payment,
        taxes_included: true,
        shipping_address: c.address.clone(),
        shipping_paid: money(shipping_paid),
        cheapest_shipping: money(cheapest_shipping),
        lines,
    };

    // One parcel, or two when part of the order was out of stock.
    let split = order.lines.len() >= 2 && plan.fate == Fate::Any && rng.chance(12);
    let groups: Vec<&[OrderLine]> = if split {
        let (a, b) = order.lines.split_at(order.lines.len() - 1);
        vec![a, b]
    } else {
        vec![&order.lines[..]]
    };
    let carrier = *rng.pick(m.carriers);
    let mut shipments = Vec::new();
    for (g, lines) in groups.into_iter().enumerate() {
        let mut handling = rng.range(4, 40);
        if g > 0 {
            handling += rng.range(24, 72);
        }
        let shipped = placed + hours(handling);
        let (status, shipped_at, delivered_at, tracking_number) =
            parcel(rng, m_index, carrier, shipped, cod, plan.fate, now);
        shipments.push(Shipment {
            id: ShipmentId::new(shipped.min(now), rng.entropy()),
            order_id: order.id,
            carrier: carrier.into(),
            tracking_number,
            status,
            shipped_at,
            delivered_at,
            promised_by: Some(placed + days(m.promise_days)),
            lines: lines
                .iter()
                .map(|l| ShipmentLine {
                    line_id: l.id,
                    quantity: l.quantity,
                })
                .collect(),
        });
    }
    (order, shipments)
}

// What a return story needs of its order.
const KEEP: u8 = 1;
const COD: u8 = 2;
const RISKY: u8 = 4;
const TWO: u8 = 8;
/// The story's twist: a wrong item received, a damaged or worn item inspected,
/// store credit instead of a refund, an agent cancelling.
const ODD: u8 = 16;

type Story = (ReturnStatus, usize, ReturnReason, u8);

/// Seven returns in each state, across markets, reasons and payment methods.
const STORIES: &[Story] = {
    use ReturnReason as R;
    use ReturnStatus as S;
    &[
        // Waiting for a person: the shop's faults need a look at the photos,
        // unclear cases a judgement, and a risky customer a review.
        (S::Requested, ID, R::Damaged, COD),
        (S::Requested, ID, R::ChangedMind, RISKY),
        (S::Requested, PL, R::NotAsDescribed, 0),
        (S::Requested, EU, R::Defective, 0),
        (S::Requested, ID, R::WrongItem, 0),
        (S::Requested, PL, R::Damaged, 0),
        (S::Requested, EU, R::NotAsDescribed, TWO),
        (S::Approved, ID, R::WrongSize, COD),
        (S::Approved, PL, R::ChangedMind, 0),
        (S::Approved, EU, R::WrongSize, 0),
        (S::Approved, ID, R::ChangedMind, KEEP),
        (S::Approved, PL, R::Defective, 0),
        (S::Approved, EU, R::Damaged, 0),
        (S::Approved, ID, R::WrongSize, TWO),
        (S::Rejected, ID, R::ChangedMind, RISKY),
        (S::Rejected, PL, R::NotAsDescribed, 0),
        (S::Rejected, EU, R::Damaged, 0),
        (S::Rejected, ID, R::NotAsDescribed, COD),
        (S::Rejected, PL, R::Other, 0),
        (S::Rejected, EU, R::NotAsDescribed, 0),
        (S::Rejected, ID, R::Defective, 0),
        (S::InTransit, ID, R::WrongSize, COD),
        (S::InTransit, PL, R::ChangedMind, 0),
        (S::InTransit, EU, R::WrongSize, 0),
        (S::InTransit, ID, R::Defective, 0),
        (S::InTransit, PL, R::WrongSize, TWO),
        (S::InTransit, EU, R::ChangedMind, 0),
        (S::InTransit, ID, R::ChangedMind, 0),
        (S::Received, ID, R::WrongSize, COD),
        (S::Received, PL, R::ChangedMind, 0),
        (S::Received, EU, R::Damaged, 0),
        (S::Received, ID, R::ChangedMind, ODD),
        (S::Received, PL, R::WrongSize, 0),
        (S::Received, EU, R::ChangedMind, TWO),
        (S::Received, ID, R::NotAsDescribed, COD),
        (S::Inspected, ID, R::WrongSize, 0),
        (S::Inspected, PL, R::Defective, ODD),
        (S::Inspected, EU, R::ChangedMind, ODD),
        (S::Inspected, ID, R::Damaged, COD | ODD),
        (S::Inspected, PL, R::ChangedMind, 0),
        (S::Inspected, EU, R::WrongSize, 0),
        (S::Inspected, ID, R::ChangedMind, COD),
        // Keep-the-item returns are resolved straight from approved.
        (S::Resolved, ID, R::Damaged, KEEP | COD),
        (S::Resolved, PL, R::WrongItem, KEEP),
        (S::Resolved, EU, R::ChangedMind, KEEP),
        (S::Resolved, ID, R::Defective, 0),
        (S::Resolved, ID, R::WrongSize, COD),
        (S::Resolved, PL, R::WrongSize, 0),
        (S::Resolved, EU, R::ChangedMind, TWO),
        (S::Resolved, PL, R::ChangedMind, ODD),
        (S::Cancelled, ID, R::ChangedMind, COD),
        (S::Cancelled, PL, R::NotAsDescribed, 0),
        (S::Cancelled, EU, R::WrongSize, 0),
        (S::Cancelled, ID, R::Damaged, ODD),
        (S::Cancelled, PL, R::ChangedMind, 0),
        (S::Cancelled, EU, R::NotAsDescribed, ODD),
        (S::Cancelled, ID, R::WrongSize, 0),
        (S::Expired, ID, R::ChangedMind, COD),
        (S::Expired, PL, R::WrongSize, 0),
        (S::Expired, EU, R::ChangedMind, 0),
        (S::Expired, ID, R::WrongSize, 0),
        (S::Expired, PL, R::ChangedMind, 0),
        (S::Expired, EU, R::WrongSize, 0),
        (S::Expired, ID, R::NotAsDescribed, 0),
    ]
};

/// The same sentence in the shopper's language.
fn say(locale: Locale, id: &str, pl: &str, en: &str) -> String {
    match locale {
        Locale::Id => id,
        Locale::Pl => pl,
        Locale::En => en,
    }
    .to_owned()
}

fn shopper_comment(locale: Locale, reason: ReturnReason) -> String {
    use ReturnReason as R;
    let (id, pl, en) = match reason {
        R::ChangedMind => (
            "Tidak jadi dipakai, label masih terpasang.",
            "Jednak zostaję przy innym modelu, metki są na miejscu.",
            "Changed my mind, it's unused with the tags on.",
        ),
        R::WrongSize => (
            "Ukurannya kekecilan, mau satu ukuran lebih besar.",
            "Za mały rozmiar, poproszę o jeden większy.",
            "Too small, I'd like one size up.",
        ),
        R::NotAsDescribed => (
            "Warnanya beda dengan foto di toko.",
            "Kolor inny niż na zdjęciach w sklepie.",
            "The colour is quite different from the photos.",
        ),
        R::Damaged => (
            "Barang sampai dalam keadaan rusak, kardusnya penyok.",
            "Paczka dotarła zgnieciona, produkt jest uszkodzony.",
            "It arrived damaged, the box was crushed.",
        ),
        R::Defective => (
            "Tidak bisa menyala sejak hari pertama.",
            "Przestał działać po dwóch dniach.",
            "It stopped working after two days.",
        ),
        R::WrongItem => (
            "Yang dikirim bukan barang yang saya pesan.",
            "Przyszedł inny produkt niż zamówiony.",
            "I received a different item from the one I ordered.",
        ),
        R::ArrivedLate => (
            "Barang datang terlambat, sudah tidak dibutuhkan.",
            "Przesyłka przyszła za późno, już jej nie potrzebuję.",
            "It arrived too late for the occasion.",
        ),
        R::Other => (
            "Kurang sesuai harapan.",
            "Produkt nie spełnia moich oczekiwań.",
            "Not what I expected.",
        ),
    };
    say(locale, id, pl, en)
}

fn rejection(locale: Locale, reason: ReturnReason, risky: bool) -> String {
    use ReturnReason as R;
    if risky {
        return say(
            locale,
            "Dua paket COD sebelumnya ditolak saat diantar. Silakan hubungi kami untuk mengatur pengembalian ini.",
            "Dwie wcześniejsze paczki za pobraniem nie zostały odebrane. Skontaktuj się z nami, aby ustalić ten zwrot.",
            "Two earlier cash-on-delivery parcels were refused at the door. Please contact us to arrange this return.",
        );
    }
    match reason {
        R::Damaged | R::Defective => say(
            locale,
            "Foto menunjukkan bekas pemakaian, bukan kerusakan saat pengiriman atau cacat produksi.",
            "Zdjęcia pokazują ślady używania, a nie uszkodzenie w transporcie ani wadę.",
            "The photos show signs of use, not damage in transit or a fault.",
        ),
        R::NotAsDescribed => say(
            locale,
            "Produk sesuai dengan deskripsi dan foto di halaman produk.",
            "Produkt jest zgodny z opisem i zdjęciami na stronie produktu.",
            "The product matches the description and photos on its page.",
        ),
        _ => say(
            locale,
            "Alasan ini tidak termasuk dalam kebijakan pengembalian kami; detailnya kami kirim lewat email.",
            "Ten powód nie jest objęty naszą polityką zwrotów; szczegóły wysłaliśmy e-mailem.",
            "This reason is not covered by our returns policy; we have emailed you the details.",
        ),
    }
}

/// What the shopper asks for, given what the policy offers.
fn choose_resolution(
    rng: &mut Rng,
    reason: ReturnReason,
    offered: &[Resolution],
    prefer_refund: bool,
) -> Option<Resolution> {
    use Resolution as Res;
    if prefer_refund && offered.contains(&Res::Refund) {
        return Some(Res::Refund);
    }
    let wishes: &[(Resolution, u64)] = if reason.is_merchant_fault() {
        &[
            (Res::Replacement, 45),
            (Res::Refund, 40),
            (Res::StoreCredit, 15),
        ]
    } else if reason == ReturnReason::WrongSize {
        &[
            (Res::Exchange, 60),
            (Res::Refund, 25),
            (Res::StoreCredit, 15),
        ]
    } else {
        &[
            (Res::Refund, 55),
            (Res::StoreCredit, 30),
            (Res::Exchange, 15),
        ]
    };
    let open: Vec<(Resolution, u64)> = wishes
        .iter()
        .copied()
        .filter(|(r, _)| offered.contains(r))
        .collect();
    if open.is_empty() {
        return offered.iter().copied().find(|r| *r != Res::KeepItem);
    }
    let weights: Vec<u64> = open.iter().map(|(_, w)| *w).collect();
    Some(open[rng.weighted(&weights)].0)
}

#[derive(Clone, Copy)]
enum Step {
    Approve,
    Reject,
    Cancel,
    Ship,
    Receive,
    Inspect,
    Resolve,
    Expire,
}

/// Tries to tell `story` with the order `o`: opens the return at a plausible time
/// and moves it to the story's state. `None` when the order does not fit (nothing
/// is written then); an error if the lifecycle refuses a step it was expected to take.
#[allow(clippy::too_many_arguments)]
async fn tell(
    app: &App,
    clock: &ManualClock,
    tx: &mut Tx,
    rng: &mut Rng,
    shop: &Shop,
    o: &Seeded,
    story: Story,
    now: Timestamp,
) -> Result<Option<ReturnStatus>, StoreError> {
    use ReturnStatus as S;
    let (target, _, reason, flags) = story;
    let keep = flags & KEEP != 0;
    let risky = flags & RISKY != 0;
    let odd = flags & ODD != 0;
    let m = &MARKETS[o.market];
    let ctx = kembali_app::eligibility::Context::load(tx, shop.id, o.order)
        .await
        .map_err(err)?;

    // The lines to send back, as the policy sees them a day after delivery.
    let mut candidates: Vec<&SeededLine> = o
        .lines
        .iter()
        .filter(|l| l.delivered_at.is_some() && l.cheap == keep)
        .collect();
    rng.shuffle(&mut candidates);
    let want = if flags & TWO != 0 { 2 } else { 1 };
    let mut chosen: Vec<(&SeededLine, u32, Decision)> = Vec::new();
    for l in candidates {
        if chosen.len() == want {
            break;
        }
        let quantity = if l.quantity > 1 && rng.chance(40) {
            l.quantity
        } else {
            1
        };
        let Some(delivered) = l.delivered_at else {
            continue;
        };
        let Some(facts) = ctx.facts(shop, l.id, quantity, Some(reason), 0, delivered + days(1))
        else {
            continue;
        };
        let d = ctx.decide(&facts).map_err(err)?;
        if !d.eligible || d.keep_item != keep || d.risk.is_empty() == risky {
            continue;
        }
        chosen.push((l, quantity, d));
    }
    if chosen.len() < want {
        return Ok(None);
    }
    let auto = chosen
        .iter()
        .all(|(_, _, d)| d.auto_approve && d.risk.is_empty());
    if auto && matches!(target, S::Requested | S::Rejected) {
        return Ok(None);
    }
    if keep
        && !matches!(
            target,
            S::Requested | S::Approved | S::Resolved | S::Rejected | S::Cancelled
        )
    {
        return Err(err(format!(
            "a keep-the-item return cannot be {}",
            target.as_str()
        )));
    }
    let ship_by = chosen
        .iter()
        .map(|(_, _, d)| i64::from(d.ship_by_days))
        .min()
        .unwrap_or(14);

    // The steps after opening, in minutes.
    let mut t = 0i64;
    let mut steps: Vec<(Step, i64)> = Vec::new();
    // An agent approves unless the policy did, the story stops before approval,
    // or the shopper cancels the request while it waits.
    let approval = !auto
        && match target {
            S::Requested | S::Rejected => false,
            S::Cancelled => odd,
            _ => true,
        };
    if approval {
        t += rng.range(2 * 60, 30 * 60);
        steps.push((Step::Approve, t));
    }
    let mut push = |steps: &mut Vec<(Step, i64)>, step: Step, lo: i64, hi: i64| {
        t += rng.range(lo, hi);
        steps.push((step, t));
    };
    let back = (m.transit_hours.0 * 60, m.transit_hours.1 * 60);
    match target {
        S::Requested | S::Approved => {}
        S::Rejected => push(&mut steps, Step::Reject, 3 * 60, 30 * 60),
        S::Cancelled => push(&mut steps, Step::Cancel, 2 * 60, 48 * 60),
        S::Expired => push(
            &mut steps,
            Step::Expire,
            ship_by * 24 * 60 + 5,
            ship_by * 24 * 60 + 180,
        ),
        S::Resolved if keep => push(&mut steps, Step::Resolve, 60, 20 * 60),
        _ => {
            push(&mut steps, Step::Ship, 12 * 60, 72 * 60);
            if matches!(target, S::Received | S::Inspected | S::Resolved) {
                push(&mut steps, Step::Receive, back.0, back.1);
            }
            if matches!(target, S::Inspected | S::Resolved) {
                push(&mut steps, Step::Inspect, 3 * 60, 30 * 60);
            }
            if target == S::Resolved {
                push(&mut steps, Step::Resolve, 60, 24 * 60);
            }
        }
    }

    // When the last step happened, as minutes ago: queues hold recent work, and an
    // approved return is still inside its ship-by days (else the worker expires it).
    let recent = match target {
        S::Requested => Some((60 * 60, 60)),
        S::Approved if keep => Some((48 * 60, 60)),
        S::Approved => Some(((ship_by - 2).max(1) * 24 * 60, 60)),
        S::InTransit | S::Received => Some((40 * 60, 60)),
        S::Inspected => Some((30 * 60, 60)),
        _ => None,
    };
    let Some(delivered) = chosen.iter().filter_map(|(l, _, _)| l.delivered_at).max() else {
        return Ok(None);
    };
    let mut lo = delivered + hours(6);
    if target == S::Rejected && o.market != ID {
        // Past the 14-day EU withdrawal period: only then may the shop refuse.
        lo = lo.max(delivered + days(15));
    }
    let mut hi = (delivered + days(25)).min(now - minutes(60 + t));
    if let Some((from, to)) = recent {
        lo = lo.max(now - minutes(from + t));
        hi = hi.min(now - minutes(to + t));
    }
    if lo > hi {
        return Ok(None);
    }
    let opened = rng.between(lo, hi);

    // The shopper's request.
    let mut items = Vec::new();
    for (l, quantity, d) in &chosen {
        let resolution = if keep {
            Resolution::KeepItem
        } else {
            match choose_resolution(rng, reason, &d.resolutions, odd && target == S::Resolved) {
                Some(r) => r,
                None => return Ok(None),
            }
        };
        let photos =
            if d.require_photos || (reason == ReturnReason::NotAsDescribed && rng.chance(60)) {
                (1..=rng.range(1, 3))
                    .map(|k| format!("demo/photos/{}-{k}.jpg", l.id))
                    .collect()
            } else {
                Vec::new()
            };
        items.push(ItemRequest {
            line_id: l.id,
            quantity: *quantity,
            reason,
            comment: rng.chance(75).then(|| shopper_comment(m.locale, reason)),
            photos,
            resolution,
        });
    }
    let offered = &chosen[0].2.methods;
    let method = if keep {
        ReturnMethod::NoShipping
    } else if offered.contains(&ReturnMethod::CourierPickup) && rng.chance(30) {
        ReturnMethod::CourierPickup
    } else if offered.contains(&ReturnMethod::DropOff) {
        ReturnMethod::DropOff
    } else {
        offered[0]
    };
    clock.set(opened);
    let request = ReturnRequest {
        order_id: o.order,
        method,
        items,
    };
    let ret = match kembali_app::returns::open(app, tx, shop, &request, Actor::Shopper).await {
        Ok(view) => view.ret,
        // Refused before anything is written (e.g. the window closed that day).
        Err(AppError::Refused(_)) => return Ok(None),
        Err(AppError::Store(e)) => return Err(e),
        Err(e) => return Err(err(e)),
    };
    if (ret.status == S::Approved) != auto {
        return Err(err(format!(
            "{}: the policy did not approve it as predicted",
            ret.number
        )));
    }

    let agent = Actor::User { id: m.agent.into() };
    let warehouse = Actor::User {
        id: m.warehouse.into(),
    };
    let return_carrier = *rng.pick(m.carriers);
    let mut status = ret.status;
    for (step, offset) in steps {
        let at = opened + minutes(offset);
        let (cmd, actor) = match step {
            Step::Approve => (
                Command::Approve {
                    note: reason
                        .is_merchant_fault()
                        .then(|| "Photos checked: our fault, no fees.".into()),
                },
                agent.clone(),
            ),
            Step::Reject => (
                Command::Reject {
                    reason: rejection(m.locale, reason, risky),
                },
                agent.clone(),
            ),
            Step::Cancel if odd => (
                Command::Cancel {
                    reason: Some(
                        "Opened twice by mistake; the customer's other request covers it.".into(),
                    ),
                },
                agent.clone(),
            ),
            Step::Cancel => (
                Command::Cancel {
                    reason: Some(say(
                        m.locale,
                        "Tidak jadi retur, ternyata cocok.",
                        "Rezygnuję ze zwrotu, jednak zostawiam.",
                        "I've decided to keep it after all.",
                    )),
                },
                Actor::Shopper,
            ),
            Step::Ship => (
                Command::MarkInTransit {
                    carrier: Some(return_carrier.into()),
                    tracking_number: Some(tracking(rng, return_carrier)),
                },
                Actor::System,
            ),
            Step::Receive => {
                let wrong = odd && target == S::Received;
                (
                    Command::Receive {
                        items: ret
                            .items
                            .iter()
                            .enumerate()
                            .map(|(n, i)| ItemReceipt {
                                item_id: i.id,
                                outcome: if wrong && n == 0 {
                                    ReceiptOutcome::WrongItem
                                } else {
                                    ReceiptOutcome::Received
                                },
                                quantity: i.quantity,
                            })
                            .collect(),
                        note: wrong.then(|| {
                            "The parcel held a different product; asked the customer.".into()
                        }),
                    },
                    warehouse.clone(),
                )
            }
            Step::Inspect => {
                let graded = |reason: ReturnReason, rng: &mut Rng| match (odd, reason) {
                    (_, ReturnReason::Damaged) => (Condition::Damaged, Disposition::Dispose),
                    (_, ReturnReason::Defective) => {
                        (Condition::Damaged, Disposition::ReturnToVendor)
                    }
                    (true, _) => (Condition::Used, Disposition::Refurbish),
                    (false, _) if rng.chance(40) => (Condition::New, Disposition::Restock),
                    (false, _) => (Condition::LikeNew, Disposition::Restock),
                };
                (
                    Command::Inspect {
                        items: ret
                            .items
                            .iter()
                            .map(|i| {
                                let (condition, disposition) = graded(i.reason, rng);
                                ItemInspection {
                                    item_id: i.id,
                                    accepted_quantity: i.quantity,
                                    condition,
                                    disposition,
                                    note: (condition == Condition::Used)
                                        .then(|| "Worn, tags removed.".into()),
                                }
                            })
                            .collect(),
                        note: None,
                    },
                    warehouse.clone(),
                )
            }
            Step::Resolve if keep => (
                Command::Resolve {
                    items: Vec::new(),
                    note: Some("Kept by the customer: shipping it back costs more.".into()),
                },
                agent.clone(),
            ),
            Step::Resolve if odd => (
                Command::Resolve {
                    items: ret
                        .items
                        .iter()
                        .map(|i| ItemResolution {
                            item_id: i.id,
                            resolution: Resolution::StoreCredit,
                        })
                        .collect(),
                    note: Some("Signs of wear: store credit agreed with the customer.".into()),
                },
                agent.clone(),
            ),
            Step::Resolve => (
                Command::Resolve {
                    items: Vec::new(),
                    note: None,
                },
                agent.clone(),
            ),
            Step::Expire => (Command::Expire, Actor::System),
        };
        clock.set(at);
        let after = kembali_app::returns::transition(app, tx, shop.id, ret.id, None, &cmd, &actor)
            .await
            .map_err(|e| err(format!("{} {}: {e}", ret.number, cmd.name())))?;
        status = after.ret.status;
    }
    if status != target {
        return Err(err(format!(
            "{} ended {} instead of {}",
            ret.number,
            status.as_str(),
            target.as_str()
        )));
    }
    Ok(Some(status))
}

/// Seeds the demo shop unless a shop with slug `demo` exists (then `Ok(None)`).
pub async fn seed(db: &Db, now: Timestamp) -> Result<Option<DemoSummary>, StoreError> {
    {
        let mut conn = db.conn().await?;
        match shops::get_by_slug(&mut conn, "demo").await {
            Ok(_) => return Ok(None),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let mut rng = Rng(0x4B45_4D42_414C_4921);
    let opened_at = now - days(120);
    let shop = Shop {
        id: ShopId::new(opened_at, rng.entropy()),
        slug: "demo".into(),
        name: "Toko Kembali Demo".into(),
        currency: Currency::IDR,
        time_zone: "Asia/Jakarta".into(),
        default_locale: Locale::Id,
        country: Country::try_from("ID".to_owned()).map_err(err)?,
        return_prefix: "R-".into(),
    };
    shop.validate().map_err(err)?;
    let policy = demo_policy();
    policy.validate().map_err(err)?;
    let mut tx = db.begin().await?;
    match shops::create(&mut tx, &shop, &policy, opened_at).await {
        Ok(()) => {}
        // Another process seeded it meanwhile.
        Err(StoreError::Duplicate { .. }) => return Ok(None),
        Err(e) => return Err(e),
    }
    let key = shops::create_api_key(&mut tx, shop.id, "demo", now).await?;
    tx.commit().await?;

    // Orders, oldest first so their numbers grow with time.
    let people = customers(&mut rng)?;
    let plans = plans(&mut rng, &people, now);
    let mut known: HashMap<usize, CustomerId> = HashMap::new();
    let mut seeded = Vec::with_capacity(plans.len());
    let mut tx = db.begin().await?;
    for (n, plan) in plans.iter().enumerate() {
        let c = &people[plan.customer];
        let customer_id = match known.get(&plan.customer) {
            Some(id) => *id,
            None => {
                let locale = MARKETS[c.market].locale;
                let id = orders::ensure_customer(
                    &mut tx,
                    shop.id,
                    &c.email,
                    &c.name,
                    locale,
                    plan.placed,
                )
                .await?;
                known.insert(plan.customer, id);
                id
            }
        };
        let (order, shipments) =
            build_order(&mut rng, shop.id, 10_001 + n, plan, c, customer_id, now);
        order
            .validate(&shipments)
            .map_err(|e| err(format!("order {} is invalid: {e}", order.number)))?;
        let origin = kembali_store::orders::Origin {
            source: kembali_app::orders::API_SOURCE.to_owned(),
            external_id: order.number.clone(),
            updated_at: None,
        };
        orders::insert(&mut tx, &order, &shipments, &origin, plan.placed).await?;
        seeded.push(Seeded {
            order: order.id,
            market: c.market,
            cod: order.payment_method == PaymentMethod::CashOnDelivery,
            risky: c.risky,
            lines: order
                .lines
                .iter()
                .map(|l| SeededLine {
                    id: l.id,
                    quantity: l.quantity,
                    cheap: l.unit_price.amount <= KEEP_BELOW[c.market],
                    delivered_at: LineDelivery::of(l.id, &shipments).delivered_at,
                })
                .collect(),
        });
        if n % BATCH == BATCH - 1 {
            tx.commit().await?;
            tx = db.begin().await?;
        }
    }
    tx.commit().await?;

    // Returns, each told through the real lifecycle, in one transaction.
    let mut order_index: Vec<usize> = (0..seeded.len()).collect();
    rng.shuffle(&mut order_index);
    let mut used = vec![false; seeded.len()];
    let mut counts = [0usize; ReturnStatus::ALL.len()];
    // The stories happen in the past: the application runs on a clock the
    // seed sets to each step's moment.
    let clock = std::sync::Arc::new(ManualClock::new(now));
    let app = App::with(
        db.clone(),
        clock.clone(),
        std::sync::Arc::new(kembali_store::OsEntropy),
    );
    let mut tx = db.begin().await?;
    for &story in STORIES {
        let (_, market, _, flags) = story;
        for &i in &order_index {
            let o = &seeded[i];
            let fits = !used[i]
                && o.market == market
                && o.risky == (flags & RISKY != 0)
                && (flags & COD == 0 || o.cod)
                && o.lines.iter().any(|l| {
                    l.cheap == (flags & KEEP != 0)
                        && l.delivered_at
                            .is_some_and(|d| d > now - days(26) && d < now - hours(7))
                });
            if !fits {
                continue;
            }
            if let Some(status) =
                tell(&app, &clock, &mut tx, &mut rng, &shop, o, story, now).await?
            {
                used[i] = true;
                if let Some(k) = ReturnStatus::ALL.iter().position(|s| *s == status) {
                    counts[k] += 1;
                }
                break;
            }
        }
    }
    tx.commit().await?;

    // A recent Polish order with several lines and no return: the EU withdrawal
    // right, a final-sale line or a keep-the-item line make its eligibility telling.
    let recent = |i: usize| {
        let o = &seeded[i];
        !used[i]
            && !o.risky
            && o.lines.iter().all(|l| {
                l.delivered_at
                    .is_some_and(|d| d > now - days(10) && d < now - days(1))
            })
    };
    let sample_order = (0..seeded.len())
        .rev()
        .find(|&i| seeded[i].market == PL && seeded[i].lines.len() >= 2 && recent(i))
        .or_else(|| (0..seeded.len()).rev().find(|&i| recent(i)))
        .map(|i| seeded[i].order);
    Ok(Some(DemoSummary {
        shop,
        orders: seeded.len(),
        sample_order,
        returns_by_status: ReturnStatus::ALL.iter().copied().zip(counts).collect(),
        api_key: key.secret,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn strings(db: &Db, sql: &'static str) -> Vec<String> {
        let mut conn = db.conn().await.expect("conn");
        kembali_store::run!(&mut conn, |c| sqlx::query_scalar(sql)
            .fetch_all(&mut *c)
            .await)
        .expect(sql)
    }

    async fn count(db: &Db, sql: &'static str) -> i64 {
        let mut conn = db.conn().await.expect("conn");
        kembali_store::run!(&mut conn, |c| sqlx::query_scalar(sql)
            .fetch_one(&mut *c)
            .await)
        .expect(sql)
    }

    #[tokio::test]
    async fn seeds_a_realistic_shop_once() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("d.db").display());
        let db = Db::connect(&kembali_store::ConnectOptions::new(url))
            .await
            .expect("db");
        kembali_store::migrate::migrate(&db).await.expect("migrate");
        let now = Timestamp::now();
        let started = std::time::Instant::now();
        let summary = seed(&db, now).await.expect("seed").expect("first seed");
        eprintln!("demo seeded in {:?}", started.elapsed());
        assert!(summary.orders >= 300);
        assert!(summary.api_key.starts_with("kb_"));
        assert!(summary.sample_order.is_some());
        assert_eq!(summary.returns_by_status.len(), ReturnStatus::ALL.len());
        for (status, n) in &summary.returns_by_status {
            assert!(*n >= 5, "only {n} returns {}", status.as_str());
        }

        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM orders").await,
            summary.orders as i64
        );
        assert_eq!(
            strings(
                &db,
                "SELECT DISTINCT currency FROM orders ORDER BY currency"
            )
            .await,
            ["EUR", "IDR", "PLN"]
        );
        assert_eq!(
            strings(&db, "SELECT DISTINCT locale FROM customers ORDER BY locale").await,
            ["en", "id", "pl"]
        );
        let payments = strings(&db, "SELECT DISTINCT payment_method FROM orders").await;
        for p in ["cash_on_delivery", "card", "e_wallet", "bank_transfer"] {
            assert!(
                payments.iter().any(|m| m == p),
                "no {p} order: {payments:?}"
            );
        }
        let parcels = strings(&db, "SELECT DISTINCT status FROM shipments").await;
        for s in ["delivered", "in_transit", "returned_to_sender"] {
            assert!(
                parcels.iter().any(|p| p == s),
                "no {s} shipment: {parcels:?}"
            );
        }
        // Repeat customers, order numbers in time order.
        assert!(count(&db, "SELECT COUNT(*) FROM customers").await < 200);
        let numbers = strings(&db, "SELECT number FROM orders ORDER BY placed_at, number").await;
        let mut sorted = numbers.clone();
        sorted.sort();
        assert_eq!(numbers, sorted);

        // The stored returns: every state, the stories that matter.
        let stored = strings(&db, "SELECT DISTINCT status FROM returns").await;
        for s in ReturnStatus::ALL {
            assert!(
                stored.iter().any(|x| x == s.as_str()),
                "no {} return",
                s.as_str()
            );
        }
        assert!(
            count(
                &db,
                "SELECT COUNT(*) FROM returns r JOIN return_items i ON i.return_id = r.id
                  WHERE r.status = 'resolved' AND i.resolution = 'keep_item'"
            )
            .await
                >= 2,
            "keep-the-item returns resolved from approved"
        );
        assert!(
            count(
                &db,
                "SELECT COUNT(*) FROM returns r JOIN orders o ON o.id = r.order_id
                  WHERE o.payment_method = 'cash_on_delivery'"
            )
            .await
                >= 5,
            "cash-on-delivery returns"
        );
        assert!(
            count(&db, "SELECT COUNT(*) FROM returns WHERE risk <> '[]'").await >= 2,
            "returns flagged for review"
        );
        let reasons = strings(&db, "SELECT DISTINCT reason FROM return_items").await;
        assert!(reasons.len() >= 6, "{reasons:?}");
        let resolutions = strings(&db, "SELECT DISTINCT resolution FROM return_items").await;
        assert!(
            resolutions.len() >= 4 && resolutions.iter().any(|r| r == "keep_item"),
            "{resolutions:?}"
        );
        // Nothing happens in the future, and timelines run forward.
        let now_ms = now.as_millisecond();
        let mut conn = db.conn().await.expect("conn");
        let late: i64 = kembali_store::run!(&mut conn, |c| sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM return_events WHERE at > $1)
                  + (SELECT COUNT(*) FROM shipments WHERE delivered_at > $1 OR shipped_at > $1)
                  + (SELECT COUNT(*) FROM orders WHERE placed_at > $1)"
        )
        .bind(now_ms)
        .fetch_one(&mut *c)
        .await)
        .expect("future");
        assert_eq!(late, 0);
        drop(conn);
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM return_events a JOIN return_events b
                  ON b.return_id = a.return_id AND b.seq = a.seq + 1 WHERE b.at < a.at"
            )
            .await,
            0
        );
        // Approved returns are still inside their ship-by days: none due to expire yet.
        let mut conn = db.conn().await.expect("conn");
        let due: i64 = kembali_store::run!(&mut conn, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM returns r
              WHERE r.status = 'approved' AND r.method <> 'no_shipping'
                AND r.updated_at < $1"
        )
        .bind(now_ms - 10 * 24 * 3_600_000)
        .fetch_one(&mut *c)
        .await)
        .expect("due");
        assert_eq!(due, 0);
        drop(conn);

        let returns = count(&db, "SELECT COUNT(*) FROM returns").await;
        assert!(seed(&db, Timestamp::now()).await.expect("again").is_none());
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM orders").await,
            summary.orders as i64,
            "a second seed adds nothing"
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM returns").await, returns);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM shops").await, 1);
    }
}
