//! Databases for tests and benchmarks: each a copy of a template migrated once, a
//! copied SQLite file or a PostgreSQL database cloned with `CREATE DATABASE … TEMPLATE`.
//!
//! Migrating costs far more than copying, and a suite creates a database per test,
//! so the migrations run once per template, not once per test.
//!
//! - SQLite: the template is `kembali_tpl_<hash>.db` in the system's temp
//!   directory, shared by every process of the same migrations. It is built under
//!   a unique name and renamed into place, so a reader sees no file or a complete
//!   one; a per-process template would be left behind by every run (statics are
//!   never dropped). Each test copies it into its own temp dir.
//! - PostgreSQL: the template is the database `kembali_tpl_<hash>` on the server of
//!   [`postgres_url`], built once under an advisory lock; each test clones it into
//!   `kt_<pid>_<n>_<nanos>`; [`TestDb::cleanup`] empties it (TRUNCATE) and keeps
//!   it for the process's next test, so a suite clones about as many databases as
//!   it runs tests at once. A test that fails keeps its database for a look; the
//!   next test process drops the databases of processes that have ended, and
//!   `.ci/run` drops leftover `kt_` databases.
//!
//! `<hash>` covers the migration SQL, so changed migrations get a new template. The
//! old ones stay (a few hundred kB each). To drop an old PostgreSQL template, make it
//! an ordinary database first:
//! `ALTER DATABASE kembali_tpl_… IS_TEMPLATE false; DROP DATABASE kembali_tpl_…;`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;

use crate::db::redact;
use crate::{ConnectOptions, Db, StoreError};

/// A database of its own for one test, migrated and empty.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    place: Place,
}

/// Where the copy lives, so that cleanup can remove it.
enum Place {
    /// The directory holding the copied file; removed when dropped.
    Sqlite(tempfile::TempDir),
    /// The cloned database, on the server of `admin_url`.
    Postgres { admin_url: String, database: String },
}

/// The server for PostgreSQL tests: `KEMBALI_TEST_POSTGRES_URL`, by default
/// `postgres://postgres@127.0.0.1:5432/test`. Its database is used only to create
/// and drop the others.
pub fn postgres_url() -> String {
    std::env::var("KEMBALI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Whether a missing PostgreSQL fails the test instead of skipping it.
fn postgres_required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
        || std::env::var_os("KEMBALI_REQUIRE_POSTGRES").is_some()
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique name for this process and call (`kt_<pid>_<n>_<nanos>`): runs never
/// collide. Names the cloned databases, and schemas for tests that want one.
pub fn unique_schema() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("kt_{}_{}_{}", std::process::id(), n, nanos)
}

impl TestDb {
    /// A fresh SQLite database: a copy of the migrated template.
    ///
    /// # Panics
    /// When the template cannot be built or copied (a test cannot go on).
    pub async fn sqlite() -> TestDb {
        match Self::try_sqlite().await {
            Ok(t) => t,
            Err(e) => panic!("cannot set up a SQLite test database: {e}"),
        }
    }

    async fn try_sqlite() -> Result<TestDb, StoreError> {
        let template = SQLITE_TEMPLATE
            .get_or_try_init(build_sqlite_template)
            .await?;
        let dir = tempfile::tempdir().map_err(io_error("create a temp dir"))?;
        let file = dir.path().join("kembali.db");
        std::fs::copy(template, &file).map_err(io_error("copy the SQLite template"))?;
        let url = sqlite_url(&file);
        let db = Db::connect(&ConnectOptions::new(url.clone())).await?;
        Ok(TestDb {
            db,
            url,
            place: Place::Sqlite(dir),
        })
    }

    /// A fresh PostgreSQL database cloned from the migrated template, or `None`
    /// when the server cannot be reached and is not required (the test is then
    /// skipped, and says so on stderr).
    ///
    /// # Panics
    /// When the server is unreachable and `CI` or `KEMBALI_REQUIRE_POSTGRES` is
    /// set, or when it answers but the template or the clone cannot be made.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = postgres_url();
        let admin = match admin_connect(&admin_url).await {
            Ok(c) => c,
            Err(e) if !postgres_required() => {
                // Straight to stderr, past the test harness's capture, so it is seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: PostgreSQL at {} is not reachable ({e}); set CI=1 to make this fail",
                    redact(&admin_url)
                );
                return None;
            }
            Err(e) => panic!(
                "PostgreSQL at {} is required here but not reachable: {e}",
                redact(&admin_url)
            ),
        };
        match Self::try_postgres(admin, admin_url).await {
            Ok(t) => Some(t),
            Err(e) => panic!("cannot set up a PostgreSQL test database: {e}"),
        }
    }

    async fn try_postgres(
        mut admin: PgConnection,
        admin_url: String,
    ) -> Result<TestDb, StoreError> {
        let template = PG_TEMPLATE
            .get_or_try_init(|| async {
                sweep_dead_processes(&mut admin).await;
                build_postgres_template(&admin_url).await
            })
            .await?;
        let spare = PG_SPARE.lock().ok().and_then(|mut s| s.pop());
        let database = match spare {
            Some(name) => {
                let _ = admin.close().await;
                name
            }
            None => {
                let database = unique_schema();
                let cloned = clone_database(&mut admin, template, &database).await;
                let _ = admin.close().await;
                cloned?;
                database
            }
        };
        let url = database_url(&admin_url, &database)?;
        let db = match Db::connect(&ConnectOptions::new(url.clone())).await {
            Ok(db) => db,
            Err(e) => {
                let _ = drop_database(&admin_url, &database).await;
                return Err(e);
            }
        };
        Ok(TestDb {
            db,
            url,
            place: Place::Postgres {
                admin_url,
                database,
            },
        })
    }

    /// Another pool on the same database, as a second instance of Kembali has.
    ///
    /// # Panics
    /// When it cannot connect.
    pub async fn second_pool(&self) -> Db {
        match Db::connect(&ConnectOptions::new(self.url.clone())).await {
            Ok(db) => db,
            Err(e) => panic!("second pool on {}: {e}", redact(&self.url)),
        }
    }

    /// Closes the pool and removes the database: the copied file, or the cloned
    /// PostgreSQL database. Failures are ignored; `.ci/run` sweeps what is left.
    pub async fn cleanup(self) {
        self.db.close().await;
        match self.place {
            Place::Sqlite(dir) => {
                let _ = dir.close();
            }
            Place::Postgres {
                admin_url,
                database,
            } => {
                // Emptied and kept for the next test of this process: cheaper than
                // a clone and a drop (which checkpoints the server) per test.
                match empty_database(&self.url).await {
                    Ok(()) => {
                        if let Ok(mut spare) = PG_SPARE.lock() {
                            spare.push(database);
                        }
                    }
                    Err(_) => {
                        let _ = drop_database(&admin_url, &database).await;
                    }
                }
            }
        }
    }
}

