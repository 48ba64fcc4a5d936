//! What the shopper's portal asks of the application beyond opening a return
//! (which is `returns::open`, as for every caller): the shop's signing secret,
//! finding an order by its number and the shopper's email or postal code under
//! a rate limit, and the variants an item can be exchanged for.

use kembali_core::order::Order;
use kembali_core::shop::Shop;
use kembali_core::{Currency, Money, OrderId, ProductId, ShopId, VariantId};
use kembali_store::{catalogue, orders, portal as store};

use crate::{App, AppError};

/// The window failed look-ups are counted in.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failed look-ups one client address may make in a window.
pub const MAX_FAILURES_PER_CLIENT: i64 = 20;
/// Failed look-ups of one order number in a window, whoever makes them.
pub const MAX_FAILURES_PER_ORDER: i64 = 5;

/// The shop's portal signing secret (32 random bytes), made on first use and
/// shared by every instance through the database.
pub async fn secret(app: &App, shop: ShopId) -> Result<Vec<u8>, AppError> {
    let mut conn = app.db.conn().await?;
    let stored = match store::secret(&mut conn, shop).await? {
        Some(s) => s,
        None => {
            drop(conn);
            let fresh = format!("{:032x}{:032x}", app.entropy(), app.entropy());
            let mut tx = app.db.begin().await?;
            let s = store::make_secret(&mut tx, shop, &fresh, app.now().as_millisecond()).await?;
            tx.commit().await?;
            s
        }
    };
    Ok(stored.into_bytes())
}

/// What an order look-up found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(OrderId),
    /// No order with this number and this email or postal code; which part was
    /// wrong is not said.
    NotFound,
    /// Too many failed look-ups from this client or of this order number lately.
    TooMany,
}

/// The order numbered `number` whose email or shipping postal code is `proof`,
/// for a client at `client` (its address). Failures count against the client and
/// the order number; past either limit nothing is looked up.
pub async fn find_order(
    app: &App,
    shop: &Shop,
    number: &str,
    proof: &str,
    client: &str,
) -> Result<Lookup, AppError> {
    let number = number.trim();
    let bare = number.trim_start_matches('#').trim();
    let now = app.now().as_millisecond();
    let window = now - now.rem_euclid(WINDOW_MS);
    // Subjects are fingerprints: whatever was typed, the stored key is short and
    // plain text.
    let fingerprint = |s: &str| {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(s.as_bytes());
        digest
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let by_client = format!("client:{}", fingerprint(client));
    let by_number = format!("order:{}", fingerprint(&bare.to_lowercase()));
    let mut conn = app.db.conn().await?;
    if store::failures(&mut conn, shop.id, &by_client, window).await? >= MAX_FAILURES_PER_CLIENT
        || store::failures(&mut conn, shop.id, &by_number, window).await? >= MAX_FAILURES_PER_ORDER
    {
        return Ok(Lookup::TooMany);
    }
    let mut found = None;
    // Text no order number can be (too long, control characters, which
    // PostgreSQL would refuse to compare) is simply not found.
    let plausible = !bare.is_empty()
        && bare.chars().count() <= kembali_core::order::MAX_CODE
        && !bare.chars().any(char::is_control);
    if plausible {
        for candidate in [format!("#{bare}"), bare.to_owned()] {
            if let Some((order, _)) = orders::get_by_number(&mut conn, shop.id, &candidate).await? {
                found = Some(order);
                break;
            }
        }
    }
    drop(conn);
    match found.filter(|o| proves(o, proof)) {
        Some(o) => Ok(Lookup::Found(o.id)),
        None => {
            let mut tx = app.db.begin().await?;
            for subject in [&by_client, &by_number] {
                store::fail(&mut tx, shop.id, subject, window, window - WINDOW_MS).await?;
            }
            tx.commit().await?;
            Ok(Lookup::NotFound)
        }
    }
}

/// Whether `proof` is the order's email or its shipping postal code (spaces,
/// dashes and case aside).
fn proves(order: &Order, proof: &str) -> bool {
    let proof = proof.trim();
    if proof.is_empty() {
        return false;
    }
    if proof.contains('@') {
        return proof.eq_ignore_ascii_case(order.email.trim());
    }
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .flat_map(char::to_uppercase)
            .collect()
    };
    let code = squash(&order.shipping_address.postal_code);
    !code.is_empty() && squash(proof) == code
}

/// A variant an item can be exchanged for.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeOption {
    pub variant_id: VariantId,
    pub sku: String,
    pub title: String,
    pub price: Money,
}

/// The other variants of `product` priced in `currency` with at least `units`
/// on hand (or stock not tracked), cheapest first.
pub async fn exchange_options(
    app: &App,
    shop: ShopId,
    product: ProductId,
    except: Option<VariantId>,
    currency: Currency,
    units: u32,
) -> Result<Vec<ExchangeOption>, AppError> {
    let mut conn = app.db.conn().await?;
    let Some((_, variants)) = catalogue::get(&mut conn, shop, product).await? else {
        return Ok(Vec::new());
    };
    let mut out: Vec<ExchangeOption> = variants
        .into_iter()
        .filter(|s| Some(s.variant.id) != except)
        .filter(|s| s.variant.price.currency == currency)
        .filter(|s| s.stock.is_none_or(|n| n >= i64::from(units.max(1))))
        .map(|s| ExchangeOption {
            variant_id: s.variant.id,
            sku: s.variant.sku,
            title: s.variant.title,
            price: s.variant.price,
        })
        .collect();
    out.sort_by_key(|o| o.price.amount);
    Ok(out)
}

/// The shop whose portal lives under `slug`.
pub async fn shop(app: &App, slug: &str) -> Result<Shop, AppError> {
    let mut conn = app.db.conn().await?;
    match kembali_store::shops::get_by_slug(&mut conn, slug).await {
        Ok(s) => Ok(s),
        Err(kembali_store::StoreError::NotFound) => {
            Err(AppError::NotFound(crate::error::Entity::Shop))
        }
        Err(e) => Err(e.into()),
    }
}
