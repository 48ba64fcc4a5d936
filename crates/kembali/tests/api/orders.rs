//! `POST /api/v1/orders` and `GET /api/v1/orders/{id}`: what is stored is what is
//! shown, and every bad request is a problem document that writes nothing.

use serde_json::{Value, json};

use crate::fixtures::{EMAIL, create_order, order, post_all, s};
use crate::support::{TestApp, assert_problem};

async fn created_order_reads_back_the_same(app: &TestApp) {
    let mut body = order("  #O-1  ", 2);
    body.as_object_mut().expect("obj").remove("locale");
    let r = app.post("/api/v1/orders", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let o = &r.body;
    assert!(s(&o["id"]).starts_with("ord_"), "{o}");
    assert!(s(&o["customer_id"]).starts_with("cus_"), "{o}");
    assert_eq!(o["number"], "#O-1", "the number is trimmed");
    assert_eq!(o["email"], EMAIL, "the email is normalised");
    assert_eq!(o["locale"], "pl", "the shop's locale when none is given");
    assert_eq!(o["currency"], "PLN");
    assert_eq!(o["cheapest_shipping"]["amount"], 1499);
    let lines = o["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 2);
    for l in lines {
        assert!(s(&l["id"]).starts_with("line_"), "{l}");
    }
    assert_ne!(lines[0]["id"], lines[1]["id"]);
    assert!(s(&o["shipments"][0]["id"]).starts_with("shp_"));
    assert_eq!(o["shipments"][0]["lines"][0]["line_id"], lines[0]["id"]);
    assert_eq!(o["shipments"][0]["lines"][1]["line_id"], lines[1]["id"]);

    // What the 201 said is exactly what is stored.
    let got = app.get(&format!("/api/v1/orders/{}", s(&o["id"]))).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(&got.body, o);
    assert_eq!(app.counts(EMAIL).await, (1, 0));

    // The same shopper again is the same customer.
    let second = create_order(app, &order("#O-2", 2)).await;
    assert_eq!(second["customer_id"], o["customer_id"]);
    assert_ne!(second["id"], o["id"]);
}
crate::both!(create_and_read, super::created_order_reads_back_the_same);

async fn duplicate_numbers_conflict(app: &TestApp) {
    let first = create_order(app, &order("#D-1", 2)).await;
    for number in ["#D-1", "  #D-1 "] {
        let mut again = order(number, 5);
        again["email"] = json!("someone.else@example.pl");
        let r = app.post("/api/v1/orders", &again).await;
        assert_problem(&r, 409, "conflict");
    }
    // One row, the first one, and the other shopper was not half-created.
    let mut conn = app.db.conn().await.expect("conn");
    let (stored, _) = kembali_store::orders::get_by_number(&mut conn, app.shop.id, "#D-1")
        .await
        .expect("get")
        .expect("order");
    assert_eq!(stored.id.to_string(), s(&first["id"]));
    assert_eq!(app.counts(EMAIL).await, (1, 0));
    assert_eq!(app.counts("someone.else@example.pl").await, (0, 0));

    // Two creations of one number at once: one wins, the other is a conflict.
    let body = order("#D-2", 2);
    let (a, b) = tokio::join!(
        app.post("/api/v1/orders", &body),
        app.post("/api/v1/orders", &body)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
    assert_eq!(app.counts(EMAIL).await, (2, 0));
}
crate::both!(duplicates, super::duplicate_numbers_conflict);

/// A burst of orders from a new shopper (a platform's webhooks arrive together):
/// each is its own order, and the shopper becomes one customer.
async fn concurrent_orders_of_a_new_shopper(app: &TestApp) {
    let body = |n: usize| {
        let mut o = order(&format!("#C-{n}"), 2);
        o["email"] = json!("new.shopper@example.pl");
        o
    };
    let replies = post_all(app, "/api/v1/orders", None, (0..6).map(body).collect()).await;
    for r in &replies {
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let customers: std::collections::BTreeSet<String> =
        replies.iter().map(|r| s(&r.body["customer_id"])).collect();
    assert_eq!(customers.len(), 1, "{customers:?}");
    assert_eq!(app.counts("new.shopper@example.pl").await, (6, 0));
}
crate::both!(new_shopper_burst, super::concurrent_orders_of_a_new_shopper);

/// A new shopper's first two orders arriving in the same instant once collided
/// on the customer's unique email on PostgreSQL (a 409 naming the constraint):
/// twenty new shoppers, each with two orders at once, all created, one customer
/// each.
async fn first_orders_of_new_shoppers_in_pairs(app: &TestApp) {
    for pair in 0..20 {
        let email = format!("pair.{pair}@example.pl");
        let bodies = (0..2)
            .map(|n| {
                let mut o = order(&format!("#P{pair}-{n}"), 2);
                o["email"] = json!(email);
                o
            })
            .collect();
        let replies = post_all(app, "/api/v1/orders", None, bodies).await;
        for r in &replies {
            assert_eq!(r.status, 201, "pair {pair}: {}", r.body);
        }
        assert_eq!(
            replies[0].body["customer_id"], replies[1].body["customer_id"],
            "pair {pair}"
        );
        assert_eq!(app.counts(&email).await, (2, 0), "pair {pair}");
    }
}
crate::both!(
    new_shopper_pairs,
    super::first_orders_of_new_shoppers_in_pairs
);

type Mutation = Box<dyn Fn(&mut Value)>;

fn remove(path: &'static [&'static str]) -> Mutation {
    Box::new(move |o| {
        let mut v = o;
        for p in &path[..path.len() - 1] {
            v = match p.parse::<usize>() {
                Ok(i) => &mut v[i],
                Err(_) => &mut v[*p],
            };
        }
        v.as_object_mut()
            .expect("object")
            .remove(path[path.len() - 1]);
    })
}

/// Sets the value at a JSON pointer, adding the last key if it is missing.
fn set(pointer: &'static str, value: Value) -> Mutation {
    Box::new(move |o| {
        let (parent, key) = pointer.rsplit_once('/').expect("pointer");
        let parent = o.pointer_mut(parent).expect(pointer);
        match key.parse::<usize>() {
            Ok(i) if parent.is_array() => parent[i] = value.clone(),
            _ => parent[key] = value.clone(),
        }
    })
}

/// Every kind of bad body is a 422 problem naming the field, and writes nothing.
async fn bad_orders_write_nothing(app: &TestApp) {
    create_order(app, &order("#V-0", 2)).await;
    let cases: Vec<(&str, Option<&str>, Mutation)> = vec![
        ("unknown field", None, set("/colour", json!("red"))),
        (
            "unknown line field",
            None,
            set("/lines/0/colour", json!("red")),
        ),
        (
            "unknown shipment field",
            None,
            set("/shipments/0/colour", json!("red")),
        ),
        ("missing number", None, remove(&["number"])),
        ("missing email", None, remove(&["email"])),
        ("missing currency", None, remove(&["currency"])),
        ("missing placed_at", None, remove(&["placed_at"])),
        ("missing lines", None, remove(&["lines"])),
        ("missing sku", None, remove(&["lines", "0", "sku"])),
        (
            "missing unit price",
            None,
            remove(&["lines", "0", "unit_price"]),
        ),
        (
            "missing address city",
            None,
            remove(&["shipping_address", "city"]),
        ),
        ("null number", None, set("/number", Value::Null)),
        ("empty number", Some("number"), set("/number", json!("   "))),
        (
            "long number",
            Some("number"),
            set("/number", json!("#".repeat(65))),
        ),
        ("bad email", Some("email"), set("/email", json!("nobody"))),
        ("unknown currency", None, set("/currency", json!("XXX"))),
        ("not a currency", None, set("/currency", json!("zł"))),
        (
            "bad country",
            None,
            set("/shipping_address/country", json!("Poland")),
        ),
        ("bad payment", None, set("/payment_method", json!("barter"))),
        ("bad locale", None, set("/locale", json!("tlh"))),
        ("bad date", None, set("/placed_at", json!("yesterday"))),
        (
            "negative price",
            Some("lines[0].unit_price"),
            set("/lines/0/unit_price", json!(-1)),
        ),
        (
            "negative discount",
            Some("lines[0].discount"),
            set("/lines/0/discount", json!(-1)),
        ),
        (
            "negative tax",
            Some("lines[0].tax"),
            set("/lines/0/tax", json!(-5)),
        ),
        (
            "negative shipping",
            Some("shipping_paid"),
            set("/shipping_paid", json!(-1)),
        ),
        (
            "negative cheapest",
            Some("cheapest_shipping"),
            set("/cheapest_shipping", json!(-1)),
        ),
        (
            "price beyond i64",
            None,
            set("/lines/0/unit_price", json!(9_223_372_036_854_775_808u64)),
        ),
        (
            "price overflows with quantity",
            Some("lines[0].unit_price"),
            set("/lines/0/unit_price", json!(i64::MAX)),
        ),
        (
            "tax overflows",
            Some("lines[1].tax"),
            Box::new(|o| {
                o["taxes_included"] = json!(false);
                o["lines"][1]["tax"] = json!(i64::MAX);
            }),
        ),
        ("string amount", None, set("/shipping_paid", json!("14.99"))),
        (
            "float amount",
            None,
            set("/lines/0/unit_price", json!(149.99)),
        ),
        (
            "zero quantity",
            Some("lines[0].quantity"),
            set("/lines/0/quantity", json!(0)),
        ),
        (
            "negative quantity",
            None,
            set("/lines/0/quantity", json!(-2)),
        ),
        (
            "huge quantity",
            Some("lines[0].quantity"),
            set("/lines/0/quantity", json!(100_001)),
        ),
        (
            "quantity beyond u32",
            None,
            set("/lines/0/quantity", json!(4_294_967_296u64)),
        ),
        (
            "discount above price",
            Some("lines[0].discount"),
            set("/lines/0/discount", json!(29_999)),
        ),
        (
            "empty sku",
            Some("lines[0].sku"),
            set("/lines/0/sku", json!("  ")),
        ),
        (
            "empty lines",
            Some("lines"),
            Box::new(|o| {
                o["lines"] = json!([]);
                o["shipments"] = json!([]);
            }),
        ),
        (
            "too many lines",
            Some("lines"),
            Box::new(|o| {
                let line = o["lines"][1].clone();
                o["lines"] = Value::Array(vec![line; 501]);
                o["shipments"] = json!([]);
            }),
        ),
        ("lines not a list", None, set("/lines", json!({"sku": "X"}))),
        (
            "shipment of a missing line",
            Some("shipments[0].lines[0].line"),
            set("/shipments/0/lines/0/line", json!(2)),
        ),
        (
            "shipment line index negative",
            None,
            set("/shipments/0/lines/0/line", json!(-1)),
        ),
        (
            "shipment without lines",
            Some("shipments[0].lines"),
            set("/shipments/0/lines", json!([])),
        ),
        (
            "shipment of zero units",
            Some("shipments[0].lines[0].quantity"),
            set("/shipments/0/lines/0/quantity", json!(0)),
        ),
        (
            "more shipped than ordered",
            Some("shipments"),
            set("/shipments/0/lines/0/quantity", json!(3)),
        ),
        (
            "shipped twice over",
            Some("shipments"),
            Box::new(|o| {
                let again = o["shipments"][0].clone();
                o["shipments"].as_array_mut().expect("list").push(again);
            }),
        ),
        (
            "delivered without a time",
            Some("shipments[0].delivered_at"),
            remove(&["shipments", "0", "delivered_at"]),
        ),
        (
            "delivered at null",
            Some("shipments[0].delivered_at"),
            set("/shipments/0/delivered_at", Value::Null),
        ),
        (
            "bad tracking status",
            None,
            set("/shipments/0/status", json!("teleported")),
        ),
        (
            "body is a list",
            None,
            Box::new(|o| *o = json!([o.clone()])),
        ),
        ("body is null", None, Box::new(|o| *o = Value::Null)),
        ("body is a number", None, Box::new(|o| *o = json!(7))),
    ];
    for (name, field, mutate) in cases {
        let mut o = order("#V-1", 2);
        mutate(&mut o);
        let r = app.post("/api/v1/orders", &o).await;
        assert_eq!(r.status, 422, "{name}: {}", r.body);
        assert_problem(&r, 422, "validation");
        let errors = r.body["errors"].as_array().expect("errors");
        assert!(!errors.is_empty(), "{name}: {}", r.body);
        assert!(
            errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}: {}",
            r.body
        );
        if let Some(field) = field {
            assert_eq!(errors[0]["field"], field, "{name}: {}", r.body);
        }
    }
    assert_eq!(
        app.counts(EMAIL).await,
        (1, 0),
        "a refused order was stored"
    );
    let mut conn = app.db.conn().await.expect("conn");
    assert!(
        kembali_store::orders::get_by_number(&mut conn, app.shop.id, "#V-1")
            .await
            .expect("get")
            .is_none()
    );
}
crate::both!(bad_bodies, super::bad_orders_write_nothing);

/// Text that PostgreSQL cannot store (NUL) is refused as invalid input, never a 500.
async fn nul_characters_are_refused(app: &TestApp) {
    let cases: Vec<(&str, Mutation)> = vec![
        ("number", set("/number", json!("#N\u{0}1"))),
        ("title", set("/lines/0/title", json!("Koszula\u{0}"))),
        ("customer name", set("/customer_name", json!("Anna\u{0}"))),
        (
            "address",
            set("/shipping_address/line1", json!("ul.\u{0}Długa")),
        ),
        ("tag", set("/lines/0/tags", json!(["a\u{0}b"]))),
        ("carrier", set("/shipments/0/carrier", json!("In\u{0}Post"))),
    ];
    for (name, mutate) in cases {
        let mut o = order("#N-1", 2);
        mutate(&mut o);
        let r = app.post("/api/v1/orders", &o).await;
        assert_problem(&r, 422, "validation");
        assert!(
            r.body["errors"][0]["field"]
                .as_str()
                .is_some_and(|f| !f.is_empty()),
            "{name}: {}",
            r.body
        );
    }
    assert_eq!(app.counts(EMAIL).await, (0, 0));
    // A backslash-u text that is not a NUL is fine.
    let mut o = order("#N-2", 2);
    o["lines"][0]["title"] = json!("C:\\u0000 shirt");
    let ok = create_order(app, &o).await;
    assert_eq!(ok["lines"][0]["title"], "C:\\u0000 shirt");
}
crate::both!(nul_text, super::nul_characters_are_refused);

/// Bodies that are not JSON, not declared as JSON, or too large.
async fn unreadable_bodies(app: &TestApp) {
    let raw = |body: Vec<u8>, ct: Option<&str>| {
        let mut req = app
            .client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&app.key)
            .body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        req
    };
    let valid = serde_json::to_vec(&order("#U-1", 2)).expect("json");
    for (name, body, ct, status, slug) in [
        (
            "broken JSON",
            b"{not json".to_vec(),
            Some("application/json"),
            400,
            "bad-request",
        ),
        (
            "empty body",
            Vec::new(),
            Some("application/json"),
            400,
            "bad-request",
        ),
        (
            "trailing garbage",
            [valid.clone(), b"}".to_vec()].concat(),
            Some("application/json"),
            400,
            "bad-request",
        ),
        (
            "not UTF-8",
            vec![b'"', 0xff, 0xfe, b'"'],
            Some("application/json"),
            400,
            "bad-request",
        ),
        (
            "text/plain",
            valid.clone(),
            Some("text/plain"),
            415,
            "unsupported-media-type",
        ),
        (
            "form",
            valid.clone(),
            Some("application/x-www-form-urlencoded"),
            415,
            "unsupported-media-type",
        ),
        (
            "no content type",
            valid.clone(),
            None,
            415,
            "unsupported-media-type",
        ),
        (
            "json-ish prefix",
            valid.clone(),
            Some("application/jsonp"),
            415,
            "unsupported-media-type",
        ),
    ] {
        let r = app.send(raw(body, ct)).await;
        assert_eq!(r.status, status, "{name}: {}", r.body);
        assert_problem(&r, status, slug);
    }
    // Charset parameters and case do not matter.
    let r = app
        .send(raw(valid.clone(), Some("Application/JSON; charset=utf-8")))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Over 1 MiB, announced by Content-Length or streamed without it.
    let mut big = order("#U-2", 2);
    big["lines"][0]["title"] = json!("x".repeat(kembali_web::BODY_LIMIT));
    let bytes = serde_json::to_vec(&big).expect("json");
    assert_problem(
        &app.send(raw(bytes.clone(), Some("application/json"))).await,
        413,
        "payload-too-large",
    );
    let streamed = chunked_post(app, "/api/v1/orders", &bytes).await;
    assert_problem(&streamed, 413, "payload-too-large");
    assert_eq!(app.counts(EMAIL).await, (1, 0));
}
crate::both!(unreadable, super::unreadable_bodies);

/// Posts `body` with `Transfer-Encoding: chunked` (no Content-Length) over a
/// plain socket and reads the answer.
async fn chunked_post(app: &TestApp, path: &str, body: &[u8]) -> crate::support::Reply {
    use std::io::{Read, Write};
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.key
    )
    .into_bytes();
    for c in body.chunks(64 * 1024) {
        req.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        req.extend_from_slice(c);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let raw = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("timeout");
        // The server may answer and close before reading everything.
        let _ = s.write_all(&req);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .expect("join");
    let (head, body) = raw.split_once("\r\n\r\n").expect("response");
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let mut headers = reqwest::header::HeaderMap::new();
    let mut chunked = false;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            chunked |= k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked");
            headers.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
    }
    let body = if chunked {
        // Enough for one-chunk answers: drop the size line and the trailer.
        body.split_once("\r\n")
            .map_or("", |(_, rest)| rest)
            .split("\r\n")
            .next()
            .unwrap_or("")
            .to_owned()
    } else {
        body.to_owned()
    };
    crate::support::Reply {
        status,
        headers,
        body: serde_json::from_str(&body).unwrap_or(Value::String(body)),
    }
}
