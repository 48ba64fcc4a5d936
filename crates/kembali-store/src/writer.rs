//! SQLite's one writer, with group commit.
//!
//! SQLite takes one write transaction at a time. Instead of one transaction per
//! write, the writes that queue for the writer share one: each after the first
//! runs in a savepoint of its own inside the open transaction (so a failed
//! write still leaves nothing; a failed first write rolls the transaction
//! back, with nothing else in it), and the transaction commits once the queue is empty, or
//! after [`MAX_MEMBERS`] writes or [`MAX_OPEN`], whichever comes first. A write
//! is acknowledged (its `commit` returns) only after the transaction holding it
//! committed: nothing acknowledged is lost, and what fails to commit fails every
//! write of its group, none of which had been acknowledged.
//!
//! What a group shares: a write sees the writes queued before it in the same
//! group, as if they had committed, because they run one after the other on
//! the same connection; readers (other connections) see the group at its
//! commit. If the commit itself fails (a full disk), a later write of the group
//! may have been refused on the strength of an earlier one that then did not
//! commit; it was refused, not acknowledged, so nothing is lost either way.
//!
//! Two connections write, one at a time: sqlx's, for writes written as async
//! code ([`Writer::begin`]), and the writer's own thread with a rusqlite
//! connection, for writes given as one synchronous job ([`Writer::run`]). The
//! thread takes the writer (ending an async group left open), runs the jobs
//! queued for it back to back, each in a savepoint, commits them together and
//! gives the writer up: no hand-off to another thread per statement, and none
//! between one job and the next.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Database, Sqlite, SqliteConnection, SqlitePool};
use sqlx_core::transaction::TransactionManager;
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, watch};

use crate::StoreError;

type Manager = <Sqlite as Database>::TransactionManager;

/// At most this many writes commit together.
pub const MAX_MEMBERS: usize = 64;
/// A group stops taking writes this long after it began, so a steady queue
/// still commits regularly.
pub const MAX_OPEN: Duration = Duration::from_millis(10);

/// WAL pages a commit may leave behind before the writer checkpoints them
/// itself, inside its commit (SQLite's default is 1,000). Below that, the
/// checkpointer beside it does, on a connection of its own.
pub const WAL_PAGES_THE_WRITER_LEAVES: u32 = 65_536;
/// The checkpointer runs at most this often.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// How long a write waits for the writer before it fails as unavailable.
const WAIT: Duration = Duration::from_secs(30);

/// How a group ended: `None` while it is open.
type Outcome = Option<Result<(), Arc<str>>>;

/// The connection a job ([`Writer::run`]) reads and writes on: the store's
/// `…_on` functions take it.
pub type JobConn = rusqlite::Connection;

/// The one writer connection and the group open on it.
#[derive(Debug)]
pub struct Writer {
    pool: SqlitePool,
    state: Arc<Mutex<State>>,
    /// Writes waiting for the connection: while there are any, a write that
    /// ends leaves the group open for them.
    queued: AtomicUsize,
    /// The checkpointer's connection, closed with the writer.
    checkpointer: SqlitePool,
    /// Wakes the checkpointer (also held by the state, for commits).
    checkpoints: Arc<Notify>,
    /// Sends jobs to the writer's thread ([`Writer::run`]); `None` for an
    /// in-memory database, which only sqlx's connections share, and once closed.
    jobs: std::sync::Mutex<Option<std::sync::mpsc::Sender<Task>>>,
}

/// What a job answers the writer's thread: whether to keep its write, and
/// what to tell its caller once the transaction's fate is known.
type Task = Box<dyn FnOnce(Result<&rusqlite::Connection, StoreError>) -> (bool, Tell) + Send>;
type Tell = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

#[derive(Debug)]
struct State {
    /// Taken from the pool on first use; given back on close, or replaced
    /// when a failed commit left it in an unknown state.
    conn: Option<PoolConnection<Sqlite>>,
    /// The connection jobs run on ([`Writer::run`]), opened on first use.
    jobs: Option<rusqlite::Connection>,
    group: Option<Group>,
    /// Told after every commit.
    checkpoints: Arc<Notify>,
}

