//! `POST /api/v1/returns` and the lifecycle actions: what the policy refuses,
//! quantities across returns, every illegal transition, versions under
//! concurrency, keep-the-item, and quantities given back.

use kembali_app::jobs::{Job, expire_return::ExpireReturn};
use std::collections::BTreeMap;

use kembali_core::Currency;
use kembali_core::policy::{Conditions, Defaults, Effects, PolicyDocument, PriceRange, Rule};
use serde_json::{Value, json};

use crate::fixtures::{
    EMAIL, bulk_order, create_order, create_return, get_return, kinds, order, return_body,
    returnable, s,
};
use crate::support::{TestApp, assert_problem};

async fn act(app: &TestApp, id: &str, action: &str, body: Value) -> crate::support::Reply {
    app.post(&format!("/api/v1/returns/{id}/{action}"), &body)
        .await
}

async fn refused_returns_store_nothing(app: &TestApp) {
    let old = create_order(app, &order("#R-1", 40)).await;
    let late = app
        .post("/api/v1/returns", &return_body(&old, 0, 1, "refund"))
        .await;
    assert_problem(&late, 422, "validation");
    assert_eq!(late.body["errors"][0]["field"], "items[0]");
    let e = &late.body["explanations"][0];
    assert_eq!(e["code"], "window_ended", "{}", late.body);
    assert!(
        s(&e["message"]).starts_with("The 30-day return window ended on"),
        "{e}"
    );
    assert_eq!(app.counts(EMAIL).await, (1, 0));

    let o = create_order(app, &order("#R-2", 2)).await;
    let mut fs = order("#R-3", 2);
    fs["lines"][1]["final_sale"] = json!(true);
    let fs = create_order(app, &fs).await;
    let r = app
        .post("/api/v1/returns", &return_body(&fs, 1, 1, "refund"))
        .await;
    assert_problem(&r, 422, "validation");
    assert!(
        r.body["explanations"]
            .as_array()
            .expect("explanations")
            .iter()
            .any(|e| e["code"] == "final_sale"),
        "{}",
        r.body
    );

    let item = |line: &Value, qty: Value, resolution: &str| json!({"line_id": line, "quantity": qty, "reason": "wrong_size", "resolution": resolution});
    let shirt = &o["lines"][0]["id"];
    let mug = &o["lines"][1]["id"];
    let oid = &o["id"];
    let bad: Vec<(&str, Value, &str)> = vec![
        (
            "no items",
            json!({"order_id": oid, "method": "drop_off", "items": []}),
            "items",
        ),
        (
            "unknown method",
            json!({"order_id": oid, "method": "teleport", "items": [item(shirt, json!(1), "refund")]}),
            "body",
        ),
        (
            "unknown reason",
            json!({"order_id": oid, "method": "drop_off", "items": [{"line_id": shirt, "quantity": 1, "reason": "bored", "resolution": "refund"}]}),
            "body",
        ),
        (
            "unknown order",
            json!({"order_id": "ord_01jd4x7v8k2m3n4p5q6r7s8t9v", "method": "drop_off", "items": [item(shirt, json!(1), "refund")]}),
            "order_id",
        ),
        (
            "malformed order",
            json!({"order_id": "order-1", "method": "drop_off", "items": [item(shirt, json!(1), "refund")]}),
            "body",
        ),
        (
            "line of another order",
            json!({"order_id": oid, "method": "drop_off", "items": [item(&fs["lines"][0]["id"], json!(1), "refund")]}),
            "items[0].line_id",
        ),
        (
            "zero quantity",
            json!({"order_id": oid, "method": "drop_off", "items": [item(shirt, json!(0), "refund")]}),
            "items[0].quantity",
        ),
        (
            "too many",
            json!({"order_id": oid, "method": "drop_off", "items": [item(shirt, json!(3), "refund")]}),
            "items[0]",
        ),
        (
            "same line over its quantity",
            json!({"order_id": oid, "method": "drop_off", "items": [item(shirt, json!(1), "refund"), item(shirt, json!(2), "refund")]}),
            "items[1]",
        ),
        (
            "overflowing quantities",
            json!({"order_id": oid, "method": "drop_off", "items": [item(shirt, json!(u32::MAX), "refund"), item(shirt, json!(1), "refund")]}),
            "",
        ),
        (
            "resolution not offered",
            json!({"order_id": oid, "method": "drop_off", "items": [item(shirt, json!(1), "replacement")]}),
            "items[0].resolution",
        ),
        (
            "keep without a rule",
            json!({"order_id": oid, "method": "drop_off", "items": [item(shirt, json!(1), "keep_item")]}),
            "items[0].resolution",
        ),
        (
            "method not offered",
            json!({"order_id": oid, "method": "courier_pickup", "items": [item(shirt, json!(1), "refund")]}),
            "method",
        ),
        (
            "no shipping for a parcel",
            json!({"order_id": oid, "method": "no_shipping", "items": [item(shirt, json!(1), "refund")]}),
            "method",
        ),
        (
            "long comment",
            json!({"order_id": oid, "method": "drop_off", "items": [{"line_id": shirt, "quantity": 1, "reason": "wrong_size", "resolution": "refund", "comment": "x".repeat(2001)}]}),
            "items[0].comment",
        ),
        (
            "eleven photos",
            json!({"order_id": oid, "method": "drop_off", "items": [{"line_id": shirt, "quantity": 1, "reason": "wrong_size", "resolution": "refund", "photos": vec!["p"; 11]}]}),
            "items[0].photos",
        ),
        (
            "NUL in a comment",
            json!({"order_id": oid, "method": "drop_off", "items": [{"line_id": mug, "quantity": 1, "reason": "wrong_size", "resolution": "refund", "comment": "bad\u{0}"}]}),
            "",
        ),
        (
            "unknown field",
            json!({"order_id": oid, "method": "drop_off", "rush": true, "items": [item(shirt, json!(1), "refund")]}),
            "body",
        ),
    ];
    for (name, body, field) in bad {
        let r = app.post("/api/v1/returns", &body).await;
        assert_eq!(r.status, 422, "{name}: {}", r.body);
        assert_problem(&r, 422, "validation");
        if !field.is_empty() {
            assert_eq!(r.body["errors"][0]["field"], field, "{name}: {}", r.body);
        }
    }
    assert_eq!(
        app.counts(EMAIL).await,
        (3, 0),
        "a refused return was stored"
    );

    // Nothing refused took a return number.
    let first = create_return(app, &return_body(&o, 1, 1, "refund")).await;
    assert_eq!(first["number"], "R-1001");
    // The mug's one unit is taken: a second return of it is refused.
    let again = app
        .post("/api/v1/returns", &return_body(&o, 1, 1, "refund"))
        .await;
    assert_problem(&again, 422, "validation");
    assert_eq!(again.body["explanations"][0]["code"], "nothing_left");
    // One shirt of two, then two more: only one is left.
    create_return(app, &return_body(&o, 0, 1, "store_credit")).await;
    let over = app
        .post("/api/v1/returns", &return_body(&o, 0, 2, "refund"))
        .await;
    assert_problem(&over, 422, "validation");
    assert_eq!(over.body["explanations"][0]["code"], "too_many");
    assert_eq!(over.body["explanations"][0]["available"], 1);
    // Both units of a line in one request, as two items, is fine.
    let o2 = create_order(app, &order("#R-4", 2)).await;
    let two = create_return(
        app,
        &json!({"order_id": o2["id"], "method": "drop_off",
            "items": [item(&o2["lines"][0]["id"], json!(1), "refund"),
                      {"line_id": o2["lines"][0]["id"], "quantity": 1, "reason": "damaged", "resolution": "store_credit"}]}),
    )
    .await;
    assert_eq!(two["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(returnable(app, &o2, 0).await, 0);
    assert_eq!(app.counts(EMAIL).await, (4, 3));
}
crate::both!(refused, super::refused_returns_store_nothing);

fn auto_approve() -> PolicyDocument {
    PolicyDocument {
        defaults: Defaults {
            auto_approve: true,
            ..Defaults::default()
        },
        ..PolicyDocument::default()
    }
}

async fn auto_approval_records_both_steps(app: &TestApp) {
    let o = create_order(app, &order("#R-5", 2)).await;
    let r = create_return(app, &return_body(&o, 0, 1, "refund")).await;
    assert_eq!(r["status"], "approved");
    assert_eq!(r["version"], 2);
    let steps: Vec<(String, String)> = r["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|e| (s(&e["kind"]), s(&e["actor"]["type"])))
        .collect();
    assert_eq!(
        steps,
        [
            ("requested".to_owned(), "api_key".to_owned()),
            ("approved".to_owned(), "system".to_owned())
        ]
    );
    // Stored as shown.
    let got = app.get(&format!("/api/v1/returns/{}", s(&r["id"]))).await;
    assert_eq!(got.body, r);
    assert_eq!(
        got.headers.get("etag").and_then(|v| v.to_str().ok()),
        Some("\"2\"")
    );
    // An approved return expires if not shipped: one expiry job is waiting.
    // The approval's outbox message is dispatched by the worker, which
    // schedules the expiry.
    app.drain().await;
    let jobs = kembali_store::jobs::list(&app.db, kembali_store::jobs::JobState::Queued, 100)
        .await
        .expect("jobs");
    let expiring: Vec<_> = jobs
        .iter()
        .filter(|j| j.kind == <ExpireReturn as Job>::KIND)
        .collect();
    assert_eq!(expiring.len(), 1);
    assert_eq!(expiring[0].payload["return_id"], r["id"]);
}
crate::both!(
    auto_approval,
    super::auto_approval_records_both_steps,
    super::auto_approve()
);

/// Through the whole application as `kembali serve` runs it: the worker the
/// test kit started expires an approved return once the test's clock passes its
/// ship-by day, and not a day before.
async fn approved_returns_expire_when_ship_by_passes(app: &TestApp) {
    let o = create_order(app, &order("#R-EXP", 2)).await;
    let r = create_return(app, &return_body(&o, 0, 1, "refund")).await;
    assert_eq!(r["status"], "approved");
    let id = s(&r["id"]);
    app.drain().await;
    // The default policy gives 14 ship-by days.
    app.clock.advance(jiff::SignedDuration::from_hours(13 * 24));
    app.drain().await;
    assert_eq!(get_return(app, &id).await["status"], "approved");
    app.clock.advance(jiff::SignedDuration::from_hours(2 * 24));
    app.drain().await;
    let after = get_return(app, &id).await;
    assert_eq!(after["status"], "expired", "{after}");
    let last = after["timeline"]
        .as_array()
        .and_then(|t| t.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (s(&last["kind"]), s(&last["actor"]["type"])),
        ("expired".to_owned(), "system".to_owned())
    );
    // The unit is free again: a new return of it is accepted.
    let again = create_return(app, &return_body(&o, 0, 2, "refund")).await;
    assert_eq!(again["status"], "approved");
}
crate::both!(
    expiry_on_the_test_clock,
    super::approved_returns_expire_when_ship_by_passes,
    super::auto_approve()
);

const ACTIONS: [&str; 7] = [
    "approve",
    "reject",
    "mark-in-transit",
    "receive",
    "inspect",
    "resolve",
    "cancel",
];

/// A body for `action` that would be valid if the state allowed it.
fn body_for(action: &str, item: &str) -> Value {
    match action {
        "reject" => json!({"reason": "worn"}),
        "receive" => json!({"items": [{"item_id": item, "outcome": "received", "quantity": 1}]}),
        "inspect" => {
            json!({"items": [{"item_id": item, "accepted_quantity": 1, "condition": "new", "disposition": "restock"}]})
        }
        "cancel" => json!({"reason": "changed my mind"}),
        _ => json!({}),
    }
}

/// Every action in every state: the legal ones are known, all others are a 409
/// `illegal-transition` that leaves the return exactly as it was.
async fn every_illegal_transition_is_refused(app: &TestApp) {
    let o = create_order(app, &bulk_order("#R-6", 10, 2)).await;
    let paths: [(&str, &[&str]); 8] = [
        ("requested", &[]),
        ("approved", &["approve"]),
        ("in_transit", &["approve", "mark-in-transit"]),
        ("received", &["approve", "receive"]),
        ("inspected", &["approve", "receive", "inspect"]),
        ("resolved", &["approve", "receive", "inspect", "resolve"]),
        ("rejected", &["reject"]),
        ("cancelled", &["approve", "cancel"]),
    ];
    let legal: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("requested", &["approve", "reject", "cancel"][..]),
        ("approved", &["mark-in-transit", "receive", "cancel"][..]),
        ("in_transit", &["receive"][..]),
        ("received", &["inspect"][..]),
        ("inspected", &["resolve"][..]),
        ("resolved", &[][..]),
        ("rejected", &[][..]),
        ("cancelled", &[][..]),
    ]);
    let mut refused = 0;
    for (state, steps) in paths {
        let r = create_return(app, &return_body(&o, 0, 1, "refund")).await;
        let id = s(&r["id"]);
        let item = s(&r["items"][0]["id"]);
        for step in steps {
            let res = act(app, &id, step, body_for(step, &item)).await;
            assert_eq!(res.status, 200, "{state} via {step}: {}", res.body);
        }
        let before = get_return(app, &id).await;
        assert_eq!(before["status"], state);
        for action in ACTIONS {
            if legal[state].contains(&action) {
                continue;
            }
            let res = act(app, &id, action, body_for(action, &item)).await;
            assert_eq!(res.status, 409, "{action} on {state}: {}", res.body);
            assert_problem(&res, 409, "illegal-transition");
            // In English that reads: "… cannot be resolved", not "be resolve".
            let done = match action {
                "mark-in-transit" => "marked in transit".to_owned(),
                "cancel" => "cancelled".to_owned(),
                a if a.ends_with('e') => format!("{a}d"),
                a => format!("{a}ed"),
            };
            let detail = res.body["detail"].as_str().unwrap_or_default();
            assert!(
                detail.starts_with(&format!("a return that is {state} cannot be {done}: ")),
                "{detail}"
            );
            // Also when the caller names the right version.
            let mut versioned = body_for(action, &item);
            versioned["version"] = before["version"].clone();
            let res = act(app, &id, action, versioned).await;
            assert_problem(&res, 409, "illegal-transition");
            refused += 1;
        }
        assert_eq!(get_return(app, &id).await, before, "{state} was changed");
    }
    assert_eq!(refused, 8 * 7 - 9);
}
crate::both!(
    illegal_transitions,
    super::every_illegal_transition_is_refused
);

async fn invalid_changes_are_refused_whole(app: &TestApp) {
    let o = create_order(app, &bulk_order("#R-7", 5, 2)).await;
    let r = create_return(
        app,
        &json!({"order_id": o["id"], "method": "drop_off",
            "items": [{"line_id": o["lines"][0]["id"], "quantity": 2, "reason": "wrong_size", "resolution": "refund"},
                      {"line_id": o["lines"][1]["id"], "quantity": 1, "reason": "damaged", "resolution": "store_credit"}]}),
    )
    .await;
    let id = s(&r["id"]);
    let (a, b) = (s(&r["items"][0]["id"]), s(&r["items"][1]["id"]));
    for body in [json!({}), json!({"reason": ""}), json!({"reason": " \n\t"})] {
        assert_problem(&act(app, &id, "reject", body).await, 422, "validation");
    }
    assert_eq!(
        act(app, &id, "approve", json!({"version": 1})).await.status,
        200
    );
    let approved = get_return(app, &id).await;

    let received = |x: &str, q: u32| json!({"item_id": x, "outcome": "received", "quantity": q});
    for (name, body) in [
        (
            "unknown item",
            json!({"items": [received("reti_01jd4x7v8k2m3n4p5q6r7s8t9v", 2), received(&b, 1)]}),
        ),
        (
            "item of another return",
            json!({"items": [received(&s(&r["id"]).replace("ret_", "reti_"), 2), received(&b, 1)]}),
        ),
        (
            "malformed item",
            json!({"items": [received("nope", 2), received(&b, 1)]}),
        ),
        ("no items", json!({"items": []})),
        ("an item left out", json!({"items": [received(&a, 2)]})),
        (
            "an item twice",
            json!({"items": [received(&a, 2), received(&a, 2), received(&b, 1)]}),
        ),
        (
            "received fewer than announced",
            json!({"items": [received(&a, 1), received(&b, 1)]}),
        ),
        (
            "short of nothing",
            json!({"items": [{"item_id": a, "outcome": "short", "quantity": 2}, received(&b, 1)]}),
        ),
        (
            "missing with units",
            json!({"items": [{"item_id": a, "outcome": "missing", "quantity": 1}, received(&b, 1)]}),
        ),
        (
            "unknown outcome",
            json!({"items": [{"item_id": a, "outcome": "exploded", "quantity": 2}, received(&b, 1)]}),
        ),
        (
            "negative quantity",
            json!({"items": [{"item_id": a, "outcome": "received", "quantity": -2}, received(&b, 1)]}),
        ),
        (
            "unknown field",
            json!({"items": [received(&a, 2), received(&b, 1)], "signed_by": "x"}),
        ),
    ] {
        let res = act(app, &id, "receive", body).await;
        assert_eq!(res.status, 422, "{name}: {}", res.body);
        assert_problem(&res, 422, "validation");
    }
    assert_eq!(
        get_return(app, &id).await,
        approved,
        "a refused receipt changed the return"
    );

    let res = act(app, &id, "receive", json!({"items": [{"item_id": a, "outcome": "short", "quantity": 1}, received(&b, 1)], "note": "one shirt missing"})).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["items"][0]["receipt"]["outcome"], "short");
    let got = get_return(app, &id).await;
    assert_eq!(got, res.body, "the answer is what is stored");

    let inspected = |x: &str, q: u32| json!({"item_id": x, "accepted_quantity": q, "condition": "used", "disposition": "refurbish"});
    for (name, body) in [
        (
            "more accepted than arrived",
            json!({"items": [inspected(&a, 2), inspected(&b, 1)]}),
        ),
        ("an item left out", json!({"items": [inspected(&a, 1)]})),
        (
            "unknown condition",
            json!({"items": [{"item_id": a, "accepted_quantity": 1, "condition": "shiny", "disposition": "restock"}, inspected(&b, 1)]}),
        ),
    ] {
        let res = act(app, &id, "inspect", body).await;
        assert_eq!(res.status, 422, "{name}: {}", res.body);
    }
    assert_eq!(get_return(app, &id).await, got);
    let res = act(
        app,
        &id,
        "inspect",
        json!({"items": [inspected(&a, 1), inspected(&b, 0)]}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let inspected_ret = res.body;
    let res = act(app, &id, "resolve", json!({"items": [{"item_id": a, "resolution": "refund"}, {"item_id": a, "resolution": "refund"}]})).await;
    assert_problem(&res, 422, "validation");
    let res = act(
        app,
        &id,
        "resolve",
        json!({"items": [{"item_id": "reti_01jd4x7v8k2m3n4p5q6r7s8t9v", "resolution": "refund"}]}),
    )
    .await;
    assert_problem(&res, 422, "validation");
    assert_eq!(
        get_return(app, &id).await["version"],
        inspected_ret["version"]
    );
    let res = act(
        app,
        &id,
        "resolve",
        json!({"items": [{"item_id": b, "resolution": "replacement"}]}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["items"][0]["final_resolution"], "refund");
    assert_eq!(res.body["items"][1]["final_resolution"], "replacement");
    assert_eq!(
        kinds(&res.body),
        ["requested", "approved", "received", "inspected", "resolved"]
    );
    assert_eq!(res.body["timeline"][2]["note"], "one shirt missing");

    // Unknown returns, well-formed or not.
    for rid in [
        "ret_01jd4x7v8k2m3n4p5q6r7s8t9v",
        "garbage",
        "ord_01jd4x7v8k2m3n4p5q6r7s8t9v",
    ] {
        assert_problem(&act(app, rid, "approve", json!({})).await, 404, "not-found");
        assert_problem(
            &app.get(&format!("/api/v1/returns/{rid}")).await,
            404,
            "not-found",
        );
    }
}
crate::both!(invalid_changes, super::invalid_changes_are_refused_whole);

async fn versions_guard_changes(app: &TestApp) {
    let o = create_order(app, &bulk_order("#R-8", 10, 2)).await;
    let r = create_return(app, &return_body(&o, 0, 1, "refund")).await;
    let id = s(&r["id"]);
    let with_match = |action: &str, tag: &str, body: Value| {
        app.client
            .post(app.url(&format!("/api/v1/returns/{id}/{action}")))
            .bearer_auth(&app.key)
            .header("if-match", tag)
            .json(&body)
    };
    for v in [0, 2, 7, -1] {
        assert_problem(
            &act(app, &id, "approve", json!({"version": v})).await,
            409,
            "conflict",
        );
    }
    for tag in ["\"0\"", "\"2\"", "W/\"2\""] {
        assert_problem(
            &app.send(with_match("approve", tag, json!({}))).await,
            409,
            "conflict",
        );
    }
    for tag in ["*", "\"abc\"", "\"1\", \"2\""] {
        let r = app.send(with_match("approve", tag, json!({}))).await;
        assert_problem(&r, 422, "validation");
        assert_eq!(r.body["errors"][0]["field"], "If-Match", "{}", r.body);
    }
    // Disagreeing versions: one of them is stale, which is a conflict.
    assert_problem(
        &app.send(with_match("approve", "\"1\"", json!({"version": 2})))
            .await,
        409,
        "conflict",
    );
    assert_problem(
        &act(app, &id, "approve", json!({"version": "1"})).await,
        422,
        "validation",
    );
    let current = get_return(app, &id).await;
    assert_eq!(
        current["version"], 1,
        "refused changes left the version alone"
    );
    assert_eq!(kinds(&current), ["requested"]);

    // The ETag of a read is what If-Match takes.
    let read = app.get(&format!("/api/v1/returns/{id}")).await;
    let etag = read
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("etag")
        .to_owned();
    let ok = app
        .send(with_match("approve", &etag, json!({"version": 1})))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["version"], 2);
    let ok = app
        .send(with_match(
            "mark-in-transit",
            "W/\"2\"",
            json!({"carrier": "InPost", "tracking_number": "R6200"}),
        ))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["timeline"][2]["data"]["tracking_number"], "R6200");
    // The old ETag is stale now.
    assert_problem(
        &app.send(with_match(
            "receive",
            &etag,
            body_for("receive", &s(&r["items"][0]["id"])),
        ))
        .await,
        409,
        "conflict",
    );
}
crate::both!(versions, super::versions_guard_changes);

/// Agents acting at once on one return: exactly one change wins, the others are
/// told; the timeline and the expiry job record one approval.
async fn concurrent_changes_have_one_winner(app: &TestApp) {
    let o = create_order(app, &bulk_order("#R-9", 10, 2)).await;
    let mut approvals_won = 0;
    for round in 0..4 {
        let r = create_return(app, &return_body(&o, 0, 1, "refund")).await;
        let id = s(&r["id"]);
        let path = format!("/api/v1/returns/{id}/approve");
        // Even rounds name the version; odd rounds do not.
        let body = if round % 2 == 0 {
            json!({"version": 1})
        } else {
            json!({})
        };
        let (a, b, c) = tokio::join!(
            app.post(&path, &body),
            app.post(&path, &body),
            app.post(&path, &body)
        );
        let mut statuses = [a.status, b.status, c.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 409, 409],
            "{} / {} / {}",
            a.body,
            b.body,
            c.body
        );
        for loser in [&a, &b, &c].into_iter().filter(|x| x.status == 409) {
            let kind = s(&loser.body["type"]);
            if round % 2 == 0 {
                assert_eq!(kind, "urn:kembali:problem:conflict", "{}", loser.body);
            } else {
                assert!(
                    kind == "urn:kembali:problem:conflict"
                        || kind == "urn:kembali:problem:illegal-transition",
                    "{}",
                    loser.body
                );
            }
        }
        let got = get_return(app, &id).await;
        assert_eq!(got["version"], 2);
        assert_eq!(kinds(&got), ["requested", "approved"]);

        // Approve and reject race: one of them, never both.
        let r = create_return(app, &return_body(&o, 0, 1, "refund")).await;
        let id = s(&r["id"]);
        let (x, y) = tokio::join!(
            act(app, &id, "approve", json!({})),
            act(app, &id, "reject", json!({"reason": "no"}))
        );
        let mut statuses = [x.status, y.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "{} / {}", x.body, y.body);
        let got = get_return(app, &id).await;
        assert_eq!(kinds(&got).len(), 2);
        if x.status == 200 {
            approvals_won += 1;
            assert_eq!(got["status"], "approved");
        } else {
            assert_eq!(got["status"], "rejected");
        }
    }
    // The approval's outbox message is dispatched by the worker, which
    // schedules the expiry.
    app.drain().await;
    let jobs = kembali_store::jobs::list(&app.db, kembali_store::jobs::JobState::Queued, 100)
        .await
        .expect("jobs");
    let expiring = jobs
        .iter()
        .filter(|j| j.kind == <ExpireReturn as Job>::KIND)
        .count();
    assert_eq!(expiring, 4 + approvals_won, "one expiry job per approval");
}
crate::both!(concurrency, super::concurrent_changes_have_one_winner);

