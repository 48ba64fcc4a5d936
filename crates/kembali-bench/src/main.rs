//! Kembali's benchmark harness: builds a data set of a chosen size on SQLite
//! and/or PostgreSQL, then measures order look-up with eligibility and return
//! creation directly and through HTTP under concurrent load, beside a bare
//! `/healthz` as the framework's ceiling. Prints a Markdown table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use jiff::{SignedDuration, Timestamp};
use kembali::synthetic::{Buyer, Draft, Item, Line, Parcel};
use kembali_app::eligibility::{self, Question};
use kembali_app::returns::{ItemRequest, ReturnRequest};
use kembali_app::{App, import};
use kembali_core::order::{Address, PaymentMethod, TrackingStatus};
use kembali_core::payout::DestinationRequest;
use kembali_core::policy::PolicyDocument;
use kembali_core::returns::{Actor, Resolution, ReturnMethod, ReturnReason};
use kembali_core::shop::{Country, Locale, Shop};
use kembali_core::{Currency, LineId, OrderId, ShopId};
use kembali_store::{ConnectOptions, Db, shops};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Which {
    Sqlite,
    Postgres,
    Both,
}

/// One database a suite runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Sqlite,
    Postgres,
}

#[derive(Parser, Debug)]
#[command(about = "Kembali benchmark harness")]
struct Args {
    /// Orders in the data set.
    #[arg(long, default_value_t = 100_000)]
    orders: usize,
    #[arg(long, value_enum, default_value_t = Which::Both)]
    database: Which,
    /// Customers the orders are spread over (default: one per four orders).
    #[arg(long)]
    customers: Option<usize>,
    /// Concurrent clients (tasks) per measurement.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Orders per imported CSV file (one transaction each).
    #[arg(long, default_value_t = 50_000)]
    batch: usize,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres_url: String,
    /// Keep the PostgreSQL schema afterwards (to inspect query plans).
    #[arg(long)]
    keep: bool,
    /// Serve the HTTP rows from this `kembali` binary, started as its own
    /// process (`kembali serve`, with its worker), so its resident memory is its
    /// own; default: the `kembali` beside this harness if there is one, else the
    /// app in this process. `--server-bin in-process` forces the latter.
    #[arg(long)]
    server_bin: Option<String>,
    /// Orders of one heavy customer (the first N orders), whose look-ups get a
    /// row of their own beside everyone else's (0: none).
    #[arg(long, default_value_t = 1000)]
    heavy: usize,
    /// Load the data set and stop: no measurements (the import's own figure).
    #[arg(long)]
    load_only: bool,
    /// Measure only the rows whose name holds one of these words
    /// (comma-separated, `--only returns,eligibility`); `/healthz` always runs,
    /// as every HTTP ratio is to it. Default: every row.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The server's database pool (`KEMBALI_MAX_CONNECTIONS`); by default the
    /// server's own (16), as a shop runs it.
    #[arg(long)]
    pool: Option<u32>,
}

impl Args {
    /// Whether the row named `op` is measured in this run.
    fn wants(&self, op: &str) -> bool {
        self.only.is_empty()
            || op.contains("/healthz")
            || self.only.iter().any(|w| op.contains(w.as_str()))
    }
}

struct Stats {
    db: &'static str,
    op: &'static str,
    count: usize,
    errors: usize,
    secs: f64,
    /// Latencies of the successful operations, sorted, in microseconds.
    lat_us: Vec<u32>,
    /// Some task used up its share of the data set before the deadline.
    exhausted: bool,
    /// The first error seen, to say what went wrong.
    first_error: Option<String>,
}

impl Stats {
    fn throughput(&self) -> f64 {
        self.count as f64 / self.secs
    }

    /// Nearest-rank percentile in milliseconds (`p` in 0..=1).
    fn pct(&self, p: f64) -> f64 {
        let n = self.lat_us.len();
        if n == 0 {
            return 0.0;
        }
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        f64::from(self.lat_us[rank - 1]) / 1000.0
    }

