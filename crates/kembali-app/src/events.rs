//! The one place that decides what the outside hears about: every change a use
//! case makes is turned here into outbox messages, written in the change's own
//! transaction; the outbox relay (`jobs::dispatch`) fans them out later.

use jiff::Timestamp;
use kembali_core::MessageId;
use kembali_core::order::{Order, Shipment};
use kembali_core::returns::{Event, Return, ReturnStatus};
use kembali_store::outbox::{self, Message};
use kembali_store::{StoreError, Tx};
use serde_json::json;

use crate::App;

/// The version of the envelope `payload` carries; bumped on a breaking change.
pub const ENVELOPE_VERSION: u32 = 1;

pub const ORDER_CREATED: &str = "order.created";
pub const ORDER_UPDATED: &str = "order.updated";
pub const ORDER_CANCELLED: &str = "order.cancelled";
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

/// A return moved: one message per timeline event.
pub async fn return_changed(
    app: &App,
    tx: &mut Tx,
    ret: &Return,
    event: &Event,
) -> Result<MessageId, StoreError> {
    let m = return_message(app, ret, event, ret.version);
    let id = m.id;
    outbox::append(tx, &m).await?;
    Ok(id)
}

/// The messages of a return just opened, one per first event (requested, then
/// approved where the policy says so), each placed by its event's place on the
/// timeline; stored with the return itself (`kembali_store::returns::insert`).
pub fn return_opened(app: &App, ret: &Return, timeline: &[Event]) -> Vec<Message> {
    timeline
        .iter()
        .zip(1..)
        .map(|(e, place)| return_message(app, ret, e, place))
        .collect()
}

/// The message of `event`, entry `place` of the return's timeline.
fn return_message(app: &App, ret: &Return, event: &Event, place: i64) -> Message {
    let data = json!({
        "return": ret,
        "event": event,
    });
    // The events of an auto-approval share their instant: the timeline place
    // keeps their messages in order.
    let position = u16::try_from(place).unwrap_or(u16::MAX);
    message(
        app,
        ret.shop_id,
        return_kind(event.kind),
        &ret.id.to_string(),
        data,
        (event.at, Some(position)),
    )
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
        (app.now(), None),
    )
    .await
}

pub const SHIPMENT_CREATED: &str = "shipment.created";
pub const SHIPMENT_UPDATED: &str = "shipment.updated";

/// A parcel of an order was recorded, or its carrier, tracking or status
/// changed (`shipment.created`, `shipment.updated`).
pub async fn shipment_changed(
    app: &App,
    tx: &mut Tx,
    created: bool,
    order: &Order,
    shipment: &Shipment,
) -> Result<MessageId, StoreError> {
    let kind = if created {
        SHIPMENT_CREATED
    } else {
        SHIPMENT_UPDATED
    };
    let data = json!({ "shipment": shipment, "order_number": order.number });
    record(
        app,
        tx,
        order.shop_id,
        kind,
        &shipment.id.to_string(),
        data,
        (app.now(), None),
    )
    .await
}

/// A refund was granted or moved (`refund.requested`, `refund.succeeded`,
/// `refund.failed`).
pub async fn refund_changed(
    app: &App,
    tx: &mut Tx,
    kind: &str,
    refund: &kembali_store::refunds::Refund,
) -> Result<MessageId, StoreError> {
    let data = json!({ "refund": {
        "id": refund.id,
        "return_id": refund.return_id,
        "amount": { "amount": refund.amount, "currency": refund.currency },
        "tax": { "amount": refund.tax, "currency": refund.currency },
        "destination": refund.destination,
        // Masked: a webhook never carries the account number.
        "payout": refund.payout.as_ref().map(|p| p.masked()),
        "status": refund.status,
        "reference": refund.reference,
        "failure": refund.failure,
        "due_by": refund.due_by,
    }});
    record(
        app,
        tx,
        refund.shop_id,
        kind,
        &refund.id.to_string(),
        data,
        (app.now(), None),
    )
    .await
}

/// An exchange order was made for a returned item (`exchange.created`).
pub async fn exchange_created(
    app: &App,
    tx: &mut Tx,
    ret: &Return,
    exchange: &kembali_store::catalogue::Exchange,
) -> Result<MessageId, StoreError> {
    let data = json!({ "exchange": {
        "return_id": ret.id,
        "return_number": ret.number,
        "item_id": exchange.item_id,
        "variant_id": exchange.variant_id,
        "quantity": exchange.quantity,
        "order_id": exchange.order_id,
        "price_difference": { "amount": exchange.price_difference, "currency": exchange.currency },
    }});
    record(
        app,
        tx,
        ret.shop_id,
        "exchange.created",
        &ret.id.to_string(),
        data,
        (app.now(), None),
    )
    .await
}

/// Store credit moved (`store_credit.issued`, `store_credit.redeemed`).
pub async fn credit_changed(
    app: &App,
    tx: &mut Tx,
    kind: &str,
    account: &kembali_store::credit::Account,
    entry: &kembali_store::credit::Entry,
) -> Result<MessageId, StoreError> {
    let data = json!({
        "account": {
            "id": account.id,
            "customer_id": account.customer_id,
            "code": account.code,
            "balance": { "amount": account.balance, "currency": account.currency },
        },
        "entry": {
            "id": entry.id,
            "kind": entry.kind,
            "amount": { "amount": entry.amount, "currency": account.currency },
            "reference": entry.reference,
        },
    });
    record(
        app,
        tx,
        account.shop_id,
        kind,
        &account.id.to_string(),
        data,
        (app.now(), None),
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
    // After the order's creation or update of the same instant: this process's
    // sequence orders them.
    record(
        app,
        tx,
        order.shop_id,
        ORDER_CANCELLED,
        &subject,
        data,
        (at, None),
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
        (app.now(), None),
    )
    .await
}

/// Appends the message inside `tx`; the relay finds it there. Messages about one
/// subject sort by `(at, position)`: the position (a return's timeline place,
/// or else this process's sequence) fills the top bits of the id's random part,
/// so ids made in the same millisecond still sort in order.
async fn record(
    app: &App,
    tx: &mut Tx,
    shop: kembali_core::ShopId,
    kind: &str,
    subject: &str,
    data: serde_json::Value,
    when: (Timestamp, Option<u16>),
) -> Result<MessageId, StoreError> {
    let m = message(app, shop, kind, subject, data, when);
    outbox::append(tx, &m).await?;
    Ok(m.id)
}

/// A message as [`record`] appends it.
fn message(
    app: &App,
    shop: kembali_core::ShopId,
    kind: &str,
    subject: &str,
    data: serde_json::Value,
    (at, position): (Timestamp, Option<u16>),
) -> Message {
    let entropy = match position {
        Some(p) => (u128::from(p) << 64) | (app.entropy() & u128::from(u64::MAX)),
        None => app.ordered_entropy(),
    };
    let id = MessageId::new(at, entropy);
    let payload = json!({
        "id": id,
        "type": kind,
        "version": ENVELOPE_VERSION,
        "timestamp": at,
        "data": data,
    });
    Message {
        id,
        shop_id: shop,
        kind: kind.to_owned(),
        subject: subject.to_owned(),
        payload,
        occurred_at: at,
        dispatched_at: None,
    }
}
