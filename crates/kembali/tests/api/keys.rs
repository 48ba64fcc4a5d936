//! API keys: scopes (a read key cannot write, a write key cannot manage the
//! shop), keys made, listed and revoked through the API, the cache's bound,
//! and the shared list paging on `GET /api-keys`.

use jiff::SignedDuration;
use kembali_core::Clock;
use kembali_core::access::{Scope, Scopes};
use serde_json::json;

use crate::fixtures::{create_order, order, return_body, s};
use crate::support::{TestApp, assert_problem};
use crate::walk::key_as;

async fn scopes_decide_what_a_key_may_do(app: &TestApp) {
    let (_, read) = key_as(app, &app.key, "read").await;
    let (_, write) = key_as(app, &app.key, "write").await;
    let o = create_order(app, &order("#K-1", 2)).await;
    let oid = s(&o["id"]);

    // read: every GET, no change.
    assert_eq!(
        app.get_as(&read, &format!("/api/v1/orders/{oid}"))
            .await
            .status,
        200
    );
    assert_eq!(app.get_as(&read, "/api/v1/orders").await.status, 200);
    let refused = app
        .post_as(&read, "/api/v1/orders", &order("#K-2", 2))
        .await;
    assert_problem(&refused, 403, "forbidden");
    assert!(
        s(&refused.body["detail"]).contains("`write`"),
        "{}",
        refused.body
    );
    // Refused before the body is read: a broken body is still a 403.
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/returns"))
                .bearer_auth(&read)
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_problem(&r, 403, "forbidden");
    assert_eq!(app.counts(crate::fixtures::EMAIL).await, (1, 0));

    // write: orders and returns, not the shop's keys or sources.
    let ret = app
        .post_as(&write, "/api/v1/returns", &return_body(&o, 0, 1, "refund"))
        .await;
    assert_eq!(ret.status, 201, "{}", ret.body);
    for path in ["/api/v1/api-keys", "/api/v1/sources"] {
        let r = app.get_as(&write, path).await;
        assert_problem(&r, 403, "forbidden");
        assert!(s(&r.body["detail"]).contains("`admin`"), "{}", r.body);
    }
    let r = app
        .post_as(
            &write,
            "/api/v1/api-keys",
            &json!({"name": "mine", "scopes": ["admin"]}),
        )
        .await;
    assert_problem(&r, 403, "forbidden");
    // admin (the test kit's key, as every key made before scopes): everything.
    assert_eq!(app.get("/api/v1/api-keys").await.status, 200);
}
crate::both!(scopes, super::scopes_decide_what_a_key_may_do);

