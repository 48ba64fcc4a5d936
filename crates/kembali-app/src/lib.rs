//! Kembali's use cases: one function per business step (order intake, eligibility,
//! opening a return, each transition, expiry), called alike by the API, the pages,
//! the platform hooks, the CLI and the jobs. Each write runs in the caller's
//! transaction together with the outbox messages it causes.

pub mod api_keys;
pub mod catalogue;
pub mod clock;
pub mod credit;
pub mod customers;
pub mod dropoff;
pub mod eligibility;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod import;
pub mod intake;
pub mod jobs;
pub mod labels;
pub mod listing;
pub mod notes;
pub mod numbers;
pub mod orders;
pub mod photos;
pub mod policies;
pub mod portal;
pub mod refunds;
pub mod returns;
pub mod settlement;
pub mod shipments;
pub mod shops;
pub mod sources;
pub mod tenancy;
pub mod webhooks;

use std::sync::Arc;

use jiff::Timestamp;
use kembali_core::{Clock, IdSource};
use kembali_store::{Db, OsEntropy, SystemClock};

pub use error::AppError;

/// What every use case works with: the database, a clock and an id source,
/// and what this instance keeps in memory (parsed policies, blocks of return
/// numbers). Cheap to clone (clones share the memory); instances share nothing
/// but the database.
#[derive(Clone, Debug)]
pub struct App {
    pub db: Db,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    pub(crate) policies: Arc<policies::Cache>,
    pub(crate) numbers: Arc<numbers::ReturnNumbers>,
}

impl App {
    /// The application on the system clock and the OS random source.
    pub fn new(db: Db) -> App {
        App::with(db, Arc::new(SystemClock), Arc::new(OsEntropy))
    }

    /// The application with another clock and id source (tests move time).
    pub fn with(db: Db, clock: Arc<dyn Clock>, ids: Arc<dyn IdSource>) -> App {
        App {
            db,
            clock,
            ids,
            policies: Arc::default(),
            numbers: Arc::default(),
        }
    }

    /// Now, to the millisecond the database keeps, so an answer shows exactly
    /// what a later read returns.
    pub fn now(&self) -> Timestamp {
        to_millis(self.clock.now())
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// Random bits for a new id.
    pub fn entropy(&self) -> u128 {
        self.ids.entropy()
    }

    /// Random bits for a new id that must sort after the ids this process made
    /// before it in the same millisecond (ledgers, logs, the outbox): a process
    /// counter fills the top 16 of the 80 random bits. Across instances, ids
    /// still sort by their millisecond.
    pub fn ordered_entropy(&self) -> u128 {
        static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (u128::from(n) << 64) | (self.ids.entropy() & u128::from(u64::MAX))
    }
}

/// `t` truncated to whole milliseconds, the precision times are stored at.
pub fn to_millis(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}
