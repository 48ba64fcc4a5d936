//! The statutory calendar: working days and public holidays of the shop's country
//! (Poland computed for any year, Indonesia's national days partly computed and
//! partly from the shop's own yearly table), and the rule that a statutory period
//! ending on a day off ends with the next working day.

use jiff::ToSpan;
use jiff::civil::{Date, Weekday, date};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A day off the shop adds to its country's calendar (Indonesia's lunar and
/// regional holidays, a collective leave day), with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    #[serde(default)]
    pub name: Option<String>,
}

/// Easter Sunday of `year` in the Gregorian calendar (the anonymous Gregorian
/// computus, Meeus/Jones/Butcher).
pub fn easter(year: i16) -> Date {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // month is 3 or 4 and day 1..=31 by construction.
    Date::new(year, month as i8, day as i8).unwrap_or(date(year, 4, 1))
}

fn plus(d: Date, days: i64) -> Date {
    d.checked_add(days.days()).unwrap_or(d)
}

/// Poland's statutory days off (ustawa o dniach wolnych od pracy): the fixed days,
/// Easter Sunday and Monday, Pentecost Sunday and Corpus Christi, and Christmas
/// Eve from 2025 on.
pub fn polish_holidays(year: i16) -> Vec<Date> {
    let e = easter(year);
    let mut out = vec![
        date(year, 1, 1),
        date(year, 1, 6),
        e,
        plus(e, 1),
        date(year, 5, 1),
        date(year, 5, 3),
        plus(e, 49),
        plus(e, 60),
        date(year, 8, 15),
        date(year, 11, 1),
        date(year, 11, 11),
        date(year, 12, 25),
        date(year, 12, 26),
    ];
    if year >= 2025 {
        out.push(date(year, 12, 24));
    }
    out.sort();
    out
}

/// Indonesia's national days that follow the Gregorian calendar: New Year, Good
/// Friday, Easter Sunday, Labour Day, the Ascension, Pancasila Day, Independence
/// Day and Christmas. The lunar, Hindu, Buddhist and Chinese holidays (Idul Fitri,
/// Idul Adha, Nyepi, Waisak, Imlek, Isra Mi'raj, Maulid, Islamic New Year) move
/// every year by government decree: the shop enters them in the policy's
/// `calendar.holidays` table.
pub fn indonesian_fixed_holidays(year: i16) -> Vec<Date> {
    let e = easter(year);
    let mut out = vec![
        date(year, 1, 1),
        plus(e, -2),
        e,
        date(year, 5, 1),
        plus(e, 39),
        date(year, 6, 1),
        date(year, 8, 17),
        date(year, 12, 25),
    ];
    out.sort();
    out
}

/// The calendar of one shop: its country's public holidays plus its own table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopCalendar<'a> {
    pub country: &'a str,
    pub extra: &'a [Holiday],
}

impl ShopCalendar<'_> {
    pub fn is_holiday(&self, d: Date) -> bool {
        if self.extra.iter().any(|h| h.date == d) {
            return true;
        }
        let y = d.year();
        if self.country.eq_ignore_ascii_case("PL") {
            polish_holidays(y).contains(&d)
        } else if self.country.eq_ignore_ascii_case("ID") {
            indonesian_fixed_holidays(y).contains(&d)
        } else {
            false
        }
    }

    /// Not a Saturday, a Sunday or a public holiday.
    pub fn is_working_day(&self, d: Date) -> bool {
        !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) && !self.is_holiday(d)
    }

    /// `last` if it is a working day, else the next working day (EU Regulation
    /// 1182/71, art. 3(4); in Poland art. 115 of the Civil Code).
    pub fn next_working_day(&self, last: Date) -> Date {
        let mut d = last;
        // A year always has working days; the bound only guards against a table
        // that marks every day off.
        for _ in 0..400 {
            if self.is_working_day(d) {
                return d;
            }
            match d.checked_add(1.day()) {
                Ok(n) => d = n,
                Err(_) => return d,
            }
        }
        d
    }

    /// Working days after `from` up to and including `to` (0 when `to <= from`).
    pub fn working_days_between(&self, from: Date, to: Date) -> i64 {
        let mut n = 0;
        let mut d = from;
        // Bounded: conditions only ask about recent deliveries.
        for _ in 0..3660 {
            if d >= to {
                break;
            }
            match d.checked_add(1.day()) {
                Ok(next) => d = next,
                Err(_) => break,
            }
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easter_dates() {
        for (y, m, d) in [
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter(y), date(y, m, d), "{y}");
        }
    }

    #[test]
    fn polish_movable_feasts() {
        let h = polish_holidays(2026);
        // Easter 5 April: Monday 6 April, Pentecost 24 May, Corpus Christi 4 June.
        for d in [date(2026, 4, 6), date(2026, 5, 24), date(2026, 6, 4)] {
            assert!(h.contains(&d), "{d}");
        }
        assert!(h.contains(&date(2026, 12, 24)));
        assert!(!polish_holidays(2024).contains(&date(2024, 12, 24)));
        assert_eq!(h.len(), 14);
    }
}
