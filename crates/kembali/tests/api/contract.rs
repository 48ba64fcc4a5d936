//! The API's contract with an integrating developer: auth and shop isolation,
//! bad input that never yields a 500 or a half-written row, idempotency, versions
//! under concurrency, and the OpenAPI document.

use std::collections::BTreeSet;

use jiff::Timestamp;
use kembali_core::Currency;
use kembali_core::ShopId;
use kembali_core::policy::{Conditions, Defaults, Effects, PolicyDocument, PriceRange, Rule};
use kembali_core::shop::{Country, Locale, Shop};
use kembali_store::shops;
use serde_json::{Value, json};

use crate::smoke::order_json;
use crate::support::TestApp;

fn problem(r: &crate::support::Reply, status: u16, kind: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{}",
        r.body
    );
    assert_eq!(
        r.body["type"],
        format!("urn:kembali:problem:{kind}"),
        "{}",
        r.body
    );
    assert_eq!(r.body["status"], status);
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

async fn order_count(app: &TestApp) -> usize {
    // Every order the shop has, found through the API by its number.
    let mut n = 0;
    for k in 0..40 {
        let mut conn = app.db.conn().await.expect("conn");
        if kembali_store::orders::get_by_number(&mut conn, app.shop.id, &format!("#{}", 9000 + k))
            .await
            .expect("get")
            .is_some()
        {
            n += 1;
        }
    }
    n
}

