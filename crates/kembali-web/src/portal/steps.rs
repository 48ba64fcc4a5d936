//! The steps of a return, one handler per page and per form: find the order,
//! choose items and outcomes, choose how the parcel comes back, review and
//! confirm, follow the return.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kembali_app::AppError;
use kembali_app::eligibility::{self, Eligibility, LineDecision, Question};
use kembali_app::error::PhotoError;
use kembali_app::idempotency::{self, Key};
use kembali_app::orders::OrderView;
use kembali_app::photos::{self, MAX_UPLOAD_BYTES};
use kembali_app::portal::{ExchangeOption, Lookup};
use kembali_app::returns::{self, ItemRequest, Preview, ReturnRequest};
use kembali_core::dropoff::PointRef;
use kembali_core::payout::DestinationRequest;
use kembali_core::policy::{ClaimKind, DestinationKind};
use kembali_core::returns::{Actor, OpenError, Resolution, ReturnMethod, ReturnReason};
use kembali_core::text::{self, Form as TextForm};
use kembali_core::{LineId, Money, OrderId, VariantId};
use maud::html;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    Client, ClientAddr, Form, ShopPath, TokenPath, Unread, Upload, Visit, client, explain, sign,
};
use crate::AppState;
use crate::i18n::Tr;

/// The shopper's choices, carried signed from step to step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Draft {
    pub items: Vec<DraftItem>,
    #[serde(default)]
    pub method: Option<ReturnMethod>,
    /// Where a refund of a cash-on-delivery order goes, as the shopper typed it
    /// (checked when it came in and again by `returns::open`). The draft is
    /// encrypted, so the account number never shows in an address.
    #[serde(default)]
    pub destination: Option<DestinationRequest>,
    /// The drop-off point chosen: carrier and the point's id.
    #[serde(default)]
    pub point: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DraftItem {
    pub line: LineId,
    pub quantity: u32,
    pub reason: ReturnReason,
    pub resolution: Resolution,
    #[serde(default)]
    pub variant: Option<VariantId>,
    #[serde(default)]
    pub comment: Option<String>,
    /// A delivery claim instead of a return (a warranty claim needs no flag:
    /// its reason, after the return windows, makes it one).
    #[serde(default)]
    pub claim: Option<ClaimKind>,
    /// The ids of the photos uploaded for the item (`kembali_app::photos`).
    #[serde(default)]
    pub photos: Vec<String>,
}

impl Draft {
    fn request(&self, order: OrderId) -> ReturnRequest {
        ReturnRequest {
            order_id: order,
            // Before the method is chosen, price as the first the policy offers.
            method: self.method.unwrap_or(ReturnMethod::DropOff),
            items: self
                .items
                .iter()
                .map(|i| ItemRequest {
                    line_id: i.line,
                    quantity: i.quantity,
                    reason: i.reason,
                    comment: i.comment.clone(),
                    photos: i.photos.clone(),
                    resolution: i.resolution,
                    exchange_variant_id: i.variant,
                    claim: i.claim,
                    // The declared condition is not asked for.
                    condition: None,
                })
                .collect(),
            refund_destination: self.destination.clone(),
            // Kept with the return; a draft priced for another method has none.
            dropoff_point: self
                .point
                .as_ref()
                .filter(|_| self.method == Some(ReturnMethod::DropOff))
                .map(|(carrier, id)| PointRef {
                    carrier: carrier.clone(),
                    id: id.clone(),
                }),
        }
    }
}

/// Each draft item's decision as `returns::open` will make it (its line,
/// quantity, reason and claim), by position; `None` where the policy cannot say.
pub(super) async fn decisions(
    v: &Visit,
    o: &Opened,
    draft: &Draft,
) -> Vec<Option<kembali_core::policy::Decision>> {
    let mut out = Vec::with_capacity(draft.items.len());
    for i in &draft.items {
        let q = Question {
            line: Some(i.line),
            quantity: Some(i.quantity),
            reason: Some(i.reason),
            claim: i.claim,
            ..Question::default()
        };
        let d = eligibility::eligibility(&v.state.app, &v.shop, o.view.order.id, &q)
            .await
            .ok()
            .and_then(|e| e.lines.into_iter().next())
            .map(|l| l.decision);
        out.push(d);
    }
    out
}

/// Whether the item travels back: not kept, and not a claim about goods that
/// never reached the shopper.
fn travels(item: &DraftItem, d: Option<&kembali_core::policy::Decision>) -> bool {
    item.resolution != Resolution::KeepItem
        && d.is_none_or(|d| d.methods != [ReturnMethod::NoShipping])
}

/// The destinations a refund of `draft` may go to when it must be named (a
/// cash-on-delivery order's refund: the decision of an item refunded in money
/// does not offer the original payment method); `None` when the original
/// payment method will do or nothing is refunded in money.
pub(super) async fn destinations_needed(
    v: &Visit,
    o: &Opened,
    draft: &Draft,
) -> Option<Vec<DestinationKind>> {
    destinations_of(draft, &decisions(v, o, draft).await)
}

/// [`destinations_needed`] from the items' decisions.
fn destinations_of(
    draft: &Draft,
    decided: &[Option<kembali_core::policy::Decision>],
) -> Option<Vec<DestinationKind>> {
    let mut allowed: Option<Vec<DestinationKind>> = None;
    for (i, d) in draft.items.iter().zip(decided) {
        let Some(d) = d else { continue };
        let money = matches!(i.resolution, Resolution::Refund | Resolution::KeepItem);
        if !money
            || d.refund_destinations.is_empty()
            || d.refund_destinations
                .contains(&DestinationKind::OriginalMethod)
        {
            continue;
        }
        allowed = Some(match allowed {
            None => d.refund_destinations.clone(),
            Some(before) => before
                .into_iter()
                .filter(|k| d.refund_destinations.contains(k))
                .collect(),
        });
    }
    allowed
}

/// After a step, the next one the draft still needs: where the money goes
/// (when the order's refund needs it), how the parcel comes back (unless
/// nothing travels), the drop-off point (for a drop-off, where the shop has
/// points), then the review.
pub(super) async fn next_step(v: &Visit, o: &Opened, mut draft: Draft) -> Response {
    let decided = decisions(v, o, &draft).await;
    let travel = draft
        .items
        .iter()
        .zip(&decided)
        .any(|(i, d)| travels(i, d.as_ref()));
    if !travel {
        draft.method = Some(ReturnMethod::NoShipping);
        draft.point = None;
    }
    // Where the money goes comes first: the methods are priced with it.
    let to = if draft.destination.is_none() && destinations_of(&draft, &decided).is_some() {
        Some("refund")
    } else if !travel {
        None
    } else if matches!(draft.method, None | Some(ReturnMethod::NoShipping)) {
        draft.method = None;
        Some("method")
    } else if draft.method == Some(ReturnMethod::DropOff)
        && draft.point.is_none()
        && !super::paper::points(v, &o.view.order.shipping_address.postal_code)
            .await
            .is_empty()
    {
        Some("point")
    } else {
        None
    };
    let to = to.unwrap_or("review");
    let sealed = seal(v, o.view.order.id, &draft);
    v.redirect(&format!("{}/o/{}/{to}?d={sealed}", v.base(), o.token))
}

