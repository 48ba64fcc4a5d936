//! The connection to SQLite or PostgreSQL: one enum over the two pools, and the
//! `run!` macro that lets a query be written once and run on either.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};

use crate::StoreError;
use crate::direct::Readers;
use crate::writer::{WriteTx, Writer};

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool of connections to the shop's database.
///
/// SQLite allows one writer at a time: writes queue in Kembali for its one
/// writer connection instead of failing with `SQLITE_BUSY`, and those that
/// queue together commit together ([`Writer`]), while reads use their own pool
/// and run alongside (WAL).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite {
        writer: Arc<Writer>,
        reader: SqlitePool,
        /// Reads by key on the calling thread ([`crate::direct`]); `None` for
        /// an in-memory database, which only sqlx's connections share.
        direct: Option<Arc<Readers>>,
    },
    Postgres(PgPool),
}

/// A transaction on either database.
pub enum Tx {
    Sqlite(WriteTx),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// A pooled connection for reads outside a transaction.
pub enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// A borrowed connection of either kind, what `run!` matches on.
pub enum Inner<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// Anything a query can run on: a transaction or a plain connection.
pub trait Session {
    fn inner(&mut self) -> Inner<'_>;
    fn backend(&self) -> Backend;
}

impl Session for Tx {
    fn inner(&mut self) -> Inner<'_> {
        match self {
            Tx::Sqlite(t) => Inner::Sqlite(t.conn()),
            Tx::Postgres(t) => Inner::Postgres(t),
        }
    }
    fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

impl Session for Conn {
    fn inner(&mut self) -> Inner<'_> {
        match self {
            Conn::Sqlite(c) => Inner::Sqlite(c),
            Conn::Postgres(c) => Inner::Postgres(c),
        }
    }
    fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Runs the same query code on whichever database `$exec` is connected to.
/// Inside, `$c` is `&mut SqliteConnection` or `&mut PgConnection`; reborrow it as
/// `&mut *$c` for each query. The body is compiled once per database.
#[macro_export]
macro_rules! run {
    ($exec:expr, |$c:ident| $body:expr) => {
        match $crate::db::Session::inner($exec) {
            $crate::db::Inner::Sqlite($c) => $body,
            $crate::db::Inner::Postgres($c) => $body,
        }
    };
}

/// How to open the pools.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    pub url: String,
    /// PostgreSQL only: keep every table in this schema (created if missing).
    /// Lets test runs and benchmarks share one database without colliding.
    pub schema: Option<String>,
    pub max_connections: u32,
    /// PostgreSQL only: how long a query waits for a connection, including
    /// reconnecting after the server went away, before it fails as
    /// [`StoreError::Unavailable`]. SQLite keeps 30 s: its writes queue for the
    /// one writer connection by design, and its file cannot go away.
    pub acquire_timeout: Duration,
}

