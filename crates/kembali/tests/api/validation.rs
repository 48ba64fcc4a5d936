//! What every request's fields may hold: amounts within the bound the whole
//! lifecycle needs, text without control characters and within its documented
//! length, countries that exist, parcels that move after the order. Each refusal
//! is a 422 naming the field, on both databases, and writes nothing.

use kembali_app::returns::{MAX_COMMENT, MAX_ITEMS, MAX_NOTE, MAX_PHOTOS};
use kembali_core::Money;
use kembali_core::order::{
    MAX_CODE, MAX_EMAIL, MAX_LINES, MAX_NAME, MAX_NUMBER, MAX_QUANTITY, MAX_TAGS, MAX_TITLE,
};
use kembali_core::policy::PolicyDocument;
use kembali_store::StoreError;
use kembali_web::api::error::ApiError;
use serde_json::{Value, json};

use crate::fixtures::{
    EMAIL, bulk_order, create_order, create_return, order, return_body, returnable, s,
};
use crate::support::{Backend, Reply, TestApp, assert_problem};

type Mutation = Box<dyn Fn(&mut Value)>;

/// Asserts a 422 validation problem whose first error names `field`.
#[track_caller]
fn refused(r: &Reply, field: &str, name: &str) {
    assert_eq!(r.status, 422, "{name}: {}", r.body);
    assert_problem(r, 422, "validation");
    assert_eq!(r.body["errors"][0]["field"], field, "{name}: {}", r.body);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{name}: {}",
        r.body
    );
}

/// Posts each mutated order and insists it is refused naming its field, and that
/// no order with its number was stored.
async fn orders_refused(app: &TestApp, cases: Vec<(&str, &str, Mutation)>) {
    for (name, field, mutate) in cases {
        let mut o = order("#X-1", 2);
        mutate(&mut o);
        let number = s(&o["number"]);
        let r = app.post("/api/v1/orders", &o).await;
        refused(&r, field, name);
        let mut conn = app.db.conn().await.expect("conn");
        let stored = kembali_store::orders::get_by_number(&mut conn, app.shop.id, number.trim())
            .await
            .expect("get");
        assert!(stored.is_none(), "{name}: a refused order was stored");
    }
    assert_eq!(
        app.counts(EMAIL).await,
        (0, 0),
        "a refused order was stored"
    );
}

/// Sets the value at a JSON pointer, adding the last key if it is missing.
fn set(pointer: &'static str, value: Value) -> Mutation {
    Box::new(move |o| {
        let (parent, key) = pointer.rsplit_once('/').expect("pointer");
        o.pointer_mut(parent).expect(pointer)[key] = value.clone();
    })
}

/// Amounts whose later arithmetic overflows used to be stored, and then every
/// eligibility check and return of the order answered 500.
async fn amounts_that_would_overflow_are_refused(app: &TestApp) {
    let max = Money::MAX_AMOUNT;
    let cases: Vec<(&str, &str, Mutation)> = vec![
        (
            "9×10^17 × 10 units",
            "lines[0].unit_price",
            Box::new(|o| {
                *o = bulk_order("#X-1", 10, 2);
                o["lines"][0]["unit_price"] = json!(900_000_000_000_000_000i64);
            }),
        ),
        (
            "unit price i64::MAX",
            "lines[1].unit_price",
            set("/lines/1/unit_price", json!(i64::MAX)),
        ),
        (
            "tax i64::MAX, included in the price",
            "lines[0].tax",
            set("/lines/0/tax", json!(i64::MAX)),
        ),
        (
            "tax i64::MAX, added on top",
            "lines[1].tax",
            Box::new(|o| {
                o["taxes_included"] = json!(false);
                o["lines"][1]["tax"] = json!(i64::MAX);
            }),
        ),
        (
            "discount past the bound",
            "lines[0].discount",
            set("/lines/0/discount", json!(max + 1)),
        ),
        (
            "shipping i64::MAX",
            "shipping_paid",
            set("/shipping_paid", json!(i64::MAX)),
        ),
        (
            "cheapest shipping past the bound",
            "cheapest_shipping",
            Box::new(move |o| o["cheapest_shipping"] = json!(max + 1)),
        ),
        (
            "a line's total past the bound",
            "lines[0]",
            Box::new(move |o| {
                *o = bulk_order("#X-1", 11, 2);
                o["lines"][0]["unit_price"] = json!(max / 10);
            }),
        ),
        (
            "the order's total past the bound",
            "lines",
            Box::new(move |o| {
                o["lines"][0]["unit_price"] = json!(max / 2);
                o["lines"][0]["discount"] = json!(0);
            }),
        ),
    ];
    orders_refused(app, cases).await;

    // At the bound, the whole life of the order works: eligibility, a return
    // of every unit with store credit, its quote.
    let mut o = bulk_order("#X-2", 10, 2);
    o["lines"][0]["unit_price"] = json!(max / 10 - 1000);
    let o = create_order(app, &o).await;
    assert_eq!(returnable(app, &o, 0).await, 10);
    let ret = create_return(app, &return_body(&o, 0, 10, "store_credit")).await;
    assert_eq!(ret["quote"]["items_amount"]["amount"], json!(max - 10_000));
    assert_eq!(
        ret["quote"]["store_credit_total"]["amount"],
        json!(max - 10_000)
    );
}
crate::both!(
    overflowing_amounts,
    super::amounts_that_would_overflow_are_refused
);

