//! Deletes shoppers' photos that no return names, [`KEEP_DAYS`] after their
//! upload: a shopper who uploaded and then gave up leaves nothing behind for
//! long. A photo a return names is kept with the return. A periodic job: each
//! run schedules the next (see [`periodic`]).

use jiff::SignedDuration;
use kembali_store::photos;
use serde::{Deserialize, Serialize};

use super::periodic::{self, Periodic};
use super::{Job, JobContext, JobError};

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
        periodic::schedule_next::<Self>(app, now).await?;
        Ok(())
    }
}

impl Periodic for PurgePhotos {
    const EVERY: SignedDuration = EVERY;
}
