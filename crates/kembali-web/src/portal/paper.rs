//! The drop-off point step (the shop's points nearest the order's shipping
//! postal code, with their opening hours) and the return's printed paper on
//! its status page: the 4×6 label as PDF and ZPL and the A4 packing slip, in
//! the page's language, through `kembali_app::labels::print` as the API does,
//! under the return's signed status token.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use kembali_app::AppError;
use kembali_app::dropoff::{Near, NearbyPoint};
use kembali_app::labels::{self, Form as Paper};
use kembali_core::ReturnId;
use kembali_core::returns::{ReturnMethod, ReturnStatus};
use maud::{Markup, html};

use super::steps::{self, Draft, DraftPage, DraftPosted, Opened};
use super::{Client, Visit, client};
use crate::AppState;
use crate::i18n::Tr;

/// How many points the step offers.
pub const POINTS_OFFERED: usize = 5;

/// The shop's points nearest the order's shipping postal code, nearest first;
/// empty when the shop has none (the step is then skipped).
pub(super) async fn points(v: &Visit, postal_code: &str) -> Vec<NearbyPoint> {
    let Ok(near) = Near::parse(postal_code) else {
        return Vec::new();
    };
    kembali_app::dropoff::nearest(&v.state.app, &v.shop, &near, None, POINTS_OFFERED)
        .await
        .map(|n| n.points)
        .unwrap_or_default()
}

/// The form value of a point.
fn value(p: &NearbyPoint) -> String {
    format!("{}:{}", p.carrier, p.id)
}

/// A point in words: name, address, distance, opening hours, open now.
pub(super) fn describe(tr: Tr, p: &NearbyPoint) -> Markup {
    let km = format!("{:.1}", p.distance_m as f64 / 1000.0);
    let km = if tr.locale == kembali_core::shop::Locale::En {
        km
    } else {
        km.replace('.', ",")
    };
    html! {
        strong { (p.name) }
        br;
        (p.address) @if let Some(c) = &p.city { ", " (p.postal_code) " " (c) }
        br;
        span.muted {
            (tr.ta("point-distance", vec![("km", km.into())])) " · "
            (tr.ta("point-hours", vec![("hours", p.opening_hours.as_str().into())]))
            @if p.open_now { " · " (tr.t("point-open-now")) }
        }
    }
}

pub(crate) async fn point_page(page: DraftPage) -> Response {
    let DraftPage { v, o, draft } = page;
    point_form(&v, &o, &draft, StatusCode::OK, &[]).await
}

async fn point_form(
    v: &Visit,
    o: &Opened,
    draft: &Draft,
    status: StatusCode,
    errors: &[String],
) -> Response {
    let tr = v.tr;
    let offered = points(v, &o.view.order.shipping_address.postal_code).await;
    let sealed = steps::seal(v, o.view.order.id, draft);
    let title = tr.t("point-title");
    let chosen = draft
        .point
        .as_ref()
        .map(|(c, i)| format!("{c}:{i}"))
        .or_else(|| offered.first().map(value));
    v.render(
        status,
        &title,
        html! {
            @if !errors.is_empty() {
                div.error role="alert" { ul { @for e in errors { li { (e) } } } }
            }
            p { (tr.ta("point-intro", vec![("code", o.view.order.shipping_address.postal_code.as_str().into())])) }
            form method="post" action=(format!("{}/o/{}/point", v.base(), o.token)) {
                (v.csrf_field())
                input type="hidden" name="d" value=(sealed);
                fieldset {
                    legend { (title) }
                    @for (n, p) in offered.iter().enumerate() {
                        @let id = format!("point.{n}");
                        @let val = value(p);
                        label.choice for=(id) {
                            input type="radio" id=(id) name="point" value=(val) checked[chosen.as_deref() == Some(val.as_str())];
                            span { (describe(tr, p)) }
                        }
                    }
                }
                button type="submit" { (tr.t("method-continue")) }
            }
            p { a href=(format!("{}/o/{}?d={sealed}", v.base(), o.token)) { (tr.t("review-change")) } }
        },
    )
}

