//! What the policy says about the lines of an order: the facts of each line are
//! gathered here (order, shipments, held units, the customer's history) and the
//! core's pure `evaluate` decides.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use kembali_core::order::{LineDelivery, Order, Shipment};
use kembali_core::policy::{
    ClaimKind, CustomerHistory, Decision, DestinationKind, Facts, ItemCondition, PolicyDocument,
    evaluate,
};
use kembali_core::returns::{ReturnMethod, ReturnReason};
use kembali_core::shop::Shop;
use kembali_core::{LineId, OrderId, ShopId, VariantId};
use kembali_store::{Session, StoreError, orders};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{Entity, Rule};
use crate::{App, AppError};

/// Everything the decisions about one order's items depend on.
pub struct Context {
    pub order: Order,
    pub shipments: Vec<Shipment>,
    pub policy_version: i64,
    /// Shared with the instance's policy cache (`policies::Cache`).
    pub policy: Arc<PolicyDocument>,
    pub held: HashMap<LineId, u32>,
    pub history: CustomerHistory,
    /// When the order was cancelled, if it was.
    pub cancelled_at: Option<jiff::Timestamp>,
}

impl Context {
    /// Loads the order and what its decisions depend on; the policy comes from
    /// the instance's cache (at most `POLICY_CACHE_SECONDS` behind a save made
    /// through another instance).
    pub async fn load(
        app: &App,
        ex: &mut impl Session,
        shop: ShopId,
        order: OrderId,
    ) -> Result<Context, AppError> {
        // One statement: the order, its lines and shipments, what its open
        // returns hold and the counts on its customer's row (one look-up
        // however many orders they have).
        let found = orders::for_decision(ex, shop, order)
            .await?
            .ok_or(AppError::NotFound(Entity::Order))?;
        Context::complete(app, ex, shop, found).await
    }

    /// [`Context::load`] outside a transaction, as a look-up reads it: the
    /// order through `orders::decision` (on SQLite without a hand-off to
    /// sqlx's connection thread), and a pooled connection only when the
    /// policy cache or an order without a customer needs one.
    pub async fn read(app: &App, shop: ShopId, order: OrderId) -> Result<Context, AppError> {
        let found = orders::decision(&app.db, shop, order)
            .await?
            .ok_or(AppError::NotFound(Entity::Order))?;
        if let Some(history) = found.history
            && let Some((policy_version, policy)) = app.policies.fresh(app.now(), shop)
        {
            return Ok(Context::of(found, policy_version, policy, history));
        }
        let mut conn = app.db.conn().await?;
        Context::complete(app, &mut conn, shop, found).await
    }

    /// The policy and, for an order taken in without a customer, the history
    /// by email, beside what the folded read found.
    async fn complete(
        app: &App,
        ex: &mut impl Session,
        shop: ShopId,
        found: orders::ForDecision,
    ) -> Result<Context, AppError> {
        let (policy_version, policy) = app
            .policies
            .current(app.now(), ex, shop)
            .await?
            .ok_or(AppError::NoPolicy)?;
        let history = match found.history {
            Some(h) => h,
            None => orders::customer_history(ex, shop, &found.order.email).await?,
        };
        Ok(Context::of(found, policy_version, policy, history))
    }

    pub(crate) fn of(
        found: orders::ForDecision,
        policy_version: i64,
        policy: Arc<PolicyDocument>,
        history: CustomerHistory,
    ) -> Context {
        let orders::ForDecision {
            order,
            shipments,
            held,
            cancelled_at,
            ..
        } = found;
        Context {
            order,
            shipments,
            policy_version,
            policy,
            held,
            history,
            cancelled_at,
        }
    }

    /// The facts for `quantity` units of `line`, counting `extra_held` units that
    /// earlier items of the same request already take; `None` if the line is
    /// not this order's.
    pub fn facts(
        &self,
        shop: &Shop,
        line: LineId,
        quantity: u32,
        reason: Option<ReturnReason>,
        extra_held: u32,
        now: Timestamp,
    ) -> Option<Facts> {
        let l = self.order.line(line)?;
        let delivery = LineDelivery::of(line, &self.shipments);
        // Day 0 of the statutory withdrawal period is the delivery of the order's
        // last parcel; until every unit has arrived the period has not started.
        let (mut outstanding, mut last_parcel) = (false, None);
        for other in &self.order.lines {
            let d = LineDelivery::of(other.id, &self.shipments);
            outstanding |= d.delivered < other.quantity;
            last_parcel = last_parcel.max(d.delivered_at);
        }
        let mut order_total = Some(self.order.shipping_paid);
        for other in &self.order.lines {
            order_total = order_total
                .zip(other.amount_paid(self.order.taxes_included).ok())
                .and_then(|(sum, paid)| sum.checked_add(paid).ok());
        }
        Some(Facts {
            now,
            time_zone: shop.time_zone.clone(),
            line_id: line,
            sku: l.sku.clone(),
            category: l.category.clone(),
            tags: l.tags.clone(),
            final_sale: l.final_sale,
            unit_price: l.unit_price,
            line_amount_paid: l.amount_paid(self.order.taxes_included).ok()?,
            line_quantity: l.quantity,
            delivered_quantity: delivery.delivered,
            held_quantity: self
                .held
                .get(&line)
                .copied()
                .unwrap_or(0)
                .saturating_add(extra_held),
            placed_at: self.order.placed_at,
            first_shipped_at: delivery.first_shipped_at,
            delivered_at: delivery.delivered_at,
            payment_method: self.order.payment_method,
            destination_country: self.order.shipping_address.country.code().to_owned(),
            postal_code: self.order.shipping_address.postal_code.clone(),
            customer_email: self.order.email.clone(),
            customer_id: self.order.customer_id,
            history: self.history,
            reason,
            quantity,
            order_delivered_at: if outstanding { None } else { last_parcel },
            parcels_outstanding: outstanding,
            shop_country: shop.country.code().to_owned(),
            line_tax: Some(l.tax),
            return_method: None,
            item_condition: None,
            order_total,
            items_returned: None,
            claim: None,
            exchange_for: None,
        })
    }

