//! One module per channel: verify the provider's proof over the raw body, parse its payload into
//! [`Incoming`] messages (skipping what is not customer text), and the provider's ack. Sending
//! answers back lives in [`senders`].

pub mod email;
pub mod senders;
pub mod slack;
pub mod sns;
pub mod telegram;
pub mod twilio;
pub mod webchat;
pub mod whatsapp;

use switchboard_core::domain::Channel;

/// Longest e-mail text carried on, in characters: a reply is short, and a forwarded manual must
/// not fill the queue (SQS takes 256 KiB per message) or the model's context.
pub const MAX_EMAIL_TEXT_CHARS: usize = 20_000;

/// `text`, cut at `MAX_EMAIL_TEXT_CHARS` with a mark where it was cut.
pub fn cap_email_text(text: String) -> String {
    match text.char_indices().nth(MAX_EMAIL_TEXT_CHARS) {
        Some((at, _)) => format!("{} […]", &text[..at]),
        None => text,
    }
}

/// Why a webhook was refused. Nothing is stored or enqueued for any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// The provider's proof is missing or wrong (401).
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// The payload is not what the provider sends (400).
    #[error("malformed payload: {0}")]
    Malformed(String),
}

/// One customer message as a provider delivered it, before normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The provider's id for it: the de-duplication key.
    pub provider_message_id: String,
    /// Who wrote: phone number, chat id, user id, e-mail address. Personal data.
    pub address: String,
    /// Which of the tenant's numbers or bots it was sent to, when the provider says.
    pub recipient: Option<String>,
    /// The text.
    pub text: String,
    /// The sender's display name, when the provider gives one.
    pub display_name: Option<String>,
    /// Thread to answer in (Slack `thread_ts`, e-mail Message-ID).
    pub thread: Option<String>,
    /// Attachments: names and sizes only.
    pub attachments: Vec<switchboard_core::domain::AttachmentNote>,
    /// The provider could not prove the sender owns `address` (e-mail without a passing
    /// authentication verdict): the address then identifies no customer.
    pub unverified: bool,
    /// When the customer sent it, where the signed body says (WhatsApp, Telegram): a message
    /// older than any redelivery is a replay.
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Longest a provider redelivers a message (Meta retries for up to 7 days): a signed message
/// sent earlier than this is a recorded request replayed, skipped whatever its claim says.
pub const REPLAY_WINDOW: chrono::Duration = chrono::Duration::days(7);

/// A value a message cannot do without — the provider's message id (the de-duplication key), the
/// sender — trimmed; empty is malformed.
pub(crate) fn required(value: &str, what: &str) -> Result<String, ChannelError> {
    let value = value.trim();
    if value.is_empty() { Err(ChannelError::Malformed(format!("empty {what}"))) } else { Ok(value.to_string()) }
}

