//! The return portal in real headless Chromium (Debian's `chromium` and
//! `chromium-driver`), driven through chromedriver's WebDriver HTTP API: in each
//! of English, Indonesian and Polish, a card order refunded with a fee through a
//! drop-off point (its label PDF downloaded from the Done page and read: text
//! and barcode), an exchange, a cash-on-delivery order refunded to a bank
//! account, a warranty claim, and a refused final-sale item; every page checked
//! for its `lang`, a label on every field and no horizontal scrolling at 360 px;
//! screenshots of every step in the folder the test prints; then the database,
//! through the API.
//!
//! Without chromedriver the test prints `SKIPPED` and passes, except in CI
//! (`CI=true`), where it must run.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::fixtures::s;
use crate::portal::{
    Shape, barcode_value, download, points_and_address, returns_of, seed_with, the_return, warsaw,
};
use crate::support::{Backend, TestApp, spawn};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    child: Child,
    http: reqwest::Client,
    base: String,
    session: String,
    shots: PathBuf,
    step: u32,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver on a free port with a headless Chromium 360 px wide, or `None`
/// (outside CI) when they are not installed.
async fn driver(shots: PathBuf) -> Option<Driver> {
    let installed = Command::new("chromedriver")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must run the browser tests: install chromium and chromium-driver"
        );
        println!(
            "SKIPPED: chromium-driver is not installed (apt-get install chromium chromium-driver)"
        );
        return None;
    }
    let http = reqwest::Client::new();
    // A port is chosen free and then released; another test may take it
    // before chromedriver binds it, so a driver that does not come up there
    // is started again on another.
    let mut started = None;
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        if driver_ready(&http, &base, &mut child).await {
            started = Some((child, base));
            break;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let (child, base) = started.expect("chromedriver did not come up");
    let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("/usr/bin/chromium");
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": binary,
            // A phone's viewport: desktop Chromium will not make a window this narrow.
            "mobileEmulation": {"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 1.0}},
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=360,800",
                     "--force-device-scale-factor=1"]
        }
    }}});
    let r: Value = http
        .post(format!("{base}/session"))
        .json(&caps)
        .send()
        .await
        .expect("new session")
        .json()
        .await
        .expect("session json");
    let session = r["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {r}"))
        .to_owned();
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    Some(Driver {
        child,
        http,
        base,
        session,
        shots,
        step: 0,
    })
}

