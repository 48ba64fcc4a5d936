//! The return portal over HTTP: a whole return from look-up to status page, and
//! bad input at every step (wrong details, tampered fields, a quantity above
//! what was delivered, a refused item, missing or forged CSRF tokens, a replayed
//! form), each answered in the page's language and changing nothing.

use jiff::{Timestamp, ToSpan};
use kembali_core::policy::{Fee, PolicyDocument};
use kembali_core::returns::ReturnMethod;
use kembali_core::{Currency, Money};
use serde_json::{Value, json};

use crate::fixtures::s;
use crate::support::TestApp;

/// The shop's policy in these tests: 30 days, drop-off with a 9.99 zł label,
/// in-store free, store credit with a 10 % bonus; final sale is final; the
/// warranty (24 months, defects) and delivery claims (14 days) are on; returns
/// are approved automatically, so their labels can be printed at once.
pub fn policy() -> PolicyDocument {
    let mut p = PolicyDocument::default();
    p.defaults.auto_approve = true;
    p.warranty = Some(kembali_core::policy::Warranty::default());
    p.delivery_claims = Some(kembali_core::policy::DeliveryClaims::default());
    p.defaults.methods = vec![ReturnMethod::DropOff, ReturnMethod::InStore];
    p.defaults.return_shipping_fee = Fee {
        fixed: [(Currency::PLN, 999)].into_iter().collect(),
        methods: Some(vec![ReturnMethod::DropOff]),
        ..Fee::default()
    };
    p.defaults.store_credit_bonus_bps = 1000;
    let _ = Money::zero(Currency::PLN);
    p
}

/// What a portal test works with: the order, its lines and the exchange variant.
pub struct Seeded {
    pub order: Value,
    pub shirt: String,
    pub final_sale: String,
    pub larger: String,
}

/// How a seeded order differs: how it was paid, how many days ago it was
/// delivered, and where it went.
pub struct Shape {
    pub payment: &'static str,
    pub delivered_days_ago: i64,
    pub address: Value,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            payment: "card",
            delivered_days_ago: 3,
            address: json!({"name": "Anna Nowak", "line1": "ul. Długa 5", "city": "Gdańsk",
                "postal_code": "80-827", "country": "PL"}),
        }
    }
}

/// A Warsaw address: the example drop-off points are near it.
pub fn warsaw() -> Value {
    json!({"name": "Anna Nowak", "line1": "ul. Marszałkowska 100", "city": "Warszawa",
        "postal_code": "00-017", "country": "PL"})
}

/// A product with two shirt sizes (L in stock), and a card order of a shirt M
/// (two units) and a final-sale scarf, delivered three days ago.
pub async fn seed(app: &TestApp, number: &str) -> Seeded {
    seed_with(app, number, Shape::default()).await
}

/// [`seed`], shaped.
pub async fn seed_with(app: &TestApp, number: &str, shape: Shape) -> Seeded {
    let product = app
        .post(
            "/api/v1/products",
            &json!({"title": "Koszula lniana", "currency": "PLN", "variants": [
                {"sku": format!("LIN-M-{number}"), "title": "Koszula lniana M", "price": 15_000, "stock": 3},
                {"sku": format!("LIN-L-{number}"), "title": "Koszula lniana L", "price": 16_000, "stock": 2}
            ]}),
        )
        .await;
    assert_eq!(product.status, 201, "{}", product.body);
    let variant = |sku: &str| {
        product.body["variants"]
            .as_array()
            .and_then(|v| v.iter().find(|x| x["sku"] == sku))
            .map(|x| s(&x["id"]))
            .expect("variant")
    };
    let (medium, larger) = (
        variant(&format!("LIN-M-{number}")),
        variant(&format!("LIN-L-{number}")),
    );
    let delivered = Timestamp::now() - (shape.delivered_days_ago * 24).hours();
    let placed = delivered - 72.hours();
    let order = app
        .post(
            "/api/v1/orders",
            &json!({
                "number": number, "email": "anna.nowak@example.pl", "customer_name": "Anna Nowak",
                "locale": "pl", "currency": "PLN", "placed_at": placed.to_string(),
                "payment_method": shape.payment,
                "shipping_address": shape.address,
                "shipping_paid": 1499,
                "lines": [
                    {"sku": format!("LIN-M-{number}"), "title": "Koszula lniana M", "quantity": 2,
                     "unit_price": 15_000, "product_id": product.body["id"], "variant_id": medium},
                    {"sku": "SCARF", "title": "Szal z wyprzedaży", "quantity": 1, "unit_price": 4_000,
                     "final_sale": true}
                ],
                "shipments": [{"carrier": "InPost", "tracking_number": format!("T{number}"), "status": "delivered",
                    "shipped_at": (placed + 24.hours()).to_string(), "delivered_at": delivered.to_string(),
                    "lines": [{"line": 0, "quantity": 2}, {"line": 1, "quantity": 1}]}]
            }),
        )
        .await;
    assert_eq!(order.status, 201, "{}", order.body);
    let body = order.body;
    Seeded {
        shirt: s(&body["lines"][0]["id"]),
        final_sale: s(&body["lines"][1]["id"]),
        larger,
        order: body,
    }
}

/// A browser without JavaScript: keeps the session cookie, follows nothing by
/// itself, and reads the CSRF token and the draft off each page.
pub struct Shopper<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: std::collections::BTreeMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The value of the first hidden input named `name`.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} on the page:\n{}", self.body));
        let rest = &self.body[at + marker.len()..];
        rest[..rest.find('"').unwrap_or(0)].to_owned()
    }
}

impl<'a> Shopper<'a> {
    pub fn new(app: &'a TestApp) -> Shopper<'a> {
        Shopper::sending(app, reqwest::header::HeaderMap::new())
    }

    /// A shopper whose every request reaches the app through a proxy that
    /// says it forwards `client`.
    pub fn forwarded_for(app: &'a TestApp, client: &str) -> Shopper<'a> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            client.parse().expect("an address as a header value"),
        );
        Shopper::sending(app, headers)
    }

