//! What resolved returns pay out: a refund granted for the accepted units and
//! moved by the shop's payment system; store credit with the policy's bonus,
//! redeemed partially, never below zero even under concurrent redemptions.

use kembali_core::policy::{Defaults, PolicyDocument};
use serde_json::{Value, json};

use crate::fixtures::{bulk_order, create_order, create_return, return_body, s};
use crate::support::{TestApp, assert_problem};

async fn step(app: &TestApp, ret: &Value, action: &str, body: Value) -> Value {
    let r = app
        .post(
            &format!("/api/v1/returns/{}/{action}", s(&ret["id"])),
            &body,
        )
        .await;
    assert_eq!(r.status, 200, "{action}: {}", r.body);
    r.body
}

/// Takes a requested return through approval, transit, receipt, an inspection
/// accepting `accepted` units, and resolution.
pub(crate) async fn resolve(app: &TestApp, ret: &Value, accepted: u32) -> Value {
    let item = s(&ret["items"][0]["id"]);
    let quantity = ret["items"][0]["quantity"].as_u64().expect("quantity");
    let mut r = ret.clone();
    if r["status"] == "requested" {
        r = step(app, &r, "approve", json!({})).await;
    }
    r = step(app, &r, "mark-in-transit", json!({"carrier": "InPost"})).await;
    r = step(
        app,
        &r,
        "receive",
        json!({"items": [{"item_id": item, "outcome": "received", "quantity": quantity}]}),
    )
    .await;
    r = step(
        app,
        &r,
        "inspect",
        json!({"items": [{"item_id": item, "accepted_quantity": accepted,
                          "condition": "like_new", "disposition": "restock"}]}),
    )
    .await;
    step(app, &r, "resolve", json!({})).await
}

async fn refunds_follow_the_accepted_units(app: &TestApp) {
    // Four units of 100.00 zł (no discount), two come back, one is accepted.
    let mut o = bulk_order("#M-1", 4, 3);
    o["lines"][0]["unit_price"] = json!(10_000);
    let o = create_order(app, &o).await;
    let ret = create_return(app, &return_body(&o, 0, 2, "refund")).await;
    let done = resolve(app, &ret, 1).await;
    assert_eq!(done["status"], "resolved");
    let list = app.get("/api/v1/refunds").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let refunds = list.body["data"].as_array().expect("data");
    assert_eq!(refunds.len(), 1, "{}", list.body);
    let refund = &refunds[0];
    assert_eq!(refund["return_id"], ret["id"]);
    assert_eq!(refund["status"], "pending");
    assert_eq!(refund["destination"], "original_payment_method");
    // The decision priced two units; the inspection accepted one: half of it.
    let two = ret["items"][0]["decision"]["refund_preview"]["amount"]
        .as_i64()
        .expect("preview");
    assert_eq!(refund["amount"]["amount"], json!(two / 2), "{refund}");
    assert_eq!(refund["amount"]["currency"], "PLN");
    let id = s(&refund["id"]);

    // The money's way: sent, then succeeded; nothing after that.
    let sent = app
        .post(
            &format!("/api/v1/refunds/{id}/mark-sent"),
            &json!({"reference": "PAYOUT-77"}),
        )
        .await;
    assert_eq!(
        (sent.status, sent.body["status"].clone()),
        (200, json!("sent"))
    );
    let ok = app
        .post(&format!("/api/v1/refunds/{id}/mark-succeeded"), &json!({}))
        .await;
    assert_eq!(ok.body["status"], "succeeded");
    assert_eq!(ok.body["reference"], "PAYOUT-77");
    let again = app
        .post(
            &format!("/api/v1/refunds/{id}/mark-failed"),
            &json!({"reason": "bounced"}),
        )
        .await;
    assert_problem(&again, 409, "conflict");

    // The outside heard of both.
    app.drain().await;
    let mut conn = app.db.conn().await.expect("conn");
    let kinds: Vec<String> = kembali_store::outbox::for_subject(&mut conn, app.shop.id, &id)
        .await
        .expect("outbox")
        .into_iter()
        .map(|m| m.kind)
        .collect();
    assert_eq!(kinds, ["refund.requested", "refund.succeeded"]);
    drop(conn);

    // Another shop sees nothing of it.
    let other = app.other_shop("elsewhere").await;
    assert_problem(
        &app.get_as(&other, &format!("/api/v1/refunds/{id}")).await,
        404,
        "not-found",
    );
    let theirs = app.get_as(&other, "/api/v1/refunds").await;
    assert_eq!(theirs.body["data"], json!([]));
}
crate::both!(refunds, super::refunds_follow_the_accepted_units);

