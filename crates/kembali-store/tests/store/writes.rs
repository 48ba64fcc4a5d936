//! Write transactions as callers see them, whatever SQLite's writer does
//! underneath (it commits the writes that queue together as one group): a
//! commit that returned is visible to every reader, a dropped write leaves
//! nothing and takes nothing of the others with it, and a write that stops
//! waiting for the writer strands nobody.

use std::time::Duration;

use jiff::Timestamp;
use kembali_store::jobs::{self, NewJob};
use kembali_store::{Db, run};
use serde_json::json;

use crate::support::TestDb;

async fn write(db: &Db, kind: &str) -> kembali_store::Tx {
    let mut tx = db.begin().await.expect("begin");
    let now = Timestamp::now();
    jobs::enqueue(&mut tx, &NewJob::new(None, kind, json!({}), now), now)
        .await
        .expect("enqueue");
    tx
}

/// Rows of `kind`, as a reader (another connection) sees them.
async fn seen(db: &Db, kind: &str) -> i64 {
    let mut conn = db.conn().await.expect("conn");
    run!(&mut conn, |c| sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM jobs WHERE kind = $1"
    )
    .bind(kind)
    .fetch_one(&mut *c)
    .await)
    .expect("count")
}

/// Commits `tx`, which must return within 10 s.
async fn commit_soon(tx: kembali_store::Tx, what: &str) {
    tokio::time::timeout(Duration::from_secs(10), tx.commit())
        .await
        .unwrap_or_else(|_| panic!("{what}'s commit did not return"))
        .expect("commit");
}

/// Writes a row of `kind` as a job on the writer's thread, which must answer
/// within 10 s.
async fn job_soon(db: &Db, kind: &'static str) {
    tokio::time::timeout(
        Duration::from_secs(10),
        db.run_job(move |c| job_write(c, kind)),
    )
    .await
    .unwrap_or_else(|_| panic!("the job writing {kind} did not answer"))
    .expect("runs jobs")
    .expect("job");
}

/// How many of the spawned writes were kept, once all have ended; and each
/// write `{prefix}{n}` is seen exactly when `keep(n)`.
async fn kept_as_asked(
    db: &Db,
    tasks: Vec<tokio::task::JoinHandle<bool>>,
    prefix: &str,
    keep: impl Fn(usize) -> bool,
) -> i64 {
    let count = tasks.len();
    let mut kept = 0;
    for task in tasks {
        kept += i64::from(task.await.expect("task"));
    }
    for n in 0..count {
        let want = i64::from(keep(n));
        assert_eq!(seen(db, &format!("{prefix}{n}")).await, want, "{prefix}{n}");
    }
    kept
}

async fn concurrent_writes_commit_each_or_leave_nothing(t: &TestDb) {
    let mut tasks = Vec::new();
    for n in 0..48 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            let kind = format!("w{n}");
            let tx = write(&db, &kind).await;
            tokio::task::yield_now().await;
            if n % 6 == 0 {
                drop(tx);
                return false;
            }
            tx.commit().await.expect("commit");
            // Acknowledged means committed: another connection sees it at once.
            assert_eq!(
                seen(&db, &kind).await,
                1,
                "{kind} acknowledged but not seen"
            );
            true
        }));
    }
    let kept = kept_as_asked(&t.db, tasks, "w", |n| n % 6 != 0).await;
    assert_eq!(kept, 40);
}
crate::both!(
    concurrent_writes_commit_each_or_leave_nothing,
    super::concurrent_writes_commit_each_or_leave_nothing
);

