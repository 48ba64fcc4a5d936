//! The shop's own settings: read them, change them (the currency only until the
//! first order), and create a shop with its first policy.

use std::collections::{BTreeMap, BTreeSet};

use kembali_core::order::Address;
use kembali_core::policy::PolicyDocument;
use kembali_core::returns::ReturnReason;
use kembali_core::shop::{
    Country, Locale, MAX_REASON_LABEL, ReasonLabel, Shop, ShopError, ShopSettings,
};
use kembali_core::text::{self, Form};
use kembali_core::{Currency, ShopId};
use kembali_store::{StoreError, Tx, orders, shops as store};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::error::{Conflict, Rule, check_text};
use crate::{App, AppError};

/// At most this many characters in a shop's name.
pub const MAX_SHOP_NAME: usize = kembali_core::order::MAX_NAME;
/// At most this many characters in an IANA time zone name (the longest is 32).
pub const MAX_TIME_ZONE: usize = 64;

/// A shop with its settings, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShopView {
    #[serde(flatten)]
    pub shop: Shop,
    #[serde(flatten)]
    pub settings: ShopSettings,
}

/// Changes to a shop's settings; a field left out (or `null`, except
/// `return_address`) stays as it is.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ShopChange)]
pub struct ShopChange {
    #[schema(min_length = 1, max_length = 255)]
    pub name: Option<String>,
    /// Only while the shop has taken no order.
    pub currency: Option<Currency>,
    /// An IANA time zone (`Europe/Warsaw`, `Asia/Jakarta`).
    #[schema(min_length = 1, max_length = 64)]
    pub time_zone: Option<String>,
    pub default_locale: Option<Locale>,
    pub country: Option<Country>,
    /// 1–10 letters, digits or `-`; new returns are numbered `{prefix}{n}`.
    #[schema(min_length = 1, max_length = 10, pattern = "^[A-Za-z0-9-]{1,10}$")]
    pub return_prefix: Option<String>,
    /// The reasons offered per language (`en`, `id`, `pl`), replacing the
    /// languages given; an empty list takes a language's own list away.
    #[schema(value_type = Option<BTreeMap<String, Vec<ReasonLabel>>>)]
    pub reasons: Option<BTreeMap<Locale, Vec<ReasonLabel>>>,
    /// Where returned parcels go; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Address>)]
    pub return_address: Option<Option<Address>>,
}

/// A field given as `null` is `Some(None)`; one left out stays `None`.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The shop with its settings.
pub async fn get(app: &App, shop: ShopId) -> Result<ShopView, AppError> {
    let mut conn = app.db.conn().await?;
    let shop = store::get(&mut conn, shop).await?;
    let settings = store::settings(&mut conn, shop.id).await?;
    Ok(ShopView { shop, settings })
}

fn shop_error(e: ShopError) -> AppError {
    let field = match e {
        ShopError::TimeZone(_) => "time_zone",
        ShopError::Slug => "slug",
        ShopError::ReturnPrefix => "return_prefix",
    };
    AppError::invalid(
        field,
        Rule::NotValid {
            why: match e {
                ShopError::TimeZone(_) => "not a known IANA time zone",
                ShopError::Slug => "1–63 characters of a–z, 0–9 and `-`",
                ShopError::ReturnPrefix => "1–10 letters, digits or `-`",
            },
        },
    )
}

/// The IANA name jiff knows `tz` by (its own spelling of a name given in
/// another case), or a refusal naming `time_zone`.
fn time_zone(tz: &str) -> Result<String, AppError> {
    check_text("time_zone", tz, Form::Line, MAX_TIME_ZONE)?;
    let zone = jiff::tz::TimeZone::get(tz.trim())
        .map_err(|_| shop_error(ShopError::TimeZone(tz.to_owned())))?;
    Ok(zone.iana_name().unwrap_or(tz.trim()).to_owned())
}