/// Databases of this process emptied by [`TestDb::cleanup`], ready for reuse.
/// What is left when the process ends is dropped by the next test process (see
/// [`sweep_dead_processes`]) or by `.ci/run`.
static PG_SPARE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Empties every table but the migrations' bookkeeping: the database is then as
/// a fresh clone of the template would be (our ids are not sequences).
async fn empty_database(url: &str) -> Result<(), StoreError> {
    let mut conn = admin_connect(url).await?;
    let emptied = async {
        // A connection a test left inside a transaction must not hang the suite.
        execute(&mut conn, "SET lock_timeout = '2s'".into()).await?;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT format('%I', tablename) FROM pg_tables
              WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'",
        )
        .fetch_all(&mut conn)
        .await
        .map_err(StoreError::Database)?;
        if tables.is_empty() {
            return Ok(());
        }
        execute(&mut conn, format!("TRUNCATE {} CASCADE", tables.join(", "))).await
    }
    .await;
    let _ = conn.close().await;
    emptied?;
    // A test may have tampered with the migrations' bookkeeping (the checksum
    // tests do): only a database the migrator still finds up to date is reused.
    let db = Db::connect(&ConnectOptions::new(url.to_owned())).await?;
    let checked = crate::migrate::migrate(&db).await;
    db.close().await;
    match checked {
        Ok(applied) if applied.is_empty() => Ok(()),
        Ok(_) => Err(StoreError::Config(
            "the database was behind its migrations".into(),
        )),
        Err(e) => Err(e),
    }
}

/// Drops the `kt_<pid>_…` databases of test processes that have ended (their
/// spare databases, and those of failed tests), so a developer's server does not
/// fill up between `.ci/run`s.
async fn sweep_dead_processes(admin: &mut PgConnection) {
    let Ok(names) = sqlx::query_scalar::<_, String>(
        "SELECT datname FROM pg_database WHERE datname LIKE 'kt\\_%' AND NOT datistemplate",
    )
    .fetch_all(&mut *admin)
    .await
    else {
        return;
    };
    for name in names {
        let pid = name.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
        if !alive && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            let _ = execute(
                admin,
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await;
        }
    }
}

