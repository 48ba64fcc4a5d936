//! The job table: transactional enqueue, scheduling, back-off and dead jobs,
//! leases, exactly-once with two workers, and recovery from a killed worker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use kembali_store::jobs::{self, Handlers, JobState, NewJob, WorkerOptions};
use serde_json::json;
use tokio::sync::watch;

use crate::support::TestDb;

/// Now, to the millisecond, as the table keeps it.
fn now() -> Timestamp {
    Timestamp::from_millisecond(Timestamp::now().as_millisecond()).expect("now")
}

fn job(kind: &str, at: Timestamp) -> NewJob {
    NewJob::new(None, kind, json!({"n": 1}), at)
}

async fn enqueue_follows_its_transaction(t: &TestDb) {
    let now = now();
    let mut tx = t.db.begin().await.expect("tx");
    jobs::enqueue(&mut tx, &job("rolled-back", now), now)
        .await
        .expect("enqueue");
    drop(tx); // rolled back
    let mut tx = t.db.begin().await.expect("tx");
    let id = jobs::enqueue(&mut tx, &job("committed", now), now)
        .await
        .expect("enqueue")
        .expect("new");
    tx.commit().await.expect("commit");

    let claimed = jobs::claim(&t.db, "w1", now, Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].id, claimed[0].kind.as_str(), claimed[0].attempts),
        (id, "committed", 1)
    );
    assert_eq!(claimed[0].payload, json!({"n": 1}));
    // Claimed jobs are not handed out twice while their lease holds.
    assert!(
        jobs::claim(&t.db, "w2", now, Duration::from_secs(30), 10)
            .await
            .expect("claim")
            .is_empty()
    );
}
crate::both!(
    transactional_enqueue,
    super::enqueue_follows_its_transaction
);

