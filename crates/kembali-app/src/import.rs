//! Orders in from a CSV file (docs/INTAKE.md, "CSV"): one row per order line,
//! parsed and checked row by row, written in bulk, with a report of every bad row.
//!
//! The whole import runs in the caller's transaction. A file with a bad row
//! imports nothing unless the caller skips bad rows, and then an order is
//! written whole or not at all. Orders already imported from CSV (the same
//! order number) are updated as `orders::intake` updates them. One outbox
//! message (`orders.imported`) tells the outside about the whole import.

use std::collections::HashMap;

use jiff::Timestamp;
use kembali_core::Currency;
use kembali_core::order::{Address, PaymentMethod, TrackingStatus};
use kembali_core::shop::{Country, Locale, Shop};
use kembali_store::bulk::{self, NewCustomer, NewOrder};
use kembali_store::orders::Origin;
use kembali_store::{StoreError, Tx};
use serde::Serialize;
use utoipa::ToSchema;

use crate::intake::money::minor_units;
use crate::orders::{self, Intake, LineInput, OrderInput, ShipmentInput, ShipmentLineInput, build};
use crate::{App, AppError, events};

/// The source of imported orders; the file's order number is their external id.
pub const SOURCE: &str = "csv";

/// Orders written per round of bulk statements.
pub const BATCH: usize = 5_000;

/// At most this many bad rows are listed; `bad_rows_total` counts them all.
pub const MAX_REPORTED: usize = 10_000;

/// The columns, in the order `write` puts them. Those in [`REQUIRED`] must be in
/// the header; any other may be left out.
pub const COLUMNS: [&str; 31] = [
    "order_number",
    "email",
    "customer_name",
    "locale",
    "currency",
    "placed_at",
    "payment_method",
    "taxes_included",
    "shipping_name",
    "shipping_line1",
    "shipping_line2",
    "shipping_city",
    "shipping_postal_code",
    "shipping_country",
    "shipping_phone",
    "shipping_paid",
    "cheapest_shipping",
    "sku",
    "title",
    "category",
    "tags",
    "final_sale",
    "quantity",
    "unit_price",
    "discount",
    "tax",
    "carrier",
    "tracking_number",
    "shipment_status",
    "shipped_at",
    "delivered_at",
];

/// Columns every file must have, with a value on every row.
pub const REQUIRED: [&str; 13] = [
    "order_number",
    "email",
    "currency",
    "placed_at",
    "payment_method",
    "shipping_name",
    "shipping_line1",
    "shipping_city",
    "shipping_postal_code",
    "shipping_country",
    "sku",
    "quantity",
    "unit_price",
];

/// The order's own columns: the same on every row of the order.
const ORDER_PART: std::ops::Range<usize> = 0..17;
/// A parcel's columns besides the carrier and tracking number that name it.
const PARCEL_PART: [&str; 3] = ["shipment_status", "shipped_at", "delivered_at"];
/// Tags are separated by this in the `tags` column.
pub const TAG_SEPARATOR: char = '|';

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Import the good orders and leave out those with a bad row.
    pub skip_bad_rows: bool,
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BadRow {
    /// The row as a spreadsheet numbers it: the header is row 1.
    pub row: u64,
    /// The column the problem is in.
    pub column: String,
    /// Why, in plain words.
    pub problem: String,
    /// The row's order, when it has a number.
    pub order_number: Option<String>,
}

/// What an import did, or would have done.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Report {
    /// Rows read, the header not counted.
    pub rows: u64,
    /// Orders in the file.
    pub orders: u64,
    pub created: u64,
    pub updated: u64,
    /// Orders left out because one of their rows is bad.
    pub skipped: u64,
    /// Lines and shipments of the orders written.
    pub lines: u64,
    pub shipments: u64,
    /// Whether anything was written.
    pub imported: bool,
    /// The bad rows, the first [`MAX_REPORTED`] of them.
    pub bad_rows: Vec<BadRow>,
    pub bad_rows_total: u64,
}

impl Report {
    fn bad(&mut self, row: u64, column: &str, problem: impl Into<String>, number: Option<&str>) {
        self.bad_rows_total += 1;
        if self.bad_rows.len() < MAX_REPORTED {
            self.bad_rows.push(BadRow {
                row,
                column: column.to_owned(),
                problem: problem.into(),
                order_number: number.map(str::to_owned),
            });
        }
    }
}

