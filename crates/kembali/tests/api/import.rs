//! CSV imports through `POST /api/v1/imports/orders`: the documented example
//! file to the minor unit, files with bad rows (nothing imported, each row
//! reported), skipping bad rows (never half an order), re-imports that update,
//! and shops that see only their own orders.

use kembali_core::order::{Order, PaymentMethod, Shipment, TrackingStatus};
use kembali_store::outbox;

use crate::support::{Reply, TestApp, assert_problem};

const EXAMPLE: &str = include_str!("../../../../docs/examples/orders.csv");
const HEADER: &str = "order_number,email,currency,placed_at,payment_method,shipping_name,\
    shipping_line1,shipping_city,shipping_postal_code,shipping_country,sku,title,quantity,\
    unit_price,discount,carrier,tracking_number,shipment_status,shipped_at,delivered_at";

async fn upload_as(app: &TestApp, key: &str, csv: &str, skip: bool) -> Reply {
    let path = if skip {
        "/api/v1/imports/orders?skip_bad_rows=true"
    } else {
        "/api/v1/imports/orders"
    };
    app.send(
        app.client
            .post(app.url(path))
            .bearer_auth(key)
            .header("content-type", "text/csv")
            .body(csv.to_owned()),
    )
    .await
}

async fn upload(app: &TestApp, csv: &str, skip: bool) -> Reply {
    upload_as(app, &app.key, csv, skip).await
}

async fn order(app: &TestApp, number: &str) -> Option<(Order, Vec<Shipment>)> {
    let mut conn = app.db.conn().await.expect("conn");
    kembali_store::orders::get_by_number(&mut conn, app.shop.id, number)
        .await
        .expect("read")
}

/// A row of the short test format (`HEADER`).
fn row(number: &str, sku: &str, qty: &str, price: &str) -> String {
    format!(
        "{number},ana@example.pl,PLN,2026-11-02T10:00:00+01:00,card,Ana Nowak,ul. Długa 1,\
         Gdańsk,80-001,PL,{sku},Koszula,{qty},{price},0,,,,,"
    )
}

async fn the_example_file_imports_to_the_minor_unit(app: &TestApp) {
    let r = upload(app, EXAMPLE, false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["created"], 3, "{}", r.body);
    assert_eq!(r.body["updated"], 0);
    assert_eq!(r.body["lines"], 5);
    assert_eq!(r.body["shipments"], 2);
    assert_eq!(r.body["bad_rows"], serde_json::json!([]));

    let (idr, ships) = order(app, "ID-1001").await.expect("ID-1001");
    assert_eq!(idr.currency.code(), "IDR");
    assert_eq!(idr.payment_method, PaymentMethod::CashOnDelivery);
    assert_eq!(idr.shipping_paid.amount, 1_500_000);
    assert_eq!(idr.lines.len(), 2);
    assert_eq!(idr.lines[0].unit_price.amount, 25_000_000);
    assert_eq!(idr.lines[0].discount.amount, 5_000_000);
    assert_eq!(idr.lines[0].quantity, 2);
    assert_eq!(idr.lines[0].tags, ["batik", "pria"]);
    assert_eq!(idr.lines[0].title, "Kemeja Batik Parang — M");
    assert_eq!(idr.lines[1].unit_price.amount, 17_500_000);
    assert_eq!(
        idr.lines[0].amount_paid(true).expect("paid").amount,
        45_000_000
    );
    // Both lines travel in one parcel, delivered.
    assert_eq!(ships.len(), 1);
    assert_eq!(ships[0].status, TrackingStatus::Delivered);
    assert_eq!(ships[0].lines.len(), 2);
    assert_eq!(
        ships[0].delivered_at.map(|t| t.to_string()),
        Some("2026-11-04T07:30:00Z".to_owned())
    );

    let (pln, ships) = order(app, "PL-2001").await.expect("PL-2001");
    assert_eq!(pln.shipping_address.city, "Łódź");
    assert_eq!(pln.shipping_address.name, "Małgorzata Wiśniewska");
    assert_eq!(pln.shipping_paid.amount, 1499);
    assert_eq!(pln.cheapest_shipping.amount, 999);
    assert_eq!(pln.lines[0].unit_price.amount, 14_999);
    assert_eq!(pln.lines[0].discount.amount, 1500);
    assert_eq!(pln.lines[0].tax.amount, 2805);
    assert_eq!(ships[0].status, TrackingStatus::InTransit);

    let (eur, ships) = order(app, "IE-3001").await.expect("IE-3001");
    assert!(!eur.taxes_included);
    assert_eq!(eur.lines[0].unit_price.amount, 1250);
    assert_eq!(eur.lines[0].tax.amount, 863);
    assert_eq!(eur.lines[0].amount_paid(false).expect("paid").amount, 4613);
    assert!(eur.lines[1].final_sale);
    assert!(ships.is_empty());
    assert!(eur.customer_id.is_some());

    // One message for the whole import, none per order.
    let mut conn = app.db.conn().await.expect("conn");
    let messages = outbox::for_subject(&mut conn, app.shop.id, &app.shop.id.to_string())
        .await
        .expect("outbox");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].kind, "orders.imported");
    assert_eq!(messages[0].payload["data"]["created"], 3);
    let per_order = outbox::for_subject(&mut conn, app.shop.id, &idr.id.to_string())
        .await
        .expect("outbox");
    assert!(per_order.is_empty());
    assert_eq!(app.counts("siti.nurhaliza@example.id").await.0, 1);
}
crate::both!(
    the_example_file_imports_to_the_minor_unit,
    super::the_example_file_imports_to_the_minor_unit
);

