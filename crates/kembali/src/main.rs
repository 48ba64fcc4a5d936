//! The `kembali` command line: parses the command and calls the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kembali::{Application, Config, Start, config, demo, open};
use kembali_store::{Db, shops};
use tokio::sync::watch;

#[derive(Parser)]
#[command(
    name = "kembali",
    version,
    about = "Self-hosted returns and post-purchase platform"
)]
struct Cli {
    /// A TOML configuration file (default: ./kembali.toml when present).
    #[arg(long, global = true, env = "KEMBALI_CONFIG")]
    config: Option<PathBuf>,
    /// Overrides `database_url` (also KEMBALI_DATABASE_URL).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the API and run background jobs.
    Serve {
        /// Listen here (also KEMBALI_ADDR), e.g. 127.0.0.1:8080.
        #[arg(long)]
        addr: Option<std::net::SocketAddr>,
        /// Seed the demo shop first (if it is not there yet).
        #[arg(long)]
        demo: bool,
        /// Do not run background jobs in this process.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run background jobs only.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Seed the demo shop with realistic orders and returns.
    Demo,
    /// Manage shops.
    Shop {
        #[command(subcommand)]
        command: ShopCmd,
    },
    /// Manage API keys.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCmd,
    },
    /// Connect a shop to the platforms its orders come from.
    Source {
        #[command(subcommand)]
        command: SourceCmd,
    },
    /// Import orders (docs/INTAKE.md, "CSV") or drop-off points
    /// (docs/SHIPPING.md) from a file.
    Import {
        #[command(subcommand)]
        command: ImportCmd,
    },
    /// Print the documented default configuration.
    DefaultConfig,
}

#[derive(Subcommand)]
enum ImportCmd {
    /// Orders from a CSV file, one row per order line. A file with a bad row
    /// imports nothing (each bad row is listed) unless --skip-bad-rows is given.
    Orders {
        /// The CSV file.
        file: PathBuf,
        /// The shop's slug or id.
        #[arg(long)]
        shop: String,
        /// Import the good orders and leave out each order with a bad row.
        #[arg(long)]
        skip_bad_rows: bool,
    },
    /// Drop-off points from a CSV file, one row per point (docs/SHIPPING.md).
    /// Points already imported (the same carrier and id) are updated; a file
    /// with a bad row imports nothing (each bad row is listed with its line).
    DropoffPoints {
        /// The CSV file.
        file: PathBuf,
        /// The shop's slug or id.
        #[arg(long)]
        shop: String,
    },
}

#[derive(Subcommand)]
enum SourceCmd {
    /// Add a Shopify store or a WooCommerce site; prints the webhook address.
    Add {
        #[command(subcommand)]
        platform: Platform,
    },
    /// List the sources (of one shop, or of all).
    List {
        /// The shop's slug or id.
        #[arg(long)]
        shop: Option<String>,
    },
    /// Give a source a new secret; the old one is accepted for a while longer.
    Rotate {
        /// The shop's slug or id.
        #[arg(long)]
        shop: String,
        /// The source (`src_…`).
        source: String,
        #[arg(long)]
        secret: String,
        /// Minutes the previous secret stays valid (Shopify needs up to an hour).
        #[arg(long, default_value_t = 60)]
        grace_minutes: u32,
    },
}

#[derive(Subcommand)]
enum Platform {
    /// A Shopify store: its webhooks are signed with the app's secret.
    Shopify {
        #[arg(long)]
        shop: String,
        /// The store's `…myshopify.com` domain.
        #[arg(long)]
        domain: String,
        /// The app's API secret key (or the store's webhook signing secret).
        #[arg(long)]
        secret: String,
        /// A payment gateway name that means cash on delivery (repeatable;
        /// default: Shopify's "Cash on Delivery (COD)").
        #[arg(long = "cod-gateway")]
        cod_gateways: Vec<String>,
    },
    /// A WooCommerce site: each webhook has the secret typed into it.
    Woocommerce {
        #[arg(long)]
        shop: String,
        /// The site's address, `https://…`.
        #[arg(long)]
        url: String,
        /// The webhook's secret.
        #[arg(long)]
        secret: String,
    },
}