    fn sending(app: &'a TestApp, headers: reqwest::header::HeaderMap) -> Shopper<'a> {
        Shopper {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .expect("client"),
            cookies: std::collections::BTreeMap::new(),
        }
    }

    async fn keep(&mut self, res: reqwest::Response) -> Page {
        for v in res.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap_or("").split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: res.status().as_u16(),
            location: res
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned),
            body: res.text().await.expect("body"),
        }
    }

    fn cookie(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let res = self
            .client
            .get(self.app.url(path))
            .header("cookie", self.cookie())
            .send()
            .await
            .expect("get");
        self.keep(res).await
    }

    /// Posts `fields` with two 26 MB files under `photos`: more than any form
    /// with photos takes (five photos at their largest), so the answer is a
    /// 413 before anything is read.
    pub async fn post_too_large(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        photos: &str,
    ) -> Page {
        let big = vec![0xFF_u8; 26 * 1024 * 1024];
        self.post_multipart(
            path,
            fields,
            &[(photos, "a.jpg", big.clone()), (photos, "b.jpg", big)],
        )
        .await
    }

    /// Posts `fields` and `files` (input name, file name, bytes) as
    /// `multipart/form-data`, as a browser sends a form with file inputs.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
    ) -> Page {
        let boundary = "----kembaliTestBoundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, filename, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                     filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let res = self
            .client
            .post(self.app.url(path))
            .header("cookie", self.cookie())
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .expect("post");
        self.keep(res).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(form).expect("form");
        let res = self
            .client
            .post(self.app.url(path))
            .header("cookie", self.cookie())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("post");
        self.keep(res).await
    }

    /// Looks the order up and returns the order page's path.
    pub async fn find(&mut self, lang: &str, number: &str, proof: &str) -> Page {
        let start = self.get(&format!("/portal/test-shop?lang={lang}")).await;
        assert_eq!(start.status, 200, "{}", start.body);
        let csrf = start.hidden("csrf");
        self.post(
            "/portal/test-shop",
            &[("csrf", &csrf), ("number", number), ("proof", proof)],
        )
        .await
    }
}

/// The returns of the order, as the API reads them.
pub async fn returns_of(app: &TestApp, order: &Value) -> Vec<Value> {
    let r = app
        .get(&format!("/api/v1/returns?order_id={}", s(&order["id"])))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"].as_array().cloned().unwrap_or_default()
}

async fn a_card_return_from_look_up_to_status(app: &TestApp) {
    let o = seed(app, "#P-1").await;
    let mut shopper = Shopper::new(app);
    let found = shopper.find("en", "P-1", "80 827").await;
    assert_eq!(found.status, 303, "{}", found.body);
    let order_path = found.location.expect("to the order");
    let page = shopper.get(&order_path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<html lang=\"en\""), "{}", page.body);
    assert!(page.body.contains("This item was a final-sale item."));
    assert!(
        page.body.contains("zł in store credit instead of"),
        "the bonus is shown: {}",
        page.body
    );
    let csrf = page.hidden("csrf");
    let q = format!("q.{}", o.shirt);
    let reason = format!("reason.{}", o.shirt);
    let outcome = format!("outcome.{}", o.shirt);
    let chosen = shopper
        .post(
            &order_path,
            &[
                ("csrf", &csrf),
                (&q, "1"),
                (&reason, "wrong_size"),
                (&outcome, "refund"),
            ],
        )
        .await;
    let method = shopper.get(&to_step(&chosen, "/method")).await;
    assert!(method.body.contains("fee 9.99"), "{}", method.body);
    let review = shopper.pick_method(&order_path, &method, "drop_off").await;
    assert_eq!(review.status, 200, "{}", review.body);
    // 150.00 paid for one shirt, 9.99 for the label: 140.01 back, all shown.
    assert!(review.body.contains("150.00"), "{}", review.body);
    assert!(review.body.contains("9.99"), "{}", review.body);
    assert!(review.body.contains("140.01"), "{}", review.body);
    let done = shopper.confirm(&review, &order_path).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let status_path = done.location.expect("to the status page");
    let status = shopper.get(&status_path).await;
    assert!(
        status.body.contains("Your return is registered"),
        "{}",
        status.body
    );
    assert!(status.body.contains("R-1"), "{}", status.body);
    let rets = returns_of(app, &o.order).await;
    assert_eq!(rets.len(), 1);
    let ret = app
        .get(&format!("/api/v1/returns/{}", s(&rets[0]["id"])))
        .await
        .body;
    // What the API stored is what the review showed.
    assert_eq!(ret["quote"]["refund_total"]["amount"], 14_001, "{ret}");
    assert_eq!(ret["timeline"][0]["actor"]["type"], "shopper");

    // The same confirm form again: refused, and no second return.
    let again = shopper.confirm(&review, &order_path).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("This form was already sent"));
    assert_eq!(returns_of(app, &o.order).await.len(), 1);

    // The status page in Polish, with its timeline; the cookie keeps the language.
    let pl = shopper
        .get(&format!(
            "{}?lang=pl",
            status_path.split('?').next().unwrap_or("")
        ))
        .await;
    assert!(pl.body.contains("<html lang=\"pl\""));
    assert!(pl.body.contains("Zgłoszony"), "{}", pl.body);

    // An exchange for the L, the price difference shown (in English again:
    // the cookie kept Polish until the switcher changes it).
    let page = shopper.get(&format!("{order_path}?lang=en")).await;
    assert!(page.body.contains("<html lang=\"en\""));
    let exchange = format!("exchange:{}", o.larger);
    let chosen = shopper
        .post(
            &order_path,
            &[
                ("csrf", &page.hidden("csrf")),
                (&q, "1"),
                (&reason, "wrong_size"),
                (&outcome, &exchange),
            ],
        )
        .await;
    let review = shopper
        .walk_to_review(&order_path, &chosen, "in_store")
        .await;
    assert!(review.body.contains("you pay 10.00"), "{}", review.body);
    let done = shopper.confirm(&review, &order_path).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let rets = returns_of(app, &o.order).await;
    assert_eq!(rets.len(), 2);
    app.drain().await;
}
crate::both!(
    card_return,
    super::a_card_return_from_look_up_to_status,
    super::policy()
);

