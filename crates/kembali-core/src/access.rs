//! What an API key may do: its scopes, and which scope an action needs.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One scope of an API key. Each includes the ones below it: `admin` can do
/// everything `write` can, `write` everything `read` can.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Scope {
    /// Read everything of the shop.
    Read,
    /// Also create and change orders, returns and what hangs off them.
    Write,
    /// Also manage the shop itself: API keys, sources, webhook endpoints, settings.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

    /// The name stored and sent.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The inverse of [`as_str`](Self::as_str); `None` for any other text.
    pub fn parse(s: &str) -> Option<Scope> {
        s.parse().ok()
    }
}

/// The scopes of one key: a set, kept sorted and without repeats.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Scopes {
        let mut v: Vec<Scope> = scopes.into_iter().collect();
        v.sort();
        v.dedup();
        Scopes(v)
    }

    /// Whether these scopes allow what `needed` allows (a higher scope includes it).
    pub fn allow(&self, needed: Scope) -> bool {
        self.0.iter().any(|s| *s >= needed)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[Scope] {
        &self.0
    }

    /// The stored form: names joined by commas (`read,write`).
    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The inverse of [`to_text`](Self::to_text); `None` if a name is unknown.
    pub fn from_text(s: &str) -> Option<Scopes> {
        s.split(',')
            .filter(|p| !p.is_empty())
            .map(Scope::parse)
            .collect::<Option<Vec<_>>>()
            .map(Scopes::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_scopes_include_lower_ones() {
        let read = Scopes::new([Scope::Read]);
        let write = Scopes::new([Scope::Write]);
        let admin = Scopes::new([Scope::Admin]);
        assert!(read.allow(Scope::Read));
        assert!(!read.allow(Scope::Write));
        assert!(!read.allow(Scope::Admin));
        assert!(write.allow(Scope::Read) && write.allow(Scope::Write));
        assert!(!write.allow(Scope::Admin));
        assert!(Scope::ALL.iter().all(|s| admin.allow(*s)));
        assert!(!Scopes::default().allow(Scope::Read));
    }

    #[test]
    fn stored_text_round_trips() {
        let s = Scopes::new([Scope::Write, Scope::Read, Scope::Write]);
        assert_eq!(s.to_text(), "read,write");
        assert_eq!(Scopes::from_text("read,write"), Some(s));
        assert_eq!(
            Scopes::from_text("admin"),
            Some(Scopes::new([Scope::Admin]))
        );
        assert_eq!(Scopes::from_text("root"), None);
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::String(s.as_str().into())
            );
        }
    }
}