#[derive(Subcommand)]
enum ShopCmd {
    /// Create a shop with its first return policy (the EU preset for a shop in
    /// the EU); prints its id.
    Create {
        /// Short, URL-safe name: 1–63 characters of a–z, 0–9 and `-`.
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// ISO 4217 code, e.g. PLN, IDR, EUR.
        #[arg(long)]
        currency: String,
        /// ISO 3166-1 alpha-2 code, e.g. PL, ID.
        #[arg(long)]
        country: String,
        /// IANA time zone, e.g. Europe/Warsaw.
        #[arg(long)]
        time_zone: String,
        /// The default language: en, id or pl.
        #[arg(long, default_value = "en")]
        locale: String,
    },
}

#[derive(Subcommand)]
enum ApikeyCmd {
    /// Create a key for a shop and print it (it is shown only this once).
    Create {
        /// The shop's slug or id.
        #[arg(long)]
        shop: String,
        /// A name to recognise the key by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// What the key may do: `read`, `write` (and read) or `admin` (everything).
        #[arg(long, default_value = "admin", value_parser = parse_scope)]
        scope: kembali_core::access::Scope,
    },
    /// List a shop's keys (never their secrets): id, prefix, scopes, name, revoked.
    List {
        /// The shop's slug or id.
        #[arg(long)]
        shop: String,
    },
    /// Revoke a key: it stops working within a few seconds on every instance.
    Revoke {
        /// The shop's slug or id.
        #[arg(long)]
        shop: String,
        /// The key (`key_…`).
        key: String,
    },
}

fn parse_scope(s: &str) -> Result<kembali_core::access::Scope, String> {
    kembali_core::access::Scope::parse(s)
        .ok_or_else(|| format!("`{s}` is not a scope (read, write, admin)"))
}

/// glibc's allocator spent a fifth of an import's time in `malloc_consolidate`
/// and friends (docs/BENCHMARKS.md, "Issue 14: the import under a minute").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, the whole cause chain, no backtrace.
            eprintln!("kembali: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Cmd::DefaultConfig = cli.command {
        print!("{}", config::DEFAULT_TOML);
        return Ok(());
    }
    let mut cfg = config::load(cli.config.as_deref())?;
    if let Some(url) = cli.database_url {
        cfg.database_url = url;
    }
    if let Cmd::Serve {
        addr: Some(addr), ..
    } = &cli.command
    {
        cfg.addr = *addr;
    }
    init_tracing(&cfg.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Cmd::Serve {
                demo, no_worker, ..
            } => serve(&cfg, demo, !no_worker).await,
            Cmd::Worker => worker_only(&cfg).await,
            Cmd::Migrate => {
                let db = open(&cfg).await?;
                println!(
                    "database is up to date ({})",
                    kembali_store::db::redact(&cfg.database_url)
                );
                db.close().await;
                Ok(())
            }
            Cmd::Demo => {
                let db = open(&cfg).await?;
                seed_demo(&db, cfg.addr).await?;
                db.close().await;
                Ok(())
            }
            Cmd::Apikey { command } => {
                let db = open(&cfg).await?;
                let result = apikey(&db, command).await;
                db.close().await;
                result
            }
            Cmd::Shop {
                command:
                    ShopCmd::Create {
                        slug,
                        name,
                        currency,
                        country,
                        time_zone,
                        locale,
                    },
            } => {
                use kembali_app::shops::{self as use_case, NewShop};
                let new = NewShop {
                    slug,
                    name,
                    currency: currency
                        .trim()
                        .to_ascii_uppercase()
                        .parse()
                        .map_err(|e| anyhow::anyhow!("--currency: {e}"))?,
                    country: country
                        .parse()
                        .map_err(|e| anyhow::anyhow!("--country: {e}"))?,
                    time_zone,
                    locale: kembali_core::shop::Locale::from_tag(&locale).ok_or_else(|| {
                        anyhow::anyhow!("--locale: `{locale}` is not en, id or pl")
                    })?,
                };
                let db = open(&cfg).await?;
                let app = kembali_app::App::new(db.clone());
                let mut tx = db.begin().await?;
                let shop = use_case::create(&app, &mut tx, &new).await?;
                tx.commit().await?;
                println!("{}", shop.id);
                eprintln!(
                    "Shop {} created; make it an API key with `kembali apikey create --shop {}`.",
                    shop.slug, shop.slug
                );
                db.close().await;
                Ok(())
            }
            Cmd::Source { command } => {
                let db = open(&cfg).await?;
                let result = source(&db, &cfg, command).await;
                db.close().await;
                result
            }
            Cmd::Import {
                command:
                    ImportCmd::Orders {
                        file,
                        shop,
                        skip_bad_rows,
                    },
            } => {
                let db = open(&cfg).await?;
                let result = import_orders(&db, &file, &shop, skip_bad_rows).await;
                db.close().await;
                result
            }
            Cmd::Import {
                command: ImportCmd::DropoffPoints { file, shop },
            } => {
                let db = open(&cfg).await?;
                let result = import_dropoff_points(&db, &file, &shop).await;
                db.close().await;
                result
            }
            Cmd::DefaultConfig => Ok(()),
        }
    })
}

