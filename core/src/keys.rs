//! Keyed digests: the one HMAC-SHA256 helper every verifier and signer uses, and the deployment
//! key from which channel conversation ids and web chat read tokens are derived.
//!
//! Why a key: a conversation id that is a bare hash of public facts (tenant, channel, phone
//! number) can be computed by anyone who knows the number. Keyed under a secret only the
//! deployment holds, the same derivation stays lookup-free but reveals and predicts nothing.

use crate::domain::{Channel, ConversationId, TenantId};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// HMAC-SHA256 of `parts` concatenated, under `key` (any length).
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    mac_of(key, parts).finalize().into_bytes().into()
}

/// Whether `expected` is the HMAC-SHA256 of `parts` under `key`, compared in constant time. An
/// empty key verifies nothing: anyone can sign with it.
pub fn hmac_sha256_verify(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    !key.is_empty() && mac_of(key, parts).verify_slice(expected).is_ok()
}

fn mac_of(key: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    for part in parts {
        mac.update(part);
    }
    mac
}

/// Shortest deployment key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// The deployment key is too short to be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the deployment key must be at least {MIN_KEY_BYTES} bytes (got {0}); generate one with `openssl rand -base64 48`"
)]
pub struct WeakKey(pub usize);

/// A secret of the deployment (SSM in production, random per process locally).
#[derive(Clone)]
pub struct DeploymentKey(Vec<u8>);

impl fmt::Debug for DeploymentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeploymentKey(***)")
    }
}

/// Read tokens carry a version so the key can be rotated later without guessing.
const TOKEN_PREFIX: &str = "v1.";

impl DeploymentKey {
    /// A key from its bytes (the SSM parameter's value).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, WeakKey> {
        let bytes = bytes.into();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(WeakKey(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// A fresh random key: the embedded default, whose conversations live as long as the process.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; MIN_KEY_BYTES];
        // The OS random source failing is a broken machine, not an input error.
        getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("the OS random source failed: {e}"));
        Self(bytes)
    }

    /// A new key as text, for ops to store in SSM (48 random bytes, base64).
    pub fn random_text() -> String {
        let mut bytes = [0u8; 48];
        getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("the OS random source failed: {e}"));
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// The ongoing conversation of one address on one channel: every message from the same
    /// phone or chat lands in the same thread without a lookup, and nobody without the key can
    /// compute or recognise the id.
    pub fn channel_conversation(&self, tenant: &TenantId, channel: Channel, address: &str) -> ConversationId {
        let digest = self.digest("conversation", &[tenant.as_str(), channel.as_str(), address]);
        let id = format!("c_{}_{}", channel.as_str().replace('_', ""), &hex::encode(digest)[..32]);
        ConversationId::new(id).unwrap_or_else(|_| unreachable!("hex and a channel name are valid id characters"))
    }

    /// The web chat read credential of `conversation` for its visitor: nothing to store, the
    /// same for every message of the conversation.
    pub fn read_token(&self, tenant: &TenantId, conversation: &ConversationId, visitor: &str) -> String {
        let digest = self.digest("webchat-read", &[tenant.as_str(), conversation.as_str(), visitor]);
        format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest))
    }

    /// Whether `token` is the read credential of `conversation` for `visitor` (constant time).
    pub fn verify_read_token(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        visitor: &str,
        token: &str,
    ) -> bool {
        let Some(encoded) = token.strip_prefix(TOKEN_PREFIX) else { return false };
        let Ok(mac) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded) else { return false };
        let message = Self::message("webchat-read", &[tenant.as_str(), conversation.as_str(), visitor]);
        hmac_sha256_verify(&self.0, &[&message], &mac)
    }

    fn digest(&self, purpose: &str, fields: &[&str]) -> [u8; 32] {
        hmac_sha256(&self.0, &[&Self::message(purpose, fields)])
    }

    /// `purpose` separates the derivations; fields are length-prefixed so no two field lists
    /// share a message.
    fn message(purpose: &str, fields: &[&str]) -> Vec<u8> {
        let mut message = purpose.as_bytes().to_vec();
        for field in fields {
            message.extend_from_slice(&(field.len() as u32).to_be_bytes());
            message.extend_from_slice(field.as_bytes());
        }
        message
    }
}

