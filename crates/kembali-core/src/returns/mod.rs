//! Returns and their items, the lifecycle of DESIGN §3 as one state machine, and
//! the timeline events every transition appends.

mod open;
mod quantity;
mod quote;

pub use open::{NewItem, NewReturn, OpenError, open};
pub use quantity::{QuantityError, ReturnableQuantity};
pub use quote::{Quote, quote};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::id::{ApiKeyId, LineId, OrderId, ReturnId, ReturnItemId, ShopId};
use crate::policy::Decision;

/// Where a return stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ReturnStatus {
    Requested,
    Approved,
    Rejected,
    InTransit,
    Received,
    Inspected,
    Resolved,
    Cancelled,
    Expired,
}

impl ReturnStatus {
    pub const ALL: [ReturnStatus; 9] = [
        ReturnStatus::Requested,
        ReturnStatus::Approved,
        ReturnStatus::Rejected,
        ReturnStatus::InTransit,
        ReturnStatus::Received,
        ReturnStatus::Inspected,
        ReturnStatus::Resolved,
        ReturnStatus::Cancelled,
        ReturnStatus::Expired,
    ];

    /// The name stored and sent: its serde name, derived by strum.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The inverse of [`as_str`](Self::as_str); `None` for any other text.
    pub fn parse(s: &str) -> Option<ReturnStatus> {
        s.parse().ok()
    }

    /// No transition leaves these.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ReturnStatus::Rejected
                | ReturnStatus::Resolved
                | ReturnStatus::Cancelled
                | ReturnStatus::Expired
        )
    }

    /// Whether the return's items still count against the quantity delivered: a
    /// rejected, cancelled or expired return gives its quantities back.
    pub fn holds_quantity(self) -> bool {
        !matches!(
            self,
            ReturnStatus::Rejected | ReturnStatus::Cancelled | ReturnStatus::Expired
        )
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Resolution {
    Refund,
    StoreCredit,
    Exchange,
    Replacement,
    KeepItem,
    /// Warranty: the shop repairs the item and sends it back.
    Repair,
    /// Warranty: the shopper keeps the item for a lower price (part refunded).
    PriceReduction,
}

impl Resolution {
    pub const ALL: [Resolution; 7] = [
        Resolution::Refund,
        Resolution::StoreCredit,
        Resolution::Exchange,
        Resolution::Replacement,
        Resolution::KeepItem,
        Resolution::Repair,
        Resolution::PriceReduction,
    ];

    /// The name stored and sent: its serde name, derived by strum.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The inverse of [`as_str`](Self::as_str); `None` for any other text.
    pub fn parse(s: &str) -> Option<Resolution> {
        s.parse().ok()
    }
}

/// Why the shopper sends an item back.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ReturnReason {
    ChangedMind,
    WrongSize,
    NotAsDescribed,
    Damaged,
    Defective,
    WrongItem,
    ArrivedLate,
    Other,
}

impl ReturnReason {
    pub const ALL: [ReturnReason; 8] = [
        ReturnReason::ChangedMind,
        ReturnReason::WrongSize,
        ReturnReason::NotAsDescribed,
        ReturnReason::Damaged,
        ReturnReason::Defective,
        ReturnReason::WrongItem,
        ReturnReason::ArrivedLate,
        ReturnReason::Other,
    ];

    /// The name stored and sent: its serde name, derived by strum.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The inverse of [`as_str`](Self::as_str); `None` for any other text.
    pub fn parse(s: &str) -> Option<ReturnReason> {
        s.parse().ok()
    }

    /// The shop's fault: policies usually waive fees for these.
    pub fn is_merchant_fault(self) -> bool {
        matches!(
            self,
            ReturnReason::Damaged | ReturnReason::Defective | ReturnReason::WrongItem
        )
    }
}

/// How the parcel travels back.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ReturnMethod {
    /// A parcel locker, courier agent or shop with a label or QR code.
    DropOff,
    CourierPickup,
    InStore,
    /// The shopper ships it at their own cost and gives the tracking number.
    OwnShipping,
    /// Nothing travels: keep-the-item resolutions.
    NoShipping,
}

impl ReturnMethod {
    pub const ALL: [ReturnMethod; 5] = [
        ReturnMethod::DropOff,
        ReturnMethod::CourierPickup,
        ReturnMethod::InStore,
        ReturnMethod::OwnShipping,
        ReturnMethod::NoShipping,
    ];