fn keep_cheap_items() -> PolicyDocument {
    PolicyDocument {
        rules: vec![Rule {
            id: "keep-cheap".into(),
            description: Some("Items under 50 zł stay with the shopper".into()),
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

async fn keep_the_item_goes_straight_to_resolved(app: &TestApp) {
    let o = create_order(app, &order("#R-10", 2)).await;
    let el = app
        .get(&format!(
            "/api/v1/orders/{}/eligibility?line_id={}",
            s(&o["id"]),
            s(&o["lines"][1]["id"])
        ))
        .await;
    let d = &el.body["lines"][0]["decision"];
    assert_eq!(d["keep_item"], true, "{d}");
    assert!(
        d["resolutions"]
            .as_array()
            .expect("r")
            .contains(&json!("keep_item"))
    );
    assert!(
        d["trace"]
            .as_array()
            .expect("trace")
            .iter()
            .any(|t| t["source"] == "rule:keep-cheap"),
        "{d}"
    );

    // The shirt is not cheap: keeping it is not offered.
    let shirt = app
        .post("/api/v1/returns", &return_body(&o, 0, 1, "keep_item"))
        .await;
    assert_problem(&shirt, 422, "validation");

    let r = create_return(app, &return_body(&o, 1, 1, "keep_item")).await;
    assert_eq!(r["status"], "requested");
    assert_eq!(r["method"], "no_shipping", "nothing travels");
    let id = s(&r["id"]);
    let item = s(&r["items"][0]["id"]);
    let approved = act(app, &id, "approve", json!({"version": 1, "note": "fine"})).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    for action in ["mark-in-transit", "receive"] {
        assert_problem(
            &act(app, &id, action, body_for(action, &item)).await,
            409,
            "illegal-transition",
        );
    }
    // Only keep_item is possible for an item that does not come back.
    let res = act(
        app,
        &id,
        "resolve",
        json!({"items": [{"item_id": item, "resolution": "refund"}]}),
    )
    .await;
    assert_problem(&res, 422, "validation");
    let done = act(app, &id, "resolve", json!({"version": 2})).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["status"], "resolved");
    assert_eq!(done.body["items"][0]["final_resolution"], "keep_item");
    assert_eq!(kinds(&done.body), ["requested", "approved", "resolved"]);
    assert_eq!(done.body["timeline"][1]["note"], "fine");
    // Nothing is shipped, so nothing expires.
    // The approval's outbox message is dispatched by the worker, which
    // schedules the expiry.
    app.drain().await;
    let jobs = kembali_store::jobs::list(&app.db, kembali_store::jobs::JobState::Queued, 100)
        .await
        .expect("jobs");
    assert!(
        !jobs.iter().any(|j| j.payload["return_id"] == json!(id)),
        "a keep-the-item return was scheduled to expire"
    );
    // Kept items still count as returned.
    assert_eq!(returnable(app, &o, 1).await, 0);
}
crate::both!(
    keep_item,
    super::keep_the_item_goes_straight_to_resolved,
    super::keep_cheap_items()
);

async fn ended_returns_give_units_back(app: &TestApp) {
    let o = create_order(app, &order("#R-11", 2)).await;
    let mug = |res: &str| return_body(&o, 1, 1, res);

    // Cancelled while requested.
    let r = create_return(app, &mug("refund")).await;
    assert_problem(
        &app.post("/api/v1/returns", &mug("refund")).await,
        422,
        "validation",
    );
    let c = act(
        app,
        &s(&r["id"]),
        "cancel",
        json!({"reason": "found a use"}),
    )
    .await;
    assert_eq!(c.body["status"], "cancelled", "{}", c.body);
    assert_eq!(c.body["timeline"][1]["note"], "found a use");
    assert_eq!(returnable(app, &o, 1).await, 1);

    // Cancelled once approved, with no reason.
    let r = create_return(app, &mug("store_credit")).await;
    assert_eq!(
        act(app, &s(&r["id"]), "approve", json!({})).await.status,
        200
    );
    assert_eq!(returnable(app, &o, 1).await, 0);
    let c = act(app, &s(&r["id"]), "cancel", json!({})).await;
    assert_eq!(c.body["status"], "cancelled", "{}", c.body);
    assert_eq!(returnable(app, &o, 1).await, 1);

    // Rejected.
    let r = create_return(app, &mug("refund")).await;
    let j = act(app, &s(&r["id"]), "reject", json!({"reason": "used"})).await;
    assert_eq!(j.body["status"], "rejected", "{}", j.body);
    assert_eq!(j.body["timeline"][1]["note"], "used");
    assert_eq!(returnable(app, &o, 1).await, 1);

    // In transit, received and resolved returns keep holding their units.
    let r = create_return(app, &mug("refund")).await;
    let id = s(&r["id"]);
    let item = s(&r["items"][0]["id"]);
    for action in [
        "approve",
        "mark-in-transit",
        "receive",
        "inspect",
        "resolve",
    ] {
        assert_eq!(
            act(app, &id, action, body_for(action, &item)).await.status,
            200,
            "{action}"
        );
        assert_eq!(returnable(app, &o, 1).await, 0, "after {action}");
        assert_problem(
            &app.post("/api/v1/returns", &mug("refund")).await,
            422,
            "validation",
        );
    }
    // Four returns were opened, one still holds the unit.
    assert_eq!(app.counts(EMAIL).await, (1, 4));
}
crate::both!(units_given_back, super::ended_returns_give_units_back);

/// Shoppers racing for the same units: the quantity returned never exceeds the
/// quantity delivered, and concurrent returns get distinct numbers.
async fn racing_returns_never_overrun(app: &TestApp) {
    let o = create_order(app, &order("#R-12", 2)).await;
    // Five requests for the two shirts, one unit each, at once.
    let replies = crate::fixtures::post_all(
        app,
        "/api/v1/returns",
        None,
        vec![return_body(&o, 0, 1, "refund"); 5],
    )
    .await;
    let won: Vec<_> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        won.len(),
        2,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != 201) {
        assert_problem(r, 422, "validation");
        let code = s(&r.body["explanations"][0]["code"]);
        assert!(code == "nothing_left" || code == "too_many", "{}", r.body);
    }
    assert_eq!(returnable(app, &o, 0).await, 0);

    // Returns of different orders at once each take their own number.
    let mut bodies = Vec::new();
    for n in 0..5 {
        let other = create_order(app, &order(&format!("#R-13-{n}"), 2)).await;
        bodies.push(return_body(&other, 1, 1, "refund"));
    }
    let replies = crate::fixtures::post_all(app, "/api/v1/returns", None, bodies).await;
    let numbers: std::collections::BTreeSet<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            s(&r.body["number"])
        })
        .collect();
    let expected: std::collections::BTreeSet<String> =
        (1003..=1007).map(|n| format!("R-{n}")).collect();
    assert_eq!(numbers, expected);
    assert_eq!(app.counts(EMAIL).await, (6, 7));
}
crate::both!(racing, super::racing_returns_never_overrun);
