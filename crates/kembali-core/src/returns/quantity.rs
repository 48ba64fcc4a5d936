//! The rule that the units returned over all returns of a line never exceed the
//! units delivered.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("only {available} of this item can still be returned, {requested} were asked for")]
pub struct QuantityError {
    pub requested: u32,
    pub available: u32,
}

/// How much of one order line can still come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReturnableQuantity {
    /// Units delivered to the shopper.
    pub delivered: u32,
    /// Units already in returns that still hold them (not rejected, cancelled or expired).
    pub held: u32,
}

impl ReturnableQuantity {
    pub fn available(&self) -> u32 {
        self.delivered.saturating_sub(self.held)
    }

    /// Reserves `requested` units for a new return, or refuses without change.
    pub fn take(&mut self, requested: u32) -> Result<(), QuantityError> {
        let available = self.available();
        if requested == 0 || requested > available {
            return Err(QuantityError {
                requested,
                available,
            });
        }
        self.held += requested;
        Ok(())
    }

    /// Gives units back when their return is rejected, cancelled or expires.
    pub fn release(&mut self, units: u32) {
        self.held = self.held.saturating_sub(units);
    }
}
