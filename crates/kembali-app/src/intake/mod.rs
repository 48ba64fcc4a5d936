//! Orders in from shop platforms. A delivery reaches this module only after its
//! signature was checked over the exact bytes received (the web layer's hooks);
//! here it is parsed, mapped, taken in through order intake (create-or-update by
//! source and the platform's own id), and written to the intake log with its
//! delivery id, all in one transaction: a repeated delivery changes nothing.

pub mod money;
pub mod shopify;
pub mod woocommerce;

use kembali_core::{IntakeId, OrderId};
use kembali_store::orders::Origin;
use kembali_store::sources::{self, Entry, Source};
use kembali_store::{StoreError, shops};

use crate::orders::{self, Intake, OrderInput};
use crate::{App, AppError};

pub const SHOPIFY: &str = "shopify";
pub const WOOCOMMERCE: &str = "woocommerce";

/// A delivery whose signature has been checked.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// `orders/create`, `order.updated`, …
    pub topic: &'a str,
    /// The platform's id of this delivery: the replay key.
    pub delivery_id: &'a str,
    /// Shopify's id of the event (several deliveries may carry one event).
    pub event_id: Option<&'a str>,
    /// The bytes that were verified, which are the bytes parsed.
    pub body: &'a [u8],
}

/// What became of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Imported(OrderId),
    Updated(OrderId),
    /// An older copy than the one kept: nothing changed.
    Stale(OrderId),
    /// This delivery id was taken in before.
    Duplicate,
    /// Personal data erased from this many orders.
    Redacted(usize),
    /// Understood, and nothing to do (the reason says why).
    Ignored(String),
    /// Signed but unusable: logged with the reason, nothing else written.
    Rejected(String),
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Imported(_) => "imported",
            Outcome::Updated(_) => "updated",
            Outcome::Stale(_) => "stale",
            Outcome::Duplicate => "duplicate",
            Outcome::Redacted(_) => "redacted",
            Outcome::Ignored(_) => "ignored",
            Outcome::Rejected(_) => "rejected",
        }
    }

    fn order(&self) -> Option<OrderId> {
        match self {
            Outcome::Imported(o) | Outcome::Updated(o) | Outcome::Stale(o) => Some(*o),
            _ => None,
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            Outcome::Ignored(d) | Outcome::Rejected(d) => Some(d.clone()),
            Outcome::Redacted(n) => Some(format!("{n} orders")),
            _ => None,
        }
    }
}

/// What a topic asks for, once its body is read.
enum Work {
    Order {
        external_id: String,
        updated_at: Option<jiff::Timestamp>,
        input: Box<OrderInput>,
    },
    Redact {
        email: Option<String>,
        whole_source: bool,
    },
    Nothing(String),
}

