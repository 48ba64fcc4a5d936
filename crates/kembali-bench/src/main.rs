//! Kembali's benchmark harness: builds a data set of a chosen size on SQLite
//! and/or PostgreSQL, then measures order look-up with eligibility and return
//! creation directly and through HTTP under concurrent load, beside a bare
//! `/healthz` as the framework's ceiling. Prints a Markdown table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use jiff::{SignedDuration, Timestamp};
use kembali_core::order::{
    Address, Order, OrderLine, PaymentMethod, Shipment, ShipmentLine, TrackingStatus,
};
use kembali_core::policy::PolicyDocument;
use kembali_core::returns::{Actor, Resolution, ReturnMethod, ReturnReason};
use kembali_core::shop::{Country, Locale, Shop};
use kembali_core::{Currency, CustomerId, LineId, Money, OrderId, ShipmentId, ShopId};
use kembali_store::returns::{self, OpenItem};
use kembali_store::{ConnectOptions, Db, orders, shops};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Which {
    Sqlite,
    Postgres,
    Both,
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
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres_url: String,
    /// Keep the PostgreSQL schema afterwards (to inspect query plans).
    #[arg(long)]
    keep: bool,
}

struct Stats {
    db: &'static str,
    op: &'static str,
    count: usize,
    errors: usize,
    secs: f64,
    lat_us: Vec<u32>,
}

