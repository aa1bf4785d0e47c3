use super::{ConversationId, CustomerId, MessageId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a customer wrote from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Our own web chat widget.
    Webchat,
    /// SMS through Twilio.
    TwilioSms,
    /// WhatsApp through Twilio.
    TwilioWhatsapp,
    /// Meta's WhatsApp Cloud API.
    WhatsappCloud,
    /// A Telegram bot.
    Telegram,
    /// Slack Events API.
    Slack,
    /// Inbound e-mail.
    Email,
}

/// Hours after the customer's last message during which WhatsApp allows free-form messages
/// (Meta's customer service window).
pub const WHATSAPP_SERVICE_WINDOW_HOURS: i64 = 24;

impl Channel {
    /// Whether each message sent on it is billed by the provider (SMS and WhatsApp through
    /// Twilio, e-mail): the channels a tenant's `budget.paid_sends_usd` caps.
    pub fn bills_per_message(self) -> bool {
        matches!(self, Channel::TwilioSms | Channel::TwilioWhatsapp | Channel::Email)
    }

    /// Every channel.
    pub const ALL: [Channel; 7] = [
        Channel::Webchat,
        Channel::TwilioSms,
        Channel::TwilioWhatsapp,
        Channel::WhatsappCloud,
        Channel::Telegram,
        Channel::Slack,
        Channel::Email,
    ];

    /// Whether a free-form message may go out at `at` to a customer whose last message came at
    /// `last_inbound`: on WhatsApp only within its service window, on every other channel always.
    pub fn window_open(self, last_inbound: DateTime<Utc>, at: DateTime<Utc>) -> bool {
        self != Channel::WhatsappCloud || at - last_inbound <= chrono::Duration::hours(WHATSAPP_SERVICE_WINDOW_HOURS)
    }

    /// The channel's name in keys, logs and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webchat => "webchat",
            Channel::TwilioSms => "twilio_sms",
            Channel::TwilioWhatsapp => "twilio_whatsapp",
            Channel::WhatsappCloud => "whatsapp_cloud",
            Channel::Telegram => "telegram",
            Channel::Slack => "slack",
            Channel::Email => "email",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who sent a message, as far as we know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    /// The channel address: web chat visitor id, phone number, chat id, e-mail address.
    /// Personal data: never logged unless the tenant allows it (`logging.include_personal_data`).
    pub address: String,
    /// The customer, only when the channel proved who it is (a verified web chat identity, a
    /// registered phone number). Unverified claims never land here.
    pub customer: Option<CustomerId>,
    /// The channel could not prove the sender owns the address (an e-mail whose From failed or
    /// lacked authentication): answered without personal data, and the ticket says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverified: bool,
}

/// One customer message after verification and normalisation: the same shape whatever the
/// channel, and the body of a message on the messages queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Our id for the message.
    pub id: MessageId,
    /// The business it was sent to.
    pub tenant: TenantId,
    /// Where it came from.
    pub channel: Channel,
    /// The provider's id (Twilio MessageSid, web chat client_message_id...), the key that makes
    /// a provider's retry harmless.
    pub provider_message_id: String,
    /// The conversation it belongs to.
    pub conversation: ConversationId,
    /// Who sent it.
    pub sender: Sender,
    /// What they wrote. Personal data: never logged unless the tenant allows it.
    pub text: String,
    /// When the inbound function accepted it.
    pub received_at: DateTime<Utc>,
    /// The request id of the inbound call, to follow one message through the logs.
    pub request_id: String,
    /// The provider's thread reference to answer in (the e-mail's `Message-ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// Attachments the message came with: names and sizes only, never their content.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentNote>,
}

/// An attachment, as far as Switchboard keeps it: what it was called and how big it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentNote {
    /// The file name the sender gave (cleaned, at most 100 characters).
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
}

impl AttachmentNote {
    /// A note from what a provider says; control characters are dropped and the name is capped.
    pub fn new(name: &str, bytes: u64) -> Self {
        let name: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
        Self { name: if name.trim().is_empty() { "unnamed".into() } else { name }, bytes }
    }

    /// `[attachment: invoice.pdf (300 KB)]`, as the turn shows it.
    pub fn line(&self) -> String {
        let size = match self.bytes {
            b if b >= 1024 * 1024 => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
            b if b >= 1024 => format!("{} KB", b.div_ceil(1024)),
            b => format!("{b} B"),
        };
        format!("[attachment: {} ({size})]", self.name)
    }
}

impl InboundMessage {
    /// The text as the conversation shows it: what was written, then a line per attachment.
    pub fn turn_text(&self) -> String {
        let mut text = self.text.clone();
        for a in &self.attachments {
            text.push('\n');
            text.push_str(&a.line());
        }
        text
    }
}
