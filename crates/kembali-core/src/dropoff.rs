//! Drop-off points (parcel lockers, courier agents, shops) where a shopper hands
//! in a return: their weekly opening hours in a short text form, and the
//! distance between two places on the globe.
//!
//! Opening hours are written as rules separated by `;`. A rule names days
//! (`Mo Tu We Th Fr Sa Su`, a range `Mo-Fr`, a list `Mo,We,Fr`) and then either
//! one or more time ranges `HH:MM-HH:MM` separated by `,`, or `off`. `24/7`
//! alone means always open. Days no rule names are closed; a day may be named
//! by one rule only. A range ends after it starts on the same day (`24:00`
//! closes at midnight); a range past midnight is written as two, one per day.
//! Example: `Mo-Fr 08:00-20:00; Sa 09:00-15:00; Su off`.

use jiff::civil::{Time, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The drop-off point a return is handed in at: a shop's points are keyed by
/// the carrier and the carrier's own id of the point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointRef {
    #[schema(example = "inpost")]
    pub carrier: String,
    /// The carrier's own id of the point.
    #[schema(example = "WAW01M")]
    pub id: String,
}

/// The days in the order the text form and the API list them.
const DAYS: [(&str, Weekday); 7] = [
    ("Mo", Weekday::Monday),
    ("Tu", Weekday::Tuesday),
    ("We", Weekday::Wednesday),
    ("Th", Weekday::Thursday),
    ("Fr", Weekday::Friday),
    ("Sa", Weekday::Saturday),
    ("Su", Weekday::Sunday),
];

/// Minutes since midnight; `1440` is the midnight that ends a day.
type Minute = u16;

/// A week of opening hours: for each day from Monday, the ranges it is open,
/// sorted and not overlapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningHours {
    days: [Vec<(Minute, Minute)>; 7],
}

/// Why an opening-hours text is refused; the message names the part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("is empty; write e.g. `Mo-Fr 08:00-20:00; Sa 09:00-15:00`, or `24/7`")]
    Empty,
    #[error("`{0}` is not a day or range of days (Mo, Tu, We, Th, Fr, Sa, Su; e.g. Mo-Fr)")]
    Days(String),
    #[error("`{0}` names no hours; add e.g. `08:00-20:00`, or `off`")]
    NoHours(String),
    #[error("`{0}` is not a time range HH:MM-HH:MM that ends after it starts")]
    Range(String),
    #[error("{0} is named by two rules; name each day once")]
    Twice(&'static str),
    #[error("`{0}` has overlapping time ranges")]
    Overlap(String),
}

impl OpeningHours {
    /// Always open.
    pub fn always() -> OpeningHours {
        OpeningHours {
            days: std::array::from_fn(|_| vec![(0, 1440)]),
        }
    }

