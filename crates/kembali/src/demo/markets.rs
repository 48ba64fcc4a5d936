//! The three markets the demo shop sells to: their towns, names, carriers and
//! delivery habits, their VAT, and how their carriers' tracking numbers look.

use kembali_core::Currency;
use kembali_core::shop::Locale;

use super::rng::Rng;

/// Indonesia.
pub(super) const ID: usize = 0;
/// Poland.
pub(super) const PL: usize = 1;
/// English-speaking shoppers in the EU (Ireland, Malta) and the Netherlands.
pub(super) const EU: usize = 2;

/// A town and one of its streets; `{}` in the street is the house number.
pub(super) struct Place {
    pub(super) country: &'static str,
    pub(super) city: &'static str,
    pub(super) postal: &'static str,
    pub(super) street: &'static str,
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

pub(super) struct Market {
    pub(super) currency: Currency,
    pub(super) locale: Locale,
    pub(super) places: &'static [Place],
    /// First names, and whether they are a woman's (Polish surnames follow it).
    pub(super) first: &'static [(&'static str, bool)],
    /// Surnames in their men's and women's forms.
    pub(super) last: &'static [(&'static str, &'static str)],
    pub(super) carriers: &'static [&'static str],
    /// A reserved domain (RFC 2606): the demo never mails a real person.
    pub(super) email_domain: &'static str,
    /// Percent of orders paid cash on delivery.
    pub(super) cod: u64,
    /// Standard delivery, and the order value from which it is free (minor units).
    pub(super) shipping: i64,
    pub(super) free_from: i64,
    /// Delivery promised at checkout, in days after the order.
    pub(super) promise_days: i64,
    /// Hours from the first scan to the door, outbound and back to the warehouse.
    pub(super) transit_hours: (i64, i64),
    /// Who works the market's returns at the desk and in the warehouse.
    pub(super) agent: &'static str,
    pub(super) warehouse: &'static str,
}

#[rustfmt::skip]
pub(super) const MARKETS: [Market; 3] = [
    Market {
        currency: Currency::IDR, locale: Locale::Id, email_domain: "example.com",
        cod: 65, shipping: 1_800_000, free_from: 50_000_000, promise_days: 5, transit_hours: (24, 110),
        carriers: &["JNE", "J&T Express", "SiCepat"], agent: "agent-dewi", warehouse: "warehouse-cikarang",
        places: INDONESIA, first: INDONESIAN_FIRST, last: INDONESIAN_LAST,
    },
    Market {
        currency: Currency::PLN, locale: Locale::Pl, email_domain: "example.net",
        cod: 15, shipping: 1_499, free_from: 24_900, promise_days: 3, transit_hours: (18, 50),
        carriers: &["InPost", "DPD Polska", "Poczta Polska"], agent: "agent-kasia", warehouse: "warehouse-strykow",
        places: POLAND, first: POLISH_FIRST, last: POLISH_LAST,
    },
    Market {
        currency: Currency::EUR, locale: Locale::En, email_domain: "example.org",
        cod: 0, shipping: 695, free_from: 10_000, promise_days: 5, transit_hours: (36, 110),
        carriers: &["DHL", "GLS"], agent: "agent-sean", warehouse: "warehouse-dublin",
        places: EUROPE, first: ENGLISH_FIRST, last: ENGLISH_LAST,
    },
];

#[rustfmt::skip]
const INDONESIA: &[Place] = &[
    place("ID", "Jakarta Selatan", "12190", "Jl. Jenderal Sudirman No. {}"),
    place("ID", "Jakarta Barat", "11470", "Jl. Tanjung Duren Raya No. {}"),
    place("ID", "Bandung", "40135", "Jl. Ir. H. Juanda No. {}"),
    place("ID", "Surabaya", "60264", "Jl. Raya Darmo No. {}"),
    place("ID", "Yogyakarta", "55281", "Jl. Kaliurang Km 5 No. {}"),
    place("ID", "Medan", "20112", "Jl. Gatot Subroto No. {}"),
    place("ID", "Denpasar", "80113", "Jl. Teuku Umar No. {}"),
    place("ID", "Semarang", "50241", "Jl. Pandanaran No. {}"),
    place("ID", "Makassar", "90111", "Jl. Somba Opu No. {}"),
];

