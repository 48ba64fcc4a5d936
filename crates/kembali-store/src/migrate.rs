//! Schema migrations, one folder per database with the same versions, applied in
//! order at start-up; each in its own transaction.

use crate::db::{Backend, Db};
use crate::{StoreError, run};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        }
    };
}

/// Every migration, oldest first. A test checks both folders hold exactly these.
const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_init"),
    migration!(2, "0002_jobs"),
    migration!(3, "0003_intake_outbox_reporting"),
];

/// The file names this build knows, for the folder-consistency test.
pub fn known_names() -> Vec<&'static str> {
    MIGRATIONS.iter().map(|m| m.name).collect()
}

/// Applies every migration not yet applied. Safe to run from several instances at
/// once: PostgreSQL serialises them on an advisory lock, SQLite on its one writer.
pub async fn migrate(db: &Db) -> Result<Vec<i64>, StoreError> {
    let mut tx = db.begin().await?;
    let create = "CREATE TABLE IF NOT EXISTS kembali_migrations (
        version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
    run!(&mut tx, |c| sqlx::raw_sql(create)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    tx.commit().await?;

    let mut applied_now = Vec::new();
    for m in MIGRATIONS {
        let mut tx = db.begin().await?;
        if db.backend() == Backend::Postgres {
            // Any constant works; it only has to be the same in every instance.
            run!(&mut tx, |c| sqlx::query(
                "SELECT pg_advisory_xact_lock(727001)"
            )
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        }
        let done: Option<i64> = run!(&mut tx, |c| sqlx::query_scalar(
            "SELECT version FROM kembali_migrations WHERE version = $1"
        )
        .bind(m.version)
        .fetch_optional(&mut *c)
        .await)?;
        if done.is_some() {
            continue;
        }
        let sql = match db.backend() {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        run!(&mut tx, |c| sqlx::raw_sql(sql)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        let now = jiff::Timestamp::now().as_millisecond();
        run!(&mut tx, |c| sqlx::query(
            "INSERT INTO kembali_migrations (version, name, applied_at) VALUES ($1, $2, $3)"
        )
        .bind(m.version)
        .bind(m.name)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        applied_now.push(m.version);
    }
    Ok(applied_now)
}
