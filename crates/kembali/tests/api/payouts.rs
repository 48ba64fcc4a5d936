//! The policy engine's inputs over HTTP: where a refund goes (a bank account or
//! e-wallet, checked, and masked in every answer and webhook but the payout),
//! claims, the declared condition and the return method in quotes and returns.

use kembali_core::policy::PolicyDocument;
use serde_json::{Value, json};

use crate::fixtures::{create_order, create_return, order, return_body, s};
use crate::money::resolve;
use crate::support::{TestApp, assert_problem};
use crate::walk::key_as;

/// Labels cost 15.00 zł for a courier pickup; opened or used items 10 %;
/// warranty (24 months, defects) and delivery claims are on.
pub fn policy() -> PolicyDocument {
    serde_json::from_value(json!({
        "defaults": {
            "methods": ["drop_off", "courier_pickup", "own_shipping"],
            "return_shipping_fee": {"fixed": {"PLN": 1500}, "methods": ["courier_pickup"]}
        },
        "rules": [{
            "id": "opened",
            "when": {"item_conditions": ["opened", "used"]},
            "then": {"restocking_fee": {"percent_bps": 1000}}
        }],
        "warranty": {"months": 24, "reasons": ["defective"], "answer_days": 14},
        "delivery_claims": {"days": 14, "never_arrived_days": 60, "answer_days": 14}
    }))
    .expect("policy")
}

fn cod_order(number: &str, days_ago: i64) -> Value {
    let mut o = order(number, days_ago);
    o["payment_method"] = json!("cash_on_delivery");
    o
}

const BCA: &str = "1234567890";