#[derive(Debug)]
struct Group {
    /// Writes that ended well in it (released their savepoint).
    members: usize,
    began: Instant,
    outcome: watch::Sender<Outcome>,
}

impl Writer {
    /// The writer on `pool` (one connection, opened with
    /// `wal_autocheckpoint` at [`WAL_PAGES_THE_WRITER_LEAVES`]), and the
    /// checkpointer on `checkpointer` (one connection), started on the current
    /// runtime.
    pub fn new(pool: SqlitePool, checkpointer: SqlitePool, file: Option<PathBuf>) -> Arc<Writer> {
        let checkpoints = Arc::new(Notify::new());
        let writer = Arc::new(Writer {
            pool,
            state: Arc::new(Mutex::new(State {
                conn: None,
                jobs: None,
                group: None,
                checkpoints: checkpoints.clone(),
            })),
            queued: AtomicUsize::new(0),
            checkpointer: checkpointer.clone(),
            checkpoints: checkpoints.clone(),
            jobs: std::sync::Mutex::new(None),
        });
        if let Some(file) = file {
            let (sender, queue) = std::sync::mpsc::channel();
            let state = Arc::downgrade(&writer.state);
            let rt = tokio::runtime::Handle::current();
            let spawned = std::thread::Builder::new()
                .name("kembali-writer".into())
                .spawn(move || serve_jobs(&state, &file, &queue, &rt));
            match spawned {
                Ok(_) => {
                    if let Ok(mut jobs) = writer.jobs.lock() {
                        *jobs = Some(sender);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "no writer thread: writes go through sqlx"),
            }
        }
        tokio::spawn(checkpoint(
            Arc::downgrade(&writer),
            checkpoints,
            checkpointer,
        ));
        writer
    }

    /// Waits for the writer and starts a write: a savepoint in the open group,
    /// or a new group (`BEGIN IMMEDIATE`, which also waits, up to the busy
    /// timeout, for another process that writes the file).
    pub async fn begin(self: &Arc<Self>) -> Result<WriteTx, StoreError> {
        let queued = Queued::new(self);
        let state = tokio::time::timeout(WAIT, self.state.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))?;
        queued.arrived();
        // Not a write yet (`open` is false), but it holds the writer: leaving
        // early, on an error or because the request went away mid-statement,
        // drops it, and its `Drop` ends a group nobody else will.
        let mut tx = WriteTx {
            state: Some(state),
            writer: self.clone(),
            open: false,
            savepoint: false,
        };
        let state = tx.held();
        if state.conn.is_none() {
            state.conn = Some(self.pool.acquire().await?);
        }
        if state.group.is_none() {
            Manager::begin(
                conn(state),
                Some(sqlx::SqlSafeStr::into_sql_str("BEGIN IMMEDIATE")),
            )
            .await?;
            state.group = Some(Group::new());
        }
        // The first write of a group needs no savepoint: if it fails, the
        // whole transaction goes, with nothing else in it.
        let savepoint = state.group.as_ref().is_some_and(|g| g.members > 0);
        if savepoint {
            Manager::begin(conn(state), None).await?;
        }
        tx.open = true;
        tx.savepoint = savepoint;
        Ok(tx)
    }

    /// Whether [`Writer::run`] takes jobs (the database is a file).
    pub fn runs_jobs(&self) -> bool {
        self.jobs.lock().is_ok_and(|j| j.is_some())
    }

