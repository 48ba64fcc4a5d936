//! The lists of orders and returns: a page of summaries, newest first, narrowed
//! by the filters given. The full order or return is one `get` away.

use kembali_core::returns::ReturnStatus;
use kembali_core::{OrderId, ReturnId, ShopId};
use kembali_store::listing::{self, OrderFilter, ReturnFilter};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{App, AppError};

/// An order as the list shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderSummary {
    pub id: OrderId,
    pub number: String,
    pub email: String,
    /// ISO 4217.
    pub currency: String,
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: jiff::Timestamp,
    /// Where it came from: `api`, or a source (`src_…`).
    pub source: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
}

/// A return as the list shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReturnSummary {
    pub id: ReturnId,
    pub number: String,
    pub order_id: OrderId,
    pub email: String,
    pub status: ReturnStatus,
    pub version: i64,
    /// ISO 4217 (empty for returns stored before figures were kept).
    pub currency: String,
    /// Minor units refunded or to refund.
    pub refund: i64,
    /// Minor units of store credit.
    pub credit: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
}

/// Orders below `before`, newest first; at most `limit`.
pub async fn orders(
    app: &App,
    shop: ShopId,
    before: Option<OrderId>,
    filter: &OrderFilter,
    limit: u32,
) -> Result<Vec<OrderSummary>, AppError> {
    let mut conn = app.db.conn().await?;
    let rows = listing::orders(&mut conn, shop, before, filter, limit).await?;
    Ok(rows
        .into_iter()
        .map(|r| OrderSummary {
            id: r.id,
            number: r.number,
            email: r.email,
            currency: r.currency,
            placed_at: r.placed_at,
            source: r.source,
            created_at: r.created_at,
        })
        .collect())
}

/// Returns below `before`, newest first; at most `limit`.
pub async fn returns(
    app: &App,
    shop: ShopId,
    before: Option<ReturnId>,
    filter: &ReturnFilter,
    limit: u32,
) -> Result<Vec<ReturnSummary>, AppError> {
    let mut conn = app.db.conn().await?;
    let rows = listing::returns(&mut conn, shop, before, filter, limit).await?;
    Ok(rows
        .into_iter()
        .map(|r| ReturnSummary {
            id: r.id,
            number: r.number,
            order_id: r.order_id,
            email: r.email,
            status: r.status,
            version: r.version,
            currency: r.currency,
            refund: r.refund,
            credit: r.credit,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}
