//! The demo shop: a realistic, deterministic shop with orders from Indonesian,
//! Polish and English-speaking EU customers, and returns in every state.
//!
//! Everything is generated relative to `now` from a seeded generator, so two runs
//! at different moments give the same shop, only shifted in time. Orders go in
//! through the application's intake like orders posted to the API; returns are
//! opened and moved through the real policy engine and state machine, so every
//! decision, quote, timeline event, outbox message and expiry job is what the
//! product itself would have made. All of it happens in the past: the
//! application runs on a clock the seed sets to each moment.
//!
//! `markets` and `catalogue` hold the static tables, `customers` and `orders`
//! make who buys what, `policy` is the shop's rules, and `stories`, `steps` and
//! `phrases` tell the returns.

mod catalogue;
mod customers;
mod markets;
mod orders;
mod phrases;
mod policy;
mod rng;
mod steps;
mod stories;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use kembali_app::catalogue::{ProductInput, VariantInput};
use kembali_app::{App, AppError, clock::ManualClock};
use kembali_core::order::Address;
use kembali_core::returns::ReturnStatus;
use kembali_core::shop::{Country, Locale, Shop};
use kembali_core::{Currency, OrderId, ShopId, VariantId};
use kembali_store::{Db, OsEntropy, StoreError, shops};

use markets::PL;
use orders::Seeded;
use rng::Rng;
use stories::Scene;

pub struct DemoSummary {
    pub shop: Shop,
    pub orders: usize,
    /// A delivered order without a return, still inside its window, to try the API on.
    pub sample_order: Option<OrderId>,
    /// Returns seeded in each state, in [`ReturnStatus::ALL`] order.
    pub returns_by_status: Vec<(ReturnStatus, usize)>,
    pub api_key: String,
}

/// The generator's seed: the same shop every time.
const SEED: u64 = 0x4B45_4D42_414C_4921;
const SLUG: &str = "demo";

/// Seeds the demo shop unless a shop with slug `demo` exists (then `Ok(None)`).
pub async fn seed(db: &Db, now: Timestamp) -> Result<Option<DemoSummary>, StoreError> {
    if exists(db).await? {
        return Ok(None);
    }
    let mut rng = Rng::new(SEED);
    let Some((shop, api_key)) = open_shop(db, &mut rng, now).await? else {
        return Ok(None);
    };
    let clock = Arc::new(ManualClock::new(now));
    let app = App::with(db.clone(), clock.clone(), Arc::new(OsEntropy));
    import_dropoff_points(&app, &shop).await?;
    let swaps = stock_catalogue(&app, &shop).await?;
    let photos = parcel_photos(&app, &shop).await?;
    let seeded = orders::place_orders(&app, &clock, &mut rng, &shop, now).await?;
    let scene = Scene {
        app: &app,
        clock: &clock,
        shop: &shop,
        now,
        swaps: &swaps,
        photos: &photos,
    };
    let told = stories::tell_all(&scene, &mut rng, &seeded).await?;
    Ok(Some(DemoSummary {
        orders: seeded.len(),
        sample_order: sample_order(&seeded, &told.used, now),
        returns_by_status: told.by_status,
        api_key,
        shop,
    }))
}

