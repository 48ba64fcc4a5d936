//! A shop's return policy as data: defaults and ordered rules (DESIGN §4), its
//! validation, and the per-item decision with its explanation.

mod calendar;
mod document;
mod evaluate;
mod explain;

pub use calendar::{Holiday, ShopCalendar, easter, indonesian_fixed_holidays, polish_holidays};
pub use document::*;
pub use evaluate::{
    Basis, ClaimKind, CustomerHistory, Decision, ExchangeFor, ExchangePrice, Facts, FeeKind,
    FeeLine, Outcome, Settlement, TraceStep, Window, evaluate,
};
pub use explain::Explanation;
