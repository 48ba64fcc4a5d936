//! API keys: make one with its scopes (the secret is shown once), list, revoke.

use kembali_core::access::Scopes;
use kembali_core::text::Form;
use kembali_core::{ApiKeyId, ShopId};
use kembali_store::Tx;
use kembali_store::api_keys::{self, ApiKey, NewApiKey};

use crate::error::{Entity, Rule, check_text};
use crate::{App, AppError};

/// The longest name a key may have, in characters.
pub const MAX_NAME: usize = 100;

/// Makes a key for `shop` with these scopes (at least one).
pub async fn create(
    app: &App,
    tx: &mut Tx,
    shop: ShopId,
    name: &str,
    scopes: &Scopes,
) -> Result<NewApiKey, AppError> {
    if name.trim().is_empty() {
        return Err(AppError::invalid("name", Rule::Empty));
    }
    check_text("name", name, Form::Line, MAX_NAME)?;
    if scopes.is_empty() {
        return Err(AppError::invalid("scopes", Rule::Empty));
    }
    Ok(api_keys::create(tx, shop, name, scopes, app.now()).await?)
}

/// The shop's keys, newest first, below `before`; at most `limit`.
pub async fn list(
    app: &App,
    shop: ShopId,
    before: Option<ApiKeyId>,
    limit: u32,
) -> Result<Vec<ApiKey>, AppError> {
    let mut conn = app.db.conn().await?;
    Ok(api_keys::list(&mut conn, shop, before, limit).await?)
}

/// Revokes the key: from now on it opens nothing (instances that cached it
/// stop within their cache's bound). Revoking twice keeps the first time.
pub async fn revoke(
    app: &App,
    tx: &mut Tx,
    shop: ShopId,
    id: ApiKeyId,
) -> Result<ApiKey, AppError> {
    if !api_keys::revoke(tx, shop, id, app.now()).await? {
        return Err(AppError::NotFound(Entity::ApiKey));
    }
    api_keys::get(tx, shop, id)
        .await?
        .ok_or(AppError::NotFound(Entity::ApiKey))
}

/// Whether the shop has this key (revoked or not).
pub async fn exists(app: &App, shop: ShopId, id: ApiKeyId) -> Result<bool, AppError> {
    let mut conn = app.db.conn().await?;
    Ok(api_keys::get(&mut conn, shop, id).await?.is_some())
}
