//! Background jobs in a table: enqueue in the caller's transaction, claim with a
//! lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer on SQLite),
//! retry with exponential back-off, park as `dead` after the last attempt. A job
//! whose worker died is claimed again once its lease runs out.
//!
//! Delivery is at least once: a worker that loses its lease (it stalled, or the
//! database was unreachable when it tried to record the outcome) may see its job
//! run again elsewhere, so handlers must be safe to repeat.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use kembali_core::{Clock, JobId, ShopId};
use sqlx::types::Json;
use tokio::sync::watch;

use crate::db::{Db, Session};
use crate::{StoreError, corrupt, entropy, from_millis, millis, run};

/// Where a job is in its life: `queued` (waiting for its `run_at`), `running`
/// (leased to a worker), `done`, or `dead` (attempts used up; an operator may
/// retry it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    fn parse(s: &str) -> Result<JobState, StoreError> {
        Ok(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "dead" => JobState::Dead,
            other => return Err(StoreError::Corrupt(format!("unknown job state `{other}`"))),
        })
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub shop_id: Option<ShopId>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub run_at: Timestamp,
    pub max_attempts: u32,
    /// While a job with this key (and kind, and shop) is pending, another is not added.
    pub dedupe_key: Option<String>,
}

impl NewJob {
    /// A job to run now, with eight attempts.
    pub fn new(
        shop_id: Option<ShopId>,
        kind: &str,
        payload: serde_json::Value,
        now: Timestamp,
    ) -> NewJob {
        NewJob {
            shop_id,
            kind: kind.to_owned(),
            payload,
            run_at: now,
            max_attempts: 8,
            dedupe_key: None,
        }
    }

    /// Scheduled work: not claimed before `run_at`.
    pub fn at(mut self, run_at: Timestamp) -> NewJob {
        self.run_at = run_at;
        self
    }

    /// At most one pending (queued or running) job per shop, kind and key: the
    /// same scheduled work is not queued twice.
    pub fn dedupe(mut self, key: impl Into<String>) -> NewJob {
        self.dedupe_key = Some(key.into());
        self
    }

    /// How many attempts before the job is parked as `dead` (at least one).
    pub fn attempts(mut self, max: u32) -> NewJob {
        self.max_attempts = max.max(1);
        self
    }
}

/// A claimed (or listed) job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub shop_id: Option<ShopId>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub state: JobState,
    pub run_at: Timestamp,
    /// Attempts so far, this one included when claimed.
    pub attempts: u32,
    pub max_attempts: u32,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: String,
    shop_id: Option<String>,
    kind: String,
    payload: Json<serde_json::Value>,
    state: String,
    run_at: i64,
    attempts: i64,
    max_attempts: i64,
    locked_by: Option<String>,
    last_error: Option<String>,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(r: JobRow) -> Result<Job, StoreError> {
        Ok(Job {
            id: r.id.parse().map_err(corrupt)?,
            shop_id: r.shop_id.map(|s| s.parse()).transpose().map_err(corrupt)?,
            kind: r.kind,
            payload: r.payload.0,
            state: JobState::parse(&r.state)?,
            run_at: from_millis(r.run_at),
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(r.max_attempts).unwrap_or(u32::MAX),
            locked_by: r.locked_by,
            last_error: r.last_error,
        })
    }
}

macro_rules! job_columns {
    () => {
        "id, shop_id, kind, payload, state, run_at, attempts, max_attempts, locked_by, last_error"
    };
}