#[rustfmt::skip]
const INDONESIAN_FIRST: &[(&str, bool)] = &[
    ("Budi", false), ("Siti", true), ("Agus", false), ("Dewi", true), ("Rizky", false), ("Putri", true), ("Andi", false),
    ("Nur", true), ("Fajar", false), ("Ayu", true), ("Hendra", false), ("Rina", true), ("Wahyu", false), ("Indah", true),
];

#[rustfmt::skip]
const INDONESIAN_LAST: &[(&str, &str)] = &[
    ("Santoso", "Santoso"), ("Wijaya", "Wijaya"), ("Hidayat", "Hidayat"), ("Saputra", "Saputri"), ("Kusuma", "Kusuma"),
    ("Pratama", "Pratiwi"), ("Nasution", "Nasution"), ("Siregar", "Siregar"), ("Setiawan", "Setiawati"), ("Gunawan", "Gunawan"),
];

#[rustfmt::skip]
const POLAND: &[Place] = &[
    place("PL", "Warszawa", "00-695", "ul. Marszałkowska {}"),
    place("PL", "Warszawa", "02-516", "ul. Puławska {}"),
    place("PL", "Kraków", "31-042", "ul. Floriańska {}"),
    place("PL", "Gdańsk", "80-831", "ul. Długa {}"),
    place("PL", "Wrocław", "50-077", "ul. Świdnicka {}"),
    place("PL", "Poznań", "61-888", "ul. Półwiejska {}"),
    place("PL", "Łódź", "90-135", "ul. Piotrkowska {}"),
    place("PL", "Lublin", "20-076", "ul. Krakowskie Przedmieście {}"),
];

#[rustfmt::skip]
const POLISH_FIRST: &[(&str, bool)] = &[
    ("Anna", true), ("Piotr", false), ("Katarzyna", true), ("Tomasz", false), ("Magdalena", true), ("Paweł", false),
    ("Agnieszka", true), ("Michał", false), ("Joanna", true), ("Krzysztof", false), ("Zofia", true), ("Jakub", false),
];

#[rustfmt::skip]
const POLISH_LAST: &[(&str, &str)] = &[
    ("Nowak", "Nowak"), ("Kowalski", "Kowalska"), ("Wiśniewski", "Wiśniewska"), ("Wójcik", "Wójcik"),
    ("Kamiński", "Kamińska"), ("Lewandowski", "Lewandowska"), ("Zieliński", "Zielińska"),
    ("Szymański", "Szymańska"), ("Dąbrowski", "Dąbrowska"), ("Mazur", "Mazur"),
];

#[rustfmt::skip]
const EUROPE: &[Place] = &[
    place("IE", "Dublin", "D02 X285", "{} Grafton Street"),
    place("IE", "Dublin", "D08 E1W3", "{} Thomas Street"),
    place("IE", "Cork", "T12 RX2Y", "{} Oliver Plunkett Street"),
    place("IE", "Galway", "H91 TK33", "{} Shop Street"),
    place("MT", "Valletta", "VLT 1117", "{} Republic Street"),
    place("MT", "Sliema", "SLM 1549", "{} Tower Road"),
    place("NL", "Amsterdam", "1016 DK", "Prinsengracht {}"),
    place("NL", "Utrecht", "3511 LN", "Oudegracht {}"),
];

#[rustfmt::skip]
const ENGLISH_FIRST: &[(&str, bool)] = &[
    ("Emma", true), ("Liam", false), ("Olivia", true), ("Noah", false), ("Sophie", true), ("James", false), ("Grace", true),
    ("Jack", false), ("Chloe", true), ("Daniel", false), ("Aoife", true), ("Conor", false),
];

#[rustfmt::skip]
const ENGLISH_LAST: &[(&str, &str)] = &[
    ("Murphy", "Murphy"), ("Kelly", "Kelly"), ("Walsh", "Walsh"), ("Byrne", "Byrne"), ("O'Brien", "O'Brien"),
    ("Ryan", "Ryan"), ("Camilleri", "Camilleri"), ("Borg", "Borg"), ("Vella", "Vella"), ("Taylor", "Taylor"),
];

/// VAT in basis points by destination; the prices include it.
pub(super) fn vat_bps(country: &str) -> i64 {
    match country {
        "ID" => 1_100, // PPN
        "PL" | "IE" => 2_300,
        "NL" => 2_100,
        "MT" => 1_800,
        _ => 2_000,
    }
}

/// A tracking number shaped like the carrier's.
pub(super) fn tracking(rng: &mut Rng, carrier: &str) -> String {
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