impl Stats {
    fn throughput(&self) -> f64 {
        self.count as f64 / self.secs
    }
    fn pct(&self, p: f64) -> f64 {
        if self.lat_us.is_empty() {
            return 0.0;
        }
        let i = ((self.lat_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.lat_us[i.min(self.lat_us.len() - 1)]) / 1000.0
    }
}

struct Dataset {
    db: Db,
    shop: Shop,
    key: String,
    orders: Vec<(OrderId, LineId)>,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

fn entropy(n: u64) -> u128 {
    u128::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835) ^ kembali_store::entropy()
}

/// One synthetic order: 1–3 lines, delivered two days ago.
fn make_order(
    shop: ShopId,
    n: usize,
    customer: CustomerId,
    customers_len: usize,
    country: &Country,
    now: Timestamp,
) -> (Order, Vec<Shipment>) {
    let pln = |v| Money::new(v, Currency::PLN);
    let placed = now - SignedDuration::from_hours(24 * 5);
    let lines: Vec<OrderLine> = (0..(1 + n % 3))
        .map(|k| OrderLine {
            id: LineId::new(placed, entropy(n as u64 * 4 + k as u64)),
            product_id: None,
            variant_id: None,
            sku: format!("SKU-{}", (n * 7 + k) % 500),
            title: "Product".into(),
            category: Some(["shirts", "shoes", "kitchen"][k % 3].into()),
            tags: vec!["bench".into()],
            final_sale: false,
            quantity: 1 + (n % 2) as u32,
            unit_price: pln(4999 + (n % 100) as i64 * 100),
            discount: pln(0),
            tax: pln(0),
        })
        .collect();
    let order = Order {
        id: OrderId::new(placed, entropy(n as u64)),
        shop_id: shop,
        number: format!("B{n}"),
        customer_id: Some(customer),
        email: format!("customer{}@example.pl", n % customers_len),
        locale: Locale::Pl,
        currency: Currency::PLN,
        placed_at: placed,
        payment_method: if n.is_multiple_of(5) {
            PaymentMethod::CashOnDelivery
        } else {
            PaymentMethod::Card
        },
        taxes_included: true,
        shipping_address: Address {
            name: "Jan Kowalski".into(),
            line1: "ul. Długa 1".into(),
            line2: None,
            city: "Gdańsk".into(),
            postal_code: "80-001".into(),
            country: country.clone(),
            phone: None,
        },
        shipping_paid: pln(1499),
        cheapest_shipping: pln(1499),
        lines,
    };
    let shipment = Shipment {
        id: ShipmentId::new(placed, entropy(n as u64 + 1)),
        order_id: order.id,
        carrier: "InPost".into(),
        tracking_number: Some(format!("T{n}")),
        status: TrackingStatus::Delivered,
        shipped_at: Some(placed + SignedDuration::from_hours(12)),
        delivered_at: Some(now - SignedDuration::from_hours(48)),
        promised_by: None,
        lines: order
            .lines
            .iter()
            .map(|l| ShipmentLine {
                line_id: l.id,
                quantity: l.quantity,
            })
            .collect(),
    };
    (order, vec![shipment])
}

async fn build(which: Which, args: &Args) -> anyhow::Result<Dataset> {
    let (opts, dir, schema) = match which {
        Which::Sqlite | Which::Both => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            (ConnectOptions::new(url), Some(dir), None)
        }
        Which::Postgres => {
            let schema = format!("kbench_{}", std::process::id());
            let _ = kembali_store::db::drop_schema(&args.postgres_url, &schema).await;
            let mut o = ConnectOptions::new(args.postgres_url.clone());
            o.schema = Some(schema.clone());
            o.max_connections = (args.concurrency as u32).max(8);
            (o, None, Some(schema))
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
    let n_customers = args.customers.unwrap_or(args.orders / 4).max(1);
    let mut customers = Vec::with_capacity(n_customers);
    for c in 0..n_customers {
        customers.push(
            orders::ensure_customer(
                &mut tx,
                shop.id,
                &format!("customer{c}@example.pl"),
                "Jan",
                Locale::Pl,
                now,
            )
            .await?,
        );
    }
    tx.commit().await?;

    let started = Instant::now();
    // Loaders in parallel (PostgreSQL takes them; SQLite queues them on its writer).
    let loaders = 4usize;
    let per = args.orders.div_ceil(loaders);
    let customers = Arc::new(customers);
    let mut tasks = Vec::new();
    for l in 0..loaders {
        let db = db.clone();
        let customers = customers.clone();
        let shop_id = shop.id;
        let country = shop.country.clone();
        let range = (l * per)..((l + 1) * per).min(args.orders);
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(range.len());
            let mut tx = db.begin().await?;
            for (i, n) in range.enumerate() {
                let (order, shipments) = make_order(
                    shop_id,
                    n,
                    customers[n % customers.len()],
                    customers.len(),
                    &country,
                    now,
                );
                orders::insert(&mut tx, &order, &shipments, now).await?;
                ids.push((n, order.id, order.lines[0].id));
                if i % 500 == 499 {
                    tx.commit().await?;
                    // Fresh statistics while the tables grow (see Db::analyze).
                    if l == 0 && (i + 1) % 5000 == 0 {
                        db.analyze().await?;
                    }
                    tx = db.begin().await?;
                }
            }
            tx.commit().await?;
            Ok::<_, kembali_store::StoreError>(ids)
        }));
    }
    let mut all = Vec::with_capacity(args.orders);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(n, _, _)| *n);
    db.analyze().await?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{which:?}: loaded {} orders in {secs:.1} s ({:.0} orders/s)",
        args.orders,
        args.orders as f64 / secs
    );
    Ok(Dataset {
        db,
        shop,
        key: key.secret,
        orders: all.into_iter().map(|(_, o, l)| (o, l)).collect(),
        schema,
        _dir: dir,
    })
}

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
    Fut: std::future::Future<Output = Option<bool>> + Send,
{
    let op = Arc::new(op);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut i = 0usize;
            while Instant::now() < deadline {
                let s = Instant::now();
                match op(t, i).await {
                    Some(true) => {
                        lat.push(u32::try_from(s.elapsed().as_micros()).unwrap_or(u32::MAX))
                    }
                    Some(false) => errors += 1,
                    // This task has used up its share of the data set.
                    None => break,
                }
                i += 1;
            }
            (lat, errors)
        }));
    }
    let mut lat_us = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            lat_us.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat_us.sort_unstable();
    Stats {
        db,
        op: name,
        count: lat_us.len(),
        errors,
        secs: elapsed,
        lat_us,
    }
}

/// Order look-ups with a decision for every line, on random orders.
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
            let (order, _) = s.orders[(t * 7919 + i * 104_729) % n];
            let Ok(mut conn) = s.db.conn().await else {
                return Some(false);
            };
            let Ok(Some(ctx)) = returns::context(&mut conn, s.shop.id, order).await else {
                return Some(false);
            };
            let now = Timestamp::now();
            Some(ctx.order.lines.iter().all(|l| {
                ctx.facts(&s.shop, l.id, 1, None, 0, now)
                    .is_some_and(|f| ctx.decide(&f).is_ok())
            }))
        }
    })
    .await
}