/// Imports the orders of `csv` into `shop`, inside `tx`. A file with bad rows
/// (and, whatever the options, one whose header is wrong) is refused with
/// [`AppError::ImportRefused`] carrying the report: the caller rolls back, and
/// nothing is imported.
pub async fn orders(
    app: &App,
    tx: &mut Tx,
    shop: &Shop,
    csv: &[u8],
    options: Options,
) -> Result<Report, AppError> {
    // Spreadsheets save UTF-8 with a byte order mark.
    let csv = csv.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv);
    let mut report = Report::default();
    let Some(header) = header(csv, &mut report)? else {
        return Err(AppError::ImportRefused(Box::new(report)));
    };
    // Reading, parsing and checking the orders is CPU work: it runs on a
    // blocking thread one batch ahead of the writing here, so on two cores
    // the next batch is parsed while the database writes this one.
    let (batches, mut incoming) = tokio::sync::mpsc::channel::<Batch>(1);
    let reading = {
        let (app, shop, csv) = (app.clone(), shop.clone(), csv.to_vec());
        tokio::task::spawn_blocking(move || read(&app, &shop, &csv, &header, options, &batches))
    };
    let mut run = Run {
        app,
        shop,
        tally: Tally::new(options),
    };
    while let Some(batch) = incoming.recv().await {
        run.tally.refused |= batch.refused;
        // On an error the receiver is dropped, which stops the reader.
        run.write(tx, batch.orders).await?;
    }
    let read = match reading.await {
        Ok(read) => read?,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only a runtime shutting down cancels a blocking task.
        Err(_) => return Err(StoreError::Unavailable(kembali_store::SqlxError::PoolClosed).into()),
    };
    let refused = read.refused || run.tally.refused;
    let mut report = merge(read.report, run.tally.report);
    if refused || (report.bad_rows_total > 0 && !options.skip_bad_rows) {
        report.imported = false;
        report.created = 0;
        report.updated = 0;
        report.lines = 0;
        report.shipments = 0;
        return Err(AppError::ImportRefused(Box::new(report)));
    }
    report.imported = report.created + report.updated > 0;
    if report.imported {
        events::orders_imported(app, tx, shop.id, &report).await?;
    }
    Ok(report)
}

/// The reader's report and the writer's as one: counts added, bad rows in
/// row order (the first [`MAX_REPORTED`] of them).
fn merge(read: Report, written: Report) -> Report {
    let mut bad_rows = read.bad_rows;
    bad_rows.extend(written.bad_rows);
    bad_rows.sort_by_key(|b| b.row);
    bad_rows.truncate(MAX_REPORTED);
    Report {
        rows: read.rows,
        orders: read.orders,
        created: written.created,
        updated: written.updated,
        skipped: read.skipped + written.skipped,
        lines: written.lines,
        shipments: written.shipments,
        imported: false,
        bad_rows,
        bad_rows_total: read.bad_rows_total + written.bad_rows_total,
    }
}

/// What the reader hands the writer: up to [`BATCH`] checked orders, and
/// whether a bad row was found so far (then nothing more is written).
struct Batch {
    orders: Vec<Checked>,
    refused: bool,
}

/// An order parsed and built as intake would build it.
struct Checked {
    parsed: Parsed,
    order: kembali_core::order::Order,
    shipments: Vec<kembali_core::order::Shipment>,
}

/// The reader's side of an import, on its blocking thread.
fn read(
    app: &App,
    shop: &Shop,
    csv: &[u8],
    header: &Header,
    options: Options,
    out: &tokio::sync::mpsc::Sender<Batch>,
) -> Result<Tally, AppError> {
    let split = split_orders(csv, header)?;
    let mut rd = Reader {
        app,
        shop,
        header,
        out,
        tally: Tally::new(options),
        batch: Vec::with_capacity(BATCH),
    };
    let mut reader = reader(csv);
    let mut pending: Option<Pending> = None;
    let mut record = csv::ByteRecord::new();
    let mut row: u64 = 1;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // Only I/O fails here: the reader is flexible and reads bytes.
                return Err(AppError::invalid(
                    "file",
                    crate::error::Rule::NotValid { why: leak_free(&e) },
                ));
            }
        }
        row += 1;
        let report = &mut rd.tally.report;
        report.rows += 1;
        let (number, fields) = match fields(&record, header, row, report) {
            Ok(f) => (
                f.get(header.order_number).unwrap_or_default().to_owned(),
                Some(f),
            ),
            Err(Some(number)) => (number, None),
            // A row that names no order is refused alone.
            Err(None) => {
                rd.tally.note_bad();
                continue;
            }
        };
        if pending.as_ref().is_none_or(|p| p.number != number) {
            if let Some(p) = pending.take()
                && !rd.order(p)?
            {
                return Ok(rd.tally);
            }
            pending = Some(Pending {
                number: number.clone(),
                rows: Vec::new(),
                bad: false,
            });
        }
        let Some(p) = pending.as_mut() else {
            continue;
        };
        if let Some(first) = split.get(&number) {
            if *first != row && p.rows.is_empty() && !p.bad {
                rd.tally.report.bad(
                    row,
                    "order_number",
                    format!(
                        "order {number} has rows elsewhere in the file (from row {first}); \
                         an order's rows must follow each other"
                    ),
                    Some(&number),
                );
            }
            p.bad = true;
        }
        match fields {
            Some(f) => p.rows.push((row, f)),
            // Never half an order: a bad row takes its whole order with it.
            None => p.bad = true,
        }
    }
    if let Some(p) = pending.take() {
        rd.order(p)?;
    }
    rd.send();
    Ok(rd.tally)
}

