//! Returns through the application layer: decisions reproduce from their stored
//! policy version, every step is scoped by shop, concurrent returns of one order
//! never exceed what was delivered, stale versions lose, every step writes its
//! outbox message, and an approved return expires through the real worker when
//! the clock passes its ship-by day.

use std::sync::Arc;

use jiff::{Timestamp, ToSpan};
use kembali_app::clock::ManualClock;
use kembali_app::error::Entity;
use kembali_app::returns::{ItemRequest, ReturnRequest};
use kembali_app::{App, AppError};
use kembali_core::Clock;
use kembali_core::order::{
    Address, Order, OrderLine, PaymentMethod, Shipment, ShipmentLine, TrackingStatus,
};
use kembali_core::payout::{Bank, DestinationRequest};
use kembali_core::policy::{Conditions, Effects, PolicyDocument, Rule, evaluate};
use kembali_core::returns::{Actor, Command, Resolution, ReturnMethod, ReturnReason, ReturnStatus};
use kembali_core::shop::{Country, Locale, Shop};
use kembali_core::{Currency, LineId, Money, OrderId, ShipmentId, ShopId};
use kembali_store::testing::TestDb;
use kembali_store::{Db, orders, policies, returns, shops};

fn id() -> u128 {
    kembali_store::entropy()
}

pub(crate) async fn shop(db: &Db, slug: &str, policy: &PolicyDocument) -> Shop {
    let now = Timestamp::now();
    let shop = Shop {
        id: ShopId::new(now, id()),
        slug: slug.into(),
        name: slug.into(),
        currency: Currency::IDR,
        time_zone: "Asia/Jakarta".into(),
        default_locale: Locale::Id,
        country: Country::try_from("ID".to_owned()).expect("country"),
        return_prefix: "R-".into(),
    };
    let mut tx = db.begin().await.expect("tx");
    shops::create(&mut tx, &shop, policy, now)
        .await
        .expect("shop");
    tx.commit().await.expect("commit");
    shop
}

/// An order of `quantity` units of one line, delivered three days ago.
pub(crate) async fn order(db: &Db, shop: &Shop, number: &str, quantity: u32) -> (OrderId, LineId) {
    let now = Timestamp::now();
    let idr = |v| Money::new(v, Currency::IDR);
    let line = LineId::new(now, id());
    let order = Order {
        id: OrderId::new(now, id()),
        shop_id: shop.id,
        number: number.into(),
        customer_id: None,
        email: "budi@example.id".into(),
        locale: Locale::Id,
        currency: Currency::IDR,
        placed_at: now - 120.hours(),
        payment_method: PaymentMethod::CashOnDelivery,
        taxes_included: true,
        shipping_address: Address {
            name: "Budi".into(),
            line1: "Jl. Sudirman 1".into(),
            line2: None,
            city: "Jakarta".into(),
            postal_code: "10220".into(),
            country: Country::try_from("ID".to_owned()).expect("country"),
            phone: None,
        },
        shipping_paid: idr(1_500_000),
        cheapest_shipping: idr(1_500_000),
        lines: vec![OrderLine {
            id: line,
            product_id: None,
            variant_id: None,
            sku: "BATIK-L".into(),
            title: "Kemeja batik".into(),
            category: Some("shirts".into()),
            tags: vec![],
            final_sale: false,
            quantity,
            unit_price: idr(25_000_000),
            discount: idr(0),
            tax: idr(0),
        }],
    };
    let shipment = Shipment {
        id: ShipmentId::new(now, id()),
        order_id: order.id,
        carrier: "JNE".into(),
        tracking_number: Some("JNE123".into()),
        tracking_url: None,
        status: TrackingStatus::Delivered,
        shipped_at: Some(now - 96.hours()),
        delivered_at: Some(now - 72.hours()),
        promised_by: None,
        lines: vec![ShipmentLine {
            line_id: line,
            quantity,
        }],
    };
    order
        .validate(std::slice::from_ref(&shipment))
        .expect("valid order");
    let mut tx = db.begin().await.expect("tx");
    let origin = orders::Origin {
        source: "test".into(),
        external_id: number.into(),
        updated_at: None,
    };
    orders::insert(&mut tx, &order, &[shipment], &origin, now)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    (order.id, line)
}

