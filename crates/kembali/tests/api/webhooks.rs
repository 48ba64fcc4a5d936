//! Webhooks out, received by a small server of the test's own on 127.0.0.1:
//! every event of an order and of a return's life arrives, each signature
//! checked with the documented recipe (written here again, not borrowed from
//! the server); a 500 is retried after the back-off, a 410 disables the
//! endpoint, a receiver that never answers does not hold up another, a manual
//! retry sends again, and another shop sees none of it.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use jiff::SignedDuration;
use kembali_app::sources::NewSource;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::watch;

use crate::fixtures::{bulk_order, create_order, create_return, order, return_body, s};
use crate::hooks::{WOO_ORDER, WOO_SECRET, add, deliver_woo};
use crate::support::{TestApp, assert_problem};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Got {
    path: String,
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Clone)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    /// `/flaky`: the ids answered 500 once already.
    failed_once: Arc<Mutex<BTreeSet<String>>>,
    /// `/hang` waits until this turns true.
    release: watch::Receiver<bool>,
    hanging: Arc<Mutex<usize>>,
}

struct Server {
    base: String,
    state: Receiver,
    release: watch::Sender<bool>,
}

impl Server {
    async fn start() -> Server {
        let (release, rx) = watch::channel(false);
        let state = Receiver {
            got: Arc::default(),
            failed_once: Arc::default(),
            release: rx,
            hanging: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/{behaviour}", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Server {
            base: format!("http://{addr}"),
            state,
            release,
        }
    }

    fn url(&self, behaviour: &str) -> String {
        format!("{}/{behaviour}", self.base)
    }

    fn got(&self, path: &str) -> Vec<Got> {
        self.state
            .got
            .lock()
            .expect("lock")
            .iter()
            .filter(|g| g.path == path)
            .cloned()
            .collect()
    }
}

async fn receive(
    State(r): State<Receiver>,
    Path(behaviour): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let got = Got {
        path: behaviour.clone(),
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        content_type: h("content-type"),
        body: body.to_vec(),
    };
    let id = got.id.clone();
    r.got.lock().expect("lock").push(got);
    match behaviour.as_str() {
        "gone" => StatusCode::GONE,
        "flaky" => {
            if r.failed_once.lock().expect("lock").insert(id) {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::NO_CONTENT
            }
        }
        "hang" => {
            *r.hanging.lock().expect("lock") += 1;
            let mut release = r.release.clone();
            let _ = release.wait_for(|v| *v).await;
            *r.hanging.lock().expect("lock") -= 1;
            StatusCode::OK
        }
        _ => StatusCode::OK,
    }
}

/// The documented recipe: the key is the base64-decoded part of the secret
/// after `whsec_`; the signed content is `{id}.{timestamp}.{body}`; the
/// header holds space-separated `v1,<base64 HMAC-SHA256>` entries, one of
/// which must match.
fn verifies(secret: &str, got: &Got) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
    let mut content = format!("{}.{}.", got.id, got.timestamp).into_bytes();
    content.extend_from_slice(&got.body);
    mac.update(&content);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    got.signature
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|sig| sig == expected)
}

