//! `/api/v1/customers`: pages by id, counts kept on the row in the transactions
//! that change them, and the policy reading the row rather than counting.

use serde_json::{Value, json};

use crate::fixtures::{create_order, create_return, order, return_body, s};
use crate::support::{TestApp, assert_problem};

fn order_of(number: &str, email: &str) -> Value {
    let mut o = order(number, 2);
    o["email"] = json!(email);
    o
}

async fn customers_page_by_id(app: &TestApp) {
    let mut ids = Vec::new();
    for n in 0..5 {
        let o = create_order(
            app,
            &order_of(&format!("#L-{n}"), &format!("c{n}@example.pl")),
        )
        .await;
        ids.push(s(&o["customer_id"]));
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/customers?limit=2&cursor={c}"),
            None => "/api/v1/customers?limit=2".to_owned(),
        };
        let r = app.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let data = r.body["data"].as_array().expect("data");
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(|c| s(&c["id"])));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every customer once, by id");

    let one = app.get("/api/v1/customers?email=C3@Example.pl").await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(one.body["data"][0]["email"], "c3@example.pl");
    assert_eq!(one.body["data"][0]["order_count"], 1);

    let got = app.get(&format!("/api/v1/customers/{}", ids[0])).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["id"], ids[0]);

    assert_problem(
        &app.get("/api/v1/customers?sort=email").await,
        400,
        "bad-request",
    );
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=ord_01jd0000000000000000000000", "cursor"),
    ] {
        let r = app.get(&format!("/api/v1/customers?{q}")).await;
        assert_problem(&r, 400, "bad-request");
        assert_eq!(r.body["errors"][0]["field"], field, "{q}: {}", r.body);
    }
    assert_problem(
        &app.get("/api/v1/customers/cus_nope").await,
        404,
        "not-found",
    );

    // Another shop sees none of them.
    let other = app.other_shop("customers-other").await;
    let theirs = app.get_as(&other, "/api/v1/customers").await;
    assert_eq!(theirs.body["data"], json!([]));
    let r = app
        .get_as(&other, &format!("/api/v1/customers/{}", ids[0]))
        .await;
    assert_problem(&r, 404, "not-found");
}
crate::both!(pages, super::customers_page_by_id);

async fn counts_follow_orders_returns_and_parcels(app: &TestApp) {
    let email = "count.me@example.pl";
    let a = create_order(app, &order_of("#N-1", email)).await;
    let b = create_order(app, &order_of("#N-2", email)).await;
    create_return(app, &return_body(&a, 0, 1, "refund")).await;
    create_return(app, &return_body(&b, 1, 1, "refund")).await;
    // A refused return writes nothing, so it counts nothing.
    let r = app
        .post("/api/v1/returns", &return_body(&a, 0, 9, "refund"))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let id = s(&a["customer_id"]);
    let c = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(c.body["order_count"], 2, "{}", c.body);
    assert_eq!(c.body["return_count"], 2, "{}", c.body);
    assert_eq!(c.body["refused_parcel_count"], 0);

    // A cash-on-delivery order whose parcel came back refused, taken in through
    // the platforms' intake; then the same copy again, then the parcel again.
    let app_layer = kembali_app::App::new(app.db.clone());
    let mut cod = order_of("#N-3", email);
    cod["payment_method"] = json!("cash_on_delivery");
    cod["shipments"][0]["status"] = json!("in_transit");
    cod["shipments"][0]
        .as_object_mut()
        .expect("shipment")
        .remove("delivered_at");
    let intake = |body: &Value, at: i64| {
        let input: kembali_app::orders::OrderInput =
            serde_json::from_value(body.clone()).expect("input");
        let origin = kembali_store::orders::Origin {
            source: "test".into(),
            external_id: "N-3".into(),
            updated_at: Some(jiff::Timestamp::from_second(1_700_000_000 + at).expect("t")),
        };
        (input, origin)
    };
    for (body, at) in [
        (cod.clone(), 1),
        (
            {
                let mut c = cod.clone();
                c["shipments"][0]["status"] = json!("returned_to_sender");
                c
            },
            2,
        ),
        (
            {
                let mut c = cod.clone();
                c["shipments"][0]["status"] = json!("returned_to_sender");
                c
            },
            3,
        ),
    ] {
        let (input, origin) = intake(&body, at);
        let mut tx = app.db.begin().await.expect("tx");
        kembali_app::orders::intake(&app_layer, &mut tx, &app.shop, &origin, &input)
            .await
            .expect("intake");
        tx.commit().await.expect("commit");
    }
    let c = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(c.body["order_count"], 3, "{}", c.body);
    assert_eq!(
        c.body["refused_parcel_count"], 1,
        "counted once: {}",
        c.body
    );
    assert_eq!(app.counts(email).await, (3, 2));
}
crate::both!(counts, super::counts_follow_orders_returns_and_parcels);

/// The policy reads the customer's row: a history of a thousand returns needs
/// no thousand rows (the count is set on the row here to show that it is the
/// row that is read).
async fn the_policy_reads_the_row(app: &TestApp) {
    let email = "busy@example.pl";
    let o = create_order(app, &order_of("#B-1", email)).await;
    let policy = json!({"rules": [{"id": "serial-returner",
        "when": {"customer_returns": {"min": 1000}},
        "then": {"deny": "Too many returns"}}]});
    let r = app
        .send(
            app.client
                .put(app.url("/api/v1/policy"))
                .bearer_auth(&app.key)
                .json(&policy),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let path = format!("/api/v1/orders/{}/eligibility", s(&o["id"]));
    let eligible = async || {
        let r = app.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["lines"][0]["decision"]["eligible"]
            .as_bool()
            .expect("eligible")
    };
    assert!(eligible().await);
    let mut tx = app.db.begin().await.expect("tx");
    let id: kembali_core::CustomerId = s(&o["customer_id"]).parse().expect("id");
    kembali_store::customers::add(
        &mut tx,
        app.shop.id,
        id,
        kembali_store::customers::Counts {
            returns: 1000,
            ..Default::default()
        },
    )
    .await
    .expect("count");
    tx.commit().await.expect("commit");
    assert!(!eligible().await, "the row's count decides");
}
crate::both!(row_history, super::the_policy_reads_the_row);
