//! Drop-off points: imported from a carrier's CSV file (docs/SHIPPING.md lists
//! the columns), and the nearest ones to a shopper by postal code or location,
//! with their opening hours and whether they are open now.
//!
//! An import runs in the caller's transaction and is all or nothing: a file
//! with any bad row is refused with every bad row and its line, and the caller
//! rolls back. A point already imported (the same carrier and id) is updated in
//! place, so importing a file again adds nothing.

use std::collections::HashMap;

use kembali_core::dropoff::{Coordinates, DayHours, OpeningHours, postal_key};
use kembali_core::shop::{Country, Shop};
use kembali_core::text::{self, Form};
use kembali_store::Tx;
use kembali_store::dropoff::{self as store, Point};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Rule;
use crate::{App, AppError};

/// The columns a file may have; those in [`REQUIRED`] it must have.
pub const COLUMNS: [&str; 11] = [
    "carrier",
    "id",
    "name",
    "kind",
    "address",
    "city",
    "postal_code",
    "country",
    "latitude",
    "longitude",
    "opening_hours",
];

pub const REQUIRED: [&str; 8] = [
    "carrier",
    "id",
    "name",
    "address",
    "postal_code",
    "latitude",
    "longitude",
    "opening_hours",
];

/// What a point is, when the file says.
pub const KINDS: [&str; 4] = ["locker", "agent", "shop", "post_office"];

/// At most this many bad rows are listed; `bad_rows_total` counts them all.
pub const MAX_REPORTED: usize = 1_000;
/// The most points [`nearest`] answers.
pub const MAX_NEAREST: usize = 50;
/// Searched outwards through these radii (metres) until enough points are found;
/// the last covers the globe.
const RADII_M: [f64; 6] = [2_000.0, 10_000.0, 50_000.0, 250_000.0, 1_000_000.0, 2.1e7];
/// Points read per postal-code prefix to find where a postal code is.
const POSTAL_SAMPLE: i64 = 200;

const MAX_CARRIER: usize = 64;
const MAX_POINT_ID: usize = 64;
const MAX_TEXT: usize = 255;
const MAX_POSTAL_CODE: usize = 16;
const MAX_HOURS: usize = 500;

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BadPointRow {
    /// The line of the file the row starts on; the header is line 1.
    pub line: u64,
    /// The column the problem is in (empty for the row as a whole).
    pub column: String,
    /// Why, in plain words.
    pub problem: String,
}

/// What an import of drop-off points did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct PointsReport {
    /// Rows read, the header not counted.
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    /// Whether anything was written.
    pub imported: bool,
    /// The bad rows, the first 1,000 of them.
    pub bad_rows: Vec<BadPointRow>,
    pub bad_rows_total: u64,
}

impl PointsReport {
    fn bad(&mut self, line: u64, column: &str, problem: impl Into<String>) {
        self.bad_rows_total += 1;
        if self.bad_rows.len() < MAX_REPORTED {
            self.bad_rows.push(BadPointRow {
                line,
                column: column.to_owned(),
                problem: problem.into(),
            });
        }
    }
}

/// Imports the drop-off points of `csv` into `shop`, inside `tx`. A file with
/// any bad row is refused with [`AppError::PointsImportRefused`] and its report:
/// the caller rolls back, nothing is imported.
pub async fn import(
    app: &App,
    tx: &mut Tx,
    shop: &Shop,
    csv: &[u8],
) -> Result<PointsReport, AppError> {
    let csv = csv.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv);
    let mut report = PointsReport::default();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(csv);
    let index = match reader.byte_headers() {
        Ok(h) => header(h, &mut report),
        Err(_) => {
            report.bad(1, "", "the file is not CSV text");
            None
        }
    };
    let Some(index) = index else {
        return Err(AppError::PointsImportRefused(Box::new(report)));
    };
    let mut points = Vec::new();
    let mut seen: HashMap<(String, String), u64> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                report.bad(line, "", "the file is not CSV text from here on");
                break;
            }
        }
        report.rows += 1;
        let line = record.position().map_or(report.rows + 1, |p| p.line());
        if record.iter().all(|f| f.trim_ascii().is_empty()) {
            // A blank line a spreadsheet left at the end.
            report.rows -= 1;
            continue;
        }
        if record.len() != index.len {
            report.bad(
                line,
                "",
                format!(
                    "the row has {} fields where the header has {}",
                    record.len(),
                    index.len
                ),
            );
            continue;
        }
        let Some(point) = row(&record, &index, line, &mut report) else {
            continue;
        };
        let key = (point.carrier.clone(), point.point_id.clone());
        if let Some(first) = seen.get(&key) {
            report.bad(
                line,
                "id",
                format!(
                    "{} {} is also on line {first}; each point once per file",
                    key.0, key.1
                ),
            );
            continue;
        }
        seen.insert(key, line);
        points.push(point);
    }
    if report.bad_rows_total > 0 {
        return Err(AppError::PointsImportRefused(Box::new(report)));
    }
    let known = store::keys(tx, shop.id).await?;
    let now = app.now();
    for p in &points {
        if known.contains(&(p.carrier.clone(), p.point_id.clone())) {
            report.updated += 1;
        } else {
            report.created += 1;
        }
        store::upsert(tx, shop.id, p, now).await?;
    }
    report.imported = !points.is_empty();
    Ok(report)
}

