//! `/api/v1/policy`: versions saved and read back, errors at their JSON pointer,
//! drafts checked with warnings and without saving, and decisions explained
//! under the current policy or a draft, for a hypothetical reason and date.

use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::fixtures::{create_order, order, s};
use crate::support::{Reply, TestApp, assert_problem};

async fn put(app: &TestApp, body: &Value) -> Reply {
    app.send(
        app.client
            .put(app.url("/api/v1/policy"))
            .bearer_auth(&app.key)
            .json(body),
    )
    .await
}

async fn versions_are_saved_and_listed(app: &TestApp) {
    let r = app.get("/api/v1/policy").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["version"], 1);
    assert_eq!(r.body["document"]["defaults"]["window_days"], 30);

    let mut docs = Vec::new();
    for days in [14, 21, 60] {
        let doc = json!({"name": format!("{days} days"), "defaults": {"window_days": days},
            "eu_withdrawal": true});
        let r = put(app, &doc).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["document"]["defaults"]["window_days"], days);
        docs.push(r.body);
    }
    assert_eq!(docs[2]["version"], 4);
    let current = app.get("/api/v1/policy").await;
    assert_eq!(current.body, docs[2], "the newest version is current");
    let old = app.get("/api/v1/policy/versions/2").await;
    assert_eq!(old.body, docs[0], "a past version reads back as saved");

    // Pages of two, oldest first, the cursor the last version shown.
    let p1 = app.get("/api/v1/policy/versions?limit=2").await;
    assert_eq!(p1.status, 200, "{}", p1.body);
    let versions = |p: &Reply| -> Vec<i64> {
        p.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|v| v["version"].as_i64().expect("version"))
            .collect()
    };
    assert_eq!(versions(&p1), [1, 2]);
    assert_eq!(p1.body["next_cursor"], "2");
    let p2 = app.get("/api/v1/policy/versions?limit=2&cursor=2").await;
    assert_eq!(versions(&p2), [3, 4]);
    assert_eq!(p2.body["next_cursor"], Value::Null);

    for path in [
        "/api/v1/policy/versions/9",
        "/api/v1/policy/versions/0",
        "/api/v1/policy/versions/two",
    ] {
        assert_problem(&app.get(path).await, 404, "not-found");
    }
    let r = app.get("/api/v1/policy/versions?page=2").await;
    assert_problem(&r, 400, "bad-request");
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=x", "limit"),
        ("cursor=abc", "cursor"),
    ] {
        let r = app.get(&format!("/api/v1/policy/versions?{q}")).await;
        assert_problem(&r, 400, "bad-request");
        assert_eq!(r.body["errors"][0]["field"], field, "{q}: {}", r.body);
    }

    // Another shop has its own versions.
    let other = app.other_shop("policy-other").await;
    let theirs = app.get_as(&other, "/api/v1/policy/versions/2").await;
    assert_problem(&theirs, 404, "not-found");
}
crate::both!(versions, super::versions_are_saved_and_listed);

async fn errors_point_at_the_field(app: &TestApp) {
    let rules = |third: Value| {
        json!({"rules": [
            {"id": "a", "then": {"window_days": 20}},
            {"id": "b", "then": {"auto_approve": true}},
            third
        ]})
    };
    // Not the document's shape: refused by both, as any body would be.
    let shape: [(Value, &str); 3] = [
        // An unknown condition (the real one is `skus`).
        (
            rules(json!({"id": "c", "when": {"sku": ["X"]}, "then": {}})),
            "/rules/2/when/sku",
        ),
        (
            rules(json!({"id": "c", "when": {"skus": "X"}, "then": {}})),
            "/rules/2/when/skus",
        ),
        (
            rules(json!({"id": "c", "then": {"window_days": -1}})),
            "/rules/2/then/window_days",
        ),
    ];
    for (doc, pointer) in shape {
        let r = put(app, &doc).await;
        assert_problem(&r, 422, "validation");
        assert_eq!(r.body["errors"][0]["field"], pointer, "{}", r.body);
        let c = app.post("/api/v1/policy/validate", &doc).await;
        assert_problem(&c, 422, "validation");
        assert_eq!(c.body["errors"][0]["field"], pointer, "{}", c.body);
    }
    // What the schema cannot say: the document's own checks and the bounds.
    let meaning: [(Value, &str); 6] = [
        (
            rules(json!({"id": "c", "then": {"ship_by_days": 4_000_000_000u32}})),
            "/rules/2/then/ship_by_days",
        ),
        (rules(json!({"id": "a", "then": {}})), "/rules/2/id"),
        (
            rules(json!({"id": "c", "then": {"window_days": 5000}})),
            "/rules/2/then/window_days",
        ),
        (
            json!({"defaults": {"resolutions": []}}),
            "/defaults/resolutions",
        ),
        (json!({"name": "x".repeat(2001)}), "/name"),
        (
            json!({"lists": {"blocked_emails": ["a@b.pl", "x\u{1}"]}}),
            "/lists/blocked_emails/1",
        ),
    ];
    for (doc, pointer) in meaning {
        let r = put(app, &doc).await;
        assert_problem(&r, 422, "validation");
        assert_eq!(r.body["errors"][0]["field"], pointer, "{}", r.body);
        // The check without saving finds the same.
        let c = app.post("/api/v1/policy/validate", &doc).await;
        assert_eq!(c.status, 200, "{}", c.body);
        assert_eq!(c.body["valid"], false);
        assert_eq!(c.body["errors"][0]["pointer"], pointer, "{}", c.body);
    }
    assert_eq!(
        app.get("/api/v1/policy").await.body["version"],
        1,
        "nothing saved"
    );
}
crate::both!(pointers, super::errors_point_at_the_field);

