//! `GET /api/v1/orders/{id}/eligibility`: what the policy says about each line,
//! with explanation codes and English sentences, and strict query checks.

use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::fixtures::{create_order, create_return, order, return_body, s};
use crate::support::{TestApp, assert_problem};

async fn eligibility(app: &TestApp, order: &Value, query: &str) -> Value {
    let r = app
        .get(&format!(
            "/api/v1/orders/{}/eligibility{query}",
            s(&order["id"])
        ))
        .await;
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    r.body
}

fn codes(line: &Value) -> Vec<String> {
    line["decision"]["explanations"]
        .as_array()
        .expect("explanations")
        .iter()
        .map(|e| s(&e["code"]))
        .collect()
}

fn messages(line: &Value) -> Vec<String> {
    line["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|e| s(&e["message"]))
        .collect()
}

async fn every_line_and_the_window(app: &TestApp) {
    let fresh = create_order(app, &order("#E-1", 3)).await;
    let el = eligibility(app, &fresh, "").await;
    assert_eq!(el["order_id"], fresh["id"]);
    assert_eq!(el["policy_version"], 1);
    let lines = el["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 2, "every line without line_id");
    for (l, o) in lines.iter().zip(fresh["lines"].as_array().expect("lines")) {
        assert_eq!(l["line_id"], o["id"]);
        assert_eq!(l["sku"], o["sku"]);
        assert_eq!(l["decision"]["eligible"], true, "{l}");
        assert_eq!(codes(l), ["window_open"], "{l}");
        assert!(
            messages(l)[0].starts_with("You can return this item until"),
            "{l}"
        );
        // Without a quantity, all that can still come back is priced.
        assert_eq!(l["quantity"], o["quantity"]);
        assert_eq!(l["decision"]["returnable_quantity"], o["quantity"]);
    }
    // The whole shirt line: 2 × 149.99 − 20.00.
    assert_eq!(lines[0]["decision"]["item_amount"]["amount"], 27998);

    // The window is 30 days from the delivery day in the shop's time zone.
    let delivered: Timestamp = s(&fresh["shipments"][0]["delivered_at"])
        .parse()
        .expect("ts");
    let tz = jiff::tz::TimeZone::get("Europe/Warsaw").expect("tz");
    let last_day = delivered
        .to_zoned_datetime(tz)
        .date()
        .checked_add(30.days())
        .expect("date");
    assert_eq!(
        lines[0]["decision"]["window"]["last_day"],
        last_day.to_string()
    );
    assert_eq!(lines[0]["decision"]["window"]["days"], 30);

    // 40 days after delivery the 30-day window has ended.
    let old = create_order(app, &order("#E-2", 40)).await;
    let el = eligibility(
        app,
        &old,
        &format!("?line_id={}", s(&old["lines"][1]["id"])),
    )
    .await;
    let lines = el["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 1, "only the line asked for");
    assert_eq!(lines[0]["line_id"], old["lines"][1]["id"]);
    let l = &lines[0];
    assert_eq!(l["decision"]["eligible"], false);
    assert_eq!(codes(l), ["window_ended"]);
    let e = &l["decision"]["explanations"][0];
    assert_eq!(e["days"], 30);
    let last: jiff::civil::Date = s(&e["last_day"]).parse().expect("date");
    assert_eq!(
        messages(l)[0],
        format!(
            "The 30-day return window ended on {}.",
            last.strftime("%-d %B %Y")
        )
    );
    assert_eq!(l["messages"][0]["code"], "window_ended");
    assert!(
        l["decision"]["trace"]
            .as_array()
            .is_some_and(|t| t.iter().any(|s| s["source"] == "defaults")),
        "{l}"
    );
}
crate::both!(window, super::every_line_and_the_window);

async fn refusals_explain_themselves(app: &TestApp) {
    let mut fs = order("#E-3", 2);
    fs["lines"][1]["final_sale"] = json!(true);
    let fs = create_order(app, &fs).await;
    let el = eligibility(app, &fs, "").await;
    assert_eq!(el["lines"][0]["decision"]["eligible"], true);
    let mug = &el["lines"][1];
    assert_eq!(mug["decision"]["eligible"], false);
    assert!(codes(mug).contains(&"final_sale".to_owned()), "{mug}");
    assert!(messages(mug).contains(&"This item was a final-sale item.".to_owned()));

    let mut undelivered = order("#E-4", 2);
    undelivered["shipments"][0]["status"] = json!("in_transit");
    undelivered["shipments"][0]
        .as_object_mut()
        .expect("obj")
        .remove("delivered_at");
    let undelivered = create_order(app, &undelivered).await;
    let el = eligibility(app, &undelivered, "").await;
    for l in el["lines"].as_array().expect("lines") {
        assert_eq!(l["decision"]["eligible"], false);
        assert_eq!(codes(l)[0], "not_delivered", "{l}");
        assert_eq!(messages(l)[0], "This item has not been delivered yet.");
        assert_eq!(l["decision"]["returnable_quantity"], 0);
    }
    let mut unshipped = order("#E-5", 2);
    unshipped["shipments"] = json!([]);
    let unshipped = create_order(app, &unshipped).await;
    let el = eligibility(app, &unshipped, "?quantity=1").await;
    assert_eq!(codes(&el["lines"][0])[0], "not_delivered");

    // One of two shirts delivered: one can come back, two is too many.
    let mut partial = order("#E-6", 2);
    partial["shipments"][0]["lines"][0]["quantity"] = json!(1);
    let partial = create_order(app, &partial).await;
    let shirt = s(&partial["lines"][0]["id"]);
    let el = eligibility(app, &partial, &format!("?line_id={shirt}")).await;
    assert_eq!(el["lines"][0]["decision"]["returnable_quantity"], 1);
    assert_eq!(el["lines"][0]["quantity"], 1);
    let el = eligibility(app, &partial, &format!("?line_id={shirt}&quantity=2")).await;
    let l = &el["lines"][0];
    assert_eq!(l["decision"]["eligible"], false);
    assert_eq!(codes(l)[0], "too_many");
    assert_eq!(l["decision"]["explanations"][0]["requested"], 2);
    assert_eq!(l["decision"]["explanations"][0]["available"], 1);
    assert_eq!(
        messages(l)[0],
        "Only 1 of this item can be returned, not 2."
    );

    // Units held by an open return are not offered again.
    let o = create_order(app, &order("#E-7", 2)).await;
    create_return(app, &return_body(&o, 1, 1, "refund")).await;
    create_return(app, &return_body(&o, 0, 1, "refund")).await;
    let el = eligibility(app, &o, "").await;
    assert_eq!(el["lines"][0]["decision"]["returnable_quantity"], 1);
    assert_eq!(el["lines"][0]["decision"]["eligible"], true);
    let mug = &el["lines"][1];
    assert_eq!(mug["decision"]["returnable_quantity"], 0);
    assert_eq!(mug["decision"]["eligible"], false);
    assert_eq!(codes(mug)[0], "nothing_left");
    assert_eq!(messages(mug)[0], "This item is already being returned.");
    // Asking does not hold anything.
    assert_eq!(crate::fixtures::returnable(app, &o, 0).await, 1);
    assert_eq!(app.counts(crate::fixtures::EMAIL).await.1, 2);

    // A huge quantity is a refusal, not an error.
    let el = eligibility(
        app,
        &o,
        &format!("?line_id={}&quantity=4294967295", s(&o["lines"][0]["id"])),
    )
    .await;
    assert_eq!(codes(&el["lines"][0])[0], "too_many");
}
crate::both!(refusals, super::refusals_explain_themselves);

async fn bad_questions(app: &TestApp) {
    let o = create_order(app, &order("#E-8", 2)).await;
    let other = create_order(app, &order("#E-9", 2)).await;
    let id = s(&o["id"]);
    for (query, field) in [
        ("reason=teleported", "reason"),
        ("reason=", "reason"),
        ("line_id=nope", "line_id"),
        ("line_id=ord_01jd4x7v8k2m3n4p5q6r7s8t9v", "line_id"),
        (
            &*format!("line_id={}", s(&other["lines"][0]["id"])),
            "line_id",
        ),
        ("quantity=0", "quantity"),
        ("quantity=-1", "query"),
        ("quantity=two", "query"),
        ("quantity=4294967296", "query"),
        ("colour=red", "query"),
    ] {
        let r = app
            .get(&format!("/api/v1/orders/{id}/eligibility?{query}"))
            .await;
        assert_problem(&r, 422, "validation");
        assert_eq!(r.body["errors"][0]["field"], field, "{query}: {}", r.body);
    }
    // A good reason is accepted.
    let r = app
        .get(&format!(
            "/api/v1/orders/{id}/eligibility?reason=damaged&quantity=1"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    for path in [
        "/api/v1/orders/ord_01jd4x7v8k2m3n4p5q6r7s8t9v/eligibility",
        "/api/v1/orders/ord_01jd4x7v8k2m3n4p5q6r7s8t9v",
        "/api/v1/orders/garbage/eligibility",
        "/api/v1/orders/garbage",
        "/api/v1/orders/ret_01jd4x7v8k2m3n4p5q6r7s8t9v",
        "/api/v1/orders/ord_/eligibility",
        "/api/v1/orders/%00/eligibility",
    ] {
        assert_problem(&app.get(path).await, 404, "not-found");
    }
    // The other order's line id names the line, but of another order: 422 above;
    // the order itself is fine.
    assert_eq!(
        app.get(&format!("/api/v1/orders/{}", s(&other["id"])))
            .await
            .status,
        200
    );
}
crate::both!(bad_queries, super::bad_questions);
