//! What the API takes as a request: JSON objects only, integral numbers however
//! they are written, and every refusal — also axum's own — a problem document.

use serde_json::{Value, json};

use crate::fixtures::{bulk_order, create_order, create_return, get_return, return_body, s};
use crate::support::{TestApp, assert_problem};

async fn raw(app: &TestApp, path: &str, body: &str) -> crate::support::Reply {
    app.send(
        app.client
            .post(app.url(path))
            .bearer_auth(&app.key)
            .header("content-type", "application/json")
            .body(body.to_owned()),
    )
    .await
}

/// serde reads a struct from a sequence, so `[]` was a valid body for every
/// all-optional request and performed the transition.
async fn only_objects_are_bodies(app: &TestApp) {
    let o = create_order(app, &bulk_order("#B-1", 3, 2)).await;
    let r = create_return(app, &return_body(&o, 0, 1, "refund")).await;
    let id = s(&r["id"]);
    for action in ["approve", "cancel", "mark-in-transit"] {
        for body in ["[]", "[null]", "null", "1", "\"x\"", "true"] {
            let res = raw(app, &format!("/api/v1/returns/{id}/{action}"), body).await;
            assert_problem(&res, 422, "validation");
            assert_eq!(res.body["errors"][0]["field"], "body", "{action} {body}");
        }
    }
    assert_eq!(get_return(app, &id).await["status"], "requested");
    for path in ["/api/v1/orders", "/api/v1/returns"] {
        assert_problem(&raw(app, path, "[]").await, 422, "validation");
    }
    // A key given twice is refused, not silently the last one.
    let twice = raw(
        app,
        &format!("/api/v1/returns/{id}/approve"),
        r#"{"note": "a", "note": "b"}"#,
    )
    .await;
    assert_problem(&twice, 422, "validation");
    // Still not JSON at all: 400.
    assert_problem(
        &raw(app, &format!("/api/v1/returns/{id}/approve"), "{").await,
        400,
        "bad-request",
    );
    // An object is a body.
    let ok = raw(app, &format!("/api/v1/returns/{id}/approve"), "{}").await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}
crate::both!(objects, super::only_objects_are_bodies);

/// JSON Schema's `integer` includes `1.0`; the document promises integers.
async fn integral_floats_are_integers(app: &TestApp) {
    let mut body = bulk_order("#B-2", 3, 2);
    body["lines"][0]["quantity"] = json!(3.0);
    body["lines"][0]["unit_price"] = json!(1.4999e4);
    body["shipments"][0]["lines"][0]["quantity"] = json!(3.0);
    let o = create_order(app, &body).await;
    assert_eq!(o["lines"][0]["quantity"], 3);
    let mut ret = return_body(&o, 0, 1, "refund");
    ret["items"][0]["quantity"] = json!(1.0);
    let r = create_return(app, &ret).await;
    let id = s(&r["id"]);
    let res = app
        .post(
            &format!("/api/v1/returns/{id}/approve"),
            &json!({"version": 1.0}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    // A fraction is still not an integer.
    let mut half = return_body(&o, 0, 1, "refund");
    half["items"][0]["quantity"] = json!(1.5);
    assert_problem(&app.post("/api/v1/returns", &half).await, 422, "validation");
}
crate::both!(integral_floats, super::integral_floats_are_integers);

/// Every refusal under /api is a problem document, also where axum refuses
/// before our code runs (a path that is not UTF-8).
async fn every_refusal_is_a_problem(app: &TestApp) {
    for path in [
        "/api/v1/returns/ret_01m8%C0%AF",
        "/api/v1/orders/ord_%FF%FE",
        "/api/v1/orders/ord_%FF/eligibility",
        "/api/v1/returns/ret_%C0%AF/approve",
    ] {
        let res = if path.ends_with("approve") {
            app.post(path, &json!({})).await
        } else {
            app.get(path).await
        };
        assert!(
            [400, 404].contains(&res.status),
            "{path}: {} {}",
            res.status,
            res.body
        );
        assert_eq!(
            res.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{path}: {}",
            res.body
        );
        assert!(res.body["detail"].is_string(), "{path}: {}", res.body);
    }
    // A query that does not fit.
    let o = create_order(app, &bulk_order("#B-3", 1, 2)).await;
    let res = app
        .get(&format!(
            "/api/v1/orders/{}/eligibility?quantity=x",
            s(&o["id"])
        ))
        .await;
    assert_problem(&res, 422, "validation");
    // An id that overflows 128 bits names nothing, rather than another order.
    let id = s(&o["id"]);
    let alias = format!("ord_8{}", &id[5..]);
    assert_problem(
        &app.get(&format!("/api/v1/orders/{alias}")).await,
        404,
        "not-found",
    );
    let _: Value = o;
}
crate::both!(problems, super::every_refusal_is_a_problem);