// ---------------------------------------------------------------- find the order

pub(crate) async fn lookup_form(
    State(state): State<AppState>,
    Path(p): Path<ShopPath>,
    uri: Uri,
    headers: HeaderMap,
    c: Client,
) -> Response {
    let v = match Visit::start(&state, &p.shop, &uri, &headers, client(c)).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    lookup_page(&v, StatusCode::OK, None, "", "")
}

fn lookup_page(
    v: &Visit,
    status: StatusCode,
    error: Option<String>,
    number: &str,
    proof: &str,
) -> Response {
    let tr = v.tr;
    let title = tr.t("lookup-title");
    v.render(
        status,
        &title,
        html! {
            @if let Some(e) = &error {
                div.error role="alert" { p { (e) } }
            }
            p { (tr.t("lookup-intro")) }
            form method="post" action=(v.base()) {
                (v.csrf_field())
                label for="number" { (tr.t("lookup-number")) }
                input type="text" id="number" name="number" required autocomplete="off" value=(number);
                label for="proof" { (tr.t("lookup-proof")) }
                input type="text" id="proof" name="proof" required autocomplete="email" value=(proof);
                button type="submit" { (tr.t("lookup-submit")) }
            }
        },
    )
}

pub(crate) async fn lookup(
    State(state): State<AppState>,
    Path(p): Path<ShopPath>,
    uri: Uri,
    headers: HeaderMap,
    c: Client,
    body: Bytes,
) -> Response {
    let v = match Visit::start(&state, &p.shop, &uri, &headers, client(c)).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let tr = v.tr;
    let Some(form) = Form::parse(&body) else {
        return lookup_page(
            &v,
            StatusCode::BAD_REQUEST,
            Some(tr.t("error-generic")),
            "",
            "",
        );
    };
    let number = form.get("number").unwrap_or("");
    let proof = form.get("proof").unwrap_or("");
    if v.check_csrf(&form).is_none() {
        return lookup_page(
            &v,
            StatusCode::FORBIDDEN,
            Some(tr.t("error-csrf")),
            number,
            proof,
        );
    }
    match kembali_app::portal::find_order(&v.state.app, &v.shop, number, proof, &v.client).await {
        Ok(Lookup::Found(order)) => {
            let token = v
                .signer()
                .order_token(order, v.now_ms() + sign::LOOKUP_TTL_MS);
            v.redirect(&format!("{}/o/{token}", v.base()))
        }
        Ok(Lookup::NotFound) => lookup_page(
            &v,
            StatusCode::NOT_FOUND,
            Some(tr.t("lookup-not-found")),
            number,
            proof,
        ),
        Ok(Lookup::TooMany) => lookup_page(
            &v,
            StatusCode::TOO_MANY_REQUESTS,
            Some(tr.t("lookup-too-many")),
            number,
            "",
        ),
        Err(e) => v.internal(&e),
    }
}

// ---------------------------------------------------------------- the order

/// The order a token opens, with what can come back of it.
pub(super) struct Opened {
    pub token: String,
    pub view: OrderView,
    pub eligibility: Eligibility,
}

pub(super) async fn open(v: &Visit, token: &str) -> Result<Opened, Response> {
    let Some(order) = v.signer().open_order(token, v.now_ms()) else {
        return Err(v.problem(StatusCode::FORBIDDEN, &[v.tr.t("error-link")], &v.base()));
    };
    let app = &v.state.app;
    let view = match kembali_app::orders::get(app, &v.shop, order).await {
        Ok(view) => view,
        Err(AppError::NotFound(_)) => {
            return Err(v.problem(StatusCode::NOT_FOUND, &[v.tr.t("error-link")], &v.base()));
        }
        Err(e) => return Err(v.internal(&e)),
    };
    if view.cancelled_at.is_some() {
        return Err(v.problem(
            StatusCode::CONFLICT,
            &[v.tr.t("error-cancelled")],
            &v.base(),
        ));
    }
    let eligibility =
        match eligibility::eligibility(app, &v.shop, order, &Question::default()).await {
            Ok(e) => e,
            Err(e) => return Err(v.internal(&e)),
        };
    Ok(Opened {
        token: token.to_owned(),
        view,
        eligibility,
    })
}

impl Opened {
    pub fn decision(&self, line: LineId) -> Option<&LineDecision> {
        self.eligibility.lines.iter().find(|l| l.line_id == line)
    }

    pub fn title(&self, line: LineId) -> String {
        self.view
            .order
            .line(line)
            .map_or_else(String::new, |l| l.title.clone())
    }
}

/// The variants each eligible line could be exchanged for.
async fn exchange_options(
    v: &Visit,
    o: &Opened,
) -> Result<HashMap<LineId, Vec<ExchangeOption>>, AppError> {
    let mut out = HashMap::new();
    for l in &o.eligibility.lines {
        if !l.decision.resolutions.contains(&Resolution::Exchange) {
            continue;
        }
        let Some(line) = o.view.order.line(l.line_id) else {
            continue;
        };
        let Some(product) = line.product_id else {
            continue;
        };
        let options = kembali_app::portal::exchange_options(
            &v.state.app,
            v.shop.id,
            product,
            line.variant_id,
            o.view.order.currency,
            1,
        )
        .await?;
        out.insert(l.line_id, options);
    }
    Ok(out)
}

/// The reasons the shop offers in this language, in its order.
pub(super) async fn reasons(v: &Visit) -> Vec<(ReturnReason, String)> {
    let offered = kembali_app::shops::get(&v.state.app, v.shop.id)
        .await
        .ok()
        .and_then(|s| s.settings.reasons.get(&v.tr.locale).cloned());
    match offered {
        Some(list) if !list.is_empty() => list.into_iter().map(|r| (r.reason, r.label)).collect(),
        _ => ReturnReason::ALL
            .into_iter()
            .map(|r| (r, explain::reason(v.tr, r)))
            .collect(),
    }
}