async fn create_endpoint(app: &TestApp, body: Value) -> Value {
    let r = app.post("/api/v1/webhook-endpoints", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn deliveries(app: &TestApp, endpoint: &Value) -> Vec<Value> {
    let r = app
        .get(&format!(
            "/api/v1/webhook-endpoints/{}/deliveries?limit=200",
            s(&endpoint["id"])
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"].as_array().expect("data").clone()
}

async fn act(app: &TestApp, id: &str, action: &str, body: Value) {
    let r = app
        .post(&format!("/api/v1/returns/{id}/{action}"), &body)
        .await;
    assert_eq!(r.status, 200, "{action}: {}", r.body);
}

async fn every_event_arrives_signed(app: &TestApp) {
    let rx = Server::start().await;
    let all = create_endpoint(app, json!({"url": rx.url("all")})).await;
    let secret = s(&all["secret"]);
    assert_eq!(all["events"], json!(["*"]));
    assert_eq!(all["enabled"], true);
    let raw = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("prefix"))
        .expect("base64");
    assert!(raw.len() >= 24, "{} random bytes", raw.len());
    // The secret is shown once: reading the endpoint again does not show it.
    let read = app
        .get(&format!("/api/v1/webhook-endpoints/{}", s(&all["id"])))
        .await;
    assert_eq!(read.status, 200);
    assert!(read.body.get("secret").is_none(), "{}", read.body);
    let returns_only = create_endpoint(
        app,
        json!({"url": rx.url("returns"), "events": ["return.*", "order.updated"]}),
    )
    .await;

    // An order from the API, and one from WooCommerce that then changes.
    let o = create_order(app, &bulk_order("#W-1", 10, 2)).await;
    let woo = add(
        app,
        NewSource::WooCommerce {
            url: "https://sklep.example.pl".into(),
            secret: WOO_SECRET.into(),
        },
    )
    .await;
    let r = deliver_woo(
        app,
        &woo,
        "order.created",
        "1",
        WOO_ORDER.as_bytes(),
        Some(WOO_SECRET),
    )
    .await;
    assert_eq!(r.body["outcome"], "imported", "{}", r.body);
    let changed = WOO_ORDER
        .replace("2026-11-08T09:30:00", "2026-11-09T09:30:00")
        .replace("Zofia", "Zosia");
    let r = deliver_woo(
        app,
        &woo,
        "order.updated",
        "2",
        changed.as_bytes(),
        Some(WOO_SECRET),
    )
    .await;
    assert_eq!(r.body["outcome"], "updated", "{}", r.body);

    // A return's whole life, one rejected, one cancelled, one left to expire.
    let item = |r: &Value| s(&r["items"][0]["id"]);
    let full = create_return(app, &return_body(&o, 0, 1, "refund")).await;
    let id = s(&full["id"]);
    act(app, &id, "approve", json!({})).await;
    act(app, &id, "mark-in-transit", json!({})).await;
    act(
        app,
        &id,
        "receive",
        json!({"items": [{"item_id": item(&full), "outcome": "received", "quantity": 1}]}),
    )
    .await;
    act(app, &id, "inspect", json!({"items": [{"item_id": item(&full), "accepted_quantity": 1, "condition": "new", "disposition": "restock"}]})).await;
    act(app, &id, "resolve", json!({})).await;
    let rejected = create_return(app, &return_body(&o, 0, 1, "refund")).await;
    act(
        app,
        &s(&rejected["id"]),
        "reject",
        json!({"reason": "worn"}),
    )
    .await;
    let cancelled = create_return(app, &return_body(&o, 0, 1, "refund")).await;
    act(
        app,
        &s(&cancelled["id"]),
        "cancel",
        json!({"reason": "kept it"}),
    )
    .await;
    let expiring = create_return(app, &return_body(&o, 0, 1, "refund")).await;
    act(app, &s(&expiring["id"]), "approve", json!({})).await;
    app.drain().await;
    app.clock.advance(SignedDuration::from_hours(24 * 15));
    app.drain().await;

    let got = rx.got("all");
    let types: BTreeSet<String> = got.iter().map(|g| s(&g.json()["type"])).collect();
    let expected: BTreeSet<String> = [
        "order.created",
        "order.updated",
        "return.requested",
        "return.approved",
        "return.rejected",
        "return.in_transit",
        "return.received",
        "return.inspected",
        "return.resolved",
        "return.cancelled",
        "return.expired",
        "refund.requested",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(types, expected);
    // Every message exactly once: 2 orders created, 1 updated, the returns'
    // 6 + 2 + 2 + 3 steps, and the refund the resolved one granted.
    assert_eq!(got.len(), 3 + 13 + 1, "{got:#?}");
    let ids: BTreeSet<&str> = got.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids.len(), got.len(), "a message arrived twice");
    for g in &got {
        assert!(verifies(&secret, g), "bad signature on {g:?}");
        assert!(!verifies(&s(&returns_only["secret"]), g));
        assert_eq!(g.content_type, "application/json");
        let body = g.json();
        assert_eq!(body["id"], g.id.as_str());
        assert!(g.id.starts_with("msg_"), "{}", g.id);
        assert_eq!(body["version"], 1);
        let ts: i64 = g.timestamp.parse().expect("unix seconds");
        assert!(ts > 1_600_000_000 && ts <= app.clock_now_secs(), "{ts}");
        assert!(body["data"].is_object());
    }
    // Tampering with the body breaks the signature.
    let mut forged = got[0].clone();
    forged.body.push(b' ');
    assert!(!verifies(&secret, &forged));

    // The filtered endpoint got only what it asked for.
    let filtered = rx.got("returns");
    assert_eq!(filtered.len(), 1 + 13);
    assert!(filtered.iter().all(|g| {
        let t = s(&g.json()["type"]);
        t.starts_with("return.") || t == "order.updated"
    }));
    for g in &filtered {
        assert!(verifies(&s(&returns_only["secret"]), g));
    }

    // The delivery log: each delivered at the first attempt, with its answer.
    let log = deliveries(app, &all).await;
    assert_eq!(log.len(), 17);
    for d in &log {
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(d["attempts"], 1);
        assert_eq!(d["log"][0]["status"], 200);
        assert_eq!(d["log"][0]["attempt"], 1);
    }
    // Pages by id, newest first, with a cursor.
    let path = format!("/api/v1/webhook-endpoints/{}/deliveries", s(&all["id"]));
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?limit=5&cursor={c}"),
            None => format!("{path}?limit=5"),
        };
        let page = app.get(&url).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for d in page.body["data"].as_array().expect("data") {
            seen.push(s(&d["id"]));
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 17);
    // The same paging as every list: a bad parameter is a 400 naming it.
    for (bad, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=nope", "cursor"),
        ("status=dead", "status"),
    ] {
        let r = app.get(&format!("{path}?{bad}")).await;
        assert_problem(&r, 400, "bad-request");
        assert_eq!(r.body["errors"][0]["field"], field, "{bad}: {}", r.body);
    }
}
crate::both!(every_event, super::every_event_arrives_signed);

impl TestApp {
    fn clock_now_secs(&self) -> i64 {
        use kembali_core::Clock;
        self.clock.now().as_second()
    }
}

async fn a_failed_delivery_comes_again(app: &TestApp) {
    let rx = Server::start().await;
    let ep = create_endpoint(app, json!({"url": rx.url("flaky")})).await;
    create_order(app, &order("#F-1", 2)).await;
    app.drain().await;
    assert_eq!(rx.got("flaky").len(), 1);
    let d = &deliveries(app, &ep).await[0];
    assert_eq!(d["state"], "retrying", "{d}");
    assert_eq!(d["last_status"], 500);
    assert_eq!(d["log"][0]["status"], 500);
    // Not before the back-off…
    app.drain().await;
    assert_eq!(rx.got("flaky").len(), 1);
    // …and after it.
    app.clock.advance(SignedDuration::from_secs(10));
    app.drain().await;
    let got = rx.got("flaky");
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].id, got[1].id,
        "the same message, the same webhook-id"
    );
    assert_eq!(got[0].body, got[1].body);
    let secret = s(&ep["secret"]);
    assert!(got.iter().all(|g| verifies(&secret, g)));
    let d = &deliveries(app, &ep).await[0];
    assert_eq!(d["state"], "delivered", "{d}");
    assert_eq!(d["attempts"], 2);
    let statuses: Vec<&Value> = d["log"]
        .as_array()
        .expect("log")
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(statuses, [&json!(500), &json!(204)]);

    // A manual retry sends it once more.
    let retry = format!(
        "/api/v1/webhook-endpoints/{}/deliveries/{}/retry",
        s(&ep["id"]),
        s(&d["id"])
    );
    let r = app.post(&retry, &json!({})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["state"], "pending");
    app.drain().await;
    assert_eq!(rx.got("flaky").len(), 3);
    let d = &deliveries(app, &ep).await[0];
    assert_eq!(
        (d["state"].clone(), d["attempts"].clone()),
        (json!("delivered"), json!(3))
    );
    let missing = format!(
        "/api/v1/webhook-endpoints/{}/deliveries/dlv_01jd4x7v8k2m3n4p5q6r7s8t9v/retry",
        s(&ep["id"])
    );
    assert_problem(&app.post(&missing, &json!({})).await, 404, "not-found");
}
crate::both!(retried, super::a_failed_delivery_comes_again);

