//! The SQL that differs between SQLite and PostgreSQL, kept in one place so the
//! queries elsewhere are written once.

use crate::db::Backend;

/// Appended to a `SELECT` whose rows the transaction will then change.
///
/// PostgreSQL locks the rows until the transaction ends, so two transactions
/// cannot both read the old value. SQLite has no row locks and needs none: a write
/// transaction (`BEGIN IMMEDIATE`) already holds the only write lock.
/// Starts with a space, so it can follow the query directly.
#[allow(dead_code, reason = "for returns.rs and jobs.rs, which move here next")]
pub(crate) fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    }
}

/// Appended to a `SELECT` that claims queue rows (jobs, the outbox).
///
/// On PostgreSQL concurrent claimers skip rows another one holds instead of
/// waiting for it, so workers on several instances share the queue. On SQLite
/// claimers are serialised by the write lock, so there is nothing to skip.
/// Starts with a space, so it can follow the query directly.
#[allow(dead_code, reason = "for returns.rs and jobs.rs, which move here next")]
pub(crate) fn for_update_skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
    }
}

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
        assert_eq!(for_update(Backend::Sqlite), "");
        assert_eq!(for_update(Backend::Postgres), " FOR UPDATE");
        assert_eq!(for_update_skip_locked(Backend::Sqlite), "");
        assert_eq!(
            for_update_skip_locked(Backend::Postgres),
            " FOR UPDATE SKIP LOCKED"
        );
        assert_eq!(analyze(Backend::Sqlite), "PRAGMA optimize");
        assert_eq!(analyze(Backend::Postgres), "ANALYZE");
    }
}