/// Control characters: refused everywhere in one-line text, and in free text
/// except for line breaks and tabs; PostgreSQL could not even store U+0000.
async fn control_characters_are_refused(app: &TestApp) {
    let cases: Vec<(&str, &str, Mutation)> = vec![
        (
            "SOH in the number",
            "number",
            set("/number", json!("#X\u{1}1")),
        ),
        (
            "DEL in the email",
            "email",
            set("/email", json!("anna\u{7f}@example.pl")),
        ),
        (
            "NEL (C1) in the name",
            "customer_name",
            set("/customer_name", json!("Anna\u{85}")),
        ),
        (
            "a tab in an address line",
            "shipping_address.line1",
            set("/shipping_address/line1", json!("ul.\tDługa 5")),
        ),
        (
            "an escape sequence in the city",
            "shipping_address.city",
            set("/shipping_address/city", json!("Gda\u{1b}[31mńsk")),
        ),
        (
            "a line break in the SKU",
            "lines[0].sku",
            set("/lines/0/sku", json!("SHIRT\nM")),
        ),
        (
            "CSI (C1) in the title",
            "lines[0].title",
            set("/lines/0/title", json!("Koszula\u{9b}")),
        ),
        (
            "STX in a tag",
            "lines[0].tags[1]",
            set("/lines/0/tags", json!(["ok", "a\u{2}b"])),
        ),
        (
            "a backspace in the carrier",
            "shipments[0].carrier",
            set("/shipments/0/carrier", json!("In\u{8}Post")),
        ),
        (
            "a carriage return in the tracking number",
            "shipments[0].tracking_number",
            set("/shipments/0/tracking_number", json!("62\r00")),
        ),
    ];
    orders_refused(app, cases).await;

    let o = create_order(app, &order("#X-3", 2)).await;
    let mut body = return_body(&o, 0, 1, "refund");
    body["items"][0]["comment"] = json!("Za mała\u{7}");
    refused(
        &app.post("/api/v1/returns", &body).await,
        "items[0].comment",
        "BEL in a comment",
    );
    let mut body = return_body(&o, 0, 1, "refund");
    body["items"][0]["photos"] = json!(["up\n2"]);
    refused(
        &app.post("/api/v1/returns", &body).await,
        "items[0].photos[0]",
        "a photo reference that is not a photo id",
    );
    assert_eq!(app.counts(EMAIL).await, (1, 0));
    // Free text keeps its line breaks and tabs.
    let mut body = return_body(&o, 0, 1, "refund");
    body["items"][0]["comment"] = json!("Za mała.\r\n\tProszę o zwrot.");
    let ret = create_return(app, &body).await;
    assert_eq!(
        ret["items"][0]["comment"],
        json!("Za mała.\r\n\tProszę o zwrot.")
    );

    let id = s(&ret["id"]);
    let act = |action: &str, body: Value| {
        let path = format!("/api/v1/returns/{id}/{action}");
        async move { app.post(&path, &body).await }
    };
    refused(
        &act("approve", json!({"note": "ok\u{1b}"})).await,
        "note",
        "ESC in a note",
    );
    refused(
        &act("reject", json!({"reason": "worn\u{9c}"})).await,
        "reason",
        "ST (C1) in a reason",
    );
    refused(
        &act("cancel", json!({"reason": "\u{0}"})).await,
        "reason",
        "NUL in a reason (the extractor's own refusal)",
    );
    let approved = act("approve", json!({"note": "Line one.\nLine two."})).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    refused(
        &act("mark-in-transit", json!({"carrier": "In\tPost"})).await,
        "carrier",
        "a tab in the carrier",
    );
    refused(
        &act(
            "mark-in-transit",
            json!({"tracking_number": "62\u{0085}00"}),
        )
        .await,
        "tracking_number",
        "NEL in a tracking number",
    );
    let ret = crate::fixtures::get_return(app, &id).await;
    assert_eq!(ret["status"], "approved", "{ret}");
}
crate::both!(control_characters, super::control_characters_are_refused);

