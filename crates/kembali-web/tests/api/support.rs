//! Starts the real application on port 0 over a fresh database (a temp SQLite
//! file or a fresh PostgreSQL schema), with one shop and its API key.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use jiff::Timestamp;
use kembali_core::Currency;
use kembali_core::ShopId;
use kembali_core::policy::PolicyDocument;
use kembali_core::shop::{Country, Locale, Shop};
use kembali_store::{ConnectOptions, Db, shops};
use serde_json::Value;

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub shop: Shop,
    pub key: String,
    pub client: reqwest::Client,
    url: String,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
    server: tokio::task::JoinHandle<()>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn postgres_required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
        || std::env::var_os("KEMBALI_REQUIRE_POSTGRES").is_some()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The app over `backend`, or `None` when PostgreSQL is missing and not required.
pub async fn spawn(backend: Backend, policy: PolicyDocument) -> Option<TestApp> {
    let (opts, dir) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("kembali.db").display());
            (ConnectOptions::new(url), Some(dir))
        }
        Backend::Postgres => {
            let url = std::env::var("KEMBALI_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let mut o = ConnectOptions::new(url);
            o.schema = Some(format!(
                "ka_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            (o, None)
        }
    };
    if let Some(schema) = &opts.schema {
        // A leftover schema from an earlier run with the same pid: start clean.
        let _ = kembali_store::db::drop_schema(&opts.url, schema).await;
    }
    let db = match Db::connect(&opts).await {
        Ok(db) => db,
        Err(e) if backend == Backend::Postgres && !postgres_required() => {
            // Straight to stderr, past the test harness's capture, so it is seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: PostgreSQL is not reachable ({e}); set CI=1 to make this fail"
            );
            return None;
        }
        Err(e) => panic!("cannot open the test database: {e}"),
    };
    kembali_store::migrate::migrate(&db).await.expect("migrate");
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

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = kembali_web::AppState { db: db.clone() };
    let server = tokio::spawn(async move {
        let _ = kembali_web::serve(listener, state, std::future::pending()).await;
    });
    Some(TestApp {
        base: format!("http://{addr}"),
        db,
        shop,
        key: key.secret,
        client: reqwest::Client::new(),
        url: opts.url,
        schema: opts.schema,
        _dir: dir,
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

    /// Stops the server and drops the PostgreSQL schema.
    pub async fn finish(self) {
        self.server.abort();
        self.db.close().await;
        if let Some(schema) = &self.schema {
            let _ = kembali_store::db::drop_schema(&self.url, schema).await;
        }
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
