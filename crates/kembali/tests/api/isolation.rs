//! Authentication and shop isolation: no key, a wrong key, and a valid key of
//! another shop, which sees nothing of this shop's and can change nothing.

use serde_json::{Value, json};

use crate::fixtures::{EMAIL, create_order, create_return, get_return, order, return_body, s};
use crate::support::{TestApp, assert_problem};

async fn unauthenticated_requests_get_401(app: &TestApp) {
    let o = create_order(app, &order("#A-1", 2)).await;
    let oid = s(&o["id"]);
    let requests = [
        app.client.get(app.url(&format!("/api/v1/orders/{oid}"))),
        app.client
            .get(app.url(&format!("/api/v1/orders/{oid}/eligibility"))),
        app.client
            .post(app.url("/api/v1/orders"))
            .json(&order("#A-2", 2)),
        app.client
            .post(app.url("/api/v1/returns"))
            .json(&return_body(&o, 0, 1, "refund")),
        app.client
            .get(app.url("/api/v1/returns/ret_01jd4x7v8k2m3n4p5q6r7s8t9v")),
        app.client
            .post(app.url("/api/v1/returns/ret_01jd4x7v8k2m3n4p5q6r7s8t9v/approve"))
            .json(&json!({})),
    ];
    let wrong_keys = [
        None,
        Some("Bearer kb_000000000000000000000000000000000000000000000000"),
        Some("Bearer kb_"),
        Some("Bearer "),
        Some("Bearer"),
        Some("Basic Zm9vOmJhcg=="),
        Some("kb_000000000000000000000000000000000000000000000000"),
    ];
    for req in requests {
        for header in wrong_keys {
            let mut req = req.try_clone().expect("clone");
            if let Some(h) = header {
                req = req.header("authorization", h);
            }
            let r = app.send(req).await;
            assert_problem(&r, 401, "unauthorized");
            let challenge = r
                .headers
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            assert!(challenge.starts_with("Bearer"), "{header:?}: {challenge}");
        }
    }
    // Refused writes wrote nothing: only the order made above exists.
    assert_eq!(app.counts(EMAIL).await, (1, 0));

    // The key of a real shop that someone mistypes by one character.
    let mut typo = app.key.clone();
    let last = typo.pop().expect("char");
    typo.push(if last == '0' { '1' } else { '0' });
    assert_problem(
        &app.get_as(&typo, &format!("/api/v1/orders/{oid}")).await,
        401,
        "unauthorized",
    );
    // The auth scheme is case-insensitive (RFC 9110 §11.1) and the key is good.
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let r = app
            .send(
                app.client
                    .get(app.url(&format!("/api/v1/orders/{oid}")))
                    .header("authorization", format!("{scheme} {}", app.key)),
            )
            .await;
        assert_eq!(r.status, 200, "{scheme}: {}", r.body);
    }
}
crate::both!(unauthenticated, super::unauthenticated_requests_get_401);

async fn another_shop_sees_and_changes_nothing(app: &TestApp) {
    let o = create_order(app, &order("#B-1", 2)).await;
    let oid = s(&o["id"]);
    let r = create_return(app, &return_body(&o, 0, 1, "refund")).await;
    let rid = s(&r["id"]);
    let item = s(&r["items"][0]["id"]);
    let other = app.other_shop("isolation-other").await;

    for path in [
        format!("/api/v1/orders/{oid}"),
        format!("/api/v1/orders/{oid}/eligibility"),
        format!(
            "/api/v1/orders/{oid}/eligibility?line_id={}",
            s(&o["lines"][0]["id"])
        ),
        format!("/api/v1/returns/{rid}"),
    ] {
        assert_problem(&app.get_as(&other, &path).await, 404, "not-found");
    }
    let actions: [(&str, Value); 8] = [
        ("approve", json!({})),
        ("approve", json!({"version": 1})),
        ("reject", json!({"reason": "no"})),
        ("mark-in-transit", json!({})),
        (
            "receive",
            json!({"items": [{"item_id": item, "outcome": "received", "quantity": 1}]}),
        ),
        (
            "inspect",
            json!({"items": [{"item_id": item, "accepted_quantity": 1, "condition": "new", "disposition": "restock"}]}),
        ),
        ("resolve", json!({})),
        ("cancel", json!({"reason": "mine now"})),
    ];
    for (action, body) in &actions {
        let r = app
            .post_as(&other, &format!("/api/v1/returns/{rid}/{action}"), body)
            .await;
        assert_problem(&r, 404, "not-found");
    }
    // A return on this shop's order, asked by the other shop: no such order there.
    let steal = app
        .post_as(&other, "/api/v1/returns", &return_body(&o, 1, 1, "refund"))
        .await;
    assert_problem(&steal, 422, "validation");
    assert_eq!(steal.body["errors"][0]["field"], "order_id");

    // This shop's return is untouched and its order still has the mug free.
    let mine = get_return(app, &rid).await;
    assert_eq!(mine["status"], "requested");
    assert_eq!(mine["version"], 1);
    assert_eq!(mine["timeline"].as_array().map(Vec::len), Some(1));
    assert_eq!(crate::fixtures::returnable(app, &o, 1).await, 1);
    assert_eq!(app.counts(EMAIL).await, (1, 1));

    // Order numbers and return numbers are per shop: the other shop may use the
    // same number, gets its own numbering, and this shop still cannot see it.
    let theirs = app
        .post_as(&other, "/api/v1/orders", &order("#B-1", 2))
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    assert_ne!(theirs.body["id"], o["id"]);
    let their_ret = app
        .post_as(
            &other,
            "/api/v1/returns",
            &return_body(&theirs.body, 0, 1, "refund"),
        )
        .await;
    assert_eq!(their_ret.status, 201, "{}", their_ret.body);
    assert_eq!(their_ret.body["number"], "X-1001");
    assert_problem(
        &app.get(&format!("/api/v1/orders/{}", s(&theirs.body["id"])))
            .await,
        404,
        "not-found",
    );
    assert_problem(
        &app.get(&format!("/api/v1/returns/{}", s(&their_ret.body["id"])))
            .await,
        404,
        "not-found",
    );
    // Their return does not count in this shop's history of the same shopper.
    assert_eq!(app.counts(EMAIL).await, (1, 1));
    let next = create_return(app, &return_body(&o, 1, 1, "refund")).await;
    assert_eq!(next["number"], "R-1002");
}
crate::both!(other_shop, super::another_shop_sees_and_changes_nothing);