async fn keys_are_made_listed_and_revoked(app: &TestApp) {
    // Ids order by time: a millisecond after the test kit's key.
    app.clock.advance(SignedDuration::from_millis(2));
    let made = app
        .post(
            "/api/v1/api-keys",
            &json!({"name": "Warehouse", "scopes": ["write", "read", "write"]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let secret = s(&made.body["secret"]);
    let id = s(&made.body["id"]);
    assert!(secret.starts_with("kb_"));
    assert_eq!(made.body["scopes"], json!(["read", "write"]));
    assert_eq!(made.body["prefix"], secret[..10]);
    assert!(made.body["revoked_at"].is_null());

    // The list shows it without its secret.
    let list = app.get("/api/v1/api-keys").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let text = list.body.to_string();
    assert!(
        !text.contains(&secret) && !text.contains("secret"),
        "{text}"
    );
    assert_eq!(list.body["data"][0]["id"], id.as_str());
    assert_eq!(list.body["data"][0]["name"], "Warehouse");
    assert!(list.body["next_cursor"].is_null());

    // Refusals name the field and change nothing.
    for (body, field) in [
        (json!({"name": "x", "scopes": []}), "scopes"),
        (
            json!({"name": "x", "scopes": ["read", "write", "admin", "read"]}),
            "scopes",
        ),
        (json!({"name": "  ", "scopes": ["read"]}), "name"),
        (json!({"name": "x".repeat(101), "scopes": ["read"]}), "name"),
        (json!({"name": "x", "scopes": ["root"]}), "body"),
    ] {
        let r = app.post("/api/v1/api-keys", &body).await;
        assert_problem(&r, 422, "validation");
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
    }

    // It works, and revoking it through this instance stops it at once.
    assert_eq!(app.get_as(&secret, "/api/v1/returns").await.status, 200);
    let revoked = app
        .post(&format!("/api/v1/api-keys/{id}/revoke"), &json!({}))
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(revoked.body["revoked_at"].is_string());
    assert_problem(
        &app.get_as(&secret, "/api/v1/returns").await,
        401,
        "unauthorized",
    );
    // Again: the same answer, the first time kept.
    let again = app
        .post(&format!("/api/v1/api-keys/{id}/revoke"), &json!({}))
        .await;
    assert_eq!(again.body["revoked_at"], revoked.body["revoked_at"]);
    let unknown = app
        .post(
            &format!("/api/v1/api-keys/key_{}/revoke", &id[4..].replace('0', "1")),
            &json!({}),
        )
        .await;
    assert_problem(&unknown, 404, "not-found");
}
crate::both!(lifecycle, super::keys_are_made_listed_and_revoked);

/// Revoked elsewhere (another instance, the CLI): this instance trusts its
/// cache for at most `KEY_CACHE_SECONDS`, then refuses the key.
async fn revocation_elsewhere_takes_effect_within_the_bound(app: &TestApp) {
    let (id, secret) = key_as(app, &app.key, "read").await;
    assert_eq!(app.get_as(&secret, "/api/v1/orders").await.status, 200);
    let mut tx = app.db.begin().await.expect("tx");
    let id = id.parse().expect("key id");
    assert!(
        kembali_store::api_keys::revoke(&mut tx, app.shop.id, id, app.clock.now())
            .await
            .expect("revoke")
    );
    tx.commit().await.expect("commit");
    // Still cached here…
    assert_eq!(app.get_as(&secret, "/api/v1/orders").await.status, 200);
    // …until the bound has passed.
    let bound = kembali_web::api::auth::KEY_CACHE_SECONDS;
    app.clock.advance(SignedDuration::from_secs(bound));
    assert_problem(
        &app.get_as(&secret, "/api/v1/orders").await,
        401,
        "unauthorized",
    );
}
crate::both!(
    cache_bound,
    super::revocation_elsewhere_takes_effect_within_the_bound
);

async fn lists_page_by_cursor(app: &TestApp) {
    // The test kit's key and five more, made straight in the store.
    let mut made = Vec::new();
    for i in 0..5 {
        app.clock.advance(SignedDuration::from_millis(2));
        let mut tx = app.db.begin().await.expect("tx");
        let k = kembali_store::api_keys::create(
            &mut tx,
            app.shop.id,
            &format!("k{i}"),
            &Scopes::new([Scope::Read]),
            app.clock.now(),
        )
        .await
        .expect("key");
        tx.commit().await.expect("commit");
        made.push(k.id.to_string());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/api-keys?limit=2&cursor={c}"),
            None => "/api/v1/api-keys?limit=2".to_owned(),
        };
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let data = page.body["data"].as_array().expect("data");
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(|k| s(&k["id"])));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    // Every key once, newest first.
    assert_eq!(seen.len(), 6, "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted);
    made.reverse();
    assert_eq!(seen[..5], made[..]);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=ord_01jd4x7v8k2m3n4p5q6r7s8t9v", "cursor"),
        ("colour=red", "colour"),
    ] {
        let r = app.get(&format!("/api/v1/api-keys?{query}")).await;
        assert_problem(&r, 400, "bad-request");
        assert_eq!(r.body["errors"][0]["field"], field, "{query}: {}", r.body);
    }
}
crate::both!(paging, super::lists_page_by_cursor);