/// Every text has a documented maximum; at it, text is kept whole.
async fn long_text_is_refused(app: &TestApp) {
    let long = |n: usize| json!("ż".repeat(n));
    let cases: Vec<(&str, &str, Mutation)> = vec![
        ("number", "number", set("/number", long(MAX_NUMBER + 1))),
        (
            "email",
            "email",
            set(
                "/email",
                json!(format!("{}@example.pl", "a".repeat(MAX_EMAIL))),
            ),
        ),
        (
            "customer name",
            "customer_name",
            set("/customer_name", long(MAX_NAME + 1)),
        ),
        (
            "address line",
            "shipping_address.line1",
            set("/shipping_address/line1", long(MAX_NAME + 1)),
        ),
        (
            "postal code",
            "shipping_address.postal_code",
            set("/shipping_address/postal_code", long(MAX_CODE + 1)),
        ),
        (
            "a 100 KB SKU",
            "lines[0].sku",
            set("/lines/0/sku", long(100_000)),
        ),
        (
            "title",
            "lines[0].title",
            set("/lines/0/title", long(MAX_TITLE + 1)),
        ),
        (
            "category",
            "lines[0].category",
            set("/lines/0/category", long(MAX_NAME + 1)),
        ),
        (
            "a tag",
            "lines[0].tags[0]",
            set("/lines/0/tags", json!([long(MAX_NAME + 1)])),
        ),
        (
            "too many tags",
            "lines[0].tags",
            set("/lines/0/tags", json!(vec!["t"; MAX_TAGS + 1])),
        ),
        (
            "carrier",
            "shipments[0].carrier",
            set("/shipments/0/carrier", long(MAX_NAME + 1)),
        ),
        (
            "tracking number",
            "shipments[0].tracking_number",
            set("/shipments/0/tracking_number", long(MAX_CODE + 1)),
        ),
    ];
    orders_refused(app, cases).await;

    // At the bound, counted in characters (these are two bytes each).
    let mut o = order("#X-4", 2);
    o["lines"][0]["sku"] = long(MAX_NAME);
    o["lines"][0]["title"] = long(MAX_TITLE);
    o["number"] = long(MAX_NUMBER);
    let o = create_order(app, &o).await;
    assert_eq!(o["lines"][0]["sku"], long(MAX_NAME));

    let mut body = return_body(&o, 0, 1, "refund");
    body["items"][0]["comment"] = long(MAX_COMMENT + 1);
    refused(
        &app.post("/api/v1/returns", &body).await,
        "items[0].comment",
        "comment",
    );
    let ret = create_return(app, &return_body(&o, 0, 1, "refund")).await;
    let id = s(&ret["id"]);
    let act = |action: &str, body: Value| {
        let path = format!("/api/v1/returns/{id}/{action}");
        async move { app.post(&path, &body).await }
    };
    // A megabyte of reason fits in the body limit, and is still refused.
    refused(
        &act("reject", json!({"reason": "x".repeat(1_000_000)})).await,
        "reason",
        "a 1 MB rejection reason",
    );
    refused(
        &act("reject", json!({"reason": "  "})).await,
        "reason",
        "a blank rejection reason",
    );
    refused(
        &act("approve", json!({"note": long(MAX_NOTE + 1)})).await,
        "note",
        "a long approval note",
    );
    refused(
        &act("cancel", json!({"reason": long(MAX_NOTE + 1)})).await,
        "reason",
        "a long cancellation reason",
    );
    let approved = act("approve", json!({"note": long(MAX_NOTE)})).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    refused(
        &act("mark-in-transit", json!({"carrier": long(MAX_NAME + 1)})).await,
        "carrier",
        "a long carrier",
    );
    refused(
        &act(
            "mark-in-transit",
            json!({"carrier": "InPost", "tracking_number": long(MAX_CODE + 1)}),
        )
        .await,
        "tracking_number",
        "a long tracking number",
    );
    let ret = crate::fixtures::get_return(app, &id).await;
    assert_eq!(ret["status"], "approved", "{ret}");
    assert_eq!(ret["version"], approved.body["version"], "{ret}");
}
crate::both!(long_text, super::long_text_is_refused);