    fn max(&self) -> f64 {
        self.lat_us.last().map_or(0.0, |v| f64::from(*v) / 1000.0)
    }
}

struct Dataset {
    db: Db,
    /// One application for every direct row, as a server has: its policy
    /// cache and its block of return numbers live as long as it does.
    app: App,
    shop: Shop,
    key: String,
    orders: Vec<(OrderId, LineId)>,
    /// The heavy customer's orders (`--heavy`).
    heavy: Vec<OrderId>,
    /// The SQLite file, for the driver comparison.
    sqlite_file: Option<std::path::PathBuf>,
    _dir: Option<tempfile::TempDir>,
}

/// The PostgreSQL schema of this run.
fn schema_name() -> String {
    format!("kbench_{}", std::process::id())
}

fn entropy(n: u64) -> u128 {
    u128::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835) ^ kembali_store::entropy()
}

/// Every customer's name.
const NAME: &str = "Jan Kowalski";

/// The SKUs of order `n`: one to three lines.
fn skus(n: usize) -> Vec<String> {
    (0..(1 + n % 3))
        .map(|k| format!("SKU-{}", (n * 7 + k) % 500))
        .collect()
}

/// One synthetic order: a line per SKU, delivered two days ago.
fn draft<'a>(n: usize, buyer: &'a Buyer, skus: &'a [String], now: Timestamp) -> Draft<'a> {
    let placed = now - SignedDuration::from_hours(24 * 5);
    let lines = skus.iter().enumerate().map(|(k, sku)| Line {
        item: Item {
            sku,
            title: "Product",
            category: ["shirts", "shoes", "kitchen"][k % 3],
            tags: &["bench"],
            final_sale: false,
        },
        quantity: 1 + (n % 2) as u32,
        unit_price: 4999 + (n % 100) as i64 * 100,
        discount: 0,
        tax: 0,
    });
    let parcel = Parcel {
        carrier: "InPost".into(),
        tracking_number: Some(format!("T{n}")),
        status: TrackingStatus::Delivered,
        shipped_at: Some(placed + SignedDuration::from_hours(12)),
        delivered_at: Some(now - SignedDuration::from_hours(48)),
        promised_by: None,
        lines: 0..skus.len(),
    };
    Draft {
        number: format!("B{n}"),
        buyer,
        currency: Currency::PLN,
        placed_at: placed,
        payment_method: if n.is_multiple_of(5) {
            PaymentMethod::CashOnDelivery
        } else {
            PaymentMethod::Card
        },
        shipping_paid: 1499,
        cheapest_shipping: 1499,
        lines: lines.collect(),
        parcels: vec![parcel],
    }
}

/// Which customer order `n` is: the first `heavy` orders are all customer 0's
/// (who also has their share of the rest), the others spread evenly.
fn customer_of(n: usize, customers: usize, heavy: usize) -> usize {
    if n < heavy { 0 } else { n % customers }
}

/// The customer of order `n`, one of `customers`.
fn buyer(n: usize, customers: usize, heavy: usize, address: &Address) -> Buyer {
    Buyer {
        name: NAME.into(),
        email: format!("customer{}@example.pl", customer_of(n, customers, heavy)),
        locale: Locale::Pl,
        address: address.clone(),
    }
}