    pub fn parse(text: &str) -> Result<OpeningHours, HoursError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(HoursError::Empty);
        }
        if text == "24/7" {
            return Ok(OpeningHours::always());
        }
        let mut days: [Option<Vec<(Minute, Minute)>>; 7] = Default::default();
        for rule in text.split(';').map(str::trim).filter(|r| !r.is_empty()) {
            let (names, hours) = match rule.split_once(char::is_whitespace) {
                Some((n, h)) => (n, h.trim()),
                None => return Err(HoursError::NoHours(rule.to_owned())),
            };
            let which = parse_days(names)?;
            let mut ranges = Vec::new();
            if !hours.eq_ignore_ascii_case("off") {
                for r in hours.split(',').map(str::trim) {
                    ranges.push(parse_range(r).ok_or_else(|| HoursError::Range(r.to_owned()))?);
                }
                ranges.sort_unstable();
                if ranges.windows(2).any(|w| w[1].0 < w[0].1) {
                    return Err(HoursError::Overlap(hours.to_owned()));
                }
            }
            for d in which {
                if days[d].is_some() {
                    return Err(HoursError::Twice(DAYS[d].0));
                }
                days[d] = Some(ranges.clone());
            }
        }
        if days.iter().all(Option::is_none) {
            return Err(HoursError::Empty);
        }
        Ok(OpeningHours {
            days: days.map(Option::unwrap_or_default),
        })
    }

    /// Whether the point is open on `day` at `time` (local to the point).
    pub fn is_open(&self, day: Weekday, time: Time) -> bool {
        let minute = (time.hour() as u16) * 60 + time.minute() as u16;
        let index = usize::from(day.to_monday_zero_offset().unsigned_abs());
        self.days[index]
            .iter()
            .any(|(from, to)| *from <= minute && minute < *to)
    }

    /// The week day by day from Monday, as the API shows it.
    pub fn week(&self) -> Vec<DayHours> {
        DAYS.iter()
            .zip(&self.days)
            .map(|((name, _), ranges)| DayHours {
                day: name,
                open: ranges
                    .iter()
                    .map(|(f, t)| format!("{}-{}", clock(*f), clock(*t)))
                    .collect(),
            })
            .collect()
    }

    /// The canonical text form: days with the same hours joined into ranges,
    /// closed days left out (`Mo-Fr 08:00-20:00; Sa 09:00-15:00`).
    pub fn text(&self) -> String {
        if *self == OpeningHours::always() {
            return "24/7".into();
        }
        let mut rules = Vec::new();
        let mut d = 0;
        while d < 7 {
            let mut end = d;
            while end + 1 < 7 && self.days[end + 1] == self.days[d] {
                end += 1;
            }
            if !self.days[d].is_empty() {
                let names = if end == d {
                    DAYS[d].0.to_owned()
                } else {
                    format!("{}-{}", DAYS[d].0, DAYS[end].0)
                };
                let hours: Vec<String> = self.days[d]
                    .iter()
                    .map(|(f, t)| format!("{}-{}", clock(*f), clock(*t)))
                    .collect();
                rules.push(format!("{names} {}", hours.join(",")));
            }
            d = end + 1;
        }
        if rules.is_empty() {
            "off".into()
        } else {
            rules.join("; ")
        }
    }
}

/// One day's opening hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DayHours {
    /// `Mo` … `Su`.
    #[schema(example = "Mo")]
    pub day: &'static str,
    /// The ranges it is open (`08:00-20:00`); empty when closed.
    pub open: Vec<String>,
}

fn clock(m: Minute) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn day_index(name: &str) -> Option<usize> {
    DAYS.iter()
        .position(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
}

/// `Mo-Fr`, `Sa`, `Mo,We,Fr-Su` as day indexes (Monday = 0).
fn parse_days(names: &str) -> Result<Vec<usize>, HoursError> {
    let bad = || HoursError::Days(names.to_owned());
    let mut out = Vec::new();
    for part in names.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day_index(a).ok_or_else(bad)?, day_index(b).ok_or_else(bad)?);
                if b < a {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(day_index(part).ok_or_else(bad)?),
        }
    }
    Ok(out)
}

/// `08:00-20:00` as minutes; `None` unless it ends after it starts.
fn parse_range(r: &str) -> Option<(Minute, Minute)> {
    let (a, b) = r.split_once('-')?;
    let (a, b) = (parse_time(a)?, parse_time(b)?);
    (a < b && a < 1440).then_some((a, b))
}

fn parse_time(t: &str) -> Option<Minute> {
    let (h, m) = t.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// A point on the globe in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

/// Why coordinates are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CoordinatesError {
    #[error("latitude must be a number from -90 to 90")]
    Latitude,
    #[error("longitude must be a number from -180 to 180")]
    Longitude,
}

/// The mean Earth radius (IUGG), in metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl Coordinates {
    pub fn new(latitude: f64, longitude: f64) -> Result<Coordinates, CoordinatesError> {
        if !(-90.0..=90.0).contains(&latitude) {
            return Err(CoordinatesError::Latitude);
        }
        if !(-180.0..=180.0).contains(&longitude) {
            return Err(CoordinatesError::Longitude);
        }
        Ok(Coordinates {
            latitude,
            longitude,
        })
    }

    /// Millionths of a degree (about 0.1 m), as the store keeps them.
    pub fn micro(self) -> (i64, i64) {
        (
            (self.latitude * 1e6).round() as i64,
            (self.longitude * 1e6).round() as i64,
        )
    }

    pub fn from_micro(latitude: i64, longitude: i64) -> Coordinates {
        Coordinates {
            latitude: latitude as f64 / 1e6,
            longitude: longitude as f64 / 1e6,
        }
    }

    /// The great-circle distance in metres (haversine).
    pub fn distance_m(self, other: Coordinates) -> f64 {
        let (p1, p2) = (self.latitude.to_radians(), other.latitude.to_radians());
        let dp = p2 - p1;
        let dl = (other.longitude - self.longitude).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }
}