pub(crate) async fn order_page(
    State(state): State<AppState>,
    Path(p): Path<TokenPath>,
    uri: Uri,
    headers: HeaderMap,
    c: Client,
) -> Response {
    let v = match Visit::start(&state, &p.shop, &uri, &headers, client(c)).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let o = match open(&v, &p.token).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    // Back from a later step: the choices made so far, photos included.
    let kept = unseal(&v, o.view.order.id, query_param(&uri, "d").as_deref());
    let form = kept.as_ref().map(prefill);
    items_page(&v, &o, StatusCode::OK, &[], form.as_ref(), kept.as_ref()).await
}

/// The items form as `draft` would have filled it.
fn prefill(draft: &Draft) -> Form {
    let mut pairs = Vec::new();
    for i in &draft.items {
        let line = i.line;
        pairs.push((format!("q.{line}"), i.quantity.to_string()));
        pairs.push((format!("reason.{line}"), i.reason.as_str().to_owned()));
        let outcome = match i.variant {
            Some(x) if i.resolution == Resolution::Exchange => format!("exchange:{x}"),
            _ => i.resolution.as_str().to_owned(),
        };
        pairs.push((format!("outcome.{line}"), outcome));
        if let Some(c) = &i.comment {
            pairs.push((format!("comment.{line}"), c.clone()));
        }
    }
    Form::from_pairs(pairs)
}

/// The largest items form taken: several photos at their largest, and the rest.
pub(super) const ITEMS_BODY_LIMIT: usize = 5 * MAX_UPLOAD_BYTES + 256 * 1024;

/// `MAX_UPLOAD_BYTES` in whole megabytes, for the words.
pub(super) fn upload_megabytes() -> u32 {
    u32::try_from(MAX_UPLOAD_BYTES / (1024 * 1024)).unwrap_or(u32::MAX)
}

async fn items_page(
    v: &Visit,
    o: &Opened,
    status: StatusCode,
    errors: &[String],
    form: Option<&Form>,
    kept: Option<&Draft>,
) -> Response {
    let tr = v.tr;
    let options = match exchange_options(v, o).await {
        Ok(x) => x,
        Err(e) => return v.internal(&e),
    };
    let reasons = reasons(v).await;
    let claim_offers = super::claims::offers(v, o, None).await;
    let order = &o.view.order;
    let tz = v.shop.tz().unwrap_or(jiff::tz::TimeZone::UTC);
    let placed = tz.to_datetime(o.view.order.placed_at).date();
    let any = o.eligibility.lines.iter().any(|l| l.decision.eligible);
    let prior = |name: String| form.and_then(|f| f.get(&name)).map(str::to_owned);
    let title = tr.ta(
        "order-title",
        vec![("number", order.number.as_str().into())],
    );
    let action = format!("{}/o/{}", v.base(), o.token);
    let kept_photos = |line: LineId| {
        kept.and_then(|d| d.items.iter().find(|i| i.line == line))
            .map_or(0, |i| u32::try_from(i.photos.len()).unwrap_or(u32::MAX))
    };
    let sealed_kept = kept.map(|d| seal(v, o.view.order.id, d));
    v.render(
        status,
        &title,
        html! {
            @if !errors.is_empty() {
                div.error role="alert" { ul { @for e in errors { li { (e) } } } }
            }
            p.muted { (tr.ta("order-placed", vec![("date", tr.date(placed).into())])) }
            @if any { p { (tr.t("order-intro")) } } @else { p { (tr.t("order-none")) } }
            form method="post" action=(action) enctype="multipart/form-data" {
                (v.csrf_field())
                @if let Some(d) = &sealed_kept {
                    input type="hidden" name="d" value=(d);
                }
                @for l in &o.eligibility.lines {
                    @let line = order.line(l.line_id);
                    @let id = l.line_id.to_string();
                    @let d = &l.decision;
                    section.item aria-labelledby=(format!("t-{id}")) {
                        h2 id=(format!("t-{id}")) { (line.map_or("", |x| x.title.as_str())) }
                        p.muted {
                            (line.map_or("", |x| x.sku.as_str())) " · "
                            (tr.ta("item-bought", vec![("n", line.map_or(0, |x| x.quantity).into())]))
                        }
                        @if d.eligible {
                            p { span.ok { (tr.t("item-returnable")) } " " (explain::sentences(tr, &d.explanations)) }
                            @let q_name = format!("q.{id}");
                            @let q_prior = prior(q_name.clone()).unwrap_or_else(|| "0".into());
                            label for=(q_name) { (tr.t("field-quantity")) }
                            select id=(q_name) name=(q_name) {
                                @for n in 0..=d.returnable_quantity {
                                    option value=(n) selected[q_prior == n.to_string()] { (n) }
                                }
                            }
                            @let r_name = format!("reason.{id}");
                            @let r_prior = prior(r_name.clone()).unwrap_or_default();
                            label for=(r_name) { (tr.t("field-reason")) }
                            select id=(r_name) name=(r_name) {
                                option value="" { (tr.t("field-reason-choose")) }
                                @for (r, label) in &reasons {
                                    option value=(r.as_str()) selected[r_prior == r.as_str()] { (label) }
                                }
                            }
                            @let o_name = format!("outcome.{id}");
                            @let o_prior = prior(o_name.clone()).unwrap_or_default();
                            fieldset {
                                legend { (tr.t("field-outcome")) }
                                @for (n, (value, label)) in outcomes(tr, d, options.get(&l.line_id), l.quantity).into_iter().enumerate() {
                                    @let input_id = format!("{o_name}.{n}");
                                    label.choice for=(input_id) {
                                        input type="radio" id=(input_id) name=(o_name) value=(value) checked[o_prior == value];
                                        span { (label) }
                                    }
                                }
                            }
                            @let c_name = format!("comment.{id}");
                            label for=(c_name) { (tr.t("field-comment")) }
                            textarea id=(c_name) name=(c_name) maxlength="2000" { (prior(c_name.clone()).unwrap_or_default()) }
                            @let p_name = format!("photos.{id}");
                            @let p_hint = format!("photos-hint.{id}");
                            label for=(p_name) {
                                @if d.require_photos { (tr.t("field-photos-required")) } @else { (tr.t("field-photos")) }
                            }
                            input type="file" id=(p_name) name=(p_name) accept="image/jpeg,image/png,image/webp" multiple aria-describedby=(p_hint);
                            p.muted id=(p_hint) {
                                (tr.ta("field-photos-hint", vec![("max", upload_megabytes().into()), ("count", u32::try_from(returns::MAX_PHOTOS).unwrap_or(u32::MAX).into())]))
                                @let n = kept_photos(l.line_id);
                                @if n > 0 { " " (tr.ta("field-photos-kept", vec![("n", n.into())])) }
                            }
                        } @else {
                            p { span.no { (tr.t("item-not-returnable")) } " " (explain::sentences(tr, &d.explanations)) }
                        }
                        (super::claims::links(v, o, l.line_id, claim_offers.get(&l.line_id)))
                    }
                }
                @if any {
                    button type="submit" { (tr.t("order-continue")) }
                }
            }
        },
    )
}

