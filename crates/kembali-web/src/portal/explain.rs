//! The policy's decisions in the shopper's words: one plain sentence per
//! explanation code, and the names of reasons, resolutions, methods and states.

use kembali_core::policy::Explanation;
use kembali_core::returns::{Resolution, ReturnMethod, ReturnReason, ReturnStatus};

use crate::i18n::Tr;

/// The sentence for one explanation, in the page's language.
pub fn sentence(tr: Tr, e: &Explanation) -> String {
    match e {
        Explanation::NotDelivered => tr.t("expl-not-delivered"),
        Explanation::NothingLeft => tr.t("expl-nothing-left"),
        Explanation::TooMany {
            requested,
            available,
        } => tr.ta(
            "expl-too-many",
            vec![
                ("requested", (*requested).into()),
                ("available", (*available).into()),
            ],
        ),
        Explanation::WindowEnded { days, last_day } => tr.ta(
            "expl-window-ended",
            vec![
                ("days", (*days).into()),
                ("date", tr.date(*last_day).into()),
            ],
        ),
        Explanation::WindowOpen { days, last_day } => tr.ta(
            "expl-window-open",
            vec![
                ("days", (*days).into()),
                ("date", tr.date(*last_day).into()),
            ],
        ),
        Explanation::FinalSale => tr.t("expl-final-sale"),
        // The merchant's own words, as the policy document has them.
        Explanation::Denied { message, .. } => {
            tr.ta("expl-denied", vec![("message", message.as_str().into())])
        }
        Explanation::EuWithdrawal { last_day } => tr.ta(
            "expl-eu-withdrawal",
            vec![("date", tr.date(*last_day).into())],
        ),
        Explanation::HeldForReview { answer_by } => tr.ta(
            "expl-held-for-review",
            vec![("date", tr.date(*answer_by).into())],
        ),
        Explanation::WarrantyClaim {
            last_day,
            answer_by,
        } => tr.ta(
            "expl-warranty-claim",
            vec![
                ("date", tr.date(*last_day).into()),
                ("answer", tr.date(*answer_by).into()),
            ],
        ),
        Explanation::DeliveryClaim { answer_by } => tr.ta(
            "expl-delivery-claim",
            vec![("date", tr.date(*answer_by).into())],
        ),
        Explanation::ClaimNotOffered => tr.t("expl-claim-not-offered"),
    }
}

/// The sentences of a decision, joined.
pub fn sentences(tr: Tr, es: &[Explanation]) -> String {
    es.iter()
        .map(|e| sentence(tr, e))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn reason(tr: Tr, r: ReturnReason) -> String {
    tr.t(&format!("reason-{}", r.as_str()))
}

pub fn resolution(tr: Tr, r: Resolution) -> String {
    tr.t(&format!("resolution-{}", r.as_str()))
}

pub fn method(tr: Tr, m: ReturnMethod) -> String {
    tr.t(&format!("method-{}", m.as_str()))
}

pub fn status(tr: Tr, s: ReturnStatus) -> String {
    tr.t(&format!("status-{}", s.as_str()))
}

/// Every message id the portal builds from a code at run time; the i18n test
/// checks each is in every language.
pub fn dynamic_keys() -> Vec<String> {
    let mut keys = Vec::new();
    keys.extend(ReturnReason::ALL.map(|r| format!("reason-{}", r.as_str())));
    keys.extend(Resolution::ALL.map(|r| format!("resolution-{}", r.as_str())));
    keys.extend(ReturnMethod::ALL.map(|m| format!("method-{}", m.as_str())));
    keys.extend(ReturnMethod::ALL.map(|m| format!("steps-{}", m.as_str())));
    keys.extend(ReturnStatus::ALL.map(|s| format!("status-{}", s.as_str())));
    keys.extend((1..=12).map(|m| format!("month-{m}")));
    keys.extend(["return_shipping", "restocking"].map(|f| format!("fee-{f}")));
    keys.extend(["delivery", "fulfillment", "order"].map(|w| format!("window-from-{w}")));
    keys
}
