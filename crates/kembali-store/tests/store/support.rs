//! Test databases: a fresh SQLite file, or a fresh schema on the PostgreSQL server.
//!
//! PostgreSQL comes from `KEMBALI_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When it cannot be reached the
//! PostgreSQL half of a test says so and passes as skipped, unless `CI` or
//! `KEMBALI_REQUIRE_POSTGRES` is set: then it fails.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use kembali_store::{ConnectOptions, Db};

pub struct TestDb {
    pub db: Db,
    pub url: String,
    pub schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn postgres_url() -> String {
    std::env::var("KEMBALI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn postgres_required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
        || std::env::var_os("KEMBALI_REQUIRE_POSTGRES").is_some()
}

/// A unique schema name for this process and call: runs never collide.
pub fn unique_schema() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("kt_{}_{}_{}", std::process::id(), n, nanos)
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("kembali.db").display());
    let db = Db::connect(&ConnectOptions::new(url.clone()))
        .await
        .expect("open SQLite");
    kembali_store::migrate::migrate(&db)
        .await
        .expect("migrate SQLite");
    TestDb {
        db,
        url,
        schema: None,
        _dir: Some(dir),
    }
}

/// `None` when the server is missing and not required (the test is skipped).
pub async fn postgres() -> Option<TestDb> {
    let url = postgres_url();
    let schema = unique_schema();
    let mut opts = ConnectOptions::new(url.clone());
    opts.schema = Some(schema.clone());
    match Db::connect(&opts).await {
        Ok(db) => {
            kembali_store::migrate::migrate(&db)
                .await
                .expect("migrate PostgreSQL");
            Some(TestDb {
                db,
                url,
                schema: Some(schema),
                _dir: None,
            })
        }
        Err(e) if !postgres_required() => {
            // Straight to stderr, past the test harness's capture, so it is seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: PostgreSQL at {url} is not reachable ({e}); set CI=1 to make this fail"
            );
            None
        }
        Err(e) => panic!("PostgreSQL at {url} is required here but not reachable: {e}"),
    }
}

impl TestDb {
    /// Another pool on the same database (a second instance of Kembali).
    pub async fn second_pool(&self) -> Db {
        let mut opts = ConnectOptions::new(self.url.clone());
        opts.schema = self.schema.clone();
        Db::connect(&opts).await.expect("second pool")
    }

    /// Drops the PostgreSQL schema; called when a test has passed.
    pub async fn cleanup(self) {
        self.db.close().await;
        if let Some(schema) = &self.schema {
            let _ = kembali_store::db::drop_schema(&self.url, schema).await;
        }
    }
}

/// Declares a storage test that runs once on SQLite and once on PostgreSQL:
/// `both!(name, path::to::async_fn)` where the function takes `&TestDb`.
#[macro_export]
macro_rules! both {
    ($name:ident, $test:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::support::sqlite().await;
                $test(&t).await;
                t.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = $crate::support::postgres().await else {
                    return;
                };
                $test(&t).await;
                t.cleanup().await;
            }
        }
    };
}
