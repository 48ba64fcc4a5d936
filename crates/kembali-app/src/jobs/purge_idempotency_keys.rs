//! Forgets `Idempotency-Key`s older than [`KEEP_HOURS`]: a retry comes within
//! minutes, and kept answers would otherwise grow without end. A periodic job:
//! each run schedules the next (see [`periodic`]).

use jiff::SignedDuration;
use kembali_store::idempotency;
use serde::{Deserialize, Serialize};

use super::periodic::{self, Periodic};
use super::{Job, JobContext, JobError};

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
        periodic::schedule_next::<Self>(app, now).await?;
        Ok(())
    }
}

impl Periodic for PurgeIdempotencyKeys {
    const EVERY: SignedDuration = EVERY;
}
