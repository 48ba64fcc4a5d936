//! The binary as an operator meets it: clear one-line errors with a non-zero exit,
//! start-up, health, API keys, and a graceful stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn kembali() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kembali"));
    c.env_remove("KEMBALI_DATABASE_URL")
        .env_remove("KEMBALI_ADDR")
        .env_remove("KEMBALI_CONFIG")
        .env("KEMBALI_LOG", "warn")
        // Not configuration: must not upset the configuration loader.
        .env("KEMBALI_REQUIRE_POSTGRES", "1");
    c
}

/// Runs to completion and returns (exit code, stdout, stderr).
fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run kembali");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_clear_line(stderr: &str, needle: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("kembali: error: "), "{stderr}");
    assert!(lines[0].contains(needle), "`{needle}` not in: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn bad_database_urls_fail_in_one_line() {
    let (code, _, err) = run(kembali().args(["--database-url", "mysql://x/y", "migrate"]));
    assert_ne!(code, 0);
    assert_one_clear_line(&err, "unsupported database URL");

    let (code, _, err) = run(kembali().args([
        "--database-url",
        "postgres://nobody@127.0.0.1:1/x",
        "migrate",
    ]));
    assert_ne!(code, 0);
    assert_one_clear_line(&err, "cannot connect");

    let (code, _, err) = run(kembali().args([
        "--database-url",
        "sqlite:///nonexistent-dir/sub/k.db",
        "migrate",
    ]));
    assert_ne!(code, 0);
    assert_one_clear_line(&err, "cannot open the database");
}

#[test]
fn unreadable_or_invalid_configuration_fails_in_one_line() {
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("missing.toml");
    let (code, _, err) = run(kembali().arg("--config").arg(&missing).arg("migrate"));
    assert_ne!(code, 0);
    assert_one_clear_line(&err, "cannot read the configuration file");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "addr = 5\n").expect("write");
    let (code, _, err) = run(kembali().arg("--config").arg(&bad).arg("migrate"));
    assert_ne!(code, 0);
    assert_one_clear_line(&err, "invalid configuration");

    let (code, _, err) = run(kembali()
        .env("KEMBALI_MAX_CONNECTIONS", "many")
        .arg("migrate"));
    assert_ne!(code, 0);
    assert_one_clear_line(&err, "invalid configuration");

    std::fs::write(&bad, "no_such_key = 1\n").expect("write");
    let (code, _, err) = run(kembali().arg("--config").arg(&bad).arg("migrate"));
    assert_ne!(code, 0);
    assert_one_clear_line(&err, "no_such_key");
}

#[test]
fn a_port_in_use_fails_in_one_line() {
    let dir = tempfile::tempdir().expect("dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let db = format!("sqlite://{}", dir.path().join("k.db").display());
    let (code, _, err) = run(kembali().args(["--database-url", &db, "serve", "--addr", &addr]));
    assert_ne!(code, 0);
    assert_one_clear_line(&err, &format!("cannot listen on {addr}"));
}

#[test]
fn apikey_for_an_unknown_shop_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("k.db").display());
    let (code, _, err) =
        run(kembali().args(["--database-url", &db, "apikey", "create", "--shop", "nope"]));
    assert_ne!(code, 0);
    assert_one_clear_line(&err, "there is no shop `nope`");
}

/// A `kembali serve` on a port the kernel picked (`--addr 127.0.0.1:0`), so no
/// other test or connection can take it between choosing and binding.
struct Serving {
    child: Running,
    addr: String,
}

/// Spawns `cmd` (a `serve` without `--addr`) and waits for the address it
/// logs when listening; its stderr is passed on to the test's.
fn serving(cmd: &mut Command) -> Serving {
    const LISTENING: &str = "listening on http://";
    let mut child = cmd
        .args(["--addr", "127.0.0.1:0"])
        .env("KEMBALI_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let child = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            if let Some((_, rest)) = line.split_once(LISTENING) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                let _ = tx.send(addr.to_owned());
            }
        }
    });
    // The sender goes when stderr closes: an instance that exits early ends the wait.
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("kembali did not say where it listens");
    Serving { child, addr }
}

