//! Delivering answers on the customer's channel through the provider's send API: split to the
//! provider's length limit, 429 retried after `Retry-After`, 5xx retried with backoff, other
//! refusals reported as permanent.

use super::{slack, telegram, twilio, whatsapp};
use crate::domain::Channel;
use crate::http::HttpClient;
use crate::ports::{ChannelSender, Outbound, PortError, TenantDirectory};
use crate::tenant::{EmailConfig, SlackConfig, TelegramConfig, TwilioConfig, WhatsappConfig};
use async_trait::async_trait;
use std::sync::Arc;

/// Sends through whichever channel the conversation runs on, with the tenant's credentials.
pub struct ChannelRouter {
    tenants: Arc<dyn TenantDirectory>,
    http: HttpClient,
}

impl ChannelRouter {
    /// A router reading channel settings from `tenants`.
    pub fn new(tenants: Arc<dyn TenantDirectory>) -> Self {
        Self { tenants, http: HttpClient::new() }
    }

    async fn twilio(&self, config: &TwilioConfig, to: &str, text: &str) -> Result<(), PortError> {
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
        for part in twilio::split(text, twilio::MAX_BODY_CHARS) {
            let form = [("To", to), ("From", from.as_str()), ("Body", part.as_str())];
            self.http
                .call("twilio", |http| http.post(&url).basic_auth(&config.account_sid, Some(&token)).form(&form))
                .await?;
        }
        Ok(())
    }

    async fn telegram(&self, config: &TelegramConfig, chat_id: &str, text: &str) -> Result<(), PortError> {
        let token = String::from_utf8_lossy(config.bot_token.expose()).to_string();
        let url = format!("{}/bot{token}/sendMessage", config.api_base.trim_end_matches('/'));
        let chat: serde_json::Value =
            chat_id.parse::<i64>().map(serde_json::Value::from).unwrap_or_else(|_| chat_id.into());
        for part in twilio::split(text, telegram::MAX_TEXT_CHARS) {
            let body = serde_json::json!({"chat_id": chat, "text": part});
            let response = self.http.call("telegram", |http| http.post(&url).json(&body)).await?;
            let answer: serde_json::Value = response.json().await.unwrap_or_default();
            if answer["ok"] != true {
                return Err(PortError::Corrupt { port: "telegram", detail: "sendMessage answered ok:false".into() });
            }
        }
        Ok(())
    }
}

impl ChannelRouter {
    /// Posts in the conversation's thread (`address` is `{channel}:{thread_ts}`).
    async fn slack(&self, config: &SlackConfig, address: &str, text: &str) -> Result<(), PortError> {
        let (channel, thread) = address.split_once(':').unwrap_or((address, ""));
        let token = String::from_utf8_lossy(config.bot_token.expose()).to_string();
        let url = format!("{}/chat.postMessage", config.api_base.trim_end_matches('/'));
        for part in twilio::split(text, slack::MAX_TEXT_CHARS) {
            let mut body = serde_json::json!({"channel": channel, "text": part, "unfurl_links": false});
            if !thread.is_empty() {
                body["thread_ts"] = thread.into();
            }
            let response = self.http.call("slack", |http| http.post(&url).bearer_auth(&token).json(&body)).await?;
            // Slack answers 200 even when it refuses: the verdict is in the body.
            slack::web_api_verdict("chat.postMessage", response.json().await.unwrap_or_default())?;
        }
        Ok(())
    }
}

impl ChannelRouter {
    /// A text inside the 24-hour window; the tenant's template outside it.
    async fn whatsapp(
        &self,
        config: &WhatsappConfig,
        to: &str,
        text: &str,
        window_open: bool,
    ) -> Result<(), PortError> {
        let token = String::from_utf8_lossy(config.access_token.expose()).to_string();
        let url = format!("{}/{}/messages", config.api_base.trim_end_matches('/'), config.phone_number_id);
        let bodies: Vec<serde_json::Value> = if window_open {
            twilio::split(text, whatsapp::MAX_TEXT_CHARS)
                .into_iter()
                .map(|part| {
                    serde_json::json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
                                       "type": "text", "text": {"preview_url": false, "body": part}})
                })
                .collect()
        } else {
            let template = config.window_template.as_ref().ok_or(PortError::Corrupt {
                port: "whatsapp",
                detail: "the 24-hour window is closed and no window_template is configured".into(),
            })?;
            vec![serde_json::json!({"messaging_product": "whatsapp", "to": to, "type": "template",
                                    "template": {"name": template.name, "language": {"code": template.language}}})]
        };
        for body in bodies {
            self.http.call("whatsapp", |http| http.post(&url).bearer_auth(&token).json(&body)).await?;
        }
        Ok(())
    }
}

impl ChannelRouter {
    /// An e-mail through Postmark, in the customer's thread when we know its `Message-ID`.
    async fn email(
        &self,
        config: &EmailConfig,
        business: &str,
        to: &str,
        thread: Option<&str>,
        text: &str,
    ) -> Result<(), PortError> {
        let token = String::from_utf8_lossy(config.server_token.expose()).to_string();
        let url = format!("{}/email", config.api_base.trim_end_matches('/'));
        let mut body = serde_json::json!({"From": config.from, "To": to, "Subject": format!("Re: your message to {business}"),
                                          "TextBody": text, "MessageStream": "outbound"});
        if let Some(thread) = thread {
            body["Headers"] =
                serde_json::json!([{"Name": "In-Reply-To", "Value": thread}, {"Name": "References", "Value": thread}]);
        }
        self.http
            .call("email", |http| {
                http.post(&url)
                    .header("X-Postmark-Server-Token", &token)
                    .header("Accept", "application/json")
                    .json(&body)
            })
            .await?;
        Ok(())
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
        let text = &outbound.turn.text;
        match conversation.channel {
            Channel::TwilioSms | Channel::TwilioWhatsapp => {
                self.twilio(channels.twilio.as_ref().ok_or_else(|| missing("twilio"))?, &conversation.address, text)
                    .await
            }
            Channel::Telegram => {
                self.telegram(
                    channels.telegram.as_ref().ok_or_else(|| missing("telegram"))?,
                    &conversation.address,
                    text,
                )
                .await
            }
            Channel::WhatsappCloud => {
                let config = channels.whatsapp.as_ref().ok_or_else(|| missing("whatsapp"))?;
                let open = conversation
                    .last_inbound_at
                    .is_some_and(|at| outbound.turn.at - at <= chrono::Duration::hours(whatsapp::SERVICE_WINDOW_HOURS));
                self.whatsapp(config, &conversation.address, text, open).await
            }
            Channel::Email => {
                let config = channels.email.as_ref().ok_or_else(|| missing("email"))?;
                self.email(config, &tenant.config.name, &conversation.address, conversation.thread.as_deref(), text)
                    .await
            }
            Channel::Slack => {
                self.slack(channels.slack.as_ref().ok_or_else(|| missing("slack"))?, &conversation.address, text).await
            }
            other => Err(missing(other.as_str())),
        }
    }
}
