//! The outbox relay: pending messages dispatched in one batch, and a message
//! it cannot dispatch handed to a job of its own.

use std::sync::Arc;

use jiff::Timestamp;
use kembali_app::clock::ManualClock;
use kembali_app::jobs::dispatch::{BATCH, relay};
use kembali_app::webhooks::{self, NewEndpoint};
use kembali_core::IdSource;
use kembali_core::policy::PolicyDocument;
use kembali_core::shop::{Country, Locale, Shop};
use kembali_core::{Currency, MessageId, ShopId, WebhookEndpointId};
use kembali_store::outbox::{self, Message};
use kembali_store::testing::TestDb;
use kembali_store::webhooks as store_webhooks;
use kembali_store::{OsEntropy, shops};

async fn shop(t: &TestDb) -> Shop {
    named(t, "relay").await
}

async fn named(t: &TestDb, slug: &str) -> Shop {
    let now = Timestamp::now();
    let shop = Shop {
        id: ShopId::new(now, OsEntropy.entropy()),
        slug: slug.into(),
        name: slug.into(),
        currency: Currency::IDR,
        time_zone: "Asia/Jakarta".into(),
        default_locale: Locale::Id,
        country: Country::try_from("ID".to_owned()).expect("country"),
        return_prefix: "R-".into(),
    };
    let mut tx = t.db.begin().await.expect("tx");
    shops::create(&mut tx, &shop, &PolicyDocument::default(), now)
        .await
        .expect("shop");
    tx.commit().await.expect("commit");
    shop
}

fn message(shop: ShopId, n: u16, kind: &str, subject: &str, at: Timestamp) -> Message {
    let id = MessageId::new(at, (u128::from(n) << 64) | u128::from(n));
    Message {
        id,
        shop_id: shop,
        kind: kind.into(),
        subject: subject.into(),
        payload: serde_json::json!({ "id": id, "type": kind }),
        occurred_at: at,
        dispatched_at: None,
    }
}

async fn relays_in_batches_and_hands_off_what_it_cannot_dispatch(t: &TestDb) {
    let shop = shop(t).await;
    let clock = Arc::new(ManualClock::new(Timestamp::now()));
    let app = crate::app(t, &clock);
    let now = app.now();
    // More than a batch, and one approval whose payload holds no return (its
    // expiry cannot be scheduled).
    let total = BATCH as u16 + 6;
    let mut tx = t.db.begin().await.expect("tx");
    for n in 0..total {
        let m = message(shop.id, n, "return.requested", "ret_whatever", now);
        outbox::append(&mut tx, &m).await.expect("append");
    }
    let bad = message(shop.id, total, "return.approved", "not a return id", now);
    outbox::append(&mut tx, &bad).await.expect("append");
    tx.commit().await.expect("commit");

    // The first batch is full and all-or-nothing; the second holds the bad
    // message, fails (on SQLite's writer, then in a transaction), goes one by
    // one, and hands the bad one off.
    assert_eq!(relay(&app, BATCH).await.expect("relay"), BATCH as usize);
    assert_eq!(relay(&app, BATCH).await.expect("relay"), 7);
    assert_eq!(relay(&app, BATCH).await.expect("relay"), 0);

    let mut conn = t.db.conn().await.expect("conn");
    let all = outbox::for_subject(&mut conn, shop.id, "ret_whatever")
        .await
        .expect("outbox");
    assert_eq!(all.len(), usize::from(total));
    assert!(all.iter().all(|m| m.dispatched_at.is_some()));
    let bad_now = outbox::get(&mut conn, shop.id, bad.id)
        .await
        .expect("get")
        .expect("bad");
    assert_eq!(bad_now.dispatched_at, None);
    assert!(!outbox::any_pending(&mut conn).await.expect("pending"));
    drop(conn);

    // A job of its own has it: retried with back-off, `dead` in the end.
    let queued = kembali_store::jobs::list(&t.db, kembali_store::jobs::JobState::Queued, 100)
        .await
        .expect("jobs");
    let own: Vec<_> = queued
        .iter()
        .filter(|j| j.kind == "outbox.dispatch")
        .collect();
    assert_eq!(own.len(), 1, "{queued:?}");
    assert_eq!(own[0].payload["message_id"], bad.id.to_string());
}
/// A batch across shops: each message reaches each of its own shop's
/// endpoints that subscribe to it (the endpoints are read once per shop, the
/// messages marked once per shop), and nothing of another shop's.
async fn a_batch_across_shops_fans_out_to_each_shops_own_endpoints(t: &TestDb) {
    let (a, b) = (named(t, "relay-a").await, named(t, "relay-b").await);
    let clock = Arc::new(ManualClock::new(Timestamp::now()));
    let app = crate::app(t, &clock);
    let now = app.now();
    let mut tx = t.db.begin().await.expect("tx");
    let mut endpoint = async |shop: ShopId, url: &str, events: &[&str]| {
        let new = NewEndpoint {
            url: url.into(),
            events: Some(events.iter().map(|e| (*e).to_owned()).collect()),
            enabled: None,
        };
        webhooks::create(&app, &mut tx, shop, new)
            .await
            .expect("endpoint")
    };
    let a_all = endpoint(a.id, "https://a.example/all", &["*"]).await;
    let a_approved = endpoint(a.id, "https://a.example/approved", &["return.approved"]).await;
    let b_requested = endpoint(b.id, "https://b.example/requested", &["return.requested"]).await;
    // Interleaved, as the relay takes them (oldest first, across shops).
    for n in 0..6u16 {
        let shop = if n % 2 == 0 { a.id } else { b.id };
        let kind = if n % 3 == 0 {
            "return.received"
        } else {
            "return.requested"
        };
        let m = message(shop, n, kind, "ret_whatever", now);
        outbox::append(&mut tx, &m).await.expect("append");
    }
    tx.commit().await.expect("commit");

    assert_eq!(relay(&app, BATCH).await.expect("relay"), 6);
    assert_eq!(relay(&app, BATCH).await.expect("relay"), 0);

    let mut conn = t.db.conn().await.expect("conn");
    for shop in [a.id, b.id] {
        let all = outbox::for_subject(&mut conn, shop, "ret_whatever")
            .await
            .expect("outbox");
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|m| m.dispatched_at.is_some()), "{all:?}");
    }
    let delivered = async |conn: &mut kembali_store::Conn, shop: ShopId, e: WebhookEndpointId| {
        let mut kinds: Vec<(String, String)> =
            store_webhooks::list_deliveries(conn, shop, e, None, 100)
                .await
                .expect("deliveries")
                .into_iter()
                .map(|d| (d.message_id.to_string(), d.kind))
                .collect();
        kinds.sort();
        kinds
    };
    // Shop a's messages are 0 (received), 2 and 4 (requested); b's are 1 and 5
    // (requested) and 3 (received).
    let id = |n: u16| message(a.id, n, "", "", now).id.to_string();
    let requested = "return.requested".to_owned();
    let received = "return.received".to_owned();
    assert_eq!(
        delivered(&mut conn, a.id, a_all.id).await,
        vec![
            (id(0), received.clone()),
            (id(2), requested.clone()),
            (id(4), requested.clone())
        ]
    );
    assert_eq!(delivered(&mut conn, a.id, a_approved.id).await, vec![]);
    assert_eq!(
        delivered(&mut conn, b.id, b_requested.id).await,
        vec![(id(1), requested.clone()), (id(5), requested)]
    );
}

