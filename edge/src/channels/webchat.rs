//! Our own web chat: the API every other channel follows.
//!
//! `POST /v1/{tenant}/webchat/messages` with `{conversation_id?, visitor_id, client_message_id?,
//! text, identity?}`. `identity` is `{customer_id, expires, signature}`, the signature being hex
//! HMAC-SHA256(tenant identity secret, `"{customer_id}|{expires}"`), `expires` a Unix time in
//! seconds at most a day ahead, computed by the tenant's own site for a logged-in customer. The
//! older form without `expires` (HMAC of the bare customer id, valid for ever) is accepted only
//! where the tenant allows it (`accept_unexpiring_identity`). Only a verified identity unlocks a
//! profile.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::domain::{
    Channel, ConversationId, CustomerId, InboundMessage, MessageId, Sender, TenantId, VisitorId,
};
use switchboard_core::keys::{hmac_sha256, hmac_sha256_verify};
use switchboard_engine::tenant::{Secret, WebchatConfig};

/// The body of a web chat POST.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebchatPost {
    /// The conversation to continue; absent starts a new one.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// The widget's visitor id.
    pub visitor_id: String,
    /// The widget's id for this message: a repeat with the same id is the same message.
    #[serde(default)]
    pub client_message_id: Option<String>,
    /// What the visitor wrote.
    pub text: String,
    /// Proof of who the visitor is, from the tenant's site.
    #[serde(default)]
    pub identity: Option<Identity>,
}

/// A customer id signed by the tenant's site.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The tenant's customer id.
    pub customer_id: String,
    /// When the signature stops being valid, in Unix seconds; absent in the unexpiring form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    /// Hex HMAC-SHA256 under the tenant's identity secret of `"{customer_id}|{expires}"`, or of
    /// the bare `customer_id` in the unexpiring form.
    pub signature: String,
}

/// Longest an identity signature may be valid for: a site signs at each page load, and a
/// signature copied from a page must not outlive the day.
pub const MAX_IDENTITY_LIFETIME_SECONDS: i64 = 24 * 60 * 60;

impl Identity {
    /// The identity the tenant's site signs for `customer_id`, valid until `expires` (demos and
    /// tests; docs/onboarding.md shows the same in other languages).
    pub fn signed(secret: &Secret, customer_id: &str, expires: DateTime<Utc>) -> Self {
        let expires = expires.timestamp();
        let signature = hex::encode(hmac_sha256(secret.expose(), &[expiring_message(customer_id, expires).as_bytes()]));
        Self { customer_id: customer_id.to_string(), expires: Some(expires), signature }
    }
}

/// What the expiring form signs. `|` is in no customer id, so no unexpiring signature (of a bare
/// id) is ever one of these, nor the other way round.
fn expiring_message(customer_id: &str, expires: i64) -> String {
    format!("{customer_id}|{expires}")
}

/// What is wrong with a web chat POST.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebchatError {
    /// A field is missing or malformed.
    #[error("{0}")]
    Invalid(String),
    /// The text is longer than the tenant allows.
    #[error("text is {chars} characters; the limit is {limit}")]
    TooLong {
        /// Characters sent.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// The identity signature does not verify.
    #[error("identity signature does not verify")]
    BadSignature,
    /// The identity's `expires` has passed, or lies further ahead than a signature may live.
    #[error("identity has expired or is valid for too long; sign it again")]
    Expired,
    /// An identity without `expires`, which this tenant does not accept.
    #[error("identity must carry expires (the unexpiring form is not accepted for this tenant)")]
    Unexpiring,
}

/// Signs `customer_id` in the unexpiring form (HMAC of the bare id), which tenants accept only
/// with `accept_unexpiring_identity`.
pub fn sign_identity(secret: &Secret, customer_id: &str) -> String {
    hex::encode(hmac_sha256(secret.expose(), &[customer_id.as_bytes()]))
}

/// Checks an identity at `now`, its signature in constant time; the customer id only when it
/// verifies, has not expired and, without `expires`, only where `config` accepts that form.
pub fn verify_identity(
    config: &WebchatConfig,
    identity: &Identity,
    now: DateTime<Utc>,
) -> Result<CustomerId, WebchatError> {
    let customer = CustomerId::new(identity.customer_id.clone())
        .map_err(|e| WebchatError::Invalid(format!("identity.customer_id: {e}")))?;
    let signature = hex::decode(identity.signature.trim()).map_err(|_| WebchatError::BadSignature)?;
    let signed = match identity.expires {
        Some(expires) => expiring_message(customer.as_str(), expires),
        None if config.accept_unexpiring_identity => customer.as_str().to_string(),
        None => return Err(WebchatError::Unexpiring),
    };
    if !hmac_sha256_verify(config.identity_secret.expose(), &[signed.as_bytes()], &signature) {
        return Err(WebchatError::BadSignature);
    }
    if let Some(expires) = identity.expires {
        let left = expires - now.timestamp();
        if left <= 0 || left > MAX_IDENTITY_LIFETIME_SECONDS {
            return Err(WebchatError::Expired);
        }
    }
    Ok(customer)
}