fn item(line: LineId, quantity: u32) -> ItemRequest {
    ItemRequest {
        line_id: line,
        quantity,
        reason: ReturnReason::WrongSize,
        comment: None,
        photos: vec![],
        resolution: Resolution::Refund,
        exchange_variant_id: None,
        claim: None,
        condition: None,
    }
}

fn system(db: &Db) -> App {
    App::new(db.clone())
}

async fn open(
    db: &Db,
    shop: &Shop,
    order: OrderId,
    line: LineId,
    qty: u32,
) -> Result<kembali_core::returns::Return, AppError> {
    open_with(&system(db), shop, order, line, qty).await
}

pub(crate) async fn open_with(
    app: &App,
    shop: &Shop,
    order: OrderId,
    line: LineId,
    qty: u32,
) -> Result<kembali_core::returns::Return, AppError> {
    let mut tx = app.db.begin().await?;
    let req = ReturnRequest {
        order_id: order,
        method: ReturnMethod::DropOff,
        items: vec![item(line, qty)],
        // A cash-on-delivery order: the refund needs an account to go to.
        refund_destination: Some(DestinationRequest::BankAccount {
            holder: "Budi Santoso".into(),
            iban: None,
            bank: Some(Bank::Bca),
            account_number: Some("1234567890".into()),
        }),
        dropoff_point: None,
    };
    let view = kembali_app::returns::open(app, &mut tx, shop, &req, Actor::Shopper).await?;
    tx.commit().await?;
    Ok(view.ret)
}

pub(crate) async fn act(
    app: &App,
    shop: &Shop,
    id: kembali_core::ReturnId,
    expected: Option<i64>,
    cmd: Command,
    actor: &Actor,
) -> Result<kembali_core::returns::Return, AppError> {
    let mut tx = app.db.begin().await?;
    let view =
        kembali_app::returns::transition(app, &mut tx, shop.id, id, expected, &cmd, actor).await?;
    tx.commit().await?;
    Ok(view.ret)
}

async fn decisions_reproduce_under_their_policy_version(t: &TestDb) {
    let shop = shop(&t.db, "repro", &PolicyDocument::default()).await;
    let (order_id, line) = order(&t.db, &shop, "#1", 2).await;
    let ret = open(&t.db, &shop, order_id, line, 1).await.expect("open");
    assert_eq!(ret.policy_version, 1);

    // A stricter policy afterwards must not change how the stored decision reads.
    let stricter = PolicyDocument {
        rules: vec![Rule {
            id: "no-returns".into(),
            description: None,
            when: Conditions::default(),
            then: Effects {
                deny: Some("closed".into()),
                ..Effects::default()
            },
        }],
        ..PolicyDocument::default()
    };
    let mut tx = t.db.begin().await.expect("tx");
    assert_eq!(
        policies::save(&mut tx, shop.id, &stricter, Timestamp::now())
            .await
            .expect("save"),
        2
    );
    tx.commit().await.expect("commit");

    let mut conn = t.db.conn().await.expect("conn");
    let stored = returns::get(&mut conn, shop.id, ret.id)
        .await
        .expect("get")
        .expect("found");
    let facts = returns::item_facts(&mut conn, shop.id, ret.id)
        .await
        .expect("facts");
    let policy = policies::version(&mut conn, shop.id, stored.policy_version)
        .await
        .expect("v")
        .expect("v1");
    let again = evaluate(&policy, stored.policy_version, &facts[0]).expect("evaluate");
    assert_eq!(again, stored.items[0].decision);
    assert!(again.eligible);

    // New requests are decided under the new version.
    let refused = open(&t.db, &shop, order_id, line, 1).await;
    assert!(matches!(refused, Err(AppError::Refused(_))), "{refused:?}");
}
crate::both!(
    decisions_reproduce,
    super::decisions_reproduce_under_their_policy_version
);

