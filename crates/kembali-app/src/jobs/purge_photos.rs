//! Deletes shoppers' photos that no return names, [`KEEP_DAYS`] after their
//! upload: a shopper who uploaded and then gave up leaves nothing behind for
//! long. A photo a return names is kept with the return. A periodic job: each
//! run schedules the next (see [`schedule`]).

use jiff::{SignedDuration, Timestamp};
use kembali_store::photos;
use serde::{Deserialize, Serialize};

use super::{Job, JobContext, JobError};
use crate::App;

/// How long a photo no return names is kept (the API documents it).
pub const KEEP_DAYS: i64 = 7;

/// How often the purge runs.
pub const EVERY: SignedDuration = SignedDuration::from_hours(1);

/// Photos deleted per transaction.
const BATCH: u32 = 200;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PurgePhotos {}

impl Job for PurgePhotos {
    const KIND: &'static str = "photos.purge";
    const MAX_ATTEMPTS: u32 = 3;

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let app = &ctx.app;
        let now = app.now();
        let cutoff = now - SignedDuration::from_hours(24 * KEEP_DAYS);
        loop {
            let mut tx = app.db.begin().await?;
            let n = photos::purge_unattached_before(&mut tx, cutoff, BATCH).await?;
            tx.commit().await?;
            if n < u64::from(BATCH) {
                break;
            }
        }
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

/// Queues the purge for `at`, once: the dedupe key is the slot's time (as for
/// `purge_idempotency_keys`, a periodic job is a chain of one-off jobs).
pub async fn schedule(app: &App, at: Timestamp) -> Result<(), kembali_store::StoreError> {
    let mut tx = app.db.begin().await?;
    super::enqueue(
        app,
        &mut tx,
        None,
        &PurgePhotos {},
        at,
        Some(at.as_millisecond().to_string()),
    )
    .await?;
    tx.commit().await
}

/// Starts the chain when a worker starts: the purge for the current slot.
pub async fn start(app: &App) -> Result<(), kembali_store::StoreError> {
    let now = app.now();
    let every = EVERY.as_millis() as i64;
    let slot =
        Timestamp::from_millisecond(now.as_millisecond().div_euclid(every) * every).unwrap_or(now);
    schedule(app, slot).await
}