/// Adds a job inside the caller's transaction, so it exists exactly when the
/// change that caused it does. Returns `None` when a pending job with the same
/// dedupe key is already queued.
pub async fn enqueue(
    ex: &mut impl Session,
    job: &NewJob,
    now: Timestamp,
) -> Result<Option<JobId>, StoreError> {
    let id = JobId::new(now, entropy());
    let inserted = run!(ex, |c| sqlx::query(ENQUEUE)
        .bind(id.to_string())
        .bind(job.shop_id.map(|s| s.to_string()))
        .bind(&job.kind)
        .bind(Json(&job.payload))
        .bind(millis(job.run_at))
        .bind(i64::from(job.max_attempts.max(1)))
        .bind(&job.dedupe_key)
        .bind(millis(now))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok((inserted == 1).then_some(id))
}

/// [`enqueue`] in a job on SQLite's writer ([`crate::Db::run_job`]).
pub fn enqueue_on(
    c: &rusqlite::Connection,
    job: &NewJob,
    now: Timestamp,
) -> Result<Option<JobId>, StoreError> {
    let id = JobId::new(now, entropy());
    let inserted = c
        .prepare_cached(ENQUEUE)
        .and_then(|mut s| {
            s.execute(rusqlite::params![
                id.to_string(),
                job.shop_id.map(|s| s.to_string()),
                job.kind,
                job.payload.to_string(),
                millis(job.run_at),
                i64::from(job.max_attempts.max(1)),
                job.dedupe_key,
                millis(now),
            ])
        })
        .map_err(crate::direct::sqlite)?;
    Ok((inserted == 1).then_some(id))
}

const ENQUEUE: &str = "INSERT INTO jobs (id, shop_id, kind, payload, state, run_at, attempts,
        max_attempts, dedupe_key, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'queued', $5, 0, $6, $7, $8, $8)
     ON CONFLICT DO NOTHING";

