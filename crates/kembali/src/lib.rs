//! The `kembali` program as a library: configuration, start-up and shutdown in
//! one function that `kembali serve` and the test kit both call, the demo
//! shop, and the made-up orders the demo and the bench take in. `main.rs` only
//! parses the command line.

pub mod config;
pub mod demo;
pub mod synthetic;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use kembali_app::App;
use kembali_core::Clock;
use kembali_store::{ConnectOptions, Db};
use tokio::sync::watch;

pub use config::Config;

/// Connects and migrates: every command works on an up-to-date schema.
pub async fn open(cfg: &Config) -> anyhow::Result<Db> {
    let mut opts = ConnectOptions::new(cfg.database_url.clone());
    opts.max_connections = cfg.max_connections;
    opts.acquire_timeout = Duration::from_millis(cfg.database_acquire_timeout_ms);
    let db = Db::connect(&opts).await.with_context(|| {
        format!(
            "cannot open the database {}",
            kembali_store::db::redact(&cfg.database_url)
        )
    })?;
    kembali_store::migrate::migrate(&db)
        .await
        .context("cannot migrate the database")?;
    Ok(db)
}

/// How to start: where to listen, whether to run jobs, which clock.
pub struct Start {
    /// Listen on this listener instead of binding `cfg.addr` (tests pass port 0).
    pub listener: Option<tokio::net::TcpListener>,
    /// Run background jobs in this process.
    pub worker: bool,
    /// The clock the application and the worker read (tests move it).
    pub clock: Option<Arc<dyn Clock>>,
}

impl Default for Start {
    fn default() -> Self {
        Start {
            listener: None,
            worker: true,
            clock: None,
        }
    }
}

/// A started instance: the HTTP server and, unless told otherwise, the worker.
pub struct Application {
    pub app: App,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    worker: bool,
    concurrency: usize,
    limits: kembali_web::Limits,
}

impl Application {
    /// Opens and migrates the database and binds the listener.
    pub async fn build(cfg: &Config, start: Start) -> anyhow::Result<Application> {
        let db = open(cfg).await?;
        Application::on(db, cfg, start).await
    }

    /// [`Application::build`] over an already open, migrated database.
    pub async fn on(db: Db, cfg: &Config, start: Start) -> anyhow::Result<Application> {
        let app = match start.clock {
            Some(clock) => App::with(db, clock, Arc::new(kembali_store::OsEntropy)),
            None => App::new(db),
        };
        let listener = match start.listener {
            Some(l) => l,
            None => tokio::net::TcpListener::bind(cfg.addr)
                .await
                .with_context(|| format!("cannot listen on {}", cfg.addr))?,
        };
        let addr = listener
            .local_addr()
            .context("the listener has no address")?;
        Ok(Application {
            app,
            listener,
            addr,
            worker: start.worker,
            concurrency: cfg.worker_concurrency,
            limits: kembali_web::Limits {
                header_read_timeout: Duration::from_millis(cfg.http_header_read_timeout_ms),
                max_connections: cfg.http_max_connections,
                trusted_proxies: cfg.trusted_proxies()?,
            },
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves (and runs jobs) until `shutdown` resolves, then finishes the
    /// requests in flight and the jobs running, and closes the database.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let worker = self.worker.then(|| {
            tokio::spawn(kembali_app::jobs::run_worker(
                self.app.clone(),
                self.concurrency,
                stop_rx,
            ))
        });
        tracing::info!(addr = %self.addr, "Kembali is listening on http://{}", self.addr);
        let state = kembali_web::AppState::new(self.app.clone());
        let served = kembali_web::serve_with(self.listener, state, self.limits, async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await;
        if let Some(w) = worker {
            let _ = w.await;
        }
        self.app.db.close().await;
        served.context("the server stopped with an error")
    }
}