/// Where each known column is in this file's header.
struct Header {
    index: HashMap<&'static str, usize>,
    order_number: usize,
    len: usize,
}

fn reader(csv: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(csv)
}

/// A description of a reader error without the file's content.
fn leak_free(e: &csv::Error) -> &'static str {
    match e.kind() {
        csv::ErrorKind::Io(_) => "the file could not be read",
        _ => "the file is not CSV",
    }
}

/// Reads and checks the header; `None` (with the problems in the report) when
/// it lacks a required column, names one twice, or names one we do not know.
fn header(csv: &[u8], report: &mut Report) -> Result<Option<Header>, AppError> {
    let mut r = reader(csv);
    let names = match r.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            report.bad(1, "", leak_free(&e), None);
            return Ok(None);
        }
    };
    let mut index = HashMap::new();
    for (k, raw) in names.iter().enumerate() {
        let name = String::from_utf8_lossy(raw).trim().to_ascii_lowercase();
        match COLUMNS.iter().find(|c| **c == name) {
            Some(c) => {
                if index.insert(*c, k).is_some() {
                    report.bad(1, c, "the column is in the header twice", None);
                }
            }
            None if name.is_empty() => {
                report.bad(1, "", format!("column {} has no name", k + 1), None)
            }
            None => report.bad(
                1,
                &name,
                "is not a column Kembali knows (docs/INTAKE.md lists them)",
                None,
            ),
        }
    }
    for c in REQUIRED {
        if !index.contains_key(c) {
            report.bad(
                1,
                c,
                "the header has no such column; every file needs it",
                None,
            );
        }
    }
    if report.bad_rows_total > 0 {
        return Ok(None);
    }
    let order_number = index.get("order_number").copied().unwrap_or(0);
    Ok(Some(Header {
        index,
        order_number,
        len: names.len(),
    }))
}

/// Order numbers whose rows do not follow each other, with the first row of
/// each: such an order cannot be imported whole without reading the whole file
/// first, so it is refused.
fn split_orders(csv: &[u8], header: &Header) -> Result<HashMap<String, u64>, AppError> {
    let mut r = reader(csv);
    let mut record = csv::ByteRecord::new();
    let mut first: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut split = HashMap::new();
    let mut last: Vec<u8> = Vec::new();
    let mut row = 1u64;
    while r.read_byte_record(&mut record).map_err(|e| {
        AppError::invalid("file", crate::error::Rule::NotValid { why: leak_free(&e) })
    })? {
        row += 1;
        let number = record
            .get(header.order_number)
            .unwrap_or_default()
            .trim_ascii();
        if number == last.as_slice() {
            continue;
        }
        last = number.to_vec();
        match first.get(number) {
            Some(at) => {
                split.insert(String::from_utf8_lossy(number).into_owned(), *at);
            }
            None => {
                first.insert(number.to_vec(), row);
            }
        }
    }
    Ok(split)
}

/// A row's fields, trimmed, in one string: a million-order file has some
/// thirty million fields, and a `String` each was the largest part of the
/// reading thread's allocations.
struct Fields {
    text: String,
    /// Where each field is in `text`.
    bounds: Vec<std::ops::Range<usize>>,
}

impl Fields {
    fn get(&self, k: usize) -> Option<&str> {
        self.bounds.get(k).and_then(|r| self.text.get(r.clone()))
    }
}