/// Rows 3 (a comma for the decimal point), 5 (no email, a status that does
/// not exist) and 6 (its order's email differs from row 5's).
fn bad_file() -> String {
    let mut rows = vec![HEADER.to_owned()];
    rows.push(row("A-1", "SKU-1", "1", "10.00")); // row 2
    rows.push(row("A-2", "SKU-2", "1", "\"12,50\"")); // row 3
    rows.push(row("A-3", "SKU-3", "2", "5.00")); // row 4
    rows.push(
        row("A-4", "SKU-4", "1", "7.00")
            .replace("ana@example.pl", "")
            .replace(",,,,,", ",DPD,123,lost,,"),
    ); // row 5
    rows.push(row("A-4", "SKU-5", "1", "7.00")); // row 6
    rows.push(row("A-5", "SKU-6", "1", "9.00")); // row 7
    rows.push(row("A-5", "SKU-7", "0", "9.00")); // row 8: no units
    rows.join("\n")
}

async fn a_file_with_bad_rows_imports_nothing_and_names_each(app: &TestApp) {
    let r = upload(app, &bad_file(), false).await;
    assert_problem(&r, 422, "validation");
    let errors = r.body["errors"].as_array().expect("errors");
    let said = |field: &str| {
        errors
            .iter()
            .find(|e| e["field"] == field)
            .and_then(|e| e["message"].as_str())
            .unwrap_or_else(|| panic!("no {field} in {}", r.body))
            .to_owned()
    };
    assert!(said("row 3, unit_price").contains("`12,50` is not an amount"));
    assert!(said("row 5, email").contains("empty"));
    assert!(said("row 5, shipment_status").contains("`lost` is not one of"));
    assert!(said("row 6, email").contains("differs from row 5"));
    assert!(said("row 8, quantity").contains("between 1 and 100000"));
    assert_eq!(errors.len(), 5, "{}", r.body);
    for n in ["A-1", "A-2", "A-3", "A-4", "A-5"] {
        assert!(order(app, n).await.is_none(), "{n} was imported");
    }
    assert_eq!(app.counts("ana@example.pl").await.0, 0);

    // A wrong header refuses the file whatever the options.
    let r = upload(app, "order_number,emial\nA-1,x@y.z\n", true).await;
    assert_problem(&r, 422, "validation");
    let text = r.body.to_string();
    assert!(text.contains("row 1, emial"), "{text}");
    assert!(text.contains("row 1, currency"), "{text}");
}
crate::both!(
    a_file_with_bad_rows_imports_nothing_and_names_each,
    super::a_file_with_bad_rows_imports_nothing_and_names_each
);

