//! Why a decision came out as it did, as structured reasons a page can put into
//! the shopper's language; `english()` is the API's plain sentence.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One reason behind a decision, for the shopper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Explanation {
    /// Nothing of this line has been delivered yet.
    NotDelivered,
    /// Every delivered unit is already in another return.
    NothingLeft,
    /// More units asked for than can still be returned.
    TooMany {
        requested: u32,
        available: u32,
    },
    WindowEnded {
        days: u32,
        #[schema(value_type = String, format = Date)]
        last_day: Date,
    },
    /// The window is open until this day (inclusive).
    WindowOpen {
        days: u32,
        #[schema(value_type = String, format = Date)]
        last_day: Date,
    },
    FinalSale,
    /// A rule refused the item, with the merchant's words.
    Denied {
        rule: String,
        message: String,
    },
    /// The EU right of withdrawal keeps the window open at least 14 days from delivery.
    EuWithdrawal {
        #[schema(value_type = String, format = Date)]
        last_day: Date,
    },
    /// A person checks the request first; the shop answers by this day.
    HeldForReview {
        #[schema(value_type = String, format = Date)]
        answer_by: Date,
    },
    /// A warranty complaint: possible until `last_day`; the shop answers by
    /// `answer_by` or the complaint is deemed accepted.
    WarrantyClaim {
        #[schema(value_type = String, format = Date)]
        last_day: Date,
        #[schema(value_type = String, format = Date)]
        answer_by: Date,
    },
    /// A delivery claim (damaged in transit, missing item, never arrived).
    DeliveryClaim {
        #[schema(value_type = String, format = Date)]
        answer_by: Date,
    },
    /// This shop does not take delivery claims through Kembali.
    ClaimNotOffered,
}

impl Explanation {
    /// A plain English sentence; pages translate from the code and fields instead.
    pub fn english(&self) -> String {
        match self {
            Explanation::NotDelivered => "This item has not been delivered yet.".into(),
            Explanation::NothingLeft => "This item is already being returned.".into(),
            Explanation::TooMany {
                requested,
                available,
            } => format!("Only {available} of this item can be returned, not {requested}."),
            Explanation::WindowEnded { days, last_day } => format!(
                "The {days}-day return window ended on {}.",
                last_day.strftime("%-d %B %Y")
            ),
            Explanation::WindowOpen { days, last_day } => format!(
                "You can return this item until {} ({days}-day window).",
                last_day.strftime("%-d %B %Y")
            ),
            Explanation::FinalSale => "This item was a final-sale item.".into(),
            Explanation::Denied { message, .. } => message.clone(),
            Explanation::EuWithdrawal { last_day } => format!(
                "Under EU law you may withdraw from the purchase until {}.",
                last_day.strftime("%-d %B %Y")
            ),
            Explanation::HeldForReview { answer_by } => format!(
                "We will check your request and answer by {}.",
                answer_by.strftime("%-d %B %Y")
            ),
            Explanation::WarrantyClaim {
                last_day,
                answer_by,
            } => format!(
                "You can file a warranty complaint until {}; we will answer by {}, with a repair or a replacement first.",
                last_day.strftime("%-d %B %Y"),
                answer_by.strftime("%-d %B %Y")
            ),
            Explanation::DeliveryClaim { answer_by } => format!(
                "We will answer your delivery claim by {}; shipping is on us.",
                answer_by.strftime("%-d %B %Y")
            ),
            Explanation::ClaimNotOffered => "Please contact the shop about this delivery.".into(),
        }
    }
}