/// How long a PostgreSQL query waits for a connection by default: long enough
/// to ride out a burst that fills the pool, short enough that a lost database
/// is a quick 503 and not a hanging request.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// A pooled PostgreSQL connection idle this long is pinged before a request
/// gets it; one used more recently is not.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Outages depend on this: an idle connection the server closed (a restart)
/// fails its ping and is replaced, rather than failing the request that drew
/// it. sqlx's `test_before_acquire` pings on every acquisition, a round trip
/// (and a wake-up of the server's backend) per request; a connection given
/// back within the last second was answering then, so only one idle longer is
/// pinged. A restart inside that second fails the requests that draw such a
/// connection, as 503s (`StoreError::Unavailable`), and their connections are
/// closed.
fn tested(options: PgPoolOptions) -> PgPoolOptions {
    options
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

impl ConnectOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: None,
            max_connections: 16,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
        }
    }
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Opens the pools; for SQLite the file is created if missing, in WAL mode
    /// with foreign keys on.
    pub async fn connect(opts: &ConnectOptions) -> Result<Db, StoreError> {
        let url = opts.url.trim();
        if url.starts_with("sqlite:") {
            let base = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let readers = std::thread::available_parallelism()
                .map_or(2, |n| u32::try_from(n.get()).unwrap_or(2))
                .max(2);
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(
                    base.clone()
                        .pragma(
                            "wal_autocheckpoint",
                            crate::writer::WAL_PAGES_THE_WRITER_LEAVES.to_string(),
                        )
                        .pragma("cache_size", "-16384")
                        .pragma("temp_store", "memory"),
                )
                .await
                .map_err(StoreError::connect)?;
            let checkpointer = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_lazy_with(base.clone());
            let reader = SqlitePoolOptions::new()
                // SQLite readers contend on the WAL index locks: a few
                // connections (one per core) serve more than many (BENCHMARKS.md).
                .max_connections(opts.max_connections.clamp(1, readers))
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(base.clone())
                .await
                .map_err(StoreError::connect)?;
            // The file exists now: the writer's connection created it.
            let file = base.get_filename();
            let shared = file
                .to_str()
                .is_some_and(|f| f.starts_with("file:") || f == ":memory:");
            let direct = if shared {
                None
            } else {
                Some(Arc::new(Readers::open(file)?))
            };
            let jobs_file = (!shared).then(|| file.to_path_buf());
            Ok(Db::Sqlite {
                writer: Writer::new(writer, checkpointer, jobs_file),
                reader,
                direct,
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let mut base = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?;
            if let Some(schema) = &opts.schema {
                if !valid_schema_name(schema) {
                    return Err(StoreError::Config(format!(
                        "`{schema}` is not a valid schema name (a–z, 0–9, _)"
                    )));
                }
                let mut admin = sqlx::ConnectOptions::connect(&base)
                    .await
                    .map_err(StoreError::connect)?;
                let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
                sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                    .execute(&mut admin)
                    .await?;
                let _ = sqlx::Connection::close(admin).await;
                base = base.options([("search_path", schema.as_str())]);
            }
            // One direct connection first: its error says what is wrong (refused,
            // unknown database, bad password) where a pool only says it timed out.
            let probe = sqlx::ConnectOptions::connect(&base)
                .await
                .map_err(StoreError::connect)?;
            let _ = sqlx::Connection::close(probe).await;
            let pool = tested(PgPoolOptions::new())
                .max_connections(opts.max_connections.max(2))
                // Bounds the whole acquisition, reconnect attempts included: while
                // the server is down, sqlx retries refused connections until then.
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(base)
                .await
                .map_err(StoreError::connect)?;
            Ok(Db::Postgres(pool))
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL `{}`: use sqlite://FILE or postgres://…",
                redact(url)
            )))
        }
    }

    /// Starts a write transaction. On SQLite it is a savepoint in the writer's
    /// open group ([`Writer`]); `commit` returns once the group committed.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite { writer, .. } => Tx::Sqlite(writer.begin().await?),
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Runs `job` as one write on SQLite's writer, on this thread
    /// ([`Writer::run`]); `None` on PostgreSQL and on an in-memory SQLite
    /// database, where writes go through [`Db::begin`].
    pub async fn run_job<T, E>(
        &self,
        job: impl FnOnce(&rusqlite::Connection) -> Result<T, E> + Send + 'static,
    ) -> Option<Result<T, E>>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match self {
            Db::Sqlite { writer, .. } if writer.runs_jobs() => Some(writer.run(job).await),
            _ => None,
        }
    }

    /// Whether [`Db::run_job`] runs jobs here.
    pub fn runs_jobs(&self) -> bool {
        matches!(self, Db::Sqlite { writer, .. } if writer.runs_jobs())
    }

    /// A connection for reads.
    pub async fn conn(&self) -> Result<Conn, StoreError> {
        Ok(match self {
            Db::Sqlite { reader, .. } => Conn::Sqlite(reader.acquire().await?),
            Db::Postgres(p) => Conn::Postgres(p.acquire().await?),
        })
    }

    /// Answers whether the database takes queries right now (for `/readyz`),
    /// within `within`: a database that does not answer is as good as gone.
    pub async fn ping(&self, within: Duration) -> Result<(), StoreError> {
        let ping = async {
            let mut c = self.conn().await?;
            run!(&mut c, |c| sqlx::query("SELECT 1")
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
            Ok(())
        };
        match tokio::time::timeout(within, ping).await {
            Ok(answer) => answer,
            Err(_) => Err(StoreError::Unavailable(sqlx::Error::Io(
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {} ms", within.as_millis()),
                ),
            ))),
        }
    }

    /// A second handle on the same database with one connection of its own, for
    /// a short transaction taken while a request's transaction is open (the
    /// return-number blocks), so it never waits for the pool the request holds a
    /// connection of. SQLite answers itself: its one writer is already taken by
    /// the request, and nothing may be written beside it.
    pub fn side(&self) -> Db {
        match self {
            Db::Sqlite { .. } => self.clone(),
            Db::Postgres(p) => Db::Postgres(
                tested(PgPoolOptions::new())
                    .max_connections(1)
                    .acquire_timeout(DEFAULT_ACQUIRE_TIMEOUT)
                    .connect_lazy_with((*p.connect_options()).clone()),
            ),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { writer, reader, .. } => {
                writer.close().await;
                reader.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

fn valid_schema_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

/// The URL without its password, for messages; everything else is kept.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        // An `@` past the credentials means they held an unencoded `/`, `?` or
        // `#`, and the parser took the end of the password for the path.
        Ok(parsed) if parsed[url::Position::BeforeHost..].contains('@') => redact_unparsed(url),
        Ok(mut parsed) if parsed.password().is_some() => {
            // Fails only for URLs that cannot carry credentials, and those have no
            // password to hide.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        // Returned as written, not as `url` would normalise it.
        Ok(_) => url.to_owned(),
        Err(_) => redact_unparsed(url),
    }
}

/// For text `url` cannot parse, or parses oddly (a typo in a configuration): everything
/// between the first `:` of the userinfo and its last `@` goes, so a password
/// that holds `@` or `/` is hidden too.
fn redact_unparsed(url: &str) -> String {
    let Some(start) = url.find("://").map(|s| s + 3) else {
        return url.to_owned();
    };
    let rest = &url[start..];
    match rest.rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!("{}{}:***{}", &url[..start], &rest[..colon], &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Drops a PostgreSQL schema and everything in it (test runs and benchmarks
/// clean up after themselves with this).
pub async fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
    if !valid_schema_name(schema) {
        return Err(StoreError::Config(format!(
            "`{schema}` is not a valid schema name"
        )));
    }
    let opts = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?;
    let mut conn = sqlx::ConnectOptions::connect(&opts)
        .await
        .map_err(StoreError::connect)?;
    let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await?;
    let _ = sqlx::Connection::close(conn).await;
    Ok(())
}

impl Db {
    /// Refreshes the planner's statistics. Worth running after a bulk import:
    /// PostgreSQL keeps plans made while a table was nearly empty (including
    /// those of its foreign-key checks) until the statistics change.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let sql = crate::dialect::analyze(self.backend());
        crate::run!(&mut tx, |c| sqlx::raw_sql(sql)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        tx.commit().await
    }

    /// What PostgreSQL's autovacuum does for it, on SQLite: statistics for the
    /// tables that lack them or whose size changed a lot (`PRAGMA optimize` over
    /// every table, each analysed on a sample of rows so it stays quick). A
    /// database filled through the API never gets statistics otherwise, and
    /// then the planner may walk a shop's whole table (docs/BENCHMARKS.md).
    /// The server runs it at start and every ten minutes; nothing on PostgreSQL.
    pub async fn optimize(&self) -> Result<(), StoreError> {
        if self.backend() != Backend::Sqlite {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        crate::run!(&mut tx, |c| sqlx::raw_sql(
            "PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002"
        )
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://kembali:s3cret@db.example:5432/shop"),
            "postgres://kembali:***@db.example:5432/shop"
        );
        // A password with characters that had to be percent-encoded.
        let r = redact("postgres://u:p%40ss%2Fw@h/d?sslmode=require");
        assert_eq!(r, "postgres://u:***@h/d?sslmode=require");
        for plain in [
            "postgres://kembali@db.example/shop",
            "postgres://db.example/shop",
            "sqlite:///var/lib/kembali/kembali.db",
            "sqlite://kembali.db",
        ] {
            assert_eq!(redact(plain), plain);
        }
    }

    #[test]
    fn redact_leaks_nothing_from_an_unparsable_url() {
        // A port that is no number: `url` refuses it.
        assert_eq!(
            redact("postgres://user:secret@host:port/db"),
            "postgres://user:***@host:port/db"
        );
        // An unencoded `@` and `/` in the password: `url` would take `wd@host/db`
        // for the path and keep it.
        let r = redact("postgres://user:pa@ss/wd@host/db");
        assert_eq!(r, "postgres://user:***@host/db");
        let r = redact("postgres://us/er:pw@host/db");
        assert_eq!(r, "postgres://us/er:***@host/db");
        assert_eq!(redact("not a url"), "not a url");
    }
}
