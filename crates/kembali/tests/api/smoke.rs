//! The first path end to end: order → eligibility → return → through its states.

use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::support::TestApp;

/// A PLN order of two lines, delivered `days_ago` days ago.
pub fn order_json(number: &str, days_ago: i64) -> Value {
    let now = Timestamp::now();
    let delivered = now - (days_ago * 24).hours();
    let placed = delivered - 72.hours();
    json!({
        "number": number,
        "email": "Anna.Nowak@example.pl",
        "customer_name": "Anna Nowak",
        "locale": "pl",
        "currency": "PLN",
        "placed_at": placed.to_string(),
        "payment_method": "card",
        "shipping_address": {"name": "Anna Nowak", "line1": "ul. Długa 5", "city": "Gdańsk",
            "postal_code": "80-827", "country": "PL"},
        "shipping_paid": 1499,
        "lines": [
            {"sku": "SHIRT-M", "title": "Koszula", "quantity": 2, "unit_price": 14999, "discount": 2000, "tax": 0},
            {"sku": "MUG", "title": "Kubek", "quantity": 1, "unit_price": 3999}
        ],
        "shipments": [{"carrier": "InPost", "tracking_number": "6200", "status": "delivered",
            "shipped_at": (placed + 24.hours()).to_string(), "delivered_at": delivered.to_string(),
            "lines": [{"line": 0, "quantity": 2}, {"line": 1, "quantity": 1}]}]
    })
}

async fn walk_a_return_through_its_life(app: &TestApp) {
    let order = app.post("/api/v1/orders", &order_json("#1001", 3)).await;
    assert_eq!(order.status, 201, "{}", order.body);
    let order_id = order.body["id"].as_str().expect("id").to_owned();
    let line = order.body["lines"][0]["id"]
        .as_str()
        .expect("line")
        .to_owned();

    let wrong = app
        .send(
            app.client
                .delete(app.url("/api/v1/orders"))
                .bearer_auth(&app.key),
        )
        .await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.body["type"], "urn:kembali:problem:method-not-allowed");

    let got = app.get(&format!("/api/v1/orders/{order_id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["number"], "#1001");

    let el = app
        .get(&format!(
            "/api/v1/orders/{order_id}/eligibility?line_id={line}&quantity=1"
        ))
        .await;
    assert_eq!(el.status, 200, "{}", el.body);
    let d = &el.body["lines"][0]["decision"];
    assert_eq!(d["eligible"], true);
    // (2 × 149.99 − 20.00) / 2 = 139.99 for one unit.
    assert_eq!(d["item_amount"]["amount"], 13999);
    assert_eq!(d["refund_preview"]["amount"], 13999);

    let created = app
        .post(
            "/api/v1/returns",
            &json!({"order_id": order_id, "method": "drop_off",
                "items": [{"line_id": line, "quantity": 1, "reason": "wrong_size", "resolution": "refund"}]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["status"], "requested");
    assert_eq!(created.body["number"], "R-1001");
    let id = created.body["id"].as_str().expect("id").to_owned();
    let item = created.body["items"][0]["id"]
        .as_str()
        .expect("item")
        .to_owned();

    let approved = app
        .post(
            &format!("/api/v1/returns/{id}/approve"),
            &json!({"version": 1}),
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.body["status"], "approved");

    let again = app
        .post(&format!("/api/v1/returns/{id}/approve"), &json!({}))
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.body["type"], "urn:kembali:problem:illegal-transition");

    for (action, body, status) in [
        (
            "receive",
            json!({"items": [{"item_id": item, "outcome": "received", "quantity": 1}]}),
            "received",
        ),
        (
            "inspect",
            json!({"items": [{"item_id": item, "accepted_quantity": 1, "condition": "like_new", "disposition": "restock"}]}),
            "inspected",
        ),
        ("resolve", json!({}), "resolved"),
    ] {
        let r = app
            .post(&format!("/api/v1/returns/{id}/{action}"), &body)
            .await;
        assert_eq!(r.status, 200, "{action}: {}", r.body);
        assert_eq!(r.body["status"], status);
    }
    let full = app.get(&format!("/api/v1/returns/{id}")).await;
    let kinds: Vec<&str> = full.body["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["requested", "approved", "received", "inspected", "resolved"]
    );
    assert_eq!(
        full.headers.get("etag").and_then(|v| v.to_str().ok()),
        Some("\"5\"")
    );
}
crate::both!(return_life, super::walk_a_return_through_its_life);

/// Under the EU preset, withdrawing the whole order refunds the delivery cost and
/// the refund is due within 14 days; a partial return does not refund delivery.
async fn eu_full_withdrawal_refunds_delivery(app: &TestApp) {
    let order = app.post("/api/v1/orders", &order_json("#2001", 2)).await;
    assert_eq!(order.status, 201, "{}", order.body);
    let order_id = order.body["id"].as_str().expect("id").to_owned();
    let shirt = order.body["lines"][0]["id"]
        .as_str()
        .expect("line")
        .to_owned();
    let mug = order.body["lines"][1]["id"]
        .as_str()
        .expect("line")
        .to_owned();

    let partial = app
        .post(
            "/api/v1/returns",
            &json!({"order_id": order_id, "method": "drop_off",
                "items": [{"line_id": shirt, "quantity": 1, "reason": "changed_mind", "resolution": "refund"}]}),
        )
        .await;
    assert_eq!(partial.status, 201, "{}", partial.body);
    assert_eq!(partial.body["quote"]["delivery_refund"]["amount"], 0);
    assert_eq!(partial.body["quote"]["refund_total"]["amount"], 13999);
    assert!(
        partial.body["refund_due_by"].is_string(),
        "{}",
        partial.body
    );

    let rest = app
        .post(
            "/api/v1/returns",
            &json!({"order_id": order_id, "method": "drop_off",
                "items": [{"line_id": shirt, "quantity": 1, "reason": "changed_mind", "resolution": "refund"},
                          {"line_id": mug, "quantity": 1, "reason": "changed_mind", "resolution": "refund"}]}),
        )
        .await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    // 139.99 (the other shirt: 299.98 − 20.00 − 139.99) + 39.99 + delivery 14.99.
    assert_eq!(rest.body["quote"]["items_amount"]["amount"], 13999 + 3999);
    assert_eq!(rest.body["quote"]["delivery_refund"]["amount"], 1499);
    assert_eq!(
        rest.body["quote"]["refund_total"]["amount"],
        13999 + 3999 + 1499
    );
}
crate::both!(
    eu_withdrawal,
    super::eu_full_withdrawal_refunds_delivery,
    kembali_core::policy::PolicyDocument::eu_preset()
);
