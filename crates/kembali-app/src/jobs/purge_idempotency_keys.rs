//! Forgets `Idempotency-Key`s older than [`KEEP_HOURS`]: a retry comes within
//! minutes, and kept answers would otherwise grow without end. A periodic job:
//! each run schedules the next (see [`schedule`]).

use jiff::{SignedDuration, Timestamp};
use kembali_store::idempotency;
use serde::{Deserialize, Serialize};

use super::{Job, JobContext, JobError};
use crate::App;

/// How long a key and its first answer are kept (the API documents it).
pub const KEEP_HOURS: i64 = 24;

/// How often the purge runs.
pub const EVERY: SignedDuration = SignedDuration::from_hours(1);

/// Keys deleted per transaction.
const BATCH: u32 = 1000;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PurgeIdempotencyKeys {}

impl Job for PurgeIdempotencyKeys {
    const KIND: &'static str = "idempotency.purge";
    const MAX_ATTEMPTS: u32 = 3;

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let app = &ctx.app;
        let now = app.now();
        let cutoff = now - SignedDuration::from_hours(KEEP_HOURS);
        loop {
            let mut tx = app.db.begin().await?;
            let n = idempotency::purge_before(&mut tx, cutoff, BATCH).await?;
            tx.commit().await?;
            if n < u64::from(BATCH) {
                break;
            }
        }
        // The next run, at the next whole hour after this one.
        schedule(app, slot_after(now)).await?;
        Ok(())
    }
}

/// The whole `EVERY` that follows `t`.
fn slot_after(t: Timestamp) -> Timestamp {
    let every = EVERY.as_millis() as i64;
    let ms = (t.as_millisecond().div_euclid(every) + 1) * every;
    Timestamp::from_millisecond(ms).unwrap_or(t)
}

/// Queues the purge for `at`, once: the dedupe key is the slot's time, so
/// every worker that starts, and every run that schedules its successor, asks
/// for the same job and the job table keeps one. The job table is the only
/// scheduler; periodic jobs are chains of one-off jobs keyed by their slot.
pub async fn schedule(app: &App, at: Timestamp) -> Result<(), kembali_store::StoreError> {
    let mut tx = app.db.begin().await?;
    super::enqueue(
        app,
        &mut tx,
        None,
        &PurgeIdempotencyKeys {},
        at,
        Some(at.as_millisecond().to_string()),
    )
    .await?;
    tx.commit().await
}

/// Starts the chain when a worker starts: the purge for the current slot, so a
/// process that never runs an hour still purges once.
pub async fn start(app: &App) -> Result<(), kembali_store::StoreError> {
    let now = app.now();
    let every = EVERY.as_millis() as i64;
    let slot =
        Timestamp::from_millisecond(now.as_millisecond().div_euclid(every) * every).unwrap_or(now);
    schedule(app, slot).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_whole_hours() {
        let t = Timestamp::from_second(3600 * 5 + 17).unwrap();
        assert_eq!(slot_after(t), Timestamp::from_second(3600 * 6).unwrap());
        let on = Timestamp::from_second(3600 * 6).unwrap();
        assert_eq!(slot_after(on), Timestamp::from_second(3600 * 7).unwrap());
    }
}
