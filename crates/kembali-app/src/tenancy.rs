//! What belongs to which shop: the check the API makes before it reads anything else.

use kembali_core::ShopId;

use crate::{App, AppError};

/// Whether `table` holds the row `id` of `shop` (a row of another shop, or
/// none, is the same `false`).
pub async fn owns(
    app: &App,
    table: &'static str,
    shop: ShopId,
    id: &str,
) -> Result<bool, AppError> {
    let mut conn = app.db.conn().await?;
    Ok(kembali_store::shops::owns(&mut conn, table, shop, id).await?)
}
