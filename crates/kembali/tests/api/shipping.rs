//! Return shipping: drop-off points imported from CSV (`POST
//! /api/v1/imports/dropoff-points`: the documented example, re-imports that
//! update, bad rows refused whole with their lines), the nearest points by
//! place and by postal code with whether they are open now, and a return's
//! label (PDF and ZPL) and packing slip, read back from the PDF's text.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::fixtures::{create_order, create_return, order, return_body, s};
use crate::support::{Reply, TestApp, assert_problem};

const EXAMPLE: &str = include_str!("../../../../docs/examples/dropoff_points.csv");
const HEADER: &str = "carrier,id,name,kind,address,city,postal_code,country,latitude,longitude,\
    opening_hours";

async fn upload_as(app: &TestApp, key: &str, csv: &str) -> Reply {
    app.send(
        app.client
            .post(app.url("/api/v1/imports/dropoff-points"))
            .bearer_auth(key)
            .header("content-type", "text/csv")
            .body(csv.to_owned()),
    )
    .await
}

async fn upload(app: &TestApp, csv: &str) -> Reply {
    upload_as(app, &app.key, csv).await
}

async fn stored(app: &TestApp) -> i64 {
    let mut conn = app.db.conn().await.expect("conn");
    kembali_store::dropoff::count(&mut conn, app.shop.id)
        .await
        .expect("count")
}

async fn near(app: &TestApp, query: &str) -> Value {
    let r = app.get(&format!("/api/v1/dropoff-points?{query}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn ids(nearby: &Value) -> Vec<String> {
    nearby["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| s(&p["id"]))
        .collect()
}

async fn import_updates_in_place_and_refuses_bad_files_whole(app: &TestApp) {
    let r = upload(app, EXAMPLE).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["rows"], 8, "{}", r.body);
    assert_eq!(r.body["created"], 8);
    assert_eq!(r.body["updated"], 0);
    assert_eq!(r.body["imported"], true);
    assert_eq!(stored(app).await, 8);

    // The same file again: every point updated in place, none added.
    let r = upload(app, EXAMPLE).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (&r.body["created"], &r.body["updated"]),
        (&json!(0), &json!(8))
    );
    assert_eq!(stored(app).await, 8);

    // A point renamed and moved to new hours by the carrier's next file.
    let renamed = format!(
        "{HEADER}\ninpost,WAW02M,Paczkomat WAW02M Centrum,locker,ul. Marszałkowska 104,Warszawa,\
         00-017,PL,52.2337,21.0084,Mo-Fr 06:00-22:00\n"
    );
    let r = upload(app, &renamed).await;
    assert_eq!(
        (&r.body["created"], &r.body["updated"]),
        (&json!(0), &json!(1))
    );
    let n = near(app, "near=00-017&limit=1").await;
    assert_eq!(n["points"][0]["name"], "Paczkomat WAW02M Centrum");
    assert_eq!(n["points"][0]["opening_hours"], "Mo-Fr 06:00-22:00");
    assert_eq!(stored(app).await, 8);

    // One good row among bad ones: nothing is written, each bad row named.
    let bad = format!(
        "{HEADER}\n\
         dpd,PL99999,DPD Pickup Nowy,agent,ul. Nowa 1,Warszawa,00-001,PL,52.23,21.01,Mo-Fr 09:00-17:00\n\
         dpd,PL99998,DPD Pickup Przecinek,agent,ul. Nowa 2,Warszawa,00-002,PL,\"52,23\",21.01,24/7\n\
         dpd,PL99997,DPD Pickup Godziny,agent,ul. Nowa 3,Warszawa,00-003,PL,52.23,21.01,Mo-Fr 8-20\n\
         dpd,PL99999,DPD Pickup Drugi Raz,agent,ul. Nowa 4,Warszawa,00-004,PL,52.23,21.01,24/7\n\
         dpd,PL99996,Za krótki\n\
         dpd,PL99995,DPD Pickup Biegun,agent,ul. Nowa 5,Warszawa,00-005,XX,95.0,21.01,Mo 10:00-12:00; Mo 13:00-14:00\n"
    );
    let r = upload(app, &bad).await;
    assert_problem(&r, 422, "validation");
    let fields: Vec<String> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| s(&e["field"]))
        .collect();
    assert_eq!(
        fields,
        [
            "line 3, latitude",
            "line 4, opening_hours",
            "line 5, id",
            "line 6",
            "line 7, country",
            "line 7, latitude",
            "line 7, opening_hours",
        ],
        "{}",
        r.body
    );
    assert!(
        r.body["errors"][3]["message"]
            .as_str()
            .is_some_and(|m| m.contains("fields")),
        "{}",
        r.body
    );
    assert_eq!(stored(app).await, 8, "nothing of a refused file is written");

    // A header without a required column refuses the file before any row.
    let r = upload(
        app,
        "carrier,id,name,address,postal_code,latitude,longitude\ninpost,X,Y,Z,00-001,52,21\n",
    )
    .await;
    assert_problem(&r, 422, "validation");
    assert_eq!(r.body["errors"][0]["field"], "line 1, opening_hours");

    // Only CSV is taken.
    let r = app
        .send(
            app.client
                .post(app.url("/api/v1/imports/dropoff-points"))
                .bearer_auth(&app.key)
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
    assert_problem(&r, 415, "unsupported-media-type");

    // Another shop's key sees none of these points.
    let other = app.other_shop("other-shop").await;
    let r = app
        .get_as(&other, "/api/v1/dropoff-points?near=52.2297,21.0122")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["points"], json!([]));
}