/// On SQLite the relay's batch is one job on the writer's thread: an opened
/// and approved return's messages reach the shop's endpoint, its expiry is
/// queued for the end of its ship-by days, and the messages are marked. On
/// PostgreSQL there is no such job.
async fn the_writers_job_dispatches_an_approval(t: &TestDb) {
    use kembali_core::returns::{Actor, Command};
    let shop = crate::returns::shop(&t.db, "relay-job", &Default::default()).await;
    let (order, line) = crate::returns::order(&t.db, &shop, "#7", 1).await;
    let clock = Arc::new(ManualClock::new(Timestamp::now()));
    let app = crate::app(t, &clock);
    let mut tx = t.db.begin().await.expect("tx");
    let new = NewEndpoint {
        url: "https://shop.example/hooks".into(),
        events: None,
        enabled: None,
    };
    let endpoint = webhooks::create(&app, &mut tx, shop.id, new)
        .await
        .expect("endpoint");
    tx.commit().await.expect("commit");
    let ret = crate::returns::open_with(&app, &shop, order, line, 1)
        .await
        .expect("open");
    let approve = Command::Approve { note: None };
    let agent = Actor::User { id: "agent".into() };
    crate::returns::act(&app, &shop, ret.id, None, approve, &agent)
        .await
        .expect("approve");

    let Some(ran) = kembali_app::jobs::dispatch::relay_on_writer(&app, BATCH).await else {
        assert_eq!(t.db.backend(), kembali_store::Backend::Postgres);
        return;
    };
    assert_eq!(ran.expect("the job"), 2);
    let mut conn = t.db.conn().await.expect("conn");
    let messages = outbox::for_subject(&mut conn, shop.id, &ret.id.to_string())
        .await
        .expect("outbox");
    assert_eq!(
        messages.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>(),
        ["return.requested", "return.approved"]
    );
    assert!(
        messages.iter().all(|m| m.dispatched_at.is_some()),
        "{messages:?}"
    );
    let deliveries = store_webhooks::list_deliveries(&mut conn, shop.id, endpoint.id, None, 10)
        .await
        .expect("deliveries");
    let mut delivered: Vec<_> = deliveries.iter().map(|d| d.message_id).collect();
    delivered.sort();
    assert_eq!(delivered, messages.iter().map(|m| m.id).collect::<Vec<_>>());
    drop(conn);
    let queued = kembali_store::jobs::list(&t.db, kembali_store::jobs::JobState::Queued, 100)
        .await
        .expect("jobs");
    let sends = queued
        .iter()
        .filter(|j| j.kind == "webhook.deliver")
        .count();
    assert_eq!(sends, 2, "{queued:?}");
    let expiry: Vec<_> = queued
        .iter()
        .filter(|j| j.kind == "return.expire")
        .collect();
    assert_eq!(expiry.len(), 1, "{queued:?}");
    assert_eq!(expiry[0].payload["return_id"], ret.id.to_string());
    assert_eq!(
        expiry[0].run_at,
        messages[1].occurred_at + jiff::SignedDuration::from_hours(14 * 24)
    );
    // Nothing left: a second batch takes nothing.
    let again = kembali_app::jobs::dispatch::relay_on_writer(&app, BATCH).await;
    assert_eq!(again.map(|r| r.expect("the job")), Some(0));
}

crate::both!(
    relay_on_the_writer,
    super::the_writers_job_dispatches_an_approval
);

crate::both!(
    relay_fans_out_per_shop,
    super::a_batch_across_shops_fans_out_to_each_shops_own_endpoints
);

crate::both!(
    relay_batches,
    super::relays_in_batches_and_hands_off_what_it_cannot_dispatch
);