/// What the outside heard about `subject` (the webhook payloads), as text.
async fn outbox_text(app: &TestApp, subject: &str) -> String {
    let mut conn = app.db.conn().await.expect("conn");
    let messages = kembali_store::outbox::for_subject(&mut conn, app.shop.id, subject)
        .await
        .expect("outbox");
    assert!(!messages.is_empty(), "no message about {subject}");
    messages
        .iter()
        .map(|m| m.payload.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn cod_refund_goes_to_a_bank_account(app: &TestApp) {
    let o = create_order(app, &cod_order("#P-1", 3)).await;
    // Cash on delivery has no original method to refund to: a destination is required.
    let bare = app
        .post("/api/v1/returns", &return_body(&o, 0, 1, "refund"))
        .await;
    assert_problem(&bare, 422, "validation");
    assert_eq!(
        bare.body["errors"][0]["field"], "refund_destination",
        "{}",
        bare.body
    );
    assert!(
        s(&bare.body["detail"]).contains("bank_account"),
        "{}",
        bare.body
    );

    let mut body = return_body(&o, 0, 1, "refund");
    body["refund_destination"] = json!({"kind": "bank_account", "holder": "Budi Santoso",
        "bank": "bca", "account_number": "123 456 7890"});
    let ret = create_return(app, &body).await;
    let masked = json!({"kind": "bank_account", "holder": "Budi Santoso", "bank": "bca",
        "account": "••••7890"});
    assert_eq!(ret["refund_destination"], masked, "{ret}");
    assert!(!ret.to_string().contains(BCA), "{ret}");
    let read = app.get(&format!("/api/v1/returns/{}", s(&ret["id"]))).await;
    assert_eq!(read.body["refund_destination"], masked);

    let done = resolve(app, &ret, 1).await;
    assert_eq!(done["status"], "resolved", "{done}");
    let list = app.get("/api/v1/refunds").await;
    let refund = &list.body["data"][0];
    assert_eq!(refund["destination"], "bank_account", "{refund}");
    assert_eq!(refund["payout"]["account"], "••••7890", "{refund}");
    assert!(!list.body.to_string().contains(BCA), "{}", list.body);
    let id = s(&refund["id"]);

    // The payer reads the whole number, with a key that may write.
    let payout = app.get(&format!("/api/v1/refunds/{id}/payout")).await;
    assert_eq!(payout.status, 200, "{}", payout.body);
    assert_eq!(payout.body["destination"]["account"]["number"], BCA);
    assert_eq!(payout.body["destination"]["account"]["bank"], "bca");
    assert_eq!(payout.body["amount"], refund["amount"]);
    let (_, read_key) = key_as(app, &app.key, "read").await;
    let refused = app
        .get_as(&read_key, &format!("/api/v1/refunds/{id}/payout"))
        .await;
    assert_problem(&refused, 403, "forbidden");

    // Webhooks: the return's and the refund's messages carry the mask only.
    for subject in [s(&ret["id"]), id] {
        let text = outbox_text(app, &subject).await;
        assert!(text.contains("••••7890"), "{text}");
        assert!(!text.contains(BCA), "{text}");
    }
    app.drain().await;
}

crate::both!(
    cod_to_bank,
    super::cod_refund_goes_to_a_bank_account,
    super::policy()
);

async fn bad_accounts_are_refused_by_field(app: &TestApp) {
    let cod = create_order(app, &cod_order("#P-2", 3)).await;
    let card = create_order(app, &order("#P-3", 3)).await;
    let with = |o: &Value, d: Value| {
        let mut b = return_body(o, 0, 1, "refund");
        b["refund_destination"] = d;
        b
    };
    let cases = [
        // One digit off: the IBAN's check digits catch it.
        (
            &cod,
            json!({"kind": "bank_account", "holder": "Jan Kowalski",
                   "iban": "PL61 1090 1014 0000 0712 1981 2875"}),
            "refund_destination.iban",
            "check digits",
        ),
        (
            &cod,
            json!({"kind": "bank_account", "holder": "Jan Kowalski", "iban": "PL61 1090 1014"}),
            "refund_destination.iban",
            "28 characters",
        ),
        (
            &cod,
            json!({"kind": "bank_account", "holder": "Budi", "bank": "mandiri",
                   "account_number": BCA}),
            "refund_destination.account_number",
            "13 digits",
        ),
        (
            &cod,
            json!({"kind": "bank_account", "holder": "", "bank": "bca", "account_number": BCA}),
            "refund_destination.holder",
            "empty",
        ),
        (
            &cod,
            json!({"kind": "e_wallet", "provider": "gopay", "phone": "+48 601 234 567"}),
            "refund_destination.phone",
            "Indonesian mobile",
        ),
        // A card order goes back to the card or to credit, not to a wallet.
        (
            &card,
            json!({"kind": "e_wallet", "provider": "ovo", "phone": "081234567890"}),
            "refund_destination",
            "original_method",
        ),
    ];
    for (o, d, field, says) in cases {
        let r = app.post("/api/v1/returns", &with(o, d.clone())).await;
        assert_problem(&r, 422, "validation");
        assert_eq!(r.body["errors"][0]["field"], field, "{d}: {}", r.body);
        assert!(s(&r.body["detail"]).contains(says), "{d}: {}", r.body);
    }
    // A kind the API does not know is refused by the body's schema.
    let r = app
        .post("/api/v1/returns", &with(&cod, json!({"kind": "cash"})))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    // Nothing was opened.
    let list = app.get("/api/v1/returns").await;
    assert_eq!(list.body["data"], json!([]), "{}", list.body);

    // The valid IBAN and an e-wallet pass, masked.
    let ok = create_return(
        app,
        &with(
            &cod,
            json!({"kind": "bank_account", "holder": "Jan Kowalski",
                   "iban": "pl61 1090 1014 0000 0712 1981 2874"}),
        ),
    )
    .await;
    assert_eq!(ok["refund_destination"]["iban_country"], "PL");
    assert_eq!(ok["refund_destination"]["account"], "••••2874");
    let mut wallet = with(
        &cod,
        json!({"kind": "e_wallet", "provider": "dana", "phone": "0812-3456-7890"}),
    );
    wallet["items"][0]["line_id"] = cod["lines"][1]["id"].clone();
    let w = create_return(app, &wallet).await;
    assert_eq!(w["refund_destination"]["provider"], "dana");
    assert_eq!(w["refund_destination"]["account"], "••••7890");
    assert!(!w.to_string().contains("81234567890"), "{w}");
}

crate::both!(
    bad_accounts,
    super::bad_accounts_are_refused_by_field,
    super::policy()
);

async fn claims_come_in_through_the_api(app: &TestApp) {
    // Delivered 200 days ago: both return windows are over, the warranty is not.
    let old = create_order(app, &order("#P-4", 200)).await;
    let oid = s(&old["id"]);
    let line = s(&old["lines"][0]["id"]);
    let el = app
        .get(&format!(
            "/api/v1/orders/{oid}/eligibility?line_id={line}&reason=defective"
        ))
        .await;
    assert_eq!(el.status, 200, "{}", el.body);
    let d = &el.body["lines"][0]["decision"];
    assert_eq!(d["basis"], "warranty", "{d}");
    assert_eq!(d["resolutions"], json!(["repair", "replacement"]), "{d}");
    assert!(d["answer_due_by"].is_string(), "{d}");
    let late = app
        .get(&format!(
            "/api/v1/orders/{oid}/eligibility?line_id={line}&reason=changed_mind"
        ))
        .await;
    assert_eq!(late.body["lines"][0]["decision"]["eligible"], false);

    let mut body = return_body(&old, 0, 1, "replacement");
    body["items"][0]["reason"] = json!("defective");
    let claim = create_return(app, &body).await;
    assert_eq!(
        claim["items"][0]["decision"]["basis"], "warranty",
        "{claim}"
    );
    assert_eq!(claim["items"][0]["decision"]["shop_pays_shipping"], true);

    // A parcel damaged in transit, reported three days after delivery: a
    // delivery claim, free of the label fee a courier pickup costs otherwise.
    let o = create_order(app, &order("#P-5", 3)).await;
    let mut body = return_body(&o, 0, 1, "refund");
    body["method"] = json!("courier_pickup");
    body["items"][0]["reason"] = json!("damaged");
    body["items"][0]["claim"] = json!("damaged_in_transit");
    let c = create_return(app, &body).await;
    let d = &c["items"][0]["decision"];
    assert_eq!(d["basis"], "delivery_claim", "{d}");
    assert_eq!(d["fees"], json!([]), "{d}");
    assert_eq!(d["refund_preview"], d["item_amount"], "{d}");
    // An unknown claim kind is refused, naming the field.
    let r = app
        .get(&format!(
            "/api/v1/orders/{}/eligibility?claim=lost_in_space",
            s(&o["id"])
        ))
        .await;
    assert_problem(&r, 422, "validation");
    assert!(s(&r.body["detail"]).contains("claim"), "{}", r.body);
}

crate::both!(
    claims,
    super::claims_come_in_through_the_api,
    super::policy()
);

/// The fees of a decision, `(kind, minor units)`.
fn fees(decision: &Value) -> Vec<(String, i64)> {
    decision["fees"]
        .as_array()
        .expect("fees")
        .iter()
        .map(|f| {
            (
                s(&f["kind"]),
                f["amount"]["amount"].as_i64().expect("amount"),
            )
        })
        .collect()
}

async fn method_and_condition_price_the_quote(app: &TestApp) {
    // Line 1: one mug at 39.99 zł, delivered three days ago.
    let o = create_order(app, &order("#P-6", 3)).await;
    let oid = s(&o["id"]);
    let line = s(&o["lines"][1]["id"]);
    let ask = |q: &str| {
        let path = format!("/api/v1/orders/{oid}/eligibility?line_id={line}&{q}");
        async move { app.get(&path).await }
    };
    let plain = ask("method=drop_off&condition=unopened").await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert_eq!(fees(&plain.body["lines"][0]["decision"]), vec![]);
    // A courier pickup costs its label: 15.00 zł.
    let pickup = ask("method=courier_pickup").await;
    assert_eq!(
        fees(&pickup.body["lines"][0]["decision"]),
        vec![("return_shipping".to_owned(), 1500)]
    );
    // Opened: 10 % of 39.99 zł = 399.9, half up 400.
    let opened = ask("method=courier_pickup&condition=opened").await;
    let d = &opened.body["lines"][0]["decision"];
    assert_eq!(
        fees(d),
        vec![
            ("restocking".to_owned(), 400),
            ("return_shipping".to_owned(), 1500)
        ]
    );
    // 3999 − 1500 − 400 = 2099.
    assert_eq!(d["refund_preview"]["amount"], 2099, "{d}");
    // Where the money may go, for a card order.
    let to = ask("refund_destination=e_wallet").await;
    assert_eq!(to.body["lines"][0]["destination_allowed"], false);
    let to = ask("refund_destination=store_credit").await;
    assert_eq!(to.body["lines"][0]["destination_allowed"], true);
    for bad in [
        "method=teleport",
        "condition=pristine",
        "refund_destination=cash",
    ] {
        let r = ask(bad).await;
        assert_problem(&r, 422, "validation");
    }

    // An exchange for a dearer mug is priced: 49.99 − 39.99 zł, paid by the shopper.
    let made = app
        .post(
            "/api/v1/products",
            &json!({"title": "Kubek", "currency": "PLN",
                    "variants": [{"sku": "MUG-XL", "title": "XL", "price": 4999, "stock": 3}]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let variant = s(&made.body["variants"][0]["id"]);
    let swap = ask(&format!("exchange_variant_id={variant}")).await;
    let x = &swap.body["lines"][0]["decision"]["exchange"];
    assert_eq!(x["sku"], "MUG-XL", "{}", swap.body);
    assert_eq!(x["difference"]["amount"], 1000, "{x}");
    assert_eq!(x["settlement"], "shopper_pays", "{x}");
    let r = ask("exchange_variant_id=var_01jd4x7v8k2m3n4p5q6r7s8t9v").await;
    assert_problem(&r, 422, "validation");
    assert_eq!(
        r.body["errors"][0]["field"], "exchange_variant_id",
        "{}",
        r.body
    );
    let mut swap_body = return_body(&o, 1, 1, "exchange");
    swap_body["items"][0]["exchange_variant_id"] = json!(variant);
    let swapped = create_return(app, &swap_body).await;
    assert_eq!(swapped["items"][0]["decision"]["exchange"], *x, "{swapped}");
    let cancelled = app
        .post(
            &format!("/api/v1/returns/{}/cancel", s(&swapped["id"])),
            &json!({}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);

    // The return is priced as the quote said.
    let mut body = return_body(&o, 1, 1, "refund");
    body["method"] = json!("courier_pickup");
    body["items"][0]["condition"] = json!("opened");
    let ret = create_return(app, &body).await;
    assert_eq!(fees(&ret["items"][0]["decision"]), fees(d), "{ret}");
    assert_eq!(ret["quote"]["refund_total"]["amount"], 2099, "{ret}");
}

crate::both!(
    priced,
    super::method_and_condition_price_the_quote,
    super::policy()
);