/// A parcel cannot move before the order was placed, nor arrive before it left;
/// an unknown country is not a country.
async fn impossible_facts_are_refused(app: &TestApp) {
    let cases: Vec<(&str, &str, Mutation)> = vec![
        (
            "shipped before the order",
            "shipments[0].shipped_at",
            Box::new(|o| {
                o["shipments"][0]["shipped_at"] = json!("2020-01-01T00:00:00Z");
            }),
        ),
        (
            "delivered before the order",
            "shipments[0].delivered_at",
            Box::new(|o| {
                o["shipments"][0]
                    .as_object_mut()
                    .expect("shipment")
                    .remove("shipped_at");
                o["shipments"][0]["delivered_at"] = json!("2020-01-01T00:00:00Z");
            }),
        ),
        (
            "delivered before it was shipped",
            "shipments[0].delivered_at",
            Box::new(|o| {
                let shipped = o["shipments"][0]["shipped_at"].clone();
                o["shipments"][0]["shipped_at"] = o["shipments"][0]["delivered_at"].clone();
                o["shipments"][0]["delivered_at"] = shipped;
            }),
        ),
    ];
    orders_refused(app, cases).await;
    for country in ["XX", "EU", "UK", "ZZ"] {
        let mut o = order("#X-5", 2);
        o["shipping_address"]["country"] = json!(country);
        let r = app.post("/api/v1/orders", &o).await;
        assert_problem(&r, 422, "validation");
        assert!(
            s(&r.body["errors"][0]["message"]).contains("country"),
            "{country}: {}",
            r.body
        );
    }
    assert_eq!(app.counts(EMAIL).await, (0, 0));
}
crate::both!(impossible_facts, super::impossible_facts_are_refused);

/// A unique-key clash is said in words; the database's constraint names (the
/// schema's, not the API's) never reach a client.
#[test]
fn conflicts_name_no_constraint() {
    for (constraint, words) in [
        ("customers_shop_id_email_key", "customer"),
        (
            "UNIQUE constraint failed: customers.shop_id, customers.email",
            "customer",
        ),
        ("orders_shop_id_number_key", "order with this number"),
        (
            "UNIQUE constraint failed: orders.shop_id, orders.number",
            "order with this number",
        ),
        ("orders_source", "source"),
        ("returns_shop_id_number_key", "return with this number"),
        ("idempotency_keys_pkey", "Idempotency-Key"),
        ("something_else_key", "already exists"),
    ] {
        let problem = ApiError::from(StoreError::Duplicate {
            constraint: constraint.to_owned(),
        })
        .problem();
        assert_eq!(problem.status, 409);
        assert!(problem.detail.contains(words), "{constraint}: {problem:?}");
        for internal in [
            "_key",
            "pkey",
            "constraint",
            "shop_id",
            "customers.",
            "orders_",
        ] {
            assert!(
                !problem.detail.contains(internal),
                "{constraint}: {problem:?}"
            );
        }
    }
}