/// The row's fields by column (trimmed), or the row's order number (if it has
/// one) when the row is unusable (the problems are in the report).
fn fields(
    record: &csv::ByteRecord,
    header: &Header,
    row: u64,
    report: &mut Report,
) -> Result<Fields, Option<String>> {
    let number = record
        .get(header.order_number)
        .map(|b| String::from_utf8_lossy(b).trim().to_owned())
        .filter(|n| !n.is_empty());
    if record.len() != header.len {
        report.bad(
            row,
            "",
            format!(
                "the row has {} fields where the header has {}",
                record.len(),
                header.len
            ),
            number.as_deref(),
        );
        return Err(number);
    }
    let Some(number) = number else {
        report.bad(
            row,
            "order_number",
            "is empty; every row names its order",
            None,
        );
        return Err(None);
    };
    let mut out = Fields {
        text: String::with_capacity(record.as_slice().len()),
        bounds: Vec::with_capacity(record.len()),
    };
    let mut ok = true;
    for (k, b) in record.iter().enumerate() {
        match std::str::from_utf8(b) {
            Ok(s) => {
                let at = out.text.len();
                out.text.push_str(s.trim());
                out.bounds.push(at..out.text.len());
            }
            Err(_) => {
                let column = header
                    .index
                    .iter()
                    .find(|(_, i)| **i == k)
                    .map_or("", |(c, _)| c);
                report.bad(
                    row,
                    column,
                    "is not UTF-8 text; save the file as UTF-8",
                    Some(&number),
                );
                ok = false;
            }
        }
    }
    if ok { Ok(out) } else { Err(Some(number)) }
}

/// The rows of one order, as read.
struct Pending {
    number: String,
    rows: Vec<(u64, Fields)>,
    /// One of its rows is bad already.
    bad: bool,
}

/// An order parsed from its rows: the input intake takes, and which row each
/// line and shipment came from.
struct Parsed {
    input: OrderInput,
    first_row: u64,
    line_rows: Vec<u64>,
    shipment_rows: Vec<u64>,
}

/// The problems found on one side of an import, and whether they refuse it.
struct Tally {
    options: Options,
    report: Report,
    /// A bad row was found and bad rows are not skipped: nothing more is
    /// written (the caller rolls back), but the file is still checked to the end.
    refused: bool,
}

impl Tally {
    fn new(options: Options) -> Tally {
        Tally {
            options,
            report: Report::default(),
            refused: false,
        }
    }

    fn note_bad(&mut self) {
        if !self.options.skip_bad_rows {
            self.refused = true;
        }
    }

    /// Records why intake refused an order, on the row and column it came
    /// from; errors other than the order's own are the caller's.
    fn invalid(&mut self, p: &Parsed, e: AppError) -> Result<(), AppError> {
        let (field, problem) = match e {
            AppError::InvalidOrder(o) => (o.field, o.problem.to_string()),
            AppError::Invalid { field, rule } => (field, rule.to_string()),
            other => return Err(other),
        };
        let (row, column) = locate(p, &field);
        self.report.bad(row, column, problem, Some(&p.input.number));
        self.report.skipped += 1;
        self.note_bad();
        Ok(())
    }
}

/// Parses and builds orders, and hands them to the writer in batches.
struct Reader<'a> {
    app: &'a App,
    shop: &'a Shop,
    header: &'a Header,
    out: &'a tokio::sync::mpsc::Sender<Batch>,
    tally: Tally,
    batch: Vec<Checked>,
}

impl Reader<'_> {
    /// Takes one order's rows; `false` once the writer has stopped.
    fn order(&mut self, p: Pending) -> Result<bool, AppError> {
        self.tally.report.orders += 1;
        let before = self.tally.report.bad_rows_total;
        let parsed = parse(&p, self.header, &mut self.tally.report);
        match parsed {
            Some(parsed) if !p.bad && self.tally.report.bad_rows_total == before => {
                // Checked now, so a refused file reports every order's
                // problems; a known order's update checks again with its ids.
                match build(self.app, self.shop, &parsed.input, None) {
                    Ok((order, shipments)) => self.batch.push(Checked {
                        parsed,
                        order,
                        shipments,
                    }),
                    Err(e) => self.tally.invalid(&parsed, e)?,
                }
            }
            _ => {
                self.tally.report.skipped += 1;
                self.tally.note_bad();
            }
        }
        if self.batch.len() >= BATCH {
            return Ok(self.send());
        }
        Ok(true)
    }

    /// Hands the batch over, waiting while the writer is one batch behind;
    /// `false` once the writer has stopped.
    fn send(&mut self) -> bool {
        let orders = std::mem::take(&mut self.batch);
        let refused = self.tally.refused;
        self.out.blocking_send(Batch { orders, refused }).is_ok()
    }
}