/// The identity a channel address stands for, to find the customer it belongs to: one phone is
/// the same person on SMS, WhatsApp via Twilio and the WhatsApp Cloud API.
pub fn identity_of(channel: Channel, address: &str) -> Option<String> {
    match channel {
        Channel::TwilioSms | Channel::TwilioWhatsapp => {
            Some(format!("phone:{}", address.trim_start_matches("whatsapp:")))
        }
        Channel::WhatsappCloud => Some(format!("phone:+{}", address.trim_start_matches('+'))),
        Channel::Email => Some(format!("email:{}", address.trim().to_lowercase())),
        // A chat id or a Slack thread says nothing the tenant's records know.
        Channel::Telegram | Channel::Slack | Channel::Webchat => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signed by the providers' own libraries (`scripts/gen-channel-fixtures.py`).
    const OFFICIAL: &str = include_str!("../../../tests/fixtures/channels.json");

    #[test]
    fn signatures_made_by_the_official_libraries_verify() {
        let f: serde_json::Value = serde_json::from_str(OFFICIAL).unwrap();
        let t = &f["twilio"];
        let token = t["auth_token"].as_str().unwrap().as_bytes();
        let params: Vec<(String, String)> = t["form"]["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let url = t["form"]["url"].as_str().unwrap();
        let signature = t["form"]["signature"].as_str();
        assert_eq!(twilio::signature(token, url, &params), signature.unwrap());
        assert!(twilio::verify(token, url, &params, b"", signature).is_ok());
        let json_body = t["json"]["body"].as_str().unwrap().as_bytes();
        assert!(
            twilio::verify(token, t["json"]["url"].as_str().unwrap(), &[], json_body, t["json"]["signature"].as_str())
                .is_ok()
        );

        let sl = &f["slack"];
        let ts = sl["timestamp"].as_str().unwrap();
        let at = chrono::DateTime::from_timestamp(ts.parse().unwrap(), 0).unwrap();
        let secret = sl["signing_secret"].as_str().unwrap().as_bytes();
        let body = sl["body"].as_str().unwrap().as_bytes();
        assert!(slack::verify(secret, Some(ts), sl["signature"].as_str(), body, at).is_ok());
        assert!(slack::verify(b"other", Some(ts), sl["signature"].as_str(), body, at).is_err());
    }

    /// The provider's message id is the de-duplication key: an empty one would make every such
    /// message one message (the twilio fuzz target found it there; the others had it too).
    #[test]
    fn every_channel_refuses_a_message_with_an_empty_id_or_sender() {
        let malformed = |r: Result<usize, ChannelError>, what: &str| {
            assert!(matches!(r, Err(ChannelError::Malformed(_))), "{what}: {r:?}");
        };
        let mail = |id: &str, from: &str| {
            serde_json::json!({"MessageID": id, "From": from, "TextBody": "Where is my order?"}).to_string()
        };
        malformed(
            email::parse(
                mail(" ", "ana@example.com").as_bytes(),
                "us@shop.example",
                switchboard_core::config::POSTMARK_AUTHSERV_ID,
            )
            .map(|m| m.iter().len()),
            "e-mail id",
        );
        let wa = |id: &str, from: &str| {
            serde_json::json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {
                "messages": [{"id": id, "from": from, "type": "text", "text": {"body": "Hi"}}]}}]}]})
            .to_string()
        };
        malformed(whatsapp::parse(wa("", "34600111222").as_bytes()).map(|m| m.len()), "WhatsApp id");
        malformed(whatsapp::parse(wa("wamid.1", " ").as_bytes()).map(|m| m.len()), "WhatsApp sender");
        let event = serde_json::json!({"type": "event_callback", "event_id": "", "event": {"type": "message",
            "channel": "C1", "user": "U1", "text": "Hi", "ts": "1.1"}});
        malformed(slack::parse(event.to_string().as_bytes()).map(|_| 1), "Slack event id");
        let ses = serde_json::json!({"notificationType": "Received", "mail": {"messageId": ""},
            "content": "From: ana@example.com\r\n\r\nHi\r\n"});
        malformed(sns::ses_mail(&ses.to_string(), "us@shop.example").map(|m| m.iter().len()), "SES id");
    }

    #[test]
    fn one_phone_is_one_identity_across_channels() {
        assert_eq!(identity_of(Channel::TwilioSms, "+34600111222").as_deref(), Some("phone:+34600111222"));
        assert_eq!(
            identity_of(Channel::TwilioWhatsapp, "whatsapp:+34600111222").as_deref(),
            Some("phone:+34600111222")
        );
        assert_eq!(identity_of(Channel::WhatsappCloud, "34600111222").as_deref(), Some("phone:+34600111222"));
        assert_eq!(identity_of(Channel::Email, " Ana@Example.COM").as_deref(), Some("email:ana@example.com"));
        assert_eq!(identity_of(Channel::Telegram, "1111"), None);
    }

    #[test]
    fn long_mail_is_cut_with_a_mark_and_attachments_are_noted_by_name_and_size() {
        let long = "é".repeat(MAX_EMAIL_TEXT_CHARS + 5);
        let cut = cap_email_text(long);
        assert_eq!(cut.chars().count(), MAX_EMAIL_TEXT_CHARS + 4);
        assert!(cut.ends_with(" […]"));
        assert_eq!(cap_email_text("short".into()), "short");
        let body = serde_json::json!({"MessageID": "m", "From": "a@b.example", "TextBody": "Hi",
            "Attachments": [{"Name": "inv\u{7}oice.pdf", "Content": "AAAA", "ContentLength": 307200}, {"Name": "", "ContentLength": 12}]});
        let incoming = email::parse(
            body.to_string().as_bytes(),
            "us@shop.example",
            switchboard_core::config::POSTMARK_AUTHSERV_ID,
        )
        .unwrap()
        .unwrap();
        let lines: Vec<String> = incoming.attachments.iter().map(|a| a.line()).collect();
        assert_eq!(lines, ["[attachment: invoice.pdf (300 KB)]", "[attachment: unnamed (12 B)]"]);
    }
}