async fn a_write_that_fails_behind_a_committed_one_takes_nothing_of_it(t: &TestDb) {
    let first = write(&t.db, "kept").await;
    // Queued behind the first while it holds the writer; fails once it has it.
    let db = t.db.clone();
    let second = tokio::spawn(async move {
        let tx = write(&db, "failed").await;
        drop(tx);
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    commit_soon(first, "first").await;
    second.await.expect("second");
    assert_eq!(seen(&t.db, "kept").await, 1);
    assert_eq!(seen(&t.db, "failed").await, 0);
}
crate::both!(
    a_write_that_fails_behind_a_committed_one_takes_nothing_of_it,
    super::a_write_that_fails_behind_a_committed_one_takes_nothing_of_it
);

/// SQLite's writer only: on PostgreSQL the second write does not wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_stops_waiting_for_the_writer_strands_nobody() {
    let t = crate::support::sqlite().await;
    let first = write(&t.db, "holder").await;
    // A request that goes away while it waits for the writer.
    let db = t.db.clone();
    let gone = tokio::spawn(async move {
        let tx = write(&db, "gone").await;
        tx.commit().await.expect("commit");
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    gone.abort();
    assert!(gone.await.is_err_and(|e| e.is_cancelled()));
    commit_soon(first, "first").await;
    assert_eq!(seen(&t.db, "holder").await, 1);
    assert_eq!(seen(&t.db, "gone").await, 0);
    // The writer is free for the next one.
    let next = write(&t.db, "next").await;
    commit_soon(next, "next").await;
    assert_eq!(seen(&t.db, "next").await, 1);
    t.cleanup().await;
}

/// Committed pages reach the database file through the checkpointer beside
/// the writer, long before the writer's own limit of 65,536 WAL pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_pages_reach_the_database_file_without_waiting_for_the_writer() {
    let t = crate::support::sqlite().await;
    let file = t
        .url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let before = std::fs::metadata(&file).expect("database file").len();
    // About 1 MB in 64 commits: far below the writer's limit.
    let filler = "x".repeat(16 * 1024);
    for n in 0..64 {
        let mut tx = t.db.begin().await.expect("begin");
        let now = Timestamp::now();
        let job = NewJob::new(None, &format!("big{n}"), json!({ "filler": filler }), now);
        jobs::enqueue(&mut tx, &job, now).await.expect("enqueue");
        tx.commit().await.expect("commit");
    }
    let mut grown = 0;
    for _ in 0..50 {
        grown = std::fs::metadata(&file).expect("database file").len() - before;
        if grown >= 512 * 1024 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        grown >= 512 * 1024,
        "the database file grew by {grown} bytes only"
    );
    t.cleanup().await;
}

/// A row of `kind` written by a job on the writer's own connection.
fn job_write(c: &rusqlite::Connection, kind: &str) -> Result<(), kembali_store::StoreError> {
    c.execute(
        "INSERT INTO jobs (id, kind, payload, state, run_at, max_attempts, created_at, updated_at)
         VALUES (?1, ?2, '{}', 'queued', 0, 1, 0, 0)",
        [format!("job_{kind}"), kind.to_owned()],
    )
    .map(|_| ())
    .map_err(|e| kembali_store::StoreError::Corrupt(e.to_string()))
}

/// SQLite only (PostgreSQL runs no jobs): jobs on the writer's own connection
/// and async writes on sqlx's, queued together, each kept or undone alone; a
/// kept one is seen by readers as soon as it is acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_and_async_writes_queued_together_commit_each_or_leave_nothing() {
    let t = crate::support::sqlite().await;
    assert!(t.db.runs_jobs());
    let mut tasks = Vec::new();
    for n in 0..60 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            let kind = format!("m{n}");
            let keep = n % 5 != 0;
            if n % 2 == 0 {
                let written = kind.clone();
                let answer = db
                    .run_job(move |c| {
                        job_write(c, &written)?;
                        if keep {
                            Ok(())
                        } else {
                            Err(kembali_store::StoreError::Config("refused".into()))
                        }
                    })
                    .await
                    .expect("a file database runs jobs");
                assert_eq!(answer.is_ok(), keep, "{kind}");
            } else {
                let tx = write(&db, &kind).await;
                tokio::task::yield_now().await;
                if !keep {
                    drop(tx);
                    return false;
                }
                tx.commit().await.expect("commit");
            }
            if keep {
                assert_eq!(
                    seen(&db, &kind).await,
                    1,
                    "{kind} acknowledged but not seen"
                );
            }
            keep
        }));
    }
    let kept = kept_as_asked(&t.db, tasks, "m", |n| n % 5 != 0).await;
    assert_eq!(kept, 48);
    // The writer is free afterwards, for either kind of write.
    commit_soon(write(&t.db, "next").await, "next").await;
    job_soon(&t.db, "last").await;
    assert_eq!(seen(&t.db, "next").await + seen(&t.db, "last").await, 2);
    t.cleanup().await;
}

/// SQLite only: a job whose caller stops waiting for its answer is still run
/// and committed (it was sent; as a write that began, it is not taken back),
/// and the writer stays free for the next write of either kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_caller_went_away_is_still_run_and_the_writer_stays_free() {
    let t = crate::support::sqlite().await;
    // Holds the writer, so the job queues behind it.
    let holder = write(&t.db, "holder").await;
    let db = t.db.clone();
    let gone = tokio::spawn(async move { db.run_job(|c| job_write(c, "gone")).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    gone.abort();
    assert!(gone.await.is_err_and(|e| e.is_cancelled()));
    commit_soon(holder, "holder").await;
    // The next job runs after the one sent before it.
    job_soon(&t.db, "after").await;
    assert_eq!(seen(&t.db, "holder").await, 1);
    assert_eq!(seen(&t.db, "gone").await, 1);
    assert_eq!(seen(&t.db, "after").await, 1);
    let next = write(&t.db, "next").await;
    commit_soon(next, "next").await;
    assert_eq!(seen(&t.db, "next").await, 1);
    t.cleanup().await;
}

/// SQLite only: a job that panics is undone, its caller gets an error, and the
/// writer's thread goes on with the next job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_panics_is_undone_and_the_writer_goes_on() {
    let t = crate::support::sqlite().await;
    let answer: Option<Result<(), kembali_store::StoreError>> =
        t.db.run_job(|c| {
            job_write(c, "panicked")?;
            panic!("a bug in a job");
        })
        .await;
    assert!(matches!(answer, Some(Err(_))), "{answer:?}");
    job_soon(&t.db, "after").await;
    assert_eq!(seen(&t.db, "panicked").await, 0);
    assert_eq!(seen(&t.db, "after").await, 1);
    t.cleanup().await;
}
