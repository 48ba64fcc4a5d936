//! The shop's return policy as a resource: read the current version and past
//! ones, save a new version, check a draft without saving it, and explain the
//! decision for one order line under the current policy or a draft.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};
use kembali_core::policy::{Decision, PolicyDocument, PolicyWarning, evaluate};
use kembali_core::returns::ReturnReason;
use kembali_core::shop::Shop;
use kembali_core::text::{self, Form};
use kembali_core::{LineId, OrderId, ShopId};
use kembali_store::policies::{self as store, Version};
use kembali_store::{Session, StoreError, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::eligibility::Context;
use crate::error::{Entity, Rule};
use crate::{App, AppError};

/// At most this many characters in any text of a policy document (a rule's id,
/// description or refusal, an email on a list).
pub const MAX_POLICY_TEXT: usize = 2000;
/// At most this many entries in any list of a policy document (rules, SKUs,
/// blocked emails).
pub const MAX_POLICY_ITEMS: usize = 10_000;

/// The most days any period of a policy may last: ten years, as the engine
/// allows for windows.
pub const MAX_DAYS: u32 = 3650;

/// One reason a policy document cannot be saved, at the RFC 6901 JSON pointer
/// of the value (`/rules/2/when/skus`; empty for the whole document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PolicyProblem {
    pub pointer: String,
    pub message: String,
}

/// A saved version of the policy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyVersionView {
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub document: PolicyDocument,
    /// What the merchant should know about it (e.g. a window below the EU's 14 days).
    pub warnings: Vec<PolicyWarning>,
}

/// What a check of a draft found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyCheck {
    /// Whether `PUT /policy` would take the document.
    pub valid: bool,
    pub errors: Vec<PolicyProblem>,
    pub warnings: Vec<PolicyWarning>,
}

fn view(shop: &Shop, v: Version) -> PolicyVersionView {
    PolicyVersionView {
        warnings: v.document.warnings(shop.country.is_eu()),
        version: v.version,
        created_at: v.created_at,
        document: v.document,
    }
}