/// The shop a command names by slug or id.
async fn find_shop(db: &Db, shop: &str) -> anyhow::Result<kembali_core::shop::Shop> {
    let mut conn = db.conn().await?;
    let found = match shop.parse::<kembali_core::ShopId>() {
        Ok(id) => shops::get(&mut conn, id).await,
        Err(_) => shops::get_by_slug(&mut conn, shop).await,
    };
    match found {
        Err(kembali_store::StoreError::NotFound) => anyhow::bail!("there is no shop `{shop}`"),
        other => Ok(other?),
    }
}

async fn apikey(db: &Db, command: ApikeyCmd) -> anyhow::Result<()> {
    use kembali_core::access::Scopes;
    let app = kembali_app::App::new(db.clone());
    match command {
        ApikeyCmd::Create { shop, name, scope } => {
            let shop = find_shop(db, &shop).await?;
            let mut tx = db.begin().await?;
            let key =
                kembali_app::api_keys::create(&app, &mut tx, shop.id, &name, &Scopes::new([scope]))
                    .await?;
            tx.commit().await?;
            println!("{}", key.secret);
            eprintln!(
                "API key {} ({}) for shop {} — shown only this once.",
                key.id,
                scope.as_str(),
                shop.slug
            );
        }
        ApikeyCmd::List { shop } => {
            let shop = find_shop(db, &shop).await?;
            let mut before = None;
            loop {
                let keys = kembali_app::api_keys::list(&app, shop.id, before, 200).await?;
                for k in &keys {
                    let revoked = k
                        .revoked_at
                        .map_or_else(|| "-".to_owned(), |t| t.to_string());
                    println!(
                        "{}\t{}…\t{}\t{}\t{}",
                        k.id,
                        k.prefix,
                        k.scopes.to_text(),
                        k.name,
                        revoked
                    );
                }
                match keys.last() {
                    Some(last) if keys.len() == 200 => before = Some(last.id),
                    _ => break,
                }
            }
        }
        ApikeyCmd::Revoke { shop, key } => {
            let shop = find_shop(db, &shop).await?;
            let id: kembali_core::ApiKeyId = key
                .parse()
                .map_err(|_| anyhow::anyhow!("`{key}` is not an API key id (key_…)"))?;
            let mut tx = db.begin().await?;
            let revoked = match kembali_app::api_keys::revoke(&app, &mut tx, shop.id, id).await {
                Err(kembali_app::AppError::NotFound(_)) => {
                    anyhow::bail!("shop {} has no API key `{key}`", shop.slug)
                }
                other => other?,
            };
            tx.commit().await?;
            eprintln!(
                "API key {} revoked; every server refuses it within {} seconds.",
                revoked.id,
                kembali_web::api::auth::KEY_CACHE_SECONDS
            );
        }
    }
    Ok(())
}