crate::both!(
    import_updates_and_refuses_bad_files,
    super::import_updates_in_place_and_refuses_bad_files_whole
);

async fn nearest_by_place_and_postal_code(app: &TestApp) {
    let r = upload(app, EXAMPLE).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Sunday 29 November 2026, noon in Warsaw (the shop's time zone).
    app.clock
        .set("2026-11-29T11:00:00Z".parse::<Timestamp>().expect("time"));
    let n = near(app, "near=52.2297,21.0122&limit=3").await;
    assert_eq!(n["origin"]["basis"], "coordinates");
    assert_eq!(ids(&n), ["WAW02M", "PL12051", "WAW-OP-1184"]);
    let d: Vec<u64> = n["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["distance_m"].as_u64().expect("distance"))
        .collect();
    assert!((400..650).contains(&d[0]), "{d:?}");
    assert!(d[0] < d[1] && d[1] < d[2], "{d:?}");
    // A locker is always open; the kiosk is closed on Sundays; the shop
    // opens at 10 on Sundays.
    assert_eq!(n["points"][0]["open_now"], true);
    assert_eq!(n["points"][1]["open_now"], false);
    assert_eq!(n["points"][2]["open_now"], true);
    assert_eq!(n["points"][1]["week"][6], json!({"day": "Su", "open": []}));
    assert_eq!(
        n["points"][1]["week"][0],
        json!({"day": "Mo", "open": ["07:00-20:00"]})
    );

    // Monday 06:30 in Warsaw: the kiosk opens at 7, the shop at 6.
    app.clock
        .set("2026-11-30T05:30:00Z".parse::<Timestamp>().expect("time"));
    let n = near(app, "near=52.2297,21.0122&limit=3").await;
    assert_eq!(n["points"][1]["open_now"], false);
    assert_eq!(n["points"][2]["open_now"], true);

    // Far enough down the list, the search reaches Kraków and then Jakarta.
    let n = near(app, "near=52.2297,21.0122&limit=7").await;
    let found = ids(&n);
    assert_eq!(found.len(), 7);
    assert_eq!(found[5], "KRA07M");
    assert!(found[6].starts_with("JKT-"), "{found:?}");

    // Only one carrier's.
    let n = near(app, "near=52.2297,21.0122&carrier=inpost&limit=5").await;
    assert_eq!(ids(&n), ["WAW02M", "WAW118A", "KRA07M"]);

    // A postal code with points: measured from them.
    let n = near(app, "near=00-017&limit=2").await;
    assert_eq!(n["origin"]["basis"], "postal_code");
    assert_eq!(n["points"][0]["id"], "WAW02M");
    assert_eq!(n["points"][0]["distance_m"], 0);

    // One without: from the points whose postal code starts the same (00-0…).
    let n = near(app, "near=00-030&limit=2").await;
    assert_eq!(n["origin"]["basis"], "postal_area");
    let mut first_two = ids(&n);
    first_two.sort();
    assert_eq!(first_two, ["PL12051", "WAW02M"]);

    // Kraków's and Jakarta's codes find their own cities.
    assert_eq!(
        near(app, "near=31-100&limit=1").await["points"][0]["id"],
        "KRA07M"
    );
    let n = near(app, "near=10330&limit=2").await;
    assert_eq!(n["origin"]["basis"], "postal_code");
    let mut jakarta = ids(&n);
    jakarta.sort();
    assert_eq!(jakarta, ["JKT-IDM-2291", "JKT-MTH-01"]);

    // Refusals: a place off the globe, a word, a limit out of range, an
    // unknown parameter.
    let r = app.get("/api/v1/dropoff-points?near=95.0,21.0").await;
    assert_problem(&r, 422, "validation");
    let r = app.get("/api/v1/dropoff-points?near=%2D%2D").await;
    assert_problem(&r, 422, "validation");
    let r = app.get("/api/v1/dropoff-points?near=00-017&limit=0").await;
    assert_problem(&r, 422, "validation");
    let r = app.get("/api/v1/dropoff-points?near=00-017&limit=51").await;
    assert_problem(&r, 422, "validation");
    let r = app.get("/api/v1/dropoff-points?near=00-017&radius=5").await;
    assert_problem(&r, 400, "bad-request");
    let r = app.get("/api/v1/dropoff-points").await;
    assert_problem(&r, 400, "bad-request");
    // An empty carrier is no carrier (the schema says at least one character).
    let r = app.get("/api/v1/dropoff-points?near=00-017&carrier=").await;
    assert_problem(&r, 400, "bad-request");
    assert_eq!(r.body["errors"][0]["field"], "carrier", "{}", r.body);
}

crate::both!(nearest_points, super::nearest_by_place_and_postal_code);

/// The raw answer of a GET: status, content type and bytes.
async fn download(app: &TestApp, path: &str) -> (u16, String, Vec<u8>) {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(&app.key)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = res.bytes().await.expect("body").to_vec();
    (status, ct, bytes)
}

/// The text of every page of a PDF, as a reader extracts it.
pub(crate) fn pdf_text(bytes: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).expect("text")
}

fn auto_approve() -> kembali_core::policy::PolicyDocument {
    kembali_core::policy::PolicyDocument {
        defaults: kembali_core::policy::Defaults {
            auto_approve: true,
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn labels_and_packing_slips(app: &TestApp) {
    let o = create_order(app, &order("#L-1", 2)).await;
    let ret = create_return(app, &return_body(&o, 0, 1, "refund")).await;
    assert_eq!(ret["status"], "approved");
    let id = s(&ret["id"]);
    let number = s(&ret["number"]);

    // No return address yet: nowhere to send the parcel.
    let r = app.get(&format!("/api/v1/returns/{id}/label.pdf")).await;
    assert_problem(&r, 409, "conflict");
    assert!(
        s(&r.body["detail"]).contains("return address"),
        "{}",
        r.body
    );

    let address = json!({"return_address": {"name": "Magazyn Zwrotów Test Shop",
        "line1": "ul. Logistyczna 7", "city": "Stryków", "postal_code": "95-010",
        "country": "PL", "phone": "+48 42 000 00 00"}});
    let r = app
        .send(
            app.client
                .patch(app.url("/api/v1/shop"))
                .bearer_auth(&app.key)
                .json(&address),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let (status, ct, pdf) = download(app, &format!("/api/v1/returns/{id}/label.pdf")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!(ct, "application/pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdf_text(&pdf);
    // The order is in Polish: the label's words are too.
    for expected in [
        number.as_str(),
        "ZWROT",
        "Magazyn Zwrotów Test Shop",
        "95-010 Stryków",
        "ul. Długa 5",
        "80-827 Gdańsk",
        "SHIRT-M",
        "Koszula",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text:?}");
    }

    let (status, ct, zpl) = download(app, &format!("/api/v1/returns/{id}/label.zpl")).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/zpl"), "{ct}");
    let zpl = String::from_utf8(zpl).expect("UTF-8");
    assert!(
        zpl.starts_with("^XA") && zpl.trim_end().ends_with("^XZ"),
        "{zpl}"
    );
    assert!(zpl.contains("^CI28"), "{zpl}");
    assert!(
        zpl.contains(&format!("^BCN,190,Y,N,N^FH^FD{number}^FS")),
        "{zpl}"
    );
    assert!(
        zpl.contains(&format!("^BQN,2,6^FH^FDMA,{number}^FS")),
        "{zpl}"
    );
    assert!(zpl.contains("Stryków"), "{zpl}");

    // The packing slip in the order's language, and in another on request.
    let (status, ct, slip) = download(app, &format!("/api/v1/returns/{id}/packing-slip.pdf")).await;
    assert_eq!(status, 200);
    assert_eq!(ct, "application/pdf");
    let text = pdf_text(&slip);
    for expected in [
        "Lista zawartości zwrotu",
        "Produkty w tej paczce",
        "Powód",
        "Zły rozmiar",
        "Jak odesłać paczkę",
        "Punkt nadania",
        number.as_str(),
        "#L-1",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text:?}");
    }
    let (_, _, slip) = download(
        app,
        &format!("/api/v1/returns/{id}/packing-slip.pdf?lang=id"),
    )
    .await;
    let text = pdf_text(&slip);
    assert!(text.contains("Daftar isi paket retur"), "{text:?}");
    assert!(text.contains("Ukuran tidak pas"), "{text:?}");
    assert!(!text.contains("Powód"), "{text:?}");

    // Unknown language, unknown return.
    let r = app
        .get(&format!("/api/v1/returns/{id}/packing-slip.pdf?lang=de"))
        .await;
    assert_problem(&r, 400, "bad-request");
    let r = app
        .get("/api/v1/returns/ret_01JZZZZZZZZZZZZZZZZZZZZZZZ/label.pdf")
        .await;
    assert_problem(&r, 404, "not-found");

    // Once cancelled, there is no parcel to label.
    let r = app
        .post(&format!("/api/v1/returns/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.get(&format!("/api/v1/returns/{id}/label.zpl")).await;
    assert_problem(&r, 409, "conflict");
}

crate::both!(
    labels,
    super::labels_and_packing_slips,
    super::auto_approve()
);