/// An RFC 6901 reference token: `~` and `/` escaped.
fn token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The pointer of a dotted path as the policy's own checks write it
/// (`rules[2].then.window_days`), or `None` when `path` is not one.
fn pointer_of(path: &str) -> Option<String> {
    let mut out = String::new();
    for part in path.split('.') {
        let (name, rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        out.push('/');
        out.push_str(name);
        let mut rest = rest;
        while let Some(r) = rest.strip_prefix('[') {
            let (index, after) = r.split_once(']')?;
            if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            out.push('/');
            out.push_str(index);
            rest = after;
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(out)
}

/// Bounds every text and list of the document: its type is the engine's and
/// describes meaning, so its sizes are held here before it is parsed.
fn check_bounds(v: &Value, at: &mut String, out: &mut Vec<PolicyProblem>) {
    match v {
        Value::String(s) => {
            if let Err(p) = text::check(s, Form::Prose, MAX_POLICY_TEXT) {
                out.push(PolicyProblem {
                    pointer: at.clone(),
                    message: Rule::from(p).to_string(),
                });
            }
        }
        Value::Array(items) => {
            if items.len() > MAX_POLICY_ITEMS {
                out.push(PolicyProblem {
                    pointer: at.clone(),
                    message: Rule::AtMost {
                        max: MAX_POLICY_ITEMS as u64,
                    }
                    .to_string()
                        + " entries",
                });
                return;
            }
            for (n, x) in items.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("/{n}"));
                check_bounds(x, at, out);
                at.truncate(len);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let len = at.len();
                at.push('/');
                at.push_str(&token(k));
                if k.chars().count() > MAX_POLICY_TEXT {
                    out.push(PolicyProblem {
                        pointer: at.clone(),
                        message: format!("keys are at most {MAX_POLICY_TEXT} characters"),
                    });
                } else {
                    check_bounds(x, at, out);
                }
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// Reads a policy document from JSON, each problem at its pointer under `base`
/// (`""` for a document that is the whole body, `/policy` inside another): its
/// shape first ([`shape`]), then what the shape cannot say ([`rules`]).
pub fn parse(value: &Value, base: &str) -> Result<PolicyDocument, Vec<PolicyProblem>> {
    let doc = shape(value, base)?;
    rules(value, &doc, base)?;
    Ok(doc)
}

/// The document read as its type says (what the OpenAPI schema describes).
pub fn shape(value: &Value, base: &str) -> Result<PolicyDocument, Vec<PolicyProblem>> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut pointer = base.to_owned();
        for seg in e.path().iter() {
            use serde_path_to_error::Segment;
            match seg {
                Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                Segment::Map { key } => pointer.push_str(&format!("/{}", token(key))),
                Segment::Enum { variant } => pointer.push_str(&format!("/{}", token(variant))),
                Segment::Unknown => {}
            }
        }
        let message = e.inner().to_string();
        // serde names an unknown field in its message, not in the path: point at it.
        if let Some(name) = message
            .strip_prefix("unknown field `")
            .and_then(|r| r.split_once('`'))
            .map(|(n, _)| n)
            && !pointer.ends_with(&format!("/{}", token(name)))
        {
            pointer.push_str(&format!("/{}", token(name)));
        }
        vec![PolicyProblem { pointer, message }]
    })
}

/// What a well-shaped document must also be: its texts and lists within their
/// bounds, and sensible by its own `validate()`.
fn rules(value: &Value, doc: &PolicyDocument, base: &str) -> Result<(), Vec<PolicyProblem>> {
    let mut problems = Vec::new();
    check_bounds(value, &mut base.to_owned(), &mut problems);
    // The engine leaves the ship-by days unbounded; an expiry job is scheduled
    // that many days after approval, so a number past the calendar would make
    // it due at once. Ten years, like the windows.
    let ship_by = |days: u32, pointer: String| {
        (days > MAX_DAYS).then(|| PolicyProblem {
            pointer,
            message: format!("at most {MAX_DAYS} days"),
        })
    };
    problems.extend(ship_by(
        doc.defaults.ship_by_days,
        format!("{base}/defaults/ship_by_days"),
    ));
    for (n, r) in doc.rules.iter().enumerate() {
        if let Some(days) = r.then.ship_by_days {
            problems.extend(ship_by(days, format!("{base}/rules/{n}/then/ship_by_days")));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    doc.validate().map_err(|e| {
        let message = e.to_string();
        let path = message.split([' ', ':']).next().unwrap_or_default();
        let pointer = pointer_of(path).unwrap_or_default();
        vec![PolicyProblem {
            pointer: format!("{base}{pointer}"),
            message,
        }]
    })
}

/// The current version.
pub async fn current(app: &App, shop: &Shop) -> Result<PolicyVersionView, AppError> {
    let mut conn = app.db.conn().await?;
    let v = store::latest(&mut conn, shop.id)
        .await?
        .ok_or(AppError::NoPolicy)?;
    Ok(view(shop, v))
}

/// One version.
pub async fn version(app: &App, shop: &Shop, n: i64) -> Result<PolicyVersionView, AppError> {
    let mut conn = app.db.conn().await?;
    let v = store::get(&mut conn, shop.id, n)
        .await?
        .ok_or(AppError::NotFound(Entity::PolicyVersion))?;
    Ok(view(shop, v))
}

/// Up to `limit` versions after version `after`, oldest first.
pub async fn versions(
    app: &App,
    shop: &Shop,
    after: Option<i64>,
    limit: u32,
) -> Result<Vec<PolicyVersionView>, AppError> {
    let mut conn = app.db.conn().await?;
    let all = store::list(&mut conn, shop.id, after, limit).await?;
    Ok(all.into_iter().map(|v| view(shop, v)).collect())
}

/// Checks a draft: what `save` would refuse, and what it would warn about. A
/// body that is not a policy document by its schema is refused outright, as
/// any request body would be; the check reports what the schema cannot say.
pub fn check(shop: &Shop, value: &Value) -> Result<PolicyCheck, AppError> {
    let doc = shape(value, "").map_err(AppError::InvalidPolicy)?;
    Ok(match rules(value, &doc, "") {
        Ok(()) => PolicyCheck {
            valid: true,
            errors: Vec::new(),
            warnings: doc.warnings(shop.country.is_eu()),
        },
        Err(errors) => PolicyCheck {
            valid: false,
            errors,
            warnings: Vec::new(),
        },
    })
}

/// How long an instance decides under a policy version it read before it asks
/// the database whether a newer one was saved (by another instance, the CLI).
/// A save through this instance is seen at once.
pub const POLICY_CACHE_SECONDS: i64 = 5;

/// The shops' current policies, parsed once per version, per instance.
#[derive(Debug, Default)]
pub struct Cache {
    by_shop: Mutex<HashMap<ShopId, Cached>>,
}

#[derive(Debug, Clone)]
struct Cached {
    version: i64,
    document: Arc<PolicyDocument>,
    checked: Timestamp,
}

impl Cache {
    /// The shop's current version and its document: from memory while the
    /// version was confirmed less than [`POLICY_CACHE_SECONDS`] ago, else after
    /// asking for the newest version number (and reading and parsing the
    /// document only when it changed).
    pub async fn current(
        &self,
        now: Timestamp,
        ex: &mut impl Session,
        shop: ShopId,
    ) -> Result<Option<(i64, Arc<PolicyDocument>)>, StoreError> {
        if let Some(fresh) = self.fresh(now, shop) {
            return Ok(Some(fresh));
        }
        let hit = self.lock().get(&shop).cloned();
        let Some(latest) = store::latest_version(ex, shop).await? else {
            self.forget(shop);
            return Ok(None);
        };
        let (version, document) = match hit {
            Some(c) if c.version == latest => (c.version, c.document),
            _ => match store::current(ex, shop).await? {
                Some((v, doc)) => (v, Arc::new(doc)),
                None => return Ok(None),
            },
        };
        let mut by_shop = self.lock();
        if by_shop.len() >= 10_000 && !by_shop.contains_key(&shop) {
            by_shop.clear();
        }
        by_shop.insert(
            shop,
            Cached {
                version,
                document: document.clone(),
                checked: now,
            },
        );
        Ok(Some((version, document)))
    }

    /// The shop's current version and document if this instance confirmed
    /// them less than [`POLICY_CACHE_SECONDS`] ago; `None` means ask
    /// [`Cache::current`].
    pub fn fresh(&self, now: Timestamp, shop: ShopId) -> Option<(i64, Arc<PolicyDocument>)> {
        let by_shop = self.lock();
        let c = by_shop.get(&shop)?;
        let age = now.duration_since(c.checked);
        // A clock that went back is no reason to trust the entry longer.
        (age >= SignedDuration::ZERO && age < SignedDuration::from_secs(POLICY_CACHE_SECONDS))
            .then(|| (c.version, c.document.clone()))
    }

    /// Drops what this instance knows of the shop's policy (a new version).
    pub fn forget(&self, shop: ShopId) {
        self.lock().remove(&shop);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ShopId, Cached>> {
        self.by_shop.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Saves the document as the shop's next version; returns made before keep the
/// version they were decided under.
pub async fn save(
    app: &App,
    tx: &mut Tx,
    shop: &Shop,
    value: &Value,
) -> Result<PolicyVersionView, AppError> {
    let doc = parse(value, "").map_err(AppError::InvalidPolicy)?;
    let n = store::save(tx, shop.id, &doc, app.now()).await?;
    // This instance decides under the new version from now on; others within
    // POLICY_CACHE_SECONDS.
    app.policies.forget(shop.id);
    let v = store::get(tx, shop.id, n)
        .await?
        .ok_or(AppError::Store(StoreError::NotFound))?;
    Ok(view(shop, v))
}

/// How far from now a hypothetical date may be: ten years either way.
const HYPOTHETICAL_DAYS: i64 = 3653;

/// What to explain: a line of an order, for a reason and a moment, under the
/// current policy or a draft.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainRequest {
    pub order_id: OrderId,
    pub line_id: LineId,
    /// Units to price; what can still come back when absent.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100_000)]
    pub quantity: Option<u32>,
    /// The reason the shopper would give.
    #[serde(default)]
    pub reason: Option<ReturnReason>,
    /// The moment to decide at (within ten years of now); now when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
    /// A draft to decide under instead of the current version; nothing is saved.
    #[serde(default)]
    #[schema(value_type = Option<PolicyDocument>)]
    pub policy: Option<Value>,
}

/// The decision for the line, and what it was decided under.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Explained {
    /// The version decided under; `null` for a draft.
    pub policy_version: Option<i64>,
    pub order_id: OrderId,
    pub line_id: LineId,
    pub sku: String,
    pub quantity: u32,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub decision: Decision,
}

/// The decision for one line of an order, for a hypothetical reason and date,
/// under the current policy or a draft. Reads only.
pub async fn explain(app: &App, shop: &Shop, req: &ExplainRequest) -> Result<Explained, AppError> {
    if req.quantity == Some(0) {
        return Err(AppError::invalid("quantity", Rule::AtLeast { min: 1 }));
    }
    let now = app.now();
    let at = req.at.map_or(now, crate::to_millis);
    let bound = SignedDuration::from_hours(24 * HYPOTHETICAL_DAYS);
    if at.duration_since(now).abs() > bound {
        return Err(AppError::invalid(
            "at",
            Rule::NotValid {
                why: "must be within ten years of now",
            },
        ));
    }
    let draft = req
        .policy
        .as_ref()
        .map(|v| parse(v, "/policy"))
        .transpose()
        .map_err(AppError::InvalidPolicy)?;
    let mut conn = app.db.conn().await?;
    let mut ctx = Context::load(app, &mut conn, shop.id, req.order_id).await?;
    drop(conn);
    let is_draft = draft.is_some();
    if let Some(doc) = draft {
        ctx.policy = Arc::new(doc);
        // Drafts have no number; 0 is no version a shop has.
        ctx.policy_version = 0;
    }
    let line = ctx
        .order
        .line(req.line_id)
        .ok_or_else(|| AppError::invalid("line_id", Rule::NotInOrder))?;
    let sku = line.sku.clone();
    let decide = |quantity: u32| -> Result<Decision, AppError> {
        let facts = ctx
            .facts(shop, req.line_id, quantity, req.reason, 0, at)
            .ok_or_else(|| AppError::invalid("line_id", Rule::NotInOrder))?;
        evaluate(&ctx.policy, ctx.policy_version, &facts).map_err(|e| {
            if is_draft {
                AppError::InvalidPolicy(vec![PolicyProblem {
                    pointer: "/policy".into(),
                    message: format!("the draft cannot decide this line: {e}"),
                }])
            } else {
                AppError::Store(StoreError::Corrupt(e.to_string()))
            }
        })
    };
    let quantity = match req.quantity {
        Some(q) => q,
        None => decide(1)?.returnable_quantity.max(1),
    };
    let decision = decide(quantity)?;
    Ok(Explained {
        policy_version: (!is_draft).then_some(ctx.policy_version),
        order_id: req.order_id,
        line_id: req.line_id,
        sku,
        quantity,
        at,
        decision,
    })
}
