//! Who is asking: the API key (`Auth`), what its scopes allow (`Admin`,
//! `Auth::require`), and the short-lived cache of authenticated keys.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use jiff::{SignedDuration, Timestamp};
use kembali_core::access::{Scope, Scopes};
use kembali_core::returns::Actor;
use kembali_core::shop::Shop;
use kembali_core::{ApiKeyId, ShopId};
use kembali_store::api_keys::{self, Authenticated};

use crate::AppState;
use crate::api::error::ApiError;

/// The shop an API key belongs to, and what the key may do there. Every
/// handler that takes it is scoped to that shop.
///
/// Extracting it checks the scope the request's method needs: `read` for
/// GET and HEAD, `write` for everything else. So a read key is refused
/// (403) before any body is read, and a new write operation needs `write`
/// without saying so. Operations that manage the shop itself take [`Admin`]
/// instead; a handler can ask for more with [`Auth::require`].
#[derive(Debug, Clone)]
pub struct Auth {
    pub shop: Shop,
    pub key: ApiKeyId,
    pub scopes: Scopes,
}

impl Auth {
    pub fn actor(&self) -> Actor {
        Actor::ApiKey { id: self.key }
    }

    /// Refuses with a 403 problem naming the scope, unless the key has it (or a
    /// higher one).
    pub fn require(&self, needed: Scope) -> Result<(), ApiError> {
        if self.scopes.allow(needed) {
            return Ok(());
        }
        let has: Vec<&str> = self.scopes.as_slice().iter().map(|s| s.as_str()).collect();
        Err(ApiError::Forbidden(format!(
            "this needs an API key with the `{}` scope; this key has `{}`",
            needed.as_str(),
            has.join("`, `")
        )))
    }
}

/// The scope a request needs by its method alone.
pub fn scope_for(method: &Method) -> Scope {
    if method == Method::GET || method == Method::HEAD {
        Scope::Read
    } else {
        Scope::Write
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = identify(parts, state).await?;
        auth.require(scope_for(&parts.method))?;
        Ok(auth)
    }
}

