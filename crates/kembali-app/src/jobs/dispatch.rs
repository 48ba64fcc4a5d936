//! Fans outbox messages out to what consumes them: every message goes to the
//! shop's subscribed webhook endpoints, and an approved return gets its expiry
//! scheduled. Next: e-mail, tracking follow-ups.
//!
//! The relay ([`run_relay`], beside the worker) reads the outbox itself and
//! dispatches pending messages in batches, one transaction per batch: a change
//! writes only its message, not a job per message. A message the relay cannot
//! dispatch is handed to a [`Dispatch`] job of its own, which retries it with
//! back-off and ends `dead` where an operator sees it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Duration;

use jiff::SignedDuration;
use kembali_core::returns::{Return, ReturnStatus};
use kembali_core::{MessageId, ReturnId, ShopId};
use kembali_store::outbox::{self, Message};
use kembali_store::webhooks::{self as store_webhooks, Endpoint};
use kembali_store::{Tx, returns};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::expire_return::ExpireReturn;
use super::{Job, JobContext, JobError, enqueue};
use crate::{App, events, webhooks};

/// At most this many messages per relay transaction.
pub const BATCH: u32 = 64;

/// One message handed over by the relay (or queued before the relay existed).
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
        dispatch(app, &mut tx, &message).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Dispatches one message inside `tx` and marks it dispatched; a message
/// already dispatched (a repeated run) is left alone.
async fn dispatch(app: &App, tx: &mut Tx, message: &Message) -> Result<(), JobError> {
    dispatch_batch(app, tx, std::slice::from_ref(message)).await
}

/// Dispatches `messages` inside `tx` and marks them dispatched, skipping those
/// already dispatched: an approved return's expiry is scheduled, and each
/// message fanned out to its shop's endpoints. Each shop's endpoints are read
/// once and its messages marked in one query: SQLite's one writer is held for
/// the whole batch, and every statement on it waits on a hand-off.
async fn dispatch_batch(app: &App, tx: &mut Tx, messages: &[Message]) -> Result<(), JobError> {
    let mut shops: HashMap<ShopId, (Vec<Endpoint>, Vec<MessageId>)> = HashMap::new();
    for m in messages.iter().filter(|m| m.dispatched_at.is_none()) {
        let (endpoints, marked) = match shops.entry(m.shop_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let endpoints = store_webhooks::enabled_endpoints(tx, m.shop_id).await?;
                e.insert((endpoints, Vec::new()))
            }
        };
        if m.kind == events::return_kind(ReturnStatus::Approved) {
            let id: ReturnId = m
                .subject
                .parse()
                .map_err(|e| JobError::GiveUp(format!("bad subject: {e}")))?;
            if let Some(ret) = returns::get(tx, m.shop_id, id).await? {
                schedule_expiry(app, tx, &ret, m.occurred_at).await?;
            }
        }
        webhooks::fan_out(app, tx, m, endpoints).await?;
        marked.push(m.id);
    }
    let now = app.now();
    for (shop, (_, marked)) in &shops {
        outbox::mark_all_dispatched(tx, *shop, marked, now).await?;
    }
    Ok(())
}

/// Dispatches up to `limit` pending messages, oldest first, in one
/// transaction, and answers how many it took. If one of them fails, the batch
/// is rolled back and its messages go one by one: those that fail alone are
/// handed to a [`Dispatch`] job each.
pub async fn relay(app: &App, limit: u32) -> Result<usize, JobError> {
    // A read first: an idle relay must not take SQLite's one writer twice a second.
    let mut conn = app.db.conn().await?;
    if !outbox::any_pending(&mut conn).await? {
        return Ok(0);
    }
    drop(conn);
    let mut tx = app.db.begin().await?;
    let messages = outbox::take_pending(&mut tx, limit).await?;
    if messages.is_empty() {
        return Ok(0);
    }
    match dispatch_batch(app, &mut tx, &messages).await {
        Ok(()) => {
            tx.commit().await?;
            return Ok(messages.len());
        }
        Err(e) => {
            tracing::info!(error = %e, "outbox batch failed; dispatching one by one");
        }
    }
    drop(tx);
    for m in &messages {
        let mut tx = app.db.begin().await?;
        let one = match outbox::get(&mut tx, m.shop_id, m.id).await? {
            Some(current) => dispatch(app, &mut tx, &current).await,
            None => Ok(()),
        };
        match one {
            Ok(()) => tx.commit().await?,
            Err(e) => {
                drop(tx);
                tracing::warn!(message = %m.id, error = %e, "outbox message handed to its own dispatch job");
                let mut tx = app.db.begin().await?;
                outbox::hand_off(&mut tx, m.shop_id, m.id, app.now()).await?;
                enqueue(
                    app,
                    &mut tx,
                    Some(m.shop_id),
                    &Dispatch { message_id: m.id },
                    app.now(),
                    Some(m.id.to_string()),
                )
                .await?;
                tx.commit().await?;
            }
        }
    }
    Ok(messages.len())
}

/// Runs the relay until `stop` turns true: a full batch is followed at once by
/// the next, otherwise it looks again after `poll`.
pub async fn run_relay(app: App, poll: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            break;
        }
        let full = match relay(&app, BATCH).await {
            Ok(n) => n >= BATCH as usize,
            Err(e) => {
                tracing::warn!(error = %e, "cannot dispatch the outbox");
                false
            }
        };
        if !full {
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
    }
}

/// An approved return that must travel expires at the end of its ship-by days
/// (the shortest of its items'), counted from its approval.
async fn schedule_expiry(
    app: &App,
    tx: &mut Tx,
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
        app,
        tx,
        Some(ret.shop_id),
        &ExpireReturn { return_id: ret.id },
        at,
        Some(ret.id.to_string()),
    )
    .await?;
    Ok(())
}