/// A look-up's read outside a transaction (on SQLite, rusqlite on the calling
/// thread) finds what the transaction's read (sqlx) finds, and sees a return
/// the moment its commit is acknowledged.
async fn a_lookup_reads_what_a_transaction_reads(t: &TestDb) {
    use kembali_app::eligibility::Context;
    let app = system(&t.db);
    let other = shop(&t.db, "lookup-other", &PolicyDocument::default()).await;
    let shop = shop(&t.db, "lookup", &PolicyDocument::default()).await;
    let (order_id, line) = order(&t.db, &shop, "#1", 3).await;
    let compare = |a: &Context, b: &Context| {
        assert_eq!(a.order, b.order);
        assert_eq!(a.shipments, b.shipments);
        assert_eq!(a.held, b.held);
        assert_eq!(a.history, b.history);
        assert_eq!(a.cancelled_at, b.cancelled_at);
        assert_eq!(a.policy_version, b.policy_version);
    };
    for held in [0, 1, 3] {
        let read = Context::read(&app, shop.id, order_id).await.expect("read");
        let mut conn = t.db.conn().await.expect("conn");
        let loaded = Context::load(&app, &mut conn, shop.id, order_id)
            .await
            .expect("load");
        drop(conn);
        compare(&read, &loaded);
        assert_eq!(read.held.get(&line).copied().unwrap_or(0), held);
        assert_eq!(read.order.lines[0].title, "Kemeja batik");
        assert_eq!(read.shipments.len(), 1);
        // The next return, acknowledged, is in the very next look-up.
        if held < 3 {
            open(&t.db, &shop, order_id, line, if held == 0 { 1 } else { 2 })
                .await
                .expect("open");
        }
    }
    let view = kembali_app::orders::get(&app, &shop, order_id)
        .await
        .expect("view");
    assert_eq!(view.order.id, order_id);
    assert_eq!(view.shipments.len(), 1);
    // Another shop's look-up finds nothing, and an unknown id is a 404.
    let missing = kembali_app::orders::get(&app, &other, order_id).await;
    assert!(
        matches!(missing, Err(AppError::NotFound(Entity::Order))),
        "{missing:?}"
    );
    let unknown = Context::read(&app, shop.id, OrderId::new(Timestamp::now(), id())).await;
    assert!(
        matches!(unknown, Err(AppError::NotFound(Entity::Order))),
        "{:?}",
        unknown.err()
    );
}
crate::both!(lookup_reads, super::a_lookup_reads_what_a_transaction_reads);

/// A task that loops over look-ups lets the others run: on SQLite a look-up
/// reads on the calling thread and never waits, so without a yield the loop
/// would keep a one-thread runtime to itself.
#[tokio::test(flavor = "current_thread")]
async fn looping_lookups_leave_room_for_other_tasks() {
    let t = TestDb::sqlite().await;
    let app = system(&t.db);
    let shop = shop(&t.db, "fair", &PolicyDocument::default()).await;
    let (order_id, _) = order(&t.db, &shop, "#1", 1).await;
    let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = ran.clone();
    tokio::spawn(async move { flag.store(true, std::sync::atomic::Ordering::SeqCst) });
    let mut reads = 0;
    while reads < 2_000 && !ran.load(std::sync::atomic::Ordering::SeqCst) {
        kembali_app::orders::get(&app, &shop, order_id)
            .await
            .expect("view");
        reads += 1;
    }
    assert!(
        ran.load(std::sync::atomic::Ordering::SeqCst),
        "the other task never ran during {reads} look-ups"
    );
    t.cleanup().await;
}

async fn every_query_is_scoped_by_shop(t: &TestDb) {
    let a = shop(&t.db, "shop-a", &PolicyDocument::default()).await;
    let b = shop(&t.db, "shop-b", &PolicyDocument::default()).await;
    let (order_a, line_a) = order(&t.db, &a, "#1", 1).await;
    // The same order number is fine in another shop.
    let (order_b, _) = order(&t.db, &b, "#1", 1).await;
    let ret = open(&t.db, &a, order_a, line_a, 1).await.expect("open");

    let mut conn = t.db.conn().await.expect("conn");
    assert!(
        orders::get(&mut conn, b.id, order_a)
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        orders::get(&mut conn, a.id, order_b)
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        returns::get(&mut conn, b.id, ret.id)
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        returns::events(&mut conn, b.id, ret.id)
            .await
            .expect("events")
            .is_empty()
    );
    drop(conn);
    // Shop B cannot open a return on shop A's order, nor move shop A's return.
    assert!(matches!(
        open(&t.db, &b, order_a, line_a, 1).await,
        Err(AppError::NotFound(Entity::Order))
    ));
    let moved = act(
        &system(&t.db),
        &b,
        ret.id,
        None,
        Command::Approve { note: None },
        &Actor::System,
    )
    .await;
    assert!(matches!(moved, Err(AppError::NotFound(Entity::Return))));
}
crate::both!(scoped_by_shop, super::every_query_is_scoped_by_shop);

