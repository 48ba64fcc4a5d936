//! The application layer's suite: use cases over a real database (a cloned
//! template SQLite file and a cloned PostgreSQL database), every test on both.

mod relay;
mod returns;

use std::sync::Arc;

use kembali_app::App;
use kembali_app::clock::ManualClock;
use kembali_store::testing::TestDb;

/// The application over `t`'s database on a clock the test moves.
pub fn app(t: &TestDb, clock: &Arc<ManualClock>) -> App {
    App::with(
        t.db.clone(),
        clock.clone(),
        Arc::new(kembali_store::OsEntropy),
    )
}

/// Declares a test that runs once on SQLite and once on PostgreSQL:
/// `both!(name, path::to::async_fn)` where the function takes `&TestDb`.
#[macro_export]
macro_rules! both {
    ($name:ident, $test:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = kembali_store::testing::TestDb::sqlite().await;
                $test(&t).await;
                t.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = kembali_store::testing::TestDb::postgres().await else {
                    return;
                };
                $test(&t).await;
                t.cleanup().await;
            }
        }
    };
}