async fn gone_disables_the_endpoint(app: &TestApp) {
    let rx = Server::start().await;
    let ep = create_endpoint(app, json!({"url": rx.url("gone")})).await;
    let id = s(&ep["id"]);
    create_order(app, &order("#G-1", 2)).await;
    app.drain().await;
    assert_eq!(rx.got("gone").len(), 1);
    let read = app.get(&format!("/api/v1/webhook-endpoints/{id}")).await;
    assert_eq!(read.body["enabled"], false, "{}", read.body);
    assert!(
        read.body["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("410"))
    );
    let d = &deliveries(app, &ep).await[0];
    assert_eq!(d["state"], "dead");
    assert_eq!(d["last_status"], 410);
    // Nothing more goes to it, and it cannot be retried while disabled.
    create_order(app, &order("#G-2", 2)).await;
    app.drain().await;
    assert_eq!(rx.got("gone").len(), 1);
    assert_eq!(deliveries(app, &ep).await.len(), 1);
    let retry = format!(
        "/api/v1/webhook-endpoints/{id}/deliveries/{}/retry",
        s(&d["id"])
    );
    assert_problem(&app.post(&retry, &json!({})).await, 422, "validation");
    // Turned on again by the shop, the reason goes.
    let on = app
        .send(
            app.client
                .patch(app.url(&format!("/api/v1/webhook-endpoints/{id}")))
                .bearer_auth(&app.key)
                .json(&json!({"enabled": true, "url": rx.url("all")})),
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.body);
    assert_eq!(on.body["enabled"], true);
    assert_eq!(on.body["disabled_reason"], Value::Null);
    let r = app.post(&retry, &json!({})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    app.drain().await;
    assert_eq!(rx.got("all").len(), 1);
}
crate::both!(gone, super::gone_disables_the_endpoint);

async fn a_silent_receiver_holds_up_no_one(app: &TestApp) {
    let rx = Server::start().await;
    let silent = create_endpoint(app, json!({"url": rx.url("hang")})).await;
    create_endpoint(app, json!({"url": rx.url("fine")})).await;
    // Four messages: without a cap per endpoint, the silent one's deliveries
    // would take every one of the worker's four slots.
    for n in 1..=4 {
        create_order(app, &order(&format!("#H-{n}"), 2)).await;
    }
    // Under the 15 s a hung delivery waits: the others never wait for it to end.
    // A delivery put back because its endpoint's slots were full waits 2 s on
    // the worker's clock, which stands still in tests unless moved: move it by
    // that much now and then (less than a lease in all).
    let deadline = std::time::Instant::now() + Duration::from_secs(14);
    let mut turns = 0u32;
    while rx.got("fine").len() < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "the other endpoint got {} of 4 while one hung",
            rx.got("fine").len()
        );
        turns += 1;
        if turns.is_multiple_of(25) {
            app.clock.advance(SignedDuration::from_secs(2));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hanging = *rx.state.hanging.lock().expect("lock");
    assert!(
        (1..=2).contains(&hanging),
        "{hanging} deliveries hang at once"
    );
    // Once it answers, its deliveries (and those that waited for a slot) go out.
    rx.release.send(true).expect("release");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        app.clock.advance(SignedDuration::from_secs(5));
        app.drain().await;
        let delivered = deliveries(app, &silent)
            .await
            .iter()
            .filter(|d| d["state"] == "delivered")
            .count();
        if delivered == 4 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{delivered} of 4 delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ids: BTreeSet<String> = rx.got("hang").iter().map(|g| g.id.clone()).collect();
    assert_eq!(ids.len(), 4);
}
crate::both!(silent_receiver, super::a_silent_receiver_holds_up_no_one);

async fn rotation_signs_with_both_secrets(app: &TestApp) {
    let rx = Server::start().await;
    let ep = create_endpoint(
        app,
        json!({"url": rx.url("all"), "events": ["order.created"]}),
    )
    .await;
    let id = s(&ep["id"]);
    let old = s(&ep["secret"]);
    let rotate = format!("/api/v1/webhook-endpoints/{id}/rotate-secret");
    let r = app.post(&rotate, &json!({"grace_hours": 24})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new = s(&r.body["secret"]);
    assert_ne!(new, old);
    assert!(r.body["previous_secret_until"].is_string());
    create_order(app, &order("#S-1", 2)).await;
    app.drain().await;
    let got = rx.got("all");
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].signature.split(' ').count(),
        2,
        "{}",
        got[0].signature
    );
    assert!(verifies(&old, &got[0]) && verifies(&new, &got[0]));
    // After the grace period only the new secret signs.
    app.clock.advance(SignedDuration::from_hours(25));
    create_order(app, &order("#S-2", 2)).await;
    app.drain().await;
    let got = rx.got("all");
    assert_eq!(got.len(), 2);
    assert!(verifies(&new, &got[1]) && !verifies(&old, &got[1]));
    // Without grace the old one stops at once.
    let r = app.post(&rotate, &json!({"grace_hours": 0})).await;
    assert_eq!(r.body["previous_secret_until"], Value::Null);
    assert_problem(
        &app.post(&rotate, &json!({"grace_hours": 73})).await,
        422,
        "validation",
    );
}
crate::both!(rotation, super::rotation_signs_with_both_secrets);

async fn bad_endpoints_are_refused(app: &TestApp) {
    let cases = [
        json!({"url": "ftp://example.com/x"}),
        json!({"url": "example.com/hook"}),
        json!({"url": "http://"}),
        json!({"url": format!("https://example.com/{}", "a".repeat(2000))}),
        json!({"url": "https://example.com/x", "events": []}),
        json!({"url": "https://example.com/x", "events": ["Return.Approved"]}),
        json!({"url": "https://example.com/x", "events": ["return"]}),
        json!({"url": "https://example.com/x", "events": [format!("a.{}", "b".repeat(70))]}),
        json!({"url": "https://example.com/x", "secret": "whsec_mine"}),
    ];
    for body in cases {
        let r = app.post("/api/v1/webhook-endpoints", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
    }
    let list = app.get("/api/v1/webhook-endpoints").await;
    assert_eq!(list.body["data"], json!([]));
}
crate::both!(refused, super::bad_endpoints_are_refused);

async fn another_shop_sees_nothing(app: &TestApp) {
    let rx = Server::start().await;
    let ep = create_endpoint(app, json!({"url": rx.url("all")})).await;
    create_order(app, &order("#I-1", 2)).await;
    app.drain().await;
    let d = &deliveries(app, &ep).await[0];
    let id = s(&ep["id"]);
    let other = app.other_shop("elsewhere").await;
    let base = format!("/api/v1/webhook-endpoints/{id}");
    let calls: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", base.clone(), None),
        ("PATCH", base.clone(), Some(json!({"enabled": false}))),
        ("DELETE", base.clone(), None),
        ("POST", format!("{base}/rotate-secret"), Some(json!({}))),
        ("GET", format!("{base}/deliveries"), None),
        (
            "POST",
            format!("{base}/deliveries/{}/retry", s(&d["id"])),
            Some(json!({})),
        ),
    ];
    for (method, path, body) in &calls {
        let mut req = app
            .client
            .request(method.parse().expect("method"), app.url(path))
            .bearer_auth(&other);
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = app.send(req).await;
        assert_problem(&r, 404, "not-found");
    }
    let list = app.get_as(&other, "/api/v1/webhook-endpoints").await;
    assert_eq!(list.body["data"], json!([]));
    // Nothing changed for the owner.
    let mine = app.get(&base).await;
    assert_eq!(mine.body["enabled"], true);
    assert_eq!(mine.body["updated_at"], ep["updated_at"]);
    // Deleting is the owner's, and takes the log with it.
    let del = app
        .send(app.client.delete(app.url(&base)).bearer_auth(&app.key))
        .await;
    assert_eq!(del.status, 204);
    assert_problem(&app.get(&base).await, 404, "not-found");
}
crate::both!(isolation, super::another_shop_sees_nothing);
