//! Each channel's settings in a tenant's file.

use super::Secret;
use serde::{Deserialize, Serialize};

/// Channel settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelsConfig {
    /// Our web chat; `None` turns it off.
    #[serde(default)]
    pub webchat: Option<WebchatConfig>,
    /// Twilio SMS and WhatsApp.
    #[serde(default)]
    pub twilio: Option<TwilioConfig>,
    /// A Telegram bot.
    #[serde(default)]
    pub telegram: Option<TelegramConfig>,
    /// The business's Slack workspace as a support channel.
    #[serde(default)]
    pub slack: Option<SlackConfig>,
    /// Meta's WhatsApp Cloud API.
    #[serde(default)]
    pub whatsapp: Option<WhatsappConfig>,
    /// E-mail through Postmark (inbound webhook and outbound API).
    #[serde(default)]
    pub email: Option<EmailConfig>,
}

/// E-mail settings (Postmark).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The Basic-auth user in the inbound webhook URL.
    pub inbound_user: String,
    /// The Basic-auth password in the inbound webhook URL.
    pub inbound_password: Secret,
    /// The Postmark server token answers are sent with.
    pub server_token: Secret,
    /// The support address answers come from (mail from it is never answered: no loops).
    pub from: String,
    /// The Postmark API base URL (tests point it at a stand-in).
    #[serde(default = "postmark_api")]
    pub api_base: String,
    /// SNS topics an SES receipt rule publishes this tenant's mail to (`/v1/{tenant}/email/ses`);
    /// messages from any other topic are refused.
    #[serde(default)]
    pub ses_topics: Vec<String>,
    /// The authserv-id of the server that receives this tenant's mail before Postmark's webhook:
    /// only its `Authentication-Results` (and a `Received-SPF` naming it as the receiver)
    /// authenticate a sender. Postmark's inbound servers unless the tenant's mail passes through
    /// its own receiver first.
    #[serde(default = "postmark_authserv_id")]
    pub authserv_id: String,
}

fn postmark_authserv_id() -> String {
    super::POSTMARK_AUTHSERV_ID.into()
}

fn postmark_api() -> String {
    "https://api.postmarkapp.com".into()
}

/// WhatsApp Cloud API settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappConfig {
    /// The Meta app's secret: signs every webhook POST.
    pub app_secret: Secret,
    /// The token Meta echoes in the subscription check.
    pub verify_token: Secret,
    /// The system-user access token answers are sent with.
    pub access_token: Secret,
    /// The business phone number's id.
    pub phone_number_id: String,
    /// The approved template sent when the 24-hour window has closed; without one, such an
    /// answer fails loudly (and the message is retried, then parked) instead of vanishing.
    #[serde(default)]
    pub window_template: Option<WhatsappTemplate>,
    /// The Graph API base URL with version (tests point it at a stand-in).
    #[serde(default = "graph_api")]
    pub api_base: String,
}

/// An approved WhatsApp message template.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappTemplate {
    /// Template name.
    pub name: String,
    /// Template language code (`en_US`...).
    pub language: String,
}

fn graph_api() -> String {
    "https://graph.facebook.com/v21.0".into()
}

/// Slack settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The app's signing secret: every Events API request is signed with it.
    pub signing_secret: Secret,
    /// The bot token (`xoxb-…`) answers are posted with.
    pub bot_token: Secret,
    /// The Web API base URL (tests point it at a stand-in).
    #[serde(default = "slack_api")]
    pub api_base: String,
}

pub(super) fn slack_api() -> String {
    "https://slack.com/api".into()
}

/// Twilio settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    /// The account (`AC…`).
    pub account_sid: String,
    /// The account's primary auth token: signs webhooks, authenticates sends.
    pub auth_token: Secret,
    /// The exact public URL Twilio calls (`https://…/v1/{tenant}/twilio`): signatures cover it.
    pub public_url: String,
    /// The SMS number answers are sent from (E.164).
    #[serde(default)]
    pub from: Option<String>,
    /// The WhatsApp sender (`whatsapp:+E164`).
    #[serde(default)]
    pub whatsapp_from: Option<String>,
    /// The Messages API base URL (tests point it at a stand-in).
    #[serde(default = "twilio_api")]
    pub api_base: String,
}

fn twilio_api() -> String {
    "https://api.twilio.com".into()
}

/// Telegram settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The bot token from BotFather.
    pub bot_token: Secret,
    /// The `secret_token` given to `setWebhook`; every webhook carries it.
    pub secret_token: Secret,
    /// The Bot API base URL (tests point it at a stand-in).
    #[serde(default = "telegram_api")]
    pub api_base: String,
}

fn telegram_api() -> String {
    "https://api.telegram.org".into()
}

/// Web chat settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebchatConfig {
    /// Key of the identity signature: the tenant's site signs `customer_id` with it
    /// (hex HMAC-SHA256) so only a logged-in customer unlocks their profile.
    pub identity_secret: Secret,
    /// Longest message accepted, in characters.
    #[serde(default = "default_max_chars")]
    pub max_message_chars: usize,
    /// The sites whose pages may call the web chat from a browser (CORS), each an origin:
    /// `https://shop.example`, or `http://localhost:*` for any port of a host. Empty: only
    /// callers that are not browsers on another site (the API's own origin, servers).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Accept the older identity form without `expires` (an HMAC of the bare customer id, valid
    /// for ever) while the tenant's site moves to the expiring one. Off unless turned on.
    #[serde(default)]
    pub accept_unexpiring_identity: bool,
}

impl WebchatConfig {
    /// Whether a page from `origin` (a request's `Origin` header) may call the web chat.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| origin_matches(allowed, origin))
    }
}

/// Whether `origin` (`scheme://host[:port]`) is `pattern`: the same origin, or with `:*` any port
/// of that scheme and host.
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    match pattern.strip_suffix(":*") {
        Some(host) => origin
            .strip_prefix(host)
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|port| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit())),
        None => pattern.eq_ignore_ascii_case(origin),
    }
}

/// Whether `origin` is an origin a tenant may list: a scheme, a host, an optional port (or `*`),
/// nothing more.
pub fn is_origin_pattern(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else { return false };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    matches!(scheme, "https" | "http")
        && !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && port.is_none_or(|p| p == "*" || (!p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit())))
}

fn default_max_chars() -> usize {
    2000
}
