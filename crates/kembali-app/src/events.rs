//! The one place that decides what the outside hears about: every change a use
//! case makes is turned here into outbox messages, written in the change's own
//! transaction, each with a dispatch job that fans it out later.

use jiff::Timestamp;
use kembali_core::MessageId;
use kembali_core::order::{Order, Shipment};
use kembali_core::returns::{Event, Return, ReturnStatus};
use kembali_store::outbox::{self, Message};
use kembali_store::{StoreError, Tx};
use serde_json::json;

use crate::App;
use crate::jobs::{self, dispatch::Dispatch};

/// The version of the envelope `payload` carries; bumped on a breaking change.
pub const ENVELOPE_VERSION: u32 = 1;

pub const ORDER_CREATED: &str = "order.created";
pub const ORDER_UPDATED: &str = "order.updated";
pub const ORDER_CANCELLED: &str = "order.cancelled";

/// The event name of a return entering `status`.
pub fn return_kind(status: ReturnStatus) -> &'static str {
    match status {
        ReturnStatus::Requested => "return.requested",
        ReturnStatus::Approved => "return.approved",
        ReturnStatus::Rejected => "return.rejected",
        ReturnStatus::InTransit => "return.in_transit",
        ReturnStatus::Received => "return.received",
        ReturnStatus::Inspected => "return.inspected",
        ReturnStatus::Resolved => "return.resolved",
        ReturnStatus::Cancelled => "return.cancelled",
        ReturnStatus::Expired => "return.expired",
    }
}

/// A return moved (or was opened): one message per timeline event.
pub async fn return_changed(
    app: &App,
    tx: &mut Tx,
    ret: &Return,
    event: &Event,
) -> Result<MessageId, StoreError> {
    let data = json!({
        "return": ret,
        "event": event,
    });
    // Both events of an auto-approval share their instant: the timeline
    // position keeps the messages in order.
    let position = u16::try_from(ret.version).unwrap_or(u16::MAX);
    record(
        app,
        tx,
        ret.shop_id,
        return_kind(event.kind),
        &ret.id.to_string(),
        data,
        (event.at, position),
    )
    .await
}

/// An order was taken in for the first time, or changed.
pub async fn order_changed(
    app: &App,
    tx: &mut Tx,
    created: bool,
    order: &Order,
    shipments: &[Shipment],
) -> Result<MessageId, StoreError> {
    let kind = if created {
        ORDER_CREATED
    } else {
        ORDER_UPDATED
    };
    let data = json!({ "order": order, "shipments": shipments });
    record(
        app,
        tx,
        order.shop_id,
        kind,
        &order.id.to_string(),
        data,
        (app.now(), 0),
    )
    .await
}

/// An order was cancelled at `at`, with the merchant's reason if given.
pub async fn order_cancelled(
    app: &App,
    tx: &mut Tx,
    order: &Order,
    at: Timestamp,
    reason: Option<&str>,
) -> Result<MessageId, StoreError> {
    let data = json!({ "order": order, "cancelled_at": at, "reason": reason });
    let subject = order.id.to_string();
    // Position 1: after the order's creation or update of the same instant.
    record(
        app,
        tx,
        order.shop_id,
        ORDER_CANCELLED,
        &subject,
        data,
        (at, 1),
    )
    .await
}

/// Appends the message and its dispatch job inside `tx`. Messages about one
/// subject sort by `(at, position)`: the position fills the top bits of the
/// id's random part, so ids made in the same millisecond still sort in order.
async fn record(
    app: &App,
    tx: &mut Tx,
    shop: kembali_core::ShopId,
    kind: &str,
    subject: &str,
    data: serde_json::Value,
    (at, position): (Timestamp, u16),
) -> Result<MessageId, StoreError> {
    let random = app.entropy() & ((1u128 << 64) - 1);
    let id = MessageId::new(at, (u128::from(position) << 64) | random);
    let payload = json!({
        "id": id,
        "type": kind,
        "version": ENVELOPE_VERSION,
        "timestamp": at,
        "data": data,
    });
    outbox::append(
        tx,
        &Message {
            id,
            shop_id: shop,
            kind: kind.to_owned(),
            subject: subject.to_owned(),
            payload,
            occurred_at: at,
            dispatched_at: None,
        },
    )
    .await?;
    jobs::enqueue(
        app,
        tx,
        Some(shop),
        &Dispatch { message_id: id },
        app.now(),
        None,
    )
    .await?;
    Ok(id)
}