/// Where each column is in the file.
struct Index {
    at: HashMap<&'static str, usize>,
    len: usize,
}

/// Reads the header: names compared without case, with spaces as `_`
/// (`Postal code` is `postal_code`). `None` when a column is missing, unknown
/// or named twice (each in the report).
fn header(names: &csv::ByteRecord, report: &mut PointsReport) -> Option<Index> {
    let mut at = HashMap::new();
    for (k, raw) in names.iter().enumerate() {
        let name = String::from_utf8_lossy(raw)
            .trim()
            .to_ascii_lowercase()
            .replace([' ', '-'], "_");
        match COLUMNS.iter().find(|c| **c == name) {
            Some(c) => {
                if at.insert(*c, k).is_some() {
                    report.bad(1, c, "the column is in the header twice");
                }
            }
            None => report.bad(
                1,
                &name,
                "is not a column of a drop-off point file (docs/SHIPPING.md lists them)",
            ),
        }
    }
    for c in REQUIRED {
        if !at.contains_key(c) {
            report.bad(1, c, "the header has no such column; every file needs it");
        }
    }
    (report.bad_rows_total == 0).then_some(Index {
        at,
        len: names.len(),
    })
}

/// One row as a point, or `None` with its problems in the report.
fn row(
    record: &csv::ByteRecord,
    index: &Index,
    line: u64,
    report: &mut PointsReport,
) -> Option<Point> {
    let before = report.bad_rows_total;
    let mut field = |name: &'static str, max: usize, required: bool| -> Option<String> {
        let raw = index.at.get(name).and_then(|k| record.get(*k))?;
        let Ok(value) = std::str::from_utf8(raw) else {
            report.bad(line, name, "is not UTF-8 text; save the file as UTF-8");
            return None;
        };
        let value = value.trim();
        let checked = if required {
            text::check_required(value, Form::Line, max)
        } else {
            text::check(value, Form::Line, max)
        };
        match checked {
            Ok(()) if value.is_empty() => None,
            Ok(()) => Some(value.to_owned()),
            Err(p) => {
                report.bad(line, name, Rule::from(p).to_string());
                None
            }
        }
    };
    let carrier = field("carrier", MAX_CARRIER, true);
    let point_id = field("id", MAX_POINT_ID, true);
    let name = field("name", MAX_TEXT, true);
    let kind = field("kind", MAX_TEXT, false);
    let address = field("address", MAX_TEXT, true);
    let city = field("city", MAX_TEXT, false);
    let postal_code = field("postal_code", MAX_POSTAL_CODE, true);
    let country = field("country", 2, false);
    let latitude = field("latitude", 32, true);
    let longitude = field("longitude", 32, true);
    let hours = field("opening_hours", MAX_HOURS, true);
    let kind = kind.map(|k| k.to_ascii_lowercase());
    if let Some(k) = &kind
        && !KINDS.contains(&k.as_str())
    {
        report.bad(line, "kind", format!("must be one of {}", KINDS.join(", ")));
    }
    let country = country.and_then(|c| match Country::try_from(c) {
        Ok(c) => Some(c.code().to_owned()),
        Err(e) => {
            report.bad(line, "country", e.to_string());
            None
        }
    });
    let postal = postal_code.and_then(|p| {
        let key = postal_key(&p);
        if key.is_empty() {
            report.bad(line, "postal_code", "has no letter or digit");
            None
        } else {
            Some((p, key))
        }
    });
    let degrees = |v: Option<String>, column: &str, report: &mut PointsReport| {
        let v = v?;
        match v.parse::<f64>() {
            Ok(d) if d.is_finite() => Some(d),
            _ => {
                report.bad(
                    line,
                    column,
                    format!("`{v}` is not a number of degrees (use a dot: 52.2297)"),
                );
                None
            }
        }
    };
    let lat = degrees(latitude, "latitude", report);
    let lon = degrees(longitude, "longitude", report);
    let coordinates = match (lat, lon) {
        (Some(lat), Some(lon)) => match Coordinates::new(lat, lon) {
            Ok(c) => Some(c),
            Err(e) => {
                let column = match e {
                    kembali_core::dropoff::CoordinatesError::Latitude => "latitude",
                    kembali_core::dropoff::CoordinatesError::Longitude => "longitude",
                };
                report.bad(line, column, e.to_string());
                None
            }
        },
        _ => None,
    };
    let hours = hours.and_then(|h| match OpeningHours::parse(&h) {
        Ok(h) => Some(h.text()),
        Err(e) => {
            report.bad(line, "opening_hours", e.to_string());
            None
        }
    });
    if report.bad_rows_total != before {
        return None;
    }
    let (postal_code, postal_key) = postal?;
    let (latitude, longitude) = coordinates?.micro();
    Some(Point {
        carrier: carrier?,
        point_id: point_id?,
        name: name?,
        kind,
        address: address?,
        city,
        postal_code,
        postal_key,
        country,
        latitude,
        longitude,
        opening_hours: hours?,
    })
}

