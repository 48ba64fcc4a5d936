//! `GET /metrics`: the process's counters in the Prometheus text format, and
//! webhook refusals counted there.

use kembali_app::App;
use kembali_app::sources::{self, NewSource};
use kembali_web::hooks::signature::sign;

use crate::support::TestApp;

const DOMAIN: &str = "metrics-test.myshopify.com";

/// The value of `kembali_webhook_refusals_total{reason="…"}`.
async fn refusals(app: &TestApp, reason: &str) -> u64 {
    let res = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = res.text().await.expect("text");
    assert!(
        text.contains("# TYPE kembali_webhook_refusals_total counter"),
        "{text}"
    );
    let name = format!("kembali_webhook_refusals_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(name.as_str()))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

async fn a_forged_delivery_is_counted(app: &TestApp) {
    let kembali = App::new(app.db.clone());
    let mut tx = app.db.begin().await.expect("tx");
    sources::add(
        &kembali,
        &mut tx,
        app.shop.id,
        NewSource::Shopify {
            domain: DOMAIN.into(),
            secret: "the-real-secret".into(),
            cod_gateways: vec![],
        },
    )
    .await
    .expect("source");
    tx.commit().await.expect("commit");

    // Other tests in this process refuse deliveries too: counters only grow.
    let before = refusals(app, "forged").await;
    let body = br#"{"id": 1}"#;
    let r = app
        .send(
            app.client
                .post(app.url("/hooks/shopify"))
                .header("content-type", "application/json")
                .header("x-shopify-topic", "orders/create")
                .header("x-shopify-shop-domain", DOMAIN)
                .header("x-shopify-webhook-id", "wh-forged")
                .header("x-shopify-hmac-sha256", sign("not-the-secret", body))
                .body(body.to_vec()),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let after = refusals(app, "forged").await;
    assert!(after > before, "forged: {before} before, {after} after");
}
crate::both!(
    a_forged_delivery_is_counted,
    super::a_forged_delivery_is_counted
);