    pub fn decide(&self, facts: &Facts) -> Result<Decision, AppError> {
        evaluate(&self.policy, self.policy_version, facts)
            .map_err(|e| AppError::Store(StoreError::Corrupt(e.to_string())))
    }
}

/// What to ask about an order.
#[derive(Debug, Clone, Default)]
pub struct Question {
    /// Only this line; all lines when `None`.
    pub line: Option<LineId>,
    /// Units to price; all that can still come back when `None`.
    pub quantity: Option<u32>,
    /// The reason the shopper would give.
    pub reason: Option<ReturnReason>,
    /// How the item would travel back (fees may depend on it).
    pub method: Option<ReturnMethod>,
    /// The item's condition as the shopper would declare it.
    pub condition: Option<ItemCondition>,
    /// A delivery claim instead of a return.
    pub claim: Option<ClaimKind>,
    /// The variant wanted in exchange: the decision prices the exchange.
    pub exchange_variant: Option<VariantId>,
    /// Where the refund would go: each line says whether it may.
    pub destination: Option<DestinationKind>,
}

/// The decision for one line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineDecision {
    pub line_id: LineId,
    pub sku: String,
    pub quantity: u32,
    pub decision: Decision,
    /// Whether a refund of this line may go to the destination asked about.
    pub destination_allowed: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Eligibility {
    pub order_id: OrderId,
    pub policy_version: i64,
    pub lines: Vec<LineDecision>,
}

/// What can come back of the order, until when, for how much, and why.
pub async fn eligibility(
    app: &App,
    shop: &Shop,
    order: OrderId,
    q: &Question,
) -> Result<Eligibility, AppError> {
    if q.quantity == Some(0) {
        return Err(AppError::invalid("quantity", Rule::AtLeast { min: 1 }));
    }
    let ctx = Context::read(app, shop.id, order).await?;
    if let Some(l) = q.line
        && ctx.order.line(l).is_none()
    {
        return Err(AppError::invalid("line_id", Rule::NotInOrder));
    }
    let exchange = match q.exchange_variant {
        Some(v) => Some(
            crate::returns::exchange_for(
                &mut app.db.conn().await?,
                shop,
                &ctx,
                0,
                v,
                q.quantity.unwrap_or(1),
            )
            .await
            .map_err(|e| match e {
                AppError::Invalid { rule, .. } => AppError::invalid("exchange_variant_id", rule),
                other => other,
            })?
            .1,
        ),
        None => None,
    };
    let ask = |mut f: Facts| {
        f.return_method = q.method;
        f.item_condition = q.condition;
        f.claim = q.claim;
        f.exchange_for = exchange.clone();
        f
    };
    let now = app.now();
    let mut lines = Vec::new();
    for line in ctx
        .order
        .lines
        .iter()
        .filter(|l| q.line.is_none_or(|o| o == l.id))
    {
        let vanished = || AppError::Store(StoreError::Corrupt("line vanished".into()));
        // Price what can still come back unless a quantity was asked for.
        let probe = ask(ctx
            .facts(shop, line.id, 1, q.reason, 0, now)
            .ok_or_else(vanished)?);
        let available = ctx.decide(&probe)?.returnable_quantity.max(1);
        let quantity = q.quantity.unwrap_or(available);
        let facts = ask(ctx
            .facts(shop, line.id, quantity, q.reason, 0, now)
            .ok_or_else(vanished)?);
        let decision = ctx.decide(&facts)?;
        lines.push(LineDecision {
            line_id: line.id,
            sku: line.sku.clone(),
            quantity,
            destination_allowed: q
                .destination
                .map(|d| decision.eligible && decision.refund_destinations.contains(&d)),
            decision,
        });
    }
    Ok(Eligibility {
        order_id: order,
        policy_version: ctx.policy_version,
        lines,
    })
}