/// Whether chromedriver answers its status on `base` within 10 s: `false` as
/// soon as it exits (the port was taken), or if what answers is not it.
async fn driver_ready(http: &reqwest::Client, base: &str, child: &mut Child) -> bool {
    for _ in 0..100 {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(r) = http.get(format!("{base}/status")).send().await
            && r.status().is_success()
        {
            let body = r.text().await.unwrap_or_default();
            // WebDriver's status names whether it is ready; another server does not.
            return body.contains("\"ready\"");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

impl Driver {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r: Value = req
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("webdriver json");
        if r["value"].get("error").is_some() {
            panic!("webdriver {path}: {r}");
        }
        r["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {v}"))
            .to_owned()
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Sends the page's form and waits for the next page (a new address).
    async fn submit(&self) {
        self.follow("button[type=submit]").await;
    }

    /// Clicks `css` and waits for the next page (a new address).
    async fn follow(&self, css: &str) {
        let before = self.url().await;
        self.click(css).await;
        for _ in 0..100 {
            let now = self.url().await;
            let ready = self.eval("return document.readyState").await;
            if now != before && ready == "complete" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the form at {before} led nowhere");
    }

    async fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn eval(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    async fn text(&self) -> String {
        self.eval("return document.body.innerText")
            .await
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    async fn url(&self) -> String {
        s(&self.call(reqwest::Method::GET, "/url", None).await)
    }

    /// Screenshot of the page as `NN-name.png`, after the page checks every page
    /// must pass: its language, a label on every field, no horizontal scrolling.
    async fn step(&mut self, name: &str, lang: &str) {
        let checks = self
            .eval(
                "const fields = [...document.querySelectorAll('input:not([type=hidden]),select,textarea')];\
                 return {lang: document.documentElement.lang,\
                   unlabelled: fields.filter(f => !f.labels || f.labels.length === 0).map(f => f.name),\
                   scroll: document.documentElement.scrollWidth, width: window.innerWidth};",
            )
            .await;
        assert_eq!(checks["lang"], lang, "{name}: {checks}");
        assert_eq!(checks["unlabelled"], json!([]), "{name}: {checks}");
        assert_eq!(checks["width"], 360, "{name}: the viewport is a phone's");
        assert!(
            checks["scroll"].as_i64() <= checks["width"].as_i64(),
            "{name} scrolls sideways at 360 px: {checks}"
        );
        self.step += 1;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or(""))
            .expect("png");
        let path = self.shots.join(format!("{:02}-{name}.png", self.step));
        std::fs::write(&path, bytes).expect("write screenshot");
    }

    /// On the order page: one unit of `line`, for `reason`, with `outcome`.
    async fn choose_item(&self, line: &str, reason: &str, outcome: &str) {
        self.click(&format!("select[name=\"q.{line}\"] option[value=\"1\"]"))
            .await;
        self.click(&format!(
            "select[name=\"reason.{line}\"] option[value=\"{reason}\"]"
        ))
        .await;
        self.click(&format!(
            "input[name=\"outcome.{line}\"][value=\"{outcome}\"]"
        ))
        .await;
    }

    /// On the method page: `method`, sent.
    async fn pick_method(&self, method: &str) {
        self.click(&format!("input[name=method][value={method}]"))
            .await;
        self.submit().await;
    }

    /// On a review page: its screenshot as `review-{name}`, the return
    /// confirmed, the Done page checked and shot as `done-{name}`; its text.
    async fn confirm(&mut self, w: &Words, name: &str) -> String {
        self.step(&format!("review-{name}"), w.lang).await;
        self.submit().await;
        let done = self.text().await;
        assert!(has(&done, w.done), "{done}");
        self.step(&format!("done-{name}"), w.lang).await;
        done
    }

    async fn quit(&self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

/// The words each language must show, from its Fluent file.
struct Words {
    lang: &'static str,
    final_sale: &'static str,
    fee: &'static str,
    refund: &'static str,
    pay_more: &'static str,
    done: &'static str,
    refund_to: &'static str,
    warranty: &'static str,
    eu_answer: &'static str,
    one_photo: &'static str,
}

const LANGUAGES: [Words; 3] = [
    Words {
        lang: "en",
        final_sale: "This item was a final-sale item.",
        fee: "9.99\u{a0}zł",
        refund: "140.01\u{a0}zł",
        pay_more: "you pay 10.00\u{a0}zł more",
        done: "Your return is registered",
        refund_to: "Your refund goes to: bank account ••••2874 (Anna Nowak)",
        warranty: "Warranty complaint",
        eu_answer: "The shop must answer your complaint by",
        one_photo: "1 photo",
    },
    Words {
        lang: "id",
        final_sale: "obral akhir",
        fee: "9,99\u{a0}zł",
        refund: "140,01\u{a0}zł",
        pay_more: "Anda membayar tambahan 10,00\u{a0}zł",
        done: "Pengembalian Anda sudah terdaftar",
        refund_to: "Pengembalian dana dikirim ke: rekening bank ••••2874 (Anna Nowak)",
        warranty: "Keluhan garansi",
        eu_answer: "Toko wajib menjawab keluhan Anda paling lambat",
        one_photo: "1 foto",
    },
    Words {
        lang: "pl",
        final_sale: "wyprzedaż końcowa",
        fee: "9,99\u{a0}zł",
        refund: "140,01\u{a0}zł",
        pay_more: "dopłacasz 10,00\u{a0}zł",
        done: "Zwrot został zarejestrowany",
        refund_to: "Zwrot pieniędzy trafi na: konto bankowe ••••2874 (Anna Nowak)",
        warranty: "Reklamacja z tytułu rękojmi",
        eu_answer: "Sklep musi odpowiedzieć na reklamację do",
        one_photo: "1 zdjęcie",
    },
];

fn has(text: &str, words: &str) -> bool {
    // innerText may turn a no-break space into a plain one.
    text.replace('\u{a0}', " ")
        .contains(&words.replace('\u{a0}', " "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_walks_the_portal_in_three_languages() {
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("portal-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let app = spawn(Backend::Sqlite, crate::portal::policy())
        .await
        .expect("sqlite");
    points_and_address(&app).await;
    for w in &LANGUAGES {
        let Some(mut d) = driver(shots.join(w.lang)).await else {
            app.finish().await;
            return;
        };
        println!("screenshots: {}", d.shots.display());
        walk(&app, &mut d, w).await;
        d.quit().await;
    }
    app.drain().await;
    app.finish().await;
}

/// From the order page: one unit of `line` for `reason` with `outcome`, then
/// `method`: the review's text.
async fn walk_to_review(
    d: &Driver,
    line: &str,
    reason: &str,
    outcome: &str,
    method: &str,
) -> String {
    d.choose_item(line, reason, outcome).await;
    d.submit().await;
    d.pick_method(method).await;
    d.text().await
}

/// Looks `number` up with `proof` and answers the order page's address.
async fn find(app: &TestApp, d: &mut Driver, w: &Words, number: &str, proof: &str) -> String {
    d.goto(&app.url(&format!("/portal/test-shop?lang={}", w.lang)))
        .await;
    d.type_in("#number", number).await;
    d.type_in("#proof", proof).await;
    d.submit().await;
    let url = d.url().await;
    assert!(url.contains("/o/"), "{url}");
    url
}

async fn walk(app: &TestApp, d: &mut Driver, w: &Words) {
    let number = format!("#E-{}", w.lang);
    let o = seed_with(
        app,
        &number,
        Shape {
            address: warsaw(),
            ..Shape::default()
        },
    )
    .await;
    d.goto(&app.url(&format!("/portal/test-shop?lang={}", w.lang)))
        .await;
    d.step("find-order", w.lang).await;
    d.type_in("#number", &number).await;
    d.type_in("#proof", "00-017").await;
    d.submit().await;
    let order_url = d.url().await;
    assert!(order_url.contains("/o/"), "{order_url}");
    let text = d.text().await;
    // The refused final-sale item: said why, and nothing to choose.
    assert!(has(&text, w.final_sale), "{text}");
    let no_controls = d
        .eval(&format!(
            "return document.querySelectorAll('[name=\"q.{}\"]').length",
            o.final_sale
        ))
        .await;
    assert_eq!(no_controls, json!(0));
    d.step("choose-items", w.lang).await;

    // A card refund, with the drop-off label's fee.
    d.choose_item(&o.shirt, "wrong_size", "refund").await;
    d.type_in(
        &format!("textarea[name=\"comment.{}\"]", o.shirt),
        "Za mała",
    )
    .await;
    // A photo, sent as a browser sends a file input: the path to the element.
    let photo = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("portal-photo.png");
    std::fs::write(&photo, crate::portal::png()).expect("photo");
    d.type_in(
        &format!("input[type=file][name=\"photos.{}\"]", o.shirt),
        &photo.display().to_string(),
    )
    .await;
    d.step("refund-chosen", w.lang).await;
    d.submit().await;
    d.step("method", w.lang).await;
    assert!(has(&d.text().await, w.fee));
    d.pick_method("drop_off").await;
    // The nearest drop-off points to the Warsaw address, with opening hours.
    assert!(d.url().await.contains("/point"), "{}", d.url().await);
    assert!(d.text().await.contains("24/7"));
    d.step("drop-off-point", w.lang).await;
    d.click("input[name=point][value=\"inpost:WAW02M\"]").await;
    d.submit().await;
    let review = d.text().await;
    assert!(has(&review, w.fee), "{review}");
    assert!(has(&review, w.refund), "{review}");
    assert!(review.contains("Paczkomat WAW02M"), "{review}");
    assert!(review.contains(w.one_photo), "{review}");
    let done = d.confirm(w, "refund").await;
    assert!(done.contains("Paczkomat WAW02M"), "{done}");
    // The label, as the Done page links it: its text and its barcode's value.
    let link = |file: &str| {
        format!(
            "return document.querySelector('#label-slot a[href*=\"/{file}?\"]').getAttribute('href')"
        )
    };
    let pdf_link = s(&d.eval(&link("label.pdf")).await);
    let zpl_link = s(&d.eval(&link("label.zpl")).await);
    assert!(
        pdf_link.ends_with(&format!("lang={}", w.lang)),
        "{pdf_link}"
    );
    let (code, _, pdf) = download(app, &pdf_link).await;
    assert_eq!(code, 200, "{pdf_link}");
    let (code, _, zpl) = download(app, &zpl_link).await;
    assert_eq!(code, 200, "{zpl_link}");
    let label = crate::shipping::pdf_text(&pdf);
    let card_return = s(&returns_of(app, &o.order).await[0]["number"]);
    let stored = app
        .get(&format!(
            "/api/v1/returns/{}",
            s(&returns_of(app, &o.order).await[0]["id"])
        ))
        .await
        .body;
    let photos = stored["items"][0]["photos"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(photos.len(), 1, "{stored}");
    let jpeg = app.get(&format!("/api/v1/photos/{}", s(&photos[0]))).await;
    assert_eq!(jpeg.headers["content-type"], "image/jpeg");
    for words in [card_return.as_str(), "Anna Nowak", "00-017", "Stryków"] {
        assert!(label.contains(words), "{words}: {label}");
    }
    assert_eq!(
        barcode_value(&String::from_utf8_lossy(&zpl)).as_deref(),
        Some(card_return.as_str())
    );

    // An exchange of the other shirt for the L.
    d.goto(&order_url).await;
    let exchange = format!("exchange:{}", o.larger);
    let review = walk_to_review(d, &o.shirt, "wrong_size", &exchange, "in_store").await;
    assert!(has(&review, w.pay_more), "{review}");
    d.confirm(w, "exchange").await;

    // The database, through the API: two returns, as the pages said.
    let rets = returns_of(app, &o.order).await;
    assert_eq!(rets.len(), 2, "{rets:?}");
    let mut seen = Vec::new();
    for r in rets {
        let full = app
            .get(&format!("/api/v1/returns/{}", s(&r["id"])))
            .await
            .body;
        assert_eq!(full["timeline"][0]["actor"]["type"], "shopper");
        seen.push(full);
    }
    let refund = seen
        .iter()
        .find(|r| r["items"][0]["resolution"] == "refund")
        .expect("the refund");
    assert_eq!(refund["quote"]["refund_total"]["amount"], 14_001);
    assert_eq!(refund["method"], "drop_off");
    assert_eq!(refund["items"][0]["comment"], "Za mała");
    let exchange = seen
        .iter()
        .find(|r| r["items"][0]["resolution"] == "exchange")
        .expect("the exchange");
    assert_eq!(exchange["exchanges"][0]["variant_id"], json!(o.larger));
    assert_eq!(exchange["method"], "in_store");
    // Nothing for the final-sale line.
    assert!(
        seen.iter()
            .all(|r| r["items"][0]["line_id"] != json!(o.final_sale))
    );

    cash_on_delivery(app, d, w).await;
    warranty(app, d, w).await;
}

/// A cash-on-delivery order refunded to a bank account: the IBAN typed in,
/// shown masked, stored whole (the payer reads it through the API).
async fn cash_on_delivery(app: &TestApp, d: &mut Driver, w: &Words) {
    let number = format!("#C-{}", w.lang);
    let o = seed_with(
        app,
        &number,
        Shape {
            payment: "cash_on_delivery",
            ..Shape::default()
        },
    )
    .await;
    find(app, d, w, &number, "80-827").await;
    d.choose_item(&o.shirt, "changed_mind", "refund").await;
    d.submit().await;
    assert!(d.url().await.contains("/refund"), "{}", d.url().await);
    d.click("input[name=kind][value=bank_account]").await;
    d.type_in("#holder", "Anna Nowak").await;
    // One digit wrong first: the checksum catches it, in the page's language.
    d.type_in("#iban", "PL61 1090 1014 0000 0712 1981 2875")
        .await;
    d.step("refund-destination", w.lang).await;
    d.click("button[type=submit]").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = d.text().await;
    assert!(refused.contains("IBAN:"), "{refused}");
    d.step("refund-destination-refused", w.lang).await;
    d.eval("document.getElementById('iban').value = ''; return 0")
        .await;
    d.type_in("#iban", "PL61 1090 1014 0000 0712 1981 2874")
        .await;
    d.submit().await;
    d.pick_method("in_store").await;
    let review = d.text().await;
    assert!(has(&review, w.refund_to), "{review}");
    assert!(!review.contains("1090"), "{review}");
    d.confirm(w, "cod").await;
    let full = the_return(app, &o.order).await;
    assert_eq!(full["refund_destination"]["account"], "••••2874", "{full}");
    // The whole number is stored: the payer reads it once the return resolves.
    crate::money::resolve(app, &full, 1).await;
    let refunds = app.get("/api/v1/refunds").await;
    let refund = refunds.body["data"]
        .as_array()
        .and_then(|r| r.iter().find(|x| x["return_id"] == full["id"]))
        .cloned()
        .unwrap_or_else(|| panic!("no refund: {}", refunds.body));
    let payout = app
        .get(&format!("/api/v1/refunds/{}/payout", s(&refund["id"])))
        .await;
    assert_eq!(payout.status, 200, "{}", payout.body);
    assert_eq!(
        payout.body["destination"]["account"]["iban"], "PL61109010140000071219812874",
        "{}",
        payout.body
    );
}

/// A defect 200 days after delivery: the warranty, with the date the shop
/// must answer by.
async fn warranty(app: &TestApp, d: &mut Driver, w: &Words) {
    let number = format!("#W-{}", w.lang);
    let o = seed_with(
        app,
        &number,
        Shape {
            delivered_days_ago: 200,
            ..Shape::default()
        },
    )
    .await;
    find(app, d, w, &number, "80-827").await;
    d.follow(&format!("a[href*=\"/claim/{}?kind=warranty\"]", o.shirt))
        .await;
    let claim = d.text().await;
    assert!(has(&claim, w.eu_answer), "{claim}");
    d.click("select[name=reason] option[value=defective]").await;
    d.click("input[name=outcome][value=repair]").await;
    d.step("warranty-claim", w.lang).await;
    d.submit().await;
    d.pick_method("in_store").await;
    let review = d.text().await;
    assert!(has(&review, w.warranty), "{review}");
    assert!(has(&review, w.eu_answer), "{review}");
    d.confirm(w, "warranty").await;
    let full = the_return(app, &o.order).await;
    assert_eq!(full["items"][0]["decision"]["basis"], "warranty", "{full}");
    assert_eq!(full["items"][0]["resolution"], "repair");
    assert_eq!(full["quote"]["fees"], json!([]));
}
