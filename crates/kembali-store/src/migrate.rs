//! Schema migrations, applied by sqlx's `Migrator` under a lock, with the
//! checksums of applied ones checked.
//!
//! Each migration is written once, in `migrations/NNNN_name.sql`, with
//! PostgreSQL's types; SQLite gets the same text with the four type names that
//! differ rewritten ([`sqlite_text`]: `BIGINT` and `BOOLEAN` are `INTEGER`,
//! `JSONB` is `TEXT`, `BYTEA` is `BLOB`). One source cannot drift apart the way
//! two folders could; a store test still builds both schemas and compares their
//! tables, columns and indexes.
//!
//! Applied migrations are recorded in sqlx's own `_sqlx_migrations` table. An
//! earlier runner of ours kept a `kembali_migrations` table; nothing was deployed
//! with it, so databases made by it are not carried over (recreate them).

use std::collections::BTreeSet;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationType, Migrator};

use crate::StoreError;
use crate::db::{Backend, Db};

/// sqlx's default table, named here because we read it too.
const TABLE: &str = "_sqlx_migrations";

struct Source {
    version: i64,
    name: &'static str,
    /// As written: PostgreSQL's text.
    sql: &'static str,
}

macro_rules! source {
    ($version:literal, $name:literal) => {
        Source {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../migrations/", $name, ".sql")),
        }
    };
}

/// A migration's text for SQLite: the type names SQLite spells otherwise, as
/// whole words. Nothing else differs between the two dialects in our schema
/// (partial indexes, `ON CONFLICT`, `COALESCE` in an index work in both).
pub fn sqlite_text(postgres: &str) -> String {
    let mut out = String::with_capacity(postgres.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(match word.as_str() {
            "BIGINT" | "BOOLEAN" => "INTEGER",
            "JSONB" => "TEXT",
            "BYTEA" => "BLOB",
            w => w,
        });
        word.clear();
    };
    for c in postgres.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Every migration, oldest first. A test checks the folder holds exactly these.
const SOURCES: &[Source] = &[
    source!(1, "0001_init"),
    source!(2, "0002_jobs"),
    source!(3, "0003_intake_outbox_reporting"),
    source!(4, "0004_sources_intake"),
    source!(5, "0005_api_key_scopes"),
    source!(6, "0006_resources"),
    source!(7, "0007_webhooks"),
    source!(8, "0008_settlement"),
    source!(9, "0009_catalogue_exchanges"),
    source!(10, "0010_shipments_payouts"),
    source!(11, "0011_portal"),
    source!(12, "0012_dropoff_points"),
    source!(13, "0013_hot_path"),
    source!(14, "0014_photos"),
    source!(15, "0015_return_dropoff_point"),
];

/// The file names this build knows, for the folder-consistency test.
pub fn known_names() -> Vec<&'static str> {
    SOURCES.iter().map(|m| m.name).collect()
}

/// The versions this build knows, oldest first.
pub fn known_versions() -> Vec<i64> {
    SOURCES.iter().map(|m| m.version).collect()
}

/// The migrations for one database. The checksum is sqlx's (SHA-384 of the text
/// applied): on PostgreSQL the file's, on SQLite the rewritten text's.
fn migrator(backend: Backend) -> Migrator {
    let migrations = SOURCES
        .iter()
        .map(|s| {
            let sql = match backend {
                Backend::Sqlite => sqlx::AssertSqlSafe(sqlite_text(s.sql)).into_sql_str(),
                Backend::Postgres => s.sql.into_sql_str(),
            };
            // sqlx's own description for a file `0001_init.sql` is "init".
            let description = s
                .name
                .split_once('_')
                .map_or(s.name, |(_, d)| d)
                .replace('_', " ");
            Migration::new(
                s.version,
                description.into(),
                MigrationType::Simple,
                sql,
                false,
            )
        })
        .collect();
    let mut m = Migrator::with_migrations(migrations);
    // We take sqlx's lock (the same advisory key) ourselves, before reading which
    // versions are applied, and hold it until the end; see `migrate`.
    m.set_locking(false);
    m
}

