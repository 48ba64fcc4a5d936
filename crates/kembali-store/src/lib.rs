//! Kembali's storage on SQLite and PostgreSQL: one module per aggregate, all
//! queries scoped by shop, migrations for both databases, and the job table.

pub mod api_keys;
pub mod bulk;
pub mod catalogue;
pub mod credit;
pub mod customers;
pub mod db;
mod dialect;
pub mod direct;
pub mod dropoff;
pub mod idempotency;
pub mod jobs;
pub mod listing;
pub mod migrate;
pub mod notes;
pub mod orders;
pub mod outbox;
pub mod photos;
pub mod policies;
pub mod portal;
pub mod refunds;
pub mod returns;
pub mod shops;
pub mod sources;
mod stored;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhooks;
pub mod writer;

pub use db::{Backend, Conn, ConnectOptions, Db, Session, Tx};
pub use sqlx::Error as SqlxError;
pub use writer::JobConn;

/// Greater than every id of a prefix once `*` is replaced by it (a ULID's first
/// character is at most `7`), under any collation: what a list without a cursor
/// pages below, so the query keeps one shape (and one cached plan).
pub const AFTER_EVERY_ID: &str = "*_8";

/// Milliseconds since the epoch: how every time is stored, in both databases, so
/// comparisons and ordering behave the same everywhere.
pub fn millis(t: jiff::Timestamp) -> i64 {
    t.as_millisecond()
}

/// The inverse of [`millis`]; a value outside jiff's range (never written by us)
/// clamps rather than failing a read.
pub fn from_millis(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    })
}

/// 80 random bits for a new id; the time part comes from the clock.
///
/// The bits come from the OS's random source, fetched for 64 ids at a time per
/// thread: a bulk import makes millions of ids, and one `getrandom` call each
/// was a tenth of its reading thread's time (docs/BENCHMARKS.md). Nothing in an
/// id is a secret (API keys and webhook secrets read the source directly).
pub fn entropy() -> u128 {
    const IDS: usize = 64;
    thread_local! {
        static POOL: std::cell::RefCell<([u8; 16 * IDS], usize)> =
            const { std::cell::RefCell::new(([0; 16 * IDS], 16 * IDS)) };
    }
    POOL.with_borrow_mut(|(bytes, at)| {
        if *at == bytes.len() {
            // Without an OS random source nothing else here would work either;
            // ids then still stay unique through their time part and this counter.
            if getrandom::fill(bytes).is_err() {
                static FALLBACK: std::sync::atomic::AtomicU64 =
                    std::sync::atomic::AtomicU64::new(1);
                for chunk in bytes.chunks_exact_mut(16) {
                    let n = FALLBACK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    chunk[..8].copy_from_slice(&n.to_le_bytes());
                    chunk[8..].fill(0);
                }
            }
            *at = 0;
        }
        let mut b = [0u8; 16];
        b.copy_from_slice(&bytes[*at..*at + 16]);
        *at += 16;
        u128::from_le_bytes(b)
    })
}

/// The system's clock: what runs in production.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl kembali_core::Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// The operating system's random source, through [`entropy`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

impl kembali_core::IdSource for OsEntropy {
    fn entropy(&self) -> u128 {
        entropy()
    }
}

/// Maps a parse failure of stored data to [`StoreError::Corrupt`].
pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Config(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("not found")]
    NotFound,
    /// A unique key already holds this value; `constraint` names the index.
    #[error("already exists ({constraint})")]
    Duplicate { constraint: String },
    /// The row changed since it was read (optimistic versioning).
    #[error("the record was changed by someone else; reload and try again")]
    VersionConflict,
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The database cannot be reached or dropped the connection (a restart, a
    /// failover, a full pool): the same request may well succeed shortly.
    #[error("the database is unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// The migrations cannot be applied: one line that names the migration and
    /// says what to do (an edited or half-applied migration, an unknown one).
    #[error("{0}")]
    Migration(String),
}

impl StoreError {
    pub(crate) fn connect(e: sqlx::Error) -> StoreError {
        StoreError::Connect(match &e {
            sqlx::Error::Io(io) => io.to_string(),
            sqlx::Error::Database(d) => d.message().to_owned(),
            other => other.to_string(),
        })
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate {
                constraint: d.constraint().unwrap_or_else(|| d.message()).to_owned(),
            },
            _ if connection_lost(&e) => StoreError::Unavailable(e),
            _ => StoreError::Database(e),
        }
    }
}

/// Whether `e` says the database is out of reach rather than that the query is
/// wrong: the connection broke (I/O, TLS, a garbled or cut-off message), no
/// connection could be had in time, or PostgreSQL is shutting down, starting up
/// or refused the connection (SQLSTATE 57P01–57P03 and class 08).
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|code| {
            matches!(code.as_ref(), "57P01" | "57P02" | "57P03") || code.starts_with("08")
        }),
        _ => false,
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

#[cfg(test)]
mod error_tests {
    use super::StoreError;

    #[test]
    fn a_lost_connection_is_unavailable_and_nothing_else_is() {
        let lost = [
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            sqlx::Error::Protocol("unexpected end of message".into()),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
        ];
        for e in lost {
            let shown = e.to_string();
            assert!(
                matches!(StoreError::from(e), StoreError::Unavailable(_)),
                "{shown}"
            );
        }
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::NotFound
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::ColumnNotFound("x".into())),
            StoreError::Database(_)
        ));
    }
}

#[cfg(test)]
mod entropy_tests {
    #[test]
    fn ids_never_share_their_random_bits_across_refills_or_threads() {
        // Several refills of the per-thread pool, on two threads: a pool handed
        // out twice, or shared, would repeat values.
        let draw = || (0..1000).map(|_| super::entropy()).collect::<Vec<_>>();
        let other = std::thread::spawn(draw);
        let mut all = draw();
        all.extend(other.join().unwrap_or_default());
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
        assert_eq!(n, 2000);
    }
}
