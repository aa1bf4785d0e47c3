//! Delivering answers on the customer's channel through the provider's send API, one part at a
//! time (the responder splits with [`super::parts`] and marks each part as the provider accepts
//! it): 429 waits for `Retry-After`, other refusals are permanent.
//!
//! A send whose answer is lost (a timeout after the request was written, a 5xx) may have gone
//! through. Where the provider lets us ask, we ask before sending again — Twilio's message list,
//! Slack's thread with our key in the message metadata, Postmark's outbound search by our key in
//! the message metadata — and the same lookup runs first when the message is redelivered after
//! an attempt. Telegram and WhatsApp offer no way to know: there a lost answer is retried, so the
//! customer may, rarely, get a part twice rather than never (docs/design.md).

use super::slack;
use crate::http::HttpClient;
use async_trait::async_trait;
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use switchboard_core::domain::Channel;
use switchboard_core::ports::{ChannelSender, Outbound, PortError};
use switchboard_engine::tenant::TenantDirectory;
use switchboard_engine::tenant::{EmailConfig, SlackConfig, TelegramConfig, TwilioConfig, WhatsappConfig};

/// The message metadata type Slack answers carry, with the part's key as payload.
const SLACK_ANSWER_METADATA: &str = "switchboard_answer";
/// The Postmark metadata field carrying the part's key.
const POSTMARK_KEY: &str = "switchboard_part";

/// Sends through whichever channel the conversation runs on, with the tenant's credentials.
pub struct ChannelRouter {
    tenants: Arc<dyn TenantDirectory>,
    http: HttpClient,
}

impl ChannelRouter {
    /// A router reading channel settings from `tenants`.
    pub fn new(tenants: Arc<dyn TenantDirectory>) -> Self {
        Self::with_http(tenants, HttpClient::new())
    }

    /// The same with a given HTTP client (tests use short timeouts).
    pub fn with_http(tenants: Arc<dyn TenantDirectory>, http: HttpClient) -> Self {
        Self { tenants, http }
    }
}

/// Sends at most once where the provider can be asked: an earlier attempt that may have gone
/// through is looked for first, and a send whose answer is lost is looked for before it is
/// tried once more.
async fn send_once<L, LF, S, SF>(maybe_sent: bool, lookup: L, send: S) -> Result<(), PortError>
where
    L: Fn() -> LF,
    LF: Future<Output = Result<bool, PortError>>,
    S: Fn() -> SF,
    SF: Future<Output = Result<(), PortError>>,
{
    if maybe_sent && lookup().await? {
        tracing::info!("an earlier attempt had sent this part; not sending it again");
        return Ok(());
    }
    match send().await {
        Err(lost @ PortError::Unavailable { .. }) => {
            if lookup().await.unwrap_or(false) {
                tracing::info!("the provider had accepted the part although its answer was lost");
                return Ok(());
            }
            tracing::warn!(error = %lost, "the part was not sent; trying once more");
            send().await
        }
        other => other,
    }
}

