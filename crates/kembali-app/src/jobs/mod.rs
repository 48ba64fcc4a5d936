//! Typed background jobs: one kind per file, a typed payload, a context with what
//! handlers need, errors that say whether to retry, a retry schedule per kind.
//! [`handlers`] is the one registry that `kembali serve` and `kembali worker` use.

pub mod deliver_webhook;
pub mod dispatch;
pub mod expire_return;
pub mod periodic;
pub mod purge_idempotency_keys;
pub mod purge_photos;

use std::future::Future;

use jiff::{SignedDuration, Timestamp};
use kembali_core::ShopId;
use kembali_store::jobs::{self as store_jobs, Failure, Handlers, NewJob, WorkerOptions};
use kembali_store::{Session, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::{App, AppError};

/// A kind of background work with its payload.
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// The name stored with the job; never change it once jobs of it exist.
    const KIND: &'static str;
    /// Attempts before the job is parked as `dead`.
    const MAX_ATTEMPTS: u32 = 8;

    /// The wait before the attempt after `attempt` failed.
    fn retry_after(attempt: u32) -> SignedDuration {
        store_jobs::backoff(attempt)
    }

    fn run(self, ctx: JobContext) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// What a handler gets beside its payload. Later: the mailer.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub app: App,
    pub shop: Option<ShopId>,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// The HTTP client for webhooks out, shared by the worker's jobs.
    pub outbound: deliver_webhook::Outbound,
}

/// Why a job did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Something passing (the database, a peer): try again later.
    #[error("{0}")]
    Retry(String),
    /// Trying again cannot help.
    #[error("{0}")]
    GiveUp(String),
    /// What the job needs is busy: run it again after the wait, without
    /// counting this as an attempt.
    #[error("{reason}")]
    Defer {
        reason: String,
        after: SignedDuration,
    },
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(m) => JobError::GiveUp(m),
            other => JobError::Retry(other.to_string()),
        }
    }
}

impl From<AppError> for JobError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Store(s) => s.into(),
            other => JobError::GiveUp(other.to_string()),
        }
    }
}

/// Enqueues `job` inside the caller's transaction, due at `run_at`; with a
/// `dedupe` key, not again while one with the same key is pending.
pub async fn enqueue<J: Job>(
    app: &App,
    ex: &mut impl Session,
    shop: Option<ShopId>,
    job: &J,
    run_at: Timestamp,
    dedupe: Option<String>,
) -> Result<(), StoreError> {
    let new = new_job(app, shop, job, run_at, dedupe)?;
    store_jobs::enqueue(ex, &new, app.now()).await?;
    Ok(())
}

/// The row [`enqueue`] adds, for a caller that writes it itself.
pub fn new_job<J: Job>(
    app: &App,
    shop: Option<ShopId>,
    job: &J,
    run_at: Timestamp,
    dedupe: Option<String>,
) -> Result<NewJob, StoreError> {
    let payload = serde_json::to_value(job)?;
    let new = NewJob::new(shop, J::KIND, payload, app.now())
        .at(run_at)
        .attempts(J::MAX_ATTEMPTS);
    Ok(match dedupe {
        Some(key) => new.dedupe(key),
        None => new,
    })
}

fn register<J: Job>(
    handlers: Handlers,
    app: &App,
    outbound: &deliver_webhook::Outbound,
) -> Handlers {
    let app = app.clone();
    let outbound = outbound.clone();
    handlers.on(J::KIND, move |_db, job| {
        let app = app.clone();
        let outbound = outbound.clone();
        async move {
            let payload: J = serde_json::from_value(job.payload)
                .map_err(|e| Failure::GiveUp(format!("malformed payload: {e}")))?;
            let ctx = JobContext {
                app,
                shop: job.shop_id,
                attempt: job.attempts,
                outbound,
            };
            payload.run(ctx).await.map_err(|e| match e {
                JobError::Retry(error) => Failure::Retry {
                    error,
                    after: Some(J::retry_after(job.attempts)),
                },
                JobError::GiveUp(error) => Failure::GiveUp(error),
                JobError::Defer { reason, after } => Failure::Defer { reason, after },
            })
        }
    })
}

/// Every job kind Kembali runs, bound to `app`.
pub fn handlers(app: &App) -> Handlers {
    let out = deliver_webhook::Outbound::new();
    let h = Handlers::new();
    let h = register::<dispatch::Dispatch>(h, app, &out);
    let h = register::<expire_return::ExpireReturn>(h, app, &out);
    let h = register::<deliver_webhook::DeliverWebhook>(h, app, &out);
    let h = register::<purge_idempotency_keys::PurgeIdempotencyKeys>(h, app, &out);
    register::<purge_photos::PurgePhotos>(h, app, &out)
}

/// Runs jobs on `app`'s clock until `stop` turns true, then finishes those running.
pub async fn run_worker(app: App, concurrency: usize, stop: watch::Receiver<bool>) {
    let mut opts = WorkerOptions::new(concurrency);
    opts.clock = app.clock();
    run_worker_with(app, opts, stop).await;
}

/// [`run_worker`] with explicit options (tests poll faster).
pub async fn run_worker_with(app: App, mut opts: WorkerOptions, stop: watch::Receiver<bool>) {
    opts.clock = app.clock();
    // Periodic jobs are chains in the job table; starting one is idempotent.
    if let Err(e) = periodic::start::<purge_idempotency_keys::PurgeIdempotencyKeys>(&app).await {
        tracing::warn!(error = %e, "cannot schedule the idempotency-key purge");
    }
    if let Err(e) = periodic::start::<purge_photos::PurgePhotos>(&app).await {
        tracing::warn!(error = %e, "cannot schedule the photo purge");
    }
    // The outbox relay runs beside the job loop, on the same poll and stop,
    // and so does the SQLite statistics upkeep.
    let relay = tokio::spawn(dispatch::run_relay(app.clone(), opts.poll, stop.clone()));
    let upkeep = tokio::spawn(optimize_periodically(app.db.clone(), stop.clone()));
    store_jobs::work(app.db.clone(), handlers(&app), opts, stop).await;
    if let Err(e) = relay.await {
        tracing::warn!(error = %e, "the outbox relay stopped abnormally");
    }
    if let Err(e) = upkeep.await {
        tracing::warn!(error = %e, "the statistics upkeep stopped abnormally");
    }
}

/// `Db::optimize` (SQLite's planner statistics) when the worker starts and then
/// every ten minutes, until `stop` turns true. Real time, not the application's
/// clock: it is upkeep, not business. Statistics taken while a table is small
/// mislead the planner until the next run (docs/ARCHITECTURE.md), and a run
/// that finds nothing grown is a few look-ups.
async fn optimize_periodically(db: kembali_store::Db, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tokio::select! {
            _ = every.tick() => {
                if let Err(e) = db.optimize().await {
                    tracing::warn!(error = %e, "cannot refresh the planner's statistics");
                }
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
}