/// Claims up to `limit` due jobs for `worker`, leasing them until `now + lease`.
/// Jobs whose lease expired (their worker died) are due again.
pub async fn claim(
    db: &Db,
    worker: &str,
    now: Timestamp,
    lease: Duration,
    limit: u32,
) -> Result<Vec<Job>, StoreError> {
    let until = millis(now) + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
    let mut tx = db.begin().await?;
    // Due jobs, and jobs whose worker died; claimers skip each other's rows.
    let sql = crate::dialect::skip_locked!(
        db.backend(),
        "UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2,
            attempts = attempts + 1, updated_at = $3
          WHERE id IN (SELECT id FROM jobs
                        WHERE (state = 'queued' AND run_at <= $3)
                           OR (state = 'running' AND locked_until < $3)
                        ORDER BY run_at LIMIT $4",
        concat!(") RETURNING ", job_columns!())
    );
    let rows: Vec<JobRow> = run!(&mut tx, |c| sqlx::query_as(sql)
        .bind(worker)
        .bind(until)
        .bind(millis(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *c)
        .await)?;
    tx.commit().await?;
    rows.into_iter().map(Job::try_from).collect()
}

/// Marks the job done, if `worker` still holds it. Returns whether it did.
pub async fn complete(
    db: &Db,
    job: &Job,
    worker: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let n = run!(&mut tx, |c| sqlx::query(
        "UPDATE jobs SET state = 'done', locked_by = NULL, locked_until = NULL,
            updated_at = $1, finished_at = $1
          WHERE id = $2 AND state = 'running' AND locked_by = $3"
    )
    .bind(millis(now))
    .bind(job.id.to_string())
    .bind(worker)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(n == 1)
}

/// The wait before attempt `attempts + 1`: 2 s doubling per attempt, at most an hour.
/// [`fail`] adds up to a tenth more at random, so jobs that failed together
/// (a carrier's API was down) do not all come back in the same instant.
pub fn backoff(attempts: u32) -> SignedDuration {
    let exp = attempts.saturating_sub(1).min(11);
    SignedDuration::from_secs((2i64 << exp).min(3600))
}

/// A random wait between zero and a tenth of `base`.
fn jitter(base: SignedDuration) -> SignedDuration {
    let span = u128::try_from(base.as_millis() / 10).unwrap_or(0);
    let ms = i64::try_from(entropy() % (span + 1)).unwrap_or(0);
    SignedDuration::from_millis(ms)
}

/// Why a handler did not finish its job, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Try again after `after` (the default back-off when `None`), unless the
    /// attempts are used up.
    Retry {
        error: String,
        after: Option<SignedDuration>,
    },
    /// Trying again cannot help (a malformed payload): park the job as `dead`.
    GiveUp(String),
    /// The job could not start (what it needs is busy): back to the queue
    /// after `after`, and this claim does not count as an attempt.
    Defer {
        reason: String,
        after: SignedDuration,
    },
}

impl From<String> for Failure {
    fn from(error: String) -> Failure {
        Failure::Retry { error, after: None }
    }
}

impl Failure {
    fn message(&self) -> &str {
        match self {
            Failure::Retry { error, .. } | Failure::GiveUp(error) => error,
            Failure::Defer { reason, .. } => reason,
        }
    }
}

/// Records a failed attempt: back to the queue after the back-off (with jitter),
/// or `dead` once the attempts are used up, keeping `error` as the last error.
/// Only if `worker` still holds the job: `None` when its lease was taken over,
/// and then nothing changes.
pub async fn fail(
    db: &Db,
    job: &Job,
    worker: &str,
    error: &str,
    now: Timestamp,
) -> Result<Option<JobState>, StoreError> {
    record_failure(db, job, worker, &Failure::from(error.to_owned()), now).await
}

/// Records a failed attempt as `failure` says: retried after its wait (with
/// jitter), or `dead` when it gives up or the attempts are used up.
pub async fn record_failure(
    db: &Db,
    job: &Job,
    worker: &str,
    failure: &Failure,
    now: Timestamp,
) -> Result<Option<JobState>, StoreError> {
    if let Failure::Defer { after, .. } = failure {
        return defer(db, job, worker, *after, now).await;
    }
    let (dead, wait) = match failure {
        Failure::Defer { .. } | Failure::GiveUp(_) => (true, SignedDuration::ZERO),
        Failure::Retry { after, .. } => (
            job.attempts >= job.max_attempts,
            after.unwrap_or_else(|| backoff(job.attempts)),
        ),
    };
    let state = if dead {
        JobState::Dead
    } else {
        JobState::Queued
    };
    let next = now.checked_add(wait + jitter(wait)).unwrap_or(now);
    let error: String = failure.message().chars().take(2000).collect();
    let mut tx = db.begin().await?;
    let n = run!(&mut tx, |c| sqlx::query(
        "UPDATE jobs SET state = $1, run_at = $2, last_error = $3, locked_by = NULL,
            locked_until = NULL, updated_at = $4, finished_at = $5
          WHERE id = $6 AND state = 'running' AND locked_by = $7"
    )
    .bind(state.as_str())
    .bind(millis(next))
    .bind(&error)
    .bind(millis(now))
    .bind(dead.then_some(millis(now)))
    .bind(job.id.to_string())
    .bind(worker)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok((n == 1).then_some(state))
}

/// Puts a job that could not start back in the queue, due after `after`, and
/// gives back the attempt its claim took.
async fn defer(
    db: &Db,
    job: &Job,
    worker: &str,
    after: SignedDuration,
    now: Timestamp,
) -> Result<Option<JobState>, StoreError> {
    let next = now.checked_add(after + jitter(after)).unwrap_or(now);
    let mut tx = db.begin().await?;
    let n = run!(&mut tx, |c| sqlx::query(
        "UPDATE jobs SET state = 'queued', run_at = $1, attempts = attempts - 1,
            locked_by = NULL, locked_until = NULL, updated_at = $2
          WHERE id = $3 AND state = 'running' AND locked_by = $4 AND attempts > 0"
    )
    .bind(millis(next))
    .bind(millis(now))
    .bind(job.id.to_string())
    .bind(worker)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok((n == 1).then_some(JobState::Queued))
}

/// Makes the queued job of this shop, kind and dedupe key due at `now` (an
/// operator wants it sooner than its back-off). Returns whether there was one.
pub async fn run_now(
    ex: &mut impl Session,
    shop: Option<ShopId>,
    kind: &str,
    dedupe_key: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let n = run!(ex, |c| sqlx::query(
        "UPDATE jobs SET run_at = $1, updated_at = $1
          WHERE COALESCE(shop_id, '') = $2 AND kind = $3 AND dedupe_key = $4
            AND state = 'queued'"
    )
    .bind(millis(now))
    .bind(shop.map(|s| s.to_string()).unwrap_or_default())
    .bind(kind)
    .bind(dedupe_key)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// Extends the lease of a job still held by `worker` (the worker calls it while a
/// long handler runs). `false` when the lease was already taken over.
pub async fn heartbeat(
    db: &Db,
    job: JobId,
    worker: &str,
    now: Timestamp,
    lease: Duration,
) -> Result<bool, StoreError> {
    let until = millis(now) + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
    let mut tx = db.begin().await?;
    let n = run!(&mut tx, |c| {
        sqlx::query(
        "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND state = 'running' AND locked_by = $3"
    )
    .bind(until)
    .bind(job.to_string())
    .bind(worker)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    tx.commit().await?;
    Ok(n == 1)
}

/// Jobs in a state, oldest first (for operators).
pub async fn list(db: &Db, state: JobState, limit: u32) -> Result<Vec<Job>, StoreError> {
    let mut conn = db.conn().await?;
    let rows: Vec<JobRow> = run!(&mut conn, |c| sqlx::query_as(concat!(
        "SELECT ",
        job_columns!(),
        " FROM jobs WHERE state = $1 ORDER BY run_at, id LIMIT $2"
    ))
    .bind(state.as_str())
    .bind(i64::from(limit))
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(Job::try_from).collect()
}

/// Jobs that are due and not done at `now` (queued or running), and dead ones:
/// what a test must find empty once the worker has caught up.
pub async fn outstanding(db: &Db, now: Timestamp) -> Result<Vec<Job>, StoreError> {
    let mut conn = db.conn().await?;
    let rows: Vec<JobRow> = run!(&mut conn, |c| sqlx::query_as(concat!(
        "SELECT ",
        job_columns!(),
        " FROM jobs WHERE (state = 'queued' AND run_at <= $1) OR state IN ('running', 'dead')
          ORDER BY run_at, id"
    ))
    .bind(millis(now))
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(Job::try_from).collect()
}

/// One job by id, in whatever state.
pub async fn get(db: &Db, id: JobId) -> Result<Option<Job>, StoreError> {
    let mut conn = db.conn().await?;
    let row: Option<JobRow> = run!(&mut conn, |c| sqlx::query_as(concat!(
        "SELECT ",
        job_columns!(),
        " FROM jobs WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    row.map(Job::try_from).transpose()
}

/// Puts a dead job back in the queue with fresh attempts (an operator's retry);
/// `false` when the job is not dead. Fails with [`StoreError::Duplicate`] when a
/// pending job with the same dedupe key was queued since it died.
pub async fn retry_dead(db: &Db, id: JobId, now: Timestamp) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let n = run!(&mut tx, |c| {
        sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, updated_at = $1, finished_at = NULL
          WHERE id = $2 AND state = 'dead'"
    )
    .bind(millis(now))
    .bind(id.to_string())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    tx.commit().await?;
    Ok(n == 1)
}

/// What a handler returns: `Err` says whether to retry, and is kept as the job's
/// last error.
pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), Failure>> + Send>>;
type Handler = Arc<dyn Fn(Db, Job) -> JobFuture + Send + Sync>;

/// Job kinds and the code that runs them. A kind without a handler fails (and so
/// ends up `dead`) rather than staying queued unnoticed.
#[derive(Clone, Default)]
pub struct Handlers {
    by_kind: HashMap<String, Handler>,
}

impl Handlers {
    pub fn new() -> Handlers {
        Handlers::default()
    }

    /// Runs `f` for jobs of `kind`; its `Err` becomes the job's last error (a
    /// plain `String` error is retried with the default back-off).
    pub fn on<F, Fut, E>(mut self, kind: &str, f: F) -> Handlers
    where
        F: Fn(Db, Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<Failure> + 'static,
    {
        self.by_kind.insert(
            kind.to_owned(),
            Arc::new(move |db, job| {
                let fut = f(db, job);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }),
        );
        self
    }

    /// The kinds that have a handler.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.by_kind.keys().map(String::as_str)
    }
}

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Names the worker in `locked_by`; unique per running worker.
    pub id: String,
    /// Jobs run at the same time.
    pub concurrency: usize,
    /// How often to look for due jobs when there were none.
    pub poll: Duration,
    /// How long a claim holds without a heartbeat; the worker renews it every
    /// third of this while a handler runs. A dead worker's jobs wait this long.
    pub lease: Duration,
    /// What decides which jobs are due; tests move it instead of waiting.
    pub clock: Arc<dyn Clock>,
}

impl WorkerOptions {
    /// A minute's lease, polling twice a second, and an id from the process id
    /// and a random part.
    pub fn new(concurrency: usize) -> WorkerOptions {
        WorkerOptions {
            id: format!("worker-{}-{:08x}", std::process::id(), entropy() as u32),
            concurrency: concurrency.max(1),
            poll: Duration::from_millis(500),
            lease: Duration::from_secs(60),
            clock: Arc::new(crate::SystemClock),
        }
    }
}

/// Runs jobs until `stop` turns true, then waits for the jobs it is running
/// (graceful shutdown). Aborting the task instead stops its handlers at once and
/// leaves their jobs to be claimed again when the lease runs out.
pub async fn work(
    db: Db,
    handlers: Handlers,
    opts: WorkerOptions,
    mut stop: watch::Receiver<bool>,
) {
    let mut running = tokio::task::JoinSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        while running.try_join_next().is_some() {}
        let free = opts.concurrency.saturating_sub(running.len());
        let mut claimed = 0;
        if free > 0 {
            let limit = u32::try_from(free).unwrap_or(u32::MAX);
            match claim(&db, &opts.id, opts.clock.now(), opts.lease, limit).await {
                Ok(jobs) => {
                    claimed = jobs.len();
                    for job in jobs {
                        running.spawn(run_one(db.clone(), handlers.clone(), opts.clone(), job));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot claim jobs"),
            }
        }
        if claimed == 0 || running.len() >= opts.concurrency {
            tokio::select! {
                _ = tokio::time::sleep(opts.poll) => {}
                _ = stop.changed() => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
    }
    // Graceful: let running jobs finish.
    while running.join_next().await.is_some() {}
}

async fn run_one(db: Db, handlers: Handlers, opts: WorkerOptions, job: Job) {
    let Some(handler) = handlers.by_kind.get(&job.kind).cloned() else {
        let msg = format!("no handler for job kind `{}`", job.kind);
        tracing::warn!(job = %job.id, "{msg}");
        let failure = Failure::GiveUp(msg);
        if let Err(e) = record_failure(&db, &job, &opts.id, &failure, opts.clock.now()).await {
            tracing::warn!(job = %job.id, error = %e, "cannot record the job's outcome");
        }
        return;
    };
    // The handler runs in its own task so a panic is caught as a failure; the
    // guard stops it if this task is aborted, so a killed worker leaves nothing
    // running that could race the worker who takes the job over.
    let mut task = tokio::spawn(handler(db.clone(), job.clone()));
    let _stop_handler = AbortOnDrop(task.abort_handle());
    let beat = (opts.lease / 3).max(Duration::from_millis(10));
    let mut held = true;
    let outcome = loop {
        tokio::select! {
            r = &mut task => break r,
            _ = tokio::time::sleep(beat) => {
                match heartbeat(&db, job.id, &opts.id, opts.clock.now(), opts.lease).await {
                    Ok(true) => {}
                    Ok(false) if held => {
                        held = false;
                        tracing::warn!(job = %job.id, "lost the job's lease; another worker may run it");
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(job = %job.id, error = %e, "cannot renew the job's lease"),
                }
            }
        }
    };
    let now = opts.clock.now();
    let recorded = match outcome {
        Ok(Ok(())) => complete(&db, &job, &opts.id, now).await,
        Ok(Err(failure)) => {
            tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %failure.message(), "job failed");
            record_failure(&db, &job, &opts.id, &failure, now)
                .await
                .map(|s| s.is_some())
        }
        Err(join) => {
            let msg = format!("the job panicked: {join}");
            tracing::warn!(job = %job.id, kind = %job.kind, error = %msg, "job panicked");
            fail(&db, &job, &opts.id, &msg, now)
                .await
                .map(|s| s.is_some())
        }
    };
    match recorded {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(job = %job.id, "the job's lease had passed to another worker; outcome not recorded");
        }
        Err(e) => tracing::warn!(job = %job.id, error = %e, "cannot record the job's outcome"),
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
