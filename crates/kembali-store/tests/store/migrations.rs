//! Both databases get the same schema from the one set of migrations;
//! applying them twice, or from two instances at once, is harmless; an applied
//! migration that was edited, or left half-applied, is refused in one line.

use std::collections::BTreeSet;
use std::time::Duration;

use kembali_store::{ConnectOptions, Db, StoreError, migrate};

use crate::support::TestDb;

fn names_in(dir: &str) -> BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    std::fs::read_dir(&path)
        .expect("migration folder")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter_map(|n| n.strip_suffix(".sql").map(str::to_owned))
        .collect()
}

#[test]
fn every_migration_file_is_known() {
    let files = names_in("migrations");
    let known: BTreeSet<String> = kembali_store::migrate::known_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(files, known, "a migration file is not listed in migrate.rs");
}

#[test]
fn sqlite_gets_its_own_type_names_and_nothing_else_changes() {
    let pg = "CREATE TABLE t (a BIGINT NOT NULL, b JSONB, c BOOLEAN, bigint_col TEXT, d INTEGER, e BYTEA);\n-- BIGINT ms";
    assert_eq!(
        migrate::sqlite_text(pg),
        "CREATE TABLE t (a INTEGER NOT NULL, b TEXT, c INTEGER, bigint_col TEXT, d INTEGER, e BLOB);\n-- INTEGER ms"
    );
}

async fn migrate_is_idempotent(t: &TestDb) {
    let again = kembali_store::migrate::migrate(&t.db)
        .await
        .expect("migrate again");
    assert!(again.is_empty(), "re-running applied {again:?}");
}
crate::both!(migrate_twice, super::migrate_is_idempotent);

/// The schema as both databases can describe it: table and column names,
/// nullability, and indexes with their columns, uniqueness and partiality. Types
/// are left out on purpose (INTEGER/BIGINT, TEXT/JSONB, INTEGER/BOOLEAN).
#[derive(Debug, PartialEq, Eq, Default)]
struct Catalogue {
    /// (table, column, nullable)
    columns: BTreeSet<(String, String, bool)>,
    /// (table, primary-key columns in key order)
    primary_keys: BTreeSet<(String, Vec<String>)>,
    indexes: BTreeSet<Index>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    table: String,
    /// The index's own name for `CREATE INDEX`; for one made by a `UNIQUE`
    /// constraint the databases pick different names, so it is `unique(columns)`.
    name: String,
    columns: Vec<String>,
    unique: bool,
    partial: bool,
}

/// Stands for an indexed expression, which neither catalogue names.
const EXPRESSION: &str = "(expression)";

const SQLX_TABLE: &str = "_sqlx_migrations";

async fn sqlite_catalogue(pool: &sqlx::SqlitePool) -> Catalogue {
    let mut cat = Catalogue::default();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> $1",
    )
    .bind(SQLX_TABLE)
    .fetch_all(pool)
    .await
    .expect("tables");
    for table in tables {
        let cols: Vec<(String, bool, i64)> =
            sqlx::query_as("SELECT name, \"notnull\", pk FROM pragma_table_info($1)")
                .bind(&table)
                .fetch_all(pool)
                .await
                .expect("columns");
        let mut pk: Vec<(i64, String)> = Vec::new();
        for (name, not_null, pk_pos) in cols {
            // SQLite lets a non-INTEGER key column hold NULL unless it says NOT
            // NULL; PostgreSQL never does. We never store one, so both count as
            // not nullable.
            cat.columns
                .insert((table.clone(), name.clone(), !not_null && pk_pos == 0));
            if pk_pos > 0 {
                pk.push((pk_pos, name));
            }
        }
        if !pk.is_empty() {
            pk.sort();
            cat.primary_keys
                .insert((table.clone(), pk.into_iter().map(|(_, n)| n).collect()));
        }
        let indexes: Vec<(String, bool, String, bool)> =
            sqlx::query_as("SELECT name, \"unique\", origin, partial FROM pragma_index_list($1)")
                .bind(&table)
                .fetch_all(pool)
                .await
                .expect("indexes");
        for (name, unique, origin, partial) in indexes {
            if origin == "pk" {
                continue; // compared as the primary key above
            }
            let columns: Vec<Option<String>> =
                sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(pool)
                    .await
                    .expect("index columns");
            let columns: Vec<String> = columns
                .into_iter()
                .map(|c| c.unwrap_or_else(|| EXPRESSION.to_owned()))
                .collect();
            let name = if origin == "u" {
                format!("unique({})", columns.join(", "))
            } else {
                name
            };
            cat.indexes.insert(Index {
                table: table.clone(),
                name,
                columns,
                unique,
                partial,
            });
        }
    }
    cat
}