async fn build(which: Target, args: &Args) -> anyhow::Result<Dataset> {
    let (opts, dir) = match which {
        Target::Sqlite => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            (ConnectOptions::new(url), Some(dir))
        }
        Target::Postgres => {
            let schema = schema_name();
            kembali_store::db::drop_schema(&args.postgres_url, &schema)
                .await
                .context("drop a leftover schema")?;
            let mut o = ConnectOptions::new(args.postgres_url.clone());
            o.schema = Some(schema);
            if let Some(pool) = args.pool {
                o.max_connections = pool;
            }
            (o, None)
        }
    };
    let db = Db::connect(&opts).await.context("connect")?;
    kembali_store::migrate::migrate(&db).await?;
    let now = Timestamp::now();
    let shop = Shop {
        id: ShopId::new(now, entropy(1)),
        slug: "bench".into(),
        name: "Bench".into(),
        currency: Currency::PLN,
        time_zone: "Europe/Warsaw".into(),
        default_locale: Locale::Pl,
        country: Country::try_from("PL".to_owned())?,
        return_prefix: "R-".into(),
    };
    let mut tx = db.begin().await?;
    shops::create(&mut tx, &shop, &PolicyDocument::eu_preset(), now).await?;
    let key = shops::create_api_key(&mut tx, shop.id, "bench", now).await?;
    tx.commit().await?;
    let n_customers = args.customers.unwrap_or(args.orders / 4).max(1);
    let address = Address {
        name: NAME.into(),
        line1: "ul. Długa 1".into(),
        line2: None,
        city: "Gdańsk".into(),
        postal_code: "80-001".into(),
        country: shop.country.clone(),
        phone: None,
    };

    // Through the CSV import's bulk path, `--batch` orders per file and
    // transaction, parsed, checked and written by `kembali_app::import::orders`
    // as `kembali import orders` does. The files are written first, by one
    // thread a loader, and the clock runs over the import alone: writing the
    // synthetic CSV is the harness's work, and on two cores it would take CPU
    // from the import it is measuring. PostgreSQL takes two loaders at once;
    // each has its own customers (by the customer's number), so neither waits
    // on the other's uncommitted customer rows. SQLite's one writer would only
    // queue a second loader.
    let loaders = match which {
        Target::Sqlite => 1usize,
        Target::Postgres => 2,
    };
    let batch = args.batch.max(1);
    let orders = args.orders;
    let heavy = args.heavy.min(orders);
    let writing = Instant::now();
    let mut writers = Vec::new();
    for l in 0..loaders {
        let address = address.clone();
        writers.push(tokio::task::spawn_blocking(
            move || -> anyhow::Result<Vec<(Vec<u8>, usize)>> {
                let mut files = Vec::new();
                let mut mine = (0..orders)
                    .filter(|&n| customer_of(n, n_customers, heavy) % loaders == l)
                    .peekable();
                while mine.peek().is_some() {
                    let mut w = csv::Writer::from_writer(Vec::with_capacity(batch * 800));
                    import::write_header(&mut w)?;
                    let mut count = 0;
                    for n in mine.by_ref().take(batch) {
                        let (buyer, skus) = (buyer(n, n_customers, heavy, &address), skus(n));
                        import::write(&mut w, &draft(n, &buyer, &skus, now).input())?;
                        count += 1;
                    }
                    files.push((w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?, count));
                }
                Ok(files)
            },
        ));
    }
    let mut per_loader = Vec::new();
    for w in writers {
        per_loader.push(w.await??);
    }
    let (bytes, written): (usize, f64) = (
        per_loader.iter().flatten().map(|(f, _)| f.len()).sum(),
        writing.elapsed().as_secs_f64(),
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mine in per_loader {
        let (app, shop) = (App::new(db.clone()), shop.clone());
        tasks.push(tokio::spawn(async move {
            let mut files = 0usize;
            for (file, count) in mine {
                let mut tx = app.db.begin().await?;
                let report =
                    import::orders(&app, &mut tx, &shop, &file, import::Options::default())
                        .await
                        .map_err(|e| match e {
                            kembali_app::AppError::ImportRefused(r) => anyhow::anyhow!(
                                "the bench's file was refused: {:?}",
                                r.bad_rows.first()
                            ),
                            other => other.into(),
                        })?;
                tx.commit().await?;
                files += 1;
                if report.created as usize != count {
                    bail!("imported {} of {count} orders", report.created);
                }
            }
            Ok::<_, anyhow::Error>(files)
        }));
    }
    let mut files = 0usize;
    for t in tasks {
        files += t.await??;
    }
    // Statistics once, at the end, for the measurements that follow (what
    // PostgreSQL's autovacuum would soon do by itself). Analysing while the
    // tables grew, at doubling sizes as before, cost some 7 s of a million
    // orders on PostgreSQL and changed no plan the import uses: each of its
    // statements finds rows by a unique key.
    db.analyze().await?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{which:?}: imported {} orders in {secs:.1} s ({:.0} orders/s), {files} files of up to \
         {batch} orders ({} MB of CSV, written beforehand in {written:.1} s), {loaders} \
         loader(s)",
        args.orders,
        args.orders as f64 / secs,
        bytes / 1_000_000
    );
    let mut conn = db.conn().await?;
    let all = kembali_store::bulk::first_lines(&mut conn, shop.id).await?;
    let mut heavy_orders = Vec::with_capacity(heavy);
    for n in 0..heavy {
        let (order, _) = kembali_store::orders::get_by_number(&mut conn, shop.id, &format!("B{n}"))
            .await?
            .context("a heavy customer's order is missing")?;
        heavy_orders.push(order.id);
    }
    drop(conn);
    if all.len() != args.orders {
        bail!(
            "{} orders in the database, {} loaded",
            all.len(),
            args.orders
        );
    }
    Ok(Dataset {
        app: App::new(db.clone()),
        db,
        shop,
        key: key.secret,
        orders: all,
        heavy: heavy_orders,
        sqlite_file: dir.as_ref().map(|d| d.path().join("bench.db")),
        _dir: dir,
    })
}

