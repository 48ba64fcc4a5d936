//! `Idempotency-Key`: a retry gets the first answer and changes nothing, the same
//! key with another request is refused, keys are per shop, and concurrent retries
//! make exactly one change.

use std::collections::BTreeSet;

use serde_json::json;

use crate::fixtures::{
    EMAIL, bulk_order, create_order, get_return, kinds, order, post_all, return_body, returnable, s,
};
use crate::support::{Reply, TestApp, assert_problem};

fn replayed(r: &Reply) -> bool {
    r.headers
        .get("idempotent-replayed")
        .and_then(|v| v.to_str().ok())
        == Some("true")
}

async fn retries_replay_the_first_answer(app: &TestApp) {
    let o = create_order(app, &bulk_order("#I-1", 5, 2)).await;
    let body = return_body(&o, 0, 1, "refund");
    let first = app.post_with_key("/api/v1/returns", "ret-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(!replayed(&first));
    for _ in 0..2 {
        let again = app.post_with_key("/api/v1/returns", "ret-1", &body).await;
        assert_eq!(again.status, 201);
        assert!(replayed(&again));
        assert_eq!(again.body, first.body);
        assert_eq!(
            again
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
    }
    // One return exists and it holds one unit.
    assert_eq!(app.counts(EMAIL).await, (1, 1));
    assert_eq!(returnable(app, &o, 0).await, 4);
    // A request without a key is a new return.
    assert_eq!(app.post("/api/v1/returns", &body).await.status, 201);
    assert_eq!(app.counts(EMAIL).await, (1, 2));

    // The same key with another body, or on another address, is refused.
    let mut other = body.clone();
    other["items"][0]["quantity"] = json!(2);
    let reused = app.post_with_key("/api/v1/returns", "ret-1", &other).await;
    assert_problem(&reused, 422, "idempotency-key-reused");
    let reused = app
        .post_with_key("/api/v1/orders", "ret-1", &order("#I-2", 2))
        .await;
    assert_problem(&reused, 422, "idempotency-key-reused");
    let id = s(&first.body["id"]);
    let reused = app
        .post_with_key(
            &format!("/api/v1/returns/{id}/approve"),
            "ret-1",
            &json!({}),
        )
        .await;
    assert_problem(&reused, 422, "idempotency-key-reused");
    assert_eq!(app.counts(EMAIL).await, (1, 2));
    assert_eq!(get_return(app, &id).await["status"], "requested");

    // Even a body that is the same JSON written differently is another request.
    let spaced = app
        .send(
            app.client
                .post(app.url("/api/v1/returns"))
                .bearer_auth(&app.key)
                .header("Idempotency-Key", "ret-1")
                .header("content-type", "application/json")
                .body(serde_json::to_string_pretty(&body).expect("json")),
        )
        .await;
    assert_problem(&spaced, 422, "idempotency-key-reused");

    // A lifecycle action replays too: a retried approval is not an illegal transition.
    let path = format!("/api/v1/returns/{id}/approve");
    let a = app
        .post_with_key(&path, "approve-1", &json!({"version": 1}))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let b = app
        .post_with_key(&path, "approve-1", &json!({"version": 1}))
        .await;
    assert_eq!(b.status, 200, "{}", b.body);
    assert!(replayed(&b));
    assert_eq!(a.body, b.body);
    let now = get_return(app, &id).await;
    assert_eq!(now["version"], 2);
    assert_eq!(kinds(&now), ["requested", "approved"]);
    // Without the key the same request is what it is: illegal now.
    assert_problem(
        &app.post(&path, &json!({})).await,
        409,
        "illegal-transition",
    );

    // Keys are checked: empty, blank or over 255 characters.
    for key in ["", "   ", &"k".repeat(256)] {
        let r = app.post_with_key("/api/v1/returns", key, &body).await;
        assert_problem(&r, 422, "validation");
        assert_eq!(r.body["errors"][0]["field"], "Idempotency-Key");
    }
    let long = "k".repeat(255);
    assert_eq!(
        app.post_with_key("/api/v1/returns", &long, &body)
            .await
            .status,
        201
    );
    assert_eq!(
        app.post_with_key("/api/v1/returns", &long, &body)
            .await
            .status,
        201
    );
    assert_eq!(app.counts(EMAIL).await, (1, 3));
}
crate::both!(replay, super::retries_replay_the_first_answer);

/// A refused request keeps nothing under its key: a retry is decided again.
async fn refusals_are_not_kept(app: &TestApp) {
    let o = create_order(app, &order("#I-3", 2)).await;
    let body = return_body(&o, 1, 1, "refund");
    let blocker = app.post("/api/v1/returns", &body).await;
    assert_eq!(blocker.status, 201);
    let refused = app
        .post_with_key("/api/v1/returns", "retry-me", &body)
        .await;
    assert_problem(&refused, 422, "validation");
    assert!(!replayed(&refused));
    // The unit comes free; the retry with the same key now succeeds.
    let id = s(&blocker.body["id"]);
    assert_eq!(
        app.post(&format!("/api/v1/returns/{id}/cancel"), &json!({}))
            .await
            .status,
        200
    );
    let retry = app
        .post_with_key("/api/v1/returns", "retry-me", &body)
        .await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert!(!replayed(&retry));
    let again = app
        .post_with_key("/api/v1/returns", "retry-me", &body)
        .await;
    assert!(replayed(&again));
    assert_eq!(again.body["id"], retry.body["id"]);
}
crate::both!(refusals_not_kept, super::refusals_are_not_kept);

async fn keys_belong_to_one_shop(app: &TestApp) {
    let other = app.other_shop("idem-other").await;
    let body = order("#I-4", 2);
    let send = |key: &str| {
        app.client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(key.to_owned())
            .header("Idempotency-Key", "shared-key")
            .json(&body)
    };
    let mine = app.send(send(&app.key)).await;
    let theirs = app.send(send(&other)).await;
    assert_eq!(
        (mine.status, theirs.status),
        (201, 201),
        "{} / {}",
        mine.body,
        theirs.body
    );
    assert!(!replayed(&theirs), "another shop's answer was replayed");
    assert_ne!(mine.body["id"], theirs.body["id"]);
    // Each shop's retry gets its own first answer.
    let mine2 = app.send(send(&app.key)).await;
    let theirs2 = app.send(send(&other)).await;
    assert_eq!(mine2.body, mine.body);
    assert_eq!(theirs2.body, theirs.body);
    assert!(replayed(&mine2) && replayed(&theirs2));
    // The other shop's use of the key does not make it "reused" here.
    let mut changed = order("#I-5", 2);
    changed["email"] = json!("x@example.pl");
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/orders"))
                .bearer_auth(&other)
                .header("Idempotency-Key", "only-theirs")
                .json(&changed),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = app
        .post_with_key("/api/v1/orders", "only-theirs", &order("#I-6", 2))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(!replayed(&r));
    assert_eq!(app.counts(EMAIL).await, (2, 0));
}
crate::both!(per_shop, super::keys_belong_to_one_shop);

async fn concurrent_retries_make_one_change(app: &TestApp) {
    let o = create_order(app, &bulk_order("#I-7", 5, 2)).await;
    let body = return_body(&o, 0, 1, "store_credit");
    let replies = post_all(
        app,
        "/api/v1/returns",
        Some("burst-1"),
        vec![body.clone(); 5],
    )
    .await;
    let ids: BTreeSet<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            s(&r.body["id"])
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(
        replies.iter().filter(|r| !replayed(r)).count(),
        1,
        "exactly one answer is the original"
    );
    for r in &replies {
        assert_eq!(r.body, replies[0].body);
    }
    assert_eq!(app.counts(EMAIL).await, (1, 1));
    assert_eq!(returnable(app, &o, 0).await, 4);

    // Orders too: five at once, one order.
    let replies = post_all(
        app,
        "/api/v1/orders",
        Some("burst-2"),
        vec![order("#I-8", 2); 5],
    )
    .await;
    let ids: BTreeSet<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            s(&r.body["id"])
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(app.counts(EMAIL).await, (2, 1));

    // One key, two different requests at once: one is done, the other refused.
    let a = return_body(&o, 0, 1, "refund");
    let b = return_body(&o, 0, 2, "refund");
    let replies = post_all(app, "/api/v1/returns", Some("burst-3"), vec![a, b]).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [201, 422],
        "{} / {}",
        replies[0].body,
        replies[1].body
    );
    let loser = replies.iter().find(|r| r.status == 422).expect("loser");
    assert_problem(loser, 422, "idempotency-key-reused");
    assert_eq!(app.counts(EMAIL).await, (2, 2));
}
crate::both!(concurrent, super::concurrent_retries_make_one_change);

/// Keys are kept for 24 hours (as the OpenAPI document says); the worker's
/// hourly purge forgets older ones, and then the key is free again.
async fn keys_expire_after_a_day(app: &TestApp) {
    let o = create_order(app, &bulk_order("#I-9", 5, 2)).await;
    let body = return_body(&o, 0, 1, "refund");
    let first = app.post_with_key("/api/v1/returns", "day-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let mut other = body.clone();
    other["items"][0]["quantity"] = json!(2);

    app.clock.advance(jiff::SignedDuration::from_hours(23));
    app.drain().await;
    let reused = app.post_with_key("/api/v1/returns", "day-1", &other).await;
    assert_problem(&reused, 422, "idempotency-key-reused");

    app.clock.advance(jiff::SignedDuration::from_hours(2));
    app.drain().await;
    let fresh = app.post_with_key("/api/v1/returns", "day-1", &other).await;
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    assert!(!replayed(&fresh));
    assert_ne!(fresh.body["id"], first.body["id"]);
    // The purge keeps itself scheduled: one job waits for the next hour.
    let queued = kembali_store::jobs::list(&app.db, kembali_store::jobs::JobState::Queued, 100)
        .await
        .expect("jobs");
    let purges: Vec<_> = queued
        .iter()
        .filter(|j| j.kind == "idempotency.purge")
        .collect();
    assert_eq!(purges.len(), 1, "{purges:?}");
}
crate::both!(expiry, super::keys_expire_after_a_day);