async fn run_suite(which: Which, label: &'static str, args: &Args) -> anyhow::Result<Vec<Stats>> {
    let ds = Arc::new(build(which, args).await?);
    let c = args.concurrency;
    let d = args.duration;
    let n = ds.orders.len();
    let mut out = Vec::new();
    // Each order is returned at most once: the first half for direct creation,
    // the second half through HTTP, split evenly among the tasks.
    let half = n / 2;
    let slice = (half / c).max(1);

    out.push(lookups(&ds, label, "lookup + eligibility (direct)", c, d).await);

    let s = ds.clone();
    out.push(
        measure(label, "return creation (direct)", c, d, move |t, i| {
            let s = s.clone();
            async move {
                if i >= slice {
                    return None;
                }
                let (order, line) = s.orders[t * slice + i];
                let Ok(mut tx) = s.db.begin().await else {
                    return Some(false);
                };
                let item = OpenItem {
                    line_id: line,
                    quantity: 1,
                    reason: ReturnReason::WrongSize,
                    comment: None,
                    photos: vec![],
                    resolution: Resolution::Refund,
                };
                let opened = returns::open(
                    &mut tx,
                    &s.shop,
                    order,
                    ReturnMethod::DropOff,
                    &[item],
                    Actor::System,
                    Timestamp::now(),
                )
                .await;
                Some(opened.is_ok() && tx.commit().await.is_ok())
            }
        })
        .await,
    );

    // What autovacuum's ANALYZE does within a minute in production: without it,
    // PostgreSQL keeps plans made while the return tables were empty.
    ds.db.analyze().await?;
    out.push(
        lookups(
            &ds,
            label,
            "lookup + eligibility, after returns (direct)",
            c,
            d,
        )
        .await,
    );

    // HTTP: the real app on a loopback port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let state = kembali_web::AppState { db: ds.db.clone() };
    let server = tokio::spawn(async move {
        let _ = kembali_web::serve(listener, state, async move {
            let _ = stop_rx.await;
        })
        .await;
    });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(c)
        .build()?;

    let (cl, b) = (client.clone(), base.clone());
    out.push(
        measure(label, "GET /healthz (HTTP)", c, d, move |_, _| {
            let (cl, url) = (cl.clone(), format!("{b}/healthz"));
            async move {
                Some(
                    cl.get(url)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success()),
                )
            }
        })
        .await,
    );
    let (cl, b, s) = (client.clone(), base.clone(), ds.clone());
    out.push(
        measure(
            label,
            "GET /orders/{id}/eligibility (HTTP)",
            c,
            d,
            move |t, i| {
                let (order, _) = s.orders[(t * 7919 + i * 104_729) % n];
                let req = cl
                    .get(format!("{b}/api/v1/orders/{order}/eligibility"))
                    .bearer_auth(&s.key);
                async move { Some(req.send().await.is_ok_and(|r| r.status().is_success())) }
            },
        )
        .await,
    );
    let (cl, b, s) = (client.clone(), base.clone(), ds.clone());
    out.push(
        measure(label, "POST /returns (HTTP)", c, d, move |t, i| {
            let ok = i < slice && half + t * slice + i < n;
            let (order, line) = s.orders[if ok { half + t * slice + i } else { 0 }];
            let req_ok = ok;
            let body = serde_json::json!({"order_id": order, "method": "drop_off",
                "items": [{"line_id": line, "quantity": 1, "reason": "wrong_size", "resolution": "refund"}]});
            let req = cl.post(format!("{b}/api/v1/returns")).bearer_auth(&s.key).json(&body);
            async move {
                if !req_ok {
                    return None;
                }
                Some(req.send().await.is_ok_and(|r| r.status().as_u16() == 201))
            }
        })
        .await,
    );
    let _ = stop_tx.send(());
    let _ = server.await;
    ds.db.close().await;
    if let Some(schema) = &ds.schema {
        if args.keep {
            eprintln!("kept schema {schema}");
        } else {
            kembali_store::db::drop_schema(&args.postgres_url, schema).await?;
        }
    }
    Ok(out)
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
            "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            r.db,
            r.op,
            r.count,
            r.errors,
            r.throughput(),
            r.pct(0.50),
            r.pct(0.99),
            r.lat_us.last().map_or(0.0, |v| f64::from(*v) / 1000.0),
            ratio
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.orders < args.concurrency * 4 {
        bail!("--orders must be at least four times --concurrency");
    }
    let mut results = Vec::new();
    if matches!(args.database, Which::Sqlite | Which::Both) {
        let r = run_suite(Which::Sqlite, "SQLite", &args).await?;
        print(&r, &args);
        results.extend(r);
    }
    if matches!(args.database, Which::Postgres | Which::Both) {
        let r = run_suite(Which::Postgres, "PostgreSQL", &args).await?;
        print(&r, &args);
        results.extend(r);
    }
    if results.len() > 7 {
        print(&results, &args);
    }
    Ok(())
}