/// Writes checked orders inside the import's transaction.
struct Run<'a> {
    app: &'a App,
    shop: &'a Shop,
    tally: Tally,
}

impl Run<'_> {
    /// Checks the batch's orders against the shop's and writes the good ones.
    async fn write(&mut self, tx: &mut Tx, batch: Vec<Checked>) -> Result<(), AppError> {
        if batch.is_empty() {
            return Ok(());
        }
        let numbers: Vec<String> = batch
            .iter()
            .map(|c| c.parsed.input.number.clone())
            .collect();
        let known: HashMap<String, bulk::Known> = bulk::known(tx, self.shop.id, &numbers)
            .await?
            .into_iter()
            .map(|k| (k.number.clone(), k))
            .collect();
        let now = self.app.now();
        let mut new = Vec::with_capacity(batch.len());
        let mut existing = Vec::new();
        for c in batch {
            let p = c.parsed;
            let origin = Origin {
                source: SOURCE.to_owned(),
                external_id: p.input.number.clone(),
                updated_at: None,
            };
            match known.get(&p.input.number) {
                Some(k) if k.source == SOURCE && k.external_id.as_deref() == Some(&k.number) => {
                    existing.push((k.id, origin, p));
                }
                Some(k) => {
                    self.tally.report.bad(
                        p.first_row,
                        "order_number",
                        format!(
                            "the shop already has an order with this number, which came from {} \
                             and not from a CSV file",
                            k.source
                        ),
                        Some(&p.input.number),
                    );
                    self.tally.report.skipped += 1;
                    self.tally.note_bad();
                }
                None => new.push((
                    NewOrder {
                        order: c.order,
                        shipments: c.shipments,
                        origin,
                    },
                    p,
                )),
            }
        }
        if self.tally.refused {
            return Ok(());
        }
        // Customers first, all at once: the orders then name them. Their
        // history counts the new orders (and refused cash-on-delivery parcels)
        // in the same statement and transaction, as order intake counts them.
        let customers: Vec<NewCustomer> = new
            .iter()
            .map(|(n, p)| NewCustomer {
                email: n.order.email.clone(),
                name: p.input.customer_name.clone().unwrap_or_default(),
                locale: n.order.locale,
                orders: 1,
                refused_parcels: i64::from(crate::shipments::refused_parcels(
                    &n.order,
                    &n.shipments,
                )),
            })
            .collect();
        let ids = bulk::customers(tx, self.shop.id, &customers, now).await?;
        let mut orders = Vec::with_capacity(new.len());
        for (mut n, _) in new {
            n.order.customer_id = ids.get(&n.order.email).copied();
            self.tally.report.lines += n.order.lines.len() as u64;
            self.tally.report.shipments += n.shipments.len() as u64;
            orders.push(n);
        }
        bulk::insert_orders(tx, &orders, now).await?;
        self.tally.report.created += orders.len() as u64;
        // Known orders change one by one, as intake changes them: their lines
        // keep their ids, which returns may name.
        for (id, origin, p) in existing {
            match orders::update(
                self.app,
                tx,
                self.shop,
                (id, None),
                &origin,
                &p.input,
                false,
            )
            .await
            {
                Ok(Intake::Updated(v)) | Ok(Intake::Created(v)) | Ok(Intake::Stale(v)) => {
                    self.tally.report.updated += 1;
                    self.tally.report.lines += v.order.lines.len() as u64;
                    self.tally.report.shipments += v.shipments.len() as u64;
                }
                Err(e) => self.tally.invalid(&p, e)?,
            }
        }
        Ok(())
    }
}