/// A verified, validated POST, ready for the pipeline.
#[derive(Debug, Clone)]
pub struct VerifiedPost {
    /// The conversation named by the widget, if any.
    pub conversation_id: Option<ConversationId>,
    /// The visitor.
    pub visitor: VisitorId,
    /// The verified customer, if an identity was sent and verified.
    pub customer: Option<CustomerId>,
    /// The widget's message id.
    pub client_message_id: Option<String>,
    /// The text, trimmed.
    pub text: String,
}

/// Validates fields and verifies the identity at `now`. Runs before anything is stored.
pub fn verify(post: WebchatPost, config: &WebchatConfig, now: DateTime<Utc>) -> Result<VerifiedPost, WebchatError> {
    let visitor = VisitorId::new(post.visitor_id).map_err(|e| WebchatError::Invalid(format!("visitor_id: {e}")))?;
    let conversation_id = post
        .conversation_id
        .map(|c| ConversationId::new(c).map_err(|e| WebchatError::Invalid(format!("conversation_id: {e}"))))
        .transpose()?;
    let client_message_id = post
        .client_message_id
        .map(|m| {
            MessageId::new(m).map(String::from).map_err(|e| WebchatError::Invalid(format!("client_message_id: {e}")))
        })
        .transpose()?;
    let text = post.text.trim().to_string();
    if text.is_empty() {
        return Err(WebchatError::Invalid("text is empty".into()));
    }
    let chars = text.chars().count();
    if chars > config.max_message_chars {
        return Err(WebchatError::TooLong { chars, limit: config.max_message_chars });
    }
    let customer = post.identity.as_ref().map(|i| verify_identity(config, i, now)).transpose()?;
    Ok(VerifiedPost { conversation_id, visitor, customer, client_message_id, text })
}

