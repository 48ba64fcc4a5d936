//! `GET /orders` and `GET /returns`: newest first, paged, and every filter
//! narrows to what it says; an unknown or malformed filter is a 400.

use jiff::SignedDuration;
use kembali_core::Clock;
use serde_json::{Value, json};

use crate::fixtures::{create_order, create_return, order, return_body, s};
use crate::support::{TestApp, assert_problem};

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {page}"))
        .iter()
        .map(|x| s(&x["id"]))
        .collect()
}

async fn get_ok(app: &TestApp, path: &str) -> Value {
    let r = app.get(path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.body
}

async fn orders_and_returns_are_listed_with_filters(app: &TestApp) {
    let start = app.clock.now();
    let a = create_order(app, &order("#L-1", 2)).await;
    app.clock.advance(SignedDuration::from_secs(60));
    let middle = app.clock.now();
    let mut other = order("#L-2", 2);
    other["email"] = json!("jan@example.pl");
    let b = create_order(app, &other).await;
    app.clock.advance(SignedDuration::from_secs(60));
    let c = create_order(app, &order("#L-3", 2)).await;
    let (a, b, c) = (s(&a["id"]), s(&b["id"]), s(&c["id"]));

    let all = get_ok(app, "/api/v1/orders").await;
    assert_eq!(ids(&all), [c.clone(), b.clone(), a.clone()]);
    assert_eq!(all["data"][0]["number"], "#L-3");
    assert!(all["next_cursor"].is_null());
    let first = get_ok(app, "/api/v1/orders?limit=2").await;
    assert_eq!(ids(&first), [c.clone(), b.clone()]);
    assert_eq!(first["next_cursor"], b.as_str());
    let rest = get_ok(app, &format!("/api/v1/orders?limit=2&cursor={b}")).await;
    assert_eq!(ids(&rest), [a.as_str()]);
    assert!(rest["next_cursor"].is_null());

    let enc = |t: jiff::Timestamp| t.to_string().replace(':', "%3A");
    let q = format!("/api/v1/orders?created_after={}", enc(middle));
    assert_eq!(ids(&get_ok(app, &q).await), [c.clone(), b.clone()]);
    let q = format!(
        "/api/v1/orders?created_after={}&created_before={}",
        enc(start),
        enc(middle)
    );
    assert_eq!(ids(&get_ok(app, &q).await), [a.as_str()]);
    let q = "/api/v1/orders?email=jan%40example.pl";
    assert_eq!(ids(&get_ok(app, q).await), [b.as_str()]);
    let q = "/api/v1/orders?number=%23L-1";
    assert_eq!(ids(&get_ok(app, q).await), [a.as_str()]);
    assert!(ids(&get_ok(app, "/api/v1/orders?number=nope").await).is_empty());

    // Returns: one refund for a wrong size, one exchange-free store credit.
    let orders: Vec<Value> = {
        let mut v = Vec::new();
        for id in [&a, &c] {
            v.push(get_ok(app, &format!("/api/v1/orders/{id}")).await);
        }
        v
    };
    let r1 = create_return(app, &return_body(&orders[0], 0, 1, "refund")).await;
    app.clock.advance(SignedDuration::from_secs(60));
    let after_first = app.clock.now();
    let mut body = return_body(&orders[1], 1, 1, "store_credit");
    body["items"][0]["reason"] = json!("damaged");
    let r2 = create_return(app, &body).await;
    let (r1, r2) = (s(&r1["id"]), s(&r2["id"]));
    let cancelled = app
        .post(&format!("/api/v1/returns/{r1}/cancel"), &json!({}))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);

    let all = get_ok(app, "/api/v1/returns").await;
    assert_eq!(ids(&all), [r2.clone(), r1.clone()]);
    assert_eq!(all["data"][1]["status"], "cancelled");
    for (query, expect) in [
        ("status=cancelled", vec![r1.clone()]),
        ("status=resolved", vec![]),
        ("reason=damaged", vec![r2.clone()]),
        ("reason=wrong_size", vec![r1.clone()]),
        ("resolution=store_credit", vec![r2.clone()]),
        ("resolution=refund", vec![r1.clone()]),
        (&format!("order_id={a}"), vec![r1.clone()]),
        (&format!("order_id={b}"), vec![]),
        (
            "email=anna.nowak%40example.pl",
            vec![r2.clone(), r1.clone()],
        ),
        (
            &format!("created_after={}", enc(after_first)),
            vec![r2.clone()],
        ),
        (
            &format!("created_before={}", enc(after_first)),
            vec![r1.clone()],
        ),
        ("status=cancelled&reason=damaged", vec![]),
        ("limit=1", vec![r2.clone()]),
    ] {
        let page = get_ok(app, &format!("/api/v1/returns?{query}")).await;
        assert_eq!(ids(&page), expect, "{query}");
    }

    for (path, field) in [
        ("/api/v1/returns?status=lost", "status"),
        (
            "/api/v1/returns?order_id=ret_01jd4x7v8k2m3n4p5q6r7s8t9v",
            "order_id",
        ),
        ("/api/v1/returns?customer=x", "customer"),
        (
            "/api/v1/returns?cursor=ord_01jd4x7v8k2m3n4p5q6r7s8t9v",
            "cursor",
        ),
        ("/api/v1/orders?created_after=yesterday", "created_after"),
        ("/api/v1/orders?limit=500", "limit"),
        ("/api/v1/orders?email=a&email=b", "email"),
        ("/api/v1/orders?email=", "email"),
        (
            &format!("/api/v1/orders?number={}", "x".repeat(65)),
            "number",
        ),
        (
            &format!("/api/v1/returns?email={}", "é".repeat(255)),
            "email",
        ),
    ] {
        let r = app.get(path).await;
        assert_problem(&r, 400, "bad-request");
        assert_eq!(r.body["errors"][0]["field"], field, "{path}: {}", r.body);
    }

    // Nothing stored holds U+0000: an empty page on both databases, not an error.
    for path in [
        "/api/v1/orders?number=%23L-1%00",
        "/api/v1/returns?email=a%00b",
    ] {
        assert_eq!(get_ok(app, path).await["data"], json!([]), "{path}");
    }

    // Another shop's lists hold none of this.
    let other = app.other_shop("lists-other").await;
    for path in ["/api/v1/orders", "/api/v1/returns"] {
        let r = app.get_as(&other, path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"], json!([]));
    }
}
crate::both!(
    orders_and_returns,
    super::orders_and_returns_are_listed_with_filters
);

async fn the_reference_page_is_served_offline(app: &TestApp) {
    let r = app.send(app.client.get(app.url("/api/v1/docs"))).await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    let html = r.body.as_str().expect("html").to_owned();
    assert!(html.contains("/api/v1/openapi.json"));
    // Nothing from elsewhere: no absolute URL at all, and the browser is told so.
    for external in [
        "http://",
        "https://",
        "src=\"//",
        "href=\"//",
        "url(",
        "@import",
    ] {
        assert!(!html.contains(external), "the page loads {external}");
    }
    let csp = r.headers["content-security-policy"].to_str().unwrap_or("");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
}
crate::both!(docs_page, super::the_reference_page_is_served_offline);

async fn returns_are_listed_by_customer_and_product(app: &TestApp) {
    let made = app
        .post(
            "/api/v1/products",
            &json!({"title": "Koszula", "currency": "PLN",
                    "variants": [{"sku": "SHIRT-M", "title": "M", "price": 14999}]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let product = s(&made.body["id"]);
    // Anna's order sells the shirt as the product's; Jan's has no product.
    let mut a = order("#C-1", 2);
    a["lines"][0]["product_id"] = json!(product);
    let a = create_order(app, &a).await;
    let mut b = order("#C-2", 2);
    b["email"] = json!("jan@example.pl");
    let b = create_order(app, &b).await;
    // A second apart each: the list's order is the ids' time.
    let tick = || app.clock.advance(SignedDuration::from_secs(1));
    let shirt_a = create_return(app, &return_body(&a, 0, 1, "refund")).await;
    tick();
    let mug_a = create_return(app, &return_body(&a, 1, 1, "refund")).await;
    tick();
    let shirt_b = create_return(app, &return_body(&b, 0, 1, "refund")).await;
    let anna = s(&a["customer_id"]);
    let jan = s(&b["customer_id"]);
    assert_ne!(anna, jan);

    let page = get_ok(app, &format!("/api/v1/returns?customer_id={anna}")).await;
    assert_eq!(ids(&page), [s(&mug_a["id"]), s(&shirt_a["id"])]);
    let page = get_ok(app, &format!("/api/v1/returns?customer_id={jan}")).await;
    assert_eq!(ids(&page), [s(&shirt_b["id"])]);
    let page = get_ok(app, &format!("/api/v1/returns?product_id={product}")).await;
    assert_eq!(ids(&page), [s(&shirt_a["id"])]);
    // By SKU both shirts, newest first, one page at a time.
    let first = get_ok(app, "/api/v1/returns?sku=SHIRT-M&limit=1").await;
    assert_eq!(ids(&first), [s(&shirt_b["id"])]);
    let cursor = s(&first["next_cursor"]);
    let second = get_ok(
        app,
        &format!("/api/v1/returns?sku=SHIRT-M&limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(ids(&second), [s(&shirt_a["id"])]);
    // Filters combine.
    let page = get_ok(
        app,
        &format!("/api/v1/returns?customer_id={anna}&sku=MUG&status=requested"),
    )
    .await;
    assert_eq!(ids(&page), [s(&mug_a["id"])]);
    for bad in ["customer_id=ord_x", "product_id=42", "sku="] {
        let r = app.get(&format!("/api/v1/returns?{bad}")).await;
        assert_problem(&r, 400, "bad-request");
    }
}
crate::both!(
    by_customer_and_product,
    super::returns_are_listed_by_customer_and_product
);
