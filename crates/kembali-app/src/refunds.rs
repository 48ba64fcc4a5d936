//! A refund's life after it is granted: the shop's payment system (or an agent)
//! marks it sent, succeeded or failed; each step is checked and told to the
//! outside (`refund.succeeded`, `refund.failed`).

use kembali_core::{RefundId, ShopId};
use kembali_store::Tx;
use kembali_store::refunds::{self, Refund};

use crate::error::{Entity, Rule};
use crate::{App, AppError, events};

/// Where a refund can go next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The money left (a payout reference, when there is one).
    Sent { reference: Option<String> },
    /// The money arrived (or the agent paid it out by hand).
    Succeeded { reference: Option<String> },
    /// It did not arrive; it can be sent again.
    Failed { reason: String },
}

/// The statuses each step may start from.
fn allowed_from(step: &Step) -> &'static [&'static str] {
    match step {
        Step::Sent { .. } => &["pending", "failed"],
        Step::Succeeded { .. } => &["pending", "sent"],
        Step::Failed { .. } => &["pending", "sent"],
    }
}

pub async fn step(
    app: &App,
    tx: &mut Tx,
    shop: ShopId,
    id: RefundId,
    step: Step,
) -> Result<Refund, AppError> {
    let before = refunds::get(tx, shop, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Refund))?;
    let from = before.status.clone();
    if !allowed_from(&step).contains(&from.as_str()) {
        return Err(AppError::RefundState {
            status: from,
            allowed: allowed_from(&step).join(", "),
        });
    }
    for text in [match &step {
        Step::Sent { reference } | Step::Succeeded { reference } => reference.as_deref(),
        Step::Failed { reason } => Some(reason.as_str()),
    }]
    .into_iter()
    .flatten()
    {
        if text.trim().is_empty()
            || text.chars().count() > 500
            || text.chars().any(char::is_control)
        {
            return Err(AppError::invalid(
                "reference",
                Rule::NotValid {
                    why: "1 to 500 characters, no control characters",
                },
            ));
        }
    }
    let mut after = before.clone();
    after.updated_at = app.now();
    let event = match step {
        Step::Sent { reference } => {
            after.status = "sent".into();
            after.reference = reference.or(before.reference);
            after.failure = None;
            None
        }
        Step::Succeeded { reference } => {
            after.status = "succeeded".into();
            after.reference = reference.or(before.reference);
            Some("refund.succeeded")
        }
        Step::Failed { reason } => {
            after.status = "failed".into();
            after.failure = Some(reason);
            Some("refund.failed")
        }
    };
    if !refunds::set_status(tx, &after, &from).await? {
        return Err(AppError::RefundState {
            status: from,
            allowed: "a refund nobody else is changing".into(),
        });
    }
    if let Some(kind) = event {
        events::refund_changed(app, tx, kind, &after).await?;
    }
    Ok(after)
}

/// One refund of the shop.
pub async fn get(app: &App, shop: ShopId, id: RefundId) -> Result<Refund, AppError> {
    let mut conn = app.db.conn().await?;
    refunds::get(&mut conn, shop, id)
        .await?
        .ok_or(AppError::NotFound(Entity::Refund))
}

/// The shop's refunds after `after` in id order, optionally of one status
/// (`pending`, `sent`, `succeeded`, `failed`), at most `limit`.
pub async fn list(
    app: &App,
    shop: ShopId,
    status: Option<&str>,
    after: Option<RefundId>,
    limit: u32,
) -> Result<Vec<Refund>, AppError> {
    let mut conn = app.db.conn().await?;
    Ok(refunds::list(&mut conn, shop, status, after, limit).await?)
}
