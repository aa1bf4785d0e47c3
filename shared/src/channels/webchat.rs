//! Our own web chat: the API every other channel follows.
//!
//! `POST /v1/{tenant}/webchat/messages` with `{conversation_id?, visitor_id, client_message_id?,
//! text, identity?}`. `identity` is `{customer_id, signature}`, the signature being hex
//! HMAC-SHA256(tenant identity secret, customer_id), computed by the tenant's own site for a
//! logged-in customer. Only a verified identity unlocks a profile.

use crate::domain::{Channel, ConversationId, CustomerId, InboundMessage, MessageId, Sender, TenantId, VisitorId};
use crate::keys::{hmac_sha256, hmac_sha256_verify};
use crate::tenant::{Secret, WebchatConfig};
use chrono::{DateTime, Utc};
use serde::Deserialize;

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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The tenant's customer id.
    pub customer_id: String,
    /// Hex HMAC-SHA256 of `customer_id` under the tenant's identity secret.
    pub signature: String,
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
}

/// Signs `customer_id` the way the tenant's site must (for demos and tests).
pub fn sign_identity(secret: &Secret, customer_id: &str) -> String {
    hex::encode(hmac_sha256(secret.expose(), &[customer_id.as_bytes()]))
}

/// Checks an identity in constant time; the customer id only when the signature verifies.
pub fn verify_identity(secret: &Secret, identity: &Identity) -> Result<CustomerId, WebchatError> {
    let customer = CustomerId::new(identity.customer_id.clone())
        .map_err(|e| WebchatError::Invalid(format!("identity.customer_id: {e}")))?;
    let signature = hex::decode(identity.signature.trim()).map_err(|_| WebchatError::BadSignature)?;
    if !hmac_sha256_verify(secret.expose(), &[customer.as_str().as_bytes()], &signature) {
        return Err(WebchatError::BadSignature);
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

/// Validates fields and verifies the identity. Runs before anything is stored.
pub fn verify(post: WebchatPost, config: &WebchatConfig) -> Result<VerifiedPost, WebchatError> {
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
    let customer = post.identity.as_ref().map(|i| verify_identity(&config.identity_secret, i)).transpose()?;
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

    #[test]
    fn verified_identity_unlocks_the_customer() {
        let c = config();
        let sig = sign_identity(&c.identity_secret, "c-1001");
        let v = verify(post("hi", Some(Identity { customer_id: "c-1001".into(), signature: sig })), &c).unwrap();
        assert_eq!(v.customer.unwrap().as_str(), "c-1001");
    }

    #[test]
    fn spoofed_identity_is_refused() {
        let c = config();
        let someone_else = sign_identity(&c.identity_secret, "c-1002");
        for signature in
            [someone_else, "zz".into(), "".into(), sign_identity(&Secret::new("another-tenant-secret"), "c-1001")]
        {
            let err = verify(post("hi", Some(Identity { customer_id: "c-1001".into(), signature })), &c).unwrap_err();
            assert_eq!(err, WebchatError::BadSignature);
        }
    }

    #[test]
    fn anonymous_visitors_have_no_customer() {
        assert!(verify(post("hi", None), &config()).unwrap().customer.is_none());
    }

    #[test]
    fn field_checks() {
        let c = config();
        assert!(matches!(verify(post("   ", None), &c), Err(WebchatError::Invalid(_))));
        assert_eq!(
            verify(post(&"x".repeat(21), None), &c).unwrap_err(),
            WebchatError::TooLong { chars: 21, limit: 20 }
        );
        let mut p = post("hi", None);
        p.visitor_id = "bad id".into();
        assert!(matches!(verify(p, &c), Err(WebchatError::Invalid(m)) if m.starts_with("visitor_id")));
        let mut p = post("hi", None);
        p.conversation_id = Some("c#1".into());
        assert!(matches!(verify(p, &c), Err(WebchatError::Invalid(m)) if m.starts_with("conversation_id")));
    }

    #[test]
    fn repeats_share_a_provider_id_and_anonymous_ids_do_not() {
        let c = config();
        let v = verify(post("hi", None), &c).unwrap();
        let t = TenantId::new("demo").unwrap();
        let a = normalise(&v, &t, ConversationId::generate(), Utc::now(), "r1");
        let b = normalise(&v, &t, ConversationId::generate(), Utc::now(), "r2");
        assert_eq!(a.provider_message_id, "v1:m1");
        assert_eq!(a.provider_message_id, b.provider_message_id);
        let mut p = post("hi", None);
        p.client_message_id = None;
        let v = verify(p, &c).unwrap();
        assert_ne!(
            normalise(&v, &t, ConversationId::generate(), Utc::now(), "r").provider_message_id,
            normalise(&v, &t, ConversationId::generate(), Utc::now(), "r").provider_message_id
        );
    }
}
