//! The tenant configuration as ops write it (`infra/tenants/*.yaml`).

use crate::domain::{Customer, Language, RolloutMode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Text per language.
pub type PerLanguage<T> = BTreeMap<Language, T>;

impl TenantConfig {
    /// Every secret in the configuration, with its field path, for resolving SSM references.
    pub fn secrets_mut(&mut self) -> Vec<(&'static str, &mut Secret)> {
        let mut out = Vec::new();
        if let Some(webchat) = self.channels.webchat.as_mut() {
            out.push(("channels.webchat.identity_secret", &mut webchat.identity_secret));
        }
        if let Some(twilio) = self.channels.twilio.as_mut() {
            out.push(("channels.twilio.auth_token", &mut twilio.auth_token));
        }
        if let Some(slack) = self.channels.slack.as_mut() {
            out.push(("channels.slack.signing_secret", &mut slack.signing_secret));
            out.push(("channels.slack.bot_token", &mut slack.bot_token));
        }
        if let Some(whatsapp) = self.channels.whatsapp.as_mut() {
            out.push(("channels.whatsapp.app_secret", &mut whatsapp.app_secret));
            out.push(("channels.whatsapp.verify_token", &mut whatsapp.verify_token));
            out.push(("channels.whatsapp.access_token", &mut whatsapp.access_token));
        }
        if let Some(email) = self.channels.email.as_mut() {
            out.push(("channels.email.inbound_password", &mut email.inbound_password));
            out.push(("channels.email.server_token", &mut email.server_token));
        }
        if let Some(telegram) = self.channels.telegram.as_mut() {
            out.push(("channels.telegram.bot_token", &mut telegram.bot_token));
            out.push(("channels.telegram.secret_token", &mut telegram.secret_token));
        }
        match &mut self.helpdesk {
            HelpdeskConfig::Console => {}
            HelpdeskConfig::Zendesk(z) => {
                out.push(("helpdesk.api_token", &mut z.api_token));
                out.push(("helpdesk.webhook_secret", &mut z.webhook_secret));
            }
            HelpdeskConfig::Freshdesk(f) => {
                out.push(("helpdesk.api_key", &mut f.api_key));
                out.push(("helpdesk.callback_secret", &mut f.callback_secret));
            }
            HelpdeskConfig::Hubspot(h) => {
                out.push(("helpdesk.access_token", &mut h.access_token));
                out.push(("helpdesk.client_secret", &mut h.client_secret));
            }
            HelpdeskConfig::Slack(s) => {
                out.push(("helpdesk.bot_token", &mut s.bot_token));
                out.push(("helpdesk.signing_secret", &mut s.signing_secret));
            }
            HelpdeskConfig::SlackWebhook(s) => out.push(("helpdesk.url", &mut s.url)),
            HelpdeskConfig::Webhook(w) => out.push(("helpdesk.secret", &mut w.secret)),
        }
        out
    }
}

/// One business's configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// The tenant id, also the first part of every storage key.
    pub id: String,
    /// The business's name, as templates show it.
    pub name: String,
    /// The language to answer in when the customer's is not one of `languages`.
    pub default_language: Language,
    /// The languages the tenant has examples, templates and FAQ in.
    pub languages: Vec<Language>,
    /// Channel settings.
    #[serde(default)]
    pub channels: ChannelsConfig,
    /// Where escalations go.
    #[serde(default)]
    pub helpdesk: HelpdeskConfig,
    /// Handoff settings: when the bot takes back, business hours, what tickets carry.
    #[serde(default)]
    pub handoff: HandoffConfig,
    /// Spending limits.
    #[serde(default)]
    pub budget: BudgetConfig,
    /// Classifier thresholds.
    #[serde(default)]
    pub classifier: ClassifierConfig,
    /// How answers are made.
    #[serde(default)]
    pub answers: AnswersConfig,
    /// Escalation rules.
    #[serde(default)]
    pub policy: PolicyRules,
    /// How far the bot may act, per intent.
    #[serde(default)]
    pub rollout: RolloutConfig,
    /// Fixed messages of the bot.
    pub messages: Messages,
    /// The intent catalogue.
    pub intents: Vec<IntentConfig>,
    /// Knowledge base the bot answers from, word for word.
    #[serde(default)]
    pub faq: Vec<FaqEntry>,
    /// Words that come from the shop's systems (an order's status), each as every language says
    /// it: a reply in Spanish says `enviado` whichever of the words the system stored.
    #[serde(default)]
    pub values: Vec<PerLanguage<String>>,
    /// Customer profiles to seed the customer store with (demo and local runs).
    #[serde(default)]
    pub customers: Vec<Customer>,
    /// What logs may contain.
    #[serde(default)]
    pub logging: LoggingConfig,
}

