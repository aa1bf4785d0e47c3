//! Meta's WhatsApp Cloud API: the `hub.challenge` GET that proves we own the URL, POSTs signed
//! with `X-Hub-Signature-256` (HMAC-SHA256 of the raw body under the app secret), batches of
//! entries, changes and messages, and status updates to skip. Free-form answers are allowed only
//! within 24 hours of the customer's last message; outside it only an approved template may go.

use super::{ChannelError, Incoming};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use switchboard_core::keys::{hmac_sha256, hmac_sha256_verify};

/// Hours after the customer's last message during which free-form answers are allowed.
pub use switchboard_core::domain::WHATSAPP_SERVICE_WINDOW_HOURS as SERVICE_WINDOW_HOURS;

/// Answers Meta's subscription check: the challenge when the mode and token match.
pub fn challenge(raw_query: &str, verify_token: &[u8]) -> Result<String, ChannelError> {
    // Names contain dots (`hub.mode`): read the raw query rather than trusting a framework's parser.
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(raw_query).map_err(|e| ChannelError::Malformed(e.to_string()))?;
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let token_ok = get("hub.verify_token")
        .is_some_and(|t| !verify_token.is_empty() && bool::from(t.as_bytes().ct_eq(verify_token)));
    if get("hub.mode") != Some("subscribe") || !token_ok {
        return Err(ChannelError::Unauthorized("hub.verify_token does not match"));
    }
    get("hub.challenge").map(str::to_string).ok_or_else(|| ChannelError::Malformed("no hub.challenge".into()))
}

/// `sha256=` + hex HMAC-SHA256 of the raw body.
pub fn signature(app_secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(app_secret, &[body])))
}

/// Verifies `X-Hub-Signature-256` over the raw body.
pub fn verify(app_secret: &[u8], header: Option<&str>, body: &[u8]) -> Result<(), ChannelError> {
    let header = header.ok_or(ChannelError::Unauthorized("missing X-Hub-Signature-256"))?;
    let given = header
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(ChannelError::Unauthorized("malformed X-Hub-Signature-256"))?;
    if !hmac_sha256_verify(app_secret, &[body], &given) {
        return Err(ChannelError::Unauthorized("X-Hub-Signature-256 does not verify"));
    }
    Ok(())
}

#[derive(Deserialize)]
struct Notification {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize, Default)]
struct Value {
    /// Which of the business's numbers the messages were sent to.
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<Message>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    phone_number_id: Option<String>,
}

#[derive(Deserialize)]
struct Contact {
    #[serde(default)]
    wa_id: Option<String>,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    from: String,
    id: String,
    /// Unix seconds as a string, when the customer sent it.
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<Text>,
}

#[derive(Deserialize)]
struct Text {
    body: String,
}

/// Every customer text in a notification (one POST may batch several entries, changes and
/// messages). Statuses, reactions, media and other types are acknowledged and skipped.
pub fn parse(body: &[u8]) -> Result<Vec<Incoming>, ChannelError> {
    let n: Notification =
        serde_json::from_slice(body).map_err(|e| ChannelError::Malformed(format!("notification: {e}")))?;
    if n.object != "whatsapp_business_account" {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for change in n.entry.iter().flat_map(|e| &e.changes) {
        let value = &change.value;
        for m in value.messages.iter().filter(|m| m.kind == "text") {
            let Some(text) = m.text.as_ref().map(|t| t.body.trim().to_string()).filter(|t| !t.is_empty()) else {
                continue;
            };
            let name = value
                .contacts
                .iter()
                .find(|c| c.wa_id.as_deref() == Some(m.from.as_str()))
                .and_then(|c| c.profile.as_ref()?.name.clone());
            out.push(Incoming {
                provider_message_id: super::required(&m.id, "message id")?,
                address: super::required(&m.from, "sender")?,
                recipient: value.metadata.as_ref().and_then(|md| md.phone_number_id.clone()),
                text,
                display_name: name,
                thread: None,
                attachments: Vec::new(),
                unverified: false,
                sent_at: m
                    .timestamp
                    .as_deref()
                    .and_then(|t| t.parse().ok())
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.TEST1","timestamp":"1739321024","type":"text","text":{"body":"Hello"}}]},"field":"messages"}]}]}"#;

    #[test]
    fn an_empty_app_secret_verifies_nothing() {
        // Anyone can sign with an empty key; the verifier did not guard against it once.
        let signature = signature(b"", b"{}");
        assert!(verify(b"", Some(&signature), b"{}").is_err());
    }

    #[test]
    fn spec_vectors() {
        assert_eq!(VECTOR.len(), 423);
        assert_eq!(
            signature(b"test_app_secret", VECTOR.as_bytes()),
            "sha256=d544c5beaaa346dbd0894236510bec2350809d05d538d2fbf442b49a9148e9a5"
        );
        assert_eq!(
            signature(b"secret", b"test"),
            "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
        );
        let good = "sha256=d544c5beaaa346dbd0894236510bec2350809d05d538d2fbf442b49a9148e9a5";
        assert!(verify(b"test_app_secret", Some(good), VECTOR.as_bytes()).is_ok());
        assert!(verify(b"wrong", Some(good), VECTOR.as_bytes()).is_err());
        assert!(verify(b"test_app_secret", Some(good), VECTOR.replace("Hello", "Hellp").as_bytes()).is_err());
        assert!(verify(b"test_app_secret", None, VECTOR.as_bytes()).is_err());
        assert!(verify(b"test_app_secret", Some("sha1=abc"), VECTOR.as_bytes()).is_err());
    }

    #[test]
    fn the_subscription_challenge_needs_the_right_token() {
        let q = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock";
        assert_eq!(challenge(q, b"meatyhamhock").unwrap(), "1158201444");
        assert!(challenge(q, b"other").is_err());
        assert!(
            challenge("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=meatyhamhock", b"meatyhamhock").is_err()
        );
        assert!(challenge("hub.mode=subscribe&hub.verify_token=meatyhamhock", b"meatyhamhock").is_err());
        assert!(challenge(q, b"").is_err());
    }

    #[test]
    fn batches_are_read_whole_and_statuses_and_media_skipped() {
        let m = parse(VECTOR.as_bytes()).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].provider_message_id.as_str(), m[0].address.as_str(), m[0].text.as_str()),
            ("wamid.TEST1", "16505551234", "Hello")
        );
        assert_eq!(m[0].display_name.as_deref(), Some("Sheena Nelson"));
        let batch = r#"{"object":"whatsapp_business_account","entry":[
            {"id":"1","changes":[{"field":"messages","value":{"messages":[
                {"from":"111","id":"wamid.A","timestamp":"1","type":"text","text":{"body":"one"}},
                {"from":"111","id":"wamid.B","timestamp":"2","type":"image","image":{"id":"m1"}},
                {"from":"222","id":"wamid.C","timestamp":"3","type":"text","text":{"body":"two"}}]}}]},
            {"id":"2","changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.X","status":"delivered","timestamp":"4","recipient_id":"111"}]}}]}]}"#;
        let ids: Vec<String> = parse(batch.as_bytes()).unwrap().into_iter().map(|m| m.provider_message_id).collect();
        assert_eq!(ids, vec!["wamid.A", "wamid.C"]);
        assert!(parse(br#"{"object":"page","entry":[]}"#).unwrap().is_empty());
        assert!(parse(b"[]").is_err());
    }
}
