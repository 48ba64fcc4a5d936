//! A demo return's life after it is opened: which steps its story takes and
//! when, and each step as the command a person, the warehouse or the system
//! gives, run through `kembali_app::returns::transition` at its moment.

use jiff::Timestamp;
use kembali_app::returns::ReturnView;
use kembali_core::returns::{
    Actor, Command, Condition, Disposition, ItemInspection, ItemReceipt, ItemResolution,
    ReceiptOutcome, Resolution, Return, ReturnReason, ReturnStatus,
};
use kembali_store::{StoreError, Tx};

use super::err;
use super::markets::{Market, tracking};
use super::phrases::{change_of_heart, rejection};
use super::rng::Rng;
use super::stories::{Scene, Story};

#[derive(Clone, Copy)]
pub(super) enum Step {
    Approve,
    Reject,
    Cancel,
    Ship,
    Receive,
    Inspect,
    Resolve,
    Expire,
}

/// The steps after opening, each with its minutes after opening, and the
/// minutes the last one came after opening.
pub(super) fn plan(
    rng: &mut Rng,
    story: Story,
    auto: bool,
    ship_by: i64,
    m: &Market,
) -> (Vec<(Step, i64)>, i64) {
    use ReturnStatus as S;
    let mut t = 0i64;
    let mut steps: Vec<(Step, i64)> = Vec::new();
    let mut push = |step: Step, lo: i64, hi: i64| {
        t += rng.range(lo, hi);
        steps.push((step, t));
    };
    // An agent approves unless the policy did, the story stops before approval,
    // or the shopper cancels the request while it waits.
    let approval = !auto
        && match story.target {
            S::Requested | S::Rejected => false,
            S::Cancelled => story.odd,
            _ => true,
        };
    if approval {
        push(Step::Approve, 2 * 60, 30 * 60);
    }
    let back = (m.transit_hours.0 * 60, m.transit_hours.1 * 60);
    let ship_by = ship_by * 24 * 60;
    match story.target {
        S::Requested | S::Approved => {}
        S::Rejected => push(Step::Reject, 3 * 60, 30 * 60),
        S::Cancelled => push(Step::Cancel, 2 * 60, 48 * 60),
        S::Expired => push(Step::Expire, ship_by + 5, ship_by + 180),
        S::Resolved if story.keep => push(Step::Resolve, 60, 20 * 60),
        target => {
            push(Step::Ship, 12 * 60, 72 * 60);
            if matches!(target, S::Received | S::Inspected | S::Resolved) {
                push(Step::Receive, back.0, back.1);
            }
            if matches!(target, S::Inspected | S::Resolved) {
                push(Step::Inspect, 3 * 60, 30 * 60);
            }
            if target == S::Resolved {
                push(Step::Resolve, 60, 24 * 60);
            }
        }
    }
    (steps, t)
}

/// Who acts on the market's returns, and the carrier the parcel goes back with.
struct Cast {
    agent: Actor,
    warehouse: Actor,
    carrier: &'static str,
}

/// Runs the planned steps, each at its moment on the application's clock;
/// the status the return ends in.
pub(super) async fn run(
    scene: &Scene<'_>,
    tx: &mut Tx,
    rng: &mut Rng,
    story: Story,
    m: &Market,
    ret: &Return,
    steps: Vec<(Step, Timestamp)>,
) -> Result<ReturnStatus, StoreError> {
    let carrier = *rng.pick(m.carriers);
    let cast = Cast {
        agent: Actor::User { id: m.agent.into() },
        warehouse: Actor::User {
            id: m.warehouse.into(),
        },
        carrier,
    };
    let mut status = ret.status;
    for (step, at) in steps {
        let (cmd, actor) = command(rng, step, story, m, &cast, ret);
        scene.clock.set(at);
        let after: ReturnView = kembali_app::returns::transition(
            scene.app,
            tx,
            scene.shop.id,
            ret.id,
            None,
            &cmd,
            &actor,
        )
        .await
        .map_err(|e| err(format!("{} {}: {e}", ret.number, cmd.name())))?;
        status = after.ret.status;
    }
    Ok(status)
}