#[derive(sqlx::FromRow)]
struct PgIndexRow {
    table: String,
    name: String,
    unique: bool,
    primary: bool,
    /// Made by a PRIMARY KEY or UNIQUE constraint rather than CREATE INDEX.
    from_constraint: bool,
    partial: bool,
    /// Key columns in order; `None` for an expression (attnum 0).
    columns: Vec<Option<String>>,
}

async fn postgres_catalogue(pool: &sqlx::PgPool, schema: &str) -> Catalogue {
    let mut cat = Catalogue::default();
    let cols: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable::text
         FROM information_schema.columns WHERE table_schema = $1 AND table_name <> $2",
    )
    .bind(schema)
    .bind(SQLX_TABLE)
    .fetch_all(pool)
    .await
    .expect("columns");
    for (table, column, nullable) in cols {
        cat.columns.insert((table, column, nullable == "YES"));
    }
    // pg_indexes names the indexes; pg_index says which back a constraint and
    // lists their columns in key order (attnum 0 is an expression).
    let indexes: Vec<PgIndexRow> = sqlx::query_as(
        "SELECT pi.tablename::text AS table, pi.indexname::text AS name,
                    ix.indisunique AS unique, ix.indisprimary AS primary,
                    EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
                        AS from_constraint,
                    ix.indpred IS NOT NULL AS partial,
                    ARRAY(SELECT a.attname::text
                          FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
                          LEFT JOIN pg_attribute a
                            ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
                          ORDER BY k.n) AS columns
             FROM pg_indexes pi
             JOIN pg_namespace ns ON ns.nspname = pi.schemaname
             JOIN pg_class ic ON ic.relname = pi.indexname AND ic.relnamespace = ns.oid
             JOIN pg_index ix ON ix.indexrelid = ic.oid
             WHERE pi.schemaname = $1 AND pi.tablename <> $2",
    )
    .bind(schema)
    .bind(SQLX_TABLE)
    .fetch_all(pool)
    .await
    .expect("indexes");
    for PgIndexRow {
        table,
        name,
        unique,
        primary,
        from_constraint,
        partial,
        columns,
    } in indexes
    {
        let columns: Vec<String> = columns
            .into_iter()
            .map(|c| c.unwrap_or_else(|| EXPRESSION.to_owned()))
            .collect();
        if primary {
            cat.primary_keys.insert((table, columns));
            continue;
        }
        let name = if from_constraint {
            format!("unique({})", columns.join(", "))
        } else {
            name
        };
        cat.indexes.insert(Index {
            table,
            name,
            columns,
            unique,
            partial,
        });
    }
    cat
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_folders_build_the_same_tables_columns_and_indexes() {
    let lite = crate::support::sqlite().await;
    let Some(pg) = crate::support::postgres().await else {
        lite.cleanup().await;
        return;
    };
    let Db::Sqlite { reader, .. } = &lite.db else {
        panic!("not SQLite");
    };
    let Db::Postgres(pool) = &pg.db else {
        panic!("not PostgreSQL");
    };
    // Each PostgreSQL test database is a clone of the template: its tables are in `public`.
    let schema = "public".to_owned();
    let a = sqlite_catalogue(reader).await;
    let b = postgres_catalogue(pool, &schema).await;
    // Guards against comparing two empty catalogues.
    assert!(a.columns.len() > 50 && a.indexes.len() > 10, "{a:#?}");
    assert!(
        a.indexes
            .iter()
            .any(|i| i.name == "jobs_dedupe" && i.partial)
    );
    let only = |x: &BTreeSet<_>, y: &BTreeSet<_>| x.difference(y).cloned().collect::<Vec<_>>();
    assert_eq!(
        only(&a.columns, &b.columns),
        only(&b.columns, &a.columns),
        "columns: only in SQLite (left) vs only in PostgreSQL (right)"
    );
    assert_eq!(a.primary_keys, b.primary_keys, "primary keys");
    let a_idx: Vec<_> = a.indexes.difference(&b.indexes).collect();
    let b_idx: Vec<_> = b.indexes.difference(&a.indexes).collect();
    assert_eq!(
        a_idx, b_idx,
        "indexes: only in SQLite (left) vs only in PostgreSQL (right)"
    );
    lite.cleanup().await;
    pg.cleanup().await;
}

