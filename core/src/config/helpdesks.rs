//! The helpdesk a tenant's escalations go to.

use super::Secret;
use super::channels::slack_api;
use serde::{Deserialize, Serialize};

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
