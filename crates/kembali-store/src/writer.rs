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
//! code ([`Writer::begin`]), and a rusqlite one on the file, for writes given as
//! one synchronous job ([`Writer::run`]), which runs on the calling thread with
//! no hand-off to sqlx's connection thread per statement (each hand-off is a
//! wake-up of another thread, and the writer is held meanwhile). A group lives
//! on one of them: a write for the other connection first commits the open
//! group, then starts its own.

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

/// Which of the writer's two connections a group is open on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Sqlx,
    Jobs,
}

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
    /// The file the job connection opens; `None` for an in-memory database,
    /// which only sqlx's connections share.
    file: Option<PathBuf>,
}

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
    /// The connection its transaction is open on.
    on: Side,
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
            file,
        });
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
        if state.group.as_ref().is_some_and(|g| g.on == Side::Jobs) {
            end(state).await?;
        }
        if state.group.is_none() {
            Manager::begin(
                conn(state),
                Some(sqlx::SqlSafeStr::into_sql_str("BEGIN IMMEDIATE")),
            )
            .await?;
            state.group = Some(Group::new(Side::Sqlx));
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
        self.file.is_some()
    }

    /// Runs `job` as one write on the writer's job connection, on this thread:
    /// in a savepoint of the open group (or as a new group's first write), kept
    /// if it answers `Ok` and undone if it answers `Err`. Answers once the
    /// group holding it committed, as [`WriteTx::commit`] does. A job reads and
    /// writes by key and decides in memory: it holds the writer, and this
    /// async worker, for as long as it runs.
    pub async fn run<T, E>(
        self: &Arc<Self>,
        job: impl FnOnce(&rusqlite::Connection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let Some(file) = self.file.as_ref() else {
            return Err(StoreError::Config("an in-memory database takes no jobs".into()).into());
        };
        let queued = Queued::new(self);
        let mut state = tokio::time::timeout(WAIT, self.state.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))?;
        queued.arrived();
        // Held from here: leaving early (an error, or the request gone while
        // a group on the other connection commits) ends what nobody else will.
        let mut held = Held {
            state: Some(state),
            writer: self,
        };
        state = held.take();
        if state.group.as_ref().is_some_and(|g| g.on == Side::Sqlx) {
            let ended = end(&mut state).await;
            held.state = Some(state);
            ended?;
            state = held.take();
        }
        if state.jobs.is_none() {
            match open_jobs(file) {
                Ok(c) => state.jobs = Some(c),
                Err(e) => {
                    held.state = Some(state);
                    return Err(e.into());
                }
            }
        }
        let answer = run_in_group(&mut state, job);
        held.state = Some(state);
        let kept = answer?;
        held.committed().await?;
        Ok(kept)
    }

    /// Ends the open group, if any, and gives the connection back to the pool.
    pub async fn close(&self) {
        let mut state = self.state.lock().await;
        let _ = end(&mut state).await;
        state.conn = None;
        state.jobs = None;
        drop(state);
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
    fn new(on: Side) -> Group {
        Group {
            on,
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

/// Runs a job on the job connection: joins the open group (a savepoint) or
/// begins one, and keeps or undoes what the job did by its answer.
fn run_in_group<T, E>(
    state: &mut State,
    job: impl FnOnce(&rusqlite::Connection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    let Some(conn) = state.jobs.as_ref() else {
        return Err(StoreError::Config("the job connection is not open".into()).into());
    };
    let sql = |c: &rusqlite::Connection, s: &str| c.execute_batch(s).map_err(crate::direct::sqlite);
    if state.group.is_none() {
        sql(conn, "BEGIN IMMEDIATE")?;
        state.group = Some(Group::new(Side::Jobs));
    }
    let savepoint = state.group.as_ref().is_some_and(|g| g.members > 0);
    if savepoint {
        sql(conn, "SAVEPOINT job")?;
    }
    match job(conn) {
        Ok(kept) => {
            if savepoint {
                sql(conn, "RELEASE job")?;
            }
            if let Some(g) = state.group.as_mut() {
                g.members += 1;
            }
            Ok(kept)
        }
        Err(e) => {
            if savepoint {
                sql(conn, "ROLLBACK TO job; RELEASE job")?;
            } else {
                // The group's first write: nothing else is in its transaction.
                let undone = sql(conn, "ROLLBACK");
                let stuck = !conn.is_autocommit();
                state.group = None;
                if stuck {
                    state.jobs = None;
                }
                undone?;
            }
            Err(e)
        }
    }
}

/// The writer held by a job: given back on drop, ending the group if nobody
/// else waits to join it.
struct Held<'a> {
    state: Option<OwnedMutexGuard<State>>,
    writer: &'a Arc<Writer>,
}

impl Held<'_> {
    fn take(&mut self) -> OwnedMutexGuard<State> {
        match self.state.take() {
            Some(s) => s,
            None => unreachable!("a job holds the writer until it ends"),
        }
    }

    /// After the job's write ended well: commits its group now if nobody
    /// waits, or waits for the one that will.
    async fn committed(mut self) -> Result<(), StoreError> {
        let state = self.take();
        settle(state, &self.writer.queued).await
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let Some(state) = self.state.take() else {
            return;
        };
        let left_open = state.group.is_some();
        drop(state);
        if left_open && self.writer.queued.load(Ordering::Acquire) == 0 {
            self.writer.finish_later();
        }
    }
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
    let result = match group.on {
        Side::Sqlx => end_sqlx(state, group.members).await,
        Side::Jobs => end_jobs(state, group.members),
    };
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

/// [`end_sqlx`] for a group on the job connection.
fn end_jobs(state: &mut State, members: usize) -> Result<(), StoreError> {
    let Some(c) = state.jobs.as_ref() else {
        return Err(StoreError::Config("the job connection went away".into()));
    };
    let sql = if members == 0 { "ROLLBACK" } else { "COMMIT" };
    let result = c.execute_batch(sql).map_err(crate::direct::sqlite);
    if result.is_err() {
        // As on sqlx's connection: none left open, or a fresh connection.
        let _ = c.execute_batch("ROLLBACK");
        if !c.is_autocommit() {
            state.jobs = None;
        }
    }
    result
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