pub(crate) async fn choose_point(posted: DraftPosted) -> Response {
    let DraftPosted { v, o, form, draft } = posted;
    if v.check_csrf(&form).is_none() {
        return point_form(
            &v,
            &o,
            &draft,
            StatusCode::FORBIDDEN,
            &[v.tr.t("error-csrf")],
        )
        .await;
    }
    if draft.method != Some(ReturnMethod::DropOff) {
        return steps::tampered(&v, &o);
    }
    let Some(asked) = form.get("point").filter(|p| !p.is_empty()) else {
        return point_form(
            &v,
            &o,
            &draft,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[v.tr.t("error-point")],
        )
        .await;
    };
    // Only a point the page offered.
    let offered = points(&v, &o.view.order.shipping_address.postal_code).await;
    let Some(p) = offered.iter().find(|p| value(p) == asked) else {
        return steps::tampered(&v, &o);
    };
    let draft = Draft {
        point: Some((p.carrier.clone(), p.id.clone())),
        ..draft
    };
    steps::next_step(&v, &o, draft).await
}

/// The point `carrier`/`id` among the nearest to the order, as the step offered it.
pub(super) async fn find_point(
    v: &Visit,
    postal_code: &str,
    point: &(String, String),
) -> Option<NearbyPoint> {
    points(v, postal_code)
        .await
        .into_iter()
        .find(|p| p.carrier == point.0 && p.id == point.1)
}

/// Whether the return's paper can be printed now: on its way back, something
/// to send, and a shop with a return address.
pub(super) async fn printable(v: &Visit, status: ReturnStatus, method: ReturnMethod) -> bool {
    matches!(status, ReturnStatus::Approved | ReturnStatus::InTransit)
        && method != ReturnMethod::NoShipping
        && labels::ready(&v.state.app, v.shop.id)
            .await
            .unwrap_or(false)
}

/// The links to the paper, for the status page's label slot.
pub(super) fn links(v: &Visit, token: &str) -> Markup {
    let tr = v.tr;
    let base = format!("{}/r/{token}", v.base());
    let lang = tr.locale.code();
    html! {
        ul #label-links {
            li { a href=(format!("{base}/label.pdf?lang={lang}")) { (tr.t("paper-label-pdf")) } }
            li { a href=(format!("{base}/label.zpl?lang={lang}")) { (tr.t("paper-label-zpl")) } }
            li { a href=(format!("{base}/packing-slip.pdf?lang={lang}")) { (tr.t("paper-slip")) } }
        }
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct PaperPath {
    pub shop: String,
    pub token: String,
    pub file: String,
}

/// `/portal/{shop}/r/{token}/label.pdf`, `label.zpl`, `packing-slip.pdf`.
pub(crate) async fn download(
    State(state): State<AppState>,
    Path(p): Path<PaperPath>,
    uri: Uri,
    headers: HeaderMap,
    c: Client,
) -> Response {
    let v = match Visit::start(&state, &p.shop, &uri, &headers, client(c)).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let tr = v.tr;
    let form = match p.file.as_str() {
        "label.pdf" => Paper::LabelPdf,
        "label.zpl" => Paper::LabelZpl,
        "packing-slip.pdf" => Paper::PackingSlip,
        _ => return v.problem(StatusCode::NOT_FOUND, &[tr.t("error-link")], &v.base()),
    };
    let Some(id): Option<ReturnId> = v.signer().open_return(&p.token) else {
        return v.problem(StatusCode::FORBIDDEN, &[tr.t("error-link")], &v.base());
    };
    let back = format!("{}/r/{}", v.base(), p.token);
    match labels::print(&v.state.app, &v.shop, id, form, Some(tr.locale)).await {
        Ok(printed) => {
            let mut res = printed.bytes.into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(form.content_type()),
            );
            if let Ok(d) =
                HeaderValue::from_str(&format!("inline; filename=\"{}\"", printed.file_name))
            {
                h.insert(header::CONTENT_DISPOSITION, d);
            }
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            res
        }
        Err(AppError::NotFound(_)) => {
            v.problem(StatusCode::NOT_FOUND, &[tr.t("error-link")], &v.base())
        }
        Err(AppError::State(_)) => {
            v.problem(StatusCode::CONFLICT, &[tr.t("error-no-label")], &back)
        }
        Err(e) => v.internal(&e),
    }
}
