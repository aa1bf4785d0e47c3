//! The tenant configuration as ops write it (`infra/tenants/*.yaml`).

use super::{ChannelsConfig, DataConfig, HelpdeskConfig};
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
        if let Some(shopify) = self.data.shopify.as_mut() {
            out.push(("data.shopify.webhook_secret", &mut shopify.webhook_secret));
        }
        if let Some(woo) = self.data.woocommerce.as_mut() {
            out.push(("data.woocommerce.webhook_secret", &mut woo.webhook_secret));
        }
        if let Some(orders) = self.data.lookups.orders.as_mut() {
            if let Some(secret) = orders.secret.as_mut() {
                out.push(("data.lookups.orders.secret", secret));
            }
            if let Some(token) = orders.shopify_access_token.as_mut() {
                out.push(("data.lookups.orders.shopify_access_token", token));
            }
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
    /// How the business's systems write customer data: data API keys, shop webhooks.
    #[serde(default)]
    pub data: DataConfig,
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
    /// What counts toward `monthly_usd` (default `all`).
    #[serde(default)]
    pub counts: BudgetCounts,
    /// What stops at the soft line (default `generation`). At the budget itself the hosted
    /// model stops altogether; templates, the FAQ and people never stop.
    #[serde(default)]
    pub at_soft_line: SoftLineStops,
    /// A hard monthly cap, in US dollars, on what sends over channels that bill per message
    /// cost (SMS and WhatsApp through Twilio, e-mail); 0: none. Past it the bot answers there no
    /// more: each conversation goes to a person with one handoff notice (docs/costs.md).
    #[serde(default)]
    pub paid_sends_usd: f64,
}

impl BudgetConfig {
    /// `monthly_usd` in nano-dollars (0: no budget).
    pub fn limit_nanos(&self) -> u64 {
        (self.monthly_usd * 1e9).round() as u64
    }

    /// `paid_sends_usd` in nano-dollars (0: no cap).
    pub fn paid_sends_cap_nanos(&self) -> u64 {
        (self.paid_sends_usd * 1e9).round() as u64
    }
}

/// What counts toward a budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetCounts {
    /// Everything the ledger records: AWS and the channel providers' fees.
    #[default]
    All,
    /// AWS only: channel fees are capped by `paid_sends_usd` instead, so SMS traffic cannot
    /// switch the hosted model off.
    Aws,
}

/// What stops when spend passes the soft line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SoftLineStops {
    /// The hosted model stops writing answers; it still classifies.
    #[default]
    Generation,
    /// The hosted model stops altogether, as at the budget.
    HostedModel,
    /// Nothing: the soft line only alerts.
    Nothing,
}

fn default_soft_at() -> f64 {
    0.8
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            monthly_usd: 0.0,
            soft_at: default_soft_at(),
            human_ticket_usd: 0.0,
            counts: BudgetCounts::default(),
            at_soft_line: SoftLineStops::default(),
            paid_sends_usd: 0.0,
        }
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
    /// The same, per intent, where the tenant (or `switchboard forecast`) set one: an intent
    /// whose answers must be surer than the rest.
    #[serde(default)]
    pub intent_min_confidence: BTreeMap<String, f32>,
    /// Customer tiers treated as VIP.
    #[serde(default)]
    pub vip_tiers: Vec<String>,
    /// Intents that count as a complaint for the VIP rule.
    #[serde(default)]
    pub complaint_intents: Vec<String>,
    /// Escalate when the customer sends the same intent this many times in a row (0: never).
    #[serde(default = "default_repeat_limit")]
    pub repeat_limit: u32,
    /// Hand over when the customer rates the bot's answer 👎.
    #[serde(default = "yes")]
    pub escalate_on_down_rating: bool,
}

fn yes() -> bool {
    true
}

impl PolicyRules {
    /// The confidence below which the classifier counts as unsure of `intent`.
    pub fn min_confidence_for(&self, intent: Option<&str>) -> f32 {
        intent.and_then(|i| self.intent_min_confidence.get(i).copied()).unwrap_or(self.min_confidence)
    }
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
            intent_min_confidence: BTreeMap::new(),
            vip_tiers: Vec::new(),
            complaint_intents: Vec::new(),
            repeat_limit: default_repeat_limit(),
            escalate_on_down_rating: true,
        }
    }
}

/// How far the bot may act, per intent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutConfig {
    /// The mode of intents not listed (and of out-of-scope messages).
    #[serde(default)]
    pub default: RolloutMode,
    /// Per-intent modes.
    #[serde(default)]
    pub intents: BTreeMap<String, RolloutMode>,
    /// The share (0 to 1) of messages in `shadow` and `assist` intents kept for the business to
    /// review (docs/rollout.md).
    #[serde(default = "review_share")]
    pub review_share: f64,
}

fn review_share() -> f64 {
    0.25
}

impl Default for RolloutConfig {
    fn default() -> Self {
        Self { default: RolloutMode::default(), intents: BTreeMap::new(), review_share: review_share() }
    }
}

impl RolloutConfig {
    /// The mode for `intent`.
    pub fn mode(&self, intent: Option<&str>) -> RolloutMode {
        intent.and_then(|i| self.intents.get(i).copied()).unwrap_or(self.default)
    }

    /// Whether message `id` is among the share kept for review: the same answer for the same
    /// message on every build (SHA-256, fixed by its standard, where the standard library's
    /// hasher may change between releases; and evenly spread even for ids that differ in one
    /// character), so a redelivery after a deploy is sampled alike.
    pub fn reviews(&self, id: &crate::domain::MessageId) -> bool {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(id.as_str().as_bytes());
        let mut head = [0u8; 8];
        head.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(head) as f64 / u64::MAX as f64) < self.review_share
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Intents it answers; empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<String>,
    /// Where the business publishes it (a help-centre article): an answer from this entry ends
    /// with the link, so the customer can read the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
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