/// The outcomes offered for a line: (form value, words).
pub(super) fn outcomes(
    tr: Tr,
    d: &kembali_core::policy::Decision,
    exchange: Option<&Vec<ExchangeOption>>,
    quantity: u32,
) -> Vec<(String, String)> {
    let refund = d.refund_preview.unwrap_or(d.item_amount);
    let credit = d.store_credit_preview.unwrap_or(refund);
    let mut out = Vec::new();
    for r in &d.resolutions {
        match r {
            Resolution::Refund => out.push((
                r.as_str().to_owned(),
                tr.ta("outcome-refund", vec![("amount", tr.money(refund).into())]),
            )),
            Resolution::StoreCredit => {
                let words = if credit.amount > refund.amount {
                    tr.ta(
                        "outcome-credit-bonus",
                        vec![
                            ("credit", tr.money(credit).into()),
                            ("refund", tr.money(refund).into()),
                        ],
                    )
                } else {
                    tr.ta("outcome-credit", vec![("credit", tr.money(credit).into())])
                };
                out.push((r.as_str().to_owned(), words));
            }
            Resolution::Exchange => {
                for x in exchange.into_iter().flatten() {
                    let cost = x.price.checked_mul(i64::from(quantity.max(1)));
                    let difference = cost
                        .and_then(|c| c.checked_sub(d.item_amount))
                        .unwrap_or(Money::zero(d.item_amount.currency));
                    out.push((
                        format!("exchange:{}", x.variant_id),
                        tr.ta(
                            "outcome-exchange",
                            vec![
                                ("variant", x.title.as_str().into()),
                                ("difference", difference_words(tr, difference).into()),
                            ],
                        ),
                    ));
                }
            }
            Resolution::KeepItem => out.push((
                r.as_str().to_owned(),
                tr.ta("outcome-keep", vec![("amount", tr.money(refund).into())]),
            )),
            other => out.push((other.as_str().to_owned(), explain::resolution(tr, *other))),
        }
    }
    out
}

fn difference_words(tr: Tr, difference: Money) -> String {
    match difference.amount.signum() {
        1 => tr.ta(
            "difference-pay",
            vec![("amount", tr.money(difference).into())],
        ),
        -1 => tr.ta(
            "difference-back",
            vec![(
                "amount",
                tr.money(Money::new(-difference.amount, difference.currency))
                    .into(),
            )],
        ),
        _ => tr.t("difference-none"),
    }
}

pub(crate) async fn choose_items(
    State(state): State<AppState>,
    Path(p): Path<TokenPath>,
    uri: Uri,
    headers: HeaderMap,
    c: Client,
    req: Request,
) -> Response {
    let v = match Visit::start(&state, &p.shop, &uri, &headers, client(c)).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let o = match open(&v, &p.token).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let tr = v.tr;
    let (form, uploads) = match Form::read(req, &state).await {
        Ok(x) => x,
        Err(e) => {
            let (status, error) = unread(tr, &e);
            return items_page(&v, &o, status, &[error], None, None).await;
        }
    };
    let kept = unseal(&v, o.view.order.id, form.get("d"));
    if v.check_csrf(&form).is_none() {
        return items_page(
            &v,
            &o,
            StatusCode::FORBIDDEN,
            &[tr.t("error-csrf")],
            Some(&form),
            kept.as_ref(),
        )
        .await;
    }
    let options = match exchange_options(&v, &o).await {
        Ok(x) => x,
        Err(e) => return v.internal(&e),
    };
    let draft = match read_items(tr, &o, &form, &options) {
        Ok(draft) => draft,
        Err((status, errors)) => {
            return items_page(&v, &o, status, &errors, Some(&form), kept.as_ref()).await;
        }
    };
    match with_photos(&v, &o, draft, &uploads, kept.as_ref()).await {
        Ok(draft) => next_step(&v, &o, draft).await,
        Err(Ok(errors)) => {
            items_page(
                &v,
                &o,
                StatusCode::UNPROCESSABLE_ENTITY,
                &errors,
                Some(&form),
                kept.as_ref(),
            )
            .await
        }
        Err(Err(e)) => v.internal(&e),
    }
}

/// The answer to a form that could not be read, in the page's language: one
/// over its route's limit (the photo forms', [`ITEMS_BODY_LIMIT`]) or not
/// well formed.
fn unread(tr: Tr, e: &Unread) -> (StatusCode, String) {
    match e {
        Unread::TooLarge => {
            let max = u32::try_from(ITEMS_BODY_LIMIT / (1024 * 1024)).unwrap_or(u32::MAX);
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                tr.ta("error-photos-total", vec![("max", max.into())]),
            )
        }
        Unread::Malformed => (StatusCode::BAD_REQUEST, tr.t("error-tampered")),
    }
}

/// The draft with each item's photos: the files posted for it (input
/// `photos.{line}`), each checked and re-encoded by `kembali_app::photos`, or
/// else the ones `kept` (the draft the shopper came back from) had. Refuses an
/// item whose decision, for its reason, requires photos and has none, and every
/// file that is not a photo, in the page's language naming the item. Every
/// count is checked before anything is stored.
pub(super) async fn with_photos(
    v: &Visit,
    o: &Opened,
    mut draft: Draft,
    uploads: &[Upload],
    kept: Option<&Draft>,
) -> Result<Draft, Result<Vec<String>, AppError>> {
    let tr = v.tr;
    let decided = decisions(v, o, &draft).await;
    let mut errors = Vec::new();
    let mut posted: Vec<Vec<&Upload>> = Vec::with_capacity(draft.items.len());
    for (i, d) in draft.items.iter_mut().zip(&decided) {
        let name = format!("photos.{}", i.line);
        let files: Vec<&Upload> = uploads
            .iter()
            .filter(|u| u.name == name && !u.is_empty())
            .collect();
        let item = o.title(i.line);
        if files.len() > returns::MAX_PHOTOS {
            let max = u32::try_from(returns::MAX_PHOTOS).unwrap_or(u32::MAX);
            errors.push(tr.ta(
                "error-photos-many",
                vec![("max", max.into()), ("item", item.as_str().into())],
            ));
        } else if files.is_empty() {
            i.photos = kept
                .and_then(|k| k.items.iter().find(|k| k.line == i.line))
                .map(|k| k.photos.clone())
                .unwrap_or_default();
            if i.photos.is_empty() && d.as_ref().is_some_and(|d| d.require_photos) {
                errors.push(tr.ta("error-photos-missing", vec![("item", item.as_str().into())]));
            }
        }
        posted.push(files);
    }
    if !errors.is_empty() {
        return Err(Ok(errors));
    }
    for (i, files) in draft.items.iter_mut().zip(posted) {
        if files.is_empty() {
            continue;
        }
        let item = o.title(i.line);
        let mut ids = Vec::with_capacity(files.len());
        for f in files {
            match photos::upload(&v.state.app, v.shop.id, &f.bytes).await {
                Ok(p) => ids.push(p.id.to_string()),
                Err(AppError::Photo(e)) => errors.push(photo_error(tr, &item, &f.filename, &e)),
                Err(e) => return Err(Err(e)),
            }
        }
        i.photos = ids;
    }
    if errors.is_empty() {
        Ok(draft)
    } else {
        Err(Ok(errors))
    }
}