async fn create_order(app: &TestApp, number: &str, days_ago: i64) -> Value {
    let r = app
        .post("/api/v1/orders", &order_json(number, days_ago))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn second_shop(app: &TestApp) -> String {
    let now = Timestamp::now();
    let shop = Shop {
        id: ShopId::new(now, kembali_store::entropy()),
        slug: "other-shop".into(),
        name: "Other".into(),
        currency: Currency::EUR,
        time_zone: "Europe/Dublin".into(),
        default_locale: Locale::En,
        country: Country::try_from("IE".to_owned()).expect("country"),
        return_prefix: "X-".into(),
    };
    let mut tx = app.db.begin().await.expect("tx");
    shops::create(&mut tx, &shop, &PolicyDocument::default(), now)
        .await
        .expect("shop");
    let key = shops::create_api_key(&mut tx, shop.id, "other", now)
        .await
        .expect("key");
    tx.commit().await.expect("commit");
    key.secret
}

async fn auth_and_isolation(app: &TestApp) {
    let none = app
        .send(app.client.get(app.url("/api/v1/orders/ord_x")))
        .await;
    problem(&none, 401, "unauthorized");
    assert!(none.headers.get("www-authenticate").is_some());
    let wrong = app
        .send(
            app.client
                .get(app.url("/api/v1/orders/ord_x"))
                .bearer_auth("kb_0000"),
        )
        .await;
    problem(&wrong, 401, "unauthorized");
    let basic = app
        .send(
            app.client
                .get(app.url("/api/v1/orders/ord_x"))
                .header("authorization", "Basic Zm9vOmJhcg=="),
        )
        .await;
    problem(&basic, 401, "unauthorized");

    let order = create_order(app, "#9000", 2).await;
    let order_id = order["id"].as_str().expect("id");
    let line = order["lines"][0]["id"].as_str().expect("line");
    let ret = app
        .post("/api/v1/returns", &json!({"order_id": order_id, "method": "drop_off",
            "items": [{"line_id": line, "quantity": 1, "reason": "wrong_size", "resolution": "refund"}]}))
        .await;
    assert_eq!(ret.status, 201, "{}", ret.body);
    let ret_id = ret.body["id"].as_str().expect("ret");

    let other = second_shop(app).await;
    let as_other = |path: String| app.client.get(app.url(&path)).bearer_auth(&other);
    problem(
        &app.send(as_other(format!("/api/v1/orders/{order_id}")))
            .await,
        404,
        "not-found",
    );
    problem(
        &app.send(as_other(format!("/api/v1/orders/{order_id}/eligibility")))
            .await,
        404,
        "not-found",
    );
    problem(
        &app.send(as_other(format!("/api/v1/returns/{ret_id}")))
            .await,
        404,
        "not-found",
    );
    let act = app
        .send(
            app.client
                .post(app.url(&format!("/api/v1/returns/{ret_id}/approve")))
                .bearer_auth(&other)
                .json(&json!({})),
        )
        .await;
    problem(&act, 404, "not-found");
    let steal = app
        .send(app.client.post(app.url("/api/v1/returns")).bearer_auth(&other).json(&json!({"order_id": order_id, "method": "drop_off",
            "items": [{"line_id": line, "quantity": 1, "reason": "wrong_size", "resolution": "refund"}]})))
        .await;
    problem(&steal, 422, "validation");
    // Still requested, untouched by the other shop.
    let mine = app.get(&format!("/api/v1/returns/{ret_id}")).await;
    assert_eq!(
        (mine.body["status"].as_str(), mine.body["version"].as_i64()),
        (Some("requested"), Some(1))
    );
}
crate::both!(auth, super::auth_and_isolation);

async fn bad_orders_are_refused_whole(app: &TestApp) {
    create_order(app, "#9001", 2).await;
    let dup = app.post("/api/v1/orders", &order_json("#9001", 2)).await;
    problem(&dup, 409, "conflict");

    let raw = |body: &'static str, ct: &'static str| {
        app.client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&app.key)
            .header("content-type", ct)
            .body(body)
    };
    problem(
        &app.send(raw("{not json", "application/json")).await,
        400,
        "bad-request",
    );
    problem(
        &app.send(raw("{}", "text/plain")).await,
        415,
        "unsupported-media-type",
    );
    problem(
        &app.send(raw("", "application/json")).await,
        400,
        "bad-request",
    );
    let big = "x".repeat(1024 * 1024 + 10);
    let too_big = app
        .send(
            app.client
                .post(app.url("/api/v1/orders"))
                .bearer_auth(&app.key)
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    problem(&too_big, 413, "payload-too-large");

    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("unknown field", Box::new(|o| o["colour"] = json!("red"))),
        (
            "missing email",
            Box::new(|o| {
                o.as_object_mut().expect("obj").remove("email");
            }),
        ),
        ("bad email", Box::new(|o| o["email"] = json!("nobody"))),
        (
            "unknown currency",
            Box::new(|o| o["currency"] = json!("XXX")),
        ),
        (
            "bad country",
            Box::new(|o| o["shipping_address"]["country"] = json!("Poland")),
        ),
        (
            "negative price",
            Box::new(|o| o["lines"][0]["unit_price"] = json!(-1)),
        ),
        (
            "zero quantity",
            Box::new(|o| o["lines"][0]["quantity"] = json!(0)),
        ),
        (
            "discount above price",
            Box::new(|o| o["lines"][0]["discount"] = json!(10_000_000)),
        ),
        (
            "no lines",
            Box::new(|o| {
                o["lines"] = json!([]);
                o["shipments"] = json!([]);
            }),
        ),
        (
            "shipment of a missing line",
            Box::new(|o| o["shipments"][0]["lines"][0]["line"] = json!(7)),
        ),
        (
            "more shipped than ordered",
            Box::new(|o| o["shipments"][0]["lines"][0]["quantity"] = json!(5)),
        ),
        (
            "delivered without a time",
            Box::new(|o| {
                o["shipments"][0]
                    .as_object_mut()
                    .expect("obj")
                    .remove("delivered_at");
            }),
        ),
        (
            "bad status",
            Box::new(|o| o["shipments"][0]["status"] = json!("teleported")),
        ),
        (
            "bad date",
            Box::new(|o| o["placed_at"] = json!("yesterday")),
        ),
        (
            "string amount",
            Box::new(|o| o["shipping_paid"] = json!("14.99")),
        ),
        (
            "float amount",
            Box::new(|o| o["shipping_paid"] = json!(14.99)),
        ),
    ];
    for (name, mutate) in cases {
        let mut o = order_json("#9002", 2);
        mutate(&mut o);
        let r = app.post("/api/v1/orders", &o).await;
        assert_eq!(r.status, 422, "{name}: {}", r.body);
        problem(&r, 422, "validation");
        assert!(
            r.body["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "{name}: {}",
            r.body
        );
    }
    // Nothing of the refused orders was written.
    assert_eq!(order_count(app).await, 1);
}
crate::both!(bad_orders, super::bad_orders_are_refused_whole);

async fn eligibility_explains_itself(app: &TestApp) {
    let old = create_order(app, "#9003", 40).await;
    let id = old["id"].as_str().expect("id");
    let el = app.get(&format!("/api/v1/orders/{id}/eligibility")).await;
    assert_eq!(el.status, 200, "{}", el.body);
    let lines = el.body["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 2);
    for l in lines {
        assert_eq!(l["decision"]["eligible"], false);
        assert_eq!(l["decision"]["explanations"][0]["code"], "window_ended");
        assert!(
            l["messages"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("30-day return window ended")),
            "{l}"
        );
        assert!(
            l["decision"]["trace"]
                .as_array()
                .is_some_and(|t| !t.is_empty())
        );
    }

    let mut undelivered = order_json("#9004", 2);
    undelivered["shipments"][0]["status"] = json!("in_transit");
    undelivered["shipments"][0]
        .as_object_mut()
        .expect("obj")
        .remove("delivered_at");
    let r = app.post("/api/v1/orders", &undelivered).await;
    let id2 = r.body["id"].as_str().expect("id");
    let el = app.get(&format!("/api/v1/orders/{id2}/eligibility")).await;
    assert_eq!(
        el.body["lines"][0]["decision"]["explanations"][0]["code"],
        "not_delivered"
    );

    let fresh = create_order(app, "#9005", 1).await;
    let id3 = fresh["id"].as_str().expect("id");
    let line = fresh["lines"][1]["id"].as_str().expect("line");
    let el = app
        .get(&format!(
            "/api/v1/orders/{id3}/eligibility?line_id={line}&quantity=2"
        ))
        .await;
    assert_eq!(
        el.body["lines"][0]["decision"]["explanations"][0]["code"], "too_many",
        "{}",
        el.body
    );

    for q in [
        "reason=teleported",
        "line_id=nope",
        "quantity=0",
        "quantity=-1",
        "colour=red",
    ] {
        let r = app
            .get(&format!("/api/v1/orders/{id3}/eligibility?{q}"))
            .await;
        problem(&r, 422, "validation");
    }
    problem(
        &app.get("/api/v1/orders/ord_01jd4x7v8k2m3n4p5q6r7s8t9v/eligibility")
            .await,
        404,
        "not-found",
    );
    problem(&app.get("/api/v1/orders/garbage").await, 404, "not-found");
    problem(&app.get("/api/v1/returns/ret_nope").await, 404, "not-found");
    problem(&app.get("/api/v1/nothing-here").await, 404, "not-found");
}
crate::both!(eligibility, super::eligibility_explains_itself);

async fn returns_refuse_what_the_policy_refuses(app: &TestApp) {
    let old = create_order(app, "#9006", 40).await;
    let body = |o: &Value, line: usize, qty: u32| {
        json!({"order_id": o["id"], "method": "drop_off",
            "items": [{"line_id": o["lines"][line]["id"], "quantity": qty, "reason": "wrong_size", "resolution": "refund"}]})
    };
    let late = app.post("/api/v1/returns", &body(&old, 0, 1)).await;
    problem(&late, 422, "validation");
    assert_eq!(
        late.body["explanations"][0]["code"], "window_ended",
        "{}",
        late.body
    );
    assert_eq!(late.body["errors"][0]["field"], "items[0]");

    let o = create_order(app, "#9007", 1).await;
    assert_eq!(
        app.post("/api/v1/returns", &body(&o, 1, 1)).await.status,
        201
    );
    let twice = app.post("/api/v1/returns", &body(&o, 1, 1)).await;
    problem(&twice, 422, "validation");
    assert_eq!(
        twice.body["explanations"][0]["code"], "nothing_left",
        "{}",
        twice.body
    );

    let bad = [
        json!({"order_id": o["id"], "method": "drop_off", "items": []}),
        json!({"order_id": o["id"], "method": "teleport", "items": []}),
        json!({"order_id": "ord_01jd4x7v8k2m3n4p5q6r7s8t9v", "method": "drop_off",
            "items": [{"line_id": o["lines"][0]["id"], "quantity": 1, "reason": "wrong_size", "resolution": "refund"}]}),
        json!({"order_id": o["id"], "method": "drop_off",
            "items": [{"line_id": o["lines"][0]["id"], "quantity": 1, "reason": "wrong_size", "resolution": "keep_item"}]}),
        json!({"order_id": o["id"], "method": "no_shipping",
            "items": [{"line_id": o["lines"][0]["id"], "quantity": 1, "reason": "wrong_size", "resolution": "refund"}]}),
        json!({"order_id": o["id"], "method": "drop_off",
            "items": [{"line_id": "line_01jd4x7v8k2m3n4p5q6r7s8t9v", "quantity": 1, "reason": "wrong_size", "resolution": "refund"}]}),
        json!({"order_id": o["id"], "method": "drop_off",
            "items": [{"line_id": o["lines"][0]["id"], "quantity": 0, "reason": "wrong_size", "resolution": "refund"}]}),
    ];
    for b in bad {
        let r = app.post("/api/v1/returns", &b).await;
        problem(&r, 422, "validation");
    }
    // Only the one good return exists: both units of line 0 are still free.
    let el = app
        .get(&format!(
            "/api/v1/orders/{}/eligibility?line_id={}",
            o["id"].as_str().expect("id"),
            o["lines"][0]["id"].as_str().expect("l")
        ))
        .await;
    assert_eq!(el.body["lines"][0]["decision"]["returnable_quantity"], 2);
}
crate::both!(
    refused_returns,
    super::returns_refuse_what_the_policy_refuses
);

async fn transitions_are_checked(app: &TestApp) {
    let o = create_order(app, "#9008", 1).await;
    let open = |line: usize| {
        json!({"order_id": o["id"], "method": "drop_off",
            "items": [{"line_id": o["lines"][line]["id"], "quantity": 1, "reason": "wrong_size", "resolution": "refund"}]})
    };
    let r = app.post("/api/v1/returns", &open(0)).await;
    let id = r.body["id"].as_str().expect("id").to_owned();
    let item = r.body["items"][0]["id"].as_str().expect("item").to_owned();
    let at = |a: &str| format!("/api/v1/returns/{id}/{a}");

    for action in ["receive", "inspect", "resolve", "mark-in-transit"] {
        let body = match action {
            "receive" => {
                json!({"items": [{"item_id": item, "outcome": "received", "quantity": 1}]})
            }
            "inspect" => {
                json!({"items": [{"item_id": item, "accepted_quantity": 1, "condition": "new", "disposition": "restock"}]})
            }
            _ => json!({}),
        };
        problem(
            &app.post(&at(action), &body).await,
            409,
            "illegal-transition",
        );
    }
    problem(
        &app.post(&at("reject"), &json!({"reason": "  "})).await,
        422,
        "validation",
    );
    problem(
        &app.post(&at("approve"), &json!({"version": 7})).await,
        409,
        "conflict",
    );
    let stale = app
        .send(
            app.client
                .post(app.url(&at("approve")))
                .bearer_auth(&app.key)
                .header("if-match", "\"3\"")
                .json(&json!({})),
        )
        .await;
    problem(&stale, 409, "conflict");
    let current = app.get(&format!("/api/v1/returns/{id}")).await;
    assert_eq!(
        current.body["version"], 1,
        "refused changes left the version alone"
    );
    assert_eq!(current.body["timeline"].as_array().map(Vec::len), Some(1));

    // Two agents approve at once: one wins, the other gets a conflict.
    let (path, v1) = (at("approve"), json!({"version": 1}));
    let (a, b) = tokio::join!(app.post(&path, &v1), app.post(&path, &v1));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", a.body, b.body);

    problem(&app.post(&at("receive"), &json!({"items": [{"item_id": "reti_01jd4x7v8k2m3n4p5q6r7s8t9v", "outcome": "received", "quantity": 1}]})).await, 422, "validation");
    problem(
        &app.post(
            &at("receive"),
            &json!({"items": [{"item_id": item, "outcome": "received", "quantity": 3}]}),
        )
        .await,
        422,
        "validation",
    );
    problem(
        &app.post(
            &at("receive"),
            &json!({"items": [{"item_id": item, "outcome": "exploded", "quantity": 1}]}),
        )
        .await,
        422,
        "validation",
    );

    // Cancelling gives the unit back.
    let r2 = app.post("/api/v1/returns", &open(1)).await;
    assert_eq!(r2.status, 201, "{}", r2.body);
    let id2 = r2.body["id"].as_str().expect("id");
    assert_eq!(app.post("/api/v1/returns", &open(1)).await.status, 422);
    let c = app
        .post(
            &format!("/api/v1/returns/{id2}/cancel"),
            &json!({"reason": "changed my mind"}),
        )
        .await;
    assert_eq!(c.body["status"], "cancelled", "{}", c.body);
    assert_eq!(app.post("/api/v1/returns", &open(1)).await.status, 201);
}
crate::both!(transitions, super::transitions_are_checked);

fn keep_cheap_and_auto() -> PolicyDocument {
    PolicyDocument {
        defaults: Defaults {
            auto_approve: true,
            ..Defaults::default()
        },
        rules: vec![Rule {
            id: "keep-cheap".into(),
            description: None,
            when: Conditions {
                price: Some(PriceRange {
                    currency: Currency::PLN,
                    min: None,
                    max: Some(5000),
                }),
                ..Conditions::default()
            },
            then: Effects {
                keep_item: Some(true),
                ..Effects::default()
            },
        }],
        ..PolicyDocument::default()
    }
}

async fn auto_approval_and_keep_the_item(app: &TestApp) {
    let o = create_order(app, "#9009", 1).await;
    // The mug (39.99 zł) is cheap: keep it.
    let r = app
        .post("/api/v1/returns", &json!({"order_id": o["id"], "method": "drop_off",
            "items": [{"line_id": o["lines"][1]["id"], "quantity": 1, "reason": "changed_mind", "resolution": "keep_item"}]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "approved");
    assert_eq!(r.body["method"], "no_shipping");
    let timeline: Vec<(&str, &str)> = r.body["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or(""),
                e["actor"]["type"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(timeline, [("requested", "api_key"), ("approved", "system")]);
    let id = r.body["id"].as_str().expect("id");
    problem(
        &app.post(
            &format!("/api/v1/returns/{id}/receive"),
            &json!({"items": []}),
        )
        .await,
        409,
        "illegal-transition",
    );
    let done = app
        .post(&format!("/api/v1/returns/{id}/resolve"), &json!({}))
        .await;
    assert_eq!(done.body["status"], "resolved", "{}", done.body);
    assert_eq!(done.body["items"][0]["final_resolution"], "keep_item");
}
crate::both!(
    keep_item,
    super::auto_approval_and_keep_the_item,
    super::keep_cheap_and_auto()
);

async fn idempotent_posts(app: &TestApp) {
    let o = create_order(app, "#9010", 1).await;
    let body = json!({"order_id": o["id"], "method": "drop_off",
        "items": [{"line_id": o["lines"][0]["id"], "quantity": 1, "reason": "wrong_size", "resolution": "refund"}]});
    let first = app.post_with_key("/api/v1/returns", "key-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = app.post_with_key("/api/v1/returns", "key-1", &body).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );

    let mut other = body.clone();
    other["items"][0]["reason"] = json!("changed_mind");
    problem(
        &app.post_with_key("/api/v1/returns", "key-1", &other).await,
        422,
        "idempotency-key-reused",
    );

    // Five retries at once with a fresh key: one return, five identical answers.
    let body2 = json!({"order_id": o["id"], "method": "drop_off",
        "items": [{"line_id": o["lines"][0]["id"], "quantity": 1, "reason": "wrong_size", "resolution": "store_credit"}]});
    let replies = futures_join5(app, &body2).await;
    let ids: BTreeSet<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            r.body["id"].as_str().unwrap_or("").to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let el = app
        .get(&format!(
            "/api/v1/orders/{}/eligibility?line_id={}",
            o["id"].as_str().expect("id"),
            o["lines"][0]["id"].as_str().expect("l")
        ))
        .await;
    assert_eq!(
        el.body["lines"][0]["decision"]["returnable_quantity"], 0,
        "exactly two returns hold both units"
    );

    // An order POST replays too, and the key is the shop's own.
    let ord = order_json("#9011", 1);
    let a = app.post_with_key("/api/v1/orders", "order-key", &ord).await;
    let b = app.post_with_key("/api/v1/orders", "order-key", &ord).await;
    assert_eq!((a.status, b.status), (201, 201));
    assert_eq!(a.body["id"], b.body["id"]);
    let other_shop = second_shop(app).await;
    let c = app
        .send(
            app.client
                .post(app.url("/api/v1/orders"))
                .bearer_auth(&other_shop)
                .header("Idempotency-Key", "order-key")
                .json(&ord),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    assert_ne!(c.body["id"], a.body["id"]);
    problem(
        &app.send(
            app.client
                .post(app.url("/api/v1/orders"))
                .bearer_auth(&app.key)
                .header("Idempotency-Key", "")
                .json(&ord),
        )
        .await,
        422,
        "validation",
    );
}

async fn futures_join5(app: &TestApp, body: &Value) -> Vec<crate::support::Reply> {
    let (a, b, c, d, e) = tokio::join!(
        app.post_with_key("/api/v1/returns", "key-2", body),
        app.post_with_key("/api/v1/returns", "key-2", body),
        app.post_with_key("/api/v1/returns", "key-2", body),
        app.post_with_key("/api/v1/returns", "key-2", body),
        app.post_with_key("/api/v1/returns", "key-2", body),
    );
    vec![a, b, c, d, e]
}
crate::both!(idempotency, super::idempotent_posts);

async fn openapi_describes_the_api(app: &TestApp) {
    let r = app
        .send(app.client.get(app.url("/api/v1/openapi.json")))
        .await;
    assert_eq!(r.status, 200);
    let doc = &r.body;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/orders", "post"),
        ("/orders/{order_id}", "get"),
        ("/orders/{order_id}/eligibility", "get"),
        ("/returns", "post"),
        ("/returns/{return_id}", "get"),
        ("/returns/{return_id}/approve", "post"),
        ("/returns/{return_id}/reject", "post"),
        ("/returns/{return_id}/mark-in-transit", "post"),
        ("/returns/{return_id}/receive", "post"),
        ("/returns/{return_id}/inspect", "post"),
        ("/returns/{return_id}/resolve", "post"),
        ("/returns/{return_id}/cancel", "post"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    for schema in ["Problem", "ReturnView", "Decision", "NewOrder", "Money"] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "schema {schema} missing"
        );
    }
    let health = app.send(app.client.get(app.url("/healthz"))).await;
    assert_eq!(health.status, 200);
    let ready = app.send(app.client.get(app.url("/readyz"))).await;
    assert_eq!(ready.status, 200);
}
crate::both!(openapi, super::openapi_describes_the_api);
