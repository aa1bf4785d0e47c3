//! Identifiers that validate on construction: an invalid id cannot exist past the edge.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An identifier from outside did not fit its shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {reason}")]
pub struct InvalidId {
    /// Which kind of identifier (`tenant id`, `conversation id`...).
    pub kind: &'static str,
    /// What is wrong with it (never the value itself: it may be personal data).
    pub reason: &'static str,
}

fn check(kind: &'static str, value: &str, max: usize, allowed: fn(char) -> bool) -> Result<(), InvalidId> {
    if value.is_empty() {
        return Err(InvalidId { kind, reason: "empty" });
    }
    if value.len() > max {
        return Err(InvalidId { kind, reason: "too long" });
    }
    if !value.chars().all(allowed) {
        return Err(InvalidId { kind, reason: "unexpected character" });
    }
    Ok(())
}

fn tenant_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

fn opaque_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@' | '+')
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr, $allowed:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `value` and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                check($kind, &value, $max, $allowed)?;
                Ok(Self(value))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A business using Switchboard: lowercase letters, digits and `-`, at most 64 characters.
    TenantId, "tenant id", 64, tenant_char
);
impl TenantId {
    /// The deployment itself, whose ledger partition counts what no tenant is billed for
    /// (requests refused before their caller was verified). `_` is in no tenant id, so no tenant
    /// can be it and no request can name it.
    pub fn deployment() -> Self {
        Self("_deployment".into())
    }
}

id_type!(
    /// One thread with one customer on one channel.
    ConversationId, "conversation id", 128, opaque_char
);
id_type!(
    /// Our id of one message (customer, bot, agent or system turn).
    MessageId, "message id", 160, opaque_char
);
id_type!(
    /// A customer known to the tenant (their own customer number, say).
    CustomerId, "customer id", 128, opaque_char
);
id_type!(
    /// A web chat visitor: the widget's own random id, anonymous until an identity is verified.
    VisitorId, "visitor id", 128, opaque_char
);

impl ConversationId {
    /// A fresh random id: unguessable, because holding it lets a widget read the conversation.
    pub fn generate() -> Self {
        Self(format!("c_{}", uuid::Uuid::new_v4().simple()))
    }
}

impl MessageId {
    /// A fresh random message id.
    pub fn generate() -> Self {
        Self(format!("m_{}", uuid::Uuid::new_v4().simple()))
    }

    /// The id of the `n`th message the bot sends in answer to this one. Derived, not random, so a
    /// redelivered message overwrites its own answer instead of adding a second one.
    pub fn answer(&self, n: u8) -> Self {
        Self(format!("{}.{n}", self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_lowercase_slugs() {
        assert!(TenantId::new("demo-shop-2").is_ok());
        assert_eq!(TenantId::new("Demo").unwrap_err().reason, "unexpected character");
        assert_eq!(TenantId::new("").unwrap_err().reason, "empty");
        assert_eq!(TenantId::new("a".repeat(65)).unwrap_err().reason, "too long");
        assert!(TenantId::new("a/b").is_err());
    }

    #[test]
    fn ids_reject_separators_used_in_storage_keys() {
        assert!(ConversationId::new("c_1#STATE").is_err());
        assert!(VisitorId::new("v 1").is_err());
        assert!(MessageId::new("m_1").is_ok());
    }

    #[test]
    fn answer_ids_are_derived_and_sort_after_the_question() {
        let m = MessageId::new("m_1").unwrap();
        assert_eq!(m.answer(1), m.answer(1));
        assert!(m.answer(1).as_str() > m.as_str());
        assert!(m.answer(2).as_str() > m.answer(1).as_str());
    }

    #[test]
    fn serde_validates() {
        let bad: Result<TenantId, _> = serde_json::from_str("\"UPPER\"");
        assert!(bad.is_err());
        let good: TenantId = serde_json::from_str("\"demo\"").unwrap();
        assert_eq!(good.as_str(), "demo");
    }
}
