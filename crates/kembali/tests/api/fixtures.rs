//! Builders shared by the API test modules: orders, returns and small readers.

use serde_json::{Value, json};

use crate::support::{Reply, TestApp};

/// The email of every order built here, as the store keeps it (lower case).
pub const EMAIL: &str = "anna.nowak@example.pl";

/// The two-line PLN order of the smoke test, delivered `days_ago` days ago.
pub fn order(number: &str, days_ago: i64) -> Value {
    crate::smoke::order_json(number, days_ago)
}

/// An order whose first line has `quantity` units, all delivered, no discount.
pub fn bulk_order(number: &str, quantity: u32, days_ago: i64) -> Value {
    let mut o = order(number, days_ago);
    o["lines"][0]["quantity"] = json!(quantity);
    o["lines"][0]["discount"] = json!(0);
    o["shipments"][0]["lines"][0]["quantity"] = json!(quantity);
    o
}

pub fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

/// Posts `body` as an order and insists on a 201.
pub async fn create_order(app: &TestApp, body: &Value) -> Value {
    let r = app.post("/api/v1/orders", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

/// A one-item return of `quantity` units of line `line` of `order`.
pub fn return_body(order: &Value, line: usize, quantity: u32, resolution: &str) -> Value {
    json!({"order_id": order["id"], "method": "drop_off",
        "items": [{"line_id": order["lines"][line]["id"], "quantity": quantity,
                   "reason": "wrong_size", "resolution": resolution}]})
}

/// Opens a return and insists on a 201.
pub async fn create_return(app: &TestApp, body: &Value) -> Value {
    let r = app.post("/api/v1/returns", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

/// The return as the API shows it now.
pub async fn get_return(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/api/v1/returns/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// The units of `line` that can still come back, as eligibility says.
pub async fn returnable(app: &TestApp, order: &Value, line: usize) -> u64 {
    let r = app
        .get(&format!(
            "/api/v1/orders/{}/eligibility?line_id={}",
            s(&order["id"]),
            s(&order["lines"][line]["id"])
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["lines"][0]["decision"]["returnable_quantity"]
        .as_u64()
        .expect("returnable_quantity")
}

/// The kinds of the return's timeline, oldest first.
pub fn kinds(ret: &Value) -> Vec<String> {
    ret["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|e| s(&e["kind"]))
        .collect()
}

/// Posts each body to `path` at the same time (with `key` as the
/// Idempotency-Key, if given) and returns the answers in order.
pub async fn post_all(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
    bodies: Vec<Value>,
) -> Vec<Reply> {
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|b| {
            let mut req = app
                .client
                .post(app.url(path))
                .bearer_auth(&app.key)
                .json(&b);
            if let Some(k) = key {
                req = req.header("Idempotency-Key", k);
            }
            tokio::spawn(async move { req.send().await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        let res = t.await.expect("join").expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        out.push(Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        });
    }
    out
}
