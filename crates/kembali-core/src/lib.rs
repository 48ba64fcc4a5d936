//! Kembali's domain: ids, money, shops, orders, returns and their lifecycle, the
//! policy engine. No I/O, no async, no SQL or HTTP types; time and randomness come
//! in as arguments.

pub mod access;
pub mod clock;
pub mod dropoff;
pub mod id;
pub mod money;
pub mod order;
pub mod policy;
pub mod returns;
pub mod shop;
pub mod text;

pub use clock::{Clock, IdSource};
pub use id::*;
pub use money::{Currency, Money, MoneyError};

/// The text names of the domain's enums, derived by strum, must stay the serde
/// names: the database stores one and the API sends the other.
#[cfg(test)]
mod names {
    use std::fmt::Debug;

    use serde::Serialize;
    use strum::VariantArray;

    use crate::order::{PaymentMethod, TrackingStatus};
    use crate::returns::{Resolution, ReturnMethod, ReturnReason, ReturnStatus};
    use crate::shop::Locale;

    fn check<T>(as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
    where
        T: VariantArray + Copy + PartialEq + Debug + Serialize,
    {
        assert!(!T::VARIANTS.is_empty());
        for &v in T::VARIANTS {
            let name = as_str(v);
            assert_eq!(parse(name), Some(v), "{name}");
            assert_eq!(
                serde_json::to_value(v).expect("serialise"),
                serde_json::Value::String(name.to_owned()),
                "{v:?}"
            );
        }
        assert_eq!(parse("no_such_name"), None);
    }

    #[test]
    fn every_name_round_trips_and_is_the_serde_name() {
        check(ReturnStatus::as_str, ReturnStatus::parse);
        check(Resolution::as_str, Resolution::parse);
        check(ReturnReason::as_str, ReturnReason::parse);
        check(ReturnMethod::as_str, ReturnMethod::parse);
        check(TrackingStatus::as_str, TrackingStatus::parse);
        check(PaymentMethod::as_str, PaymentMethod::parse);
        check(Locale::code, Locale::from_tag);
        // The hand-kept lists name every variant, in declaration order.
        assert_eq!(ReturnStatus::ALL, ReturnStatus::VARIANTS);
        assert_eq!(Resolution::ALL, Resolution::VARIANTS);
        assert_eq!(ReturnReason::ALL, ReturnReason::VARIANTS);
        assert_eq!(ReturnMethod::ALL, ReturnMethod::VARIANTS);
        assert_eq!(Locale::ALL, Locale::VARIANTS);
    }

    #[test]
    fn names_are_the_ones_already_stored() {
        assert_eq!(ReturnStatus::InTransit.as_str(), "in_transit");
        assert_eq!(PaymentMethod::EWallet.as_str(), "e_wallet");
        assert_eq!(
            TrackingStatus::AvailableForPickup.as_str(),
            "available_for_pickup"
        );
        assert_eq!(ReturnReason::NotAsDescribed.as_str(), "not_as_described");
        // Stored text is matched exactly, as before strum.
        assert_eq!(ReturnStatus::parse("IN_TRANSIT"), None);
        assert_eq!(ReturnStatus::parse("inTransit"), None);
    }
}
