//! Provider webhooks: `/v1/{tenant}/{channel}`. Each verifies the provider's proof over the raw
//! body, parses, and hands customer messages to the same inbound half as the web chat, then
//! answers with the ack the provider expects. Refused requests store and enqueue nothing.

use super::webchat::Api;
use super::{ApiError, RequestId};
use crate::channels::slack::SlackRequest;
use crate::channels::{Incoming, email, identity_of, slack, sns, telegram, twilio, whatsapp};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::sync::Arc;
use switchboard_core::domain::{Channel, Conversation, InboundMessage, MessageId, Sender};
use switchboard_engine::tenant::Tenant;
use tracing::Instrument;

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Queues one verified customer message on the address's conversation, within the tenant's
/// limit for the channel (anyone can text or mail a business: a flood on one channel is refused
/// for that channel alone), before anything is read or written.
async fn accept(
    api: &Api,
    tenant: &Tenant,
    channel: Channel,
    incoming: Incoming,
    request_id: &str,
) -> Result<(), ApiError> {
    let now = api.clock.now();
    let source = switchboard_engine::limits::Source { tenant: &tenant.id, channel, visitor: None, signed_in: false };
    api.limits.admit(source, 1, now).await?;
    let conversation = api.key.channel_conversation(&tenant.id, channel, &incoming.address);
    let new_conversation = match api.conversations.conversation(&tenant.id, &conversation).await? {
        Some(_) => None,
        None => {
            Some(Conversation::new(conversation.clone(), tenant.id.clone(), channel, incoming.address.clone(), now))
        }
    };
    // The tenant's own records say who owns this phone or address: that is the proof a channel
    // gives, as a verified identity is for the web chat.
    let customer = match identity_of(channel, &incoming.address).filter(|_| !incoming.unverified) {
        Some(identity) => api.customers.customer_for(&tenant.id, &identity).await?,
        None => None,
    };
    let message = InboundMessage {
        id: MessageId::generate(),
        tenant: tenant.id.clone(),
        channel,
        provider_message_id: incoming.provider_message_id,
        conversation,
        sender: Sender { address: incoming.address, customer, unverified: incoming.unverified },
        text: incoming.text,
        received_at: now,
        request_id: request_id.to_string(),
        thread: incoming.thread,
        attachments: incoming.attachments,
    };
    api.inbound.accept(message, new_conversation).await?;
    Ok(())
}

/// What a channel's verification and parsing produced: the customer messages to queue and the
/// ack the provider expects.
type Verified = (Vec<(Channel, Incoming)>, Response);

/// The steps every provider webhook shares: read the body (size-limited), find the tenant, let
/// the channel verify and parse, queue each customer message, ack. `verify_and_parse` sees the
/// tenant and the raw body; anything it refuses is answered with its status and stores nothing.
async fn webhook(
    api: &Api,
    tenant: &str,
    request_id: &str,
    channel: &'static str,
    body: Result<Bytes, BytesRejection>,
    verify_and_parse: impl FnOnce(&Tenant, &[u8]) -> Result<Verified, ApiError>,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("webhook", request_id = %request_id, tenant = %tenant, channel);
    async move {
        let body = body.map_err(ApiError::body)?;
        let tenant = api.tenant(tenant).await?;
        let (messages, ack) = verify_and_parse(&tenant, &body)?;
        // A message the signed body dates further back than any redelivery is a replay.
        let oldest = api.clock.now() - crate::channels::REPLAY_WINDOW;
        let (messages, stale): (Vec<_>, Vec<_>) =
            messages.into_iter().partition(|(_, m)| m.sent_at.is_none_or(|at| at >= oldest));
        if !stale.is_empty() {
            tracing::warn!(count = stale.len(), "messages sent before the replay window: acknowledged, skipped");
        }
        let count = messages.len();
        // All or nothing for the provider: on a failure it redelivers the whole delivery, and the
        // idempotency claims turn the messages already queued into no-ops.
        for (channel, incoming) in messages {
            accept(api, &tenant, channel, incoming, request_id).await?;
        }
        if count > 0 {
            tracing::info!(count, "messages accepted");
        }
        Ok(ack)
    }
    .instrument(span)
    .await
}