/// The step as the command someone gives.
fn command(
    rng: &mut Rng,
    step: Step,
    story: Story,
    m: &Market,
    cast: &Cast,
    ret: &Return,
) -> (Command, Actor) {
    let agent = cast.agent.clone();
    match step {
        Step::Approve => {
            let note = story
                .reason
                .is_merchant_fault()
                .then(|| "Photos checked: our fault, no fees.".into());
            (Command::Approve { note }, agent)
        }
        Step::Reject => {
            let reason = rejection(m.locale, story.reason, story.risky);
            (Command::Reject { reason }, agent)
        }
        Step::Cancel if story.odd => {
            let reason = "Opened twice by mistake; the customer's other request covers it.";
            let reason = Some(reason.into());
            (Command::Cancel { reason }, agent)
        }
        Step::Cancel => {
            let reason = Some(change_of_heart(m.locale));
            (Command::Cancel { reason }, Actor::Shopper)
        }
        Step::Ship => {
            let cmd = Command::MarkInTransit {
                carrier: Some(cast.carrier.into()),
                tracking_number: Some(tracking(rng, cast.carrier)),
            };
            (cmd, Actor::System)
        }
        Step::Receive => (receive(story, ret), cast.warehouse.clone()),
        Step::Inspect => (inspect(rng, story, ret), cast.warehouse.clone()),
        Step::Resolve => (resolve(story, ret), agent),
        Step::Expire => (Command::Expire, Actor::System),
    }
}

/// Everything arrives; in the odd story the first item is not what was sent.
fn receive(story: Story, ret: &Return) -> Command {
    let wrong = story.odd && story.target == ReturnStatus::Received;
    let items = ret.items.iter().enumerate().map(|(n, i)| ItemReceipt {
        item_id: i.id,
        outcome: if wrong && n == 0 {
            ReceiptOutcome::WrongItem
        } else {
            ReceiptOutcome::Received
        },
        quantity: i.quantity,
    });
    Command::Receive {
        items: items.collect(),
        note: wrong.then(|| "The parcel held a different product; asked the customer.".into()),
    }
}

/// Damaged and defective items as they were said to be; worn ones in the odd story.
fn inspect(rng: &mut Rng, story: Story, ret: &Return) -> Command {
    let mut graded = |reason: ReturnReason| match (story.odd, reason) {
        (_, ReturnReason::Damaged) => (Condition::Damaged, Disposition::Dispose),
        (_, ReturnReason::Defective) => (Condition::Damaged, Disposition::ReturnToVendor),
        (true, _) => (Condition::Used, Disposition::Refurbish),
        (false, _) if rng.chance(40) => (Condition::New, Disposition::Restock),
        (false, _) => (Condition::LikeNew, Disposition::Restock),
    };
    let items = ret.items.iter().map(|i| {
        let (condition, disposition) = graded(i.reason);
        ItemInspection {
            item_id: i.id,
            accepted_quantity: i.quantity,
            condition,
            disposition,
            note: (condition == Condition::Used).then(|| "Worn, tags removed.".into()),
        }
    });
    Command::Inspect {
        items: items.collect(),
        note: None,
    }
}

/// As asked, except kept items (nothing to send) and worn ones (store credit).
fn resolve(story: Story, ret: &Return) -> Command {
    if story.keep {
        return Command::Resolve {
            items: Vec::new(),
            note: Some("Kept by the customer: shipping it back costs more.".into()),
        };
    }
    if !story.odd {
        return Command::Resolve {
            items: Vec::new(),
            note: None,
        };
    }
    let items = ret.items.iter().map(|i| ItemResolution {
        item_id: i.id,
        resolution: Resolution::StoreCredit,
    });
    Command::Resolve {
        items: items.collect(),
        note: Some("Signs of wear: store credit agreed with the customer.".into()),
    }
}