    /// Runs `job` as one write on the writer's own thread and connection: in
    /// a savepoint of that thread's transaction, kept if it answers `Ok` and
    /// undone if it answers `Err`; answers once the transaction holding it
    /// committed, as [`WriteTx::commit`] does. The thread runs the jobs that
    /// queued for it one after the other and commits them together (at most
    /// [`MAX_MEMBERS`] or [`MAX_OPEN`]), then gives the writer up. A job sent is
    /// run, even if the caller stops waiting for its answer. A job reads and
    /// writes by key and decides in memory: every other write waits meanwhile.
    pub async fn run<T, E>(
        &self,
        job: impl FnOnce(&rusqlite::Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let sender = self
            .jobs
            .lock()
            .ok()
            .and_then(|j| j.clone())
            .ok_or_else(|| StoreError::Config("this database takes no jobs".into()))?;
        let (reply, answer) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let task: Task = Box::new(move |conn| {
            let answer = match conn {
                Ok(c) => job(c),
                Err(e) => Err(E::from(e)),
            };
            let kept = answer.is_ok();
            let tell: Tell = Box::new(move |committed| {
                let told = match (answer, committed) {
                    (Ok(v), Ok(())) => Ok(v),
                    (Ok(_), Err(e)) => Err(E::from(e)),
                    (Err(e), _) => Err(e),
                };
                let _ = reply.send(told);
            });
            (kept, tell)
        });
        sender
            .send(task)
            .map_err(|_| StoreError::Config("the writer's thread has stopped".into()))?;
        match answer.await {
            Ok(told) => told,
            Err(_) => Err(E::from(StoreError::Database(sqlx::Error::Protocol(
                "the writer closed before this write was committed".into(),
            )))),
        }
    }

    /// Ends the open group, if any, and gives the connection back to the pool.
    pub async fn close(&self) {
        let mut state = self.state.lock().await;
        let _ = end(&mut state).await;
        state.conn = None;
        state.jobs = None;
        drop(state);
        if let Ok(mut jobs) = self.jobs.lock() {
            // The thread stops once it has run what was sent.
            jobs.take();
        }
        self.checkpoints.notify_one();
        self.checkpointer.close().await;
        self.pool.close().await;
    }

    /// Ends the open group once nobody else will: spawned when a write leaves
    /// without committing, or stops waiting, as the last in the queue.
    fn finish_later(self: &Arc<Self>) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let writer = self.clone();
            rt.spawn(async move {
                let mut state = writer.state.clone().lock_owned().await;
                if writer.queued.load(Ordering::Acquire) == 0 {
                    let _ = end(&mut state).await;
                }
            });
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Wakes the checkpointer, which then finds the writer gone and stops.
        self.checkpoints.notify_one();
    }
}

impl Group {
    fn new() -> Group {
        Group {
            members: 0,
            began: Instant::now(),
            outcome: watch::Sender::new(None),
        }
    }
}

/// Opens the job connection as the sqlx writer's is opened (`Db::connect`).
fn open_jobs(file: &std::path::Path) -> Result<rusqlite::Connection, StoreError> {
    let conn = rusqlite::Connection::open_with_flags(
        file,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(crate::direct::sqlite)?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(crate::direct::sqlite)?;
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;
         PRAGMA wal_autocheckpoint = {WAL_PAGES_THE_WRITER_LEAVES};
         PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;"
    ))
    .map_err(crate::direct::sqlite)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// The writer's thread: takes the writer for each run of queued jobs, ends
