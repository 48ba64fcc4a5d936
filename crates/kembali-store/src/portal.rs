//! What the return portal keeps: the shop's signing secret, and the failed order
//! look-ups that its rate limit counts.

use kembali_core::ShopId;

use crate::db::Session;
use crate::{StoreError, run};

/// The shop's portal secret, if it has one yet.
pub async fn secret(ex: &mut impl Session, shop: ShopId) -> Result<Option<String>, StoreError> {
    let s: Option<String> = run!(ex, |c| sqlx::query_scalar(
        "SELECT secret FROM portal_secrets WHERE shop_id = $1"
    )
    .bind(shop.to_string())
    .fetch_optional(&mut *c)
    .await)?;
    Ok(s)
}

/// Stores `fresh` as the shop's portal secret if it has none yet (the first
/// instance to ask wins), and returns the stored one either way.
pub async fn make_secret(
    ex: &mut impl Session,
    shop: ShopId,
    fresh: &str,
    at_ms: i64,
) -> Result<String, StoreError> {
    run!(ex, |c| sqlx::query(
        "INSERT INTO portal_secrets (shop_id, secret, created_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING"
    )
    .bind(shop.to_string())
    .bind(fresh)
    .bind(at_ms)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    let s: String = run!(ex, |c| sqlx::query_scalar(
        "SELECT secret FROM portal_secrets WHERE shop_id = $1"
    )
    .bind(shop.to_string())
    .fetch_one(&mut *c)
    .await)?;
    Ok(s)
}

/// Failed look-ups of `subject` counted in the window starting at `window_start`.
pub async fn failures(
    ex: &mut impl Session,
    shop: ShopId,
    subject: &str,
    window_start: i64,
) -> Result<i64, StoreError> {
    let n: Option<i64> = run!(ex, |c| sqlx::query_scalar(
        "SELECT failures FROM portal_attempts
          WHERE shop_id = $1 AND subject = $2 AND window_start = $3"
    )
    .bind(shop.to_string())
    .bind(subject)
    .bind(window_start)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(n.unwrap_or(0))
}

/// Counts one more failed look-up of `subject` in its window, and forgets
/// windows that ended before `forget_before`.
pub async fn fail(
    ex: &mut impl Session,
    shop: ShopId,
    subject: &str,
    window_start: i64,
    forget_before: i64,
) -> Result<(), StoreError> {
    run!(ex, |c| sqlx::query(
        "INSERT INTO portal_attempts (shop_id, subject, window_start, failures)
         VALUES ($1, $2, $3, 1)
         ON CONFLICT (shop_id, subject, window_start)
         DO UPDATE SET failures = portal_attempts.failures + 1"
    )
    .bind(shop.to_string())
    .bind(subject)
    .bind(window_start)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    run!(ex, |c| sqlx::query(
        "DELETE FROM portal_attempts WHERE shop_id = $1 AND subject = $2 AND window_start < $3"
    )
    .bind(shop.to_string())
    .bind(subject)
    .bind(forget_before)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
