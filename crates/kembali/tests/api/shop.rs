//! `GET/PATCH /api/v1/shop`: the settings read back as written, each bad value
//! refused without a change, the currency fixed once orders exist; and
//! `kembali shop create`'s use case.

use serde_json::{Value, json};

use crate::fixtures::{create_order, order};
use crate::support::{Reply, TestApp, assert_problem};

pub async fn patch(app: &TestApp, path: &str, body: &Value) -> Reply {
    app.send(
        app.client
            .patch(app.url(path))
            .bearer_auth(&app.key)
            .json(body),
    )
    .await
}

async fn settings_read_back_and_bad_values_change_nothing(app: &TestApp) {
    let r = app.get("/api/v1/shop").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], app.shop.id.to_string());
    assert_eq!(r.body["currency"], "PLN");
    assert_eq!(r.body["time_zone"], "Europe/Warsaw");
    assert_eq!(r.body["reasons"], json!({}));
    assert_eq!(r.body["return_address"], Value::Null);
    let before = r.body;

    let change = json!({
        "name": "  Sklep Testowy ",
        "time_zone": "asia/jakarta",
        "default_locale": "id",
        "country": "id",
        "return_prefix": "RT-",
        "currency": "IDR",
        "reasons": {
            "pl": [{"reason": "wrong_size", "label": "Zły rozmiar"},
                   {"reason": "damaged", "label": "Uszkodzony"}],
            "en": [{"reason": "changed_mind", "label": "Changed my mind"}]
        },
        "return_address": {"name": "Magazyn", "line1": "ul. Składowa 1", "city": "Poznań",
            "postal_code": "61-001", "country": "PL"}
    });
    let r = patch(app, "/api/v1/shop", &change).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Sklep Testowy", "trimmed");
    assert_eq!(r.body["time_zone"], "Asia/Jakarta", "the IANA spelling");
    assert_eq!(r.body["default_locale"], "id");
    assert_eq!(r.body["country"], "ID");
    assert_eq!(r.body["return_prefix"], "RT-");
    assert_eq!(
        r.body["currency"], "IDR",
        "no orders yet: the currency may change"
    );
    assert_eq!(r.body["reasons"]["pl"][1]["label"], "Uszkodzony");
    assert_eq!(r.body["return_address"]["city"], "Poznań");
    let got = app.get("/api/v1/shop").await;
    assert_eq!(got.body, r.body, "what the PATCH said is what is stored");
    assert_ne!(got.body, before);
    assert_eq!(got.body["slug"], before["slug"], "the slug never changes");

    // Only what is given changes; an empty list takes a language's list away,
    // `null` removes the return address.
    let r = patch(
        app,
        "/api/v1/shop",
        &json!({"reasons": {"en": []}, "return_address": null}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["reasons"].as_object().map(|m| m.len()), Some(1));
    assert_eq!(r.body["reasons"]["pl"][0]["reason"], "wrong_size");
    assert_eq!(r.body["return_address"], Value::Null);
    assert_eq!(r.body["name"], "Sklep Testowy");
    let kept = r.body;

    let bad: [(Value, &str); 10] = [
        (json!({"time_zone": "Mars/Olympus"}), "time_zone"),
        (json!({"time_zone": ""}), "time_zone"),
        (json!({"return_prefix": "R 1"}), "return_prefix"),
        (json!({"return_prefix": "ABCDEFGHIJK"}), "return_prefix"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "a\u{7}b"}), "name"),
        (
            json!({"reasons": {"pl": [{"reason": "damaged", "label": "A"},
                                   {"reason": "damaged", "label": "B"}]}}),
            "reasons.pl[1].reason",
        ),
        (
            json!({"reasons": {"pl": [{"reason": "damaged", "label": "x".repeat(201)}]}}),
            "reasons.pl[0].label",
        ),
        (
            json!({"return_address": {"name": "M", "line1": "x".repeat(256), "city": "P",
            "postal_code": "1", "country": "PL"}}),
            "return_address.line1",
        ),
        (
            json!({"return_address": {"name": "M", "line1": "L", "city": "P",
            "postal_code": "1", "country": "PL", "phone": "1\n2"}}),
            "return_address.phone",
        ),
    ];
    for (body, field) in bad {
        let r = patch(app, "/api/v1/shop", &body).await;
        assert_problem(&r, 422, "validation");
        assert_eq!(r.body["errors"][0]["field"], field, "{body}: {}", r.body);
    }
    for body in [
        json!({"reasons": {"de": []}}),
        json!({"country": "XX"}),
        json!({"currency": "XYZW"}),
        json!({"slug": "other"}),
    ] {
        let r = patch(app, "/api/v1/shop", &body).await;
        assert_problem(&r, 422, "validation");
    }
    assert_eq!(app.get("/api/v1/shop").await.body, kept, "nothing changed");
}
crate::both!(
    settings,
    super::settings_read_back_and_bad_values_change_nothing
);