    /// The name stored and sent: its serde name, derived by strum.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The inverse of [`as_str`](Self::as_str); `None` for any other text.
    pub fn parse(s: &str) -> Option<ReturnMethod> {
        s.parse().ok()
    }
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    Shopper,
    User { id: String },
    ApiKey { id: ApiKeyId },
    System,
}

/// What was found in the parcel for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptOutcome {
    Received,
    Missing,
    WrongItem,
    /// Fewer units than announced; the quantity says how many came.
    Short,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ItemReceipt {
    pub item_id: ReturnItemId,
    pub outcome: ReceiptOutcome,
    /// Units that physically arrived.
    pub quantity: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    New,
    LikeNew,
    Used,
    Damaged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Restock,
    Refurbish,
    Dispose,
    ReturnToVendor,
}

/// The inspection decision, kept apart from what the receipt says arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ItemInspection {
    pub item_id: ReturnItemId,
    pub accepted_quantity: u32,
    pub condition: Condition,
    pub disposition: Disposition,
    #[serde(default)]
    pub note: Option<String>,
}

/// The resolution finally applied to an item (may differ from the one asked for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ItemResolution {
    pub item_id: ReturnItemId,
    pub resolution: Resolution,
}

/// One line of the order coming back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReturnItem {
    pub id: ReturnItemId,
    pub line_id: LineId,
    pub quantity: u32,
    pub reason: ReturnReason,
    pub comment: Option<String>,
    /// The shopper's photos by id (`pho_…`); each is served at
    /// `GET /photos/{photo_id}`. (Returns opened before photos were stored may
    /// hold the free-text references of that time.)
    pub photos: Vec<String>,
    /// What the shopper asked for.
    pub resolution: Resolution,
    /// The policy decision this item was accepted under.
    pub decision: Decision,
    pub receipt: Option<ItemReceipt>,
    pub inspection: Option<ItemInspection>,
    pub final_resolution: Option<Resolution>,
}

impl ReturnItem {
    /// Nothing of this item travels back: keep-the-item, or a claim whose decision
    /// offered no way to ship (a missing item, a parcel that never arrived).
    pub fn stays(&self) -> bool {
        self.resolution == Resolution::KeepItem
            || (self.decision.methods == [ReturnMethod::NoShipping] && !self.decision.keep_item)
    }
}

/// A return: one or more items of one order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Return {
    pub id: ReturnId,
    pub shop_id: ShopId,
    pub order_id: OrderId,
    /// Readable number, e.g. `R-1042`.
    pub number: String,
    pub status: ReturnStatus,
    /// Grows by one with every change; a change names the version it was based on.
    pub version: i64,
    pub policy_version: i64,
    pub method: ReturnMethod,
    /// Why the return was sent to review instead of being approved automatically.
    pub risk: Vec<String>,
    /// Under EU withdrawal: the date by which the refund must be paid.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub refund_due_by: Option<Timestamp>,
    /// The money, as quoted to the shopper when the return was opened.
    pub quote: Quote,
    /// Where a refund goes, when the shopper named it (required for cash on
    /// delivery). Always serialised masked (`••••1234`): answers and webhooks
    /// never carry the account number; the payout reads it from the store.
    #[serde(
        default,
        serialize_with = "crate::payout::serialize_masked",
        skip_deserializing
    )]
    #[schema(value_type = Option<crate::payout::MaskedDestination>)]
    pub refund_destination: Option<crate::payout::RefundDestination>,
    /// The drop-off point the shopper chose (method `drop_off`), when one was.
    #[serde(default)]
    pub dropoff_point: Option<crate::dropoff::PointRef>,
    pub items: Vec<ReturnItem>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// What can be asked of a return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Command {
    Approve {
        #[serde(default)]
        note: Option<String>,
    },
    Reject {
        reason: String,
    },
    /// The carrier has the parcel (first scan, or the shopper's tracking number).
    MarkInTransit {
        #[serde(default)]
        carrier: Option<String>,
        #[serde(default)]
        tracking_number: Option<String>,
    },
    Receive {
        items: Vec<ItemReceipt>,
        #[serde(default)]
        note: Option<String>,
    },
    Inspect {
        items: Vec<ItemInspection>,
        #[serde(default)]
        note: Option<String>,
    },
    /// Closes the return; items not named keep the resolution the shopper asked for.
    Resolve {
        #[serde(default)]
        items: Vec<ItemResolution>,
        #[serde(default)]
        note: Option<String>,
    },
    Cancel {
        #[serde(default)]
        reason: Option<String>,
    },
    /// Not shipped within the policy's ship-by days (the scheduler's doing).
    Expire,
}