/// A fresh database gets every version on the first call and none on the second.
async fn first_call_applies_all_then_none(db: &Db) {
    let all = migrate::known_versions();
    assert_eq!(migrate::migrate(db).await.expect("first"), all);
    assert_eq!(
        migrate::migrate(db).await.expect("second"),
        Vec::<i64>::new()
    );
}

/// Two instances migrating one fresh database at once: one applies everything,
/// the other waits for it and then finds nothing to do.
async fn concurrent_first_calls_split_the_work(a: &Db, b: &Db) {
    let (ra, rb) = tokio::join!(migrate::migrate(a), migrate::migrate(b));
    let (ra, rb) = (ra.expect("a"), rb.expect("b"));
    let all = migrate::known_versions();
    assert!(
        (ra == all && rb.is_empty()) || (rb == all && ra.is_empty()),
        "a applied {ra:?}, b applied {rb:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_sqlite_applies_once_even_from_two_instances() {
    let dir = tempfile::tempdir().expect("dir");
    let url = |f: &str| format!("sqlite://{}", dir.path().join(f).display());
    let db = Db::connect(&ConnectOptions::new(url("one.db")))
        .await
        .expect("open");
    first_call_applies_all_then_none(&db).await;
    db.close().await;

    let a = Db::connect(&ConnectOptions::new(url("two.db")))
        .await
        .expect("open a");
    let b = Db::connect(&ConnectOptions::new(url("two.db")))
        .await
        .expect("open b");
    concurrent_first_calls_split_the_work(&a, &b).await;
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_postgres_applies_once_even_from_two_instances() {
    // Only to learn whether PostgreSQL is there (and skip or fail as the suite does).
    let Some(probe) = crate::support::postgres().await else {
        return;
    };
    // The server's own database: the fresh schemas below live there.
    let url = kembali_store::testing::postgres_url();
    probe.cleanup().await;
    let fresh = || {
        let mut o = ConnectOptions::new(url.clone());
        o.schema = Some(crate::support::unique_schema());
        o
    };
    let one = fresh();
    let db = Db::connect(&one).await.expect("open");
    first_call_applies_all_then_none(&db).await;
    db.close().await;

    let two = fresh();
    let a = Db::connect(&two).await.expect("open a");
    let b = Db::connect(&two).await.expect("open b");
    concurrent_first_calls_split_the_work(&a, &b).await;
    a.close().await;
    b.close().await;
    for o in [one, two] {
        let schema = o.schema.expect("schema");
        kembali_store::db::drop_schema(&url, &schema)
            .await
            .expect("drop");
    }
}

async fn a_changed_migration_is_refused_in_one_line(t: &TestDb) {
    let mut tx = t.db.begin().await.expect("tx");
    kembali_store::run!(&mut tx, |c| sqlx::query(
        "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1"
    )
    .bind(vec![0u8; 48])
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))
    .expect("tamper");
    tx.commit().await.expect("commit");
    match migrate::migrate(&t.db).await {
        Err(StoreError::Migration(m)) => assert_eq!(
            m,
            "migration 1 (0001_init) was changed after it was applied to this database; \
             restore the original file or restore the database"
        ),
        other => panic!("expected a migration error, got {other:?}"),
    }
    let mut tx = t.db.begin().await.expect("tx");
    kembali_store::run!(&mut tx, |c| sqlx::query(
        "UPDATE _sqlx_migrations SET success = FALSE WHERE version = 2"
    )
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))
    .expect("mark dirty");
    tx.commit().await.expect("commit");
    // From another instance: had the failed run kept its lock (PostgreSQL's is
    // per session and per database), this would wait forever.
    let other = t.second_pool().await;
    let again = tokio::time::timeout(Duration::from_secs(30), migrate::migrate(&other))
        .await
        .expect("the failed run released its lock");
    other.close().await;
    match again {
        Err(StoreError::Migration(m)) => {
            assert!(
                m.starts_with("migration 2 (0002_jobs) is only partly applied"),
                "{m}"
            );
            assert!(!m.contains('\n'), "{m}");
        }
        other => panic!("expected a migration error, got {other:?}"),
    }
}
crate::both!(
    tampered_checksum,
    super::a_changed_migration_is_refused_in_one_line
);