/// Why a file posted as a photo of `item` was refused, in the page's language.
fn photo_error(tr: Tr, item: &str, filename: &str, e: &PhotoError) -> String {
    // The name as the shopper's device has it, shortened: only ever shown back.
    let file: String = match filename.trim() {
        "" => "—".to_owned(),
        f if f.chars().count() > 80 => f.chars().take(79).chain(['…']).collect(),
        f => f.to_owned(),
    };
    let args = |mut extra: Vec<(&'static str, crate::i18n::Arg)>| {
        extra.push(("item", item.into()));
        extra.push(("file", file.as_str().into()));
        extra
    };
    match e {
        PhotoError::Empty => tr.ta("error-photo-empty", args(vec![])),
        PhotoError::TooLarge { .. } => tr.ta(
            "error-photo-large",
            args(vec![("max", upload_megabytes().into())]),
        ),
        PhotoError::UnsupportedType {
            found: Some("HEIC"),
        } => tr.ta("error-photo-heic", args(vec![])),
        PhotoError::UnsupportedType { .. } => tr.ta("error-photo-type", args(vec![])),
        PhotoError::Dimensions {
            max_side,
            max_megapixels,
            ..
        } => tr.ta(
            "error-photo-dimensions",
            args(vec![
                ("side", (*max_side).into()),
                ("megapixels", (*max_megapixels).into()),
            ]),
        ),
        PhotoError::Unreadable { .. } => tr.ta("error-photo-unreadable", args(vec![])),
    }
}

/// The items form read against the order and its decisions; every refusal in
/// the page's language.
fn read_items(
    tr: Tr,
    o: &Opened,
    form: &Form,
    options: &HashMap<LineId, Vec<ExchangeOption>>,
) -> Result<Draft, (StatusCode, Vec<String>)> {
    let tampered = || (StatusCode::BAD_REQUEST, vec![tr.t("error-tampered")]);
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for (name, value) in form.fields() {
        let Some(line) = name.strip_prefix("q.") else {
            continue;
        };
        let line: LineId = line.parse().map_err(|_| tampered())?;
        let decided = o.decision(line).ok_or_else(tampered)?;
        let quantity: u32 = value.trim().parse().map_err(|_| tampered())?;
        if quantity == 0 {
            continue;
        }
        let item = o.title(line);
        let d = &decided.decision;
        if !d.eligible {
            errors.push(tr.ta(
                "error-refused",
                vec![
                    ("item", item.as_str().into()),
                    ("why", explain::sentences(tr, &d.explanations).into()),
                ],
            ));
            continue;
        }
        if quantity > d.returnable_quantity {
            errors.push(tr.ta(
                "error-quantity",
                vec![
                    ("max", d.returnable_quantity.into()),
                    ("item", item.as_str().into()),
                ],
            ));
            continue;
        }
        let reason = form
            .get(&format!("reason.{line}"))
            .and_then(ReturnReason::parse);
        let Some(reason) = reason else {
            errors.push(tr.ta("error-reason", vec![("item", item.as_str().into())]));
            continue;
        };
        let outcome = form.get(&format!("outcome.{line}")).unwrap_or("");
        let (resolution, variant) = match outcome.split_once(':') {
            Some(("exchange", id)) => {
                let offered = options
                    .get(&line)
                    .and_then(|xs| xs.iter().find(|x| x.variant_id.to_string() == id));
                match offered {
                    Some(x) => (Resolution::Exchange, Some(x.variant_id)),
                    None => return Err(tampered()),
                }
            }
            Some(_) => return Err(tampered()),
            None if outcome.is_empty() => {
                errors.push(tr.ta("error-resolution", vec![("item", item.as_str().into())]));
                continue;
            }
            None => match Resolution::parse(outcome) {
                Some(r) if r != Resolution::Exchange => (r, None),
                _ => return Err(tampered()),
            },
        };
        if !d.resolutions.contains(&resolution) {
            errors.push(tr.ta("error-resolution", vec![("item", item.as_str().into())]));
            continue;
        }
        let comment = form
            .get(&format!("comment.{line}"))
            .map(str::trim)
            .filter(|c| !c.is_empty());
        if let Some(c) = comment
            && text::check(c, TextForm::Prose, returns::MAX_COMMENT).is_err()
        {
            errors.push(tr.ta("error-comment", vec![("item", item.as_str().into())]));
            continue;
        }
        if items.iter().any(|i: &DraftItem| i.line == line) {
            return Err(tampered());
        }
        items.push(DraftItem {
            line,
            quantity,
            reason,
            resolution,
            variant,
            comment: comment.map(str::to_owned),
            claim: None,
            photos: Vec::new(),
        });
    }
    if !errors.is_empty() {
        return Err((StatusCode::UNPROCESSABLE_ENTITY, errors));
    }
    if items.is_empty() {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![tr.t("error-nothing")],
        ));
    }
    Ok(Draft {
        items,
        method: None,
        destination: None,
        point: None,
    })
}

pub(super) fn seal(v: &Visit, order: OrderId, draft: &Draft) -> String {
    let json = serde_json::to_string(draft).unwrap_or_default();
    v.signer().seal(order, &json, v.state.app.entropy())
}

/// The draft of the page's `d` parameter (or form field), if genuine.
fn unseal(v: &Visit, order: OrderId, sealed: Option<&str>) -> Option<Draft> {
    let json = v.signer().unseal(order, sealed?)?;
    serde_json::from_str(&json).ok()
}

pub(super) fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A draft that did not survive the way is refused the same way everywhere.
pub(super) fn tampered(v: &Visit, o: &Opened) -> Response {
    v.problem(
        StatusCode::BAD_REQUEST,
        &[v.tr.t("error-tampered")],
        &format!("{}/o/{}", v.base(), o.token),
    )
}