/// Whether a signed message is for this tenant; a message that is not is logged (no ids: they
/// are another tenant's) and skipped, acknowledged so the provider does not retry it.
fn addressed_here(ours: bool, channel: &'static str) -> bool {
    if !ours {
        tracing::warn!(channel, "a signed message addressed to another number or account: acknowledged, skipped");
    }
    ours
}

fn ok() -> Response {
    StatusCode::OK.into_response()
}

/// `POST /v1/{tenant}/twilio`: SMS and WhatsApp through Twilio.
pub(super) async fn twilio_webhook(
    State(api): State<Arc<Api>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    webhook(&api, &tenant, &request_id, "twilio", body, |tenant, body| {
        let config = tenant.config.channels.twilio.as_ref().ok_or_else(ApiError::unknown_tenant)?;
        let json = header_str(&headers, "content-type").is_some_and(|c| c.starts_with("application/json"));
        let form = if json { Vec::new() } else { twilio::form(body)? };
        // Twilio signs the URL it called, query string as sent.
        let url = match uri.query() {
            Some(q) if !config.public_url.contains('?') => format!("{}?{q}", config.public_url),
            _ => config.public_url.clone(),
        };
        twilio::verify(config.auth_token.expose(), &url, &form, body, header_str(&headers, "x-twilio-signature"))?;
        // The signature proves Twilio, not the tenant (tenants may share an account): a message
        // for another account or number is acknowledged and skipped.
        let account = form.iter().find(|(k, _)| k == "AccountSid").map(|(_, v)| v.trim());
        let ours = |m: &Incoming| {
            let to = m.recipient.as_deref().unwrap_or_default();
            let number =
                if to.starts_with("whatsapp:") { config.whatsapp_from.as_deref() } else { config.from.as_deref() };
            account.is_none_or(|a| a == config.account_sid) && number.is_none_or(|n| n == to)
        };
        let messages = twilio::parse(&form)?.filter(|m| addressed_here(ours(m), "twilio")).map(|m| {
            let channel = if m.address.starts_with("whatsapp:") { Channel::TwilioWhatsapp } else { Channel::TwilioSms };
            (channel, m)
        });
        Ok((
            messages.into_iter().collect(),
            ([(header::CONTENT_TYPE, "text/xml")], twilio::EMPTY_TWIML).into_response(),
        ))
    })
    .await
}

/// `POST /v1/{tenant}/telegram`: a Telegram bot's webhook.
pub(super) async fn telegram_webhook(
    State(api): State<Arc<Api>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    webhook(&api, &tenant, &request_id, "telegram", body, |tenant, body| {
        let config = tenant.config.channels.telegram.as_ref().ok_or_else(ApiError::unknown_tenant)?;
        telegram::verify(config.secret_token.expose(), header_str(&headers, "x-telegram-bot-api-secret-token"))?;
        Ok((telegram::parse(body)?.map(|m| (Channel::Telegram, m)).into_iter().collect(), ok()))
    })
    .await
}

/// `POST /v1/{tenant}/slack`: Slack Events API. Slack's retries (`X-Slack-Retry-Num`) carry the
/// same `event_id`, which the idempotency claim answers with the first ack.
pub(super) async fn slack_webhook(
    State(api): State<Arc<Api>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let now = api.clock.now();
    webhook(&api, &tenant, &request_id, "slack", body, |tenant, body| {
        let config = tenant.config.channels.slack.as_ref().ok_or_else(ApiError::unknown_tenant)?;
        let (timestamp, signature) =
            (header_str(&headers, "x-slack-request-timestamp"), header_str(&headers, "x-slack-signature"));
        slack::verify(config.signing_secret.expose(), timestamp, signature, body, now)?;
        Ok(match slack::parse(body)? {
            SlackRequest::UrlVerification(challenge) => {
                (Vec::new(), ([(header::CONTENT_TYPE, "text/plain")], challenge).into_response())
            }
            SlackRequest::Message(m) => (vec![(Channel::Slack, m)], ok()),
            SlackRequest::Skip => (Vec::new(), ok()),
        })
    })
    .await
}

