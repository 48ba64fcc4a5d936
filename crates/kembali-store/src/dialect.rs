//! The SQL that differs between SQLite and PostgreSQL, kept in one place so the
//! queries elsewhere are written once.

use crate::db::Backend;

/// The text of a statement whose `SELECT` reads rows the transaction will then
/// change: `before` and `after` (string literals, or macros that expand to one)
/// around the lock clause each database needs, chosen by `backend`. Both texts
/// are built at compile time.
///
/// PostgreSQL locks the rows until the transaction ends (`FOR UPDATE`), so two
/// transactions cannot both read the old value. SQLite has no row locks and needs
/// none: a write transaction (`BEGIN IMMEDIATE`) already holds the only write lock.
macro_rules! for_update {
    ($backend:expr, $before:expr $(, $after:expr)? $(,)?) => {
        match $backend {
            $crate::db::Backend::Sqlite => concat!($before $(, $after)?),
            $crate::db::Backend::Postgres => concat!($before, " FOR UPDATE" $(, $after)?),
        }
    };
}
pub(crate) use for_update;

/// Like [`for_update!`], for a `SELECT` that claims queue rows (jobs): on
/// PostgreSQL concurrent claimers skip rows another one holds instead of waiting
/// (`FOR UPDATE SKIP LOCKED`), so workers on several instances share the queue; on
/// SQLite claimers are serialised by the write lock, so there is nothing to skip.
macro_rules! skip_locked {
    ($backend:expr, $before:expr $(, $after:expr)? $(,)?) => {
        match $backend {
            $crate::db::Backend::Sqlite => concat!($before $(, $after)?),
            $crate::db::Backend::Postgres => {
                concat!($before, " FOR UPDATE SKIP LOCKED" $(, $after)?)
            }
        }
    };
}
pub(crate) use skip_locked;

/// Refreshes the planner's statistics for every table. SQLite's `optimize`
/// analyses only the tables whose statistics are stale or missing, which is what
/// we want after a bulk import and cheap otherwise.
pub(crate) fn analyze(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "PRAGMA optimize",
        Backend::Postgres => "ANALYZE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_postgres_locks_rows() {
        assert_eq!(for_update!(Backend::Sqlite, "SELECT 1"), "SELECT 1");
        assert_eq!(
            for_update!(Backend::Postgres, "SELECT 1"),
            "SELECT 1 FOR UPDATE"
        );
        assert_eq!(
            skip_locked!(Backend::Sqlite, "(SELECT 1", ")"),
            "(SELECT 1)"
        );
        assert_eq!(
            skip_locked!(Backend::Postgres, "(SELECT 1", ")"),
            "(SELECT 1 FOR UPDATE SKIP LOCKED)"
        );
        assert_eq!(analyze(Backend::Sqlite), "PRAGMA optimize");
        assert_eq!(analyze(Backend::Postgres), "ANALYZE");
    }
}