/// What `open` (or its preview) refused, in the page's language; `None` for
/// what is not the shopper's doing.
pub(super) fn refusal(v: &Visit, o: &Opened, draft: &Draft, e: &AppError) -> Option<String> {
    let tr = v.tr;
    let item = |index: &usize| -> crate::i18n::Arg {
        draft
            .items
            .get(*index)
            .map_or_else(String::new, |i| o.title(i.line))
            .into()
    };
    Some(match e {
        AppError::Refused(OpenError::NotEligible {
            index,
            explanations,
        }) => tr.ta(
            "error-refused",
            vec![
                ("item", item(index)),
                ("why", explain::sentences(tr, explanations).into()),
            ],
        ),
        AppError::Refused(OpenError::Quantity { index, available }) => tr.ta(
            "error-quantity",
            vec![("max", (*available).into()), ("item", item(index))],
        ),
        AppError::Refused(OpenError::Method { .. }) => tr.t("error-method"),
        AppError::Refused(OpenError::PhotosRequired { .. }) => tr.t("error-photos"),
        AppError::Refused(OpenError::Destination { .. }) => tr.t("error-destination"),
        AppError::Refused(OpenError::Resolution { index, .. }) => {
            tr.ta("error-resolution", vec![("item", item(index))])
        }
        AppError::Refused(_) | AppError::Invalid { .. } | AppError::UnknownLine { .. } => {
            tr.t("error-tampered")
        }
        AppError::OutOfStock { .. } => tr.t("error-out-of-stock"),
        AppError::State(_) => tr.t("error-cancelled"),
        AppError::IdempotencyMismatch => tr.t("error-replayed"),
        _ => return None,
    })
}

/// The draft `sealed` carries for `o`'s order, if genuine and not empty.
fn draft_of(v: &Visit, o: &Opened, sealed: Option<&str>) -> Option<Draft> {
    unseal(v, o.view.order.id, sealed).filter(|d| !d.items.is_empty())
}

/// A step's form as posted: the visit, the order its token opens, and the
/// form's fields and files. Extracting it opens every step's form the same
/// way, and answers with the page that refuses it when something is missing:
/// a form that cannot be read is refused as tampered with.
pub(crate) struct Posted {
    pub v: Visit,
    pub o: Opened,
    pub form: Form,
    pub uploads: Vec<Upload>,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Path(p) = Path::<TokenPath>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let c = parts.extensions.get::<ClientAddr>().copied();
        let v = Visit::start(state, &p.shop, &parts.uri, &parts.headers, c).await?;
        let o = open(&v, &p.token).await?;
        match Form::read(Request::from_parts(parts, body), state).await {
            Ok((form, uploads)) => Ok(Posted {
                v,
                o,
                form,
                uploads,
            }),
            Err(Unread::Malformed) => Err(tampered(&v, &o)),
            Err(e) => {
                let (status, error) = unread(v.tr, &e);
                let back = format!("{}/o/{}", v.base(), o.token);
                Err(v.problem(status, &[error], &back))
            }
        }
    }
}

/// A [`Posted`] form of a step on the way (method, point, refund, confirm):
/// with the draft the form carries in `d`, refused as tampered with when it
/// has none.
pub(crate) struct DraftPosted {
    pub v: Visit,
    pub o: Opened,
    pub form: Form,
    pub draft: Draft,
}

impl FromRequest<AppState> for DraftPosted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let Posted { v, o, form, .. } = Posted::from_request(req, state).await?;
        match draft_of(&v, &o, form.get("d")) {
            Some(draft) => Ok(DraftPosted { v, o, form, draft }),
            None => Err(tampered(&v, &o)),
        }
    }
}

/// A step page on the way (method, point, refund, review) as asked for: the
/// visit, the order its token opens, and the draft its link carries in `?d=`.
/// Extracting it opens every such page the same way, and answers with the page
/// that refuses it when the draft is missing or not genuine.
pub(crate) struct DraftPage {
    pub v: Visit,
    pub o: Opened,
    pub draft: Draft,
}

impl FromRequestParts<AppState> for DraftPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path(p) = Path::<TokenPath>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let c = parts.extensions.get::<ClientAddr>().copied();
        let v = Visit::start(state, &p.shop, &parts.uri, &parts.headers, c).await?;
        let o = open(&v, &p.token).await?;
        let sealed = query_param(&parts.uri, "d");
        match draft_of(&v, &o, sealed.as_deref()) {
            Some(draft) => Ok(DraftPage { v, o, draft }),
            None => Err(tampered(&v, &o)),
        }
    }
}

/// Previews `draft` as `open` would take it, or answers with the refusal.
async fn preview(v: &Visit, o: &Opened, draft: &Draft) -> Result<Preview, Response> {
    let req = draft.request(o.view.order.id);
    match returns::preview(&v.state.app, &v.shop, &req, Actor::Shopper).await {
        Ok(p) => Ok(p),
        Err(e) => Err(match refusal(v, o, draft, &e) {
            Some(m) => v.problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                &[m],
                &format!("{}/o/{}", v.base(), o.token),
            ),
            None => v.internal(&e),
        }),
    }
}

// ---------------------------------------------------------------- how it comes back

/// The methods every travelling item's decision allows, each with the return
/// shipping fee it costs (from a preview of the whole return by that method).
async fn methods(v: &Visit, o: &Opened, draft: &Draft) -> Vec<(ReturnMethod, Money)> {
    let mut allowed: Option<Vec<ReturnMethod>> = None;
    let decided = decisions(v, o, draft).await;
    for (i, d) in draft.items.iter().zip(&decided) {
        if !travels(i, d.as_ref()) {
            continue;
        }
        if let Some(d) = d {
            let here: Vec<ReturnMethod> = d
                .methods
                .iter()
                .copied()
                .filter(|m| *m != ReturnMethod::NoShipping)
                .collect();
            allowed = Some(match allowed {
                None => here,
                Some(before) => before.into_iter().filter(|m| here.contains(m)).collect(),
            });
        }
    }
    let mut out = Vec::new();
    for m in allowed.unwrap_or_default() {
        let priced = Draft {
            method: Some(m),
            ..draft.clone()
        };
        let req = priced.request(o.view.order.id);
        if let Ok(p) = returns::preview(&v.state.app, &v.shop, &req, Actor::Shopper).await {
            let fee = p
                .ret
                .quote
                .fees
                .iter()
                .filter(|f| f.kind == kembali_core::policy::FeeKind::ReturnShipping)
                .fold(Money::zero(o.view.order.currency), |sum, f| {
                    sum.checked_add(f.amount).unwrap_or(sum)
                });
            out.push((m, fee));
        }
    }
    out
}

pub(crate) async fn method_page(page: DraftPage) -> Response {
    let DraftPage { v, o, draft } = page;
    method_form(&v, &o, &draft, StatusCode::OK, &[]).await
}