fn check_reasons(reasons: &BTreeMap<Locale, Vec<ReasonLabel>>) -> Result<(), AppError> {
    for (locale, list) in reasons {
        let at = |rest: String| format!("reasons.{}{rest}", locale.code());
        if list.len() > ReturnReason::ALL.len() {
            return Err(AppError::invalid(
                at(String::new()),
                Rule::AtMost {
                    max: ReturnReason::ALL.len() as u64,
                },
            ));
        }
        let mut seen = BTreeSet::new();
        for (n, r) in list.iter().enumerate() {
            text::check_required(&r.label, Form::Line, MAX_REASON_LABEL)
                .map_err(|p| AppError::invalid(at(format!("[{n}].label")), p.into()))?;
            if !seen.insert(r.reason.as_str()) {
                return Err(AppError::invalid(
                    at(format!("[{n}].reason")),
                    Rule::NotValid {
                        why: "each reason at most once per language",
                    },
                ));
            }
        }
    }
    Ok(())
}

/// Applies `change` to the shop in `tx`. The currency changes only while the
/// shop has taken no order: orders, returns and reports are priced in it.
pub async fn update(tx: &mut Tx, id: ShopId, change: &ShopChange) -> Result<ShopView, AppError> {
    let mut shop = store::get(tx, id).await?;
    let mut settings = store::settings(tx, id).await?;
    if let Some(name) = &change.name {
        text::check_required(name, Form::Line, MAX_SHOP_NAME)
            .map_err(|p| AppError::invalid("name", p.into()))?;
        shop.name = name.trim().to_owned();
    }
    if let Some(tz) = &change.time_zone {
        shop.time_zone = time_zone(tz)?;
    }
    if let Some(prefix) = &change.return_prefix {
        shop.return_prefix = prefix.clone();
    }
    if let Some(locale) = change.default_locale {
        shop.default_locale = locale;
    }
    if let Some(country) = &change.country {
        shop.country = country.clone();
    }
    if let Some(reasons) = &change.reasons {
        check_reasons(reasons)?;
        for (locale, list) in reasons {
            if list.is_empty() {
                settings.reasons.remove(locale);
            } else {
                let trimmed = list
                    .iter()
                    .map(|r| ReasonLabel {
                        reason: r.reason,
                        label: r.label.trim().to_owned(),
                    })
                    .collect();
                settings.reasons.insert(*locale, trimmed);
            }
        }
    }
    if let Some(address) = &change.return_address {
        if let Some(a) = address {
            a.validate("return_address")?;
        }
        settings.return_address = address.clone();
    }
    shop.validate().map_err(shop_error)?;
    if let Some(currency) = change.currency
        && currency != shop.currency
    {
        if orders::any(tx, id).await? {
            return Err(AppError::State(Conflict::ShopHasOrders));
        }
        shop.currency = currency;
    }
    store::update(tx, &shop, &settings).await?;
    Ok(ShopView { shop, settings })
}

/// A shop to create (`kembali shop create`).
#[derive(Debug, Clone)]
pub struct NewShop {
    pub slug: String,
    pub name: String,
    pub currency: Currency,
    pub country: Country,
    pub time_zone: String,
    pub locale: Locale,
}

/// Creates a shop with its first policy: the EU withdrawal preset for a shop in
/// the EU (the law applies from the first order), the defaults elsewhere.
pub async fn create(app: &App, tx: &mut Tx, new: &NewShop) -> Result<Shop, AppError> {
    text::check_required(&new.name, Form::Line, MAX_SHOP_NAME)
        .map_err(|p| AppError::invalid("name", p.into()))?;
    let now = app.now();
    let shop = Shop {
        id: ShopId::new(now, app.entropy()),
        slug: new.slug.trim().to_owned(),
        name: new.name.trim().to_owned(),
        currency: new.currency,
        time_zone: time_zone(&new.time_zone)?,
        default_locale: new.locale,
        country: new.country.clone(),
        return_prefix: "R-".into(),
    };
    shop.validate().map_err(shop_error)?;
    let policy = if shop.country.is_eu() {
        PolicyDocument::eu_preset()
    } else {
        PolicyDocument::default()
    };
    store::create(tx, &shop, &policy, now)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate { .. } => AppError::State(Conflict::ShopExists),
            other => other.into(),
        })?;
    Ok(shop)
}