/// The normalised message of a verified POST.
pub fn normalise(
    post: &VerifiedPost,
    tenant: &TenantId,
    conversation: ConversationId,
    received_at: DateTime<Utc>,
    request_id: &str,
) -> InboundMessage {
    let id = MessageId::generate();
    // Without a client id a repeat cannot be recognised; the message id stands in, so the key
    // is still unique.
    let provider_message_id = match &post.client_message_id {
        Some(client) => format!("{}:{client}", post.visitor),
        None => id.to_string(),
    };
    InboundMessage {
        id,
        tenant: tenant.clone(),
        channel: Channel::Webchat,
        provider_message_id,
        conversation,
        sender: Sender { address: post.visitor.to_string(), customer: post.customer.clone(), unverified: false },
        text: post.text.clone(),
        received_at,
        request_id: request_id.to_string(),
        thread: None,
        attachments: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> WebchatConfig {
        WebchatConfig {
            identity_secret: Secret::new("0123456789abcdef-secret"),
            max_message_chars: 20,
            allowed_origins: Vec::new(),
            accept_unexpiring_identity: false,
        }
    }

    fn post(text: &str, identity: Option<Identity>) -> WebchatPost {
        WebchatPost {
            conversation_id: None,
            visitor_id: "v1".into(),
            client_message_id: Some("m1".into()),
            text: text.into(),
            identity,
        }
    }

    #[test]
    fn signature_matches_an_independent_implementation() {
        // python3 -c "import hmac,hashlib;print(hmac.new(b'key',b'c-1',hashlib.sha256).hexdigest())"
        assert_eq!(
            sign_identity(&Secret::new("key"), "c-1"),
            "bd58a4309d6824a581d6ece13912afa555ce66631259a792dd4c888ec9f24884"
        );
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn the_expiring_form_matches_an_independent_implementation() {
        // python3 -c "import hmac,hashlib;print(hmac.new(b'key',b'c-1|1800003600',hashlib.sha256).hexdigest())"
        let identity = Identity::signed(&Secret::new("key"), "c-1", now() + chrono::Duration::hours(1));
        assert_eq!(identity.expires, Some(1_800_003_600));
        assert_eq!(identity.signature, "92ce5f086740c1c6d161be1d78daa592f4cda164ed8eb71e2e1c9eb2ea2e73df");
    }

    #[test]
    fn verified_identity_unlocks_the_customer() {
        let c = config();
        let identity = Identity::signed(&c.identity_secret, "c-1001", now() + chrono::Duration::minutes(30));
        let v = verify(post("hi", Some(identity)), &c, now()).unwrap();
        assert_eq!(v.customer.unwrap().as_str(), "c-1001");
    }

    /// A signature copied from a page (a shared computer, a leaked log) stops working: the
    /// expiring form has a day at most, and the form of the bare id only where the tenant
    /// still allows it.
    #[test]
    fn identities_expire_and_the_unexpiring_form_needs_the_tenants_consent() {
        let c = config();
        let at = |offset: chrono::Duration| Identity::signed(&c.identity_secret, "c-1001", now() + offset);
        let check = |identity: Identity, config: &WebchatConfig| verify(post("hi", Some(identity)), config, now());
        assert!(check(at(chrono::Duration::hours(23)), &c).is_ok());
        assert_eq!(check(at(chrono::Duration::seconds(0)), &c).unwrap_err(), WebchatError::Expired);
        assert_eq!(check(at(-chrono::Duration::hours(2)), &c).unwrap_err(), WebchatError::Expired);
        assert_eq!(check(at(chrono::Duration::days(30)), &c).unwrap_err(), WebchatError::Expired, "too long");
        let mut moved = at(chrono::Duration::hours(1));
        moved.expires = Some(now().timestamp() + 7200);
        assert_eq!(check(moved, &c).unwrap_err(), WebchatError::BadSignature, "expires is signed");

        let unexpiring = Identity {
            customer_id: "c-1001".into(),
            expires: None,
            signature: sign_identity(&c.identity_secret, "c-1001"),
        };
        assert_eq!(check(unexpiring.clone(), &c).unwrap_err(), WebchatError::Unexpiring);
        let allowing = WebchatConfig { accept_unexpiring_identity: true, ..config() };
        assert_eq!(check(unexpiring, &allowing).unwrap().customer.unwrap().as_str(), "c-1001");
        // One form's signature never passes as the other's.
        let mut as_unexpiring = at(chrono::Duration::hours(1));
        as_unexpiring.expires = None;
        assert_eq!(check(as_unexpiring, &allowing).unwrap_err(), WebchatError::BadSignature);
    }

    #[test]
    fn spoofed_identity_is_refused() {
        let c = config();
        let hour = now() + chrono::Duration::hours(1);
        let someone_else = Identity::signed(&c.identity_secret, "c-1002", hour).signature;
        let another_tenant = Identity::signed(&Secret::new("another-tenant-secret"), "c-1001", hour).signature;
        for signature in [someone_else, "zz".into(), "".into(), another_tenant] {
            let identity = Identity { customer_id: "c-1001".into(), expires: Some(hour.timestamp()), signature };
            let err = verify(post("hi", Some(identity)), &c, now()).unwrap_err();
            assert_eq!(err, WebchatError::BadSignature);
        }
    }

    #[test]
    fn anonymous_visitors_have_no_customer() {
        assert!(verify(post("hi", None), &config(), now()).unwrap().customer.is_none());
    }

    #[test]
    fn field_checks() {
        let c = config();
        assert!(matches!(verify(post("   ", None), &c, now()), Err(WebchatError::Invalid(_))));
        assert_eq!(
            verify(post(&"x".repeat(21), None), &c, now()).unwrap_err(),
            WebchatError::TooLong { chars: 21, limit: 20 }
        );
        let mut p = post("hi", None);
        p.visitor_id = "bad id".into();
        assert!(matches!(verify(p, &c, now()), Err(WebchatError::Invalid(m)) if m.starts_with("visitor_id")));
        let mut p = post("hi", None);
        p.conversation_id = Some("c#1".into());
        assert!(matches!(verify(p, &c, now()), Err(WebchatError::Invalid(m)) if m.starts_with("conversation_id")));
    }

    #[test]
    fn repeats_share_a_provider_id_and_anonymous_ids_do_not() {
        let c = config();
        let v = verify(post("hi", None), &c, now()).unwrap();
        let t = TenantId::new("demo").unwrap();
        let a = normalise(&v, &t, ConversationId::generate(), Utc::now(), "r1");
        let b = normalise(&v, &t, ConversationId::generate(), Utc::now(), "r2");
        assert_eq!(a.provider_message_id, "v1:m1");
        assert_eq!(a.provider_message_id, b.provider_message_id);
        let mut p = post("hi", None);
        p.client_message_id = None;
        let v = verify(p, &c, now()).unwrap();
        assert_ne!(
            normalise(&v, &t, ConversationId::generate(), Utc::now(), "r").provider_message_id,
            normalise(&v, &t, ConversationId::generate(), Utc::now(), "r").provider_message_id
        );
    }
}