/// The key the request carries, without a scope check; looked up once per
/// request (`Admin` and `Id` ask again).
async fn identify(parts: &mut Parts, state: &AppState) -> Result<Auth, ApiError> {
    if let Some(auth) = parts.extensions.get::<Auth>() {
        return Ok(auth.clone());
    }
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("send `Authorization: Bearer <api key>`".into()))?;
    // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` is `Bearer`.
    let secret = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, key)| key.trim())
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <api key>`".into())
        })?;
    let found = state.keys.authenticate(state, secret).await?;
    let auth = found
        .ok_or_else(|| ApiError::Unauthorized("this API key is not valid or was revoked".into()))?;
    parts.extensions.insert(auth.clone());
    Ok(auth)
}

/// An [`Auth`] whose key has the `admin` scope: for what manages the shop
/// itself (API keys, sources, webhook endpoints, settings). Refused with a 403
/// before the path's ids or the body are read.
pub struct Admin(pub Auth);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Checked first, so a read key hears what the operation needs: `admin`.
        let auth = identify(parts, state).await?;
        auth.require(Scope::Admin)?;
        Ok(Admin(auth))
    }
}

/// How long an instance trusts a key it has authenticated without asking the
/// database again. A revoked key (or a shop's changed settings) takes effect
/// on every instance within this time; on the instance that revoked it, at once.
pub const KEY_CACHE_SECONDS: i64 = 5;

/// At most this many keys are cached per instance; beyond, the cache is
/// emptied of stale entries, then entirely (then keys are simply looked up).
pub const KEY_CACHE_CAPACITY: usize = 10_000;

/// Keys this instance authenticated in the last [`KEY_CACHE_SECONDS`], by the
/// SHA-256 of their secret. Only successes are kept: unknown secrets always
/// reach the database, so guessing cannot fill the cache.
#[derive(Debug, Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, (Timestamp, Auth)>>,
}

impl KeyCache {
    pub fn new() -> KeyCache {
        KeyCache::default()
    }

    /// The live key `secret` opens, from the cache when fresh.
    pub async fn authenticate(
        &self,
        state: &AppState,
        secret: &str,
    ) -> Result<Option<Auth>, ApiError> {
        let hash = api_keys::hash_secret(secret);
        // Times on the application's clock, so tests can move past the bound.
        let now = state.app.now();
        if let Some(auth) = self.fresh(&hash, now) {
            return Ok(Some(auth));
        }
        let mut conn = state.app.db.conn().await?;
        let Some(Authenticated { key, scopes, shop }) =
            api_keys::authenticate(&mut conn, secret).await?
        else {
            return Ok(None);
        };
        let auth = Auth { shop, key, scopes };
        self.keep(hash, now, auth.clone());
        Ok(Some(auth))
    }

    fn fresh(&self, hash: &str, now: Timestamp) -> Option<Auth> {
        let entries = self.entries.lock().ok()?;
        let (at, auth) = entries.get(hash)?;
        // A clock that went back does not stretch the bound either.
        let age = now.duration_since(*at);
        (age >= SignedDuration::ZERO && age < SignedDuration::from_secs(KEY_CACHE_SECONDS))
            .then(|| auth.clone())
    }

    fn keep(&self, hash: String, now: Timestamp, auth: Auth) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= KEY_CACHE_CAPACITY {
            let bound = SignedDuration::from_secs(KEY_CACHE_SECONDS);
            entries.retain(|_, (at, _)| now.duration_since(*at) < bound);
            if entries.len() >= KEY_CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(hash, (now, auth));
    }

    /// Forgets every key of the shop (its settings changed through this
    /// instance: the next request reads them fresh; other instances within
    /// [`KEY_CACHE_SECONDS`]).
    pub fn forget_shop(&self, shop: ShopId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, a)| a.shop.id != shop);
        }
    }

    /// Forgets a key at once (it was revoked through this instance).
    pub fn forget(&self, shop: ShopId, key: ApiKeyId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, a)| !(a.key == key && a.shop.id == shop));
        }
    }
}

/// Writes into the OpenAPI document the scope each operation needs, as the
/// scopes of its `api_key` requirement (OpenAPI 3.1 allows role names there):
/// what a handler declared (`security(("api_key" = ["admin"]))`), else what
/// [`scope_for`] its method gives; and the 403 a key without it gets.
pub(crate) struct ScopeContract;

impl utoipa::Modify for ScopeContract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::SecurityRequirement;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};

        for item in openapi.paths.paths.values_mut() {
            let ops = [
                (&mut item.get, Method::GET),
                (&mut item.post, Method::POST),
                (&mut item.put, Method::PUT),
                (&mut item.patch, Method::PATCH),
                (&mut item.delete, Method::DELETE),
            ];
            for (op, method) in ops {
                let Some(op) = op.as_mut() else { continue };
                let Some(security) = op.security.as_mut() else {
                    continue;
                };
                let Ok(written) = serde_json::to_value(&*security) else {
                    continue;
                };
                let Some(scopes) = written.get(0).and_then(|r| r.get("api_key")) else {
                    continue;
                };
                let scope = scopes
                    .get(0)
                    .and_then(|s| s.as_str())
                    .and_then(Scope::parse)
                    .unwrap_or_else(|| scope_for(&method));
                *security = vec![SecurityRequirement::new("api_key", [scope.as_str()])];
                if scope != Scope::Read {
                    let detail = format!(
                        "The API key lacks the `{}` scope this needs",
                        scope.as_str()
                    );
                    op.responses
                        .responses
                        .entry("403".to_owned())
                        .or_insert_with(|| {
                            ResponseBuilder::new()
                                .description(detail)
                                .content(
                                    crate::api::error::PROBLEM_JSON,
                                    ContentBuilder::new()
                                        .schema(Some(Ref::from_schema_name("Problem")))
                                        .build(),
                                )
                                .build()
                                .into()
                        });
                }
            }
        }
    }
}