async fn currency_is_fixed_once_orders_exist(app: &TestApp) {
    create_order(app, &order("#S-1", 2)).await;
    let r = patch(
        app,
        "/api/v1/shop",
        &json!({"currency": "EUR", "name": "New"}),
    )
    .await;
    assert_problem(&r, 409, "conflict");
    let got = app.get("/api/v1/shop").await;
    assert_eq!(got.body["currency"], "PLN");
    assert_eq!(
        got.body["name"], "Test Shop",
        "the whole change was refused"
    );
    // The same currency again is no change, and the rest applies.
    let r = patch(
        app,
        "/api/v1/shop",
        &json!({"currency": "PLN", "name": "New"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "New");

    // The new prefix numbers the next return.
    let r = patch(app, "/api/v1/shop", &json!({"return_prefix": "ZW-"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let o = create_order(app, &order("#S-2", 2)).await;
    let ret =
        crate::fixtures::create_return(app, &crate::fixtures::return_body(&o, 0, 1, "refund"))
            .await;
    assert!(
        ret["number"].as_str().is_some_and(|n| n.starts_with("ZW-")),
        "{}",
        ret["number"]
    );

    // Another shop's key sees and changes its own shop only.
    let other = app.other_shop("shop-other").await;
    let theirs = app.get_as(&other, "/api/v1/shop").await;
    assert_eq!(theirs.status, 200);
    assert_ne!(theirs.body["id"], app.shop.id.to_string());
}
crate::both!(currency, super::currency_is_fixed_once_orders_exist);

/// `kembali shop create`'s use case: a shop with its first policy, the EU
/// preset in the EU; a taken slug and a bad time zone are refused.
async fn shops_are_created_with_their_policy(app: &TestApp) {
    use kembali_app::shops::{NewShop, create};
    let new = |slug: &str, country: &str, tz: &str| NewShop {
        slug: slug.into(),
        name: "Toko Baru".into(),
        currency: kembali_core::Currency::IDR,
        country: country.parse().expect("country"),
        time_zone: tz.into(),
        locale: kembali_core::shop::Locale::Id,
    };
    let a = kembali_app::App::new(app.db.clone());
    let mut tx = app.db.begin().await.expect("tx");
    let shop = create(&a, &mut tx, &new("toko-baru", "ID", "Asia/Jakarta"))
        .await
        .expect("created");
    let pl = create(&a, &mut tx, &new("sklep-nowy", "PL", "Europe/Warsaw"))
        .await
        .expect("created");
    tx.commit().await.expect("commit");
    let mut conn = app.db.conn().await.expect("conn");
    let (v, doc) = kembali_store::policies::current(&mut conn, shop.id)
        .await
        .expect("read")
        .expect("a policy");
    assert_eq!(v, 1);
    assert!(!doc.eu_withdrawal);
    let (_, doc) = kembali_store::policies::current(&mut conn, pl.id)
        .await
        .expect("read")
        .expect("a policy");
    assert!(doc.eu_withdrawal, "an EU shop starts with the EU preset");
    drop(conn);

    let mut tx = app.db.begin().await.expect("tx");
    let err = create(&a, &mut tx, &new("toko-baru", "ID", "Asia/Jakarta"))
        .await
        .expect_err("a taken slug");
    assert_eq!(err.code(), "conflict", "{err}");
    drop(tx);
    let mut tx = app.db.begin().await.expect("tx");
    let err = create(&a, &mut tx, &new("toko-lain", "ID", "Asia/Atlantis"))
        .await
        .expect_err("no such zone");
    assert!(err.to_string().starts_with("time_zone"), "{err}");
    let err = create(&a, &mut tx, &new("Toko Lain", "ID", "Asia/Jakarta"))
        .await
        .expect_err("bad slug");
    assert!(err.to_string().starts_with("slug"), "{err}");
}
crate::both!(create_shop, super::shops_are_created_with_their_policy);
