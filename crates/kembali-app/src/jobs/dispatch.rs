//! Fans one outbox message out to what consumes it: every message goes to the
//! shop's subscribed webhook endpoints, and an approved return gets its expiry
//! scheduled. Next: e-mail, tracking follow-ups.

use jiff::SignedDuration;
use kembali_core::returns::{Return, ReturnStatus};
use kembali_core::{MessageId, ReturnId};
use kembali_store::{outbox, returns};
use serde::{Deserialize, Serialize};

use super::expire_return::ExpireReturn;
use super::{Job, JobContext, JobError, enqueue};
use crate::{events, webhooks};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dispatch {
    pub message_id: MessageId,
}

impl Job for Dispatch {
    const KIND: &'static str = "outbox.dispatch";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let shop = ctx
            .shop
            .ok_or_else(|| JobError::GiveUp("a dispatch job needs its shop".into()))?;
        let app = &ctx.app;
        let mut tx = app.db.begin().await?;
        let Some(message) = outbox::get(&mut tx, shop, self.message_id).await? else {
            return Err(JobError::GiveUp(format!(
                "no outbox message {}",
                self.message_id
            )));
        };
        if message.dispatched_at.is_some() {
            // A repeated run after the first committed: nothing left to do.
            return Ok(());
        }
        if message.kind == events::return_kind(ReturnStatus::Approved) {
            let id: ReturnId = message
                .subject
                .parse()
                .map_err(|e| JobError::GiveUp(format!("bad subject: {e}")))?;
            if let Some(ret) = returns::get(&mut tx, shop, id).await? {
                schedule_expiry(&ctx, &mut tx, &ret, message.occurred_at).await?;
            }
        }
        webhooks::fan_out(app, &mut tx, &message).await?;
        outbox::mark_dispatched(&mut tx, shop, self.message_id, app.now()).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// An approved return that must travel expires at the end of its ship-by days
/// (the shortest of its items'), counted from its approval.
async fn schedule_expiry(
    ctx: &JobContext,
    tx: &mut kembali_store::Tx,
    ret: &Return,
    approved_at: jiff::Timestamp,
) -> Result<(), JobError> {
    if ret.is_keep_item() {
        return Ok(());
    }
    let days = ret
        .items
        .iter()
        .map(|i| i.decision.ship_by_days)
        .min()
        .unwrap_or(14);
    let at = approved_at
        .checked_add(SignedDuration::from_hours(i64::from(days) * 24))
        .unwrap_or(approved_at);
    enqueue(
        &ctx.app,
        tx,
        Some(ret.shop_id),
        &ExpireReturn { return_id: ret.id },
        at,
        Some(ret.id.to_string()),
    )
    .await?;
    Ok(())
}
