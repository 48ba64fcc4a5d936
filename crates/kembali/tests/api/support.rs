//! The test kit: starts the real application on port 0 through the same
//! start-up function as `kembali serve` (`Application::on`), worker included,
//! over a database cloned from a migrated template (a copied SQLite file or
//! `CREATE DATABASE … TEMPLATE` on PostgreSQL), with one shop and its API key.
//! A test fails if it leaves jobs unrun: `finish` waits for the worker and
//! checks the job table.

use std::sync::Arc;

use jiff::Timestamp;
use kembali::{Application, Config, Start};
use kembali_app::clock::ManualClock;
use kembali_core::Clock;
use kembali_core::Currency;
use kembali_core::ShopId;
use kembali_core::policy::PolicyDocument;
use kembali_core::shop::{Country, Locale, Shop};
use kembali_store::testing::TestDb;
use kembali_store::{Db, shops};
use serde_json::Value;

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub shop: Shop,
    pub key: String,
    pub client: reqwest::Client,
    /// The clock the application and its worker read; tests move it.
    pub clock: Arc<ManualClock>,
    test_db: TestDb,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The app over `backend`, or `None` when PostgreSQL is missing and not required.
pub async fn spawn(backend: Backend, policy: PolicyDocument) -> Option<TestApp> {
    spawn_with(backend, policy, Config::default()).await
}

/// The app over `backend`, started with `cfg` (its database URL aside).
pub async fn spawn_with(backend: Backend, policy: PolicyDocument, cfg: Config) -> Option<TestApp> {
    let test_db = match backend {
        Backend::Sqlite => TestDb::sqlite().await,
        Backend::Postgres => TestDb::postgres().await?,
    };
    let db = test_db.db.clone();
    let now = Timestamp::now();
    let shop = Shop {
        id: ShopId::new(now, kembali_store::entropy()),
        slug: "test-shop".into(),
        name: "Test Shop".into(),
        currency: Currency::PLN,
        time_zone: "Europe/Warsaw".into(),
        default_locale: Locale::Pl,
        country: Country::try_from("PL".to_owned()).expect("country"),
        return_prefix: "R-".into(),
    };
    let mut tx = db.begin().await.expect("tx");
    shops::create(&mut tx, &shop, &policy, now)
        .await
        .expect("shop");
    let key = shops::create_api_key(&mut tx, shop.id, "test", now)
        .await
        .expect("key");
    tx.commit().await.expect("commit");

    let clock = Arc::new(ManualClock::new(now));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let start = Start {
        listener: Some(listener),
        worker: true,
        clock: Some(clock.clone()),
    };
    let app = Application::on(db.clone(), &cfg, start)
        .await
        .expect("start the application");
    let base = format!("http://{}", app.addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Some(TestApp {
        base,
        db,
        shop,
        key: key.secret,
        client: reqwest::Client::new(),
        clock,
        test_db,
        stop: Some(stop),
        server,
    })
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path)).bearer_auth(&self.key))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(&self.key)
                .json(body),
        )
        .await
    }

    pub async fn post_with_key(&self, path: &str, key: &str, body: &Value) -> Reply {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(&self.key)
                .header("Idempotency-Key", key)
                .json(body),
        )
        .await
    }

    /// Waits until the worker has run every job due on the test's clock; fails
    /// the test if one died or they do not get done.
    pub async fn drain(&self) {
        kembali_store::testing::drain(&self.db, || self.clock.now()).await;
    }

    /// Checks that no job was left unrun, stops the server and its worker the
    /// way `kembali serve` stops, and drops the database.
    pub async fn finish(mut self) {
        self.drain().await;
        // Idle keep-alive connections would hold the graceful shutdown open.
        self.client = reqwest::Client::new();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.server).await;
        self.test_db.cleanup().await;
    }
}

/// Declares an API test that runs against SQLite and PostgreSQL:
/// `both!(name, path::to::async_fn)` where the function takes `&TestApp`.
#[macro_export]
macro_rules! both {
    ($name:ident, $test:path) => {
        $crate::both!(
            $name,
            $test,
            kembali_core::policy::PolicyDocument::default()
        );
    };
    ($name:ident, $test:path, $policy:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::support::spawn($crate::support::Backend::Sqlite, $policy)
                    .await
                    .expect("sqlite");
                $test(&app).await;
                app.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) =
                    $crate::support::spawn($crate::support::Backend::Postgres, $policy).await
                else {
                    return;
                };
                $test(&app).await;
                app.finish().await;
            }
        }
    };
}

/// Asserts that `r` is an RFC 9457 problem document with this status and
/// `urn:kembali:problem:<slug>` type, and a non-empty `detail`.
#[track_caller]
pub fn assert_problem(r: &Reply, status: u16, slug: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{}",
        r.body
    );
    assert_eq!(
        r.body["type"],
        format!("urn:kembali:problem:{slug}"),
        "{}",
        r.body
    );
    assert_eq!(r.body["status"], status, "{}", r.body);
    assert!(
        r.body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{}",
        r.body
    );
    assert!(
        r.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{}",
        r.body
    );
}

impl TestApp {
    /// Creates another shop (with the default policy) and returns its API key.
    pub async fn other_shop(&self, slug: &str) -> String {
        let now = Timestamp::now();
        let shop = Shop {
            id: ShopId::new(now, kembali_store::entropy()),
            slug: slug.into(),
            name: format!("Shop {slug}"),
            currency: Currency::EUR,
            time_zone: "Europe/Dublin".into(),
            default_locale: Locale::En,
            country: Country::try_from("IE".to_owned()).expect("country"),
            return_prefix: "X-".into(),
        };
        let mut tx = self.db.begin().await.expect("tx");
        shops::create(&mut tx, &shop, &PolicyDocument::default(), now)
            .await
            .expect("shop");
        let key = shops::create_api_key(&mut tx, shop.id, slug, now)
            .await
            .expect("key");
        tx.commit().await.expect("commit");
        key.secret
    }

    pub async fn get_as(&self, key: &str, path: &str) -> Reply {
        self.send(self.client.get(self.url(path)).bearer_auth(key))
            .await
    }

    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(self.url(path)).bearer_auth(key).json(body))
            .await
    }

    /// Orders and returns this shop holds for the customer `email`, read
    /// straight from the database.
    pub async fn counts(&self, email: &str) -> (u32, u32) {
        let mut conn = self.db.conn().await.expect("conn");
        let h = kembali_store::orders::customer_history(&mut conn, self.shop.id, email)
            .await
            .expect("history");
        (h.orders, h.returns)
    }
}
