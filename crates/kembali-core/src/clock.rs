//! Where "now" comes from. The core never reads the clock; the application layer
//! and the worker are handed a `Clock`, so tests can move time instead of waiting.

use jiff::Timestamp;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// A source of randomness for new ids (the time part comes from the clock).
pub trait IdSource: Send + Sync + std::fmt::Debug {
    /// 80 or more random bits.
    fn entropy(&self) -> u128;
}
