//! SQLite reads run on the calling thread (rusqlite), for the hot look-ups.
//!
//! sqlx runs each SQLite connection on a thread of its own and passes every
//! statement and row over a channel: a profile of `GET /orders/{id}` under load
//! put about a third of the server's time in those hand-offs (futex waits and
//! wake-ups), against a few per cent in SQLite itself (docs/BENCHMARKS.md). A
//! read by key of pages SQLite or the OS already holds takes tens of
//! microseconds, less than one hand-off, so these run where they are asked for,
//! on the async worker, as tokio allows for short work between awaits. Only
//! reads by a unique key go here (`orders::view`, `orders::decision`); what
//! scans or writes stays on sqlx.
//!
//! Each connection is read-only and sees the database as of its statement's
//! start, as the sqlx readers do: what a write group committed, never what it
//! has not. A read that finds the file busy for more than [`BUSY`] (another
//! process recovering or locking it) is done again through sqlx, whose
//! connections wait on their own threads; and a look-up gives its worker up
//! when tokio's budget for one turn is spent, so a loop of them starves no
//! other task.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// Idle connections kept; more are opened when more threads read at once
/// (bounded by the runtime's threads, since a read never awaits) and closed
/// when they come back to a full shelf.
const IDLE: usize = 8;

/// How long a read on the calling thread waits for a busy file.
const BUSY: Duration = Duration::from_millis(20);

/// Read-only connections to one SQLite file, each used by one thread at a time.
#[derive(Debug)]
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Opens one connection now, so a file that cannot be read is an error
    /// at start and not at the first request.
    pub fn open(path: &Path) -> Result<Readers, StoreError> {
        let first = connect(path)?;
        Ok(Readers {
            path: path.to_owned(),
            idle: Mutex::new(vec![first]),
        })
    }

    /// Runs `read` on an idle connection (or a new one), on this thread.
    pub fn read<R>(
        &self,
        read: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let taken = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match taken {
            Some(c) => c,
            None => connect(&self.path)?,
        };
        let answer = read(&conn);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE
        {
            idle.push(conn);
        }
        answer
    }
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite)?;
    // A reader waits only while SQLite recovers a WAL another process left
    // behind, or another process holds the file exclusively. Briefly here,
    // on the worker: past this the look-up waits on sqlx's thread instead
    // (`orders::read_folded_in`).
    conn.busy_timeout(BUSY).map_err(sqlite)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// Column `idx` of `r`, a JSON text, parsed; text that is not `T` fails as a
/// column that did not convert (`Corrupt`, [`sqlite`]), as sqlx's `Json` does.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    r: &rusqlite::Row<'_>,
    idx: impl rusqlite::RowIndex,
) -> rusqlite::Result<T> {
    let text: String = r.get(idx)?;
    json_text(&text)
}

/// A JSON column's text parsed, failing as [`json_column`] does.
pub(crate) fn json_text<T: serde::de::DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A rusqlite error as the store's: a busy or unreadable file is the database
/// out of reach (503, try again), a value our own conversion refused (the
/// folded row's JSON) stored data that cannot be read, anything else an error
/// of the query.
pub(crate) fn sqlite(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{CannotOpen, DatabaseBusy, DatabaseLocked, SystemIoFailure};
    if let rusqlite::Error::FromSqlConversionFailure(..) = e {
        return StoreError::Corrupt(e.to_string());
    }
    let lost = matches!(
        e.sqlite_error_code(),
        Some(DatabaseBusy | DatabaseLocked | CannotOpen | SystemIoFailure)
    );
    let e = sqlx::Error::AnyDriverError(Box::new(e));
    if lost {
        StoreError::Unavailable(e)
    } else {
        StoreError::Database(e)
    }
}
