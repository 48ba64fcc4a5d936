//! What a use case can answer instead of doing its work. Each variant is a code
//! with its arguments; the English `Display` is for the API and the logs, and the
//! pages translate by [`AppError::code`] and the fields.

use kembali_core::order::OrderError;
use kembali_core::returns::{OpenError, TransitionError};
use kembali_core::text::{Form, TextProblem};
use kembali_store::StoreError;
use kembali_store::idempotency::KeyError;

/// What was looked for and not found in the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    ApiKey,
    Order,
    Return,
    Shop,
    Source,
    Refund,
    /// A refund's bank account or e-wallet.
    Payout,
    Shipment,
    CreditAccount,
    Customer,
    Product,
    Variant,
    WebhookEndpoint,
    WebhookDelivery,
    PolicyVersion,
    Photo,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::ApiKey => "API key",
            Entity::Order => "order",
            Entity::Return => "return",
            Entity::Shop => "shop",
            Entity::Source => "source",
            Entity::Refund => "refund",
            Entity::Payout => "payout account for this refund",
            Entity::Shipment => "shipment",
            Entity::CreditAccount => "store credit account",
            Entity::Customer => "customer",
            Entity::Product => "product",
            Entity::Variant => "variant",
            Entity::WebhookEndpoint => "webhook endpoint",
            Entity::WebhookDelivery => "webhook delivery",
            Entity::PolicyVersion => "policy version",
            Entity::Photo => "photo",
        }
    }
}

/// Why one input field is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rule {
    #[error("must not be empty")]
    Empty,
    #[error("at most {max}")]
    AtMost { max: u64 },
    #[error("must be at least {min}")]
    AtLeast { min: u64 },
    #[error("at most {max} characters")]
    TooLong { max: usize },
    #[error("contains the control character U+{code:04X}")]
    ControlCharacter { code: u32 },
    #[error("names no line of this order")]
    NotInOrder,
    #[error("there is no line {index} (lines count from 0)")]
    NoSuchLine { index: usize },
    #[error("is not valid here: {why}")]
    NotValid { why: &'static str },
    /// A bank account, IBAN or e-wallet number that does not pass its checks.
    #[error("{0}")]
    Payout(kembali_core::payout::PayoutProblem),
    /// A photo reference that is not a photo id at all.
    #[error("is not a photo id (`pho_…`); upload the photo with `POST /photos` and send its id")]
    NotAPhotoId,
    /// A photo id the shop has no photo for (unknown, or another shop's).
    #[error("names no photo of this shop; upload the photo with `POST /photos` and send its id")]
    UnknownPhoto,
}

impl From<TextProblem> for Rule {
    fn from(p: TextProblem) -> Self {
        match p {
            TextProblem::Empty => Rule::Empty,
            TextProblem::TooLong { max } => Rule::TooLong { max },
            TextProblem::ControlCharacter { code } => Rule::ControlCharacter { code },
        }
    }
}

/// `value` checked as text of `form` and at most `max` characters; the error
/// names `field`. The check every request's text outside an order goes through
/// (an order's own text is checked by `Order::validate`, with the same rules).
pub fn check_text(field: &str, value: &str, form: Form, max: usize) -> Result<(), AppError> {
    kembali_core::text::check(value, form, max).map_err(|p| AppError::invalid(field, p.into()))
}

/// Why a change is refused in the state its subject is in (HTTP 409).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("the order is cancelled")]
    OrderCancelled,
    #[error(
        "the order has delivered parcels: it can no longer be cancelled; open a return instead"
    )]
    OrderDelivered,
    #[error("the order has open returns: it can no longer be cancelled")]
    OrderHasReturns,
    #[error("the shop has taken orders: its currency can no longer change")]
    ShopHasOrders,
    #[error("a shop with this slug exists")]
    ShopExists,
    #[error("the return has as many notes as it can hold")]
    TooManyNotes,
    #[error("the shop has no return address; set `return_address` in the shop's settings")]
    NoReturnAddress,
    #[error(
        "the return is {status}: a label and packing slip exist while it is approved or in transit"
    )]
    NoLabel { status: &'static str },
    #[error("the shopper keeps the items: nothing is sent back, so there is no label")]
    NothingToSend,
}

/// Why an uploaded photo is refused (`kembali_app::photos::upload`). Nothing is
/// stored for a refused photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("the body is empty: send the photo's bytes")]
    Empty,
    #[error("the photo is larger than {max} bytes")]
    TooLarge { max: usize },
    /// Told by the bytes, never by a file name or a `Content-Type`. `found`
    /// names what the bytes are when that is known (`HEIC`, `GIF`, `text`).
    #[error("{}", unsupported_message(.found))]
    UnsupportedType { found: Option<&'static str> },
    /// Declared dimensions beyond what is decoded: a decompression bomb, or a
    /// picture far larger than any camera's.
    #[error(
        "the image says it is {width}×{height} pixels: at most {max_side} pixels on a side \
         and {max_megapixels} megapixels are taken"
    )]
    Dimensions {
        width: u32,
        height: u32,
        max_side: u32,
        max_megapixels: u32,
    },
    /// The bytes start like a photo of `format` but do not decode.
    #[error("the {format} image could not be read: it is damaged or incomplete")]
    Unreadable { format: &'static str },
}

