//! The shop's return policy as a public page, written from the policy document
//! the portal decides with (the current version), so the two never disagree.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use kembali_core::Money;
use kembali_core::policy::{Fee, WindowStart};
use maud::html;

use super::{Client, ShopPath, Visit, client, explain};
use crate::AppState;
use crate::i18n::Tr;

pub(crate) async fn policy(
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
    let tr = v.tr;
    let current = match kembali_app::policies::current(&v.state.app, &v.shop).await {
        Ok(c) => c,
        Err(kembali_app::AppError::NoPolicy) => {
            return v.problem(StatusCode::NOT_FOUND, &[tr.t("order-none")], &v.base());
        }
        Err(e) => return v.internal(&e),
    };
    let doc = &current.document;
    let d = &doc.defaults;
    let currency = v.shop.currency;
    let from = match d.window_from {
        WindowStart::Delivery => "delivery",
        WindowStart::Fulfillment => "fulfillment",
        WindowStart::Order => "order",
    };
    let title = tr.ta("policy-title", vec![("shop", v.shop.name.as_str().into())]);
    v.render(
        StatusCode::OK,
        &title,
        html! {
            p.muted { (tr.ta("policy-version", vec![("version", current.version.into())])) }
            p { (tr.ta("policy-window", vec![
                ("days", d.window_days.into()),
                ("from", tr.t(&format!("window-from-{from}")).into()),
            ])) }
            @if d.final_sale_returnable { p { (tr.t("policy-final-sale-yes")) } }
            @else { p { (tr.t("policy-final-sale-no")) } }
            @if doc.eu_withdrawal { p { (tr.t("policy-eu")) } }
            h2 { (tr.t("policy-resolutions")) }
            ul { @for r in &d.resolutions { li { (explain::resolution(tr, *r)) } } }
            @if d.store_credit_bonus_bps > 0 {
                p { (tr.ta("policy-credit-bonus", vec![("percent", percent(d.store_credit_bonus_bps).into())])) }
            }
            h2 { (tr.t("policy-methods")) }
            ul { @for m in &d.methods { li { (explain::method(tr, *m)) } } }
            h2 { (tr.t("policy-fees")) }
            ul {
                li { (tr.ta("policy-fee-return-shipping", vec![("fee", fee(tr, &d.return_shipping_fee, currency).into())])) }
                li { (tr.ta("policy-fee-restocking", vec![("fee", fee(tr, &d.restocking_fee, currency).into())])) }
            }
            @if let Some(w) = &doc.warranty {
                p { (tr.ta("policy-warranty", vec![("months", w.months.into()), ("days", w.answer_days.into())])) }
            }
            @if let Some(c) = &doc.delivery_claims {
                p { (tr.ta("policy-claims", vec![("days", c.days.into()), ("never", c.never_arrived_days.into())])) }
            }
            @let shown: Vec<_> = doc.rules.iter().filter(|r| {
                r.then.deny.is_some() || r.then.window_days.is_some() || r.then.require_photos.is_some() || r.then.keep_item == Some(true)
            }).collect();
            @if !shown.is_empty() {
                h2 { (tr.t("policy-rules")) }
                ul {
                    @for r in shown {
                        li {
                            // The merchant's own description of the case, as written.
                            @if let Some(desc) = &r.description { (desc) ": " }
                            @if let Some(m) = &r.then.deny { (tr.ta("policy-rule-deny", vec![("message", m.as_str().into())])) " " }
                            @if let Some(days) = r.then.window_days { (tr.ta("policy-rule-window", vec![("days", days.into())])) " " }
                            @if r.then.require_photos == Some(true) { (tr.t("policy-rule-photos")) " " }
                            @if r.then.keep_item == Some(true) { (tr.t("policy-rule-keep")) }
                        }
                    }
                }
            }
        },
    )
}

/// Basis points as a percentage: 1000 → "10", 1250 → "12.5" (in the page's
/// decimal separator).
fn percent(bps: u32) -> String {
    let whole = bps / 100;
    let rest = bps % 100;
    if rest == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{rest:02}")
            .trim_end_matches('0')
            .to_owned()
    }
}

/// A fee in words: its percentage and its fixed part in the shop's currency.
fn fee(tr: Tr, f: &Fee, currency: kembali_core::Currency) -> String {
    if f.is_zero() {
        return tr.t("policy-fee-none");
    }
    let mut parts = Vec::new();
    if f.percent_bps > 0 {
        parts.push(tr.ta(
            "fee-percent",
            vec![("percent", percent(f.percent_bps).into())],
        ));
    }
    if let Some(fixed) = f.fixed.get(&currency).filter(|a| **a != 0) {
        parts.push(tr.money(Money::new(*fixed, currency)));
    }
    if parts.is_empty()
        && let Some(min) = f.min.get(&currency)
    {
        parts.push(tr.money(Money::new(*min, currency)));
    }
    parts.join(" + ")
}