/// an async group left open first, runs the jobs in savepoints of one
/// transaction, commits it, then tells each job's caller.
fn serve_jobs(
    state: &Weak<Mutex<State>>,
    file: &std::path::Path,
    queue: &std::sync::mpsc::Receiver<Task>,
    rt: &tokio::runtime::Handle,
) {
    // What the thread drops (the state, should the writer be gone) may give
    // a connection back to sqlx's pool, which spawns on the runtime.
    let _runtime = rt.enter();
    while let Ok(first) = queue.recv() {
        let Some(state) = state.upgrade() else {
            let (_, tell) = first(Err(StoreError::Config("the writer has closed".into())));
            tell(Ok(()));
            return;
        };
        let mut held = state.blocking_lock();
        let ready = rt.block_on(end(&mut held)).and_then(|()| {
            if held.jobs.is_none() {
                held.jobs = Some(open_jobs(file)?);
            }
            match held.jobs.as_ref() {
                Some(c) => sql(c, "BEGIN IMMEDIATE"),
                None => Err(StoreError::Config("the job connection is not open".into())),
            }
        });
        if let Err(e) = ready {
            let (_, tell) = first(Err(e));
            tell(Ok(()));
            continue;
        }
        let Some(conn) = held.jobs.as_ref() else {
            continue;
        };
        let began = Instant::now();
        let mut kept: Vec<Tell> = Vec::new();
        let mut next = Some(first);
        while let Some(task) = next.take() {
            let undo = |c: &rusqlite::Connection| sql(c, "ROLLBACK TO job; RELEASE job");
            let ran = match sql(conn, "SAVEPOINT job") {
                // A job that panics is undone, and the thread goes on: its
                // caller hears that the writer did not answer.
                Ok(()) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task(Ok(conn)))),
                Err(e) => Ok(task(Err(e))),
            };
            match ran {
                Ok((true, tell)) => match sql(conn, "RELEASE job") {
                    Ok(()) => kept.push(tell),
                    Err(e) => {
                        let _ = undo(conn);
                        tell(Err(e));
                    }
                },
                Ok((false, tell)) => {
                    let _ = undo(conn);
                    tell(Ok(()));
                }
                Err(_) => {
                    tracing::error!("a write job panicked; it was undone");
                    let _ = undo(conn);
                }
            }
            if kept.len() < MAX_MEMBERS && began.elapsed() < MAX_OPEN {
                next = queue.try_recv().ok();
            }
        }
        let ended = if kept.is_empty() {
            sql(conn, "ROLLBACK")
        } else {
            sql(conn, "COMMIT")
        };
        if ended.is_err() {
            // As on sqlx's connection: none left open, or a fresh connection.
            let _ = sql(conn, "ROLLBACK");
            if !conn.is_autocommit() {
                held.jobs = None;
            }
        } else {
            held.checkpoints.notify_one();
        }
        drop(held);
        let told: Result<(), Arc<str>> = ended.map_err(|e| Arc::from(e.to_string()));
        for tell in kept {
            tell(told.clone().map_err(|e| {
                StoreError::Database(sqlx::Error::Protocol(format!(
                    "the group this write was to commit with failed: {e}"
                )))
            }));
        }
    }
}

fn sql(c: &rusqlite::Connection, s: &str) -> Result<(), StoreError> {
    c.execute_batch(s).map_err(crate::direct::sqlite)
}

/// A write ended well in the open group: commits the group if it is full or
/// nobody waits to join it, or else waits until the last of those has.
async fn settle(mut state: OwnedMutexGuard<State>, queued: &AtomicUsize) -> Result<(), StoreError> {
    let Some(group) = state.group.as_mut() else {
        return Ok(());
    };
    let full = group.members >= MAX_MEMBERS || group.began.elapsed() >= MAX_OPEN;
    if full || queued.load(Ordering::Acquire) == 0 {
        return end(&mut state).await;
    }
    // Others wait for the writer: the last of them commits us too.
    let mut outcome = group.outcome.subscribe();
    drop(state);
    let ended = outcome.wait_for(Option::is_some).await.map(|o| o.clone());
    match ended {
        Ok(Some(Ok(()))) => Ok(()),
        Ok(Some(Err(e))) => Err(StoreError::Database(sqlx::Error::Protocol(format!(
            "the group this write was to commit with failed: {e}"
        )))),
        Ok(None) | Err(_) => Err(StoreError::Database(sqlx::Error::Protocol(
            "the writer closed before this write was committed".into(),
        ))),
    }
}

/// Copies committed WAL pages into the database file beside the writer,
/// rather than inside its commits (where SQLite would do it every 1,000
/// pages, holding the writer meanwhile): after a commit, at most every
/// [`CHECKPOINT_EVERY`]. `PASSIVE` waits for nobody; what it cannot copy yet
/// (pages a reader still needs) it copies next time. Should it fall behind,
/// the writer's own checkpoint at [`WAL_PAGES_THE_WRITER_LEAVES`] bounds the WAL.
async fn checkpoint(writer: Weak<Writer>, told: Arc<Notify>, pool: SqlitePool) {
    loop {
        told.notified().await;
        if writer.strong_count() == 0 || pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
            && !pool.is_closed()
        {
            tracing::warn!(error = %e, "WAL checkpoint failed; the writer's own checkpoints take over");
        }
        tokio::time::sleep(CHECKPOINT_EVERY).await;
    }
}

