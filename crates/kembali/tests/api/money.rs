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
async fn resolve(app: &TestApp, ret: &Value, accepted: u32) -> Value {
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
