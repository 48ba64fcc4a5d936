//! The isolation walk: every operation of the served OpenAPI document, with no
//! key (401), with keys that lack its scope (403), and — for every operation
//! with an id in its path — with another shop's key and this shop's ids (404).
//! It reads the operations from the document, so new ones are walked as they
//! are added; ids it cannot make are well-formed random ones.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::fixtures::{create_order, create_return, get_return, order, return_body, s};
use crate::support::{Reply, TestApp, assert_problem};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
const SCOPES: [&str; 3] = ["read", "write", "admin"];

/// A key of this shop's with one scope, made through the API.
pub async fn key_as(app: &TestApp, admin: &str, scope: &str) -> (String, String) {
    let r = app
        .post_as(
            admin,
            "/api/v1/api-keys",
            &json!({"name": format!("{scope} key"), "scopes": [scope]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (s(&r.body["id"]), s(&r.body["secret"]))
}

/// The id prefix a path parameter's schema names (`^ord_…`), if it is an id.
fn id_prefix(doc: &Value, param: &Value) -> Option<String> {
    let mut schema = &param["schema"];
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next()?;
        schema = &doc["components"]["schemas"][name];
    }
    let pattern = schema["pattern"].as_str()?;
    let rest = pattern.strip_prefix('^')?;
    let (prefix, _) = rest.split_once('_')?;
    prefix
        .chars()
        .all(|c| c.is_ascii_lowercase())
        .then(|| prefix.to_owned())
}

/// Every string in `v` that looks like one of our ids, by prefix.
fn harvest(v: &Value, ids: &mut BTreeMap<String, String>) {
    match v {
        Value::String(t) => {
            if let Some((prefix, rest)) = t.split_once('_')
                && rest.len() == 26
                && prefix.chars().all(|c| c.is_ascii_lowercase())
                && rest.chars().all(|c| c.is_ascii_alphanumeric())
            {
                ids.entry(prefix.to_owned()).or_insert_with(|| t.clone());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| harvest(x, ids)),
        Value::Object(m) => m.values().for_each(|x| harvest(x, ids)),
        _ => {}
    }
}

struct Op {
    method: String,
    path: String,
    /// The path with this shop's ids (or random well-formed ones) filled in.
    url: String,
    has_ids: bool,
    /// Every id in the path is a real one of this shop's.
    real: bool,
    has_body: bool,
    scope: Option<String>,
    /// The document says a 409 can answer it: a GET whose answer depends on the
    /// resource's state (a return's label exists only once it is approved).
    state_bound: bool,
}

async fn call(app: &TestApp, op: &Op, key: Option<&str>) -> Reply {
    let method = reqwest::Method::from_bytes(op.method.to_uppercase().as_bytes()).expect("method");
    let mut req = app
        .client
        .request(method, app.url(&format!("/api/v1{}", op.url)));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if op.has_body {
        // Any body will do: auth, scope and ownership are checked before it is read.
        req = req.json(&json!({}));
    }
    app.send(req).await
}

async fn every_operation_is_walked(app: &TestApp) {
    let doc = app
        .send(app.client.get(app.url("/api/v1/openapi.json")))
        .await
        .body;
    // Things of this shop, to have real ids.
    let o = create_order(app, &order("#W-1", 2)).await;
    let r = create_return(app, &return_body(&o, 0, 1, "refund")).await;
    let (read_id, read) = key_as(app, &app.key, "read").await;
    let (_, write) = key_as(app, &app.key, "write").await;
    let source = app
        .post(
            "/api/v1/sources",
            &json!({"kind": "shopify", "domain": "walk-test.myshopify.com", "secret": "walk-secret-1"}),
        )
        .await;
    assert_eq!(source.status, 201, "{}", source.body);
    let other = app.other_shop("walk-other").await;
    let (_, other_read) = key_as(app, &other, "read").await;

    let mut ids = BTreeMap::new();
    for v in [&o, &r, &source.body] {
        harvest(v, &mut ids);
    }
    ids.insert("key".into(), read_id.clone());
    // Whatever the lists show (resources others add) gives more real ids.
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        if item.get("get").is_some() && !path.contains('{') {
            harvest(&app.get(&format!("/api/v1{path}")).await.body, &mut ids);
        }
    }
    let ulid = &s(&o["id"])[4..];

    let mut ops = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let params: Vec<&Value> = item["parameters"]
                .as_array()
                .into_iter()
                .chain(op["parameters"].as_array())
                .flatten()
                .collect();
            let mut url = path.clone();
            let mut has_ids = false;
            let mut real = true;
            let mut query = Vec::new();
            for p in &params {
                let name = s(&p["name"]);
                match p["in"].as_str() {
                    Some("path") => {
                        let value = match id_prefix(&doc, p) {
                            Some(prefix) => {
                                has_ids = true;
                                real &= ids.contains_key(&prefix);
                                ids.get(&prefix)
                                    .cloned()
                                    .unwrap_or_else(|| format!("{prefix}_{ulid}"))
                            }
                            None if name.ends_with("_id") => panic!(
                                "{path}: `{name}` names an id but its schema has no id pattern \
                                 (declare it with its id type, e.g. `OrderId`)"
                            ),
                            None => p["schema"]["example"]
                                .as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| "1".into()),
                        };
                        url = url.replace(&format!("{{{name}}}"), &value);
                    }
                    Some("query") if p["required"] == true => {
                        let schema = &p["schema"];
                        let value = schema["enum"][0]
                            .as_str()
                            .or(schema["example"].as_str())
                            .unwrap_or("1")
                            .to_owned();
                        query.push(format!("{name}={value}"));
                    }
                    _ => {}
                }
            }
            if !query.is_empty() {
                url = format!("{url}?{}", query.join("&"));
            }
            let scope = op["security"][0]["api_key"][0].as_str().map(str::to_owned);
            ops.push(Op {
                method: method.to_owned(),
                path: path.clone(),
                url,
                has_ids,
                real,
                has_body: op.get("requestBody").is_some(),
                scope,
                state_bound: op["responses"].get("409").is_some(),
            });
        }
    }
    // Not a vacuous walk: at least the operations of this change and before.
    assert!(ops.len() >= 21, "only {} operations", ops.len());
    assert!(ops.iter().filter(|o| o.has_ids).count() >= 12);

    let keys = [
        ("read", read.as_str()),
        ("write", write.as_str()),
        ("admin", app.key.as_str()),
    ];
    for op in &ops {
        let what = format!("{} {}", op.method, op.path);
        let Some(scope) = &op.scope else {
            panic!("{what}: every operation needs a key (the document names none)");
        };
        assert!(SCOPES.contains(&scope.as_str()), "{what}: scope {scope}");
        let needed = SCOPES.iter().position(|x| x == scope).unwrap_or(0);

        let r = call(app, op, None).await;
        assert_problem(&r, 401, "unauthorized");

        // This shop's keys without the scope: 403, saying which one.
        for (i, (name, key)) in keys.iter().enumerate() {
            if i >= needed {
                continue;
            }
            let r = call(app, op, Some(key)).await;
            assert_problem(&r, 403, "forbidden");
            let detail = s(&r.body["detail"]);
            assert!(
                detail.contains(&format!("`{scope}`")),
                "{what} as {name}: {detail}"
            );
        }
        // Every change needs more than `read`.
        assert!(op.method == "get" || needed > 0, "{what}: scope {scope}");

        if op.has_ids {
            // Another shop's admin key and this shop's ids: nothing there.
            let r = call(app, op, Some(&other)).await;
            assert_problem(&r, 404, "not-found");
            // Another shop's read key: refused for its scope or the ids, never more.
            let r = call(app, op, Some(&other_read)).await;
            if needed == 0 {
                assert_problem(&r, 404, "not-found");
            } else {
                assert!(r.status == 403 || r.status == 404, "{what}: {}", r.body);
            }
            // The ids are real: this shop's admin reads them.
            if op.method == "get" && op.real {
                let mine = call(app, op, Some(&app.key)).await;
                if op.state_bound && mine.status == 409 {
                    assert_problem(&mine, 409, "conflict");
                } else {
                    assert_eq!(mine.status, 200, "{what}: {}", mine.body);
                }
            }
        }
    }

    // Nothing of this shop's changed on the way.
    let ret = get_return(app, &s(&r["id"])).await;
    assert_eq!(ret["status"], "requested");
    assert_eq!(ret["version"], 1);
    assert_eq!(app.get_as(&read, "/api/v1/returns").await.status, 200);
    let listed = app.get("/api/v1/api-keys").await;
    assert!(
        listed.body["data"]
            .as_array()
            .expect("keys")
            .iter()
            .all(|k| k["revoked_at"].is_null()),
        "{}",
        listed.body
    );
}
crate::both!(every_operation, super::every_operation_is_walked);