/// The row and column an order's field (`lines[1].discount`) came from.
fn locate<'a>(p: &Parsed, field: &'a str) -> (u64, &'a str) {
    let indexed = |prefix: &str| -> Option<(usize, &'a str)> {
        let rest = field.strip_prefix(prefix)?;
        let (n, rest) = rest.split_once(']')?;
        Some((n.parse().ok()?, rest.trim_start_matches('.')))
    };
    if let Some((n, rest)) = indexed("lines[") {
        let row = p.line_rows.get(n).copied().unwrap_or(p.first_row);
        let column = rest.split(['[', '.']).next().unwrap_or("");
        return (
            row,
            if column.is_empty() {
                "unit_price"
            } else {
                column
            },
        );
    }
    if let Some((n, rest)) = indexed("shipments[") {
        let row = p.shipment_rows.get(n).copied().unwrap_or(p.first_row);
        let column = match rest.split(['[', '.']).next().unwrap_or("") {
            "status" => "shipment_status",
            c @ ("tracking_number" | "shipped_at" | "delivered_at") => c,
            _ => "carrier",
        };
        return (row, column);
    }
    let column = match field {
        "number" => "order_number",
        "lines" => "sku",
        "shipments" => "carrier",
        f => match f.strip_prefix("shipping_address.") {
            Some("name") => "shipping_name",
            Some("line1") => "shipping_line1",
            Some("line2") => "shipping_line2",
            Some("city") => "shipping_city",
            Some("postal_code") => "shipping_postal_code",
            Some("country") => "shipping_country",
            Some("phone") => "shipping_phone",
            Some(_) => "shipping_name",
            None => f,
        },
    };
    (p.first_row, column)
}

/// One row's fields by column name; absent columns read as empty.
struct Row<'a> {
    at: u64,
    fields: &'a Fields,
    header: &'a HashMap<&'static str, usize>,
}

impl<'a> Row<'a> {
    fn get(&self, column: &str) -> &'a str {
        self.header
            .get(column)
            .and_then(|k| self.fields.get(*k))
            .unwrap_or("")
    }

    fn opt(&self, column: &str) -> Option<&'a str> {
        Some(self.get(column)).filter(|v| !v.is_empty())
    }
}

/// Reads values off rows, noting each problem once, and answers `None` past
/// the first (so everything wrong with a row is reported at once).
struct Reading<'r> {
    report: &'r mut Report,
    number: String,
    ok: bool,
}

impl Reading<'_> {
    fn bad(&mut self, row: u64, column: &str, problem: impl Into<String>) {
        self.report.bad(row, column, problem, Some(&self.number));
        self.ok = false;
    }

    fn required<'a>(&mut self, r: &Row<'a>, column: &str) -> Option<&'a str> {
        let v = r.opt(column);
        if v.is_none() {
            self.bad(r.at, column, "is empty; every row needs it");
        }
        v
    }

    fn value<T>(
        &mut self,
        r: &Row<'_>,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let v = r.opt(column)?;
        match parse(v) {
            Ok(t) => Some(t),
            Err(why) => {
                self.bad(r.at, column, why);
                None
            }
        }
    }

    fn amount(&mut self, r: &Row<'_>, column: &str, currency: Option<Currency>) -> Option<i64> {
        let currency = currency?;
        self.value(r, column, |v| minor_units(v, currency))
    }

    fn time(&mut self, r: &Row<'_>, column: &str) -> Option<Timestamp> {
        self.value(r, column, |v| {
            v.parse::<Timestamp>().map_err(|_| {
                format!("`{v}` is not a time with its offset, like 2026-11-01T10:00:00+07:00")
            })
        })
    }

    fn flag(&mut self, r: &Row<'_>, column: &str) -> Option<bool> {
        self.value(r, column, |v| match v.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            _ => Err(format!("`{v}` is neither true nor false")),
        })
    }
}

const PAYMENT_METHODS: &str = "card, cash_on_delivery, bank_transfer, e_wallet, other";
const STATUSES: &str = "pending, info_received, in_transit, out_for_delivery, failed_attempt, \
    available_for_pickup, delivered, exception, returned_to_sender, expired";