/// Applies every migration not yet applied and returns the versions this call
/// applied (empty when the database was up to date).
///
/// Everything happens under one lock taken first: on PostgreSQL sqlx's advisory
/// lock for the database, on SQLite the file's write lock (`BEGIN IMMEDIATE`). A
/// migration changed after it was applied, or one left half-applied, stops the
/// run with [`StoreError::Migration`] before anything is applied.
pub async fn migrate(db: &Db) -> Result<Vec<i64>, StoreError> {
    let migrator = migrator(db.backend());
    let applied_now: Vec<i64> = match db {
        Db::Sqlite { writer, .. } => {
            // sqlx's `lock()` is a no-op on SQLite. The write transaction is the
            // lock: another process waits on it (up to the busy timeout), and each
            // migration runs inside it as a savepoint, so a failure leaves nothing.
            let mut tx = writer.begin().await?;
            let before = applied(tx.conn()).await?;
            migrator.run(tx.conn()).await.map_err(explain)?;
            let after = applied(tx.conn()).await?;
            tx.commit().await?;
            after.difference(&before).copied().collect()
        }
        Db::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            // The advisory lock belongs to the session, and a failed run returns
            // without releasing it: this connection is closed afterwards rather
            // than lent back to the pool still holding the lock.
            conn.close_on_drop();
            let result = async {
                conn.lock().await.map_err(explain)?;
                let before = applied(&mut *conn).await?;
                migrator.run(&mut *conn).await.map_err(explain)?;
                let after = applied(&mut *conn).await?;
                Ok::<_, StoreError>(after.difference(&before).copied().collect())
            }
            .await;
            // Closing ends the session, which releases the lock in every case.
            let _ = conn.close().await;
            result?
        }
    };
    for v in &applied_now {
        tracing::info!(version = v, name = name_of(*v), "applied migration");
    }
    Ok(applied_now)
}

/// The versions recorded as applied; creates sqlx's table if missing (it would
/// create it next anyway), so it must be called with the lock held.
async fn applied(conn: &mut impl Migrate) -> Result<BTreeSet<i64>, StoreError> {
    conn.ensure_migrations_table(TABLE).await.map_err(explain)?;
    Ok(conn
        .list_applied_migrations(TABLE)
        .await
        .map_err(explain)?
        .into_iter()
        .map(|m| m.version)
        .collect())
}

fn name_of(version: i64) -> &'static str {
    SOURCES
        .iter()
        .find(|s| s.version == version)
        .map_or("unknown", |s| s.name)
}

fn label(version: i64) -> String {
    format!("migration {version} ({})", name_of(version))
}

/// One line for an operator, naming the migration and what to do.
fn explain(e: MigrateError) -> StoreError {
    let message = match e {
        MigrateError::VersionMismatch(v) => format!(
            "{} was changed after it was applied to this database; \
             restore the original file or restore the database",
            label(v)
        ),
        MigrateError::Dirty(v) => format!(
            "{} is only partly applied (marked unsuccessful in {TABLE}); \
             repair the database by hand or restore it",
            label(v)
        ),
        MigrateError::VersionMissing(v) => format!(
            "migration {v} is applied to this database but unknown to this build of \
             Kembali; run the newer build that applied it"
        ),
        MigrateError::ExecuteMigration(err, v) => {
            format!("{} failed: {}", label(v), one_line(&err))
        }
        MigrateError::Execute(err) => return StoreError::from(err),
        other => format!("cannot apply migrations: {}", one_line(&other)),
    };
    StoreError::Migration(message)
}

/// Database messages can span lines (PostgreSQL's DETAIL, HINT); ours must not.
fn one_line(e: &impl std::fmt::Display) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_name_the_migration() {
        let StoreError::Migration(m) = explain(MigrateError::VersionMismatch(2)) else {
            panic!("not a migration error");
        };
        assert_eq!(
            m,
            "migration 2 (0002_jobs) was changed after it was applied to this database; \
             restore the original file or restore the database"
        );
        let StoreError::Migration(m) = explain(MigrateError::Dirty(3)) else {
            panic!("not a migration error");
        };
        assert!(m.starts_with("migration 3 (0003_intake_outbox_reporting) is only partly"));
        let StoreError::Migration(m) = explain(MigrateError::ExecuteMigration(
            sqlx::Error::Protocol("syntax error\nDETAIL: at line 2".into()),
            1,
        )) else {
            panic!("not a migration error");
        };
        assert!(!m.contains('\n'), "{m}");
        assert!(m.starts_with("migration 1 (0001_init) failed: "), "{m}");
    }

    #[test]
    fn descriptions_follow_sqlx() {
        let m = migrator(Backend::Postgres);
        let d: Vec<&str> = m.iter().map(|m| &*m.description).collect();
        assert_eq!(
            d,
            [
                "init",
                "jobs",
                "intake outbox reporting",
                "sources intake",
                "api key scopes",
                "resources",
                "webhooks",
                "settlement",
                "catalogue exchanges",
                "shipments payouts",
                "portal",
                "dropoff points",
                "hot path",
                "photos",
                "return dropoff point"
            ]
        );
    }
}