fn unsupported_message(found: &Option<&'static str>) -> String {
    match found {
        Some("HEIC") => "HEIC/HEIF photos are not taken: send JPEG, PNG or WebP (on an iPhone, \
                         Settings → Camera → Formats → Most Compatible, or share the photo \
                         as JPEG)"
            .to_owned(),
        Some(kind) => format!("this is {kind}, not a photo Kembali takes: send JPEG, PNG or WebP"),
        None => "the body is not a JPEG, PNG or WebP image".to_owned(),
    }
}

impl PhotoError {
    /// A stable code for pages and clients to key their messages on.
    pub fn code(&self) -> &'static str {
        match self {
            PhotoError::Empty => "photo_empty",
            PhotoError::TooLarge { .. } => "photo_too_large",
            PhotoError::UnsupportedType { .. } => "photo_unsupported_type",
            PhotoError::Dimensions { .. } => "photo_dimensions",
            PhotoError::Unreadable { .. } => "photo_unreadable",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("no such {}", .0.as_str())]
    NotFound(Entity),
    #[error("{field}: {rule}")]
    Invalid { field: String, rule: Rule },
    #[error("{0}")]
    InvalidOrder(#[from] OrderError),
    #[error("order {number} already exists in this shop")]
    OrderExists { number: String },
    #[error("item {index}: the line is not part of this order")]
    UnknownLine { index: usize },
    /// The policy or the request's shape refuses the return as a whole.
    #[error(transparent)]
    Refused(#[from] OpenError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The caller based the change on an older version, or lost a race.
    #[error("the return changed since version {expected}; it is now at version {current}")]
    VersionConflict { expected: i64, current: i64 },
    #[error("the shop has no return policy")]
    NoPolicy,
    /// Fewer units of a variant on hand than an exchange needs.
    #[error("{sku} is out of stock")]
    OutOfStock { sku: String },
    /// A redemption larger than what the account holds.
    #[error("the account holds only {balance} (minor units); nothing was taken")]
    InsufficientCredit { balance: i64 },
    /// A refund step not allowed from the refund's status.
    #[error("the refund is {status}; this step needs it to be {allowed}")]
    RefundState { status: String, allowed: String },
    /// The subject's state refuses the change.
    #[error(transparent)]
    State(Conflict),
    /// A policy document that cannot be saved: each problem at its JSON pointer.
    #[error("the policy is not valid: {}", .0.first().map_or("", |p| p.message.as_str()))]
    InvalidPolicy(Vec<crate::policies::PolicyProblem>),
    #[error("this Idempotency-Key was already used with a different request; use a new key")]
    IdempotencyMismatch,
    /// A CSV import with bad rows (its report lists each): nothing was imported.
    #[error(
        "{} rows of the file are not valid; nothing was imported",
        .0.bad_rows_total
    )]
    ImportRefused(Box<crate::import::Report>),
    /// A drop-off point file with bad rows (its report lists each): nothing
    /// was imported.
    #[error(
        "{} rows of the file are not valid; nothing was imported",
        .0.bad_rows_total
    )]
    PointsImportRefused(Box<crate::dropoff::PointsReport>),
    /// A label or slip could not be drawn (never for a return Kembali made).
    #[error("the label could not be printed: {0}")]
    Print(String),
    /// An answer that could not be written out as JSON (never for Kembali's own
    /// types; the change it answers is kept).
    #[error("the answer could not be written: {0}")]
    Answer(String),
    /// An uploaded photo that is refused; [`PhotoError::code`] says why.
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, rule: Rule) -> AppError {
        AppError::Invalid {
            field: field.into(),
            rule,
        }
    }

    /// A stable code for pages and clients to key their messages on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "not_found",
            AppError::Invalid { .. } => "invalid",
            AppError::InvalidOrder(_) => "invalid_order",
            AppError::OrderExists { .. } => "order_exists",
            AppError::UnknownLine { .. } => "unknown_line",
            AppError::Refused(_) => "refused",
            AppError::Transition(_) => "illegal_transition",
            AppError::VersionConflict { .. } => "version_conflict",
            AppError::NoPolicy => "no_policy",
            AppError::InsufficientCredit { .. } => "insufficient_credit",
            AppError::OutOfStock { .. } => "out_of_stock",
            AppError::RefundState { .. } => "refund_state",
            AppError::State(_) => "conflict",
            AppError::InvalidPolicy(_) => "invalid_policy",
            AppError::IdempotencyMismatch => "idempotency_mismatch",
            AppError::ImportRefused(_) | AppError::PointsImportRefused(_) => "import_refused",
            AppError::Print(_) => "print",
            AppError::Answer(_) => "answer",
            AppError::Photo(p) => p.code(),
            AppError::Store(_) => "store",
        }
    }
}

impl From<KeyError> for AppError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Mismatch => AppError::IdempotencyMismatch,
            KeyError::Store(s) => AppError::Store(s),
        }
    }
}
