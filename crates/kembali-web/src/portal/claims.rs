//! Claims from the portal: a warranty claim (a defect after the return window,
//! within the warranty the policy sets) and a delivery claim (damaged in
//! transit, an item missing, a parcel that never arrived), each offered only
//! where the policy engine would take it now, with its own reasons, window and
//! outcomes and no fees (the engine decides all of it). A claim becomes a draft
//! of one item and goes on through the same steps as a return.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use kembali_app::eligibility::{self, Question};
use kembali_core::policy::{Basis, ClaimKind, Decision};
use kembali_core::returns::{Resolution, ReturnReason};
use kembali_core::text::{self, Form as TextForm};
use kembali_core::{LineId, OrderId};
use maud::{Markup, html};

use super::steps::{self, Draft, DraftItem, Opened, Posted};
use super::{Client, Form, Visit, client, explain};
use crate::AppState;
use crate::i18n::Tr;

/// The delivery claims, in the order the page offers them.
pub const DELIVERY: [ClaimKind; 3] = [
    ClaimKind::DamagedInTransit,
    ClaimKind::MissingItem,
    ClaimKind::NeverArrived,
];

/// The claim's code in forms and message ids.
pub fn code(k: ClaimKind) -> &'static str {
    match k {
        ClaimKind::DamagedInTransit => "damaged_in_transit",
        ClaimKind::MissingItem => "missing_item",
        ClaimKind::NeverArrived => "never_arrived",
    }
}

fn parse_code(s: &str) -> Option<ClaimKind> {
    DELIVERY.into_iter().find(|k| code(*k) == s)
}

/// The reason a delivery claim is recorded with.
fn delivery_reason(k: ClaimKind) -> ReturnReason {
    match k {
        ClaimKind::DamagedInTransit => ReturnReason::Damaged,
        ClaimKind::MissingItem | ClaimKind::NeverArrived => ReturnReason::Other,
    }
}

/// What the policy would take for one line now.
#[derive(Default)]
pub(super) struct Offer {
    /// The warranty's reasons and the decision under the first, when the line
    /// can no longer be returned but is within the warranty.
    pub warranty: Option<(Vec<ReturnReason>, Decision)>,
    /// Each delivery claim the line qualifies for, with its decision.
    pub delivery: Vec<(ClaimKind, Decision)>,
}

async fn decide_all(v: &Visit, order: OrderId, q: &Question) -> Vec<(LineId, Decision)> {
    eligibility::eligibility(&v.state.app, &v.shop, order, q)
        .await
        .map(|e| {
            e.lines
                .into_iter()
                .map(|l| (l.line_id, l.decision))
                .collect()
        })
        .unwrap_or_default()
}

/// The claims each line of the order may make now.
pub(super) async fn offers(v: &Visit, o: &Opened, only: Option<LineId>) -> HashMap<LineId, Offer> {
    let mut out: HashMap<LineId, Offer> = HashMap::new();
    let Ok(policy) = kembali_app::policies::current(&v.state.app, &v.shop).await else {
        return out;
    };
    let doc = policy.document;
    let order = o.view.order.id;
    if let Some(w) = doc.warranty.as_ref()
        && let Some(first) = w.reasons.first()
    {
        let q = Question {
            line: only,
            reason: Some(*first),
            ..Question::default()
        };
        for (line, d) in decide_all(v, order, &q).await {
            let returnable = o.decision(line).is_some_and(|l| l.decision.eligible);
            if !returnable && d.eligible && d.basis == Some(Basis::Warranty) {
                out.entry(line).or_default().warranty = Some((w.reasons.clone(), d));
            }
        }
    }
    if doc.delivery_claims.is_some() {
        for kind in DELIVERY {
            let q = Question {
                line: only,
                reason: Some(delivery_reason(kind)),
                claim: Some(kind),
                ..Question::default()
            };
            for (line, d) in decide_all(v, order, &q).await {
                if d.eligible && d.basis == Some(Basis::DeliveryClaim) {
                    out.entry(line).or_default().delivery.push((kind, d));
                }
            }
        }
    }
    out
}