/// A secret: written in the file (demo and local runs only) or named as an SSM SecureString
/// parameter (`{ssm: /switchboard/acme/webchat-identity}`) that the AWS tenant directory resolves
/// before compiling. Never printed, never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Secret {
    /// The value itself.
    Value(String),
    /// The name of the SSM parameter holding it.
    Parameter {
        /// Parameter name.
        ssm: String,
    },
}

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self::Value(value.into())
    }

    /// The secret's bytes, for a MAC; empty while it is an unresolved parameter.
    pub fn expose(&self) -> &[u8] {
        match self {
            Secret::Value(v) => v.as_bytes(),
            Secret::Parameter { .. } => &[],
        }
    }

    /// The SSM parameter still to resolve, if any.
    pub fn parameter(&self) -> Option<&str> {
        match self {
            Secret::Parameter { ssm } => Some(ssm),
            Secret::Value(_) => None,
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Value(_) => f.write_str("Secret(***)"),
            Secret::Parameter { ssm } => write!(f, "Secret(ssm:{ssm})"),
        }
    }
}

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
    crate::channels::email::POSTMARK_AUTHSERV_ID.into()
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

fn slack_api() -> String {
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

/// Where escalations go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HelpdeskConfig {
    /// Printed on the console and listed at `/local/escalations` (local runs).
    #[default]
    Console,
    /// Zendesk Support: tickets through the API; agent replies through a signed webhook.
    Zendesk(ZendeskConfig),
    /// Freshdesk: tickets through the API; agent replies through an automation's webhook.
    Freshdesk(FreshdeskConfig),
    /// HubSpot: tickets associated with the contact; replies and closing through signed webhooks.
    Hubspot(HubspotConfig),
    /// A Slack channel of the team's: each escalation a message, agents answer in its thread.
    Slack(SlackHelpdeskConfig),
    /// A Slack incoming webhook: the team channel is told; agents answer elsewhere.
    SlackWebhook(SlackWebhookConfig),
    /// Anything else: a JSON POST signed with HMAC-SHA256; replies come back signed the same way.
    Webhook(WebhookConfig),
}

impl HelpdeskConfig {
    /// The helpdesk's name in ticket references, routes and logs.
    pub fn name(&self) -> &'static str {
        match self {
            HelpdeskConfig::Console => "console",
            HelpdeskConfig::Zendesk(_) => "zendesk",
            HelpdeskConfig::Freshdesk(_) => "freshdesk",
            HelpdeskConfig::Hubspot(_) => "hubspot",
            HelpdeskConfig::Slack(_) => "slack",
            HelpdeskConfig::SlackWebhook(_) => "slack_webhook",
            HelpdeskConfig::Webhook(_) => "webhook",
        }
    }
}

/// Zendesk Support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZendeskConfig {
    /// `https://{subdomain}.zendesk.com`.
    pub api_base: String,
    /// The integration user's e-mail (API token auth is `{email}/token:{token}`); comments by this
    /// user are our own and never come back as agent replies.
    pub email: String,
    /// The API token.
    pub api_token: Secret,
    /// The webhook's signing secret (`X-Zendesk-Webhook-Signature`).
    pub webhook_secret: Secret,
}

/// Freshdesk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreshdeskConfig {
    /// `https://{domain}.freshdesk.com`.
    pub api_base: String,
    /// The API key (Basic auth user, password `X`).
    pub api_key: Secret,
    /// The shared secret the automation rule sends in the `X-Switchboard-Secret` header.
    pub callback_secret: Secret,
}

/// HubSpot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubspotConfig {
    /// `https://api.hubapi.com`.
    #[serde(default = "default_hubspot_base")]
    pub api_base: String,
    /// A private app's access token (scope `tickets`).
    pub access_token: Secret,
    /// The app's client secret (`X-HubSpot-Signature-v3`).
    pub client_secret: Secret,
    /// The public URL HubSpot calls (`…/v1/{tenant}/helpdesk/hubspot`): the v3 signature covers it.
    pub callback_url: String,
    /// The ticket pipeline.
    #[serde(default = "default_hubspot_pipeline")]
    pub pipeline: String,
    /// The stage new tickets start in.
    #[serde(default = "default_hubspot_new_stage")]
    pub new_stage: String,
    /// Stages that mean solved: the bot takes the conversation back.
    #[serde(default = "default_hubspot_closed_stages")]
    pub closed_stages: Vec<String>,
    /// The ticket property (single-line text) holding our escalation id, so a retried escalation
    /// finds its ticket.
    #[serde(default = "default_hubspot_escalation_property")]
    pub escalation_property: String,
    /// The ticket property agents write their reply to the customer in.
    #[serde(default = "default_hubspot_reply_property")]
    pub reply_property: String,
}