/// Which order the `t`-th task's `i`-th look-up reads.
type OrderPick = fn(&Dataset, usize, usize) -> OrderId;

/// What one operation came to: `None` when the task has used up its share of the
/// data set, else success or what went wrong.
type Outcome = Option<Result<(), String>>;

/// How long an operation may run past the deadline before it counts as failed,
/// so every row ends by itself.
const GRACE: Duration = Duration::from_secs(30);

/// Runs `op` from `concurrency` tasks until the deadline; `op` gets (task, i).
async fn measure<F, Fut>(
    db: &'static str,
    name: &'static str,
    concurrency: usize,
    secs: u64,
    op: F,
) -> Stats
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Outcome> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut first_error = None;
            let mut exhausted = false;
            let mut i = 0usize;
            while Instant::now() < deadline {
                let s = Instant::now();
                let outcome = tokio::time::timeout_at((deadline + GRACE).into(), op(t, i)).await;
                match outcome {
                    Ok(Some(Ok(()))) => {
                        lat.push(u32::try_from(s.elapsed().as_micros()).unwrap_or(u32::MAX))
                    }
                    Ok(Some(Err(e))) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                    Ok(None) => {
                        exhausted = true;
                        break;
                    }
                    Err(_) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| "timed out".to_owned());
                        break;
                    }
                }
                i += 1;
            }
            (lat, errors, first_error, exhausted)
        }));
    }
    let mut stats = Stats {
        db,
        op: name,
        count: 0,
        errors: 0,
        secs: 0.0,
        lat_us: Vec::new(),
        exhausted: false,
        first_error: None,
    };
    for t in tasks {
        match t.await {
            Ok((l, e, first, exhausted)) => {
                stats.lat_us.extend(l);
                stats.errors += e;
                stats.exhausted |= exhausted;
                if stats.first_error.is_none() {
                    stats.first_error = first;
                }
            }
            Err(e) => {
                stats.errors += 1;
                stats.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    stats.secs = started.elapsed().as_secs_f64();
    stats.lat_us.sort_unstable();
    stats.count = stats.lat_us.len();
    if let Some(e) = &stats.first_error {
        eprintln!("{db} / {name}: {} errors, the first: {e}", stats.errors);
    }
    stats
}

/// The order a look-up task asks about next: spread over the whole data set.
fn pick(t: usize, i: usize, n: usize) -> usize {
    (t.wrapping_mul(7919).wrapping_add(i.wrapping_mul(104_729))) % n
}

/// Order look-ups with a decision for every line on random orders, as
/// `GET /orders/{id}/eligibility` makes them: a probe for one unit, then the
/// decision for every unit that can still come back.
async fn lookups(
    ds: &Arc<Dataset>,
    label: &'static str,
    name: &'static str,
    c: usize,
    d: u64,
) -> Stats {
    let s = ds.clone();
    let n = ds.orders.len();
    measure(label, name, c, d, move |t, i| {
        let s = s.clone();
        async move {
            let (order, _) = s.orders[pick(t, i, n)];
            Some(lookup(&s, order).await)
        }
    })
    .await
}

async fn lookup(s: &Dataset, order: OrderId) -> Result<(), String> {
    eligibility::eligibility(&s.app, &s.shop, order, &Question::default())
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

async fn create_return(s: &Dataset, order: OrderId, line: LineId) -> Result<(), String> {
    let app = &s.app;
    let mut tx = s.db.begin().await.map_err(|e| e.to_string())?;
    let req = ReturnRequest {
        order_id: order,
        method: ReturnMethod::DropOff,
        items: vec![ItemRequest {
            line_id: line,
            quantity: 1,
            reason: ReturnReason::WrongSize,
            comment: None,
            photos: vec![],
            resolution: Resolution::Refund,
            exchange_variant_id: None,
            claim: None,
            condition: None,
        }],
        // Allowed for every payment method, cash on delivery included.
        refund_destination: Some(DestinationRequest::StoreCredit {}),
        dropoff_point: None,
    };
    kembali_app::returns::open(app, &mut tx, &s.shop, &req, Actor::System)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}

/// What an HTTP answer came to, its body read.
async fn http(req: reqwest::RequestBuilder, want: u16) -> Result<(), String> {
    let res = req.send().await.map_err(|e| chain(&e))?;
    let status = res.status().as_u16();
    let body = res.bytes().await.map_err(|e| chain(&e))?;
    if status == want {
        Ok(())
    } else {
        Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ))
    }
}

/// An error with its causes: reqwest's own text ("error sending request")
/// does not say what failed underneath.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

async fn run_suite(which: Target, label: &'static str, args: &Args) -> anyhow::Result<Vec<Stats>> {
    let result = suite(which, label, args).await;
    if which == Target::Postgres {
        let schema = schema_name();
        if args.keep {
            eprintln!("kept schema {schema}");
        } else {
            kembali_store::db::drop_schema(&args.postgres_url, &schema)
                .await
                .context("drop the benchmark's schema")?;
        }
    }
    result
}

async fn suite(which: Target, label: &'static str, args: &Args) -> anyhow::Result<Vec<Stats>> {
    let ds = Arc::new(build(which, args).await?);
    if args.load_only {
        return Ok(Vec::new());
    }
    let c = args.concurrency;
    let d = args.duration;
    let n = ds.orders.len();
    let mut out = Vec::new();
    // Each order is returned at most once: the first half for direct creation,
    // the second half through HTTP, split evenly among the tasks.
    let half = n / 2;
    let slice = (half / c).max(1);

    if args.wants("point read") {
        out.extend(drivers(&ds, label, c, d).await?);
    }
    if args.wants("lookup + eligibility (direct)") {
        out.push(lookups(&ds, label, "lookup + eligibility (direct)", c, d).await);
    }

    let s = ds.clone();
    let direct_returns = "return creation (direct)";
    if args.wants(direct_returns) {
        out.push(
            measure(label, direct_returns, c, d, move |t, i| {
                let s = s.clone();
                async move {
                    let k = t * slice + i;
                    if i >= slice || k >= half {
                        return None;
                    }
                    let (order, line) = s.orders[k];
                    Some(create_return(&s, order, line).await)
                }
            })
            .await,
        );
    }

    // What autovacuum's ANALYZE does within a minute in production: without it,
    // PostgreSQL keeps plans made while the return tables were empty.
    ds.db.analyze().await?;
    let after = "lookup + eligibility, after returns (direct)";
    if args.wants(after) {
        out.push(lookups(&ds, label, after, c, d).await);
    }

    let server = Server::start(&ds, which, args).await?;
    let base = server.base().to_owned();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(c)
        .timeout(GRACE)
        .no_proxy()
        .build()?;

    let rss = Rss::sample(server.pid());
    let (cl, b) = (client.clone(), base.clone());
    out.push(
        measure(label, "GET /healthz (HTTP)", c, d, move |_, _| {
            let req = cl.get(format!("{b}/healthz"));
            async move { Some(http(req, 200).await) }
        })
        .await,
    );
    let get = |name: &'static str, path: &'static str, pick_order: OrderPick| {
        let (cl, b, s) = (client.clone(), base.clone(), ds.clone());
        measure(label, name, c, d, move |t, i| {
            let order = pick_order(&s, t, i);
            let req = cl
                .get(format!("{b}/api/v1/orders/{order}{path}"))
                .bearer_auth(&s.key);
            async move { Some(http(req, 200).await) }
        })
    };
    let any: OrderPick = |s, t, i| s.orders[pick(t, i, s.orders.len())].0;
    let heavy: OrderPick = |s, t, i| s.heavy[pick(t, i, s.heavy.len())];
    for (name, path, order, has_orders) in [
        (
            "GET /orders/{id}/eligibility (HTTP)",
            "/eligibility",
            any,
            true,
        ),
        ("GET /orders/{id} (HTTP)", "", any, true),
        (
            "GET /orders/{id}/eligibility, the heavy customer (HTTP)",
            "/eligibility",
            heavy,
            !ds.heavy.is_empty(),
        ),
    ] {
        if has_orders && args.wants(name) {
            out.push(get(name, path, order).await);
        }
    }
    if args.wants("POST /returns (HTTP)") {
        let (cl, b, s) = (client.clone(), base.clone(), ds.clone());
        out.push(
            measure(label, "POST /returns (HTTP)", c, d, move |t, i| {
                let k = half + t * slice + i;
                let req = (i < slice && k < n).then(|| {
                    let (order, line) = s.orders[k];
                    let body = serde_json::json!({"order_id": order, "method": "drop_off",
                        "items": [{"line_id": line, "quantity": 1, "reason": "wrong_size",
                                   "resolution": "refund"}],
                        // As the direct row: allowed for every payment method.
                        "refund_destination": {"kind": "store_credit"}});
                    cl.post(format!("{b}/api/v1/returns"))
                        .bearer_auth(&s.key)
                        .json(&body)
                });
                async move {
                    match req {
                        Some(req) => Some(http(req, 201).await),
                        None => None,
                    }
                }
            })
            .await,
        );
    }
    let (before, peak) = rss.stop().await;
    eprintln!(
        "{label}: resident memory of {} during the HTTP rows: {before:.0} MB before, \
         {peak:.0} MB at most",
        server.what()
    );
    server.stop().await;
    ds.db.close().await;
    Ok(out)
}

/// Where the HTTP rows are served from.
enum Server {
    /// `kembali serve` as a process of its own.
    Process {
        base: String,
        child: std::process::Child,
    },
    /// The app in this process.
    InProcess {
        base: String,
        stop: tokio::sync::oneshot::Sender<()>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    },
}

impl Server {
    async fn start(ds: &Dataset, which: Target, args: &Args) -> anyhow::Result<Server> {
        let bin = match args.server_bin.as_deref() {
            Some("in-process") => None,
            Some(path) => Some(std::path::PathBuf::from(path)),
            None => std::env::current_exe()
                .ok()
                .and_then(|e| Some(e.parent()?.join("kembali")))
                .filter(|p| p.is_file()),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        let Some(bin) = bin else {
            let listener = tokio::net::TcpListener::from_std({
                listener.set_nonblocking(true)?;
                listener
            })?;
            let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
            let state = kembali_web::AppState::new(ds.app.clone());
            let task = tokio::spawn(async move {
                kembali_web::serve(listener, state, async move {
                    let _ = stop_rx.await;
                })
                .await
            });
            return Ok(Server::InProcess { base, stop, task });
        };
        drop(listener);
        let url = match (which, &ds.sqlite_file) {
            (Target::Sqlite, Some(file)) => format!("sqlite://{}", file.display()),
            _ => format!(
                "{}?options=-c%20search_path%3D{}",
                args.postgres_url,
                schema_name()
            ),
        };
        let mut command = std::process::Command::new(&bin);
        command
            .arg("serve")
            .env("KEMBALI_DATABASE_URL", url)
            .env("KEMBALI_ADDR", addr.to_string())
            .env_remove("KEMBALI_MAX_CONNECTIONS")
            .env("KEMBALI_LOG", "warn");
        if let Some(pool) = args.pool {
            command.env("KEMBALI_MAX_CONNECTIONS", pool.to_string());
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let client = reqwest::Client::new();
        let ready = Instant::now();
        while client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .map_or(true, |r| !r.status().is_success())
        {
            if ready.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                bail!("{} did not get ready within 30 s", bin.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Server::Process { base, child })
    }

    fn base(&self) -> &str {
        match self {
            Server::Process { base, .. } | Server::InProcess { base, .. } => base,
        }
    }

    /// The server's process id (this process's when in process).
    fn pid(&self) -> Option<u32> {
        match self {
            Server::Process { child, .. } => Some(child.id()),
            Server::InProcess { .. } => None,
        }
    }

    fn what(&self) -> &'static str {
        match self {
            Server::Process { .. } => "the `kembali serve` process (server and worker)",
            Server::InProcess { .. } => {
                "the whole harness process (server, client and data set in one)"
            }
        }
    }

    async fn stop(self) {
        match self {
            Server::Process { mut child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Server::InProcess { stop, task, .. } => {
                let _ = stop.send(());
                match tokio::time::timeout(GRACE, task).await {
                    Ok(Ok(Ok(()))) => {}
                    Ok(Ok(Err(e))) => eprintln!("the server stopped with an error: {e}"),
                    Ok(Err(e)) => eprintln!("the server task failed: {e}"),
                    Err(_) => eprintln!("the server did not stop within {GRACE:?}"),
                }
            }
        }
    }
}

/// A process's resident memory, sampled every 100 ms while it runs.
struct Rss {
    before: f64,
    peak: Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Rss {
    /// VmRSS of the process in MB (this one's for `None`), from /proc (0
    /// where there is none).
    fn now(pid: Option<u32>) -> f64 {
        let path = pid.map_or_else(
            || "/proc/self/status".to_owned(),
            |p| format!("/proc/{p}/status"),
        );
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0)
    }

    fn sample(pid: Option<u32>) -> Rss {
        let before = Rss::now(pid);
        let peak = Arc::new(std::sync::atomic::AtomicU64::new(before.to_bits()));
        let p = peak.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let now = Rss::now(pid);
                if now > f64::from_bits(p.load(std::sync::atomic::Ordering::Relaxed)) {
                    p.store(now.to_bits(), std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        Rss { before, peak, task }
    }

    async fn stop(self) -> (f64, f64) {
        self.task.abort();
        let _ = self.task.await;
        (
            self.before,
            f64::from_bits(self.peak.load(std::sync::atomic::Ordering::Relaxed)),
        )
    }
}

/// The SQLite driver question (issue 11): one point read of an order row by its
/// key, through sqlx's pool (what the store uses) and through rusqlite, a
/// synchronous driver, on tokio's blocking pool with one connection per core
/// (as many readers as the store's pool has).
async fn drivers(
    ds: &Arc<Dataset>,
    label: &'static str,
    c: usize,
    d: u64,
) -> anyhow::Result<Vec<Stats>> {
    let Some(file) = ds.sqlite_file.clone() else {
        return Ok(Vec::new());
    };
    let n = ds.orders.len();
    const SQL: &str = "SELECT id, number, email, currency, placed_at, payment_method \
                       FROM orders WHERE shop_id = ?1 AND id = ?2";
    let s = ds.clone();
    let sqlx_row = measure(
        label,
        "point read of an order row: sqlx",
        c,
        d,
        move |t, i| {
            let s = s.clone();
            async move {
                let (order, _) = s.orders[pick(t, i, n)];
                let r = async {
                    let mut conn = s.db.conn().await.map_err(|e| e.to_string())?;
                    let kembali_store::db::Inner::Sqlite(c) =
                        kembali_store::Session::inner(&mut conn)
                    else {
                        return Err("not SQLite".to_owned());
                    };
                    sqlx::query_as::<_, (String, String, String, String, i64, String)>(SQL)
                        .bind(s.shop.id.to_string())
                        .bind(order.to_string())
                        .fetch_one(&mut *c)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
                .await;
                Some(r)
            }
        },
    )
    .await;
    let readers = std::thread::available_parallelism().map_or(2, |p| p.get());
    let mut conns = Vec::new();
    for _ in 0..readers {
        let c = rusqlite::Connection::open_with_flags(
            &file,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(Duration::from_secs(5))?;
        conns.push(std::sync::Mutex::new(c));
    }
    let conns = Arc::new(conns);
    let s = ds.clone();
    let rusqlite_row = measure(
        label,
        "point read of an order row: rusqlite (blocking pool)",
        c,
        d,
        move |t, i| {
            let (s, conns) = (s.clone(), conns.clone());
            async move {
                let (order, _) = s.orders[pick(t, i, n)];
                let shop = s.shop.id.to_string();
                let r = tokio::task::spawn_blocking(move || {
                    let conn = conns[t % conns.len()]
                        .lock()
                        .map_err(|_| "a poisoned connection".to_owned())?;
                    let mut stmt = conn.prepare_cached(SQL).map_err(|e| e.to_string())?;
                    stmt.query_row(rusqlite::params![shop, order.to_string()], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, String>(5)?,
                        ))
                    })
                    .map(|_| ())
                    .map_err(|e| e.to_string())
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r);
                Some(r)
            }
        },
    )
    .await;
    Ok(vec![sqlx_row, rusqlite_row])
}

fn print(results: &[Stats], args: &Args) {
    println!(
        "\n{} orders, {} concurrent clients, {} s per row\n",
        args.orders, args.concurrency, args.duration
    );
    println!(
        "| database | operation | ops | errors | ops/s | p50 ms | p99 ms | max ms | ÷ /healthz |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in results {
        let ceiling = results
            .iter()
            .find(|h| h.db == r.db && h.op.starts_with("GET /healthz"))
            .map(Stats::throughput)
            .unwrap_or(0.0);
        let ratio = if r.op.ends_with("(HTTP)") && ceiling > 0.0 {
            format!("{:.1} %", 100.0 * r.throughput() / ceiling)
        } else {
            "—".into()
        };
        println!(
            "| {} | {}{} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            r.db,
            r.op,
            if r.exhausted { " ¹" } else { "" },
            r.count,
            r.errors,
            r.throughput(),
            r.pct(0.50),
            r.pct(0.99),
            r.max(),
            ratio
        );
    }
    if results.iter().any(|r| r.exhausted) {
        println!(
            "\n¹ ran out of not-yet-returned orders before the deadline; ops/s is over the \
             time it ran (use more --orders)."
        );
    }
}

/// The allocator the `kembali` binary uses, so the direct rows measure what it would.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.concurrency == 0 || args.duration == 0 {
        bail!("--concurrency and --duration must be at least 1");
    }
    if args.orders < args.concurrency * 4 {
        bail!("--orders must be at least four times --concurrency");
    }
    let mut targets = Vec::new();
    if matches!(args.database, Which::Sqlite | Which::Both) {
        targets.push((Target::Sqlite, "SQLite"));
    }
    if matches!(args.database, Which::Postgres | Which::Both) {
        targets.push((Target::Postgres, "PostgreSQL"));
    }
    let mut results = Vec::new();
    for (target, label) in targets {
        let r = run_suite(target, label, &args).await?;
        print(&r, &args);
        results.extend(r);
    }
    if args.database == Which::Both {
        print(&results, &args);
    }
    Ok(())
}