/// Where each tenant's items live: every partition key is `T#{tenant}` or starts `T#{tenant}#`,
/// and a tenant id cannot contain `#` (`TenantId`), so no key of one tenant is a key of another.
/// A kind tag follows the tenant, so no two kinds of item share a key. The IAM policy that limits
/// the poll function to cost records names these shapes (`T#*#COST#*`). Tested below, for every
/// builder, over arbitrary ids.
pub mod partition {
    use crate::domain::{Channel, TenantId};
    use std::fmt::Display;

    /// The tenant's configuration and stored model.
    pub fn tenant(tenant: &TenantId) -> String {
        format!("T#{tenant}")
    }
    /// A conversation and its turns.
    pub fn conversation(tenant: &TenantId, id: impl Display) -> String {
        format!("T#{tenant}#V#{id}")
    }
    /// A customer profile.
    pub fn customer(tenant: &TenantId, id: impl Display) -> String {
        format!("T#{tenant}#C#{id}")
    }
    /// A customer by identity (`phone:+…`, `email:…`).
    pub fn identity(tenant: &TenantId, identity: impl Display) -> String {
        format!("T#{tenant}#I#{identity}")
    }
    /// A rate allowance's counters.
    pub fn allowance(tenant: &TenantId, what: impl Display) -> String {
        format!("T#{tenant}#ALLOW#{what}")
    }
    /// A month of the cost ledger (`yyyy-mm`).
    pub fn cost_month(tenant: &TenantId, month: impl Display) -> String {
        format!("T#{tenant}#COST#{month}")
    }
    /// The conversation a helpdesk's ticket belongs to.
    pub fn ticket(tenant: &TenantId, helpdesk: impl Display, id: impl Display) -> String {
        format!("T#{tenant}#K#{helpdesk}#{id}")
    }
    /// The ticket an escalation opened.
    pub fn escalation(tenant: &TenantId, escalation: impl Display) -> String {
        format!("T#{tenant}#E#{escalation}")
    }
    /// A provider's delivery of a message (the de-duplication claim).
    pub fn delivery(tenant: &TenantId, channel: Channel, provider_message_id: impl Display) -> String {
        format!("T#{tenant}#M#{channel}#{provider_message_id}")
    }
    /// A shop's webhook delivery (its de-duplication claim), by the shop's delivery id.
    pub fn shop_delivery(tenant: &TenantId, shop: &str, delivery: impl Display) -> String {
        format!("T#{tenant}#W#{shop}#{delivery}")
    }
    /// The index of a tenant's pilot decisions to review (ids only: the items themselves live in
    /// their conversations' partitions).
    pub fn reviews(tenant: &TenantId, kind: impl Display) -> String {
        format!("T#{tenant}#REVIEW#{kind}")
    }
    /// The lease of a conversation's one held long poll.
    pub fn held_poll(tenant: &TenantId, conversation: impl Display) -> String {
        format!("T#{tenant}#POLL#{conversation}")
    }
    /// A helpdesk agent's event (the de-duplication claim).
    pub fn agent_event(tenant: &TenantId, event: impl Display) -> String {
        format!("T#{tenant}#M#agent#{event}")
    }

    /// The tenant a partition key belongs to.
    pub fn owner(key: &str) -> Option<&str> {
        let rest = key.strip_prefix("T#")?;
        Some(rest.split_once('#').map_or(rest, |(tenant, _)| tenant))
    }
}

/// Data API keys: random bearer keys of which only the SHA-256 is stored (in the tenant's
/// file). 32 random bytes need no slow hash: nobody can guess one to match a digest.
pub mod data_key {
    use base64::Engine;
    use sha2::{Digest, Sha256};

    /// Every key starts so, which makes a leaked key easy to find in a repository or a log.
    pub const PREFIX: &str = "sbk_";

    /// A fresh key and its hex SHA-256, for the tenant's `data.keys`.
    pub fn generate() -> (String, String) {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("the OS random source failed: {e}"));
        let key = format!("{PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        let digest = digest(&key);
        (key, digest)
    }

