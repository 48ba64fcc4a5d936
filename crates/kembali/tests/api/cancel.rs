//! `POST /api/v1/orders/{order_id}/cancel` and `POST /api/v1/returns/{return_id}/notes`.

use serde_json::{Value, json};

use crate::fixtures::{create_order, create_return, get_return, order, return_body, s};
use crate::support::{TestApp, assert_problem};

/// An order not yet delivered: its parcel still on the way.
fn undelivered(number: &str) -> Value {
    let mut o = order(number, 2);
    o["shipments"][0]["status"] = json!("in_transit");
    o["shipments"][0]
        .as_object_mut()
        .expect("shipment")
        .remove("delivered_at");
    o
}

async fn outbox_kinds(app: &TestApp, subject: &str) -> Vec<String> {
    let mut conn = app.db.conn().await.expect("conn");
    let shop = app.shop.id;
    kembali_store::outbox::for_subject(&mut conn, shop, subject)
        .await
        .expect("outbox")
        .into_iter()
        .map(|m| m.kind)
        .collect()
}

async fn orders_cancel_before_delivery_only(app: &TestApp) {
    let o = create_order(app, &undelivered("#X-1")).await;
    let id = s(&o["id"]);
    assert_eq!(o["cancelled_at"], Value::Null);
    let path = format!("/api/v1/orders/{id}/cancel");
    let r = app.post(&path, &json!({"reason": "out of stock"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["cancelled_at"].is_string(), "{}", r.body);
    let got = app.get(&format!("/api/v1/orders/{id}")).await;
    assert_eq!(got.body, r.body, "what the cancel said is stored");
    app.drain().await;
    assert_eq!(
        outbox_kinds(app, &id).await,
        ["order.created", "order.cancelled"]
    );

    // Twice is a conflict; a return cannot be opened for it.
    assert_problem(&app.post(&path, &json!({})).await, 409, "conflict");
    let r = app
        .post("/api/v1/returns", &return_body(&o, 0, 1, "refund"))
        .await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(app.counts("anna.nowak@example.pl").await, (1, 0));

    // Delivered: a return's business, not a cancellation.
    let delivered = create_order(app, &order("#X-2", 2)).await;
    let r = app
        .post(
            &format!("/api/v1/orders/{}/cancel", s(&delivered["id"])),
            &json!({}),
        )
        .await;
    assert_problem(&r, 409, "conflict");
    assert_eq!(
        app.get(&format!("/api/v1/orders/{}", s(&delivered["id"])))
            .await
            .body["cancelled_at"],
        Value::Null
    );

    // Bad input and other shops' orders.
    let fresh = create_order(app, &undelivered("#X-3")).await;
    let fresh_path = format!("/api/v1/orders/{}/cancel", s(&fresh["id"]));
    let r = app
        .post(&fresh_path, &json!({"reason": "x".repeat(2001)}))
        .await;
    assert_problem(&r, 422, "validation");
    let r = app.post(&fresh_path, &json!({"why": "x"})).await;
    assert_problem(&r, 422, "validation");
    let other = app.other_shop("cancel-other").await;
    let r = app.post_as(&other, &fresh_path, &json!({})).await;
    assert_problem(&r, 404, "not-found");
    assert_problem(
        &app.post("/api/v1/orders/ord_nope/cancel", &json!({})).await,
        404,
        "not-found",
    );
    let still = app
        .get(&format!("/api/v1/orders/{}", s(&fresh["id"])))
        .await;
    assert_eq!(still.body["cancelled_at"], Value::Null, "nothing changed");
}
crate::both!(cancel, super::orders_cancel_before_delivery_only);

async fn notes_sit_beside_the_timeline(app: &TestApp) {
    let o = create_order(app, &order("#T-1", 2)).await;
    let ret = create_return(app, &return_body(&o, 0, 1, "refund")).await;
    let id = s(&ret["id"]);
    assert_eq!(ret["notes"], json!([]));
    let path = format!("/api/v1/returns/{id}/notes");
    let first = app
        .post(
            &path,
            &json!({"body": "Called the shopper.\nWill ship Monday."}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(s(&first.body["id"]).starts_with("note_"));
    assert_eq!(first.body["author"]["type"], "api_key", "{}", first.body);
    let second = app.post(&path, &json!({"body": "  Label re-sent  "})).await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_eq!(second.body["body"], "Label re-sent");

    let got = get_return(app, &id).await;
    assert_eq!(got["notes"], json!([first.body, second.body]));
    assert_eq!(
        got["version"], ret["version"],
        "a note is not a status change"
    );
    assert_eq!(got["timeline"], ret["timeline"]);
    // A transition shows them too.
    let approved = app
        .post(&format!("/api/v1/returns/{id}/approve"), &json!({}))
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.body["notes"].as_array().map(Vec::len), Some(2));

    for body in [
        json!({"body": ""}),
        json!({"body": "   "}),
        json!({"body": "x".repeat(2001)}),
        json!({"body": "bell\u{7}"}),
        json!({"text": "x"}),
    ] {
        assert_problem(&app.post(&path, &body).await, 422, "validation");
    }
    let other = app.other_shop("notes-other").await;
    let r = app.post_as(&other, &path, &json!({"body": "hi"})).await;
    assert_problem(&r, 404, "not-found");
    assert_eq!(
        get_return(app, &id).await["notes"].as_array().map(Vec::len),
        Some(2)
    );
}
crate::both!(notes, super::notes_sit_beside_the_timeline);
