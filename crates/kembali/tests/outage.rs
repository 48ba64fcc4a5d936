//! Kembali under a lost database and under clients that never finish: each test
//! starts the real application through `Application::on`, as `kembali serve` does.
//!
//! The outage test runs its own PostgreSQL server (initdb into a temp dir, a free
//! port) so it can restart it under load without touching anyone else's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use kembali::{Application, Config, Start};
use kembali_core::policy::PolicyDocument;
use kembali_core::shop::{Country, Locale, Shop};
use kembali_core::{Currency, ShopId};
use kembali_store::{Db, shops};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest any answer may take while the database is away.
const BOUND: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------
// A private PostgreSQL server.

/// A PostgreSQL cluster in a temp dir, stopped (`-m immediate`) when dropped,
/// so a failing test leaves no server behind.
struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// Run the tools as this user: PostgreSQL refuses to run as root.
    user: Option<&'static str>,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// A running server, or `None` (after saying why) when PostgreSQL is not
    /// installed and the environment does not insist on it.
    fn start() -> Option<Postgres> {
        let Some(bin) = pg_bin() else {
            let why = "no PostgreSQL binaries (pg_ctl, initdb) in $KEMBALI_PG_BIN or /usr/lib/postgresql/*/bin";
            if std::env::var_os("CI").is_some()
                || std::env::var_os("KEMBALI_REQUIRE_POSTGRES").is_some()
            {
                panic!("{why}, and CI or KEMBALI_REQUIRE_POSTGRES is set");
            }
            eprintln!("SKIPPED: {why}");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("kembali-outage-")
            .tempdir()
            .expect("temp dir");
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let user = root.then_some("postgres");
        if let Some(user) = user {
            let owned = Command::new("chown")
                .args(["-R", user])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(owned.success(), "cannot give the temp dir to {user}");
        }
        let port = free_port();
        let pg = Postgres {
            bin,
            data: dir.path().join("data"),
            port,
            user,
            _dir: dir,
        };
        pg.run(
            "initdb",
            &[
                "-D",
                &pg.data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
            ],
        );
        pg.ctl_start();
        Some(pg)
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn ctl_start(&self) {
        // fsync off: the test stops the server cleanly (a shutdown checkpoint),
        // never the machine, so it proves the same and spares a shared disk.
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.sockets().display()
        );
        let log = self.data.with_file_name("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-o",
                &opts,
                "-w",
                "start",
            ],
        );
    }

    fn ctl_stop(&self, mode: &str) -> bool {
        self.command(
            "pg_ctl",
            &["-D", &self.data.to_string_lossy(), "-m", mode, "-w", "stop"],
        )
        .output()
        .is_ok_and(|o| o.status.success())
    }

    fn sockets(&self) -> &Path {
        self._dir.path()
    }

    fn command(&self, tool: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(tool);
        match self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe).args(args);
                c
            }
            None => {
                let mut c = Command::new(exe);
                c.args(args);
                c
            }
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self.command(tool, args).output().expect(tool);
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.ctl_stop("immediate");
    }
}

