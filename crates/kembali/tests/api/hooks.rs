//! Orders in from Shopify and WooCommerce webhooks: payloads shaped like the
//! platforms' documented examples (written for these tests: discount codes,
//! taxes included and on top, cash on delivery, IDR and PLN, non-ASCII names),
//! signed, forged, unsigned, replayed and out of order; every order checked to
//! the minor unit, in its shop and no other.

use kembali_app::App;
use kembali_app::sources::{self, NewSource};
use kembali_store::sources::Source;
use kembali_web::hooks::signature::sign;
use serde_json::{Value, json};

use crate::support::{Reply, TestApp, assert_problem};

const SHOPIFY_SECRET: &str = "shpss_0123456789abcdef0123456789abcdef";
pub(crate) const WOO_SECRET: &str = "woo-webhook-secret-7Xq";
const DOMAIN: &str = "batik-sari.myshopify.com";

pub(crate) async fn add(app: &TestApp, new: NewSource) -> Source {
    let kembali = App::new(app.db.clone());
    let mut tx = app.db.begin().await.expect("tx");
    let s = sources::add(&kembali, &mut tx, app.shop.id, new)
        .await
        .expect("source");
    tx.commit().await.expect("commit");
    s
}

async fn shopify_source(app: &TestApp) -> Source {
    add(
        app,
        NewSource::Shopify {
            domain: DOMAIN.into(),
            secret: SHOPIFY_SECRET.into(),
            cod_gateways: vec![],
        },
    )
    .await
}

/// An order as Shopify's `orders/create` sends it: a discount code allocated to
/// the first line (whose `total_discount` stays 0), PPN included in the prices,
/// cash on delivery, delivered by JNE.
fn shopify_order(updated_at: &str, email: &str) -> Value {
    json!({
        "id": 5_678_901_234u64,
        "admin_graphql_api_id": "gid://shopify/Order/5678901234",
        "name": "#1042",
        "order_number": 1042,
        "email": email,
        "currency": "IDR",
        "presentment_currency": "IDR",
        "created_at": "2026-11-01T10:00:00+07:00",
        "processed_at": "2026-11-01T10:00:00+07:00",
        "updated_at": updated_at,
        "taxes_included": true,
        "total_price": "753000.00",
        "customer_locale": "id",
        "financial_status": "pending",
        "payment_gateway_names": ["Cash on Delivery (COD)"],
        "customer": {"id": 42, "email": email, "first_name": "Siti", "last_name": "Nurhaliza"},
        "shipping_address": {
            "first_name": "Siti", "last_name": "Nurhaliza", "address1": "Jl. Melati No. 5",
            "address2": null, "city": "Bandung", "zip": "40115", "province": "Jawa Barat",
            "country": "Indonesia", "country_code": "ID", "phone": "+62 812 0000 0000"
        },
        "line_items": [
            {
                "id": 111, "variant_id": 9001, "product_id": 801, "sku": "KEBAYA-M",
                "name": "Kebaya Brokat — M", "title": "Kebaya Brokat", "quantity": 2,
                "price": "350000.00", "total_discount": "0.00",
                "discount_allocations": [{"amount": "70000.00", "discount_application_index": 0,
                    "amount_set": {"shop_money": {"amount": "70000.00", "currency_code": "IDR"}}}],
                "tax_lines": [{"price": "62432.43", "rate": 0.11, "title": "PPN"}],
                "gift_card": false, "taxable": true
            },
            {
                "id": 112, "variant_id": 9002, "sku": "SELENDANG", "name": "Selendang Sutra",
                "quantity": 1, "price": "125000.00", "total_discount": "0.00",
                "discount_allocations": [],
                "tax_lines": [{"price": "12387.39", "rate": 0.11, "title": "PPN"}]
            }
        ],
        "shipping_lines": [{"id": 1, "title": "JNE REG", "price": "20000.00",
            "discounted_price": "20000.00", "discount_allocations": [], "tax_lines": []}],
        "fulfillments": [{
            "id": 77, "status": "success", "created_at": "2026-11-02T08:00:00+07:00",
            "updated_at": "2026-11-03T09:00:00+07:00", "tracking_company": "JNE",
            "tracking_number": "JNE0012345", "shipment_status": "delivered",
            "line_items": [{"id": 111, "quantity": 2}, {"id": 112, "quantity": 1}]
        }],
        "some_field_added_next_year": {"ignored": true}
    })
}