async fn exists(db: &Db) -> Result<bool, StoreError> {
    let mut conn = db.conn().await?;
    match shops::get_by_slug(&mut conn, SLUG).await {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The shop, opened four months ago with the demo policy, and an API key;
/// `None` when another process seeded it meanwhile.
async fn open_shop(
    db: &Db,
    rng: &mut Rng,
    now: Timestamp,
) -> Result<Option<(Shop, String)>, StoreError> {
    let opened_at = now - days(120);
    let shop = Shop {
        id: ShopId::new(opened_at, rng.entropy()),
        slug: SLUG.into(),
        name: "Toko Kembali Demo".into(),
        currency: Currency::IDR,
        time_zone: "Asia/Jakarta".into(),
        default_locale: Locale::Id,
        country: Country::try_from("ID".to_owned()).map_err(err)?,
        return_prefix: "R-".into(),
    };
    shop.validate().map_err(err)?;
    let policy = policy::demo_policy();
    policy.validate().map_err(err)?;
    let mut tx = db.begin().await?;
    match shops::create(&mut tx, &shop, &policy, opened_at).await {
        Ok(()) => {}
        Err(StoreError::Duplicate { .. }) => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut settings = shops::settings(&mut tx, shop.id).await?;
    settings.return_address = Some(return_address()?);
    shops::update(&mut tx, &shop, &settings).await?;
    let key = shops::create_api_key(&mut tx, shop.id, SLUG, now).await?;
    tx.commit().await?;
    Ok(Some((shop, key.secret)))
}

/// Where the demo shop's returns go: its warehouse in Cikarang, printed on
/// every return label.
fn return_address() -> Result<Address, StoreError> {
    Ok(Address {
        name: "Toko Kembali Demo – Gudang Retur".into(),
        line1: "Kawasan Industri Jababeka, Jl. Jababeka Raya Blok A No. 8".into(),
        line2: None,
        city: "Cikarang, Bekasi".into(),
        postal_code: "17530".into(),
        country: Country::try_from("ID".to_owned()).map_err(err)?,
        phone: Some("+62 21 8983 0000".into()),
    })
}

/// The drop-off points of the demo's carriers in Jakarta, Surabaya, Warsaw and
/// Kraków (made up, in the format of docs/SHIPPING.md).
const DROPOFF_POINTS: &[u8] = include_bytes!("dropoff_points.csv");

async fn import_dropoff_points(app: &App, shop: &Shop) -> Result<(), StoreError> {
    let mut tx = app.db.begin().await?;
    kembali_app::dropoff::import(app, &mut tx, shop, DROPOFF_POINTS)
        .await
        .map_err(|e| app_err("drop-off points", e))?;
    tx.commit().await?;
    Ok(())
}

/// Shoppers' photos for the returns that need them: drawn parcels (a box, its
/// tape, a dent), uploaded through the same use case as `POST /photos`.
async fn parcel_photos(app: &App, shop: &Shop) -> Result<Vec<String>, StoreError> {
    const BOXES: [[u8; 3]; 3] = [[176, 132, 84], [150, 111, 70], [196, 160, 112]];
    let mut ids = Vec::with_capacity(BOXES.len());
    for (k, colour) in BOXES.iter().enumerate() {
        let dent = 200 + 60 * u32::try_from(k).unwrap_or(0);
        let picture = image::RgbImage::from_fn(640, 480, |x, y| {
            let inside = (120..520).contains(&x) && (90..400).contains(&y);
            let tape = inside && (300..340).contains(&x);
            let dented = inside && x.abs_diff(dent) + y.abs_diff(180) < 40;
            image::Rgb(match (inside, tape, dented) {
                (true, _, true) => [90, 66, 40],
                (true, true, false) => [214, 200, 170],
                (true, false, false) => *colour,
                (false, _, _) => [236, 236, 232],
            })
        });
        let mut png = Vec::new();
        picture
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| err(format!("drawing a photo: {e}")))?;
        let photo = kembali_app::photos::upload(app, shop.id, &png)
            .await
            .map_err(|e| app_err("a photo", e))?;
        ids.push(photo.id.to_string());
    }
    Ok(ids)
}

/// The shop's catalogue of variants with stock (through the same use case as
/// `POST /products`), in the shop's currency; answers, for each SKU, the other
/// variant of its product: what a shopper exchanges it for.
async fn stock_catalogue(app: &App, shop: &Shop) -> Result<HashMap<String, VariantId>, StoreError> {
    let mut swaps = HashMap::new();
    let mut tx = app.db.begin().await?;
    for f in catalogue::FAMILIES {
        let mut variants = Vec::with_capacity(f.variants.len());
        for (sku, value) in f.variants {
            let sold = catalogue::by_sku(sku).ok_or_else(|| err(format!("no product {sku}")))?;
            variants.push(VariantInput {
                sku: (*sku).to_owned(),
                title: (*value).to_owned(),
                price: sold.prices[0],
                final_sale: sold.item.final_sale,
                stock: Some(f.stock),
                options: BTreeMap::from([(f.option.to_owned(), (*value).to_owned())]),
            });
        }
        let input = ProductInput {
            title: f.title.to_owned(),
            category: Some(f.category.to_owned()),
            tags: Vec::new(),
            currency: shop.currency,
            variants,
        };
        let (_, made) = kembali_app::catalogue::create(app, &mut tx, shop.id, &input)
            .await
            .map_err(|e| app_err("stocking the catalogue", e))?;
        for v in &made {
            if let Some(other) = made.iter().find(|o| o.variant.id != v.variant.id) {
                swaps.insert(v.variant.sku.clone(), other.variant.id);
            }
        }
    }
    tx.commit().await?;
    Ok(swaps)
}

/// A recent Polish order with several lines and no return: the EU withdrawal
/// right, a final-sale line or a keep-the-item line make its eligibility
/// telling. Else any recent order without a return.
fn sample_order(seeded: &[Seeded], used: &[bool], now: Timestamp) -> Option<OrderId> {
    let recent = |i: usize| {
        let o = &seeded[i];
        !used[i]
            && !o.risky
            && o.lines.iter().all(|l| {
                l.delivered_at
                    .is_some_and(|d| d > now - days(10) && d < now - days(1))
            })
    };
    (0..seeded.len())
        .rev()
        .find(|&i| seeded[i].market == PL && seeded[i].lines.len() >= 2 && recent(i))
        .or_else(|| (0..seeded.len()).rev().find(|&i| recent(i)))
        .map(|i| seeded[i].order)
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Config(format!("demo: {e}"))
}

/// A refusal by the application, with what was being done.
fn app_err(doing: &str, e: AppError) -> StoreError {
    match e {
        AppError::Store(e) => e,
        e => err(format!("{doing}: {e}")),
    }
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

fn days(d: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * d)
}

fn minutes(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

#[cfg(test)]
mod tests;
