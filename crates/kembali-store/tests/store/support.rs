//! Test databases for this suite, from `kembali_store::testing`: a copy of a
//! SQLite template, or a clone of a PostgreSQL template database.
//!
//! PostgreSQL comes from `KEMBALI_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When it cannot be reached the
//! PostgreSQL half of a test says so and passes as skipped, unless `CI` or
//! `KEMBALI_REQUIRE_POSTGRES` is set: then it fails.

pub use kembali_store::testing::TestDb;
// For tests that need a schema or a connection of their own (migration tests);
// not every test file in flight uses them, hence the allow.
#[allow(unused_imports)]
pub use kembali_store::testing::{postgres_url, unique_schema};

pub async fn sqlite() -> TestDb {
    TestDb::sqlite().await
}

/// `None` when the server is missing and not required (the test is skipped).
pub async fn postgres() -> Option<TestDb> {
    TestDb::postgres().await
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