async fn deliver_shopify(
    app: &TestApp,
    topic: &str,
    webhook_id: &str,
    body: &[u8],
    secret: Option<&str>,
) -> Reply {
    let mut req = app
        .client
        .post(app.url("/hooks/shopify"))
        .header("content-type", "application/json")
        .header("x-shopify-topic", topic)
        .header("x-shopify-shop-domain", DOMAIN)
        .header("x-shopify-webhook-id", webhook_id)
        .header("x-shopify-event-id", format!("evt-{webhook_id}"))
        .header("x-shopify-api-version", "2026-10")
        .body(body.to_vec());
    if let Some(secret) = secret {
        req = req.header("x-shopify-hmac-sha256", sign(secret, body));
    }
    app.send(req).await
}

async fn order_count(app: &TestApp) -> usize {
    kembali_store::orders::ids_of(
        &mut app.db.conn().await.expect("conn"),
        app.shop.id,
        None,
        None,
    )
    .await
    .expect("ids")
    .len()
}

async fn shopify_orders_arrive_exactly(app: &TestApp) {
    shopify_source(app).await;
    let body = serde_json::to_vec(&shopify_order(
        "2026-11-03T09:00:00+07:00",
        "siti@example.id",
    ))
    .expect("json");

    // Unsigned, forged, for an unknown store: refused, and nothing remembered.
    let unsigned = deliver_shopify(app, "orders/create", "wh-1", &body, None).await;
    assert_problem(&unsigned, 401, "unauthorized");
    let forged = deliver_shopify(app, "orders/create", "wh-1", &body, Some("not-the-secret")).await;
    assert_problem(&forged, 401, "unauthorized");
    let unknown = app
        .send(
            app.client
                .post(app.url("/hooks/shopify"))
                .header("x-shopify-shop-domain", "someone-else.myshopify.com")
                .header("x-shopify-hmac-sha256", sign(SHOPIFY_SECRET, &body))
                .body(body.clone()),
        )
        .await;
    assert_problem(&unknown, 404, "not-found");
    assert_eq!(
        order_count(app).await,
        0,
        "a refused delivery leaves no order"
    );

    // The genuine delivery with the same id as the forged one is taken.
    let ok = deliver_shopify(app, "orders/create", "wh-1", &body, Some(SHOPIFY_SECRET)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["outcome"], "imported");
    let id = ok.body["order_id"].as_str().expect("order id").to_owned();

    // Replayed: 200, nothing changes.
    let again = deliver_shopify(app, "orders/create", "wh-1", &body, Some(SHOPIFY_SECRET)).await;
    assert_eq!(
        (again.status, again.body["outcome"].clone()),
        (200, json!("duplicate"))
    );
    assert_eq!(order_count(app).await, 1);

    let o = app.get(&format!("/api/v1/orders/{id}")).await;
    assert_eq!(o.status, 200, "{}", o.body);
    let o = o.body;
    assert_eq!(o["number"], "#1042");
    assert_eq!(o["email"], "siti@example.id");
    assert_eq!(o["locale"], "id");
    assert_eq!(o["currency"], "IDR");
    assert_eq!(o["payment_method"], "cash_on_delivery");
    assert_eq!(o["taxes_included"], true);
    assert_eq!(o["shipping_address"]["country"], "ID");
    // IDR has two decimals in ISO 4217 and in Shopify: Rp20.000 is 2,000,000.
    assert_eq!(o["shipping_paid"]["amount"], 2_000_000);
    let l0 = &o["lines"][0];
    assert_eq!(l0["sku"], "KEBAYA-M");
    assert_eq!(l0["title"], "Kebaya Brokat — M");
    assert_eq!(l0["quantity"], 2);
    assert_eq!(l0["unit_price"]["amount"], 35_000_000);
    // The discount code's allocation, not the line's zero `total_discount`.
    assert_eq!(l0["discount"]["amount"], 7_000_000);
    assert_eq!(l0["tax"]["amount"], 6_243_243);
    assert_eq!(o["lines"][1]["unit_price"]["amount"], 12_500_000);
    assert_eq!(o["lines"][1]["discount"]["amount"], 0);
    let ship = &o["shipments"][0];
    assert_eq!(ship["carrier"], "JNE");
    assert_eq!(ship["tracking_number"], "JNE0012345");
    assert_eq!(ship["status"], "delivered");
    assert_eq!(ship["lines"].as_array().map(Vec::len), Some(2));
    // What the shopper paid for the first line, taxes included: 2 × 350,000 − 70,000.
    let el = app
        .get(&format!(
            "/api/v1/orders/{id}/eligibility?line_id={}&quantity=2",
            l0["id"].as_str().expect("line")
        ))
        .await;
    assert_eq!(el.status, 200, "{}", el.body);
    assert_eq!(
        el.body["lines"][0]["decision"]["item_amount"]["amount"],
        63_000_000
    );

    // In this shop, and no other.
    let other = app.other_shop("elsewhere").await;
    let r = app.get_as(&other, &format!("/api/v1/orders/{id}")).await;
    assert_problem(&r, 404, "not-found");
}
crate::both!(shopify_intake, super::shopify_orders_arrive_exactly);

