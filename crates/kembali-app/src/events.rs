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
/// A CSV import wrote orders: one message for the whole import, with its counts.
pub const ORDERS_IMPORTED: &str = "orders.imported";

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

/// An import created or updated orders. One message for the import, not one per
/// order: a million `order.created` messages (and dispatch jobs) would cost more
/// than the import itself, and a consumer that needs the orders reads them.
/// The subject is the shop, as an import has no id of its own.
pub async fn orders_imported(
    app: &App,
    tx: &mut Tx,
    shop: kembali_core::ShopId,
    report: &crate::import::Report,
) -> Result<MessageId, StoreError> {
    let data = json!({
        "source": crate::import::SOURCE,
        "rows": report.rows,
        "orders": report.orders,
        "created": report.created,
        "updated": report.updated,
        "skipped": report.skipped,
        "lines": report.lines,
        "shipments": report.shipments,
        "bad_rows": report.bad_rows_total,
    });
    record(
        app,
        tx,
        shop,
        ORDERS_IMPORTED,
        &shop.to_string(),
        data,
        (app.now(), 0),
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