/// A postal code as compared: letters and digits only, upper case
/// (`00-950` → `00950`, `sw1a 1aa` → `SW1A1AA`).
pub fn postal_key(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i8, m: i8) -> Time {
        Time::constant(h, m, 0, 0)
    }

    #[test]
    fn hours_parse_and_answer_open_or_closed() {
        let h = OpeningHours::parse("Mo-Fr 08:00-20:00; Sa 09:00-15:00; Su off").unwrap();
        assert!(h.is_open(Weekday::Monday, t(8, 0)));
        assert!(h.is_open(Weekday::Friday, t(19, 59)));
        assert!(!h.is_open(Weekday::Friday, t(20, 0)));
        assert!(!h.is_open(Weekday::Tuesday, t(7, 59)));
        assert!(h.is_open(Weekday::Saturday, t(14, 0)));
        assert!(!h.is_open(Weekday::Sunday, t(12, 0)));
        assert_eq!(h.text(), "Mo-Fr 08:00-20:00; Sa 09:00-15:00");
        assert_eq!(OpeningHours::parse(&h.text()).unwrap(), h);
    }

    #[test]
    fn split_days_lists_and_midnight() {
        let h = OpeningHours::parse("mo,we,fr 08:00-12:00, 13:00-24:00").unwrap();
        assert!(h.is_open(Weekday::Wednesday, t(23, 59)));
        assert!(!h.is_open(Weekday::Wednesday, t(12, 30)));
        assert!(!h.is_open(Weekday::Tuesday, t(9, 0)));
        assert_eq!(
            h.text(),
            "Mo 08:00-12:00,13:00-24:00; We 08:00-12:00,13:00-24:00; Fr 08:00-12:00,13:00-24:00"
        );
        let always = OpeningHours::parse("24/7").unwrap();
        assert!(always.is_open(Weekday::Sunday, t(3, 0)));
        assert_eq!(always.text(), "24/7");
        let canonical = OpeningHours::parse("mo,tu,we,th,fr 8:00-20:00; su off").unwrap();
        assert_eq!(canonical.text(), "Mo-Fr 08:00-20:00");
    }

    #[test]
    fn bad_hours_are_refused_with_the_part() {
        assert_eq!(OpeningHours::parse(" "), Err(HoursError::Empty));
        assert!(matches!(
            OpeningHours::parse("Mo-Xx 08:00-20:00"),
            Err(HoursError::Days(_))
        ));
        assert!(matches!(
            OpeningHours::parse("Fr-Mo 08:00-20:00"),
            Err(HoursError::Days(_))
        ));
        assert!(matches!(
            OpeningHours::parse("Mo 20:00-08:00"),
            Err(HoursError::Range(_))
        ));
        assert!(matches!(
            OpeningHours::parse("Mo 8-20"),
            Err(HoursError::Range(_))
        ));
        assert!(matches!(
            OpeningHours::parse("Mo 08:00-25:00"),
            Err(HoursError::Range(_))
        ));
        assert!(matches!(
            OpeningHours::parse("Mo"),
            Err(HoursError::NoHours(_))
        ));
        assert_eq!(
            OpeningHours::parse("Mo-Fr 08:00-20:00; Fr 09:00-10:00"),
            Err(HoursError::Twice("Fr"))
        );
        assert!(matches!(
            OpeningHours::parse("Mo 08:00-12:00,11:00-13:00"),
            Err(HoursError::Overlap(_))
        ));
    }

    #[test]
    fn haversine_matches_known_distances() {
        // Warsaw's Palace of Culture to Kraków's Main Square: about 252 km.
        let warsaw = Coordinates::new(52.231_8, 21.006_0).unwrap();
        let krakow = Coordinates::new(50.061_7, 19.937_3).unwrap();
        let d = warsaw.distance_m(krakow);
        assert!((250_000.0..254_000.0).contains(&d), "{d}");
        assert_eq!(warsaw.distance_m(warsaw), 0.0);
        assert!(Coordinates::new(91.0, 0.0).is_err());
        assert!(Coordinates::new(0.0, -180.5).is_err());
        assert_eq!(Coordinates::from_micro(52_231_800, 21_006_000), warsaw);
    }

    #[test]
    fn postal_keys_compare_letters_and_digits() {
        assert_eq!(postal_key("00-950"), "00950");
        assert_eq!(postal_key(" sw1a 1aa"), "SW1A1AA");
    }
}