async fn out_of_order_updates_end_in_one_complete_order(app: &TestApp) {
    shopify_source(app).await;
    // The update (newer) arrives before the creation (older).
    let newer = shopify_order("2026-11-04T12:00:00+07:00", "siti.baru@example.id");
    let older = shopify_order("2026-11-01T10:00:00+07:00", "siti@example.id");
    let n = serde_json::to_vec(&newer).expect("json");
    let o = serde_json::to_vec(&older).expect("json");
    let first = deliver_shopify(app, "orders/updated", "wh-2", &n, Some(SHOPIFY_SECRET)).await;
    assert_eq!(first.body["outcome"], "imported", "{}", first.body);
    let late = deliver_shopify(app, "orders/create", "wh-3", &o, Some(SHOPIFY_SECRET)).await;
    assert_eq!(late.body["outcome"], "stale", "{}", late.body);
    assert_eq!(late.body["order_id"], first.body["order_id"]);
    assert_eq!(order_count(app).await, 1);
    let id = first.body["order_id"].as_str().expect("id");
    let got = app.get(&format!("/api/v1/orders/{id}")).await.body;
    assert_eq!(
        got["email"], "siti.baru@example.id",
        "the older copy never overwrites"
    );

    // A newer update changes the same order, keeping its line ids.
    let newest = shopify_order("2026-11-05T08:00:00+07:00", "siti.lagi@example.id");
    let b = serde_json::to_vec(&newest).expect("json");
    let upd = deliver_shopify(app, "orders/updated", "wh-4", &b, Some(SHOPIFY_SECRET)).await;
    assert_eq!(upd.body["outcome"], "updated", "{}", upd.body);
    let after = app.get(&format!("/api/v1/orders/{id}")).await.body;
    assert_eq!(after["email"], "siti.lagi@example.id");
    assert_eq!(after["lines"][0]["id"], got["lines"][0]["id"]);
    assert_eq!(after["shipments"][0]["id"], got["shipments"][0]["id"]);
}
crate::both!(
    shopify_order_of_arrival,
    super::out_of_order_updates_end_in_one_complete_order
);

async fn secrets_rotate_with_grace_and_customers_can_be_redacted(app: &TestApp) {
    let source = shopify_source(app).await;
    let kembali = App::new(app.db.clone());
    let mut tx = app.db.begin().await.expect("tx");
    sources::rotate(
        &kembali,
        &mut tx,
        app.shop.id,
        source.id,
        "shpss_new_secret_after_rotation",
        jiff::SignedDuration::from_hours(1),
    )
    .await
    .expect("rotate");
    tx.commit().await.expect("commit");
    let body = serde_json::to_vec(&shopify_order(
        "2026-11-03T09:00:00+07:00",
        "siti@example.id",
    ))
    .expect("json");
    // Signed with the previous secret, within the hour: still taken.
    let old = deliver_shopify(app, "orders/create", "wh-5", &body, Some(SHOPIFY_SECRET)).await;
    assert_eq!(old.body["outcome"], "imported", "{}", old.body);
    let id = old.body["order_id"].as_str().expect("id").to_owned();

    // Shopify's mandatory privacy topic: the customer's data is erased.
    let redact = serde_json::to_vec(&json!({
        "shop_id": 954889, "shop_domain": DOMAIN,
        "customer": {"id": 42, "email": "siti@example.id", "phone": "+62 812 0000 0000"},
        "orders_to_redact": [5_678_901_234u64]
    }))
    .expect("json");
    let r = deliver_shopify(
        app,
        "customers/redact",
        "wh-6",
        &redact,
        Some("shpss_new_secret_after_rotation"),
    )
    .await;
    assert_eq!(r.body["outcome"], "redacted", "{}", r.body);
    let o = app.get(&format!("/api/v1/orders/{id}")).await.body;
    assert_ne!(o["email"], "siti@example.id");
    assert_eq!(o["shipping_address"]["line1"], "");
    assert_eq!(o["shipping_address"]["country"], "ID");
}
crate::both!(
    shopify_rotation_and_privacy,
    super::secrets_rotate_with_grace_and_customers_can_be_redacted
);