/// The order its rows describe, or `None` with every problem in the report.
fn parse(p: &Pending, header: &Header, report: &mut Report) -> Option<Parsed> {
    let rows: Vec<Row<'_>> = p
        .rows
        .iter()
        .map(|(at, fields)| Row {
            at: *at,
            fields,
            header: &header.index,
        })
        .collect();
    let first = rows.first()?;
    let mut rd = Reading {
        report,
        number: p.number.clone(),
        ok: true,
    };
    // The order's own columns are repeated: they must say the same everywhere.
    for r in &rows[1..] {
        for c in &COLUMNS[ORDER_PART] {
            if r.get(c) != first.get(c) {
                rd.bad(
                    r.at,
                    c,
                    format!(
                        "differs from row {} of the same order, which says `{}`",
                        first.at,
                        first.get(c)
                    ),
                );
            }
        }
    }
    let email = rd.required(first, "email");
    let currency = rd.required(first, "currency").and_then(|_| {
        rd.value(first, "currency", |v| {
            v.parse::<Currency>().map_err(|e| e.to_string())
        })
    });
    let placed_at = rd
        .required(first, "placed_at")
        .and_then(|_| rd.time(first, "placed_at"));
    let payment_method = rd.required(first, "payment_method").and_then(|_| {
        rd.value(first, "payment_method", |v| {
            PaymentMethod::parse(&v.to_ascii_lowercase())
                .ok_or_else(|| format!("`{v}` is not one of {PAYMENT_METHODS}"))
        })
    });
    let taxes_included = rd.flag(first, "taxes_included").unwrap_or(true);
    let locale = rd.value(first, "locale", |v| {
        Locale::from_tag(v)
            .ok_or_else(|| format!("`{v}` is not a language Kembali speaks (en, id, pl)"))
    });
    let name = rd.required(first, "shipping_name");
    let line1 = rd.required(first, "shipping_line1");
    let city = rd.required(first, "shipping_city");
    let postal_code = rd.required(first, "shipping_postal_code");
    let country = rd.required(first, "shipping_country").and_then(|_| {
        rd.value(first, "shipping_country", |v| {
            v.parse::<Country>().map_err(|e| e.to_string())
        })
    });
    let shipping_paid = rd.amount(first, "shipping_paid", currency).unwrap_or(0);
    let cheapest_shipping = rd.amount(first, "cheapest_shipping", currency);

    let mut lines = Vec::with_capacity(rows.len());
    let mut line_rows = Vec::with_capacity(rows.len());
    let mut shipments: Vec<ShipmentInput> = Vec::new();
    let mut shipment_rows: Vec<u64> = Vec::new();
    for (n, r) in rows.iter().enumerate() {
        let sku = rd.required(r, "sku");
        let quantity = rd.required(r, "quantity").and_then(|_| {
            rd.value(r, "quantity", |v| {
                v.parse::<u32>()
                    .map_err(|_| format!("`{v}` is not a whole number of units"))
            })
        });
        let unit_price = rd
            .required(r, "unit_price")
            .and_then(|_| rd.amount(r, "unit_price", currency));
        let discount = rd.amount(r, "discount", currency).unwrap_or(0);
        let tax = rd.amount(r, "tax", currency).unwrap_or(0);
        let final_sale = rd.flag(r, "final_sale").unwrap_or(false);
        lines.push(LineInput {
            sku: sku.unwrap_or_default().to_owned(),
            title: r.get("title").to_owned(),
            category: r.opt("category").map(str::to_owned),
            tags: r
                .get("tags")
                .split(TAG_SEPARATOR)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            final_sale,
            quantity: quantity.unwrap_or(1),
            unit_price: unit_price.unwrap_or(0),
            discount,
            tax,
            product_id: None,
            variant_id: None,
        });
        line_rows.push(r.at);
        let Some(carrier) = r.opt("carrier") else {
            if let Some(c) = [
                "tracking_number",
                "shipment_status",
                "shipped_at",
                "delivered_at",
            ]
            .into_iter()
            .find(|c| r.opt(c).is_some())
            {
                rd.bad(
                    r.at,
                    "carrier",
                    format!(
                        "is empty, but the row has a {c}; name the carrier that ships the line"
                    ),
                );
            }
            continue;
        };
        let tracking = r.opt("tracking_number");
        let unit = ShipmentLineInput {
            line: n,
            quantity: quantity.unwrap_or(1),
        };
        let same = shipments
            .iter()
            .position(|s| s.carrier == carrier && s.tracking_number.as_deref() == tracking);
        if let Some(k) = same {
            let at = shipment_rows[k];
            let there = rows.iter().find(|x| x.at == at).unwrap_or(first);
            for c in PARCEL_PART {
                if r.get(c) != there.get(c) {
                    rd.bad(
                        r.at,
                        c,
                        format!(
                            "differs from row {at}, which ships in the same parcel and says `{}`",
                            there.get(c)
                        ),
                    );
                }
            }
            shipments[k].lines.push(unit);
            continue;
        }
        let status = rd.required(r, "shipment_status").and_then(|_| {
            rd.value(r, "shipment_status", |v| {
                TrackingStatus::parse(&v.to_ascii_lowercase())
                    .ok_or_else(|| format!("`{v}` is not one of {STATUSES}"))
            })
        });
        shipments.push(ShipmentInput {
            carrier: carrier.to_owned(),
            tracking_url: None,
            tracking_number: tracking.map(str::to_owned),
            status: status.unwrap_or(TrackingStatus::Pending),
            shipped_at: rd.time(r, "shipped_at"),
            delivered_at: rd.time(r, "delivered_at"),
            promised_by: None,
            lines: vec![unit],
        });
        shipment_rows.push(r.at);
    }
    if !rd.ok {
        return None;
    }
    Some(Parsed {
        input: OrderInput {
            number: p.number.clone(),
            email: email?.to_owned(),
            customer_name: first.opt("customer_name").map(str::to_owned),
            locale,
            currency: currency?,
            placed_at: placed_at?,
            payment_method: payment_method?,
            taxes_included,
            shipping_address: Address {
                name: name?.to_owned(),
                line1: line1?.to_owned(),
                line2: first.opt("shipping_line2").map(str::to_owned),
                city: city?.to_owned(),
                postal_code: postal_code?.to_owned(),
                country: country?,
                phone: first.opt("shipping_phone").map(str::to_owned),
            },
            shipping_paid,
            cheapest_shipping,
            lines,
            shipments,
        },
        first_row: first.at,
        line_rows,
        shipment_rows,
    })
}