    /// The hex SHA-256 of `key`.
    pub fn digest(key: &str) -> String {
        hex::encode(Sha256::digest(key.as_bytes()))
    }

    /// The name of the configured digest `key` matches, compared in constant time.
    pub fn matching<'a>(key: &str, configured: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<&'a str> {
        use subtle::ConstantTimeEq;
        let presented = Sha256::digest(key.as_bytes());
        let mut found = None;
        for (name, hex_digest) in configured {
            let Ok(stored) = hex::decode(hex_digest) else { continue };
            if bool::from(stored.as_slice().ct_eq(presented.as_slice())) {
                found = Some(name);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> DeploymentKey {
        DeploymentKey::new(vec![byte; 32]).unwrap()
    }

    #[test]
    fn every_verifier_shares_one_hmac_and_an_empty_key_verifies_nothing() {
        let mac = hmac_sha256(b"k", &[b"a", b"bc"]);
        assert_eq!(mac, hmac_sha256(b"k", &[b"abc"]), "parts are concatenated");
        assert!(hmac_sha256_verify(b"k", &[b"abc"], &mac));
        assert!(!hmac_sha256_verify(b"k", &[b"abd"], &mac));
        let anyone = hmac_sha256(b"", &[b"abc"]);
        assert!(!hmac_sha256_verify(b"", &[b"abc"], &anyone), "anyone can sign with an empty key");
    }

    #[test]
    fn short_keys_are_refused() {
        assert_eq!(DeploymentKey::new(b"short".to_vec()).unwrap_err(), WeakKey(5));
        assert_ne!(DeploymentKey::generate().0, DeploymentKey::generate().0);
    }

    #[test]
    fn one_address_one_conversation_per_tenant_and_channel_and_key() {
        let t = TenantId::new("demo").unwrap();
        let other = TenantId::new("other").unwrap();
        let k = key(1);
        let a = k.channel_conversation(&t, Channel::TwilioSms, "+34600111222");
        assert_eq!(a, k.channel_conversation(&t, Channel::TwilioSms, "+34600111222"));
        assert_ne!(a, k.channel_conversation(&t, Channel::TwilioSms, "+34600111223"));
        assert_ne!(a, k.channel_conversation(&t, Channel::Telegram, "+34600111222"));
        assert_ne!(a, k.channel_conversation(&other, Channel::TwilioSms, "+34600111222"));
        assert_ne!(a, key(2).channel_conversation(&t, Channel::TwilioSms, "+34600111222"), "keyed");
        assert!(a.as_str().starts_with("c_twiliosms_") && !a.as_str().contains("34600"));
    }

    #[test]
    fn read_tokens_verify_only_for_their_conversation_visitor_tenant_and_key() {
        let t = TenantId::new("demo").unwrap();
        let c = ConversationId::new("c_1").unwrap();
        let k = key(1);
        let token = k.read_token(&t, &c, "v_1");
        assert!(k.verify_read_token(&t, &c, "v_1", &token));
        assert!(!k.verify_read_token(&t, &c, "v_2", &token));
        assert!(!k.verify_read_token(&t, &ConversationId::new("c_2").unwrap(), "v_1", &token));
        assert!(!k.verify_read_token(&TenantId::new("other").unwrap(), &c, "v_1", &token));
        assert!(!key(2).verify_read_token(&t, &c, "v_1", &token));
        for bad in ["", "v1.", "v2.abc", &token[3..], &format!("{token}x"), "v1.!!!"] {
            assert!(!k.verify_read_token(&t, &c, "v_1", bad), "{bad:?}");
        }
    }

    #[test]
    fn fields_cannot_slide_into_each_other() {
        let k = key(1);
        let t = TenantId::new("demo").unwrap();
        let c1 = ConversationId::new("c_ab").unwrap();
        let c2 = ConversationId::new("c_a").unwrap();
        assert_ne!(k.read_token(&t, &c1, "c"), k.read_token(&t, &c2, "bc"));
    }

    mod isolation {
        use super::*;
        use crate::domain::{Channel, ConversationId};
        use proptest::prelude::*;

        fn tenant() -> impl Strategy<Value = TenantId> {
            "[a-z0-9-]{1,12}".prop_map(|t| TenantId::new(t).expect("a valid tenant id"))
        }

        fn channel() -> impl Strategy<Value = Channel> {
            prop::sample::select(Channel::ALL.to_vec())
        }

        /// Every key a tenant's items are stored under, built from ids an outsider may choose
        /// (anything: `#`, empty, unicode), with a name per builder.
        fn every_key(t: &TenantId, id: &str, channel: Channel) -> Vec<(&'static str, String)> {
            vec![
                ("tenant", partition::tenant(t)),
                ("conversation", partition::conversation(t, id)),
                ("customer", partition::customer(t, id)),
                ("identity", partition::identity(t, id)),
                ("allowance", partition::allowance(t, id)),
                ("cost_month", partition::cost_month(t, id)),
                ("ticket", partition::ticket(t, "zendesk", id)),
                ("escalation", partition::escalation(t, id)),
                ("delivery", partition::delivery(t, channel, id)),
                ("agent_event", partition::agent_event(t, id)),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Whatever the ids, every key names its own tenant, so tenants never share an item.
            #[test]
            fn every_key_belongs_to_its_tenant_and_no_other(
                a in tenant(), b in tenant(), x in any::<String>(), y in any::<String>(), ch in channel(),
            ) {
                for (name, key) in every_key(&a, &x, ch) {
                    prop_assert_eq!(partition::owner(&key), Some(a.as_str()), "{} key {}", name, key);
                }
                if a != b {
                    let theirs: Vec<String> = every_key(&b, &y, ch).into_iter().map(|(_, k)| k).collect();
                    for (name, key) in every_key(&a, &x, ch) {
                        prop_assert!(!theirs.contains(&key), "{} key {} is also {}'s", name, key, b);
                    }
                }
            }

            /// Within a tenant, different ids of one kind never share a key.
            #[test]
            fn different_ids_of_one_kind_never_share_a_key(
                t in tenant(), x in any::<String>(), y in any::<String>(), ch in channel(),
            ) {
                prop_assume!(x != y);
                for ((name, kx), (_, ky)) in every_key(&t, &x, ch).into_iter().zip(every_key(&t, &y, ch)).skip(1) {
                    prop_assert_ne!(kx, ky, "{} keys", name);
                }
            }

            /// A conversation id derived for one tenant is never another's, and a read token
            /// opens only its own tenant's, conversation's and visitor's messages.
            #[test]
            fn derived_ids_and_tokens_do_not_cross_tenants(
                a in tenant(), b in tenant(), address in ".{1,40}", visitor in "[a-z0-9_]{1,20}", ch in channel(),
            ) {
                prop_assume!(a != b);
                let key = DeploymentKey::new(vec![7u8; 32]).expect("a strong key");
                prop_assert_ne!(key.channel_conversation(&a, ch, &address), key.channel_conversation(&b, ch, &address));
                let conversation = ConversationId::generate();
                let token = key.read_token(&a, &conversation, &visitor);
                prop_assert!(key.verify_read_token(&a, &conversation, &visitor, &token));
                prop_assert!(!key.verify_read_token(&b, &conversation, &visitor, &token));
                let other_visitor = visitor.clone() + "x";
                prop_assert!(!key.verify_read_token(&a, &conversation, &other_visitor, &token));
                prop_assert!(!key.verify_read_token(&a, &ConversationId::generate(), &visitor, &token));
            }
        }
    }

    #[test]
    fn a_data_key_matches_only_its_own_digest() {
        let (key, digest) = data_key::generate();
        assert!(key.starts_with(data_key::PREFIX) && key.len() > 40);
        let (other, other_digest) = data_key::generate();
        let configured = [("old", other_digest.as_str()), ("new", digest.as_str())];
        assert_eq!(data_key::matching(&key, configured), Some("new"));
        assert_eq!(data_key::matching(&other, configured), Some("old"), "both keys work while rotating");
        assert_eq!(data_key::matching("sbk_guess", configured), None);
        assert_eq!(data_key::matching(&digest, configured), None, "the digest is not a key");
    }
}