/// WooCommerce's order object as its webhook sends it: PHP's JSON escapes, net
/// amounts with their tax beside them, dates without an offset in `_gmt`.
pub(crate) const WOO_ORDER: &str = r#"{"id":727,"parent_id":0,"number":"727","order_key":"wc_order_Xy12","status":"completed","currency":"PLN","prices_include_tax":true,"date_created":"2026-11-05T12:00:00","date_created_gmt":"2026-11-05T11:00:00","date_modified":"2026-11-08T10:30:00","date_modified_gmt":"2026-11-08T09:30:00","date_completed_gmt":"2026-11-08T09:30:00","discount_total":"30.00","shipping_total":"12.19","shipping_tax":"2.80","total":"347.09","total_tax":"64.90","payment_method":"bacs","payment_method_title":"Przelew bankowy","billing":{"first_name":"Zofia","last_name":"\u0141ukasiewicz","company":"","address_1":"ul. \u015awi\u0119tokrzyska 12","address_2":"","city":"Krak\u00f3w","state":"","postcode":"30-015","country":"PL","email":"zofia@example.pl","phone":"+48 600 000 000"},"shipping":{"first_name":"Zofia","last_name":"\u0141ukasiewicz","company":"","address_1":"ul. \u015awi\u0119tokrzyska 12","address_2":"","city":"Krak\u00f3w","state":"","postcode":"30-015","country":"PL"},"line_items":[{"id":31,"name":"Sukienka lniana","product_id":9,"variation_id":0,"quantity":3,"tax_class":"","subtotal":"300.00","subtotal_tax":"69.00","total":"270.00","total_tax":"62.10","sku":"LEN-S","price":90,"image":{"src":"https:\/\/sklep.example.pl\/wp-content\/uploads\/len.jpg"}}],"shipping_lines":[{"id":32,"method_title":"InPost Paczkomat","method_id":"flat_rate","total":"12.19","total_tax":"2.80"}],"meta_data":[]}"#;

pub(crate) async fn deliver_woo(
    app: &TestApp,
    source: &Source,
    topic: &str,
    id: &str,
    body: &[u8],
    secret: Option<&str>,
) -> Reply {
    let mut req = app
        .client
        .post(app.url(&format!("/hooks/woocommerce/{}", source.id)))
        .header("content-type", "application/json")
        .header("x-wc-webhook-source", "https://sklep.example.pl/")
        .header("x-wc-webhook-topic", topic)
        .header("x-wc-webhook-resource", "order")
        .header("x-wc-webhook-id", "5")
        .header("x-wc-webhook-delivery-id", id)
        .body(body.to_vec());
    if let Some(secret) = secret {
        req = req.header("x-wc-webhook-signature", sign(secret, body));
    }
    app.send(req).await
}