fn default_hubspot_base() -> String {
    "https://api.hubapi.com".into()
}
fn default_hubspot_pipeline() -> String {
    "0".into()
}
fn default_hubspot_new_stage() -> String {
    "1".into()
}
fn default_hubspot_closed_stages() -> Vec<String> {
    vec!["4".into()]
}
fn default_hubspot_escalation_property() -> String {
    "switchboard_escalation".into()
}
fn default_hubspot_reply_property() -> String {
    "switchboard_reply".into()
}

/// A Slack channel as the helpdesk, through a Slack app of the business's (scopes `chat:write`,
/// `channels:history`, `reactions:read`; Events API subscriptions `message.channels` and
/// `reaction_added`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackHelpdeskConfig {
    /// The channel's ID (`C…`) escalations are posted in; events from other channels are ignored.
    pub channel: String,
    /// The app's bot token (`xoxb-…`).
    pub bot_token: Secret,
    /// The app's signing secret: every Events API request is signed with it.
    pub signing_secret: Secret,
    /// The reaction on an escalation's message that solves it.
    #[serde(default = "default_solved_reaction")]
    pub solved_reaction: String,
    /// The Web API base URL (tests point it at a stand-in).
    #[serde(default = "slack_api")]
    pub api_base: String,
}

fn default_solved_reaction() -> String {
    "white_check_mark".into()
}

/// A Slack incoming webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackWebhookConfig {
    /// `https://hooks.slack.com/services/…`: the URL is the secret.
    pub url: Secret,
}

/// A generic signed webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where escalations and comments are POSTed.
    pub url: String,
    /// The HMAC-SHA256 key of `X-Switchboard-Signature`, both ways.
    pub secret: Secret,
}

/// What happens around a handoff.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoffConfig {
    /// A human-owned conversation with no agent activity for this long goes back to the bot
    /// when the customer next writes; 0 never.
    #[serde(default = "default_release_after_hours")]
    pub release_after_hours: u32,
    /// A handoff whose ticket has not opened after this long goes back to the bot (the customer
    /// is told); a ticket that opens later still hands the conversation to a person.
    #[serde(default = "default_pending_timeout_minutes")]
    pub pending_timeout_minutes: u32,
    /// When people answer; the handoff notice says when a person will reply.
    #[serde(default)]
    pub business_hours: Option<BusinessHours>,
    /// What the agent's ticket may carry.
    #[serde(default)]
    pub share: ShareConfig,
}

fn default_release_after_hours() -> u32 {
    72
}

fn default_pending_timeout_minutes() -> u32 {
    15
}

impl Default for HandoffConfig {
    fn default() -> Self {
        Self {
            release_after_hours: default_release_after_hours(),
            pending_timeout_minutes: default_pending_timeout_minutes(),
            business_hours: None,
            share: ShareConfig::default(),
        }
    }
}

/// Opening hours in the business's time zone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// IANA time zone (`Europe/Madrid`).
    pub timezone: String,
    /// Hours per weekday (`mon: "09:00-18:00"`); a missing day is closed.
    pub weekly: BTreeMap<String, String>,
}

/// What of the customer the helpdesk ticket may carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareConfig {
    /// The recent transcript.
    #[serde(default = "yes")]
    pub transcript: bool,
    /// Profile highlights: tier, last order.
    #[serde(default = "yes")]
    pub profile: bool,
    /// The customer's name and e-mail as the ticket's requester.
    #[serde(default = "yes")]
    pub contact: bool,
}

impl Default for ShareConfig {
    fn default() -> Self {
        Self { transcript: true, profile: true, contact: true }
    }
}

/// Spending limits, and what the report compares spend with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// Monthly budget in US dollars; 0 means no budget set.
    #[serde(default)]
    pub monthly_usd: f64,
    /// The share of the budget past which the hosted model stops writing answers (0–1).
    #[serde(default = "default_soft_at")]
    pub soft_at: f64,
    /// What a conversation handled by a person costs the business, in US dollars: the report
    /// shows what the bot saved at this price (0: not shown).
    #[serde(default)]
    pub human_ticket_usd: f64,
}

fn default_soft_at() -> f64 {
    0.8
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self { monthly_usd: 0.0, soft_at: default_soft_at(), human_ticket_usd: 0.0 }
    }
}

/// Classifier thresholds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    /// Below this probability the message is out of scope (no intent).
    #[serde(default = "default_out_of_scope")]
    pub out_of_scope_below: f32,
    /// Below this local confidence the hosted model is asked.
    #[serde(default = "default_hosted_below")]
    pub hosted_below: f32,
    /// Hosted-model calls per hour for messages from anonymous web chat visitors (anyone on the
    /// internet can send those); past it the local model answers alone. Verified customers and
    /// provider channels are not counted.
    #[serde(default = "default_anonymous_model_calls")]
    pub anonymous_model_calls_per_hour: u32,
}

fn default_anonymous_model_calls() -> u32 {
    200
}