async fn source(db: &Db, cfg: &Config, command: SourceCmd) -> anyhow::Result<()> {
    use kembali_app::sources::{self, NewSource};
    let app = kembali_app::App::new(db.clone());
    match command {
        SourceCmd::Add { platform } => {
            let (shop, new) = match platform {
                Platform::Shopify {
                    shop,
                    domain,
                    secret,
                    cod_gateways,
                } => (
                    shop,
                    NewSource::Shopify {
                        domain,
                        secret,
                        cod_gateways,
                    },
                ),
                Platform::Woocommerce { shop, url, secret } => {
                    (shop, NewSource::WooCommerce { url, secret })
                }
            };
            let shop = find_shop(db, &shop).await?;
            let mut tx = db.begin().await?;
            let added = sources::add(&app, &mut tx, shop.id, new).await?;
            tx.commit().await?;
            println!("{}", added.id);
            eprintln!(
                "Source {} ({} {}) added to shop {}. Webhook address: http://{}{} \
                 (use this Kembali's public address); docs/INTAKE.md says what to set.",
                added.id,
                added.kind,
                added.address,
                shop.slug,
                cfg.addr,
                sources::hook_path(&added)
            );
        }
        SourceCmd::List { shop } => {
            let shop = match shop {
                Some(s) => Some(find_shop(db, &s).await?.id),
                None => None,
            };
            let mut conn = db.conn().await?;
            for s in kembali_store::sources::list(&mut conn, shop).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    s.id,
                    s.shop_id,
                    s.kind,
                    s.address,
                    sources::hook_path(&s)
                );
            }
        }
        SourceCmd::Rotate {
            shop,
            source,
            secret,
            grace_minutes,
        } => {
            let shop = find_shop(db, &shop).await?;
            let id: kembali_core::SourceId = source
                .parse()
                .map_err(|_| anyhow::anyhow!("`{source}` is not a source id (src_…)"))?;
            let grace = jiff::SignedDuration::from_mins(i64::from(grace_minutes));
            let mut tx = db.begin().await?;
            let until = sources::rotate(&app, &mut tx, shop.id, id, &secret, grace).await?;
            tx.commit().await?;
            eprintln!("New secret in use; the previous one is accepted until {until}.");
        }
    }
    Ok(())
}