async fn method_form(
    v: &Visit,
    o: &Opened,
    draft: &Draft,
    status: StatusCode,
    errors: &[String],
) -> Response {
    let tr = v.tr;
    let offered = methods(v, o, draft).await;
    let sealed = seal(v, o.view.order.id, draft);
    let title = tr.t("method-title");
    let chosen = draft.method.or(offered.first().map(|(m, _)| *m));
    v.render(
        status,
        &title,
        html! {
            @if !errors.is_empty() {
                div.error role="alert" { ul { @for e in errors { li { (e) } } } }
            }
            form method="post" action=(format!("{}/o/{}/method", v.base(), o.token)) {
                (v.csrf_field())
                input type="hidden" name="d" value=(sealed);
                fieldset {
                    legend { (title) }
                    @for (n, (m, fee)) in offered.iter().enumerate() {
                        @let id = format!("method.{n}");
                        label.choice for=(id) {
                            input type="radio" id=(id) name="method" value=(m.as_str()) checked[chosen == Some(*m)];
                            span {
                                (explain::method(tr, *m)) " — "
                                @if fee.amount == 0 { (tr.t("method-free")) }
                                @else { (tr.ta("method-fee", vec![("amount", tr.money(*fee).into())])) }
                            }
                        }
                    }
                }
                button type="submit" { (tr.t("method-continue")) }
            }
            p { a href=(format!("{}/o/{}?d={sealed}", v.base(), o.token)) { (tr.t("review-change")) } }
        },
    )
}

pub(crate) async fn choose_method(posted: DraftPosted) -> Response {
    let DraftPosted { v, o, form, draft } = posted;
    if v.check_csrf(&form).is_none() {
        return method_form(
            &v,
            &o,
            &draft,
            StatusCode::FORBIDDEN,
            &[v.tr.t("error-csrf")],
        )
        .await;
    }
    let offered = methods(&v, &o, &draft).await;
    let chosen = form
        .get("method")
        .and_then(ReturnMethod::parse)
        .filter(|m| offered.iter().any(|(o, _)| o == m));
    let Some(method) = chosen else {
        return method_form(
            &v,
            &o,
            &draft,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[v.tr.t("error-method")],
        )
        .await;
    };
    let draft = Draft {
        method: Some(method),
        point: None,
        ..draft
    };
    next_step(&v, &o, draft).await
}

// ---------------------------------------------------------------- review and confirm

pub(crate) async fn review_page(page: DraftPage) -> Response {
    let DraftPage { v, o, draft } = page;
    if draft.method.is_none() {
        return tampered(&v, &o);
    }
    review(&v, &o, &draft, StatusCode::OK, &[]).await
}

async fn review(
    v: &Visit,
    o: &Opened,
    draft: &Draft,
    status: StatusCode,
    errors: &[String],
) -> Response {
    let tr = v.tr;
    let p = match preview(v, o, draft).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let q = &p.ret.quote;
    let figures = returns::figures(&p.ret);
    let sealed = seal(v, o.view.order.id, draft);
    let title = tr.t("review-title");
    let method = draft.method.unwrap_or(p.ret.method);
    let point = match &draft.point {
        Some(pt) => {
            super::paper::find_point(v, &o.view.order.shipping_address.postal_code, pt).await
        }
        None => None,
    };
    // Shown masked, as every view but the payer's shows it.
    let destination = p
        .ret
        .refund_destination
        .as_ref()
        .map(|d| super::refund::masked_words(tr, &d.masked()));
    v.render(
        status,
        &title,
        html! {
            @if !errors.is_empty() {
                div.error role="alert" { ul { @for e in errors { li { (e) } } } }
            }
            @for (n, item) in p.ret.items.iter().enumerate() {
                section.item {
                    h2 { (o.title(item.line_id)) }
                    p { (tr.ta("review-quantity", vec![("n", item.quantity.into())])) }
                    p { (tr.ta("review-reason", vec![("reason", explain::reason(tr, item.reason).into())])) }
                    @let exchange = p.exchanges.iter().find(|(i, _, _)| *i == n);
                    @let outcome = match exchange {
                        Some((_, x, difference)) => tr.ta("outcome-exchange", vec![
                            ("variant", x.variant.title.as_str().into()),
                            ("difference", difference_words(tr, *difference).into()),
                        ]),
                        None => explain::resolution(tr, item.resolution),
                    };
                    p { (tr.ta("review-outcome", vec![("outcome", outcome.into())])) }
                    @let claim = draft.items.get(n).and_then(|i| i.claim);
                    @if let Some(k) = super::claims::kind_words(tr, &item.decision, claim) { p { (k) } }
                    @if let Some(a) = super::claims::answer_words(v, &item.decision) { p { strong { (a) } } }
                    @if let Some(c) = &item.comment { p.muted { (c) } }
                    @let photos = draft.items.get(n).map_or(0, |i| u32::try_from(i.photos.len()).unwrap_or(u32::MAX));
                    @if photos > 0 { p.photos { (tr.ta("review-photos", vec![("n", photos.into())])) } }
                }
            }
            p { (tr.ta("review-method", vec![("method", explain::method(tr, method).into())])) }
            @if let Some(point) = &point {
                p { (tr.t("review-point")) br; (super::paper::describe(tr, point)) }
            }
            @if let Some(to) = &destination {
                p #destination { (tr.ta("review-destination", vec![("to", to.as_str().into())])) }
            }
            dl.sum {
                dt { (tr.t("review-items-amount")) } dd { (tr.money(q.items_amount)) }
                @for f in &q.fees {
                    @let kind = match f.kind {
                        kembali_core::policy::FeeKind::ReturnShipping => "return_shipping",
                        kembali_core::policy::FeeKind::Restocking => "restocking",
                    };
                    dt { (tr.t(&format!("fee-{kind}"))) } dd { "−" (tr.money(f.amount)) }
                }
                @if q.delivery_refund.amount != 0 {
                    dt { (tr.t("review-delivery-refund")) } dd { (tr.money(q.delivery_refund)) }
                }
                @for (_, _, difference) in &p.exchanges {
                    @if difference.amount > 0 {
                        dt { (tr.t("review-exchange-pay")) } dd { (tr.money(*difference)) }
                    } @else if difference.amount < 0 {
                        dt { (tr.t("review-exchange-credit")) }
                        dd { (tr.money(Money::new(-difference.amount, difference.currency))) }
                    }
                }
                @if figures.credit > 0 {
                    dt.total { (tr.t("review-credit-total")) } dd.total { (tr.money(q.store_credit_total)) }
                } @else if figures.refund > 0 || p.exchanges.is_empty() {
                    dt.total { (tr.t("review-refund-total")) } dd.total { (tr.money(q.refund_total)) }
                }
            }
            p { strong { (tr.t("review-promise")) } }
            form method="post" action=(format!("{}/o/{}/review", v.base(), o.token)) {
                (v.csrf_field())
                input type="hidden" name="d" value=(sealed);
                button type="submit" { (tr.t("review-confirm")) }
            }
            p { a href=(format!("{}/o/{}?d={sealed}", v.base(), o.token)) { (tr.t("review-change")) } }
        },
    )
}