/// The links the items page shows under a line.
pub(super) fn links(v: &Visit, o: &Opened, line: LineId, offer: Option<&Offer>) -> Markup {
    let tr = v.tr;
    let base = format!("{}/o/{}/claim/{line}", v.base(), o.token);
    html! {
        @if let Some(offer) = offer {
            @if offer.warranty.is_some() {
                p { a.claim href=(format!("{base}?kind=warranty")) { (tr.t("claim-warranty-link")) } }
            }
            @if !offer.delivery.is_empty() {
                p { a.claim href=(format!("{base}?kind=delivery")) { (tr.t("claim-delivery-link")) } }
            }
        }
    }
}

/// The date a warranty claim in an EU shop must be answered by, in words
/// (the complaint is deemed accepted without an answer by then), or the plain
/// answer-by date of any other claim.
pub(super) fn answer_words(v: &Visit, d: &Decision) -> Option<String> {
    let tr = v.tr;
    let due = d.answer_due_by?;
    let tz = v.shop.tz().unwrap_or(jiff::tz::TimeZone::UTC);
    // The instant is the first after the last day: say the last day.
    let day = tz
        .to_datetime(due)
        .date()
        .yesterday()
        .unwrap_or_else(|_| tz.to_datetime(due).date());
    let date = tr.date(day);
    match d.basis {
        Some(Basis::Warranty) if v.shop.country.is_eu() => {
            Some(tr.ta("claim-eu-answer", vec![("date", date.into())]))
        }
        Some(Basis::Warranty | Basis::DeliveryClaim) => {
            Some(tr.ta("claim-answer", vec![("date", date.into())]))
        }
        _ => None,
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct ClaimPath {
    pub shop: String,
    pub token: String,
    pub line: String,
}

pub(crate) async fn claim_page(
    State(state): State<AppState>,
    Path(p): Path<ClaimPath>,
    uri: Uri,
    headers: HeaderMap,
    c: Client,
) -> Response {
    let v = match Visit::start(&state, &p.shop, &uri, &headers, client(c)).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let o = match steps::open(&v, &p.token).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let kind = steps::query_param(&uri, "kind").unwrap_or_default();
    claim_form(&v, &o, &p.line, &kind, StatusCode::OK, &[], None).await
}

async fn claim_form(
    v: &Visit,
    o: &Opened,
    line: &str,
    kind: &str,
    status: StatusCode,
    errors: &[String],
    form: Option<&Form>,
) -> Response {
    let tr = v.tr;
    let Some(line) = line
        .parse::<LineId>()
        .ok()
        .filter(|l| o.decision(*l).is_some())
    else {
        return steps::tampered(v, o);
    };
    let mut offers = offers(v, o, Some(line)).await;
    let offer = offers.remove(&line).unwrap_or_default();
    let warranty = kind == "warranty";
    // What the page offers: the warranty's reasons, or the delivery claims.
    let first: Option<&Decision> = if warranty {
        offer.warranty.as_ref().map(|(_, d)| d)
    } else if kind == "delivery" {
        offer.delivery.first().map(|(_, d)| d)
    } else {
        return steps::tampered(v, o);
    };
    let back = format!("{}/o/{}", v.base(), o.token);
    let Some(d) = first else {
        // Nothing of this kind to offer now: say why the form was refused, if
        // it was, or that the claim cannot be made.
        if errors.is_empty() {
            return v.problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                &[tr.t("claim-none")],
                &back,
            );
        }
        return v.problem(status, errors, &back);
    };
    let prior = |name: &str| form.and_then(|f| f.get(name)).unwrap_or("").to_owned();
    let title = if warranty {
        tr.t("claim-warranty-title")
    } else {
        tr.t("claim-delivery-title")
    };
    let item = o.title(line);
    let q_prior = prior("q");
    let q_prior = if q_prior.is_empty() {
        "1".to_owned()
    } else {
        q_prior
    };
    v.render(
        status,
        &title,
        html! {
            @if !errors.is_empty() {
                div.error role="alert" { ul { @for e in errors { li { (e) } } } }
            }
            h2 { (item) }
            @if warranty {
                p { (explain::sentences(tr, &d.explanations)) }
                @if let Some(w) = answer_words(v, d) { p { strong { (w) } } }
                @if !d.later_resolutions.is_empty() { p.muted { (tr.t("claim-later")) } }
            } @else {
                p { (tr.t("claim-delivery-intro")) }
            }
            p.muted { (tr.t("claim-free")) }
            form method="post" action=(format!("{}/o/{}/claim/{line}", v.base(), o.token)) enctype="multipart/form-data" {
                (v.csrf_field())
                input type="hidden" name="kind" value=(kind);
                @if warranty {
                    @let reasons = offer.warranty.as_ref().map(|(r, _)| r.clone()).unwrap_or_default();
                    label for="reason" { (tr.t("field-reason")) }
                    select id="reason" name="reason" {
                        @for r in &reasons {
                            option value=(r.as_str()) selected[prior("reason") == r.as_str()] { (explain::reason(tr, *r)) }
                        }
                    }
                } @else {
                    fieldset {
                        legend { (tr.t("claim-what")) }
                        @for (n, (k, kd)) in offer.delivery.iter().enumerate() {
                            @let id = format!("claim.{n}");
                            label.choice for=(id) {
                                input type="radio" id=(id) name="claim" value=(code(*k))
                                    checked[prior("claim") == code(*k) || (prior("claim").is_empty() && n == 0)];
                                span {
                                    (tr.t(&format!("claim-{}", code(*k))))
                                    @if let Some(day) = kd.claim_window.as_ref().map(|w| w.last_day) {
                                        " " span.muted { (tr.ta("claim-until", vec![("date", tr.date(day).into())])) }
                                    }
                                }
                            }
                        }
                    }
                }
                label for="q" { (tr.t("field-quantity")) }
                select id="q" name="q" {
                    @for n in 1..=d.returnable_quantity.max(1) {
                        option value=(n) selected[q_prior == n.to_string()] { (n) }
                    }
                }
                fieldset {
                    legend { (tr.t("field-outcome")) }
                    @for (n, (value, label)) in steps::outcomes(tr, d, None, 1).into_iter().enumerate() {
                        @let id = format!("outcome.{n}");
                        label.choice for=(id) {
                            input type="radio" id=(id) name="outcome" value=(value) checked[prior("outcome") == value];
                            span { (label) }
                        }
                    }
                }
                label for="comment" { (tr.t("claim-comment")) }
                textarea id="comment" name="comment" maxlength="2000" { (prior("comment")) }
                @let p_name = format!("photos.{line}");
                label for=(p_name) {
                    @if d.require_photos { (tr.t("field-photos-required")) } @else { (tr.t("field-photos")) }
                }
                input type="file" id=(p_name) name=(p_name) accept="image/jpeg,image/png,image/webp" multiple aria-describedby="photos-hint";
                p.muted id="photos-hint" {
                    (tr.ta("field-photos-hint", vec![("max", steps::upload_megabytes().into()), ("count", u32::try_from(kembali_app::returns::MAX_PHOTOS).unwrap_or(u32::MAX).into())]))
                }
                button type="submit" { (tr.t("order-continue")) }
            }
            p { a href=(back) { (tr.t("review-change")) } }
        },
    )
}

pub(crate) async fn claim(Path(p): Path<ClaimPath>, posted: Posted) -> Response {
    let Posted {
        v,
        o,
        form,
        uploads,
    } = posted;
    let tr = v.tr;
    let kind = form.get("kind").unwrap_or("").to_owned();
    let again = |status, errors: Vec<String>| {
        let (v, o, form, line, kind) = (&v, &o, &form, &p.line, &kind);
        async move { claim_form(v, o, line, kind, status, &errors, Some(form)).await }
    };
    if v.check_csrf(&form).is_none() {
        return again(StatusCode::FORBIDDEN, vec![tr.t("error-csrf")]).await;
    }
    let Some(line) = p
        .line
        .parse::<LineId>()
        .ok()
        .filter(|l| o.decision(*l).is_some())
    else {
        return steps::tampered(&v, &o);
    };
    let item = o.title(line);
    // The claim and its reason, as the form names them.
    let (claim, reason) = match kind.as_str() {
        "warranty" => match form.get("reason").and_then(ReturnReason::parse) {
            Some(r) => (None, r),
            None => {
                return again(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    vec![tr.ta("error-reason", vec![("item", item.as_str().into())])],
                )
                .await;
            }
        },
        "delivery" => match form.get("claim").and_then(parse_code) {
            Some(k) => (Some(k), delivery_reason(k)),
            None if form.get("claim").unwrap_or("").is_empty() => {
                return again(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    vec![tr.t("error-claim-kind")],
                )
                .await;
            }
            None => return steps::tampered(&v, &o),
        },
        _ => return steps::tampered(&v, &o),
    };
    let Ok(quantity) = form.get("q").unwrap_or("").trim().parse::<u32>() else {
        return steps::tampered(&v, &o);
    };
    // Decided again now, for exactly this: a claim whose window has ended is
    // refused with the decision's own sentence.
    let q = Question {
        line: Some(line),
        quantity: Some(quantity.max(1)),
        reason: Some(reason),
        claim,
        ..Question::default()
    };
    let decided = eligibility::eligibility(&v.state.app, &v.shop, o.view.order.id, &q)
        .await
        .ok()
        .and_then(|e| e.lines.into_iter().next());
    let Some(d) = decided.map(|l| l.decision) else {
        return steps::tampered(&v, &o);
    };
    let refuse = |m: String| (StatusCode::UNPROCESSABLE_ENTITY, vec![m]);
    let checked: Result<Resolution, (StatusCode, Vec<String>)> = (|| {
        if !d.eligible {
            return Err(refuse(tr.ta(
                "error-refused",
                vec![
                    ("item", item.as_str().into()),
                    ("why", explain::sentences(tr, &d.explanations).into()),
                ],
            )));
        }
        if kind == "warranty" && d.basis != Some(Basis::Warranty) {
            return Err(refuse(tr.t("claim-none")));
        }
        if quantity == 0 || quantity > d.returnable_quantity {
            return Err(refuse(tr.ta(
                "error-quantity",
                vec![
                    ("max", d.returnable_quantity.into()),
                    ("item", item.as_str().into()),
                ],
            )));
        }
        let outcome = form.get("outcome").unwrap_or("");
        if outcome.is_empty() {
            return Err(refuse(
                tr.ta("error-resolution", vec![("item", item.as_str().into())]),
            ));
        }
        let Some(r) = Resolution::parse(outcome).filter(|r| d.resolutions.contains(r)) else {
            return Err((StatusCode::BAD_REQUEST, vec![tr.t("error-tampered")]));
        };
        Ok(r)
    })();
    let resolution = match checked {
        Ok(r) => r,
        Err((status, errors)) => return again(status, errors).await,
    };
    let comment = form.get("comment").map(str::trim).filter(|c| !c.is_empty());
    if let Some(c) = comment
        && text::check(c, TextForm::Prose, kembali_app::returns::MAX_COMMENT).is_err()
    {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![tr.ta("error-comment", vec![("item", item.as_str().into())])],
        )
        .await;
    }
    let draft = Draft {
        items: vec![DraftItem {
            line,
            quantity,
            reason,
            resolution,
            variant: None,
            comment: comment.map(str::to_owned),
            claim,
            photos: Vec::new(),
        }],
        method: None,
        destination: None,
        point: None,
    };
    // The photos the claim's decision asks for, checked and re-encoded as the
    // items form's are.
    match steps::with_photos(&v, &o, draft, &uploads, None).await {
        Ok(draft) => steps::next_step(&v, &o, draft).await,
        Err(Ok(errors)) => again(StatusCode::UNPROCESSABLE_ENTITY, errors).await,
        Err(Err(e)) => v.internal(&e),
    }
}

/// The keys built from codes here, for the i18n test.
pub fn dynamic_keys() -> Vec<String> {
    DELIVERY
        .iter()
        .map(|k| format!("claim-{}", code(*k)))
        .collect()
}

/// What the review and status pages say of a claim item: its kind.
pub(super) fn kind_words(tr: Tr, d: &Decision, claim: Option<ClaimKind>) -> Option<String> {
    match (d.basis, claim) {
        (Some(Basis::Warranty), _) => Some(tr.t("claim-warranty-kind")),
        (Some(Basis::DeliveryClaim), Some(k)) => Some(tr.ta(
            "claim-delivery-kind",
            vec![("what", tr.t(&format!("claim-{}", code(k))).into())],
        )),
        (Some(Basis::DeliveryClaim), None) => Some(tr.t("claim-delivery-title")),
        _ => None,
    }
}
