//! A shop's return policy as data: defaults and ordered rules (DESIGN §4), its
//! validation, and the per-item decision with its explanation.

mod document;
mod evaluate;
mod explain;

pub use document::*;
pub use evaluate::{
    CustomerHistory, Decision, Facts, FeeKind, FeeLine, TraceStep, Window, evaluate,
};
pub use explain::Explanation;