async fn scheduled_jobs_wait_for_their_time_and_dedupe(t: &TestDb) {
    let now = now();
    let later = now + SignedDuration::from_secs(3600);
    let mut tx = t.db.begin().await.expect("tx");
    let first = jobs::enqueue(&mut tx, &job("expire", now).at(later).dedupe("ret_1"), now)
        .await
        .expect("enqueue");
    let twin = jobs::enqueue(&mut tx, &job("expire", now).at(later).dedupe("ret_1"), now)
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    assert!(first.is_some());
    assert!(
        twin.is_none(),
        "a pending job with the same dedupe key exists"
    );

    assert!(
        jobs::claim(&t.db, "w", now, Duration::from_secs(30), 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let due = jobs::claim(&t.db, "w", later, Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert_eq!(due.len(), 1);
}
crate::both!(
    scheduling,
    super::scheduled_jobs_wait_for_their_time_and_dedupe
);

async fn failures_back_off_then_die_and_can_be_retried(t: &TestDb) {
    let mut now = now();
    let mut tx = t.db.begin().await.expect("tx");
    let id = jobs::enqueue(&mut tx, &job("flaky", now).attempts(3), now)
        .await
        .expect("enqueue")
        .expect("id");
    tx.commit().await.expect("commit");
    for attempt in 1..=3u32 {
        let claimed = jobs::claim(&t.db, "w", now, Duration::from_secs(30), 1)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1, "attempt {attempt}");
        assert_eq!(claimed[0].attempts, attempt);
        let state = jobs::fail(&t.db, &claimed[0], "w", &format!("boom {attempt}"), now)
            .await
            .expect("fail");
        let stored = jobs::get(&t.db, id).await.expect("get").expect("job");
        assert_eq!(stored.attempts, attempt);
        if attempt < 3 {
            assert_eq!(state, Some(JobState::Queued));
            assert_eq!(stored.state, JobState::Queued);
            assert_eq!(stored.last_error, Some(format!("boom {attempt}")));
            // The back-off, plus at most a tenth of it as jitter.
            let base = jobs::backoff(attempt);
            let wait = stored.run_at.duration_since(now);
            assert!(wait >= base && wait <= base + base / 10, "{wait:?}");
            // Not due again before the back-off has passed.
            let just_before = stored.run_at - SignedDuration::from_millis(1);
            assert!(
                jobs::claim(&t.db, "w", just_before, Duration::from_secs(30), 1)
                    .await
                    .expect("claim")
                    .is_empty()
            );
            now = stored.run_at;
        } else {
            assert_eq!(state, Some(JobState::Dead));
            assert_eq!(stored.state, JobState::Dead);
            assert_eq!(stored.last_error.as_deref(), Some("boom 3"));
        }
    }
    let far = now + SignedDuration::from_secs(86_400);
    assert!(
        jobs::claim(&t.db, "w", far, Duration::from_secs(30), 1)
            .await
            .expect("claim")
            .is_empty()
    );
    assert_eq!(
        jobs::list(&t.db, JobState::Dead, 10)
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(jobs::retry_dead(&t.db, id, far).await.expect("retry"));
    let again = jobs::claim(&t.db, "w", far, Duration::from_secs(30), 1)
        .await
        .expect("claim");
    assert_eq!((again.len(), again[0].attempts), (1, 1));
    assert_eq!(jobs::backoff(1), SignedDuration::from_secs(2));
    assert_eq!(jobs::backoff(2), SignedDuration::from_secs(4));
    assert_eq!(jobs::backoff(40), SignedDuration::from_secs(3600));
}
crate::both!(
    backoff_and_dead,
    super::failures_back_off_then_die_and_can_be_retried
);

async fn an_expired_lease_passes_the_job_on(t: &TestDb) {
    let now = now();
    let mut tx = t.db.begin().await.expect("tx");
    jobs::enqueue(&mut tx, &job("slow", now), now)
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    let first = jobs::claim(&t.db, "old", now, Duration::from_secs(10), 1)
        .await
        .expect("claim");
    let later = now + SignedDuration::from_secs(11);
    let second = jobs::claim(&t.db, "new", later, Duration::from_secs(10), 1)
        .await
        .expect("claim");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempts, 2);
    // The old worker, back from the dead, can neither finish nor fail it.
    assert!(
        !jobs::complete(&t.db, &first[0], "old", later)
            .await
            .expect("complete")
    );
    assert_eq!(
        jobs::fail(&t.db, &first[0], "old", "late", later)
            .await
            .expect("fail"),
        None
    );
    // Nor keep it alive: the lease is the new worker's.
    assert!(
        !jobs::heartbeat(&t.db, first[0].id, "old", later, Duration::from_secs(10))
            .await
            .expect("heartbeat")
    );
    assert_eq!(
        jobs::get(&t.db, second[0].id)
            .await
            .expect("get")
            .expect("job")
            .state,
        JobState::Running
    );
    assert!(
        jobs::complete(&t.db, &second[0], "new", later)
            .await
            .expect("complete")
    );
    assert_eq!(
        jobs::get(&t.db, second[0].id)
            .await
            .expect("get")
            .expect("job")
            .state,
        JobState::Done
    );
}
crate::both!(leases, super::an_expired_lease_passes_the_job_on);

fn fast(id: &str) -> WorkerOptions {
    WorkerOptions {
        id: id.to_owned(),
        concurrency: 4,
        poll: Duration::from_millis(20),
        lease: Duration::from_secs(30),
        ..WorkerOptions::new(4)
    }
}

async fn two_workers_run_each_job_once(t: &TestDb) {
    const N: usize = 200;
    let now = now();
    let mut tx = t.db.begin().await.expect("tx");
    for n in 0..N {
        jobs::enqueue(
            &mut tx,
            &NewJob::new(None, "count", json!({"n": n}), now),
            now,
        )
        .await
        .expect("enqueue");
    }
    tx.commit().await.expect("commit");

    let runs: Arc<Mutex<HashMap<i64, Vec<String>>>> = Arc::default();
    let handlers = |who: &'static str| {
        let runs = runs.clone();
        Handlers::new().on("count", move |_db, job| {
            let runs = runs.clone();
            async move {
                let n = job.payload["n"].as_i64().ok_or("no n")?;
                tokio::time::sleep(Duration::from_millis(2)).await;
                runs.lock()
                    .map_err(|e| e.to_string())?
                    .entry(n)
                    .or_default()
                    .push(who.to_owned());
                Ok::<(), String>(())
            }
        })
    };
    let other = t.second_pool().await;
    let (stop_tx, stop) = watch::channel(false);
    let a = tokio::spawn(jobs::work(
        t.db.clone(),
        handlers("a"),
        fast("a"),
        stop.clone(),
    ));
    let b = tokio::spawn(jobs::work(other.clone(), handlers("b"), fast("b"), stop));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done = jobs::list(&t.db, JobState::Done, 1000)
            .await
            .expect("list")
            .len();
        if done == N {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {done} of {N} jobs done"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).expect("stop");
    a.await.expect("a");
    b.await.expect("b");
    other.close().await;
    let runs = runs.lock().expect("lock");
    assert_eq!(runs.len(), N, "every job ran");
    assert!(runs.values().all(|w| w.len() == 1), "a job ran twice");
    let by_a = runs.values().filter(|w| w[0] == "a").count();
    assert!(by_a > 0 && by_a < N, "both workers took work (a: {by_a})");
}
crate::both!(two_workers, super::two_workers_run_each_job_once);

/// Says when the value (and the future holding it) is dropped.
struct SignalOnDrop(watch::Sender<bool>);

impl Drop for SignalOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

async fn a_killed_worker_s_job_is_picked_up_again(t: &TestDb) {
    let now = now();
    let mut tx = t.db.begin().await.expect("tx");
    let id = jobs::enqueue(&mut tx, &job("stuck-once", now), now)
        .await
        .expect("enqueue")
        .expect("id");
    tx.commit().await.expect("commit");

    // The first worker's handler never returns; then the worker is killed.
    let (started_tx, mut started) = watch::channel(false);
    let (dropped_tx, mut dropped) = watch::channel(false);
    let first = Handlers::new().on("stuck-once", move |_db, _job| {
        let started_tx = started_tx.clone();
        let on_drop = SignalOnDrop(dropped_tx.clone());
        async move {
            let _on_drop = on_drop;
            let _ = started_tx.send(true);
            std::future::pending::<()>().await;
            Ok::<(), String>(())
        }
    });
    let short = WorkerOptions {
        lease: Duration::from_millis(600),
        ..fast("doomed")
    };
    let (_keep, stop) = watch::channel(false);
    let doomed = tokio::spawn(jobs::work(t.db.clone(), first, short.clone(), stop));
    started.wait_for(|s| *s).await.expect("started");
    doomed.abort(); // killed mid-job: no completion, no failure, no more heartbeats
    let _ = doomed.await;
    // Its handler dies with it rather than running on unleased beside the rescuer.
    tokio::time::timeout(Duration::from_secs(5), dropped.wait_for(|d| *d))
        .await
        .expect("the killed worker's handler was stopped")
        .expect("signal");
    assert_eq!(
        jobs::get(&t.db, id).await.expect("get").expect("job").state,
        JobState::Running
    );

    let finished: Arc<Mutex<Vec<u32>>> = Arc::default();
    let f = finished.clone();
    let second = Handlers::new().on("stuck-once", move |_db, job| {
        let f = f.clone();
        async move {
            f.lock().map_err(|e| e.to_string())?.push(job.attempts);
            Ok::<(), String>(())
        }
    });
    let (stop_tx, stop) = watch::channel(false);
    let rescuer = tokio::spawn(jobs::work(
        t.db.clone(),
        second,
        WorkerOptions {
            id: "rescuer".into(),
            ..short.clone()
        },
        stop,
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while jobs::get(&t.db, id).await.expect("get").expect("job").state != JobState::Done {
        assert!(
            std::time::Instant::now() < deadline,
            "the job was not picked up again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).expect("stop");
    rescuer.await.expect("rescuer");
    assert_eq!(
        *finished.lock().expect("lock"),
        vec![2],
        "ran once more, as its second attempt"
    );
}
crate::both!(
    killed_worker,
    super::a_killed_worker_s_job_is_picked_up_again
);

async fn unknown_kinds_and_panics_count_as_failures(t: &TestDb) {
    let now = now();
    let mut tx = t.db.begin().await.expect("tx");
    let unknown = jobs::enqueue(&mut tx, &job("nobody-handles-this", now).attempts(1), now)
        .await
        .expect("e")
        .expect("id");
    let panics = jobs::enqueue(&mut tx, &job("panics", now).attempts(1), now)
        .await
        .expect("e")
        .expect("id");
    tx.commit().await.expect("commit");
    let handlers = Handlers::new().on("panics", |_db, _job| async move {
        let v: Vec<u8> = Vec::new();
        // An out-of-bounds index: a genuine panic inside a handler.
        let _ = v[usize::from(v.is_empty())];
        Ok::<(), String>(())
    });
    let (stop_tx, stop) = watch::channel(false);
    let w = tokio::spawn(jobs::work(t.db.clone(), handlers, fast("w"), stop));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while jobs::list(&t.db, JobState::Dead, 10)
        .await
        .expect("list")
        .len()
        < 2
    {
        assert!(std::time::Instant::now() < deadline, "jobs did not die");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).expect("stop");
    w.await.expect("worker");
    let u = jobs::get(&t.db, unknown).await.expect("get").expect("job");
    assert!(
        u.last_error
            .as_deref()
            .is_some_and(|e| e.contains("no handler")),
        "{u:?}"
    );
    let p = jobs::get(&t.db, panics).await.expect("get").expect("job");
    assert!(
        p.last_error
            .as_deref()
            .is_some_and(|e| e.contains("panicked")),
        "{p:?}"
    );
}
crate::both!(
    failures_of_handlers,
    super::unknown_kinds_and_panics_count_as_failures
);