pub(crate) async fn confirm(posted: DraftPosted) -> Response {
    let DraftPosted { v, o, form, draft } = posted;
    if draft.method.is_none() {
        return tampered(&v, &o);
    }
    let Some(nonce) = v.check_csrf(&form) else {
        return review(
            &v,
            &o,
            &draft,
            StatusCode::FORBIDDEN,
            &[v.tr.t("error-csrf")],
        )
        .await;
    };
    let req = draft.request(o.view.order.id);
    // The form's nonce keys the write: the same form sent twice opens one
    // return, and the second answer says so instead of opening another.
    let key = Key {
        key: format!("portal:{nonce}"),
        hash: base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            Sha256::digest(form.get("d").unwrap_or("").as_bytes()),
        ),
    };
    let app = &v.state.app;
    let shop = &v.shop;
    let done = idempotency::once(app, shop.id, Some(&key), async |tx| {
        let view = returns::open(app, tx, shop, &req, Actor::Shopper).await?;
        Ok::<_, AppError>((201, serde_json::json!({ "return_id": view.ret.id })))
    })
    .await;
    match done {
        Ok(reply) => {
            let id = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|b| b.get("return_id")?.as_str()?.parse().ok());
            let Some(id) = id else {
                return v.internal(&AppError::Store(kembali_store::StoreError::Corrupt(
                    "the stored answer names no return".into(),
                )));
            };
            let status = format!("{}/r/{}", v.base(), v.signer().return_token(id));
            if reply.replayed {
                v.problem(StatusCode::CONFLICT, &[v.tr.t("error-replayed")], &status)
            } else {
                v.redirect(&format!("{status}?done=1"))
            }
        }
        Err(e) => match refusal(&v, &o, &draft, &e) {
            Some(m) => {
                let status = if matches!(e, AppError::IdempotencyMismatch) {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                v.problem(status, &[m], &format!("{}/o/{}", v.base(), o.token))
            }
            None => v.internal(&e),
        },
    }
}

// ---------------------------------------------------------------- done and status

pub(crate) async fn status_page(
    State(state): State<AppState>,
    Path(p): Path<TokenPath>,
    uri: Uri,
    headers: HeaderMap,
    c: Client,
) -> Response {
    let v = match Visit::start(&state, &p.shop, &uri, &headers, client(c)).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let tr = v.tr;
    let Some(id) = v.signer().open_return(&p.token) else {
        return v.problem(StatusCode::FORBIDDEN, &[tr.t("error-link")], &v.base());
    };
    let app = &v.state.app;
    let view = match returns::get(app, v.shop.id, id).await {
        Ok(r) => r,
        Err(AppError::NotFound(_)) => {
            return v.problem(StatusCode::NOT_FOUND, &[tr.t("error-link")], &v.base());
        }
        Err(e) => return v.internal(&e),
    };
    let order = match kembali_app::orders::get(app, &v.shop, view.ret.order_id).await {
        Ok(o) => o,
        Err(e) => return v.internal(&e),
    };
    let done = query_param(&uri, "done").is_some();
    let ret = &view.ret;
    let printable = super::paper::printable(&v, ret.status, ret.method).await;
    // The point kept with the return, described as the step offered it when
    // it still is among the nearest; else by its carrier and id.
    let point = match &ret.dropoff_point {
        Some(pt) => {
            let key = (pt.carrier.clone(), pt.id.clone());
            let found =
                super::paper::find_point(&v, &order.order.shipping_address.postal_code, &key).await;
            Some(found.ok_or(pt))
        }
        None => None,
    };
    let destination = ret
        .refund_destination
        .as_ref()
        .map(|d| super::refund::masked_words(tr, &d.masked()));
    let tz = v.shop.tz().unwrap_or(jiff::tz::TimeZone::UTC);
    let title = if done {
        tr.t("done-title")
    } else {
        tr.ta("status-title", vec![("number", ret.number.as_str().into())])
    };
    let line_title = |line: LineId| {
        order
            .order
            .line(line)
            .map_or_else(String::new, |l| l.title.clone())
    };
    v.render(
        StatusCode::OK,
        &title,
        html! {
            p { strong { (tr.ta("done-number", vec![("number", ret.number.as_str().into())])) } }
            p { (tr.ta("status-ordered", vec![("number", order.order.number.as_str().into())])) }
            p { (tr.ta("status-current", vec![("status", explain::status(tr, ret.status).into())])) }
            p { (tr.t(&format!("steps-{}", ret.method.as_str()))) }
            @match &point {
                Some(Ok(found)) => {
                    p { (tr.t("review-point")) br; (super::paper::describe(tr, found)) }
                }
                Some(Err(kept)) => {
                    p { (tr.t("review-point")) br; (kept.carrier) " " (kept.id) }
                }
                None => {}
            }
            @if ret.method != ReturnMethod::NoShipping {
                section aria-labelledby="label" {
                    h2 id="label" { (tr.t("done-label")) }
                    div #label-slot {
                        @if printable {
                            p { (tr.t("done-label-ready")) }
                            (super::paper::links(&v, &p.token))
                        } @else {
                            p { (tr.t("done-label-later")) }
                        }
                    }
                }
            }
            @if let Some(to) = &destination {
                p #destination { (tr.ta("review-destination", vec![("to", to.as_str().into())])) }
            }
            @for item in &ret.items {
                section.item {
                    h2 { (line_title(item.line_id)) }
                    p { (tr.ta("review-quantity", vec![("n", item.quantity.into())])) }
                    p { (tr.ta("review-outcome", vec![("outcome", explain::resolution(tr, item.resolution).into())])) }
                    @if let Some(k) = super::claims::kind_words(tr, &item.decision, None) { p { (k) } }
                    @if let Some(a) = super::claims::answer_words(&v, &item.decision) { p { strong { (a) } } }
                }
            }
            h2 { (tr.t("timeline-title")) }
            ol.timeline {
                @for e in &view.timeline {
                    @let at = tz.to_datetime(e.at);
                    li { (explain::status(tr, e.kind)) " — " (tr.date(at.date())) " " (at.strftime("%H:%M").to_string()) }
                }
            }
            p.muted { (tr.t("done-keep-link")) }
        },
    )
}