async fn concurrent_returns_never_exceed_delivered(t: &TestDb) {
    let shop = shop(&t.db, "race", &PolicyDocument::default()).await;
    let (order_id, line) = order(&t.db, &shop, "#7", 3).await;
    // Two instances over one database, eight shoppers at once, one unit each.
    let other = t.second_pool().await;
    let mut tasks = Vec::new();
    for n in 0..8 {
        let db = if n % 2 == 0 {
            t.db.clone()
        } else {
            other.clone()
        };
        let shop = shop.clone();
        tasks.push(tokio::spawn(async move {
            open(&db, &shop, order_id, line, 1).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("join") {
            Ok(_) => ok += 1,
            Err(AppError::Refused(_)) => {}
            Err(e) => panic!("unexpected failure: {e:?}"),
        }
    }
    assert_eq!(ok, 3, "exactly the three delivered units can come back");
    let mut conn = t.db.conn().await.expect("conn");
    let held = returns::held_quantities(&mut conn, shop.id, order_id)
        .await
        .expect("held");
    assert_eq!(held.get(&line).copied(), Some(3));
    other.close().await;
}
crate::both!(
    concurrent_returns,
    super::concurrent_returns_never_exceed_delivered
);

async fn stale_versions_lose(t: &TestDb) {
    let shop = shop(&t.db, "versions", &PolicyDocument::default()).await;
    let (order_id, line) = order(&t.db, &shop, "#9", 1).await;
    let ret = open(&t.db, &shop, order_id, line, 1).await.expect("open");
    let approve = Command::Approve { note: None };
    let user = Actor::User {
        id: "agent-1".into(),
    };
    let app = system(&t.db);
    let after = act(&app, &shop, ret.id, Some(1), approve, &user)
        .await
        .expect("approve");
    assert_eq!((after.status, after.version), (ReturnStatus::Approved, 2));

    let cancel = Command::Cancel { reason: None };
    let stale = act(&app, &shop, ret.id, Some(1), cancel, &user).await;
    assert!(matches!(
        stale,
        Err(AppError::VersionConflict {
            expected: 1,
            current: 2
        })
    ));
    let mut conn = t.db.conn().await.expect("conn");
    let events = returns::events(&mut conn, shop.id, ret.id)
        .await
        .expect("events");
    assert_eq!(
        events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [ReturnStatus::Requested, ReturnStatus::Approved]
    );
    assert_eq!(events[1].actor, user);
}
crate::both!(stale_versions, super::stale_versions_lose);

/// Waits until the worker has run every job that is due on the test's clock.
async fn drained(db: &Db, clock: &ManualClock) {
    kembali_store::testing::drain(db, || clock.now()).await;
}

async fn unshipped_approved_returns_expire_when_the_clock_passes_ship_by(t: &TestDb) {
    let shop = shop(&t.db, "expiry", &PolicyDocument::default()).await;
    let (order_id, line) = order(&t.db, &shop, "#11", 2).await;
    let clock = Arc::new(ManualClock::new(Timestamp::now()));
    let app = crate::app(t, &clock);
    // The real worker, on the test's clock.
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let mut opts = kembali_store::jobs::WorkerOptions::new(4);
    opts.poll = std::time::Duration::from_millis(10);
    let worker = tokio::spawn(kembali_app::jobs::run_worker_with(app.clone(), opts, stop));

    let first = open_with(&app, &shop, order_id, line, 1)
        .await
        .expect("open");
    let second = open_with(&app, &shop, order_id, line, 1)
        .await
        .expect("open");
    let agent = Actor::User { id: "agent".into() };
    for id in [first.id, second.id] {
        act(
            &app,
            &shop,
            id,
            None,
            Command::Approve { note: None },
            &agent,
        )
        .await
        .expect("approve");
    }
    // The second one ships in time.
    let ship = Command::MarkInTransit {
        carrier: Some("JNE".into()),
        tracking_number: None,
    };
    act(&app, &shop, second.id, None, ship, &Actor::Shopper)
        .await
        .expect("ship");
    drained(&t.db, &clock).await;

    // Every step left its message in the outbox, in order, each dispatched.
    let mut conn = t.db.conn().await.expect("conn");
    let messages = kembali_store::outbox::for_subject(&mut conn, shop.id, &second.id.to_string())
        .await
        .expect("outbox");
    assert_eq!(
        messages.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>(),
        ["return.requested", "return.approved", "return.in_transit"]
    );
    assert!(messages.iter().all(|m| m.dispatched_at.is_some()));
    assert_eq!(
        messages[1].payload["data"]["return"]["id"],
        second.id.to_string()
    );
    drop(conn);

    // Thirteen days on: the default 14 ship-by days have not passed.
    clock.advance(jiff::SignedDuration::from_hours(13 * 24));
    drained(&t.db, &clock).await;
    let mut conn = t.db.conn().await.expect("conn");
    let status = |r: Option<kembali_core::returns::Return>| r.expect("ret").status;
    assert_eq!(
        status(
            returns::get(&mut conn, shop.id, first.id)
                .await
                .expect("get")
        ),
        ReturnStatus::Approved
    );
    drop(conn);

    // Fifteen days on: the unshipped one expires, by the system, through the worker.
    clock.advance(jiff::SignedDuration::from_hours(2 * 24));
    drained(&t.db, &clock).await;
    let mut conn = t.db.conn().await.expect("conn");
    assert_eq!(
        status(
            returns::get(&mut conn, shop.id, first.id)
                .await
                .expect("get")
        ),
        ReturnStatus::Expired
    );
    let events = returns::events(&mut conn, shop.id, first.id)
        .await
        .expect("events");
    assert_eq!(
        events.last().map(|e| (&e.kind, &e.actor)),
        Some((&ReturnStatus::Expired, &Actor::System))
    );
    assert_eq!(
        status(
            returns::get(&mut conn, shop.id, second.id)
                .await
                .expect("get")
        ),
        ReturnStatus::InTransit,
        "a shipped return does not expire"
    );
    // The expired return gave its unit back, and said so in the outbox.
    let held = returns::held_quantities(&mut conn, shop.id, order_id)
        .await
        .expect("held");
    assert_eq!(held.get(&line).copied(), Some(1));
    let messages = kembali_store::outbox::for_subject(&mut conn, shop.id, &first.id.to_string())
        .await
        .expect("outbox");
    assert_eq!(
        messages.last().map(|m| m.kind.as_str()),
        Some("return.expired")
    );
    drop(conn);
    let _ = stop_tx.send(true);
    worker.await.expect("worker");
}
crate::both!(
    expiry_through_the_worker,
    super::unshipped_approved_returns_expire_when_the_clock_passes_ship_by
);

async fn an_auto_approved_return_tells_its_steps_in_order(t: &TestDb) {
    let policy = PolicyDocument {
        defaults: kembali_core::policy::Defaults {
            auto_approve: true,
            ..Default::default()
        },
        ..PolicyDocument::default()
    };
    let shop = shop(&t.db, "in-order", &policy).await;
    let (order_id, line) = order(&t.db, &shop, "#21", 12).await;
    // Both events of each return share one instant; each of the twelve must
    // still list (and so be dispatched) requested before approved.
    let mut opened = Vec::new();
    for _ in 0..12 {
        let ret = open(&t.db, &shop, order_id, line, 1).await.expect("open");
        assert_eq!(ret.status, ReturnStatus::Approved);
        opened.push(ret.id);
    }
    let mut conn = t.db.conn().await.expect("conn");
    for id in opened {
        let messages = kembali_store::outbox::for_subject(&mut conn, shop.id, &id.to_string())
            .await
            .expect("outbox");
        assert_eq!(
            messages.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>(),
            ["return.requested", "return.approved"],
            "{id}"
        );
        let events = returns::events(&mut conn, shop.id, id)
            .await
            .expect("events");
        assert_eq!(
            events.iter().map(|e| e.kind).collect::<Vec<_>>(),
            [ReturnStatus::Requested, ReturnStatus::Approved]
        );
    }
}
crate::both!(
    auto_approved_in_order,
    super::an_auto_approved_return_tells_its_steps_in_order
);