fn credit_bonus() -> PolicyDocument {
    PolicyDocument {
        defaults: Defaults {
            store_credit_bonus_bps: 1_000,
            ..Defaults::default()
        },
        ..PolicyDocument::default()
    }
}

async fn store_credit_is_issued_with_its_bonus_and_never_overdrawn(app: &TestApp) {
    let mut o = bulk_order("#M-2", 2, 3);
    o["lines"][0]["unit_price"] = json!(10_000);
    let o = create_order(app, &o).await;
    let ret = create_return(app, &return_body(&o, 0, 2, "store_credit")).await;
    let expected = ret["items"][0]["decision"]["store_credit_preview"]["amount"]
        .as_i64()
        .expect("preview");
    // 2 × 100.00 zł with a 10 % bonus.
    assert_eq!(expected, 22_000, "{}", ret["items"][0]["decision"]);
    resolve(app, &ret, 2).await;
    assert!(
        app.get("/api/v1/refunds").await.body["data"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "credit is not a refund"
    );
    app.drain().await;
    // Found by the code the shopper holds.
    let mut conn = app.db.conn().await.expect("conn");
    let customer =
        kembali_store::orders::get(&mut conn, app.shop.id, s(&o["id"]).parse().expect("id"))
            .await
            .expect("get")
            .expect("order")
            .0
            .customer_id
            .expect("customer");
    drop(conn);
    let code = {
        // A goodwill credit to the same customer lands in the same account and
        // shows its code.
        let r = app
            .post(
                "/api/v1/store-credit",
                &json!({"customer_id": customer, "amount": 1, "currency": "PLN", "reference": "goodwill"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["balance"]["amount"], json!(expected + 1));
        s(&r.body["code"])
    };
    let found = app.get(&format!("/api/v1/store-credit?code={code}")).await;
    assert_eq!(found.status, 200, "{}", found.body);
    let account = s(&found.body["id"]);
    let ledger = found.body["ledger"].as_array().expect("ledger");
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[0]["reference"], ret["number"]);

    // Twenty clients redeem 30.00 zł each at once from 220.01 zł: seven can.
    let mut tasks = Vec::new();
    for n in 0..20 {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/store-credit/{account}/redeem"));
        let key = app.key.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(key)
                .json(&json!({"amount": 3_000, "reference": format!("#SALE-{n}")}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        match t.await.expect("join").expect("request") {
            200 => accepted += 1,
            409 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(
        accepted, 7,
        "220.01 zł covers seven redemptions of 30.00 zł"
    );
    let after = app
        .get(&format!("/api/v1/store-credit/{account}"))
        .await
        .body;
    assert_eq!(after["balance"]["amount"], json!(22_001 - 7 * 3_000));
    let redeemed: i64 = after["ledger"]
        .as_array()
        .expect("ledger")
        .iter()
        .filter(|e| e["kind"] == "redeem")
        .map(|e| e["amount"].as_i64().expect("amount"))
        .sum();
    assert_eq!(
        redeemed,
        -7 * 3_000,
        "every accepted redemption is in the ledger"
    );
    let over = app
        .post(
            &format!("/api/v1/store-credit/{account}/redeem"),
            &json!({"amount": 2_000}),
        )
        .await;
    assert_problem(&over, 409, "conflict");
    let other = app.other_shop("elsewhere").await;
    assert_problem(
        &app.get_as(&other, &format!("/api/v1/store-credit/{account}"))
            .await,
        404,
        "not-found",
    );
}
crate::both!(
    store_credit,
    super::store_credit_is_issued_with_its_bonus_and_never_overdrawn,
    super::credit_bonus()
);

async fn exchanges_make_an_order_and_settle_the_difference(app: &TestApp) {
    let product = app
        .post(
            "/api/v1/products",
            &json!({"title": "Sukienka lniana", "currency": "PLN", "variants": [
                {"sku": "LEN-L", "title": "Sukienka lniana L", "price": 12_000, "stock": 1,
                 "options": {"size": "L"}},
                {"sku": "LEN-XS", "title": "Sukienka lniana XS", "price": 8_000,
                 "options": {"size": "XS"}}
            ]}),
        )
        .await;
    assert_eq!(product.status, 201, "{}", product.body);
    let by_sku = |sku: &str| {
        product.body["variants"]
            .as_array()
            .and_then(|v| v.iter().find(|x| x["sku"] == sku))
            .map(|x| s(&x["id"]))
            .expect("variant")
    };
    let (large, small) = (by_sku("LEN-L"), by_sku("LEN-XS"));
    // Two dresses at 100.00 zł; one comes back for an L (120.00), one for an XS (80.00).
    let mut o = bulk_order("#M-3", 2, 3);
    o["lines"][0]["unit_price"] = json!(10_000);
    let o = create_order(app, &o).await;
    let mut body = return_body(&o, 0, 1, "exchange");
    body["items"][0]["exchange_variant_id"] = json!(large);
    let up = create_return(app, &body).await;
    assert_eq!(up["exchanges"][0]["variant_id"], json!(large));
    // The last L is promised: another exchange for it is refused at once.
    let other = create_order(app, &bulk_order("#M-4", 1, 3)).await;
    let mut none_left = return_body(&other, 0, 1, "exchange");
    none_left["items"][0]["exchange_variant_id"] = json!(large);
    let r = app.post("/api/v1/returns", &none_left).await;
    assert_eq!(
        r.status, 201,
        "stock is taken when the exchange is made, not when asked: {}",
        r.body
    );
    let mut no_variant = return_body(&o, 0, 1, "exchange");
    no_variant["items"][0]["exchange_variant_id"] = json!(null);
    assert_problem(
        &app.post("/api/v1/returns", &no_variant).await,
        422,
        "validation",
    );

    let done = resolve(app, &up, 1).await;
    let ex = &done["exchanges"][0];
    // 120.00 for the new one less 100.00 for the returned one: 20.00 to pay.
    assert_eq!(ex["price_difference"], 2_000, "{done}");
    let order_id = s(&ex["order_id"]);
    let made = app.get(&format!("/api/v1/orders/{order_id}")).await.body;
    assert_eq!(made["lines"][0]["sku"], "LEN-L");
    assert_eq!(made["lines"][0]["unit_price"]["amount"], 12_000);
    assert_eq!(made["lines"][0]["discount"]["amount"], 10_000);
    assert_eq!(made["email"], o["email"]);
    let p = app
        .get(&format!("/api/v1/products/{}", s(&product.body["id"])))
        .await
        .body;
    let l = p["variants"]
        .as_array()
        .and_then(|v| v.iter().find(|x| x["sku"] == "LEN-L"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(l["stock"], 0, "the L left the stock");
    // The other return's L cannot be made now: the resolution is refused whole.
    let blocked = r.body.clone();
    let item = s(&blocked["items"][0]["id"]);
    let mut b = step(app, &blocked, "approve", json!({})).await;
    b = step(app, &b, "mark-in-transit", json!({})).await;
    b = step(
        app,
        &b,
        "receive",
        json!({"items": [{"item_id": item, "outcome": "received", "quantity": 1}]}),
    )
    .await;
    b = step(app, &b, "inspect", json!({"items": [{"item_id": item, "accepted_quantity": 1, "condition": "new", "disposition": "restock"}]})).await;
    let refused = app
        .post(
            &format!("/api/v1/returns/{}/resolve", s(&b["id"])),
            &json!({}),
        )
        .await;
    assert_problem(&refused, 409, "conflict");
    // The XS costs less than what came back: the difference becomes credit.
    let mut down = return_body(&o, 0, 1, "exchange");
    down["items"][0]["exchange_variant_id"] = json!(small);
    let down = create_return(app, &down).await;
    let done = resolve(app, &down, 1).await;
    assert_eq!(done["exchanges"][0]["price_difference"], -2_000, "{done}");
    app.drain().await;
    let mut conn = app.db.conn().await.expect("conn");
    let kinds: Vec<String> =
        kembali_store::outbox::for_subject(&mut conn, app.shop.id, &s(&down["id"]))
            .await
            .expect("outbox")
            .into_iter()
            .map(|m| m.kind)
            .collect();
    assert!(kinds.contains(&"exchange.created".to_owned()), "{kinds:?}");
}
crate::both!(
    exchanges,
    super::exchanges_make_an_order_and_settle_the_difference
);