async fn bad_input_changes_nothing(app: &TestApp) {
    let o = seed(app, "#P-2").await;
    let mut shopper = Shopper::new(app);

    // Wrong details: one neutral message, in the page's language.
    let wrong = shopper.find("id", "P-2", "someone@example.com").await;
    assert_eq!(wrong.status, 404);
    assert!(
        wrong.body.contains("Kami tidak menemukan pesanan"),
        "{}",
        wrong.body
    );
    let unknown = shopper.find("id", "NOPE", "anna.nowak@example.pl").await;
    assert_eq!(unknown.status, 404);
    let neutral = |p: &Page| p.body.contains("Kami tidak menemukan pesanan");
    // Text no order number can be: not found, never a 500.
    for number in ["P-2\u{0}", &"9".repeat(5000)] {
        let odd = shopper.find("id", number, "anna.nowak@example.pl").await;
        assert_eq!(odd.status, 404, "{}", odd.body);
        assert!(neutral(&odd));
    }
    assert!(neutral(&unknown), "the same message for a wrong number");

    // Missing and forged CSRF tokens.
    let missing = shopper
        .post(
            "/portal/test-shop?lang=pl",
            &[("number", "P-2"), ("proof", "anna.nowak@example.pl")],
        )
        .await;
    assert_eq!(missing.status, 403);
    assert!(
        missing.body.contains("Ten formularz wygasł"),
        "{}",
        missing.body
    );
    let forged = shopper
        .post(
            "/portal/test-shop?lang=pl",
            &[
                ("csrf", "abc.99999999999999.AAAAAAAAAAAAAAAAAAAAAA"),
                ("number", "P-2"),
                ("proof", "anna.nowak@example.pl"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);

    let found = shopper.find("pl", "#P-2", "Anna.Nowak@example.pl").await;
    assert_eq!(found.status, 303, "{}", found.body);
    let order_path = found.location.expect("order");
    // A tampered link.
    let tampered_link = shopper.get(&format!("{order_path}x")).await;
    assert_eq!(tampered_link.status, 403);
    assert!(tampered_link.body.contains("Ten link jest nieprawidłowy"));

    let page = shopper.get(&order_path).await;
    let csrf = page.hidden("csrf");
    let q = format!("q.{}", o.shirt);
    let reason = format!("reason.{}", o.shirt);
    let outcome = format!("outcome.{}", o.shirt);
    // More than was delivered.
    let too_many = shopper
        .post(
            &order_path,
            &[
                ("csrf", &csrf),
                (&q, "3"),
                (&reason, "wrong_size"),
                (&outcome, "refund"),
            ],
        )
        .await;
    assert_eq!(too_many.status, 422, "{}", too_many.body);
    assert!(
        too_many.body.contains("Możesz zwrócić najwyżej 2"),
        "{}",
        too_many.body
    );
    // The final-sale item.
    let fq = format!("q.{}", o.final_sale);
    let fr = format!("reason.{}", o.final_sale);
    let fo = format!("outcome.{}", o.final_sale);
    let refused = shopper
        .post(
            &order_path,
            &[
                ("csrf", &csrf),
                (&fq, "1"),
                (&fr, "changed_mind"),
                (&fo, "refund"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("wyprzedaż końcowa"),
        "{}",
        refused.body
    );
    // A line of no order, an outcome not offered, a variant of another product.
    for (field, value) in [
        (
            "q.line_00000000000000000000000000".to_owned(),
            "1".to_owned(),
        ),
        (
            outcome.clone(),
            "exchange:var_00000000000000000000000000".to_owned(),
        ),
        (outcome.clone(), "repair".to_owned()),
    ] {
        let mut form = vec![
            ("csrf", csrf.as_str()),
            (q.as_str(), "1"),
            (reason.as_str(), "wrong_size"),
        ];
        if field != outcome {
            form.push((outcome.as_str(), "refund"));
        }
        form.push((field.as_str(), value.as_str()));
        let r = shopper.post(&order_path, &form).await;
        assert!(
            r.status == 400 || r.status == 422,
            "{field}={value}: {} {}",
            r.status,
            r.body
        );
    }
    // A good choice, then a draft changed on the way.
    let chosen = shopper
        .post(
            &order_path,
            &[
                ("csrf", &csrf),
                (&q, "1"),
                (&reason, "wrong_size"),
                (&outcome, "refund"),
            ],
        )
        .await;
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    let method_path = chosen.location.clone().expect("method");
    let (path, draft) = method_path.split_once("?d=").expect("draft");
    let (body, sig) = draft.rsplit_once('.').expect("signed");
    let last = if body.ends_with('A') { "B" } else { "A" };
    let forged_draft = format!("{path}?d={}{last}.{sig}", &body[..body.len() - 1]);
    let bad = shopper.get(&forged_draft).await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("Formularz został po drodze zmieniony"),
        "{}",
        bad.body
    );
    // The confirm form without its token.
    let review = shopper
        .walk_to_review(&order_path, &chosen, "drop_off")
        .await;
    let no_token = shopper
        .post(
            &format!("{order_path}/review"),
            &[("d", &review.hidden("d"))],
        )
        .await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    // Another browser (another session) cannot use this page's token.
    let mut other = Shopper::new(app);
    let _ = other.get("/portal/test-shop").await;
    let stolen = other
        .post(
            &format!("{order_path}/review"),
            &[("csrf", &review.hidden("csrf")), ("d", &review.hidden("d"))],
        )
        .await;
    assert_eq!(stolen.status, 403, "{}", stolen.body);
    assert!(
        returns_of(app, &o.order).await.is_empty(),
        "nothing was opened"
    );

    // Too many failed look-ups of one number: refused even with the right details.
    let mut guesser = Shopper::new(app);
    // One failure of this number came before (the wrong email above).
    for n in 0..4 {
        let r = guesser
            .find("en", "P-2", &format!("guess{n}@example.com"))
            .await;
        assert_eq!(r.status, 404);
    }
    let limited = guesser.find("en", "P-2", "anna.nowak@example.pl").await;
    assert_eq!(limited.status, 429);
    assert!(limited.body.contains("Too many attempts"));
    app.drain().await;
}
crate::both!(bad_input, super::bad_input_changes_nothing, super::policy());

/// Twenty failed look-ups from one shopper lock that shopper out. Behind a
/// trusted proxy the shopper is the address the proxy forwards, so another
/// shopper behind the same proxy still gets in; without that setting the
/// header is nobody's word and both are the proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lookup_limit_is_per_shopper_behind_a_trusted_proxy() {
    use crate::support::{Backend, spawn_with};
    for (trusted, second_shopper) in [("127.0.0.1, ::1", 404), ("", 429)] {
        let cfg = kembali::Config {
            trusted_proxies: trusted.into(),
            ..kembali::Config::default()
        };
        let app = spawn_with(Backend::Sqlite, PolicyDocument::default(), cfg)
            .await
            .expect("sqlite");
        let mut guesser = Shopper::forwarded_for(&app, "203.0.113.1");
        for n in 0..kembali_app::portal::MAX_FAILURES_PER_CLIENT {
            let r = guesser
                .find("en", &format!("NOPE-{n}"), "x@example.com")
                .await;
            assert_eq!(r.status, 404, "look-up {n}: {}", r.body);
        }
        let limited = guesser.find("en", "NOPE-X", "x@example.com").await;
        assert_eq!(limited.status, 429, "{}", limited.body);
        let mut other = Shopper::forwarded_for(&app, "203.0.113.2");
        let r = other.find("en", "NOPE-Y", "y@example.com").await;
        assert_eq!(
            r.status, second_shopper,
            "trusted_proxies = {trusted:?}: {}",
            r.body
        );
        app.finish().await;
    }
}

async fn the_policy_page_speaks_three_languages(app: &TestApp) {
    let mut shopper = Shopper::new(app);
    for (lang, words) in [
        ("en", "You can return items within 30 days of delivery."),
        (
            "id",
            "Anda dapat mengembalikan barang dalam 30 hari sejak barang diterima.",
        ),
        ("pl", "Produkty możesz zwrócić w ciągu 30 dni od dostawy."),
    ] {
        let p = shopper
            .get(&format!("/portal/test-shop/policy?lang={lang}"))
            .await;
        assert_eq!(p.status, 200);
        assert!(p.body.contains(&format!("<html lang=\"{lang}\"")));
        assert!(p.body.contains(words), "{lang}: {}", p.body);
    }
    // The fee comes from the document: change it and the page follows.
    let mut doc = serde_json::to_value(policy()).expect("policy");
    doc["defaults"]["window_days"] = json!(45);
    let put = app
        .send(
            app.client
                .put(app.url("/api/v1/policy"))
                .bearer_auth(&app.key)
                .json(&doc),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let p = shopper.get("/portal/test-shop/policy?lang=en").await;
    assert!(p.body.contains("within 45 days"), "{}", p.body);
    let unknown = shopper.get("/portal/no-such-shop?lang=pl").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("Nie znaleziono strony"));
}
async fn an_emailed_link_opens_the_order_until_it_expires(app: &TestApp) {
    let o = seed(app, "#P-3").await;
    let order_id = s(&o.order["id"]).parse().expect("order id");
    let core = kembali_app::App::with(
        app.db.clone(),
        app.clock.clone(),
        std::sync::Arc::new(kembali_store::OsEntropy),
    );
    let link = kembali_web::portal::order_link(&core, &app.shop, order_id)
        .await
        .expect("link");
    let mut shopper = Shopper::new(app);
    let page = shopper.get(&format!("{link}?lang=en")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Order #P-3"), "{}", page.body);
    app.clock.advance(jiff::SignedDuration::from_hours(31 * 24));
    let expired = shopper.get(&link).await;
    assert_eq!(expired.status, 403);
    assert!(
        expired
            .body
            .contains("This link is not valid or has expired")
    );
}
crate::both!(
    emailed_link,
    super::an_emailed_link_opens_the_order_until_it_expires,
    super::policy()
);

crate::both!(
    policy_page,
    super::the_policy_page_speaks_three_languages,
    super::policy()
);

// ---------------------------------------------------------------- refunds, claims, points, labels

impl Shopper<'_> {
    /// Sends `page`'s form (its CSRF token and draft) to `path` with `fields`.
    pub async fn send(&mut self, page: &Page, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = page.hidden("csrf");
        let mut form = vec![("csrf", csrf.as_str())];
        let d = page
            .body
            .contains("name=\"d\" value=\"")
            .then(|| page.hidden("d"));
        if let Some(d) = &d {
            form.push(("d", d.as_str()));
        }
        form.extend_from_slice(fields);
        self.post(path, &form).await
    }

    /// Chooses one unit of `line` with `outcome` on the order page and answers
    /// the redirect.
    pub async fn choose(&mut self, order_path: &str, line: &str, outcome: &str) -> Page {
        let page = self.get(order_path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let (q, r, o) = (
            format!("q.{line}"),
            format!("reason.{line}"),
            format!("outcome.{line}"),
        );
        self.send(
            &page,
            order_path,
            &[(&q, "1"), (&r, "wrong_size"), (&o, outcome)],
        )
        .await
    }
}

impl Shopper<'_> {
    /// On the method page `method`, picks `chosen` and opens the review it
    /// leads to.
    pub async fn pick_method(&mut self, order_path: &str, method: &Page, chosen: &str) -> Page {
        let picked = self
            .send(
                method,
                &format!("{order_path}/method"),
                &[("method", chosen)],
            )
            .await;
        self.get(&to_step(&picked, "/review")).await
    }

    /// From `to_method`, a redirect to the method step: opens it, picks
    /// `chosen` and opens the review.
    pub async fn walk_to_review(
        &mut self,
        order_path: &str,
        to_method: &Page,
        chosen: &str,
    ) -> Page {
        let method = self.get(&to_step(to_method, "/method")).await;
        self.pick_method(order_path, &method, chosen).await
    }

    /// Sends the review's confirm form; the answer.
    pub async fn confirm(&mut self, review: &Page, order_path: &str) -> Page {
        self.send(review, &format!("{order_path}/review"), &[])
            .await
    }
}

/// The path of a redirect, checked to be a 303 to `step`.
fn to_step(p: &Page, step: &str) -> String {
    assert_eq!(p.status, 303, "{}", p.body);
    let to = p.location.clone().expect("a redirect");
    assert!(to.contains(step), "expected the {step} step, went to {to}");
    to
}

/// The return the API has for `order` (its only one).
pub async fn the_return(app: &TestApp, order: &Value) -> Value {
    let rets = returns_of(app, order).await;
    assert_eq!(rets.len(), 1, "{rets:?}");
    app.get(&format!("/api/v1/returns/{}", s(&rets[0]["id"])))
        .await
        .body
}

/// What the store holds as the refund's destination, whole (the payer's view).
async fn stored_destination(
    app: &TestApp,
    ret: &Value,
) -> Option<kembali_core::payout::RefundDestination> {
    let id = s(&ret["id"]).parse().expect("return id");
    let mut conn = app.db.conn().await.expect("conn");
    kembali_store::returns::get(&mut conn, app.shop.id, id)
        .await
        .expect("read")
        .expect("stored")
        .refund_destination
}

async fn a_cash_on_delivery_refund_goes_to_a_bank_account(app: &TestApp) {
    let o = seed_with(
        app,
        "#P-4",
        Shape {
            payment: "cash_on_delivery",
            ..Shape::default()
        },
    )
    .await;
    let mut shopper = Shopper::new(app);
    let found = shopper.find("pl", "P-4", "80-827").await;
    let order_path = to_step(&found, "/o/");
    // A refund of cash on delivery: where the money goes comes first.
    let chosen = shopper.choose(&order_path, &o.shirt, "refund").await;
    let refund = shopper.get(&to_step(&chosen, "/refund")).await;
    assert_eq!(refund.status, 200, "{}", refund.body);
    assert!(refund.body.contains("Dokąd przesłać zwrot pieniędzy?"));
    assert!(refund.body.contains("name=\"iban\""), "{}", refund.body);
    assert!(
        !refund.body.contains("name=\"bank\""),
        "a Polish order has IBANs"
    );
    let path = format!("{order_path}/refund");
    let bank = |iban: &'static str, holder: &'static str| {
        vec![("kind", "bank_account"), ("holder", holder), ("iban", iban)]
    };
    for (fields, status, words) in [
        (
            bank("PL61 1090 1014 0000 0712 1981 2875", "Anna Nowak"),
            422,
            "IBAN: cyfry kontrolne się nie zgadzają",
        ),
        (
            bank("PL61 1090 1014 0000 0712 1981 287", "Anna Nowak"),
            422,
            "IBAN: IBAN z kraju PL ma długość 28, a nie 27",
        ),
        (
            bank("PL61 1090 1014 0000 0712 1981 2874", " "),
            422,
            "Imię i nazwisko właściciela konta: uzupełnij to pole.",
        ),
        (vec![], 422, "Wybierz, dokąd mamy przesłać zwrot pieniędzy."),
        (
            vec![("kind", "cash")],
            400,
            "Formularz został po drodze zmieniony",
        ),
    ] {
        let r = shopper.send(&refund, &path, &fields).await;
        assert_eq!(r.status, status, "{fields:?}: {}", r.body);
        assert!(r.body.contains(words), "{fields:?}: {}", r.body);
        assert!(r.body.contains("<html lang=\"pl\""));
    }
    assert!(
        returns_of(app, &o.order).await.is_empty(),
        "nothing written"
    );
    // Without the form's CSRF token: refused, in Polish, nothing written.
    let d = refund.hidden("d");
    let forged = shopper
        .post(&path, &[("d", d.as_str()), ("kind", "store_credit")])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(
        forged.body.contains("Ten formularz wygasł"),
        "{}",
        forged.body
    );
    assert!(returns_of(app, &o.order).await.is_empty());

    let ok = shopper
        .send(
            &refund,
            &path,
            &bank("pl61 1090 1014 0000 0712 1981 2874", "Anna Nowak"),
        )
        .await;
    let method_path = to_step(&ok, "/method");
    // The draft is encrypted: the account number is in no address.
    assert!(!method_path.contains("1090"), "{method_path}");
    let method = shopper.get(&method_path).await;
    assert!(method.body.contains("9,99"), "{}", method.body);
    // No drop-off points near Gdańsk in this shop: straight to the review.
    let review = shopper.pick_method(&order_path, &method, "drop_off").await;
    assert_eq!(review.status, 200, "{}", review.body);
    assert!(review.body.contains("••••2874"), "{}", review.body);
    assert!(
        !review.body.contains("1090 1014"),
        "masked: {}",
        review.body
    );
    assert!(!review.body.contains("10901014"), "masked: {}", review.body);
    let done = shopper.confirm(&review, &order_path).await;
    let status = shopper.get(&to_step(&done, "/r/")).await;
    assert!(status.body.contains("••••2874"), "{}", status.body);
    assert!(!status.body.contains("10901014"));

    let ret = the_return(app, &o.order).await;
    assert_eq!(
        ret["refund_destination"],
        json!({"kind": "bank_account", "holder": "Anna Nowak", "iban_country": "PL",
               "account": "••••2874"}),
        "{ret}"
    );
    assert_eq!(
        stored_destination(app, &ret).await,
        Some(kembali_core::payout::RefundDestination::BankAccount {
            holder: "Anna Nowak".into(),
            account: kembali_core::payout::Account::Iban {
                iban: "PL61109010140000071219812874".into()
            }
        })
    );
    app.drain().await;
}
crate::both!(
    cod_bank_account,
    super::a_cash_on_delivery_refund_goes_to_a_bank_account,
    super::policy()
);

async fn an_indonesian_refund_goes_to_a_bank_or_an_e_wallet(app: &TestApp) {
    let o = seed_with(
        app,
        "#P-5",
        Shape {
            payment: "cash_on_delivery",
            address: json!({"name": "Budi Santoso", "line1": "Jl. Cikini Raya No. 60",
                "city": "Jakarta Pusat", "postal_code": "10330", "country": "ID"}),
            ..Shape::default()
        },
    )
    .await;
    let mut shopper = Shopper::new(app);
    let found = shopper.find("id", "P-5", "10330").await;
    let order_path = to_step(&found, "/o/");
    let chosen = shopper.choose(&order_path, &o.shirt, "refund").await;
    let refund = shopper.get(&to_step(&chosen, "/refund")).await;
    assert!(refund.body.contains("name=\"bank\""), "{}", refund.body);
    assert!(refund.body.contains("Bank Mandiri"));
    assert!(refund.body.contains("name=\"phone\""));
    let path = format!("{order_path}/refund");
    for (fields, words) in [
        (
            vec![
                ("kind", "bank_account"),
                ("holder", "Budi Santoso"),
                ("bank", "bank_of_nowhere"),
                ("account_number", "1234567890"),
            ],
            "Bank: mohon pilih bank Anda dari daftar.",
        ),
        (
            vec![
                ("kind", "bank_account"),
                ("holder", "Budi Santoso"),
                ("bank", "bca"),
                ("account_number", "123 456 789"),
            ],
            "Nomor rekening: nomor rekening BCA terdiri dari 10 digit, bukan 9.",
        ),
        (
            vec![
                ("kind", "bank_account"),
                ("holder", "Budi Santoso"),
                ("bank", "cimb_niaga"),
                ("account_number", "123456789012"),
            ],
            "terdiri dari 13 atau 14 digit, bukan 12",
        ),
        (
            vec![
                ("kind", "e_wallet"),
                ("provider", "gopay"),
                ("phone", "12345"),
            ],
            "Nomor ponsel dompet digital: ini bukan nomor ponsel Indonesia",
        ),
    ] {
        let r = shopper.send(&refund, &path, &fields).await;
        assert_eq!(r.status, 422, "{fields:?}: {}", r.body);
        assert!(r.body.contains(words), "{fields:?}: {}", r.body);
    }
    assert!(
        returns_of(app, &o.order).await.is_empty(),
        "nothing written"
    );
    let ok = shopper
        .send(
            &refund,
            &path,
            &[
                ("kind", "e_wallet"),
                ("provider", "gopay"),
                ("phone", "0812-3456-7890"),
            ],
        )
        .await;
    let review = shopper.walk_to_review(&order_path, &ok, "in_store").await;
    assert!(
        review.body.contains("dompet digital GoPay ••••7890"),
        "{}",
        review.body
    );
    assert!(!review.body.contains("3456"), "{}", review.body);
    let done = shopper.confirm(&review, &order_path).await;
    to_step(&done, "/r/");
    let ret = the_return(app, &o.order).await;
    assert_eq!(
        ret["refund_destination"],
        json!({"kind": "e_wallet", "provider": "gopay", "account": "••••7890"}),
        "{ret}"
    );
    assert_eq!(
        stored_destination(app, &ret).await,
        Some(kembali_core::payout::RefundDestination::EWallet {
            provider: kembali_core::payout::EWalletProvider::Gopay,
            phone: "+6281234567890".into(),
            holder: None,
        })
    );
    app.drain().await;
}
crate::both!(
    cod_indonesia,
    super::an_indonesian_refund_goes_to_a_bank_or_an_e_wallet,
    super::policy()
);

/// An order `number` delivered 200 days ago (its return windows over, its
/// warranty not), found by a shopper in English: the seed, the shopper and the
/// order's page path.
async fn past_return_windows<'a>(app: &'a TestApp, number: &str) -> (Seeded, Shopper<'a>, String) {
    let old = seed_with(
        app,
        &format!("#{number}"),
        Shape {
            delivered_days_ago: 200,
            ..Shape::default()
        },
    )
    .await;
    let mut shopper = Shopper::new(app);
    let found = shopper.find("en", number, "80-827").await;
    let order_path = to_step(&found, "/o/");
    (old, shopper, order_path)
}

async fn warranty_and_delivery_claims(app: &TestApp) {
    // Delivered 200 days ago: the return windows are over, the warranty is not,
    // and the 14 days for a delivery claim are long gone.
    let (old, mut shopper, order_path) = past_return_windows(app, "P-6").await;
    let page = shopper.get(&order_path).await;
    let link = format!("{order_path}/claim/{}?kind=warranty", old.shirt);
    assert!(page.body.contains(&link), "{}", page.body);
    assert!(page.body.contains("Report a defect (warranty)"));
    assert!(
        !page.body.contains("Report a delivery problem"),
        "{}",
        page.body
    );
    let claim = shopper.get(&link).await;
    assert_eq!(claim.status, 200, "{}", claim.body);
    assert!(
        claim
            .body
            .contains("The shop must answer your complaint by"),
        "an EU complaint names its answer date: {}",
        claim.body
    );
    let path = format!("{order_path}/claim/{}", old.shirt);
    // A delivery claim long after its 14 days: refused with its window.
    let late = shopper
        .send(
            &claim,
            &path,
            &[
                ("kind", "delivery"),
                ("claim", "damaged_in_transit"),
                ("q", "1"),
                ("outcome", "refund"),
            ],
        )
        .await;
    assert_eq!(late.status, 422, "{}", late.body);
    assert!(
        late.body.contains("The 14-day window ended on"),
        "{}",
        late.body
    );
    // Outcomes the warranty does not offer, quantities it cannot take.
    let refund = shopper
        .send(
            &claim,
            &path,
            &[
                ("kind", "warranty"),
                ("reason", "defective"),
                ("q", "1"),
                ("outcome", "refund"),
            ],
        )
        .await;
    assert_eq!(refund.status, 400, "{}", refund.body);
    let many = shopper
        .send(
            &claim,
            &path,
            &[
                ("kind", "warranty"),
                ("reason", "defective"),
                ("q", "3"),
                ("outcome", "repair"),
            ],
        )
        .await;
    assert_eq!(many.status, 422, "{}", many.body);
    let no_token = shopper
        .post(
            &path,
            &[
                ("kind", "warranty"),
                ("reason", "defective"),
                ("q", "1"),
                ("outcome", "repair"),
            ],
        )
        .await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    assert!(
        returns_of(app, &old.order).await.is_empty(),
        "nothing written"
    );

    let ok = shopper
        .send(
            &claim,
            &path,
            &[
                ("kind", "warranty"),
                ("reason", "defective"),
                ("q", "1"),
                ("outcome", "repair"),
                ("comment", "Szew puścił"),
            ],
        )
        .await;
    let method = shopper.get(&to_step(&ok, "/method")).await;
    assert!(
        method.body.contains("free"),
        "a claim is free: {}",
        method.body
    );
    let review = shopper.pick_method(&order_path, &method, "drop_off").await;
    assert!(
        review.body.contains("Warranty complaint"),
        "{}",
        review.body
    );
    assert!(
        review
            .body
            .contains("if it does not, your complaint is accepted"),
        "{}",
        review.body
    );
    assert!(!review.body.contains("9.99"), "no fee: {}", review.body);
    let done = shopper.confirm(&review, &order_path).await;
    let status = shopper.get(&to_step(&done, "/r/")).await;
    assert!(
        status.body.contains("Warranty complaint"),
        "{}",
        status.body
    );
    let ret = the_return(app, &old.order).await;
    let d = &ret["items"][0]["decision"];
    assert_eq!(d["basis"], "warranty", "{ret}");
    assert_eq!(ret["items"][0]["resolution"], "repair");
    assert!(d["answer_due_by"].is_string(), "{d}");
    assert_eq!(ret["quote"]["fees"], json!([]), "{ret}");

    // A parcel short of an item, three days after delivery: nothing travels,
    // straight to the review.
    let fresh = seed(app, "#P-7").await;
    let found = shopper.find("pl", "P-7", "80-827").await;
    let order_path = to_step(&found, "/o/");
    let page = shopper.get(&order_path).await;
    let link = format!("{order_path}/claim/{}?kind=delivery", fresh.shirt);
    assert!(page.body.contains(&link), "{}", page.body);
    let claim = shopper.get(&link).await;
    assert!(
        claim.body.contains("Brakowało go w paczce"),
        "{}",
        claim.body
    );
    let path = format!("{order_path}/claim/{}", fresh.shirt);
    let none = shopper
        .send(
            &claim,
            &path,
            &[("kind", "delivery"), ("q", "1"), ("outcome", "refund")],
        )
        .await;
    assert_eq!(none.status, 422, "{}", none.body);
    assert!(none.body.contains("Wybierz, co się stało z przesyłką."));
    let ok = shopper
        .send(
            &claim,
            &path,
            &[
                ("kind", "delivery"),
                ("claim", "missing_item"),
                ("q", "1"),
                ("outcome", "refund"),
            ],
        )
        .await;
    let review = shopper.get(&to_step(&ok, "/review")).await;
    assert!(
        review
            .body
            .contains("Reklamacja dostawy: Brakowało go w paczce"),
        "{}",
        review.body
    );
    let done = shopper.confirm(&review, &order_path).await;
    to_step(&done, "/r/");
    let ret = the_return(app, &fresh.order).await;
    assert_eq!(ret["method"], "no_shipping", "{ret}");
    assert_eq!(ret["items"][0]["decision"]["basis"], "delivery_claim");
    app.drain().await;
}
crate::both!(claims, super::warranty_and_delivery_claims, super::policy());

/// The documented example drop-off points, and a return address for labels.
pub async fn points_and_address(app: &TestApp) {
    let csv = include_str!("../../../../docs/examples/dropoff_points.csv");
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/imports/dropoff-points"))
                .bearer_auth(&app.key)
                .header("content-type", "text/csv")
                .body(csv.to_owned()),
        )
        .await;
    assert!(r.status == 200 || r.status == 201, "{}", r.body);
    let address = json!({"return_address": {"name": "Magazyn Zwrotów Test Shop",
        "line1": "ul. Logistyczna 7", "city": "Stryków", "postal_code": "95-010",
        "country": "PL"}});
    let r = app
        .send(
            app.client
                .patch(app.url("/api/v1/shop"))
                .bearer_auth(&app.key)
                .json(&address),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The bytes and content type of a portal download.
pub async fn download(app: &TestApp, path: &str) -> (u16, String, Vec<u8>) {
    let res = app.client.get(app.url(path)).send().await.expect("get");
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, res.bytes().await.expect("body").to_vec())
}

async fn a_drop_off_point_and_the_label(app: &TestApp) {
    points_and_address(app).await;
    let o = seed_with(
        app,
        "#P-8",
        Shape {
            address: warsaw(),
            ..Shape::default()
        },
    )
    .await;
    let mut shopper = Shopper::new(app);
    let found = shopper.find("en", "P-8", "00-017").await;
    let order_path = to_step(&found, "/o/");
    let chosen = shopper.choose(&order_path, &o.shirt, "refund").await;
    let method = shopper.get(&to_step(&chosen, "/method")).await;
    let picked = shopper
        .send(
            &method,
            &format!("{order_path}/method"),
            &[("method", "drop_off")],
        )
        .await;
    let points = shopper.get(&to_step(&picked, "/point")).await;
    assert_eq!(points.status, 200, "{}", points.body);
    assert!(points.body.contains("Paczkomat WAW02M"), "{}", points.body);
    assert!(points.body.contains("open 24/7"), "{}", points.body);
    let path = format!("{order_path}/point");
    let none = shopper.send(&points, &path, &[]).await;
    assert_eq!(none.status, 422, "{}", none.body);
    assert!(none.body.contains("Please choose a drop-off point."));
    let far = shopper
        .send(&points, &path, &[("point", "inpost:NOWHERE")])
        .await;
    assert_eq!(far.status, 400, "{}", far.body);
    let ok = shopper
        .send(&points, &path, &[("point", "inpost:WAW02M")])
        .await;
    let review = shopper.get(&to_step(&ok, "/review")).await;
    assert!(review.body.contains("Paczkomat WAW02M"), "{}", review.body);
    let done = shopper.confirm(&review, &order_path).await;
    let status_path = to_step(&done, "/r/");
    let status = shopper.get(&status_path).await;
    assert!(status.body.contains("Paczkomat WAW02M"), "{}", status.body);
    assert!(status.body.contains("id=\"label-slot\""), "{}", status.body);
    let ret = the_return(app, &o.order).await;
    let number = s(&ret["number"]);
    let base = status_path.split('?').next().unwrap_or("").to_owned();
    // The point is kept with the return: the API says it, and the status page
    // opened later (its plain link, another browser) still names it.
    assert_eq!(
        ret["dropoff_point"],
        json!({"carrier": "inpost", "id": "WAW02M"}),
        "{ret}"
    );
    let later = Shopper::new(app).get(&format!("{base}?lang=en")).await;
    assert_eq!(later.status, 200, "{}", later.body);
    assert!(later.body.contains("Paczkomat WAW02M"), "{}", later.body);
    // Through the API: a point the shop does not have, or one on a return
    // that is not handed in at a point, is refused on `dropoff_point`.
    for (method, point) in [
        ("drop_off", json!({"carrier": "inpost", "id": "NOWHERE"})),
        ("in_store", json!({"carrier": "inpost", "id": "WAW02M"})),
    ] {
        let body = json!({"order_id": o.order["id"], "method": method,
            "items": [{"line_id": o.shirt, "quantity": 1, "reason": "wrong_size",
                       "resolution": "refund"}],
            "dropoff_point": point});
        let r = app.post("/api/v1/returns", &body).await;
        assert_eq!(r.status, 422, "{method}: {}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "dropoff_point", "{}", r.body);
    }
    assert_eq!(returns_of(app, &o.order).await.len(), 1, "nothing opened");
    for (file, ct) in [
        ("label.pdf", "application/pdf"),
        ("label.zpl", "application/zpl; charset=utf-8"),
        ("packing-slip.pdf", "application/pdf"),
    ] {
        let link = format!("{base}/{file}?lang=en");
        assert!(status.body.contains(&link), "{link}: {}", status.body);
        let (code, got, bytes) = download(app, &link).await;
        assert_eq!(code, 200, "{file}: {}", String::from_utf8_lossy(&bytes));
        assert_eq!(got, ct);
        if file == "label.pdf" {
            let text = crate::shipping::pdf_text(&bytes);
            for words in [number.as_str(), "Anna Nowak", "00-017", "Stryków", "RETURN"] {
                assert!(text.contains(words), "{words}: {text}");
            }
        }
        if file == "label.zpl" {
            let zpl = String::from_utf8_lossy(&bytes);
            assert_eq!(
                barcode_value(&zpl).as_deref(),
                Some(number.as_str()),
                "{zpl}"
            );
        }
    }
    // A changed token opens nothing.
    let (code, _, body) = download(app, &format!("{base}x/label.pdf?lang=pl")).await;
    assert_eq!(code, 403);
    assert!(String::from_utf8_lossy(&body).contains("Ten link jest nieprawidłowy"));
    app.drain().await;
}
crate::both!(
    dropoff_and_label,
    super::a_drop_off_point_and_the_label,
    super::policy()
);

/// The data of a ZPL label's Code 128 (`^BC…^FD<data>^FS`).
pub fn barcode_value(zpl: &str) -> Option<String> {
    let after = &zpl[zpl.find("^BC")?..];
    let data = &after[after.find("^FD")? + 3..];
    Some(data[..data.find("^FS")?].to_owned())
}

/// [`policy`], with photos asked for items that came damaged.
pub fn photos_policy() -> PolicyDocument {
    let mut p = policy();
    p.rules.push(kembali_core::policy::Rule {
        id: "damaged-needs-photos".into(),
        description: None,
        when: kembali_core::policy::Conditions {
            reasons: Some(vec![kembali_core::returns::ReturnReason::Damaged]),
            ..Default::default()
        },
        then: kembali_core::policy::Effects {
            require_photos: Some(true),
            ..Default::default()
        },
    });
    p
}

/// A small PNG with something in it.
pub fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode");
    out
}

/// A fresh CSRF token off the order page.
async fn fresh_csrf(shopper: &mut Shopper<'_>, order_path: &str) -> String {
    shopper.get(order_path).await.hidden("csrf")
}

fn refs(f: &[(String, String)]) -> Vec<(&str, &str)> {
    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn photos_of_a_damaged_item(app: &TestApp) {
    let o = seed(app, "#P-PH").await;
    let mut shopper = Shopper::new(app);
    let found = shopper.find("en", "P-PH", "80 827").await;
    let order_path = found.location.expect("to the order");
    let page = shopper.get(&order_path).await;
    assert!(
        page.body.contains("enctype=\"multipart/form-data\""),
        "{}",
        page.body
    );
    let input = format!("name=\"photos.{}\"", o.shirt);
    assert!(page.body.contains(&input), "{}", page.body);
    assert!(
        page.body
            .contains("accept=\"image/jpeg,image/png,image/webp\"")
    );
    assert!(page.body.contains("up to 10 MB each"), "{}", page.body);
    let q = format!("q.{}", o.shirt);
    let reason = format!("reason.{}", o.shirt);
    let outcome = format!("outcome.{}", o.shirt);
    let photos = format!("photos.{}", o.shirt);
    let fields = |csrf: String| {
        vec![
            ("csrf".to_owned(), csrf),
            (q.clone(), "1".to_owned()),
            (reason.clone(), "damaged".to_owned()),
            (outcome.clone(), "refund".to_owned()),
        ]
    };

    // Damaged, and no photo (the file input left empty): refused, naming the item.
    let f = fields(page.hidden("csrf"));
    let none = shopper
        .post_multipart(&order_path, &refs(&f), &[(&photos, "", Vec::new())])
        .await;
    assert_eq!(none.status, 422, "{}", none.body);
    assert!(
        none.body
            .contains("Please add at least one photo of “Koszula lniana M”"),
        "{}",
        none.body
    );

    // In Polish: a text file, and a HEIC photo, each refused in words that say why.
    let pl = shopper.get(&format!("{order_path}?lang=pl")).await;
    let f = fields(pl.hidden("csrf"));
    let text = shopper
        .post_multipart(
            &order_path,
            &refs(&f),
            &[(&photos, "zdjęcie.jpg", b"to nie jest zdjecie".to_vec())],
        )
        .await;
    assert_eq!(text.status, 422, "{}", text.body);
    assert!(text.body.contains("<html lang=\"pl\""), "{}", text.body);
    assert!(
        text.body.contains(
            "Plik „zdjęcie.jpg” dla „Koszula lniana M” nie jest zdjęciem, które możemy przyjąć"
        ),
        "{}",
        text.body
    );
    let f = fields(text.hidden("csrf"));
    let heic = shopper
        .post_multipart(
            &order_path,
            &refs(&f),
            &[(
                &photos,
                "IMG_0001.HEIC",
                b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(),
            )],
        )
        .await;
    assert_eq!(heic.status, 422, "{}", heic.body);
    assert!(heic.body.contains("„Najbardziej zgodne”"), "{}", heic.body);
    // A multipart body that is not well formed (no closing boundary).
    let broken = shopper
        .client
        .post(app.url(&order_path))
        .header("cookie", shopper.cookie())
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body("--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc")
        .send()
        .await
        .expect("post");
    let broken = shopper.keep(broken).await;
    assert_eq!(broken.status, 400, "{}", broken.body);
    assert!(broken.body.contains("<html lang=\"pl\""), "{}", broken.body);
    // More than the items form takes (five photos at their largest): 413, in Polish.
    let f = fields(fresh_csrf(&mut shopper, &order_path).await);
    let too_large = shopper
        .post_too_large(&order_path, &refs(&f), &photos)
        .await;
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    assert!(
        too_large
            .body
            .contains("Zdjęcia razem mają więcej niż 50 MB"),
        "{}",
        too_large.body
    );
    assert!(returns_of(app, &o.order).await.is_empty());

    // Two PNGs: taken, re-encoded, counted on the review page.
    let en = shopper.get(&format!("{order_path}?lang=en")).await;
    let f = fields(en.hidden("csrf"));
    let chosen = shopper
        .post_multipart(
            &order_path,
            &refs(&f),
            &[(&photos, "a.png", png()), (&photos, "b.png", png())],
        )
        .await;
    let review = shopper
        .walk_to_review(&order_path, &chosen, "drop_off")
        .await;
    assert_eq!(review.status, 200, "{}", review.body);
    assert!(review.body.contains("2 photos"), "{}", review.body);

    // Back to the items, and on again without choosing files: the photos stay.
    let marker = format!("href=\"{order_path}?d=");
    let at = review
        .body
        .find(&marker)
        .expect("a way back with the draft")
        + 6;
    let back_path = &review.body[at..at + review.body[at..].find('"').unwrap_or(0)];
    let back = shopper.get(back_path).await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert!(
        back.body.contains("2 photos are already added"),
        "{}",
        back.body
    );
    let mut f = fields(back.hidden("csrf"));
    f.push(("d".to_owned(), back.hidden("d")));
    let again = shopper
        .post_multipart(&order_path, &refs(&f), &[(&photos, "", Vec::new())])
        .await;
    let review = shopper
        .walk_to_review(&order_path, &again, "drop_off")
        .await;
    assert!(review.body.contains("2 photos"), "{}", review.body);
    let done = shopper.confirm(&review, &order_path).await;
    assert_eq!(done.status, 303, "{}", done.body);

    // The return names the two photos, each the shop's re-encoded JPEG.
    let rets = returns_of(app, &o.order).await;
    assert_eq!(rets.len(), 1);
    let ret = app
        .get(&format!("/api/v1/returns/{}", s(&rets[0]["id"])))
        .await
        .body;
    let ids = ret["items"][0]["photos"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(ids.len(), 2, "{ret}");
    for id in ids {
        let id = s(&id);
        assert!(id.starts_with("pho_"), "{id}");
        let photo = app.get(&format!("/api/v1/photos/{id}")).await;
        assert_eq!(photo.status, 200);
        assert_eq!(photo.headers["content-type"], "image/jpeg");
    }
    app.drain().await;
}
crate::both!(
    photos,
    super::photos_of_a_damaged_item,
    super::photos_policy()
);

/// [`policy`], with photos asked for defective items: warranty claims too.
pub fn defect_photos_policy() -> PolicyDocument {
    let mut p = policy();
    p.rules.push(kembali_core::policy::Rule {
        id: "defects-need-photos".into(),
        description: None,
        when: kembali_core::policy::Conditions {
            reasons: Some(vec![kembali_core::returns::ReturnReason::Defective]),
            ..Default::default()
        },
        then: kembali_core::policy::Effects {
            require_photos: Some(true),
            ..Default::default()
        },
    });
    p
}

/// A warranty claim whose decision asks for photos takes them on its own form,
/// checked as the items form's are.
async fn a_claim_takes_its_photos(app: &TestApp) {
    let (old, mut shopper, order_path) = past_return_windows(app, "P-8").await;
    let claim = shopper
        .get(&format!("{order_path}/claim/{}?kind=warranty", old.shirt))
        .await;
    assert_eq!(claim.status, 200, "{}", claim.body);
    assert!(
        claim.body.contains("enctype=\"multipart/form-data\""),
        "{}",
        claim.body
    );
    let path = format!("{order_path}/claim/{}", old.shirt);
    let photos = format!("photos.{}", old.shirt);
    let csrf = claim.hidden("csrf");
    let fields = [
        ("csrf", csrf.as_str()),
        ("kind", "warranty"),
        ("reason", "defective"),
        ("q", "1"),
        ("outcome", "repair"),
    ];
    let none = shopper
        .post_multipart(&path, &fields, &[(&photos, "", Vec::new())])
        .await;
    assert_eq!(none.status, 422, "{}", none.body);
    assert!(
        none.body.contains("Please add at least one photo of"),
        "{}",
        none.body
    );
    let fake = shopper
        .post_multipart(
            &path,
            &fields,
            &[(&photos, "defect.jpg", b"<html>not a photo</html>".to_vec())],
        )
        .await;
    assert_eq!(fake.status, 422, "{}", fake.body);
    assert!(
        fake.body.contains("is not a photo we can take"),
        "{}",
        fake.body
    );
    // More than the claim form takes: 413, in the shopper's words.
    let too_large = shopper.post_too_large(&path, &fields, &photos).await;
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    assert!(
        too_large
            .body
            .contains("The photos together are larger than 50 MB"),
        "{}",
        too_large.body
    );
    assert!(
        returns_of(app, &old.order).await.is_empty(),
        "nothing written"
    );

    let ok = shopper
        .post_multipart(&path, &fields, &[(&photos, "seam.png", png())])
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let review = shopper.walk_to_review(&order_path, &ok, "drop_off").await;
    assert!(review.body.contains("1 photo"), "{}", review.body);
    let done = shopper.confirm(&review, &order_path).await;
    to_step(&done, "/r/");
    let ret = the_return(app, &old.order).await;
    assert_eq!(ret["items"][0]["decision"]["basis"], "warranty", "{ret}");
    assert_eq!(ret["items"][0]["decision"]["require_photos"], true, "{ret}");
    let id = ret["items"][0]["photos"][0].as_str().unwrap_or_default();
    assert!(id.starts_with("pho_"), "{ret}");
    let photo = app.get(&format!("/api/v1/photos/{id}")).await;
    assert_eq!(photo.status, 200);
    assert_eq!(photo.headers["content-type"], "image/jpeg");
    app.drain().await;
}
crate::both!(
    claim_photos,
    super::a_claim_takes_its_photos,
    super::defect_photos_policy()
);