// --- Templates ---------------------------------------------------------------

/// The template file; a `tokio` cell because each `#[tokio::test]` has its own
/// runtime: it holds only a path, never a pool, and lets one caller build while
/// the others wait.
static SQLITE_TEMPLATE: OnceCell<PathBuf> = OnceCell::const_new();

/// The PostgreSQL template's name, once it is known to exist.
static PG_TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// Any constant works: it only has to be the same in every process.
const TEMPLATE_LOCK: i64 = 727_002;

/// The first 16 hex digits of a SHA-256 over this build's migrations for one
/// database (`sqlite` or `postgres`), read from the crate's `migrations/` folder.
///
/// `migrate` keeps its SQL to itself, so the files are read here; the names come
/// from `migrate::known_names`, the list it applies, so the hash and the
/// migrations cannot disagree on which files count.
fn migrations_hash(dialect: &str) -> Result<String, StoreError> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut hash = Sha256::new();
    hash.update(dialect.as_bytes());
    // What applies them matters too: a template made by another runner has
    // another bookkeeping table.
    hash.update(b"runner: sqlx Migrator\0");
    for name in crate::migrate::known_names() {
        let path = dir.join(format!("{name}.sql"));
        let sql = std::fs::read_to_string(&path)
            .map_err(|e| StoreError::Config(format!("cannot read {}: {e}", path.display())))?;
        let sql = match dialect {
            "sqlite" => crate::migrate::sqlite_text(&sql),
            _ => sql,
        };
        hash.update(name.as_bytes());
        hash.update((sql.len() as u64).to_le_bytes());
        hash.update(&sql);
    }
    Ok(hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

async fn build_sqlite_template() -> Result<PathBuf, StoreError> {
    let tmp = std::env::temp_dir();
    let path = tmp.join(format!("kembali_tpl_{}.db", migrations_hash("sqlite")?));
    if path.is_file() {
        return Ok(path);
    }
    let dir = tempfile::Builder::new()
        .prefix("kembali_tpl_")
        .tempdir_in(&tmp)
        .map_err(io_error("create a temp dir"))?;
    let building = dir.path().join("template.db");
    let db = Db::connect(&ConnectOptions::new(sqlite_url(&building))).await?;
    let migrated = crate::migrate::migrate(&db).await;
    // Closing the last connection checkpoints the WAL into the main file and
    // deletes it; only the main file is copied, so make sure nothing stayed behind.
    db.close().await;
    migrated?;
    let wal = dir.path().join("template.db-wal");
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Err(StoreError::Config(format!(
            "{} still has a WAL after closing",
            building.display()
        )));
    }
    // Atomic within one directory: a process racing us renames an identical file.
    std::fs::rename(&building, &path).map_err(io_error("move the SQLite template"))?;
    Ok(path)
}

async fn build_postgres_template(admin_url: &str) -> Result<String, StoreError> {
    let name = format!("kembali_tpl_{}", migrations_hash("postgres")?);
    let mut admin = admin_connect(admin_url).await?;
    // A session lock, across processes: whoever comes first builds the template,
    // the others wait and then find it. Closing the connection releases it too,
    // on every error path.
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await?;
    let built = ensure_postgres_template(&mut admin, admin_url, &name).await;
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await;
    let _ = admin.close().await;
    built?;
    Ok(name)
}