fn default_out_of_scope() -> f32 {
    0.3
}
fn default_hosted_below() -> f32 {
    0.6
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            out_of_scope_below: default_out_of_scope(),
            hosted_below: default_hosted_below(),
            anonymous_model_calls_per_hour: default_anonymous_model_calls(),
        }
    }
}

/// How answers are made.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswersConfig {
    /// When no template or FAQ entry answers word for word, let the hosted model write an answer
    /// from the closest FAQ entries and the customer's profile (grounded: it may only use them).
    #[serde(default)]
    pub generate_with_model: bool,
    /// How many FAQ entries the model sees.
    #[serde(default = "default_context_entries")]
    pub context_entries: usize,
}

fn default_context_entries() -> usize {
    3
}

impl Default for AnswersConfig {
    fn default() -> Self {
        Self { generate_with_model: false, context_entries: default_context_entries() }
    }
}

/// Escalation rules: plain data that `policy::decide` applies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRules {
    /// Intents that always go to a human.
    #[serde(default)]
    pub escalate_intents: Vec<String>,
    /// Escalate when the customer asks for a person.
    #[serde(default = "yes")]
    pub escalate_on_human_request: bool,
    /// Escalate when sentiment is at or below this score (-1..=0).
    #[serde(default = "default_negative")]
    pub negative_sentiment_at_or_below: f32,
    /// Escalate when the customer says it is urgent.
    #[serde(default = "yes")]
    pub escalate_on_high_urgency: bool,
    /// Without a grounded FAQ answer, escalate when confidence is below this.
    #[serde(default = "default_min_confidence")]
    pub min_confidence: f32,
    /// Customer tiers treated as VIP.
    #[serde(default)]
    pub vip_tiers: Vec<String>,
    /// Intents that count as a complaint for the VIP rule.
    #[serde(default)]
    pub complaint_intents: Vec<String>,
    /// Escalate when the customer sends the same intent this many times in a row (0: never).
    #[serde(default = "default_repeat_limit")]
    pub repeat_limit: u32,
}

fn yes() -> bool {
    true
}
/// Sentiment at or below which a message escalates unless the tenant says otherwise.
pub const DEFAULT_NEGATIVE_SENTIMENT_AT_OR_BELOW: f32 = -0.5;

fn default_negative() -> f32 {
    DEFAULT_NEGATIVE_SENTIMENT_AT_OR_BELOW
}
fn default_min_confidence() -> f32 {
    0.5
}
fn default_repeat_limit() -> u32 {
    3
}

impl Default for PolicyRules {
    fn default() -> Self {
        Self {
            escalate_intents: Vec::new(),
            escalate_on_human_request: true,
            negative_sentiment_at_or_below: default_negative(),
            escalate_on_high_urgency: true,
            min_confidence: default_min_confidence(),
            vip_tiers: Vec::new(),
            complaint_intents: Vec::new(),
            repeat_limit: default_repeat_limit(),
        }
    }
}

/// How far the bot may act, per intent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutConfig {
    /// The mode of intents not listed (and of out-of-scope messages).
    #[serde(default)]
    pub default: RolloutMode,
    /// Per-intent modes.
    #[serde(default)]
    pub intents: BTreeMap<String, RolloutMode>,
}

impl RolloutConfig {
    /// The mode for `intent`.
    pub fn mode(&self, intent: Option<&str>) -> RolloutMode {
        intent.and_then(|i| self.intents.get(i).copied()).unwrap_or(self.default)
    }
}

/// Fixed messages of the bot, each a template per language.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Messages {
    /// Told to the customer when a human takes over.
    pub handoff: PerLanguage<String>,
    /// Told to the customer when the handoff failed (the helpdesk refused the ticket, or it did
    /// not open in time) and the bot takes the conversation back. Built-in texts otherwise.
    #[serde(default)]
    pub handoff_failed: PerLanguage<String>,
}

/// One intent of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentConfig {
    /// Its name (`order_status`).
    pub name: String,
    /// What it means, for people and the hosted model.
    pub description: String,
    /// Example customer messages per language: the local model's training data.
    pub examples: PerLanguage<Vec<String>>,
    /// The answer template per language. Without one, the bot answers from the FAQ.
    #[serde(default)]
    pub reply: PerLanguage<String>,
}

/// One knowledge-base entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqEntry {
    /// Stable id.
    pub id: String,
    /// The entry's language.
    pub language: Language,
    /// The question it answers.
    pub question: String,
    /// The answer, sent word for word.
    pub answer: String,
    /// Other words customers use for it.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Intents it answers; empty means any.
    #[serde(default)]
    pub intents: Vec<String>,
}

/// What logs may contain.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingConfig {
    /// Log each customer message's text and sender address, one line per message handled
    /// (off: they are personal data and never logged).
    #[serde(default)]
    pub include_personal_data: bool,
}