/// Waits until `url` answers 200, the process exits, or the deadline passes.
fn wait_ready(child: &mut std::process::Child, url: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("kembali exited early with {status}");
        }
        if let Ok(body) = http_get(url)
            && body.0 == 200
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A minimal HTTP/1.1 GET over a plain socket: (status, body).
fn http_get(url: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut s = std::net::TcpStream::connect(host)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let status = buf
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

#[test]
fn serve_demo_answers_health_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("k.db").display());
    let mut serving = serving(kembali().args(["--database-url", &db, "serve", "--demo"]));
    let stdout = serving.child.0.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let base = format!("http://{}", serving.addr);
    let child = &mut serving.child.0;
    assert!(
        wait_ready(child, &format!("{base}/healthz")),
        "serve did not come up"
    );
    let (status, body) = http_get(&format!("{base}/readyz")).expect("readyz");
    assert_eq!((status, body.trim()), (200, "ready"));
    let (status, body) = http_get(&format!("{base}/api/v1/openapi.json")).expect("openapi");
    assert_eq!(status, 200);
    assert!(body.contains("\"openapi\": \"3.1"), "{body}");
    let (status, body) = http_get(&format!("{base}/portal/demo?lang=id")).expect("portal");
    assert_eq!(status, 200);
    assert!(body.contains("<html lang=\"id\""), "{body}");

    // SIGTERM: the process finishes and exits 0.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s.code();
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    let printed = reader.join().expect("reader").join("\n");
    assert!(printed.contains("API key (shown once): kb_"), "{printed}");
    assert!(printed.contains(&format!("{base}/api/v1/")), "{printed}");
    assert!(
        printed.contains(&format!("Portal:   {base}/portal/demo")),
        "{printed}"
    );
    assert!(printed.contains("Return:   order #"), "{printed}");

    // `apikey create` on the same database prints a fresh key, once.
    let (code, out, _) =
        run(kembali().args(["--database-url", &db, "apikey", "create", "--shop", "demo"]));
    assert_eq!(code, 0);
    assert!(
        out.trim().starts_with("kb_") && out.trim().len() > 40,
        "{out}"
    );
}

/// The PostgreSQL server the tests may use (`KEMBALI_TEST_POSTGRES_URL`).
fn postgres_url() -> String {
    std::env::var("KEMBALI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn postgres_required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
        || std::env::var_os("KEMBALI_REQUIRE_POSTGRES").is_some()
}

/// Runs SQL on `url` (SQLite or PostgreSQL) from this synchronous test.
fn exec_sql(url: &str, sql: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(url).await?;
            sqlx::raw_sql(sql).execute(&mut c).await?;
            c.close().await
        } else {
            let mut c = sqlx::PgConnection::connect(url).await?;
            sqlx::raw_sql(sql).execute(&mut c).await?;
            c.close().await
        }
    })
}

/// One value from `url`, for checks on what the binary left behind.
fn query_i64(url: &str, sql: &'static str) -> i64 {
    use sqlx::Connection;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        if url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
            let n: i64 = sqlx::query_scalar(sql)
                .fetch_one(&mut c)
                .await
                .expect("query");
            let _ = c.close().await;
            return n;
        }
        let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&mut c)
            .await
            .expect("query");
        let _ = c.close().await;
        n
    })
}

/// A fresh, empty database `kcli_<pid>_<n>` on the test server, dropped (with
/// FORCE, so leftover sessions do not keep it) when the test ends; `.ci/run`
/// drops any an interrupted run left behind.
struct PgDatabase {
    admin: String,
    name: String,
    url: String,
}

impl PgDatabase {
    /// `None` when PostgreSQL is unreachable and not required: the test is skipped.
    fn create() -> Option<PgDatabase> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let admin = postgres_url();
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("kcli_{}_{n}", std::process::id());
        match exec_sql(&admin, &format!("CREATE DATABASE {name}")) {
            Ok(()) => {}
            Err(e) if !postgres_required() => {
                use std::io::Write;
                // Straight to stderr, past the test harness's capture, so it is seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: PostgreSQL at {admin} is not reachable ({e}); set CI=1 to make this fail"
                );
                return None;
            }
            Err(e) => panic!("PostgreSQL at {admin} is required here but not reachable: {e}"),
        }
        // The test server's URL names its database last; swap in ours.
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        Some(PgDatabase { admin, name, url })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = exec_sql(&self.admin, &sql) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// A spawned `kembali` that is killed if the test ends before it stops.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn two_instances_start_together_on_an_empty_postgres_database() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let spawn = || serving(kembali().args(["--database-url", &pg.url, "serve", "--no-worker"]));
    // Back to back: both find the database empty and migrate at the same time.
    let mut running = [spawn(), spawn()];
    for Serving { child, addr } in &mut running {
        assert!(
            wait_ready(&mut child.0, &format!("http://{addr}/healthz")),
            "the instance on {addr} did not come up"
        );
        let (status, body) = http_get(&format!("http://{addr}/readyz")).expect("readyz");
        assert_eq!((status, body.trim()), (200, "ready"), "{addr}");
    }
    drop(running);
    let applied = query_i64(
        &pg.url,
        "SELECT count(*) FROM _sqlx_migrations WHERE success",
    );
    let files = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../kembali-store/migrations"
    ))
    .expect("migrations folder")
    .count();
    assert_eq!(
        applied,
        i64::try_from(files).expect("count"),
        "each migration applied once"
    );
}

/// Makes the first applied migration look edited, as a changed file would.
const TAMPER: &str = "UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 1";

