//! Connecting a shop to the platforms its orders come from: add a source, list
//! them, rotate a secret (the previous one stays valid for a while, since a
//! platform needs time to switch). The CLI and the API both call these.

use jiff::{SignedDuration, Timestamp};
use kembali_core::{IntakeId, ShopId, SourceId};
use kembali_store::sources::{self, Source};
use kembali_store::{StoreError, Tx};

use crate::error::{Entity, Rule};
use crate::intake::{SHOPIFY, WOOCOMMERCE, shopify::DEFAULT_COD_GATEWAYS};
use crate::{App, AppError};

/// How long the previous secret is accepted after a rotation by default:
/// Shopify needs up to an hour to sign with a new app secret.
pub const DEFAULT_GRACE: SignedDuration = SignedDuration::from_hours(1);

/// What a new source is.
#[derive(Debug, Clone)]
pub enum NewSource {
    Shopify {
        /// `…myshopify.com`
        domain: String,
        secret: String,
        /// Gateway names that mean cash on delivery; Shopify's default when empty.
        cod_gateways: Vec<String>,
    },
    WooCommerce {
        url: String,
        secret: String,
    },
}

fn check_secret(secret: &str) -> Result<(), AppError> {
    if secret.trim().len() < 8 || secret.len() > 512 {
        return Err(AppError::invalid(
            "secret",
            Rule::NotValid {
                why: "a secret has 8 to 512 characters",
            },
        ));
    }
    Ok(())
}

/// Adds a source to the shop.
pub async fn add(app: &App, tx: &mut Tx, shop: ShopId, new: NewSource) -> Result<Source, AppError> {
    let (kind, address, secret, cod) = match new {
        NewSource::Shopify {
            domain,
            secret,
            cod_gateways,
        } => {
            let domain = domain.trim().trim_end_matches('/').to_ascii_lowercase();
            let domain = domain
                .strip_prefix("https://")
                .unwrap_or(&domain)
                .to_owned();
            let host_ok = domain.ends_with(".myshopify.com")
                && domain.len() <= 255
                && domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !host_ok {
                return Err(AppError::invalid(
                    "domain",
                    Rule::NotValid {
                        why: "give the store's …myshopify.com domain",
                    },
                ));
            }
            let cod = if cod_gateways.is_empty() {
                DEFAULT_COD_GATEWAYS
                    .iter()
                    .map(|g| (*g).to_owned())
                    .collect()
            } else {
                cod_gateways
            };
            (SHOPIFY, domain, secret, cod)
        }
        NewSource::WooCommerce { url, secret } => {
            let url = url.trim().trim_end_matches('/').to_owned();
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
                return Err(AppError::invalid(
                    "url",
                    Rule::NotValid {
                        why: "give the site's http(s) address",
                    },
                ));
            }
            (WOOCOMMERCE, url, secret, vec!["cod".to_owned()])
        }
    };
    check_secret(&secret)?;
    let source = Source {
        id: SourceId::new(app.now(), app.entropy()),
        shop_id: shop,
        kind: kind.to_owned(),
        address,
        secret,
        previous_secret: None,
        previous_until: None,
        cod_gateways: cod,
        created_at: app.now(),
    };
    sources::insert(tx, &source).await.map_err(|e| match e {
        StoreError::Duplicate { .. } => AppError::invalid(
            "address",
            Rule::NotValid {
                why: "a source with this address is already connected",
            },
        ),
        other => other.into(),
    })?;
    Ok(source)
}

/// Gives the source a new secret; the old one is still accepted for `grace`.
pub async fn rotate(
    app: &App,
    tx: &mut Tx,
    shop: ShopId,
    id: SourceId,
    secret: &str,
    grace: SignedDuration,
) -> Result<Timestamp, AppError> {
    check_secret(secret)?;
    let until = app.now().checked_add(grace).unwrap_or(app.now());
    if !sources::rotate(tx, shop, id, secret, until).await? {
        return Err(AppError::NotFound(Entity::Source));
    }
    Ok(until)
}

/// The path of the webhook address to give the platform (after the public
/// address of this Kembali).
pub fn hook_path(source: &Source) -> String {
    match source.kind.as_str() {
        SHOPIFY => "/hooks/shopify".to_owned(),
        _ => format!("/hooks/woocommerce/{}", source.id),
    }
}

/// What one of the shop's sources delivered, newest first, before `before`,
/// at most `limit`.
pub async fn intake_log(
    app: &App,
    shop: ShopId,
    source: SourceId,
    before: Option<IntakeId>,
    limit: u32,
) -> Result<Vec<kembali_store::sources::Entry>, AppError> {
    let mut conn = app.db.conn().await?;
    let mine = sources::list(&mut conn, Some(shop)).await?;
    if !mine.iter().any(|s| s.id == source) {
        return Err(AppError::NotFound(Entity::Source));
    }
    Ok(sources::entries(&mut conn, shop, source, before, limit).await?)
}