async fn drafts_are_checked_without_saving(app: &TestApp) {
    // The test shop is in Poland: a 10-day window is below the EU's 14.
    let draft = json!({"defaults": {"window_days": 10}});
    let c = app.post("/api/v1/policy/validate", &draft).await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["valid"], true);
    assert_eq!(c.body["errors"], json!([]));
    let codes: Vec<String> = c.body["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| s(&w["code"]))
        .collect();
    assert!(
        codes.contains(&"window_below_eu_minimum".to_owned()),
        "{codes:?}"
    );
    assert!(codes.contains(&"eu_withdrawal_off".to_owned()), "{codes:?}");
    assert_eq!(
        app.get("/api/v1/policy").await.body["version"],
        1,
        "not saved"
    );

    let fine = json!({"defaults": {"window_days": 30}, "eu_withdrawal": true});
    let c = app.post("/api/v1/policy/validate", &fine).await;
    assert_eq!(c.body["warnings"], json!([]), "{}", c.body);

    // Saving a draft with warnings works, and shows them.
    let r = put(app, &draft).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body["warnings"].as_array().expect("warnings").is_empty());
}
crate::both!(drafts, super::drafts_are_checked_without_saving);

async fn decisions_are_explained(app: &TestApp) {
    // Delivered 20 days ago: inside the default 30-day window.
    let o = create_order(app, &order("#P-1", 20)).await;
    let line = s(&o["lines"][0]["id"]);
    let ask = |extra: Value| {
        let mut b = json!({"order_id": o["id"], "line_id": line});
        if let (Some(b), Some(e)) = (b.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        b
    };
    let r = app.post("/api/v1/policy/explain", &ask(json!({}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["policy_version"], 1);
    assert_eq!(r.body["decision"]["eligible"], true, "{}", r.body);
    assert_eq!(r.body["quantity"], 2, "what can still come back");
    assert!(
        !r.body["decision"]["trace"]
            .as_array()
            .expect("trace")
            .is_empty()
    );

    // Twenty days later the window is over.
    let later = (Timestamp::now() + (20 * 24).hours()).to_string();
    let r = app
        .post(
            "/api/v1/policy/explain",
            &ask(json!({"at": later, "quantity": 1})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["decision"]["eligible"], false, "{}", r.body);
    assert_eq!(r.body["quantity"], 1);
    assert!(!r.body["messages"].as_array().expect("messages").is_empty());

    // A draft with a 60-day window says yes, without being saved.
    let draft = json!({"defaults": {"window_days": 60}});
    let r = app
        .post(
            "/api/v1/policy/explain",
            &ask(json!({"at": later, "policy": draft})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["policy_version"], Value::Null);
    assert_eq!(r.body["decision"]["eligible"], true, "{}", r.body);
    assert_eq!(app.get("/api/v1/policy").await.body["version"], 1);

    // A draft that refuses the reason.
    let deny = json!({"rules": [{"id": "no-mind", "when": {"reasons": ["changed_mind"]},
        "then": {"deny": "Not for a change of mind"}}]});
    let r = app
        .post(
            "/api/v1/policy/explain",
            &ask(json!({"reason": "changed_mind", "policy": deny})),
        )
        .await;
    assert_eq!(r.body["decision"]["eligible"], false, "{}", r.body);
    let r = app
        .post(
            "/api/v1/policy/explain",
            &ask(json!({"reason": "damaged", "policy": deny})),
        )
        .await;
    assert_eq!(r.body["decision"]["eligible"], true, "{}", r.body);

    // Wrong input: a bad draft points under /policy; unknown order or line,
    // a date out of range, no units.
    let bad = ask(json!({"policy": {"rules": [{"id": "x", "then": {"window_days": "x"}}]}}));
    let r = app.post("/api/v1/policy/explain", &bad).await;
    assert_problem(&r, 422, "validation");
    assert_eq!(
        r.body["errors"][0]["field"],
        "/policy/rules/0/then/window_days"
    );
    let far = (Timestamp::now() + (4000 * 24).hours()).to_string();
    let other_order = create_order(app, &order("#P-2", 1)).await;
    for (body, field) in [
        (ask(json!({"at": far})), "at"),
        (ask(json!({"quantity": 0})), "quantity"),
        (
            json!({"order_id": o["id"], "line_id": other_order["lines"][0]["id"]}),
            "line_id",
        ),
        (
            json!({"order_id": "ord_01jd0000000000000000000000", "line_id": line}),
            "order_id",
        ),
    ] {
        let r = app.post("/api/v1/policy/explain", &body).await;
        assert_problem(&r, 422, "validation");
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
    }
    // Another shop cannot explain this shop's orders.
    let other = app.other_shop("explain-other").await;
    let r = app
        .post_as(&other, "/api/v1/policy/explain", &ask(json!({})))
        .await;
    assert_problem(&r, 422, "validation");
}
crate::both!(explain, super::decisions_are_explained);