/// Creates and migrates the template unless a complete one exists. Called under
/// the advisory lock.
async fn ensure_postgres_template(
    admin: &mut PgConnection,
    admin_url: &str,
    name: &str,
) -> Result<(), StoreError> {
    // `datistemplate` is set last, so it marks a template whose build finished.
    let complete: Option<bool> =
        sqlx::query_scalar("SELECT datistemplate FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_optional(&mut *admin)
            .await?;
    match complete {
        Some(true) => return Ok(()),
        // A build interrupted part-way: start again.
        Some(false) => execute(admin, format!("DROP DATABASE {name} WITH (FORCE)")).await?,
        None => {}
    }
    execute(admin, format!("CREATE DATABASE {name}")).await?;
    let db = Db::connect(&ConnectOptions::new(database_url(admin_url, name)?)).await?;
    let migrated = crate::migrate::migrate(&db).await;
    // PostgreSQL refuses to clone a database anyone is connected to: close every
    // connection, then forbid new ones so no one (psql included) blocks clones.
    db.close().await;
    migrated?;
    execute(
        admin,
        format!("ALTER DATABASE {name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"),
    )
    .await
}

/// Clones with the server's default strategy: WAL_LOG on PostgreSQL 15+, which
/// measured faster here than `STRATEGY FILE_COPY` (about 0.5 s against 1–4 s per
/// clone and drop on a busy machine): FILE_COPY checkpoints twice per clone, and a
/// checkpoint flushes every dirty page on the server, other tests' included.
async fn clone_database(
    admin: &mut PgConnection,
    template: &str,
    database: &str,
) -> Result<(), StoreError> {
    let sql = format!("CREATE DATABASE {database} TEMPLATE {template}");
    let mut attempt = 0;
    loop {
        match execute(admin, sql.clone()).await {
            // 55006 "source database is being accessed by other users": a backend
            // that has just disconnected from the template may not have exited yet.
            Err(StoreError::Database(sqlx::Error::Database(e)))
                if e.code().as_deref() == Some("55006") && attempt < 5 =>
            {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => return other,
        }
    }
}

async fn drop_database(admin_url: &str, database: &str) -> Result<(), StoreError> {
    let mut admin = admin_connect(admin_url).await?;
    let dropped = execute(
        &mut admin,
        format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
    )
    .await;
    let _ = admin.close().await;
    dropped
}

// --- Plumbing ----------------------------------------------------------------

async fn admin_connect(url: &str) -> Result<PgConnection, StoreError> {
    let opts = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?;
    sqlx::ConnectOptions::connect(&opts)
        .await
        .map_err(StoreError::connect)
}

/// Runs one statement of ours; database names in it come from `unique_schema`
/// and the migrations hash (letters, digits, `_`), never from outside.
async fn execute(conn: &mut PgConnection, sql: String) -> Result<(), StoreError> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(conn)
        .await
        .map_err(StoreError::Database)?;
    Ok(())
}

/// The base URL naming another database on the same server, with its user,
/// host and options kept.
fn database_url(base: &str, database: &str) -> Result<String, StoreError> {
    let mut url = url::Url::parse(base)
        .map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL {}: {e}", redact(base))))?;
    url.set_path(database);
    // sqlx lets `?dbname=` override the path; drop it so the path counts.
    let query: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "dbname")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if query.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(query);
    }
    Ok(url.into())
}

fn sqlite_url(file: &Path) -> String {
    format!("sqlite://{}", file.display())
}

fn io_error(what: &'static str) -> impl Fn(std::io::Error) -> StoreError {
    move |e| StoreError::Config(format!("cannot {what}: {e}"))
}

/// Waits until the workers have run every job due at `now()` (the test's clock)
/// and the outbox relay has dispatched every message, so a test can look at
/// what its jobs did.
///
/// # Panics
/// When a job died, or jobs are still left after 20 s: a test must not leave
/// work unrun.
pub async fn drain(db: &Db, now: impl Fn() -> jiff::Timestamp) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        // Jobs, then the outbox, then jobs again: work the outbox relay did
        // between the first two reads shows in the third as its jobs.
        let mut left = outstanding(db, now()).await;
        let pending = match db.conn().await {
            Ok(mut c) => crate::outbox::any_pending(&mut c).await,
            Err(e) => Err(e),
        };
        let pending = match pending {
            Ok(p) => p,
            Err(e) => panic!("cannot read the outbox: {e}"),
        };
        if left.is_empty() && !pending {
            left = outstanding(db, now()).await;
            if left.is_empty() {
                return;
            }
        }
        assert!(
            left.iter().all(|j| j.state != crate::jobs::JobState::Dead),
            "a job died: {left:?}"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "jobs left unrun: {left:?}, outbox messages pending: {pending}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn outstanding(db: &Db, now: jiff::Timestamp) -> Vec<crate::jobs::Job> {
    match crate::jobs::outstanding(db, now).await {
        Ok(left) => left,
        Err(e) => panic!("cannot read the job table: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn another_database_keeps_user_host_and_options() {
        let url = database_url(
            "postgres://app:secret@db.example:5433/test?sslmode=disable&dbname=x",
            "kt_1_2_3",
        );
        assert_eq!(
            url.ok().as_deref(),
            Some("postgres://app:secret@db.example:5433/kt_1_2_3?sslmode=disable")
        );
    }
}