async fn skipping_bad_rows_imports_whole_good_orders_only(app: &TestApp) {
    let r = upload(app, &bad_file(), true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["created"], 2, "{}", r.body);
    assert_eq!(r.body["skipped"], 3);
    assert_eq!(r.body["bad_rows_total"], 5);
    assert_eq!(r.body["bad_rows"][0]["row"], 3);
    assert_eq!(r.body["bad_rows"][0]["column"], "unit_price");
    assert_eq!(r.body["bad_rows"][0]["order_number"], "A-2");
    assert_eq!(order(app, "A-1").await.expect("A-1").0.lines.len(), 1);
    assert_eq!(
        order(app, "A-3").await.expect("A-3").0.lines[0]
            .unit_price
            .amount,
        500
    );
    // A-5's row 7 is good, but its row 8 is not: the order stays out whole.
    for n in ["A-2", "A-4", "A-5"] {
        assert!(order(app, n).await.is_none(), "{n} was imported");
    }

    // An order whose rows are apart is refused whole, its first part included.
    let split = [
        HEADER.to_owned(),
        row("B-1", "SKU-1", "1", "1.00"),
        row("B-2", "SKU-2", "1", "1.00"),
        row("B-1", "SKU-3", "1", "1.00"),
    ]
    .join("\n");
    let r = upload(app, &split, true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["bad_rows"][0]["row"], 4);
    assert!(
        r.body["bad_rows"][0]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("must follow each other")),
        "{}",
        r.body
    );
    assert!(order(app, "B-1").await.is_none());
    assert!(order(app, "B-2").await.is_some());
}
crate::both!(
    skipping_bad_rows_imports_whole_good_orders_only,
    super::skipping_bad_rows_imports_whole_good_orders_only
);

/// A file of more than two batches: the reader parses one batch ahead of the
/// writer, and a bad row in a later batch still refuses the whole file (the
/// batches before it were written in the transaction and roll back), or is
/// left out alone when bad rows are skipped.
async fn a_bad_row_in_a_later_batch_refuses_the_whole_file(app: &TestApp) {
    let n = 2 * kembali_app::import::BATCH + 10;
    let bad_at = kembali_app::import::BATCH + 7;
    let mut rows = vec![HEADER.to_owned()];
    for i in 0..n {
        let price = if i == bad_at { "1.001" } else { "1.00" };
        rows.push(row(&format!("M-{i}"), "SKU-1", "1", price));
    }
    // A late order that the shop already has from the API.
    let posted = crate::fixtures::order("M-LATE", 1);
    let r = app.post("/api/v1/orders", &posted).await;
    assert_eq!(r.status, 201, "{}", r.body);
    rows.push(row("M-LATE", "SKU-1", "1", "1.00"));
    let file = rows.join("\n");

    let r = upload(app, &file, false).await;
    assert_problem(&r, 422, "validation");
    // In row order: the bad price (the reader's), then the known order (the writer's).
    let errors = r.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 2, "{}", r.body);
    assert_eq!(
        errors[0]["field"],
        format!("row {}, unit_price", bad_at + 2)
    );
    assert_eq!(errors[1]["field"], format!("row {}, order_number", n + 2));
    assert!(order(app, "M-0").await.is_none(), "an early batch stayed");

    let r = upload(app, &file, true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["created"], n - 1, "{}", r.body);
    assert_eq!(r.body["skipped"], 2);
    assert_eq!(r.body["orders"], n + 1);
    assert!(order(app, "M-0").await.is_some());
    assert!(order(app, &format!("M-{}", n - 1)).await.is_some());
    assert!(order(app, &format!("M-{bad_at}")).await.is_none());
}
crate::both!(
    a_bad_row_in_a_later_batch_refuses_the_whole_file,
    super::a_bad_row_in_a_later_batch_refuses_the_whole_file
);