/// `kembali import orders`: the file in one transaction, the report on stderr.
async fn import_orders(
    db: &Db,
    file: &std::path::Path,
    shop: &str,
    skip_bad_rows: bool,
) -> anyhow::Result<()> {
    use kembali_app::import::{self, Options, Report};
    let csv = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let shop = find_shop(db, shop).await?;
    let app = kembali_app::App::new(db.clone());
    let mut tx = db.begin().await?;
    let print_bad = |r: &Report| {
        for b in &r.bad_rows {
            let column = if b.column.is_empty() {
                String::new()
            } else {
                format!(", {}", b.column)
            };
            eprintln!("row {}{column}: {}", b.row, b.problem);
        }
        if r.bad_rows_total > r.bad_rows.len() as u64 {
            eprintln!("… and {} more", r.bad_rows_total - r.bad_rows.len() as u64);
        }
    };
    match import::orders(&app, &mut tx, &shop, &csv, Options { skip_bad_rows }).await {
        Ok(report) => {
            tx.commit().await?;
            print_bad(&report);
            println!(
                "{} orders created, {} updated, {} left out ({} rows read; {} lines, {} shipments)",
                report.created,
                report.updated,
                report.skipped,
                report.rows,
                report.lines,
                report.shipments
            );
            Ok(())
        }
        Err(kembali_app::AppError::ImportRefused(report)) => {
            drop(tx);
            print_bad(&report);
            anyhow::bail!(
                "{} rows are not valid, so nothing was imported (--skip-bad-rows imports the other orders)",
                report.bad_rows_total
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// `kembali import dropoff-points`: the file in one transaction, bad rows on
/// stderr.
async fn import_dropoff_points(db: &Db, file: &Path, shop: &str) -> anyhow::Result<()> {
    let csv = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let shop = find_shop(db, shop).await?;
    let app = kembali_app::App::new(db.clone());
    let mut tx = db.begin().await?;
    match kembali_app::dropoff::import(&app, &mut tx, &shop, &csv).await {
        Ok(report) => {
            tx.commit().await?;
            println!(
                "{} drop-off points created, {} updated ({} rows read)",
                report.created, report.updated, report.rows
            );
            Ok(())
        }
        Err(kembali_app::AppError::PointsImportRefused(report)) => {
            drop(tx);
            for b in &report.bad_rows {
                let column = if b.column.is_empty() {
                    String::new()
                } else {
                    format!(", {}", b.column)
                };
                eprintln!("line {}{column}: {}", b.line, b.problem);
            }
            if report.bad_rows_total > report.bad_rows.len() as u64 {
                let more = report.bad_rows_total - report.bad_rows.len() as u64;
                eprintln!("… and {more} more");
            }
            anyhow::bail!(
                "{} rows are not valid, so nothing was imported",
                report.bad_rows_total
            )
        }
        Err(e) => Err(e.into()),
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Seeds the demo shop and prints how to reach it at `addr`.
async fn seed_demo(db: &Db, addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let base = format!("http://{addr}");
    match demo::seed(db, jiff::Timestamp::now()).await? {
        Some(s) => {
            println!(
                "Demo shop `{}` ({}) seeded: {} orders.",
                s.shop.slug, s.shop.name, s.orders
            );
            for (status, n) in &s.returns_by_status {
                println!("  {n:>3} returns {}", status.as_str());
            }
            println!("API key (shown once): {}", s.api_key);
            println!("API:      {base}/api/v1/");
            println!("OpenAPI:  {base}/api/v1/openapi.json");
            println!("Health:   {base}/healthz");
            println!("Portal:   {base}/portal/{}", s.shop.slug);
            if let Some(order) = s.sample_order {
                let mut conn = db.conn().await?;
                if let Some((o, _)) =
                    kembali_store::orders::get(&mut conn, s.shop.id, order).await?
                {
                    println!("Return:   order {} with the email {}", o.number, o.email);
                }
                println!(
                    "Try:      curl -H 'Authorization: Bearer {}' {base}/api/v1/orders/{order}/eligibility",
                    s.api_key
                );
            }
        }
        None => {
            println!(
                "The demo shop is already there; a new key: kembali apikey create --shop demo"
            );
            println!("Portal:   {base}/portal/demo");
        }
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests and running jobs");
}

async fn serve(cfg: &Config, demo: bool, with_worker: bool) -> anyhow::Result<()> {
    let db = open(cfg).await?;
    let start = Start {
        worker: with_worker,
        ..Start::default()
    };
    // Bound first, so the demo's links name the port really listened on
    // (`--addr 127.0.0.1:0` takes any free one).
    let application = Application::on(db.clone(), cfg, start).await?;
    if demo {
        seed_demo(&db, application.addr()).await?;
    }
    application.run_until(shutdown_signal()).await
}

async fn worker_only(cfg: &Config) -> anyhow::Result<()> {
    let db = open(cfg).await?;
    let app = kembali_app::App::new(db.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = tokio::spawn(kembali_app::jobs::run_worker(
        app,
        cfg.worker_concurrency,
        stop_rx,
    ));
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    let _ = worker.await;
    db.close().await;
    Ok(())
}