impl ChannelRouter {
    async fn twilio(&self, config: &TwilioConfig, to: &str, out: &Outbound<'_>) -> Result<(), PortError> {
        let from = if to.starts_with("whatsapp:") { config.whatsapp_from.as_ref() } else { config.from.as_ref() };
        let from = from.ok_or(PortError::Corrupt {
            port: "twilio",
            detail: "no sender number configured for this channel".into(),
        })?;
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            config.api_base.trim_end_matches('/'),
            config.account_sid
        );
        let token = String::from_utf8_lossy(config.auth_token.expose()).to_string();
        let auth = |h: reqwest::RequestBuilder| h.basic_auth(&config.account_sid, Some(&token));
        // Twilio's message list, filtered by To and From: the same text sent since the turn.
        let since = out.turn.at - chrono::Duration::minutes(1);
        let lookup = || async {
            let query = [("To", to), ("From", from.as_str()), ("PageSize", "50")];
            let page: Value =
                self.http.call("twilio", |h| auth(h.get(&url).query(&query))).await?.json().await.unwrap_or_default();
            Ok(page["messages"].as_array().is_some_and(|messages| {
                messages.iter().any(|m| {
                    let at = m["date_created"].as_str().and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok());
                    m["body"] == out.text && at.is_some_and(|at| at >= since)
                })
            }))
        };
        let send = || async {
            let form = [("To", to), ("From", from.as_str()), ("Body", out.text)];
            self.http.call_at_most_once("twilio", |h| auth(h.post(&url).form(&form))).await.map(|_| ())
        };
        send_once(out.maybe_sent, lookup, send).await
    }

    async fn telegram(&self, config: &TelegramConfig, chat_id: &str, out: &Outbound<'_>) -> Result<(), PortError> {
        let token = String::from_utf8_lossy(config.bot_token.expose()).to_string();
        let url = format!("{}/bot{token}/sendMessage", config.api_base.trim_end_matches('/'));
        let chat: Value = chat_id.parse::<i64>().map(Value::from).unwrap_or_else(|_| chat_id.into());
        let body = json!({"chat_id": chat, "text": out.text});
        let response = self.http.call("telegram", |http| http.post(&url).json(&body)).await?;
        let answer: Value = response.json().await.unwrap_or_default();
        if answer["ok"] != true {
            return Err(PortError::Corrupt { port: "telegram", detail: "sendMessage answered ok:false".into() });
        }
        Ok(())
    }

    /// Posts in the conversation's thread (`address` is `{channel}:{thread_ts}`), with the part's
    /// key as message metadata so a lost answer can be found in the thread.
    async fn slack(&self, config: &SlackConfig, address: &str, out: &Outbound<'_>) -> Result<(), PortError> {
        let (channel, thread) = address.split_once(':').unwrap_or((address, ""));
        let token = String::from_utf8_lossy(config.bot_token.expose()).to_string();
        let base = config.api_base.trim_end_matches('/');
        let key = out.key();
        let oldest = (out.turn.at.timestamp() - 60).to_string();
        let lookup = || async {
            let (method, query) = if thread.is_empty() {
                ("conversations.history", vec![("channel", channel), ("oldest", oldest.as_str())])
            } else {
                ("conversations.replies", vec![("channel", channel), ("ts", thread)])
            };
            let url = format!("{base}/{method}");
            let query = [query, vec![("include_all_metadata", "true"), ("limit", "200")]].concat();
            let answer = self.http.call("slack", |h| h.get(&url).bearer_auth(&token).query(&query)).await?;
            let page = slack::web_api_verdict(method, answer.json().await.unwrap_or_default())?;
            Ok(page["messages"].as_array().is_some_and(|messages| {
                messages.iter().any(|m| {
                    m["metadata"]["event_type"] == SLACK_ANSWER_METADATA
                        && m["metadata"]["event_payload"]["key"] == key.as_str()
                })
            }))
        };
        let send = || async {
            let url = format!("{base}/chat.postMessage");
            let mut body = json!({"channel": channel, "text": out.text, "unfurl_links": false,
                                  "metadata": {"event_type": SLACK_ANSWER_METADATA, "event_payload": {"key": key}}});
            if !thread.is_empty() {
                body["thread_ts"] = thread.into();
            }
            let response =
                self.http.call_at_most_once("slack", |h| h.post(&url).bearer_auth(&token).json(&body)).await?;
            // Slack answers 200 even when it refuses: the verdict is in the body.
            slack::web_api_verdict("chat.postMessage", response.json().await.unwrap_or_default()).map(|_| ())
        };
        send_once(out.maybe_sent, lookup, send).await
    }

    /// A text inside the 24-hour window; the tenant's template (once, for the first part)
    /// outside it.
    async fn whatsapp(
        &self,
        config: &WhatsappConfig,
        to: &str,
        out: &Outbound<'_>,
        window_open: bool,
    ) -> Result<(), PortError> {
        let token = String::from_utf8_lossy(config.access_token.expose()).to_string();
        let url = format!("{}/{}/messages", config.api_base.trim_end_matches('/'), config.phone_number_id);
        let body = if window_open {
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
                   "type": "text", "text": {"preview_url": false, "body": out.text}})
        } else {
            if out.part > 0 {
                return Ok(());
            }
            let template = config.window_template.as_ref().ok_or(PortError::Corrupt {
                port: "whatsapp",
                detail: "the 24-hour window is closed and no window_template is configured".into(),
            })?;
            json!({"messaging_product": "whatsapp", "to": to, "type": "template",
                   "template": {"name": template.name, "language": {"code": template.language}}})
        };
        self.http.call("whatsapp", |http| http.post(&url).bearer_auth(&token).json(&body)).await.map(|_| ())
    }

    /// An e-mail through Postmark, in the customer's thread when we know its `Message-ID`, with
    /// the part's key as metadata so a lost answer can be found by Postmark's outbound search.
    async fn email(
        &self,
        config: &EmailConfig,
        business: &str,
        to: &str,
        thread: Option<&str>,
        out: &Outbound<'_>,
    ) -> Result<(), PortError> {
        let token = String::from_utf8_lossy(config.server_token.expose()).to_string();
        let base = config.api_base.trim_end_matches('/');
        let key = out.key();
        let with_token = |h: reqwest::RequestBuilder| {
            h.header("X-Postmark-Server-Token", &token).header("Accept", "application/json")
        };
        let lookup = || async {
            let url = format!("{base}/messages/outbound");
            let filter = format!("metadata_{POSTMARK_KEY}");
            let query = [("recipient", to), ("count", "1"), ("offset", "0"), (filter.as_str(), key.as_str())];
            let found: Value = self
                .http
                .call("email", |h| with_token(h.get(&url).query(&query)))
                .await?
                .json()
                .await
                .unwrap_or_default();
            Ok(found["TotalCount"].as_u64().unwrap_or(0) > 0)
        };
        let send = || async {
            let url = format!("{base}/email");
            let mut body = json!({"From": config.from, "To": to, "Subject": format!("Re: your message to {business}"),
                                  "TextBody": out.text, "MessageStream": "outbound", "Metadata": {POSTMARK_KEY: key}});
            if let Some(thread) = thread {
                body["Headers"] =
                    json!([{"Name": "In-Reply-To", "Value": thread}, {"Name": "References", "Value": thread}]);
            }
            self.http.call_at_most_once("email", |h| with_token(h.post(&url).json(&body))).await.map(|_| ())
        };
        send_once(out.maybe_sent, lookup, send).await
    }
}