/// The OpenAPI document states the bounds the server enforces, from the same
/// constants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_states_the_bounds() {
    let app = crate::support::spawn(Backend::Sqlite, PolicyDocument::default())
        .await
        .expect("sqlite");
    let r = app
        .send(app.client.get(app.url("/api/v1/openapi.json")))
        .await;
    assert_eq!(r.status, 200);
    let schemas = &r.body["components"]["schemas"];
    let field = |schema: &str, name: &str| schemas[schema]["properties"][name].clone();
    let n = |v: usize| json!(v);
    for (schema, name, key, value) in [
        ("NewOrder", "number", "minLength", n(1)),
        ("NewOrder", "number", "maxLength", n(MAX_NUMBER)),
        ("NewOrder", "email", "maxLength", n(MAX_EMAIL)),
        ("NewOrder", "customer_name", "maxLength", n(MAX_NAME)),
        ("NewOrder", "lines", "minItems", n(1)),
        ("NewOrder", "lines", "maxItems", n(MAX_LINES)),
        (
            "NewOrder",
            "shipping_paid",
            "maximum",
            json!(Money::MAX_AMOUNT),
        ),
        (
            "NewOrder",
            "cheapest_shipping",
            "maximum",
            json!(Money::MAX_AMOUNT),
        ),
        ("NewLine", "sku", "minLength", n(1)),
        ("NewLine", "sku", "maxLength", n(MAX_NAME)),
        ("NewLine", "title", "maxLength", n(MAX_TITLE)),
        ("NewLine", "category", "maxLength", n(MAX_NAME)),
        ("NewLine", "tags", "maxItems", n(MAX_TAGS)),
        ("NewLine", "quantity", "minimum", n(1)),
        ("NewLine", "quantity", "maximum", json!(MAX_QUANTITY)),
        ("NewLine", "unit_price", "minimum", n(0)),
        ("NewLine", "unit_price", "maximum", json!(Money::MAX_AMOUNT)),
        ("NewLine", "discount", "maximum", json!(Money::MAX_AMOUNT)),
        ("NewLine", "tax", "maximum", json!(Money::MAX_AMOUNT)),
        ("NewShipment", "carrier", "maxLength", n(MAX_NAME)),
        ("NewShipment", "tracking_number", "maxLength", n(MAX_CODE)),
        ("NewShipmentLine", "line", "maximum", n(MAX_LINES - 1)),
        (
            "NewShipmentLine",
            "quantity",
            "maximum",
            json!(MAX_QUANTITY),
        ),
        ("Address", "name", "maxLength", n(MAX_NAME)),
        ("Address", "line1", "maxLength", n(MAX_NAME)),
        ("Address", "line2", "maxLength", n(MAX_NAME)),
        ("Address", "city", "maxLength", n(MAX_NAME)),
        ("Address", "postal_code", "maxLength", n(MAX_CODE)),
        ("Address", "phone", "maxLength", n(MAX_CODE)),
        ("NewReturnRequest", "items", "minItems", n(1)),
        ("NewReturnRequest", "items", "maxItems", n(MAX_ITEMS)),
        ("NewReturnItem", "quantity", "minimum", n(1)),
        ("NewReturnItem", "quantity", "maximum", json!(MAX_QUANTITY)),
        ("NewReturnItem", "comment", "maxLength", n(MAX_COMMENT)),
        ("NewReturnItem", "photos", "maxItems", n(MAX_PHOTOS)),
        ("ApproveBody", "note", "maxLength", n(MAX_NOTE)),
        ("RejectBody", "reason", "minLength", n(1)),
        ("RejectBody", "reason", "maxLength", n(MAX_NOTE)),
        ("InTransitBody", "carrier", "maxLength", n(MAX_NAME)),
        ("InTransitBody", "tracking_number", "maxLength", n(MAX_CODE)),
        ("ReceiveBody", "note", "maxLength", n(MAX_NOTE)),
        ("InspectBody", "note", "maxLength", n(MAX_NOTE)),
        ("ResolveBody", "note", "maxLength", n(MAX_NOTE)),
        ("CancelBody", "reason", "maxLength", n(MAX_NOTE)),
    ] {
        assert_eq!(
            field(schema, name)[key],
            value,
            "{schema}.{name}.{key}: {}",
            field(schema, name)
        );
    }
    app.finish().await;
}