fn pg_bin() -> Option<PathBuf> {
    let has_tools = |d: &Path| d.join("pg_ctl").is_file() && d.join("initdb").is_file();
    if let Some(dir) = std::env::var_os("KEMBALI_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(|d| has_tools(d));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, d)| has_tools(d))
        .collect();
    found.sort();
    found.pop().map(|(_, d)| d)
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

// ---------------------------------------------------------------------------
// The application.

struct Running {
    base: String,
    db: Db,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(cfg: &Config) -> Running {
    let db = kembali::open(cfg).await.expect("open the database");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let start = Start {
        listener: Some(listener),
        ..Start::default()
    };
    let app = Application::on(db.clone(), cfg, start)
        .await
        .expect("start the application");
    let base = format!("http://{}", app.addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Running {
        base,
        db,
        stop,
        server,
    }
}

impl Running {
    async fn shop_key(&self) -> String {
        let now = Timestamp::now();
        let shop = Shop {
            id: ShopId::new(now, kembali_store::entropy()),
            slug: "outage".into(),
            name: "Outage Shop".into(),
            currency: Currency::PLN,
            time_zone: "Europe/Warsaw".into(),
            default_locale: Locale::Pl,
            country: Country::try_from("PL".to_owned()).expect("country"),
            return_prefix: "R-".into(),
        };
        let mut tx = self.db.begin().await.expect("tx");
        shops::create(&mut tx, &shop, &PolicyDocument::default(), now)
            .await
            .expect("shop");
        let key = shops::create_api_key(&mut tx, shop.id, "outage", now)
            .await
            .expect("key");
        tx.commit().await.expect("commit");
        key.secret
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(20), self.server).await;
    }
}

fn order(number: &str) -> Value {
    let delivered = Timestamp::now() - Duration::from_secs(3 * 86_400);
    let placed = delivered - Duration::from_secs(3 * 86_400);
    let shipped = placed + Duration::from_secs(86_400);
    json!({
        "number": number,
        "email": "anna.nowak@example.pl",
        "customer_name": "Anna Nowak",
        "locale": "pl",
        "currency": "PLN",
        "placed_at": placed.to_string(),
        "payment_method": "card",
        "shipping_address": {"name": "Anna Nowak", "line1": "ul. Długa 5", "city": "Gdańsk",
            "postal_code": "80-827", "country": "PL"},
        "shipping_paid": 1499,
        "lines": [{"sku": "MUG", "title": "Kubek", "quantity": 1, "unit_price": 3999}],
        "shipments": [{"carrier": "InPost", "tracking_number": "6200", "status": "delivered",
            "shipped_at": shipped.to_string(), "delivered_at": delivered.to_string(),
            "lines": [{"line": 0, "quantity": 1}]}]
    })
}

// ---------------------------------------------------------------------------
// A database restart under load.

/// One answer as the load saw it.
#[derive(Debug)]
struct Answer {
    what: String,
    /// `None`: no HTTP answer at all (refused, reset, or the client gave up).
    status: Option<u16>,
    took: Duration,
    content_type: String,
    retry_after: Option<String>,
    kind: String,
    at: Instant,
}

impl Answer {
    fn ok(&self) -> bool {
        matches!(self.status, Some(200 | 201))
    }

    fn is_unavailable_problem(&self) -> bool {
        self.status == Some(503)
            && self.content_type == "application/problem+json"
            && self.kind == "urn:kembali:problem:unavailable"
            && self.retry_after.as_deref().is_some_and(|s| !s.is_empty())
    }
}

async fn call(what: String, req: reqwest::RequestBuilder) -> (Answer, Value) {
    let at = Instant::now();
    let res = req.send().await;
    let (status, content_type, retry_after, body) = match res {
        Ok(r) => {
            let status = r.status().as_u16();
            let header = |name: &str| {
                r.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let content_type = header("content-type").unwrap_or_default();
            let retry_after = header("retry-after");
            let text = r.text().await.unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            (Some(status), content_type, retry_after, body)
        }
        Err(e) => (None, String::new(), None, Value::String(e.to_string())),
    };
    let answer = Answer {
        what,
        status,
        took: at.elapsed(),
        content_type,
        retry_after,
        kind: body["type"].as_str().unwrap_or_default().to_owned(),
        at,
    };
    (answer, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_database_is_a_quick_503_and_service_comes_back_by_itself() {
    let Some(pg) = tokio::task::spawn_blocking(Postgres::start)
        .await
        .expect("start PostgreSQL")
    else {
        return;
    };
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&pg.url("postgres"))
        .await
        .expect("connect to the private server");
    sqlx::raw_sql("CREATE DATABASE kembali")
        .execute(&mut admin)
        .await
        .expect("create the database");
    drop(admin);

    let cfg = Config {
        database_url: pg.url("kembali"),
        ..Config::default()
    };
    let app = start(&cfg).await;
    let key = app.shop_key().await;
    // No client-side retries, and a client limit far past the bound so a hang
    // is measured rather than cut short.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(40))
        .build()
        .expect("client");
    let base = app.base.clone();

    // One order from before, which the readers fetch throughout.
    let (first, body) = call(
        "POST first".into(),
        client
            .post(format!("{base}/api/v1/orders"))
            .bearer_auth(&key)
            .json(&order("#BEFORE")),
    )
    .await;
    assert_eq!(first.status, Some(201), "{body}");
    let known = body["id"].as_str().expect("id").to_owned();

    let answers: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut load = Vec::new();
    for writer in 0..4 {
        let (client, base, key) = (client.clone(), base.clone(), key.clone());
        let (answers, acked, running) = (answers.clone(), acked.clone(), running.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let number = format!("#W{writer}-{n}");
                let (a, body) = call(
                    format!("POST {number}"),
                    client
                        .post(format!("{base}/api/v1/orders"))
                        .bearer_auth(&key)
                        .json(&order(&number)),
                )
                .await;
                if a.status == Some(201) {
                    let id = body["id"].as_str().expect("id").to_owned();
                    acked.lock().expect("acked").push((number, id));
                }
                answers.lock().expect("answers").push(a);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    for reader in 0..2 {
        let (client, base, key, known) = (client.clone(), base.clone(), key.clone(), known.clone());
        let (answers, running) = (answers.clone(), running.clone());
        load.push(tokio::spawn(async move {
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                let (what, req) = if reader == 0 {
                    (
                        "GET order".to_owned(),
                        client
                            .get(format!("{base}/api/v1/orders/{known}"))
                            .bearer_auth(&key),
                    )
                } else {
                    (
                        "GET /readyz".to_owned(),
                        client.get(format!("{base}/readyz")),
                    )
                };
                let (a, _) = call(what, req).await;
                answers.lock().expect("answers").push(a);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }

    // Load against a healthy database first, then the restart: stop (fast:
    // sessions are terminated with 57P01), 3 s down, start.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pg = Arc::new(pg);
    let down_at = Instant::now();
    let p = pg.clone();
    let stopped = tokio::task::spawn_blocking(move || p.ctl_stop("fast"))
        .await
        .expect("stop");
    assert!(stopped, "pg_ctl stop failed");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let p = pg.clone();
    tokio::task::spawn_blocking(move || p.ctl_start())
        .await
        .expect("start");
    let up_at = Instant::now();

    // Service must come back by itself: a write succeeds within a few seconds.
    let recovered_at = loop {
        let next = answers
            .lock()
            .expect("answers")
            .iter()
            .filter(|a| a.at >= up_at && a.ok() && a.what.starts_with("POST"))
            .map(|a| a.at + a.took)
            .min();
        if let Some(t) = next {
            break t;
        }
        assert!(
            up_at.elapsed() < Duration::from_secs(10),
            "no write succeeded within 10 s of PostgreSQL being back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    for task in load {
        task.await.expect("load task");
    }

    let answers = std::mem::take(&mut *answers.lock().expect("answers"));
    let acked = std::mem::take(&mut *acked.lock().expect("acked"));
    let failed: Vec<&Answer> = answers.iter().filter(|a| !a.ok()).collect();
    let slowest = answers.iter().map(|a| a.took).max().unwrap_or_default();
    let slowest_ready = answers
        .iter()
        .filter(|a| a.what == "GET /readyz")
        .map(|a| a.took)
        .max()
        .unwrap_or_default();
    eprintln!(
        "outage: {} answers ({} ok, {} failed: {} of them 503 unavailable), {} orders acknowledged; \
         slowest answer {:?}, slowest /readyz {:?}; database down {:?}, first write {:?} after it was back",
        answers.len(),
        answers.len() - failed.len(),
        failed.len(),
        failed.iter().filter(|a| a.is_unavailable_problem()).count(),
        acked.len(),
        slowest,
        slowest_ready,
        up_at - down_at,
        recovered_at.saturating_duration_since(up_at),
    );

    // Every failure is the 503 problem document with Retry-After.
    let wrong: Vec<&&Answer> = failed
        .iter()
        .filter(|a| !a.is_unavailable_problem())
        .collect();
    assert!(
        wrong.is_empty(),
        "failures that are not 503 unavailable: {wrong:#?}"
    );
    // The outage was seen, and answered within the bound.
    assert!(!failed.is_empty(), "no request saw the database away");
    let slow: Vec<&Answer> = answers.iter().filter(|a| a.took > BOUND).collect();
    assert!(slow.is_empty(), "answers slower than {BOUND:?}: {slow:#?}");
    assert!(
        recovered_at.saturating_duration_since(up_at) < Duration::from_secs(5),
        "service took {:?} to come back",
        recovered_at.saturating_duration_since(up_at)
    );
    // Writes succeeded before and after the outage, and none acknowledged is lost.
    assert!(answers.iter().any(|a| a.ok() && a.at < down_at));
    for (number, id) in &acked {
        let (a, body) = call(
            format!("GET {number}"),
            client
                .get(format!("{base}/api/v1/orders/{id}"))
                .bearer_auth(&key),
        )
        .await;
        assert_eq!(
            a.status,
            Some(200),
            "acknowledged order {number} lost: {body}"
        );
        assert_eq!(body["number"], number.as_str(), "{body}");
    }

    app.stop().await;
    drop(pg);
}

// ---------------------------------------------------------------------------
// Clients that never finish their headers.

async fn sqlite_app(dir: &Path, header_ms: u64, max_connections: usize) -> Running {
    let cfg = Config {
        database_url: format!("sqlite://{}", dir.join("kembali.db").display()),
        http_header_read_timeout_ms: header_ms,
        http_max_connections: max_connections,
        ..Config::default()
    };
    start(&cfg).await
}

fn addr(base: &str) -> SocketAddr {
    base.trim_start_matches("http://").parse().expect("addr")
}

/// Reads until the server closes the connection; the time that took.
async fn closed_after(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<Duration> {
    let at = Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return at.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = sqlite_app(dir.path(), 1_000, 10_000).await;

    let mut slow = tokio::net::TcpStream::connect(addr(&app.base))
        .await
        .expect("connect");
    let sent = Instant::now();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: kembali\r\nX-Slow: ")
        .await
        .expect("write");

    // Meanwhile, everyone else is served.
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);

    let closed = closed_after(&mut slow, Duration::from_secs(5)).await;
    let took = sent.elapsed();
    assert!(
        closed.is_some(),
        "the half-sent request was still open after 5 s"
    );
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(3),
        "closed after {took:?}, not the 1 s header timeout"
    );
    drop(client);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_limit_new_clients_wait_their_turn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = sqlite_app(dir.path(), 1_000, 2).await;

    // Two connections that send nothing hold both slots until their header
    // time runs out.
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(
            tokio::net::TcpStream::connect(addr(&app.base))
                .await
                .expect("connect"),
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let at = Instant::now();
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("healthz");
    let waited = at.elapsed();
    assert_eq!(r.status(), 200);
    assert!(
        waited >= Duration::from_millis(600),
        "answered after {waited:?}: the third connection was not held back"
    );
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    drop(idle);
    drop(client);
    app.stop().await;
}
