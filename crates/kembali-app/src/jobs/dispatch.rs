//! Fans outbox messages out to what consumes them: every message goes to the
//! shop's subscribed webhook endpoints, and an approved return gets its expiry
//! scheduled. Next: e-mail, tracking follow-ups.
//!
//! The relay ([`run_relay`], beside the worker) reads the outbox itself and
//! dispatches pending messages in batches, one transaction per batch (on
//! SQLite, one job on the writer's thread): a change writes only its message,
//! not a job per message. A message the relay cannot dispatch is handed to a
//! [`Dispatch`] job of its own, which retries it with back-off and ends `dead`
//! where an operator sees it.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use jiff::SignedDuration;
use kembali_core::returns::{Return, ReturnStatus};
use kembali_core::{MessageId, ShopId};
use kembali_store::jobs::{self as store_jobs, NewJob};
use kembali_store::outbox::{self, Message};
use kembali_store::webhooks::{self as store_webhooks, Delivery, Endpoint};
use kembali_store::{JobConn, Tx};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::expire_return::ExpireReturn;
use super::{Job, JobContext, JobError, enqueue, new_job};
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

/// What dispatching a batch writes, decided from its messages and their shops'
/// endpoints alone, so that both ways of writing it ([`Plan::write`] in a
/// transaction, [`Plan::write_on`] in a job on SQLite's writer) write the same.
struct Plan {
    /// The expiry of each approved return.
    expiries: Vec<NewJob>,
    /// A delivery per subscribed endpoint, each with the job that sends it.
    deliveries: Vec<(Delivery, NewJob)>,
    /// Each shop's messages, marked in one query.
    marked: HashMap<ShopId, Vec<MessageId>>,
}

impl Plan {
    /// The plan for `messages`, skipping those already dispatched, given each
    /// of their shops' enabled endpoints (`endpoints`, from [`Plan::shops`]).
    fn of(
        app: &App,
        messages: &[Message],
        endpoints: &HashMap<ShopId, Vec<Endpoint>>,
    ) -> Result<Plan, JobError> {
        let mut plan = Plan {
            expiries: Vec::new(),
            deliveries: Vec::new(),
            marked: HashMap::new(),
        };
        for m in pending(messages) {
            if let Some(job) = expiry(app, m)? {
                plan.expiries.push(job);
            }
            if let Some(endpoints) = endpoints.get(&m.shop_id) {
                plan.deliveries
                    .extend(webhooks::deliveries_of(app, m, endpoints)?);
            }
            plan.marked.entry(m.shop_id).or_default().push(m.id);
        }
        Ok(plan)
    }

    /// The shops whose endpoints the plan for `messages` needs.
    fn shops(messages: &[Message]) -> HashSet<ShopId> {
        pending(messages).map(|m| m.shop_id).collect()
    }

    async fn write(&self, app: &App, tx: &mut Tx) -> Result<(), JobError> {
        let now = app.now();
        for job in &self.expiries {
            store_jobs::enqueue(tx, job, now).await?;
        }
        for (delivery, job) in &self.deliveries {
            if store_webhooks::insert_delivery(tx, delivery).await? {
                store_jobs::enqueue(tx, job, now).await?;
            }
        }
        for (shop, ids) in &self.marked {
            outbox::mark_all_dispatched(tx, *shop, ids, now).await?;
        }
        Ok(())
    }

    fn write_on(&self, app: &App, c: &JobConn) -> Result<(), JobError> {
        let now = app.now();
        for job in &self.expiries {
            store_jobs::enqueue_on(c, job, now)?;
        }
        for (delivery, job) in &self.deliveries {
            if store_webhooks::insert_delivery_on(c, delivery)? {
                store_jobs::enqueue_on(c, job, now)?;
            }
        }
        for (shop, ids) in &self.marked {
            outbox::mark_all_dispatched_on(c, *shop, ids, now)?;
        }
        Ok(())
    }
}