/// Where to look from: a place, or a postal code.
#[derive(Debug, Clone, PartialEq)]
pub enum Near {
    Coordinates(Coordinates),
    PostalCode(String),
}

impl Near {
    /// `52.2297,21.0122` (latitude, longitude) or a postal code (`00-950`).
    pub fn parse(text: &str) -> Result<Near, AppError> {
        let text = text.trim();
        let bad = |why| AppError::invalid("near", Rule::NotValid { why });
        text::check_required(text, Form::Line, 64)
            .map_err(|p| AppError::invalid("near", p.into()))?;
        if let Some((a, b)) = text.split_once(',')
            && let (Ok(lat), Ok(lon)) = (a.trim().parse::<f64>(), b.trim().parse::<f64>())
        {
            return Coordinates::new(lat, lon)
                .map(Near::Coordinates)
                .map_err(|e| {
                    bad(match e {
                        kembali_core::dropoff::CoordinatesError::Latitude => {
                            "the latitude must be from -90 to 90"
                        }
                        kembali_core::dropoff::CoordinatesError::Longitude => {
                            "the longitude must be from -180 to 180"
                        }
                    })
                });
        }
        if postal_key(text).is_empty() || text.chars().count() > MAX_POSTAL_CODE {
            return Err(bad(
                "give a postal code (00-950) or a latitude and longitude (52.2297,21.0122)",
            ));
        }
        Ok(Near::PostalCode(text.to_owned()))
    }
}

/// A drop-off point near the shopper.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NearbyPoint {
    #[schema(example = "inpost")]
    pub carrier: String,
    /// The carrier's own id of the point.
    #[schema(example = "WAW01M")]
    pub id: String,
    pub name: String,
    /// `locker`, `agent`, `shop` or `post_office`, when known.
    pub kind: Option<String>,
    pub address: String,
    pub city: Option<String>,
    pub postal_code: String,
    pub country: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    /// From the place searched from (or the postal code's centre), in metres.
    pub distance_m: u64,
    /// The opening hours in their text form (`Mo-Fr 08:00-20:00; Sa 09:00-15:00`).
    pub opening_hours: String,
    /// The same, day by day from Monday.
    pub week: Vec<DayHours>,
    /// Whether it is open now, in the shop's time zone.
    pub open_now: bool,
}

/// The nearest points, and where the distances are measured from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Nearby {
    /// The place searched from: the coordinates given, or the centre of the
    /// points sharing the longest start of the postal code given; `null` when
    /// the shop has no point to measure against.
    pub origin: Option<Origin>,
    pub points: Vec<NearbyPoint>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Origin {
    pub latitude: f64,
    pub longitude: f64,
    /// `coordinates`, `postal_code` (points with that postal code) or
    /// `postal_area` (points whose postal code starts like it).
    pub basis: &'static str,
}

