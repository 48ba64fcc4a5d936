//! Kembali's domain: ids, money, shops, orders, returns and their lifecycle, the
//! policy engine. No I/O, no async, no SQL or HTTP types; time and randomness come
//! in as arguments.

pub mod clock;
pub mod id;
pub mod money;
pub mod order;
pub mod policy;
pub mod returns;
pub mod shop;

pub use clock::{Clock, IdSource};
pub use id::*;
pub use money::{Currency, Money, MoneyError};