/// `POST /v1/{tenant}/email`: Postmark's inbound webhook (Basic auth in the URL).
pub(super) async fn email_webhook(
    State(api): State<Arc<Api>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    webhook(&api, &tenant, &request_id, "email", body, |tenant, body| {
        let config = tenant.config.channels.email.as_ref().ok_or_else(ApiError::unknown_tenant)?;
        email::verify(&config.inbound_user, config.inbound_password.expose(), header_str(&headers, "authorization"))?;
        Ok((
            email::parse(body, &config.from, &config.authserv_id)?.map(|m| (Channel::Email, m)).into_iter().collect(),
            ok(),
        ))
    })
    .await
}

/// `GET /v1/{tenant}/whatsapp`: Meta's subscription check.
pub(super) async fn whatsapp_challenge(
    State(api): State<Arc<Api>>,
    Path(tenant): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let tenant = api.tenant(&tenant).await?;
    let config = tenant.config.channels.whatsapp.as_ref().ok_or_else(ApiError::unknown_tenant)?;
    match whatsapp::challenge(uri.query().unwrap_or_default(), config.verify_token.expose()) {
        Ok(challenge) => Ok(([(header::CONTENT_TYPE, "text/plain")], challenge).into_response()),
        Err(crate::channels::ChannelError::Unauthorized(_)) => {
            Err(ApiError::forbidden("hub.verify_token does not match"))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /v1/{tenant}/whatsapp`: WhatsApp Cloud API notifications (possibly batched).
pub(super) async fn whatsapp_webhook(
    State(api): State<Arc<Api>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    webhook(&api, &tenant, &request_id, "whatsapp_cloud", body, |tenant, body| {
        let config = tenant.config.channels.whatsapp.as_ref().ok_or_else(ApiError::unknown_tenant)?;
        whatsapp::verify(config.app_secret.expose(), header_str(&headers, "x-hub-signature-256"), body)?;
        // One Meta app may serve several tenants' numbers, all signed with its one secret: only
        // messages to this tenant's number are its own.
        let messages = whatsapp::parse(body)?
            .into_iter()
            .filter(|m| {
                addressed_here(m.recipient.as_deref() == Some(config.phone_number_id.as_str()), "whatsapp_cloud")
            })
            .map(|m| (Channel::WhatsappCloud, m));
        Ok((messages.collect(), ok()))
    })
    .await
}

/// `POST /v1/{tenant}/email/ses`: mail received by Amazon SES, published to SNS, delivered here.
/// Subscription confirmations are verified, then confirmed; notifications are verified, then
/// read as mail.
pub(super) async fn ses_webhook(
    State(api): State<Arc<Api>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("webhook", request_id = %request_id, tenant = %tenant, channel = "email_ses");
    async move {
        let body = body.map_err(ApiError::body)?;
        let tenant = api.tenant(&tenant).await?;
        let config = tenant
            .config
            .channels
            .email
            .as_ref()
            .filter(|e| !e.ses_topics.is_empty())
            .ok_or_else(ApiError::unknown_tenant)?;
        let envelope: sns::Envelope = serde_json::from_slice(&body).map_err(ApiError::malformed)?;
        if !config.ses_topics.contains(&envelope.topic_arn) {
            return Err(crate::channels::ChannelError::Unauthorized("unexpected SNS topic").into());
        }
        api.sns.verify(&envelope, api.clock.now()).await?;
        match envelope.kind.as_str() {
            "SubscriptionConfirmation" => {
                api.sns.confirm(&envelope).await?;
                tracing::info!("SNS subscription confirmed");
            }
            "Notification" => {
                if let Some(mail) = sns::ses_mail(&envelope.message, &config.from)? {
                    accept(&api, &tenant, Channel::Email, mail, &request_id).await?;
                    tracing::info!("message accepted");
                }
            }
            _ => {}
        }
        Ok(ok())
    }
    .instrument(span)
    .await
}