/// `amount` minor units of `currency` as the decimal text the format takes
/// (`14999` PLN is `149.99`).
pub fn decimal(amount: i64, currency: Currency) -> String {
    let exp = u32::from(currency.exponent());
    if exp == 0 {
        return amount.to_string();
    }
    let unit = 10i64.pow(exp);
    let sign = if amount < 0 { "-" } else { "" };
    let a = amount.unsigned_abs();
    let u = unit.unsigned_abs();
    format!("{sign}{}.{:0width$}", a / u, a % u, width = exp as usize)
}

/// Writes the header of the format.
pub fn write_header<W: std::io::Write>(w: &mut csv::Writer<W>) -> csv::Result<()> {
    w.write_record(COLUMNS)
}

/// Writes `input` as its rows, one per line. A shipment carries its lines
/// whole: the format has no column for part of a line.
pub fn write<W: std::io::Write>(w: &mut csv::Writer<W>, input: &OrderInput) -> csv::Result<()> {
    let c = input.currency;
    let time = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    let a = &input.shipping_address;
    let order = [
        input.number.clone(),
        input.email.clone(),
        input.customer_name.clone().unwrap_or_default(),
        input
            .locale
            .map(|l| l.code().to_owned())
            .unwrap_or_default(),
        c.code().to_owned(),
        input.placed_at.to_string(),
        input.payment_method.as_str().to_owned(),
        input.taxes_included.to_string(),
        a.name.clone(),
        a.line1.clone(),
        a.line2.clone().unwrap_or_default(),
        a.city.clone(),
        a.postal_code.clone(),
        a.country.code().to_owned(),
        a.phone.clone().unwrap_or_default(),
        decimal(input.shipping_paid, c),
        input
            .cheapest_shipping
            .map(|v| decimal(v, c))
            .unwrap_or_default(),
    ];
    for (n, l) in input.lines.iter().enumerate() {
        let parcel = input
            .shipments
            .iter()
            .find(|s| s.lines.iter().any(|sl| sl.line == n));
        let mut record: Vec<String> = order.to_vec();
        record.extend([
            l.sku.clone(),
            l.title.clone(),
            l.category.clone().unwrap_or_default(),
            l.tags.join(&TAG_SEPARATOR.to_string()),
            l.final_sale.to_string(),
            l.quantity.to_string(),
            decimal(l.unit_price, c),
            decimal(l.discount, c),
            decimal(l.tax, c),
        ]);
        match parcel {
            Some(s) => record.extend([
                s.carrier.clone(),
                s.tracking_number.clone().unwrap_or_default(),
                s.status.as_str().to_owned(),
                time(s.shipped_at),
                time(s.delivered_at),
            ]),
            None => record.extend(std::iter::repeat_n(String::new(), 5)),
        }
        w.write_record(&record)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip_through_minor_units() {
        for (v, c) in [
            (14_999, Currency::PLN),
            (15_000_000, Currency::IDR),
            (5, Currency::EUR),
            (0, Currency::EUR),
        ] {
            assert_eq!(minor_units(&decimal(v, c), c), Ok(v));
        }
        assert_eq!(decimal(14_999, Currency::PLN), "149.99");
        assert_eq!(decimal(5, Currency::EUR), "0.05");
    }

    #[test]
    fn the_header_lists_every_required_column() {
        for c in REQUIRED {
            assert!(COLUMNS.contains(&c), "{c}");
        }
        assert_eq!(&COLUMNS[ORDER_PART][16], &"cheapest_shipping");
        assert_eq!(COLUMNS[17], "sku");
    }
}
