//! Shipments as their own resource: recorded and tracked through the API, the
//! same step order intake takes, with their webhooks; a delivery opens the
//! delivery-based return window.

use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::fixtures::{create_order, order, s};
use crate::support::{Reply, TestApp, assert_problem};
use crate::walk::key_as;

async fn patch(app: &TestApp, path: &str, body: &Value) -> Reply {
    app.send(
        app.client
            .patch(app.url(path))
            .bearer_auth(&app.key)
            .json(body),
    )
    .await
}

/// The kinds of the messages about `subject`, oldest first.
async fn kinds(app: &TestApp, subject: &str) -> Vec<String> {
    let mut conn = app.db.conn().await.expect("conn");
    kembali_store::outbox::for_subject(&mut conn, app.shop.id, subject)
        .await
        .expect("outbox")
        .into_iter()
        .map(|m| m.kind)
        .collect()
}

/// Units of line `line` that can come back now.
async fn returnable(app: &TestApp, order: &str, line: &str) -> u64 {
    let r = app
        .get(&format!(
            "/api/v1/orders/{order}/eligibility?line_id={line}"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["lines"][0]["decision"]["returnable_quantity"]
        .as_u64()
        .expect("returnable")
}

async fn a_parcel_is_recorded_and_tracked(app: &TestApp) {
    // Placed four days ago, nothing shipped yet.
    let mut body = order("#S-1", 1);
    body["shipments"] = json!([]);
    let o = create_order(app, &body).await;
    let oid = s(&o["id"]);
    let line = s(&o["lines"][0]["id"]);
    assert_eq!(returnable(app, &oid, &line).await, 0);

    let shipped = Timestamp::now() - 72.hours();
    let parcel = json!({"carrier": "InPost", "tracking_number": "6300",
        "tracking_url": "https://inpost.pl/sledzenie-przesylek?number=6300",
        "status": "in_transit", "shipped_at": shipped.to_string(),
        "lines": [{"line_id": line, "quantity": 2}]});
    let path = format!("/api/v1/orders/{oid}/shipments");
    let made = app.post_with_key(&path, "parcel-1", &parcel).await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.body["status"], "in_transit");
    assert_eq!(made.body["order_id"], o["id"]);
    assert_eq!(
        made.body["tracking_url"],
        "https://inpost.pl/sledzenie-przesylek?number=6300"
    );
    let id = s(&made.body["id"]);
    // A retry with the same key is the first answer, not a second parcel.
    let again = app.post_with_key(&path, "parcel-1", &parcel).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], made.body["id"]);
    let list = app.get(&path).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["data"].as_array().map(Vec::len), Some(1));
    // Shipped, not delivered: nothing can come back yet.
    assert_eq!(returnable(app, &oid, &line).await, 0);

    // Refused, each naming its field, nothing written.
    let cases = [
        (
            json!({"carrier": "DHL", "lines": [{"line_id": line, "quantity": 1}]}),
            "lines",
        ),
        (
            json!({"carrier": "DHL", "tracking_url": "javascript:alert(1)",
                   "lines": [{"line_id": o["lines"][1]["id"], "quantity": 1}]}),
            "tracking_url",
        ),
        (
            json!({"carrier": " ", "lines": [{"line_id": o["lines"][1]["id"], "quantity": 1}]}),
            "carrier",
        ),
        (
            json!({"carrier": "DHL", "shipped_at": "2001-01-01T00:00:00Z",
                   "lines": [{"line_id": o["lines"][1]["id"], "quantity": 1}]}),
            "shipped_at",
        ),
    ];
    for (bad, field) in cases {
        let r = app.post(&path, &bad).await;
        assert_problem(&r, 422, "validation");
        assert_eq!(r.body["errors"][0]["field"], field, "{bad}: {}", r.body);
    }
    assert_eq!(
        app.get(&path).await.body["data"].as_array().map(Vec::len),
        Some(1)
    );

    // Delivered two days ago: the window opens, both units can come back.
    let delivered = Timestamp::now() - 48.hours();
    let d = patch(
        app,
        &format!("/api/v1/shipments/{id}"),
        &json!({"status": "delivered", "delivered_at": delivered.to_string()}),
    )
    .await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(d.body["status"], "delivered");
    assert_eq!(returnable(app, &oid, &line).await, 2);
    let el = app
        .get(&format!("/api/v1/orders/{oid}/eligibility?line_id={line}"))
        .await;
    let starts = s(&el.body["lines"][0]["decision"]["shop_window"]["starts_at"]);
    assert_eq!(
        starts.parse::<Timestamp>().expect("time").as_millisecond(),
        delivered.as_millisecond()
    );
    // A delivery before the parcel left is refused.
    let r = patch(
        app,
        &format!("/api/v1/shipments/{id}"),
        &json!({"delivered_at": (shipped - 1.hour()).to_string()}),
    )
    .await;
    assert_problem(&r, 422, "validation");
    assert_eq!(r.body["errors"][0]["field"], "delivered_at", "{}", r.body);
    // The same values again change nothing and tell no one.
    let same = patch(
        app,
        &format!("/api/v1/shipments/{id}"),
        &json!({"status": "delivered"}),
    )
    .await;
    assert_eq!(same.status, 200, "{}", same.body);
    assert_eq!(
        kinds(app, &id).await,
        ["shipment.created", "shipment.updated"]
    );
    let got = app.get(&format!("/api/v1/shipments/{id}")).await;
    assert_eq!(got.body, d.body);
    // The order shows the parcel as it is now.
    let read = app.get(&format!("/api/v1/orders/{oid}")).await;
    assert_eq!(read.body["shipments"][0], d.body);

    // Another shop's key sees nothing; a read key changes nothing.
    let other = app.other_shop("other-parcels").await;
    assert_eq!(
        app.get_as(&other, &format!("/api/v1/shipments/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(app.get_as(&other, &path).await.status, 404);
    let (_, read_key) = key_as(app, &app.key, "read").await;
    let r = app.post_as(&read_key, &path, &parcel).await;
    assert_problem(&r, 403, "forbidden");
    app.drain().await;
}

crate::both!(
    recorded_and_tracked,
    super::a_parcel_is_recorded_and_tracked
);

async fn a_cancelled_order_ships_nothing(app: &TestApp) {
    let mut body = order("#S-2", 1);
    body["shipments"] = json!([]);
    let o = create_order(app, &body).await;
    let oid = s(&o["id"]);
    let c = app
        .post(&format!("/api/v1/orders/{oid}/cancel"), &json!({}))
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    let r = app
        .post(
            &format!("/api/v1/orders/{oid}/shipments"),
            &json!({"carrier": "DHL", "lines": [{"line_id": o["lines"][0]["id"], "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    app.drain().await;
}

crate::both!(cancelled, super::a_cancelled_order_ships_nothing);