async fn woocommerce_orders_arrive_exactly(app: &TestApp) {
    let source = add(
        app,
        NewSource::WooCommerce {
            url: "https://sklep.example.pl".into(),
            secret: WOO_SECRET.into(),
        },
    )
    .await;
    // Saving the webhook in WooCommerce pings the address, unsigned.
    let ping = app
        .send(
            app.client
                .post(app.url(&format!("/hooks/woocommerce/{}", source.id)))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("webhook_id=5"),
        )
        .await;
    assert_eq!(
        (ping.status, ping.body["outcome"].clone()),
        (200, json!("ping"))
    );
    let body = WOO_ORDER.as_bytes();
    let forged = deliver_woo(app, &source, "order.created", "41", body, Some("guess")).await;
    assert_problem(&forged, 401, "unauthorized");
    let unsigned = deliver_woo(app, &source, "order.created", "41", body, None).await;
    assert_problem(&unsigned, 401, "unauthorized");
    assert_eq!(order_count(app).await, 0);
    let ok = deliver_woo(app, &source, "order.created", "41", body, Some(WOO_SECRET)).await;
    assert_eq!(
        (ok.status, ok.body["outcome"].clone()),
        (200, json!("imported")),
        "{}",
        ok.body
    );
    let id = ok.body["order_id"].as_str().expect("id");
    let o = app.get(&format!("/api/v1/orders/{id}")).await.body;
    assert_eq!(o["number"], "#727");
    assert_eq!(o["payment_method"], "bank_transfer");
    assert_eq!(o["taxes_included"], false);
    assert_eq!(o["shipping_address"]["city"], "Kraków");
    assert_eq!(o["shipping_address"]["name"], "Zofia Łukasiewicz");
    assert_eq!(o["placed_at"], "2026-11-05T11:00:00Z");
    let l = &o["lines"][0];
    // 300.00 before the coupon for 3: 100.00 each; 30.00 off; 62.10 tax on top.
    assert_eq!(l["unit_price"]["amount"], 10_000);
    assert_eq!(l["discount"]["amount"], 3_000);
    assert_eq!(l["tax"]["amount"], 6_210);
    // Shipping is paid with its tax: 12.19 + 2.80.
    assert_eq!(o["shipping_paid"]["amount"], 1_499);
    assert_eq!(o["shipments"][0]["status"], "delivered");
    let el = app
        .get(&format!(
            "/api/v1/orders/{id}/eligibility?line_id={}&quantity=3",
            l["id"].as_str().expect("line")
        ))
        .await;
    // Paid for the line: 270.00 net + 62.10 tax.
    assert_eq!(
        el.body["lines"][0]["decision"]["item_amount"]["amount"], 33_210,
        "{}",
        el.body
    );
    let again = deliver_woo(app, &source, "order.updated", "41", body, Some(WOO_SECRET)).await;
    assert_eq!(again.body["outcome"], "duplicate");
    let deleted = deliver_woo(
        app,
        &source,
        "order.deleted",
        "42",
        br#"{"id":727}"#,
        Some(WOO_SECRET),
    )
    .await;
    assert_eq!(deleted.body["outcome"], "ignored");
    assert_eq!(order_count(app).await, 1);
}
crate::both!(woocommerce_intake, super::woocommerce_orders_arrive_exactly);

async fn sources_and_their_intake_log_through_the_api(app: &TestApp) {
    let added = app
        .post(
            "/api/v1/sources",
            &json!({"kind": "shopify", "domain": DOMAIN, "secret": SHOPIFY_SECRET}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["webhook_path"], "/hooks/shopify");
    assert!(
        added.body.get("secret").is_none(),
        "secrets are never shown"
    );
    let again = app
        .post(
            "/api/v1/sources",
            &json!({"kind": "shopify", "domain": DOMAIN, "secret": SHOPIFY_SECRET}),
        )
        .await;
    assert_problem(&again, 422, "validation");
    let id = added.body["id"].as_str().expect("id").to_owned();
    let body = serde_json::to_vec(&shopify_order(
        "2026-11-03T09:00:00+07:00",
        "siti@example.id",
    ))
    .expect("json");
    for n in 0..3 {
        // The log is ordered by arrival; the test's clock stands still unless moved.
        app.clock.advance(jiff::SignedDuration::from_secs(1));
        let r = deliver_shopify(
            app,
            "orders/updated",
            &format!("wh-log-{n}"),
            &body,
            Some(SHOPIFY_SECRET),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let page = app
        .get(&format!("/api/v1/sources/{id}/intake?limit=2"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let data = page.body["data"].as_array().expect("data");
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["delivery_id"], "wh-log-2", "newest first");
    assert_eq!(data[0]["outcome"], "stale");
    let cursor = page.body["next_cursor"].as_str().expect("cursor");
    let rest = app
        .get(&format!(
            "/api/v1/sources/{id}/intake?limit=2&cursor={cursor}"
        ))
        .await;
    let data = rest.body["data"].as_array().expect("data");
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["outcome"], "imported");
    assert!(
        data[0]["order_id"]
            .as_str()
            .is_some_and(|o| o.starts_with("ord_"))
    );
    assert!(rest.body["next_cursor"].is_null());
    // Another shop sees neither the source nor its log.
    let other = app.other_shop("elsewhere").await;
    assert_problem(
        &app.get_as(&other, &format!("/api/v1/sources/{id}/intake"))
            .await,
        404,
        "not-found",
    );
    let theirs = app.get_as(&other, "/api/v1/sources").await;
    assert_eq!(theirs.body["data"], json!([]));
}
crate::both!(
    sources_api,
    super::sources_and_their_intake_log_through_the_api
);