/// The writer's connection; present whenever the state is held for a write.
fn conn(state: &mut State) -> &mut SqliteConnection {
    match state.conn.as_mut() {
        Some(c) => c,
        None => unreachable!("the writer's connection is taken before any statement"),
    }
}

/// Commits the open group (rolls it back if none of its writes ended well)
/// and tells its writes how it went.
async fn end(state: &mut State) -> Result<(), StoreError> {
    let Some(group) = state.group.take() else {
        return Ok(());
    };
    let result = end_sqlx(state, group.members).await;
    if result.is_ok() {
        state.checkpoints.notify_one();
    }
    let told = result
        .as_ref()
        .map(|_| ())
        .map_err(|e| Arc::from(e.to_string()));
    group.outcome.send_replace(Some(told));
    result
}

/// Commits (or, with no member, rolls back) the transaction on sqlx's connection.
async fn end_sqlx(state: &mut State, members: usize) -> Result<(), StoreError> {
    let c = conn(state);
    let result = if members == 0 {
        Manager::rollback(c).await
    } else {
        Manager::commit(c).await
    };
    if result.is_err() {
        // SQLite may have rolled the transaction back itself (a full disk):
        // make sure none is left open, or start afresh on a new connection.
        let _ = Manager::rollback(c).await;
        if Manager::get_transaction_depth(c) != 0
            && let Some(mut old) = state.conn.take()
        {
            old.close_on_drop();
        }
    }
    result.map_err(StoreError::from)
}

/// Counts a write waiting for the writer, until it holds it; one that stops
/// waiting (its request went away) as the last in the queue ends the group.
struct Queued<'a> {
    writer: &'a Arc<Writer>,
    waiting: bool,
}

impl<'a> Queued<'a> {
    fn new(writer: &'a Arc<Writer>) -> Self {
        writer.queued.fetch_add(1, Ordering::AcqRel);
        Queued {
            writer,
            waiting: true,
        }
    }

    fn arrived(mut self) {
        self.waiting = false;
        self.writer.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if self.waiting && self.writer.queued.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.writer.finish_later();
        }
    }
}

/// One write on SQLite: a savepoint in the writer's open group, holding the
/// writer until it commits or is dropped (which undoes it).
#[derive(Debug)]
pub struct WriteTx {
    state: Option<OwnedMutexGuard<State>>,
    writer: Arc<Writer>,
    /// Not yet committed nor undone.
    open: bool,
    /// Runs in a savepoint of its own (it is not the first of its group).
    savepoint: bool,
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut SqliteConnection {
        conn(self.held())
    }

    fn held(&mut self) -> &mut State {
        match self.state.as_mut() {
            Some(state) => state,
            None => unreachable!("a write holds the writer until it ends"),
        }
    }

    /// Keeps the write: releases its savepoint, then waits until the group
    /// holding it has committed.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        if self.savepoint {
            Manager::commit(self.conn()).await?;
        }
        self.open = false;
        let Some(mut state) = self.state.take() else {
            return Ok(());
        };
        let Some(group) = state.group.as_mut() else {
            return Ok(());
        };
        group.members += 1;
        settle(state, &self.writer.queued).await
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(mut state) = self.state.take() else {
            return;
        };
        if self.open {
            // Queued on the connection: runs before any later statement. The
            // savepoint, or the first write's whole transaction, with no other
            // write in it.
            Manager::start_rollback(conn(&mut state));
            if !self.savepoint {
                state.group = None;
            }
        }
        let left_open = state.group.is_some();
        drop(state);
        if left_open && self.writer.queued.load(Ordering::Acquire) == 0 {
            self.writer.finish_later();
        }
    }
}
