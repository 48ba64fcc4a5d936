//! The outbox relay: pending messages dispatched in one batch, and a message
//! it cannot dispatch handed to a job of its own.

use std::sync::Arc;

use jiff::Timestamp;
use kembali_app::clock::ManualClock;
use kembali_app::jobs::dispatch::{BATCH, relay};
use kembali_core::IdSource;
use kembali_core::policy::PolicyDocument;
use kembali_core::shop::{Country, Locale, Shop};
use kembali_core::{Currency, MessageId, ShopId};
use kembali_store::outbox::{self, Message};
use kembali_store::testing::TestDb;
use kembali_store::{OsEntropy, shops};

async fn shop(t: &TestDb) -> Shop {
    let now = Timestamp::now();
    let shop = Shop {
        id: ShopId::new(now, OsEntropy.entropy()),
        slug: "relay".into(),
        name: "relay".into(),
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
    // More than a batch, and one message whose subject is not a return id.
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
    // message, goes one by one, and hands the bad one off.
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
crate::both!(
    relay_batches,
    super::relays_in_batches_and_hands_off_what_it_cannot_dispatch
);
