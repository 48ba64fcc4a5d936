//! The demo seeded once on SQLite, checked for a realistic shop: the orders,
//! the returns, the times, and that a second seed adds nothing.

use super::*;

async fn strings(db: &Db, sql: &'static str) -> Vec<String> {
    let mut conn = db.conn().await.expect("conn");
    kembali_store::run!(&mut conn, |c| sqlx::query_scalar(sql)
        .fetch_all(&mut *c)
        .await)
    .expect(sql)
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    let mut conn = db.conn().await.expect("conn");
    kembali_store::run!(&mut conn, |c| sqlx::query_scalar(sql)
        .fetch_one(&mut *c)
        .await)
    .expect(sql)
}

/// `sql` with `$1` bound to `at`, in milliseconds.
async fn count_at(db: &Db, sql: &'static str, at: i64) -> i64 {
    let mut conn = db.conn().await.expect("conn");
    kembali_store::run!(&mut conn, |c| sqlx::query_scalar(sql)
        .bind(at)
        .fetch_one(&mut *c)
        .await)
    .expect(sql)
}

#[tokio::test]
async fn seeds_a_realistic_shop_once() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    let db = Db::connect(&kembali_store::ConnectOptions::new(url))
        .await
        .expect("db");
    kembali_store::migrate::migrate(&db).await.expect("migrate");
    let now = Timestamp::now();
    let started = std::time::Instant::now();
    let summary = seed(&db, now).await.expect("seed").expect("first seed");
    eprintln!("demo seeded in {:?}", started.elapsed());
    assert_eq!(summary.orders, 360);
    assert!(summary.api_key.starts_with("kb_"));
    assert!(summary.sample_order.is_some());
    assert_eq!(summary.returns_by_status.len(), ReturnStatus::ALL.len());
    // Every story found an order to be told with.
    for (status, n) in &summary.returns_by_status {
        let told = stories::STORIES.iter().filter(|s| s.0 == *status).count();
        assert_eq!(*n, told, "returns {}", status.as_str());
    }

    orders_look_real(&db, summary.orders).await;
    returns_look_real(&db).await;
    nothing_in_the_future(&db, now).await;
    shipping_works(&db, &summary.shop).await;

    let returns = count(&db, "SELECT COUNT(*) FROM returns").await;
    assert!(seed(&db, Timestamp::now()).await.expect("again").is_none());
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM orders").await,
        summary.orders as i64,
        "a second seed adds nothing"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM returns").await, returns);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM shops").await, 1);
}

async fn orders_look_real(db: &Db, orders: usize) {
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM orders").await,
        orders as i64
    );
    // Taken in like posted orders: one `order.created` message each.
    let created = "SELECT COUNT(*) FROM outbox WHERE kind = 'order.created'";
    assert_eq!(count(db, created).await, orders as i64);
    assert_eq!(
        strings(db, "SELECT DISTINCT currency FROM orders ORDER BY currency").await,
        ["EUR", "IDR", "PLN"]
    );
    assert_eq!(
        strings(db, "SELECT DISTINCT locale FROM customers ORDER BY locale").await,
        ["en", "id", "pl"]
    );
    let payments = strings(db, "SELECT DISTINCT payment_method FROM orders").await;
    for p in ["cash_on_delivery", "card", "e_wallet", "bank_transfer"] {
        assert!(
            payments.iter().any(|m| m == p),
            "no {p} order: {payments:?}"
        );
    }
    let parcels = strings(db, "SELECT DISTINCT status FROM shipments").await;
    for s in ["delivered", "in_transit", "returned_to_sender"] {
        assert!(
            parcels.iter().any(|p| p == s),
            "no {s} shipment: {parcels:?}"
        );
    }
    // Repeat customers, order numbers in time order.
    assert!(count(db, "SELECT COUNT(*) FROM customers").await < 200);
    let numbers = strings(db, "SELECT number FROM orders ORDER BY placed_at, number").await;
    let mut sorted = numbers.clone();
    sorted.sort();
    assert_eq!(numbers, sorted);
}