/// Takes a verified delivery in.
pub async fn receive(app: &App, source: &Source, d: Delivery<'_>) -> Result<Outcome, AppError> {
    let mut tx = app.db.begin().await?;
    if sources::seen(&mut tx, source.shop_id, source.id, d.delivery_id).await? {
        return Ok(Outcome::Duplicate);
    }
    let outcome = match read(source, &d) {
        Err(reason) => Outcome::Rejected(reason),
        Ok(work) => match apply(app, &mut tx, source, work).await {
            Ok(o) => o,
            Err(AppError::InvalidOrder(e)) => {
                // Nothing of it may stay: start over with only the log entry.
                drop(tx);
                tx = app.db.begin().await?;
                Outcome::Rejected(e.to_string())
            }
            Err(e) => return Err(e),
        },
    };
    let entry = Entry {
        id: IntakeId::new(app.now(), app.ordered_entropy()),
        shop_id: source.shop_id,
        source_id: source.id,
        delivery_id: d.delivery_id.to_owned(),
        event_id: d.event_id.map(str::to_owned),
        topic: d.topic.to_owned(),
        outcome: outcome.as_str().to_owned(),
        detail: outcome.detail(),
        order_id: outcome.order(),
        received_at: app.now(),
    };
    match sources::log(&mut tx, &entry).await {
        // A twin delivery with the same id committed first: this one is a replay.
        Err(StoreError::Duplicate { .. }) => return Ok(Outcome::Duplicate),
        other => other?,
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Parses the body for what its topic asks; `Err` is why it cannot be used.
fn read(source: &Source, d: &Delivery<'_>) -> Result<Work, String> {
    let json = |what: &str| format!("the {what} is not the JSON the platform documents");
    match (source.kind.as_str(), d.topic) {
        (
            SHOPIFY,
            "orders/create"
            | "orders/updated"
            | "orders/fulfilled"
            | "orders/cancelled"
            | "orders/paid"
            | "orders/partially_fulfilled",
        ) => {
            let order: shopify::ShopifyOrder =
                serde_json::from_slice(d.body).map_err(|e| format!("{}: {e}", json("order")))?;
            Ok(Work::Order {
                external_id: order.id.to_string(),
                updated_at: order.updated_at,
                input: Box::new(order.to_input(&source.cod_gateways)?),
            })
        }
        (SHOPIFY, "customers/redact") => {
            #[derive(serde::Deserialize)]
            struct Body {
                customer: Option<Who>,
            }
            #[derive(serde::Deserialize)]
            struct Who {
                email: Option<String>,
            }
            let body: Body =
                serde_json::from_slice(d.body).map_err(|e| format!("{}: {e}", json("request")))?;
            let email = body
                .customer
                .and_then(|c| c.email)
                .filter(|e| !e.trim().is_empty())
                .ok_or("the request names no customer email")?;
            Ok(Work::Redact {
                email: Some(email),
                whole_source: false,
            })
        }
        (SHOPIFY, "shop/redact") => Ok(Work::Redact {
            email: None,
            whole_source: true,
        }),
        (SHOPIFY, "customers/data_request") => Ok(Work::Nothing(
            "data request noted: the customer's orders and returns are exported on request \
             through the API"
                .into(),
        )),
        (SHOPIFY, "refunds/create") => Ok(Work::Nothing(
            "refund noted: refunds made in Shopify are the shop's own".into(),
        )),
        (WOOCOMMERCE, "order.created" | "order.updated" | "order.restored") => {
            let order: woocommerce::WooOrder =
                serde_json::from_slice(d.body).map_err(|e| format!("{}: {e}", json("order")))?;
            Ok(Work::Order {
                external_id: order.id.to_string(),
                updated_at: order.updated_at(),
                input: Box::new(order.to_input()?),
            })
        }
        (WOOCOMMERCE, "order.deleted") => Ok(Work::Nothing(
            "kept: a deleted order's returns still need it".into(),
        )),
        (_, topic) => Ok(Work::Nothing(format!(
            "`{topic}` is not a topic Kembali uses"
        ))),
    }
}

async fn apply(
    app: &App,
    tx: &mut kembali_store::Tx,
    source: &Source,
    work: Work,
) -> Result<Outcome, AppError> {
    match work {
        Work::Order {
            external_id,
            updated_at,
            input,
        } => {
            let shop = shops::get(tx, source.shop_id).await?;
            let origin = Origin {
                source: source.id.to_string(),
                external_id,
                updated_at,
            };
            Ok(
                match orders::intake(app, tx, &shop, &origin, &input).await? {
                    Intake::Created(v) => Outcome::Imported(v.order.id),
                    Intake::Updated(v) => Outcome::Updated(v.order.id),
                    Intake::Stale(v) => Outcome::Stale(v.order.id),
                },
            )
        }
        Work::Redact {
            email,
            whole_source,
        } => {
            let source_id = source.id.to_string();
            let ids = kembali_store::orders::ids_of(
                tx,
                source.shop_id,
                email.as_deref(),
                whole_source.then_some(source_id.as_str()),
            )
            .await?;
            for id in &ids {
                kembali_store::orders::redact(tx, source.shop_id, *id).await?;
            }
            Ok(Outcome::Redacted(ids.len()))
        }
        Work::Nothing(why) => Ok(Outcome::Ignored(why)),
    }
}