#[test]
fn migrate_refuses_an_edited_migration_in_one_line_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("k.db").display());
    let (code, _, err) = run(kembali().args(["--database-url", &db, "migrate"]));
    assert_eq!(code, 0, "{err}");
    exec_sql(&db, TAMPER).expect("tamper");
    let (code, _, err) = run(kembali().args(["--database-url", &db, "migrate"]));
    assert_ne!(code, 0);
    assert_one_clear_line(
        &err,
        "migration 1 (0001_init) was changed after it was applied to this database",
    );
}

#[test]
fn migrate_refuses_an_edited_migration_in_one_line_on_postgres() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    let (code, _, err) = run(kembali().args(["--database-url", &pg.url, "migrate"]));
    assert_eq!(code, 0, "{err}");
    exec_sql(&pg.url, &TAMPER.replace("X'00'", "'\\x00'::bytea")).expect("tamper");
    let (code, _, err) = run(kembali().args(["--database-url", &pg.url, "migrate"]));
    assert_ne!(code, 0);
    assert_one_clear_line(
        &err,
        "migration 1 (0001_init) was changed after it was applied to this database",
    );
}

/// `kembali import orders` on `db`: the example file imports; a file with a bad
/// row imports nothing and says which row, column and why; with
/// --skip-bad-rows the good orders come in; importing again updates.
fn import_orders_through_the_binary(db: &str) {
    let (code, _, err) = run(kembali().args(["--database-url", db, "demo"]));
    assert_eq!(code, 0, "{err}");
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/orders.csv"
    );
    let import = |file: &str, skip: bool| {
        let mut cmd = kembali();
        cmd.args([
            "--database-url",
            db,
            "import",
            "orders",
            file,
            "--shop",
            "demo",
        ]);
        if skip {
            cmd.arg("--skip-bad-rows");
        }
        run(&mut cmd)
    };
    const CSV_ORDERS: &str = "SELECT count(*) FROM orders WHERE source = 'csv'";
    let (code, out, err) = import(example, false);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 orders created, 0 updated"), "{out}");
    assert_eq!(query_i64(db, CSV_ORDERS), 3);
    assert_eq!(
        query_i64(
            db,
            "SELECT unit_price FROM order_lines WHERE sku = 'BTK-PRG-M'"
        ),
        25_000_000
    );

    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("bad.csv");
    let text = std::fs::read_to_string(example).expect("example");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // Row 4 (PL-2001's only line) gets a price with a comma for the point;
    // its own order is new, so nothing of it may appear.
    lines[3] = lines[3]
        .replace(",149.99,", ",\"149,99\",")
        .replace("PL-2001", "PL-2002");
    std::fs::write(&bad, lines.join("\n")).expect("write");
    let bad = bad.to_str().expect("path");
    let (code, out, err) = import(bad, false);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("row 4, unit_price: `149,99` is not an amount"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(query_i64(db, CSV_ORDERS), 3);

    let (code, out, err) = import(bad, true);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0 orders created, 2 updated, 1 left out"),
        "{out}"
    );
    assert!(err.contains("row 4, unit_price"), "{err}");
    assert_eq!(query_i64(db, CSV_ORDERS), 3);
}

#[test]
fn import_orders_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("k.db").display());
    import_orders_through_the_binary(&db);
}

#[test]
fn import_orders_on_postgres() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    import_orders_through_the_binary(&pg.url);
}

/// `kembali import dropoff-points` on `db`: the demo's points are there, the
/// example file (a part of them) updates them in place, and a bad file imports
/// nothing and names the line, column and why.
fn import_dropoff_points_through_the_binary(db: &str) {
    let (code, _, err) = run(kembali().args(["--database-url", db, "demo"]));
    assert_eq!(code, 0, "{err}");
    const POINTS: &str = "SELECT count(*) FROM dropoff_points";
    let seeded = query_i64(db, POINTS);
    assert_eq!(seeded, 34, "the demo's points for four cities");
    let import = |file: &str| {
        run(kembali().args([
            "--database-url",
            db,
            "import",
            "dropoff-points",
            file,
            "--shop",
            "demo",
        ]))
    };
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/dropoff_points.csv"
    );
    let (code, out, err) = import(example);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0 drop-off points created, 8 updated (8 rows read)"),
        "{out}"
    );
    assert_eq!(query_i64(db, POINTS), seeded);

    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "carrier,id,name,address,postal_code,latitude,longitude,opening_hours\n\
         inpost,NEW1,Paczkomat NEW1,ul. Nowa 1,00-001,52.1,21.0,24/7\n\
         inpost,NEW2,Paczkomat NEW2,ul. Nowa 2,00-002,52.1,abc,24/7\n",
    )
    .expect("write");
    let (code, out, err) = import(bad.to_str().expect("path"));
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("line 3, longitude: `abc` is not a number of degrees"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(query_i64(db, POINTS), seeded);
}

#[test]
fn import_dropoff_points_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("k.db").display());
    import_dropoff_points_through_the_binary(&db);
}

#[test]
fn import_dropoff_points_on_postgres() {
    let Some(pg) = PgDatabase::create() else {
        return;
    };
    import_dropoff_points_through_the_binary(&pg.url);
}