#[async_trait]
impl ChannelSender for ChannelRouter {
    async fn send(&self, outbound: Outbound<'_>) -> Result<(), PortError> {
        let conversation = outbound.conversation;
        if conversation.channel == Channel::Webchat {
            // The widget fetches stored turns.
            return Ok(());
        }
        let tenant = self
            .tenants
            .tenant(&conversation.tenant)
            .await?
            .ok_or(PortError::Corrupt { port: "channel sender", detail: "tenant is gone".into() })?;
        let channels = &tenant.config.channels;
        let missing =
            |name: &str| PortError::Corrupt { port: "channel sender", detail: format!("{name} is not configured") };
        let address = conversation.address.as_str();
        match conversation.channel {
            Channel::TwilioSms | Channel::TwilioWhatsapp => {
                self.twilio(channels.twilio.as_ref().ok_or_else(|| missing("twilio"))?, address, &outbound).await
            }
            Channel::Telegram => {
                self.telegram(channels.telegram.as_ref().ok_or_else(|| missing("telegram"))?, address, &outbound).await
            }
            Channel::WhatsappCloud => {
                let config = channels.whatsapp.as_ref().ok_or_else(|| missing("whatsapp"))?;
                let open = conversation
                    .last_inbound_at
                    .is_some_and(|at| conversation.channel.window_open(at, outbound.turn.at));
                self.whatsapp(config, address, &outbound, open).await
            }
            Channel::Email => {
                let config = channels.email.as_ref().ok_or_else(|| missing("email"))?;
                let thread = conversation.thread.as_deref();
                self.email(config, &tenant.config.name, address, thread, &outbound).await
            }
            Channel::Slack => {
                self.slack(channels.slack.as_ref().ok_or_else(|| missing("slack"))?, address, &outbound).await
            }
            other => Err(missing(other.as_str())),
        }
    }
}
