//! The OpenAPI document describes the API that is served, and the health and
//! fallback routes answer as documented.

use serde_json::{Value, json};

use crate::support::{TestApp, assert_problem};

const OPERATIONS: [(&str, &str); 12] = [
    ("/orders", "post"),
    ("/orders/{order_id}", "get"),
    ("/orders/{order_id}/eligibility", "get"),
    ("/returns", "post"),
    ("/returns/{return_id}", "get"),
    ("/returns/{return_id}/approve", "post"),
    ("/returns/{return_id}/reject", "post"),
    ("/returns/{return_id}/mark-in-transit", "post"),
    ("/returns/{return_id}/receive", "post"),
    ("/returns/{return_id}/inspect", "post"),
    ("/returns/{return_id}/resolve", "post"),
    ("/returns/{return_id}/cancel", "post"),
];

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

async fn the_document_describes_the_api(app: &TestApp) {
    // Public: no key needed.
    let r = app
        .send(app.client.get(app.url("/api/v1/openapi.json")))
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let doc = &r.body;
    let version = doc["openapi"].as_str().expect("openapi");
    assert!(version.starts_with("3.1."), "{version}");
    assert_eq!(doc["info"]["title"], "Kembali API");
    assert!(doc["info"]["version"].is_string());
    assert_eq!(doc["servers"][0]["url"], "/api/v1");

    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in OPERATIONS {
        let op = paths
            .get(path)
            .and_then(|p| p.get(method))
            .unwrap_or_else(|| panic!("{method} {path} is not documented"));
        // Each names the key and the scope it needs, and the problem
        // documents it answers with.
        let scope = if method == "get" { "read" } else { "write" };
        assert_eq!(
            op["security"],
            json!([{"api_key": [scope]}]),
            "{method} {path}"
        );
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|c| c.starts_with('2')),
            "{method} {path}: no success response"
        );
        // Problems are documented as what they are served as.
        let problem_refs: Vec<&str> = responses
            .iter()
            .filter(|(c, _)| c.starts_with('4') || c.starts_with('5'))
            .map(|(c, r)| {
                assert_eq!(
                    r["content"]
                        .as_object()
                        .map(|m| m.keys().map(String::as_str).collect::<Vec<_>>()),
                    Some(vec!["application/problem+json"]),
                    "{method} {path} {c}"
                );
                r.pointer("/content/application~1problem+json/schema/$ref")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            })
            .collect();
        // What the extractors and layers answer is documented too.
        let mut expected = vec!["401", "503"];
        if method == "post" {
            expected.extend(["400", "413", "415", "422"]);
        }
        if path.contains('{') {
            expected.push("404");
        }
        for code in expected {
            assert!(
                responses.contains_key(code),
                "{method} {path}: {code} undocumented"
            );
        }
        assert!(
            !problem_refs.is_empty(),
            "{method} {path}: no error response"
        );
        assert!(
            problem_refs
                .iter()
                .all(|r| *r == "#/components/schemas/Problem"),
            "{method} {path}: {problem_refs:?}"
        );
        if path.contains('{') {
            let name = &path[path.find('{').expect("{") + 1..path.find('}').expect("}")];
            let param = op["parameters"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == name && p["in"] == "path"))
                .unwrap_or_else(|| panic!("{method} {path}: path parameter {name} undocumented"));
            // Typed ids: the schema says which strings can name something.
            let prefix = if name == "order_id" { "ord" } else { "ret" };
            let schema = match param["schema"].get("$ref").and_then(Value::as_str) {
                Some(r) => doc
                    .pointer(r.trim_start_matches('#'))
                    .unwrap_or_else(|| panic!("dangling {r}")),
                None => &param["schema"],
            };
            assert_eq!(
                schema["pattern"],
                format!("^{prefix}_[0-7][0-9a-hjkmnp-tv-zA-HJKMNP-TV-Z]{{25}}$"),
                "{method} {path}"
            );
        }
        if method == "post" {
            assert!(op["requestBody"].is_object(), "{method} {path}: no body");
            assert!(
                op["parameters"].as_array().is_some_and(|ps| ps
                    .iter()
                    .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")),
                "{method} {path}: Idempotency-Key undocumented"
            );
        }
    }
    // Only the documented methods exist on these paths.
    assert!(paths["/orders"].get("delete").is_none());
    assert!(paths["/returns/{return_id}"].get("post").is_none());

    // How long an Idempotency-Key holds is part of the contract.
    let key = paths["/returns"]["post"]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "Idempotency-Key"))
        .expect("Idempotency-Key");
    assert!(
        key["description"]
            .as_str()
            .is_some_and(|d| d.contains("24 hours")),
        "{key}"
    );

    let scheme = &doc["components"]["securitySchemes"]["api_key"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");

    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let problem = &schemas["Problem"];
    for field in [
        "type",
        "title",
        "status",
        "detail",
        "errors",
        "explanations",
    ] {
        assert!(
            problem["properties"].get(field).is_some(),
            "Problem.{field} missing: {problem}"
        );
    }
    let required: Vec<&str> = problem["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for field in ["type", "title", "status", "detail"] {
        assert!(required.contains(&field), "Problem.{field} not required");
    }
    for name in [
        "FieldError",
        "NewOrder",
        "OrderView",
        "EligibilityView",
        "NewReturnRequest",
        "ReturnView",
        "Decision",
        "Explanation",
        "Money",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    // Every reference points at something that exists.
    let mut all = Vec::new();
    refs(doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }

    // Every documented operation is routed: it never reaches the fallback.
    for (path, method) in OPERATIONS {
        let url = app.url(&format!(
            "/api/v1{}",
            path.replace("{order_id}", "ord_01jd4x7v8k2m3n4p5q6r7s8t9v")
                .replace("{return_id}", "ret_01jd4x7v8k2m3n4p5q6r7s8t9v")
        ));
        let req = match method {
            "get" => app.client.get(url),
            _ => app.client.post(url).json(&json!({})),
        };
        let r = app.send(req.bearer_auth(&app.key)).await;
        assert_ne!(r.status, 405, "{method} {path}");
        assert_ne!(
            r.body["detail"], "there is nothing at this address",
            "{method} {path} is documented but not served"
        );
    }
}
crate::both!(document, super::the_document_describes_the_api);

async fn health_and_fallbacks(app: &TestApp) {
    let h = app.send(app.client.get(app.url("/healthz"))).await;
    assert_eq!((h.status, h.body.clone()), (200, json!("ok")));
    let r = app.send(app.client.get(app.url("/readyz"))).await;
    assert_eq!((r.status, r.body.clone()), (200, json!("ready")));

    // Outside the API, an unknown address is a page, in the asked language.
    for (path, lang, words) in [
        ("/", "en", "Page not found"),
        ("/nothing?lang=pl", "pl", "Nie znaleziono strony"),
        ("/portal/nothing?lang=id", "id", "Halaman tidak ditemukan"),
        ("/desk/nothing", "en", "Page not found"),
    ] {
        let r = app.send(app.client.get(app.url(path))).await;
        assert_eq!(r.status, 404, "{path}");
        let ct = r.headers.get("content-type").and_then(|v| v.to_str().ok());
        assert!(
            ct.is_some_and(|c| c.starts_with("text/html")),
            "{path}: {ct:?}"
        );
        let html = r.body.as_str().unwrap_or_default();
        assert!(html.contains(&format!("lang=\"{lang}\"")), "{path}: {html}");
        assert!(html.contains(words), "{path}: {html}");
    }
    // The hooks answer machines: problem documents.
    assert_problem(
        &app.send(app.client.post(app.url("/hooks/nothing"))).await,
        404,
        "not-found",
    );
    for path in [
        "/api/v1",
        "/api/v1/",
        "/api/v2/orders",
        "/api/v1/orders/ord_01jd4x7v8k2m3n4p5q6r7s8t9v/lines",
        "/api/v1/returns/ret_01jd4x7v8k2m3n4p5q6r7s8t9v/explode",
    ] {
        // With or without a key: not found, as a problem document.
        assert_problem(
            &app.send(app.client.get(app.url(path))).await,
            404,
            "not-found",
        );
        assert_problem(&app.get(path).await, 404, "not-found");
        assert_problem(&app.post(path, &json!({})).await, 404, "not-found");
    }
    for (method, path) in [
        (reqwest::Method::DELETE, "/api/v1/orders"),
        (reqwest::Method::PATCH, "/api/v1/orders"),
        (
            reqwest::Method::PUT,
            "/api/v1/orders/ord_01jd4x7v8k2m3n4p5q6r7s8t9v",
        ),
        (
            reqwest::Method::GET,
            "/api/v1/returns/ret_01jd4x7v8k2m3n4p5q6r7s8t9v/approve",
        ),
        (reqwest::Method::POST, "/healthz"),
    ] {
        let r = app
            .send(
                app.client
                    .request(method.clone(), app.url(path))
                    .bearer_auth(&app.key),
            )
            .await;
        assert_problem(&r, 405, "method-not-allowed");
        // RFC 9110 §15.5.6: a 405 says which methods the address takes.
        let allow = r
            .headers
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{method} {path}: no Allow header"));
        assert!(!allow.is_empty(), "{method} {path}");
        assert!(
            !allow.contains(method.as_str()),
            "{method} {path}: Allow: {allow}"
        );
    }
}
crate::both!(fallbacks, super::health_and_fallbacks);

/// The document as served, pinned: a change to the contract shows up in review
/// as a change to `snapshots/`. CI sets `INSTA_UPDATE=no`, so a new or changed
/// snapshot fails there instead of being written.
async fn the_document_is_pinned(app: &TestApp) {
    let r = app
        .send(app.client.get(app.url("/api/v1/openapi.json")))
        .await;
    assert_eq!(r.status, 200);
    let mut doc = r.body;
    // The crate version moves with every release; the contract does not.
    doc["info"]["version"] = json!("[version]");
    insta::assert_json_snapshot!("openapi", doc);
}
crate::both!(snapshot, super::the_document_is_pinned);