/// The messages of `messages` not dispatched yet.
fn pending(messages: &[Message]) -> impl Iterator<Item = &Message> {
    messages.iter().filter(|m| m.dispatched_at.is_none())
}

/// Dispatches `messages` inside `tx` and marks them dispatched, skipping those
/// already dispatched: an approved return's expiry is scheduled, and each
/// message fanned out to its shop's endpoints. Each shop's endpoints are read
/// once and its messages marked in one query: SQLite's one writer is held for
/// the whole batch, and every statement on it waits on a hand-off.
async fn dispatch_batch(app: &App, tx: &mut Tx, messages: &[Message]) -> Result<(), JobError> {
    let mut endpoints = HashMap::new();
    for shop in Plan::shops(messages) {
        endpoints.insert(shop, store_webhooks::enabled_endpoints(tx, shop).await?);
    }
    Plan::of(app, messages, &endpoints)?.write(app, tx).await
}

/// A batch of up to `limit` pending messages dispatched in one job on SQLite's
/// writer ([`kembali_store::Db::run_job`]): no hand-off per statement, and no
/// write from another connection that would empty the writer's page cache.
/// Answers how many it took; `None` where jobs do not run. A batch that fails
/// is undone: [`relay`] then dispatches it in a transaction, one by one if
/// need be.
pub async fn relay_on_writer(app: &App, limit: u32) -> Option<Result<usize, JobError>> {
    let job_app = app.clone();
    app.db
        .run_job(move |c| {
            let messages = outbox::take_pending_on(c, limit)?;
            let mut endpoints = HashMap::new();
            for shop in Plan::shops(&messages) {
                endpoints.insert(shop, store_webhooks::enabled_endpoints_on(c, shop)?);
            }
            Plan::of(&job_app, &messages, &endpoints)?.write_on(&job_app, c)?;
            Ok(messages.len())
        })
        .await
}

/// Dispatches up to `limit` pending messages, oldest first, in one
/// transaction (on SQLite, a job on the writer: [`relay_on_writer`]), and answers
/// how many it took. If one of them fails, the batch is rolled back and its
/// messages go one by one: those that fail alone are handed to a [`Dispatch`]
/// job each.
pub async fn relay(app: &App, limit: u32) -> Result<usize, JobError> {
    // A read first: an idle relay must not take SQLite's one writer twice a second.
    let mut conn = app.db.conn().await?;
    if !outbox::any_pending(&mut conn).await? {
        return Ok(0);
    }
    drop(conn);
    match relay_on_writer(app, limit).await {
        Some(Ok(n)) => return Ok(n),
        Some(Err(e)) => {
            tracing::info!(error = %e, "outbox batch failed on the writer; dispatching in a transaction");
        }
        None => {}
    }
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

/// The expiry job of the return an approval message (`m`) is about, if it
/// must travel: it expires at the end of its ship-by days (the shortest of its
/// items'), counted from its approval. The return is read from the message,
/// which carries it as it was approved (`data.return`).
fn expiry(app: &App, m: &Message) -> Result<Option<NewJob>, JobError> {
    if m.kind != events::return_kind(ReturnStatus::Approved) {
        return Ok(None);
    }
    let ret = Return::deserialize(&m.payload["data"]["return"])
        .map_err(|e| JobError::GiveUp(format!("message {} holds no return: {e}", m.id)))?;
    if ret.is_keep_item() {
        return Ok(None);
    }
    let days = ret
        .items
        .iter()
        .map(|i| i.decision.ship_by_days)
        .min()
        .unwrap_or(14);
    let approved_at = m.occurred_at;
    let at = approved_at
        .checked_add(SignedDuration::from_hours(i64::from(days) * 24))
        .unwrap_or(approved_at);
    Ok(Some(new_job(
        app,
        Some(ret.shop_id),
        &ExpireReturn { return_id: ret.id },
        at,
        Some(ret.id.to_string()),
    )?))
}