async fn a_reimport_updates_rather_than_duplicates(app: &TestApp) {
    let r = upload(app, EXAMPLE, false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (before, _) = order(app, "PL-2001").await.expect("PL-2001");
    let changed = EXAMPLE.replace(",1,149.99,15.00,", ",1,139.99,15.00,");
    let r = upload(app, &changed, false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["created"], 0, "{}", r.body);
    assert_eq!(r.body["updated"], 3);
    let (after, ships) = order(app, "PL-2001").await.expect("PL-2001");
    assert_eq!(after.id, before.id);
    assert_eq!(after.lines[0].id, before.lines[0].id);
    assert_eq!(after.lines[0].unit_price.amount, 13_999);
    assert_eq!(ships.len(), 1);
    assert_eq!(app.counts("m.wisniewska@example.pl").await.0, 1);
    let (idr, ships) = order(app, "ID-1001").await.expect("ID-1001");
    assert_eq!(idr.lines.len(), 2);
    assert_eq!(ships.len(), 1);

    // An order number the shop has from elsewhere is a bad row, not an update.
    let posted = crate::fixtures::order("C-1", 1);
    let r = app.post("/api/v1/orders", &posted).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = upload(
        app,
        &[HEADER.to_owned(), row("C-1", "SKU-1", "1", "1.00")].join("\n"),
        false,
    )
    .await;
    assert_problem(&r, 422, "validation");
    assert!(r.body.to_string().contains("came from api"), "{}", r.body);
}
crate::both!(
    a_reimport_updates_rather_than_duplicates,
    super::a_reimport_updates_rather_than_duplicates
);

/// The customer's history counts imported orders in the same statement that
/// finds or creates the customer: added to a customer already there, summed
/// over the file's orders, with refused cash-on-delivery parcels.
async fn imported_orders_count_in_the_customers_history(app: &TestApp) {
    let mut posted = crate::fixtures::order("API-1", 3);
    posted["email"] = serde_json::json!("ana@example.pl");
    let r = app.post("/api/v1/orders", &posted).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let cod = "COD-1,ana@example.pl,PLN,2026-11-02T10:00:00+01:00,cash_on_delivery,Ana Nowak,\
               ul. Długa 1,Gdańsk,80-001,PL,SKU-9,Koszula,1,10.00,0,InPost,IP1,returned_to_sender,\
               2026-11-03T10:00:00+01:00,";
    let other = row("OTHER-1", "SKU-1", "1", "5.00").replace("ana@example.pl", "jan@example.pl");
    let file = [
        HEADER.to_owned(),
        row("F-1", "SKU-1", "1", "5.00"),
        row("F-2", "SKU-1", "2", "5.00"),
        cod.to_owned(),
        other,
    ]
    .join("\n");
    let r = upload(app, &file, false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["created"], 4, "{}", r.body);
    assert_eq!(customer_counts(app, "ana@example.pl").await, (4, 1));
    assert_eq!(customer_counts(app, "jan@example.pl").await, (1, 0));
    // Importing the same file again updates the orders and counts nothing twice.
    let r = upload(app, &file, false).await;
    assert_eq!(r.body["updated"], 4, "{}", r.body);
    assert_eq!(customer_counts(app, "ana@example.pl").await, (4, 1));
}

/// The customer's order and refused-parcel counts, as the API shows them.
async fn customer_counts(app: &TestApp, email: &str) -> (i64, i64) {
    let r = app.get(&format!("/api/v1/customers?email={email}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = &r.body["data"][0];
    let n = |k: &str| c[k].as_i64().unwrap_or_else(|| panic!("{k} in {c}"));
    (n("order_count"), n("refused_parcel_count"))
}
crate::both!(
    imported_orders_count_in_the_customers_history,
    super::imported_orders_count_in_the_customers_history
);

async fn another_shop_sees_nothing(app: &TestApp) {
    let r = upload(app, EXAMPLE, false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (mine, _) = order(app, "ID-1001").await.expect("ID-1001");
    let other = app.other_shop("other").await;
    let r = app
        .get_as(&other, &format!("/api/v1/orders/{}", mine.id))
        .await;
    assert_problem(&r, 404, "not-found");
    // The same file in the other shop makes its own orders and leaves ours be.
    let r = upload_as(app, &other, EXAMPLE, false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["created"], 3, "{}", r.body);
    let (still, _) = order(app, "ID-1001").await.expect("ID-1001");
    assert_eq!(still, mine);

    // Not CSV, or an unknown option: refused before anything is read.
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/imports/orders"))
                .bearer_auth(&app.key)
                .json(&serde_json::json!({})),
        )
        .await;
    assert_problem(&r, 415, "unsupported-media-type");
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/imports/orders?skip=1"))
                .bearer_auth(&app.key)
                .header("content-type", "text/csv")
                .body(EXAMPLE),
        )
        .await;
    assert_problem(&r, 422, "validation");
}
crate::both!(another_shop_sees_nothing, super::another_shop_sees_nothing);
