//! Readable return numbers (`R-1042`). On PostgreSQL an instance takes them
//! from the shop's counter row [`BLOCK`] at a time, in a short transaction of
//! its own on a connection of its own, and hands them out from memory: returns
//! of one shop no longer queue on that row's lock until each commits.
//! Numbers stay unique; what this costs is gaps (the rest of a block when the
//! instance stops, the number of a return whose transaction rolls back) and,
//! with several instances, numbers that do not follow the order of creation.
//! Requests of one shop that find its blocks empty at once share one refill.
//! On SQLite the single writer already serialises every write: the number is
//! taken in the return's own transaction, without gaps.

use std::collections::{HashMap, VecDeque};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use kembali_core::ShopId;
use kembali_store::{Backend, Db, StoreError, Tx, shops};

/// Numbers an instance takes from a shop's counter at a time (PostgreSQL).
pub const BLOCK: i64 = 32;

/// The blocks this instance holds, per shop.
#[derive(Debug, Default)]
pub struct ReturnNumbers {
    blocks: Mutex<HashMap<ShopId, VecDeque<RangeInclusive<i64>>>>,
    /// One connection for taking blocks, so a request holding a pooled
    /// connection never waits for a second one from the same pool.
    side: OnceLock<Db>,
    /// One refill per shop at a time: the requests that find the shop's
    /// blocks empty together wait for that one refill instead of each taking
    /// a block of its own (and each a turn on the side connection).
    refills: Mutex<HashMap<ShopId, Arc<tokio::sync::Mutex<()>>>>,
}

impl ReturnNumbers {
    /// The shop's next return number for the return being opened in `tx`.
    pub async fn next(&self, db: &Db, tx: &mut Tx, shop: ShopId) -> Result<i64, StoreError> {
        if db.backend() == Backend::Sqlite {
            return shops::next_return_seq(tx, shop).await;
        }
        loop {
            if let Some(n) = self.take(shop) {
                return Ok(n);
            }
            let refill = self.refill_lock(shop);
            let _refilling = refill.lock().await;
            // Another request may have refilled while this one waited.
            if let Some(n) = self.take(shop) {
                return Ok(n);
            }
            let side = self.side.get_or_init(|| db.side());
            let mut own = side.begin().await?;
            let last = shops::take_return_numbers(&mut own, shop, BLOCK).await?;
            own.commit().await?;
            let mut blocks = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
            // Shops come and go rarely; a bound all the same.
            if blocks.len() >= 10_000 && !blocks.contains_key(&shop) {
                blocks.clear();
            }
            blocks
                .entry(shop)
                .or_default()
                .push_back(last - BLOCK + 1..=last);
        }
    }

    fn refill_lock(&self, shop: ShopId) -> Arc<tokio::sync::Mutex<()>> {
        let mut refills = self.refills.lock().unwrap_or_else(PoisonError::into_inner);
        if refills.len() >= 10_000 && !refills.contains_key(&shop) {
            refills.clear();
        }
        refills.entry(shop).or_default().clone()
    }

    fn take(&self, shop: ShopId) -> Option<i64> {
        let mut blocks = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = blocks.get_mut(&shop)?;
        while let Some(range) = queue.front_mut() {
            if let Some(n) = range.next() {
                return Some(n);
            }
            queue.pop_front();
        }
        None
    }
}
