//! Prefixed, time-sortable identifiers (`ord_01jd…`): a ULID behind a type prefix.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

/// Why a string is not an identifier of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("expected an identifier starting with `{expected}_`")]
    WrongPrefix { expected: &'static str },
    #[error("the part after `{prefix}_` is not a valid identifier")]
    Malformed { prefix: &'static str },
}

/// Milliseconds since the Unix epoch for the time part of an id; times before
/// the epoch (never produced by a real clock) clamp to zero.
fn ulid_at(at: Timestamp, entropy: u128) -> Ulid {
    let ms = u64::try_from(at.as_millisecond()).unwrap_or(0);
    Ulid::from_parts(ms, entropy)
}

/// The ULID part of an id: 26 digits of Crockford's base 32 (no I, L, O, U), the
/// first at most 7 (128 bits), in either case. Ids are written in lower case.
macro_rules! ulid_pattern {
    () => {
        "[0-7][0-9a-hjkmnp-tv-zA-HJKMNP-TV-Z]{25}"
    };
}
/// [`ulid_pattern!`] as a constant, for the OpenAPI document.
pub const ULID_PATTERN: &str = ulid_pattern!();

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident = $prefix:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ulid);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// An id for something created at `at`; `entropy` comes from the caller's
            /// random source (the core has no I/O, so it takes randomness as input).
            pub fn new(at: Timestamp, entropy: u128) -> Self {
                Self(ulid_at(at, entropy))
            }

            /// The instant encoded in the id, to the millisecond.
            pub fn created_at(&self) -> Timestamp {
                let ms = i64::try_from(self.0.timestamp_ms()).unwrap_or(i64::MAX);
                Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0.to_string().to_ascii_lowercase())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                let rest = s
                    .strip_prefix($prefix)
                    .and_then(|r| r.strip_prefix('_'))
                    .ok_or(IdError::WrongPrefix { expected: $prefix })?;
                // 26 base-32 digits carry 130 bits; a ULID has 128, so the first
                // digit is at most 7. The ulid crate drops the extra bits instead
                // of refusing them, which would give one id many spellings.
                if !rest.starts_with(|c: char| ('0'..='7').contains(&c)) {
                    return Err(IdError::Malformed { prefix: $prefix });
                }
                Ulid::from_string(&rest.to_ascii_uppercase())
                    .map(Self)
                    .map_err(|_| IdError::Malformed { prefix: $prefix })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(concat!("Identifier with the prefix `", $prefix, "_`: a ULID in Crockford base 32, sent in lower case, read in either.")))
                    .pattern(Some(concat!("^", $prefix, "_", ulid_pattern!(), "$")))
                    .examples([serde_json::json!(concat!($prefix, "_01jd4x7v8k2m3n4p5q6r7s8t9v"))])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    )*};
}

ids! {
    /// A shop: the tenant every other row belongs to.
    ShopId = "shop";
    CustomerId = "cus";
    ProductId = "prod";
    VariantId = "var";
    OrderId = "ord";
    LineId = "line";
    ShipmentId = "shp";
    ReturnId = "ret";
    ReturnItemId = "reti";
    EventId = "evt";
    PolicyId = "pol";
    ApiKeyId = "key";
    JobId = "job";
    /// A message in the outbox; also the `webhook-id` of what it becomes.
    MessageId = "msg";
    /// Where a shop's orders come from (a Shopify store, a WooCommerce site).
    SourceId = "src";
    /// One delivery a source made, as the intake log keeps it.
    IntakeId = "itk";
    /// Money going back to a shopper for a resolved return.
    RefundId = "rfd";
    /// A customer's store-credit account.
    CreditAccountId = "cra";
    /// One movement on a store-credit account.
    CreditEntryId = "cre";
    /// Where a shop wants its webhooks sent.
    WebhookEndpointId = "whe";
    /// One outbox message on its way to one webhook endpoint.
    DeliveryId = "dlv";
    /// An agent's internal note on a return.
    NoteId = "note";
    /// A shopper's photo, stored re-encoded as JPEG.
    PhotoId = "pho";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sorts_by_time() {
        let t1 = Timestamp::from_second(1_700_000_000).unwrap();
        let t2 = Timestamp::from_second(1_700_000_001).unwrap();
        let a = OrderId::new(t1, u128::MAX);
        let b = OrderId::new(t2, 0);
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
        let s = a.to_string();
        assert!(s.starts_with("ord_"));
        assert_eq!(s.parse::<OrderId>().unwrap(), a);
        assert_eq!(a.created_at(), t1);
    }

    #[test]
    fn rejects_wrong_prefix_and_garbage() {
        let id = ReturnId::new(Timestamp::UNIX_EPOCH, 7).to_string();
        assert_eq!(
            id.parse::<OrderId>(),
            Err(IdError::WrongPrefix { expected: "ord" })
        );
        assert_eq!(
            "ord_notanid".parse::<OrderId>(),
            Err(IdError::Malformed { prefix: "ord" })
        );
        assert!("ord".parse::<OrderId>().is_err());
    }

    #[test]
    fn one_spelling_per_id_and_the_pattern_says_which() {
        // The ulid crate reads `8…` as `0…` (the top bits fall off); we refuse it.
        let id = OrderId::new(Timestamp::UNIX_EPOCH, 7).to_string();
        let overflowed = format!("ord_8{}", &id[5..]);
        assert_eq!(
            overflowed.parse::<OrderId>(),
            Err(IdError::Malformed { prefix: "ord" })
        );
        assert_eq!(
            id.to_uppercase()
                .replace("ORD_", "ord_")
                .parse::<OrderId>()
                .map(|i| i.to_string()),
            Ok(id.clone())
        );
        // Every printed id fits the documented pattern.
        let pattern = format!("^ord_{ULID_PATTERN}$");
        assert!(pattern.contains("[0-7]"));
        let max = OrderId::new(Timestamp::MAX, u128::MAX).to_string();
        let rest = &max[4..];
        assert_eq!(rest.len(), 26);
        assert!(
            rest.starts_with(|c: char| ('0'..='7').contains(&c)),
            "{max}"
        );
        assert!(
            rest.chars()
                .all(|c| "0123456789abcdefghjkmnpqrstvwxyz".contains(c)),
            "{max}"
        );
    }
}