/// Every state, and the stories that matter.
async fn returns_look_real(db: &Db) {
    let stored = strings(db, "SELECT DISTINCT status FROM returns").await;
    for s in ReturnStatus::ALL {
        assert!(
            stored.iter().any(|x| x == s.as_str()),
            "no {} return",
            s.as_str()
        );
    }
    let kept = "SELECT COUNT(*) FROM returns r JOIN return_items i ON i.return_id = r.id
                 WHERE r.status = 'resolved' AND i.resolution = 'keep_item'";
    assert!(
        count(db, kept).await >= 2,
        "keep-the-item returns resolved from approved"
    );
    let cod = "SELECT COUNT(*) FROM returns r JOIN orders o ON o.id = r.order_id
                WHERE o.payment_method = 'cash_on_delivery'";
    assert!(count(db, cod).await >= 5, "cash-on-delivery returns");
    assert!(
        count(db, "SELECT COUNT(*) FROM returns WHERE risk <> '[]'").await >= 2,
        "returns flagged for review"
    );
    let reasons = strings(db, "SELECT DISTINCT reason FROM return_items").await;
    assert!(reasons.len() >= 6, "{reasons:?}");
    let resolutions = strings(db, "SELECT DISTINCT resolution FROM return_items").await;
    assert!(
        resolutions.len() >= 4 && resolutions.iter().any(|r| r == "keep_item"),
        "{resolutions:?}"
    );
}

/// Nothing happens in the future, timelines run forward, and approved returns
/// are still inside their ship-by days (none due to expire yet).
async fn nothing_in_the_future(db: &Db, now: Timestamp) {
    let now_ms = now.as_millisecond();
    let late = "SELECT (SELECT COUNT(*) FROM return_events WHERE at > $1)
                     + (SELECT COUNT(*) FROM shipments WHERE delivered_at > $1 OR shipped_at > $1)
                     + (SELECT COUNT(*) FROM orders WHERE placed_at > $1)";
    assert_eq!(count_at(db, late, now_ms).await, 0);
    let backwards = "SELECT COUNT(*) FROM return_events a JOIN return_events b
                      ON b.return_id = a.return_id AND b.seq = a.seq + 1 WHERE b.at < a.at";
    assert_eq!(count(db, backwards).await, 0);
    let due = "SELECT COUNT(*) FROM returns r
                WHERE r.status = 'approved' AND r.method <> 'no_shipping'
                  AND r.updated_at < $1";
    assert_eq!(count_at(db, due, now_ms - 10 * 24 * 3_600_000).await, 0);
}

/// The four cities' drop-off points are there and found by postal code, and an
/// approved return prints its label to the demo's return address.
async fn shipping_works(db: &Db, shop: &Shop) {
    let cities = strings(db, "SELECT DISTINCT city FROM dropoff_points ORDER BY city").await;
    for city in ["Kraków", "Surabaya", "Warszawa"] {
        assert!(cities.iter().any(|c| c == city), "{city} in {cities:?}");
    }
    assert!(
        cities.iter().any(|c| c.starts_with("Jakarta")),
        "{cities:?}"
    );
    let app = App::new(db.clone());
    let near = kembali_app::dropoff::Near::parse("60282").expect("near");
    let found = kembali_app::dropoff::nearest(&app, shop, &near, None, 3)
        .await
        .expect("nearest");
    assert_eq!(found.points.len(), 3);
    assert!(
        found
            .points
            .iter()
            .all(|p| p.city.as_deref() == Some("Surabaya")),
        "{:?}",
        found.points
    );
    let approved = strings(
        db,
        "SELECT id FROM returns WHERE status = 'approved' AND method <> 'no_shipping' ORDER BY id LIMIT 1",
    )
    .await;
    let id = approved
        .first()
        .expect("an approved return")
        .parse()
        .expect("id");
    let label =
        kembali_app::labels::print(&app, shop, id, kembali_app::labels::Form::LabelPdf, None)
            .await
            .expect("label");
    assert!(label.bytes.starts_with(b"%PDF-"));
}