/// The shop's `limit` (1–50) drop-off points nearest to `near`, of one carrier
/// when given, nearest first, each with whether it is open now in the shop's
/// time zone.
///
/// From a postal code, the search starts at the centre of the shop's points
/// with that postal code; when there are none, of those sharing the longest
/// start of it (`00-95x`, then `00-9xx`, …): postal codes that start alike lie
/// near each other in Poland and Indonesia alike.
pub async fn nearest(
    app: &App,
    shop: &Shop,
    near: &Near,
    carrier: Option<&str>,
    limit: usize,
) -> Result<Nearby, AppError> {
    if !(1..=MAX_NEAREST).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            Rule::NotValid {
                why: "from 1 to 50",
            },
        ));
    }
    let mut conn = app.db.conn().await?;
    let origin = match near {
        Near::Coordinates(c) => Some(Origin {
            latitude: c.latitude,
            longitude: c.longitude,
            basis: "coordinates",
        }),
        Near::PostalCode(code) => {
            let key = postal_key(code);
            let mut found = None;
            for len in (1..=key.len()).rev() {
                let prefix = &key[..len];
                let points =
                    store::by_postal_prefix(&mut conn, shop.id, prefix, carrier, POSTAL_SAMPLE)
                        .await?;
                if points.is_empty() {
                    continue;
                }
                let exact: Vec<&Point> = points.iter().filter(|p| p.postal_key == key).collect();
                let (basis, pick): (&'static str, Vec<&Point>) = if exact.is_empty() {
                    ("postal_area", points.iter().collect())
                } else {
                    ("postal_code", exact)
                };
                let n = pick.len() as f64;
                let (lat, lon) = pick.iter().fold((0.0, 0.0), |(a, b), p| {
                    let q = Coordinates::from_micro(p.latitude, p.longitude);
                    (a + q.latitude / n, b + q.longitude / n)
                });
                found = Some(Origin {
                    latitude: lat,
                    longitude: lon,
                    basis,
                });
                break;
            }
            found
        }
    };
    let Some(origin) = origin else {
        return Ok(Nearby {
            origin: None,
            points: Vec::new(),
        });
    };
    let from = Coordinates {
        latitude: origin.latitude,
        longitude: origin.longitude,
    };
    let mut ranked: Vec<(f64, Point)> = Vec::new();
    for radius in RADII_M {
        // Degrees of latitude are ~111.2 km everywhere; of longitude, fewer
        // towards the poles. A box that would wrap is the whole range.
        let dlat = radius / 111_195.0;
        let cos = from.latitude.to_radians().cos();
        let dlon = if cos > 1e-6 { dlat / cos } else { 360.0 };
        let lat = (from.latitude - dlat, from.latitude + dlat);
        let lon = if from.longitude - dlon < -180.0 || from.longitude + dlon > 180.0 {
            (-180.0, 180.0)
        } else {
            (from.longitude - dlon, from.longitude + dlon)
        };
        let micro = |d: f64| (d * 1e6).round() as i64;
        let rows = store::within(
            &mut conn,
            shop.id,
            (micro(lat.0.max(-90.0)), micro(lat.1.min(90.0))),
            (micro(lon.0), micro(lon.1)),
            carrier,
        )
        .await?;
        // Only points inside the circle count: one in the box's corner may be
        // farther than a point just outside the box.
        ranked = rows
            .into_iter()
            .map(|p| {
                let d = from.distance_m(Coordinates::from_micro(p.latitude, p.longitude));
                (d, p)
            })
            .filter(|(d, _)| *d <= radius)
            .collect();
        if ranked.len() >= limit {
            break;
        }
    }
    ranked.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then_with(|| (&a.1.carrier, &a.1.point_id).cmp(&(&b.1.carrier, &b.1.point_id)))
    });
    ranked.truncate(limit);
    let zone = jiff::tz::TimeZone::get(&shop.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = app.now().to_zoned_datetime(zone);
    let (day, time) = (local.weekday(), local.time());
    let points = ranked
        .into_iter()
        .map(|(d, p)| {
            // Stored hours were checked on the way in; unreadable ones (never
            // written by us) show as given and closed.
            let hours = OpeningHours::parse(&p.opening_hours).ok();
            let c = Coordinates::from_micro(p.latitude, p.longitude);
            NearbyPoint {
                open_now: hours.as_ref().is_some_and(|h| h.is_open(day, time)),
                week: hours.as_ref().map(OpeningHours::week).unwrap_or_default(),
                carrier: p.carrier,
                id: p.point_id,
                name: p.name,
                kind: p.kind,
                address: p.address,
                city: p.city,
                postal_code: p.postal_code,
                country: p.country,
                latitude: c.latitude,
                longitude: c.longitude,
                distance_m: d.round() as u64,
                opening_hours: p.opening_hours,
            }
        })
        .collect();
    Ok(Nearby {
        origin: Some(origin),
        points,
    })
}

/// How many drop-off points the shop has.
pub async fn count(app: &App, shop: &Shop) -> Result<u64, AppError> {
    let mut conn = app.db.conn().await?;
    Ok(store::count(&mut conn, shop.id).await?.max(0) as u64)
}