impl Command {
    /// Which command this is, without its arguments.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Approve { .. } => CommandKind::Approve,
            Command::Reject { .. } => CommandKind::Reject,
            Command::MarkInTransit { .. } => CommandKind::MarkInTransit,
            Command::Receive { .. } => CommandKind::Receive,
            Command::Inspect { .. } => CommandKind::Inspect,
            Command::Resolve { .. } => CommandKind::Resolve,
            Command::Cancel { .. } => CommandKind::Cancel,
            Command::Expire => CommandKind::Expire,
        }
    }

    /// The command's name as sent (`mark_in_transit`).
    pub fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    fn note(&self) -> Option<String> {
        match self {
            Command::Approve { note }
            | Command::Receive { note, .. }
            | Command::Inspect { note, .. }
            | Command::Resolve { note, .. } => note.clone(),
            Command::Reject { reason } => Some(reason.clone()),
            Command::Cancel { reason } => reason.clone(),
            Command::MarkInTransit { .. } | Command::Expire => None,
        }
    }
}

/// An entry of a return's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// The status the return entered (`requested`, `approved`, …).
    pub kind: ReturnStatus,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub actor: Actor,
    pub note: Option<String>,
    /// Details of the change, e.g. what was received.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// A command without its arguments: what a transition error names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum CommandKind {
    Approve,
    Reject,
    MarkInTransit,
    Receive,
    Inspect,
    Resolve,
    Cancel,
    Expire,
}

impl CommandKind {
    /// The name as sent (`mark_in_transit`), for codes and translation keys.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// English, as the past participle: "cannot be {done}".
    pub fn done(self) -> &'static str {
        match self {
            CommandKind::Approve => "approved",
            CommandKind::Reject => "rejected",
            CommandKind::MarkInTransit => "marked in transit",
            CommandKind::Receive => "received",
            CommandKind::Inspect => "inspected",
            CommandKind::Resolve => "resolved",
            CommandKind::Cancel => "cancelled",
            CommandKind::Expire => "expired",
        }
    }

    /// English, as the verb: "only … may {verb} a return".
    pub fn verb(self) -> &'static str {
        match self {
            CommandKind::MarkInTransit => "mark in transit",
            other => other.as_str(),
        }
    }
}

/// Why a command does not apply in the return's state: a code for pages to
/// translate; `Display` is the English the API sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum IllegalBecause {
    /// Approving and rejecting decide a request.
    NotRequested,
    /// Every item is kept: nothing travels, so nothing ships, arrives or expires.
    KeepItem,
    NotApproved,
    /// Receiving needs a return that is approved or on its way.
    NotOnItsWay,
    NotReceived,
    /// Resolving needs an inspection, or an approved keep-the-item return.
    NotInspected,
    /// Cancelling is for returns not yet shipped back.
    AlreadyShipped,
    /// Expiring is for approved returns that were never shipped.
    NotAwaitingShipment,
}

impl IllegalBecause {
    /// The code, for translation keys (`not_requested`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl std::fmt::Display for IllegalBecause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IllegalBecause::NotRequested => "only a requested return can be approved or rejected",
            IllegalBecause::KeepItem => "nothing is shipped back for a keep-the-item return",
            IllegalBecause::NotApproved => "only an approved return can go in transit",
            IllegalBecause::NotOnItsWay => "only an approved or in-transit return can be received",
            IllegalBecause::NotReceived => "only a received return can be inspected",
            IllegalBecause::NotInspected => {
                "a return is resolved after inspection, or once approved when the items are kept"
            }
            IllegalBecause::AlreadyShipped => {
                "a return can only be cancelled before it is shipped back"
            }
            IllegalBecause::NotAwaitingShipment => {
                "only an approved return that was not shipped can expire"
            }
        })
    }
}

/// Who may give a command that someone else gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Allowed {
    /// A person: the shopper, or the shop (its staff or its API key).
    ShopperOrShop,
    /// Only the scheduler (the system).
    Scheduler,
}

impl std::fmt::Display for Allowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Allowed::ShopperOrShop => "the shopper or the shop",
            Allowed::Scheduler => "the scheduler",
        })
    }
}

/// Why a transition did not happen. `Illegal` and `Forbidden` are codes with
/// arguments; their `Display` is the English the API sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a return that is {from} cannot be {done}: {why}", from = .from.as_str(), done = .command.done())]
    Illegal {
        from: ReturnStatus,
        command: CommandKind,
        why: IllegalBecause,
    },
    #[error("only {allowed} may {verb} a return", verb = .command.verb())]
    Forbidden {
        command: CommandKind,
        allowed: Allowed,
    },
    #[error("{0}")]
    Invalid(String),
}

impl Return {
    fn item(&self, id: ReturnItemId) -> Option<&ReturnItem> {
        self.items.iter().find(|i| i.id == id)
    }

    /// Whether no item needs to travel back (every item is keep-the-item, or a
    /// delivery claim for goods that never reached the shopper).
    pub fn is_keep_item(&self) -> bool {
        !self.items.is_empty() && self.items.iter().all(ReturnItem::stays)
    }

    /// Applies `cmd`: either the return moves and the timeline event is returned,
    /// or nothing at all changes and the error says why.
    pub fn apply(
        &mut self,
        cmd: &Command,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Event, TransitionError> {
        use IllegalBecause as Why;
        use ReturnStatus as S;
        let illegal = |why: Why| TransitionError::Illegal {
            from: self.status,
            command: cmd.kind(),
            why,
        };
        // Checks first; the return is only touched once everything holds.
        let (next, data) = match (cmd, self.status) {
            (Command::Approve { .. }, S::Requested) => (S::Approved, serde_json::Value::Null),
            (Command::Approve { .. }, _) => {
                return Err(illegal(Why::NotRequested));
            }
            (Command::Reject { reason }, S::Requested) => {
                if reason.trim().is_empty() {
                    return Err(TransitionError::Invalid(
                        "a rejection needs a reason the shopper can read".into(),
                    ));
                }
                (S::Rejected, serde_json::Value::Null)
            }
            (Command::Reject { .. }, _) => {
                return Err(illegal(Why::NotRequested));
            }
            (
                Command::MarkInTransit {
                    carrier,
                    tracking_number,
                },
                S::Approved,
            ) => {
                if self.is_keep_item() {
                    return Err(illegal(Why::KeepItem));
                }
                (
                    S::InTransit,
                    serde_json::json!({ "carrier": carrier, "tracking_number": tracking_number }),
                )
            }
            (Command::MarkInTransit { .. }, _) => {
                return Err(illegal(Why::NotApproved));
            }
            (Command::Receive { items, .. }, S::Approved | S::InTransit) => {
                if self.is_keep_item() {
                    return Err(illegal(Why::KeepItem));
                }
                self.check_receipts(items)?;
                (S::Received, serde_json::json!({ "items": items }))
            }
            (Command::Receive { .. }, _) => {
                return Err(illegal(Why::NotOnItsWay));
            }
            (Command::Inspect { items, .. }, S::Received) => {
                self.check_inspections(items)?;
                (S::Inspected, serde_json::json!({ "items": items }))
            }
            (Command::Inspect { .. }, _) => {
                return Err(illegal(Why::NotReceived));
            }
            (Command::Resolve { items, .. }, S::Inspected) => {
                self.check_resolutions(items)?;
                (S::Resolved, serde_json::json!({ "items": items }))
            }
            (Command::Resolve { items, .. }, S::Approved) if self.is_keep_item() => {
                self.check_resolutions(items)?;
                (S::Resolved, serde_json::json!({ "items": items }))
            }
            (Command::Resolve { .. }, _) => {
                return Err(illegal(Why::NotInspected));
            }
            (Command::Cancel { .. }, S::Requested | S::Approved) => {
                if matches!(actor, Actor::System) {
                    return Err(TransitionError::Forbidden {
                        command: CommandKind::Cancel,
                        allowed: Allowed::ShopperOrShop,
                    });
                }
                (S::Cancelled, serde_json::Value::Null)
            }
            (Command::Cancel { .. }, _) => {
                return Err(illegal(Why::AlreadyShipped));
            }
            (Command::Expire, S::Approved) => {
                if !matches!(actor, Actor::System) {
                    return Err(TransitionError::Forbidden {
                        command: CommandKind::Expire,
                        allowed: Allowed::Scheduler,
                    });
                }
                if self.is_keep_item() {
                    return Err(illegal(Why::KeepItem));
                }
                (S::Expired, serde_json::Value::Null)
            }
            (Command::Expire, _) => {
                return Err(illegal(Why::NotAwaitingShipment));
            }
        };

        match cmd {
            Command::Receive { items, .. } => {
                for r in items {
                    if let Some(item) = self.items.iter_mut().find(|i| i.id == r.item_id) {
                        item.receipt = Some(r.clone());
                    }
                }
            }
            Command::Inspect { items, .. } => {
                for r in items {
                    if let Some(item) = self.items.iter_mut().find(|i| i.id == r.item_id) {
                        item.inspection = Some(r.clone());
                    }
                }
            }
            Command::Resolve { items, .. } => {
                for item in &mut self.items {
                    let chosen = items
                        .iter()
                        .find(|r| r.item_id == item.id)
                        .map_or(item.resolution, |r| r.resolution);
                    item.final_resolution = Some(chosen);
                }
            }
            _ => {}
        }
        self.status = next;
        self.version += 1;
        self.updated_at = at;
        Ok(Event {
            kind: next,
            at,
            actor: actor.clone(),
            note: cmd.note(),
            data,
        })
    }

    fn check_receipts(&self, receipts: &[ItemReceipt]) -> Result<(), TransitionError> {
        if receipts.is_empty() {
            return Err(TransitionError::Invalid(
                "say what arrived for each item".into(),
            ));
        }
        for (n, r) in receipts.iter().enumerate() {
            let item = self.item(r.item_id).ok_or_else(|| {
                TransitionError::Invalid(format!("{} is not an item of this return", r.item_id))
            })?;
            if receipts[..n].iter().any(|o| o.item_id == r.item_id) {
                return Err(TransitionError::Invalid(format!(
                    "{} is named twice",
                    r.item_id
                )));
            }
            let ok = match r.outcome {
                ReceiptOutcome::Received => r.quantity == item.quantity,
                ReceiptOutcome::Missing => r.quantity == 0,
                ReceiptOutcome::WrongItem => r.quantity <= item.quantity,
                ReceiptOutcome::Short => r.quantity < item.quantity,
            };
            if !ok {
                return Err(TransitionError::Invalid(format!(
                    "{}: {} units do not fit the outcome `{}` for {} announced",
                    r.item_id,
                    r.quantity,
                    serde_json::to_value(r.outcome)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    item.quantity
                )));
            }
        }
        if let Some(missing) = self
            .items
            .iter()
            .find(|i| !receipts.iter().any(|r| r.item_id == i.id))
        {
            return Err(TransitionError::Invalid(format!(
                "say what arrived for {} too (use `missing` if it did not)",
                missing.id
            )));
        }
        Ok(())
    }

    fn check_inspections(&self, inspections: &[ItemInspection]) -> Result<(), TransitionError> {
        for (n, r) in inspections.iter().enumerate() {
            let item = self.item(r.item_id).ok_or_else(|| {
                TransitionError::Invalid(format!("{} is not an item of this return", r.item_id))
            })?;
            if inspections[..n].iter().any(|o| o.item_id == r.item_id) {
                return Err(TransitionError::Invalid(format!(
                    "{} is named twice",
                    r.item_id
                )));
            }
            let arrived = item.receipt.as_ref().map_or(0, |rc| rc.quantity);
            if r.accepted_quantity > arrived {
                return Err(TransitionError::Invalid(format!(
                    "{}: cannot accept {} units when {} arrived",
                    r.item_id, r.accepted_quantity, arrived
                )));
            }
        }
        if let Some(missing) = self
            .items
            .iter()
            .find(|i| !inspections.iter().any(|r| r.item_id == i.id))
        {
            return Err(TransitionError::Invalid(format!(
                "inspect {} too (accept 0 units if nothing usable came)",
                missing.id
            )));
        }
        Ok(())
    }

    fn check_resolutions(&self, chosen: &[ItemResolution]) -> Result<(), TransitionError> {
        for (n, r) in chosen.iter().enumerate() {
            if self.item(r.item_id).is_none() {
                return Err(TransitionError::Invalid(format!(
                    "{} is not an item of this return",
                    r.item_id
                )));
            }
            if chosen[..n].iter().any(|o| o.item_id == r.item_id) {
                return Err(TransitionError::Invalid(format!(
                    "{} is named twice",
                    r.item_id
                )));
            }
            let claim = self
                .item(r.item_id)
                .is_some_and(|i| i.resolution != Resolution::KeepItem && i.stays());
            if self.status == ReturnStatus::Approved
                && r.resolution != Resolution::KeepItem
                && !claim
            {
                return Err(TransitionError::Invalid(
                    "items not sent back can only be resolved as keep_item".into(),
                ));
            }
        }
        Ok(())
    }
}
