//! Provider webhooks: `/v1/{tenant}/{channel}`. Each verifies the provider's proof over the raw
//! body, parses, and hands customer messages to the same inbound half as the web chat, then
//! answers with the ack the provider expects. Refused requests store and enqueue nothing.

use super::webchat::WebchatApi;
use super::{ApiError, RequestId};
use crate::channels::slack::SlackRequest;
use crate::channels::{Incoming, conversation_for, email, identity_of, slack, telegram, twilio, whatsapp};
use crate::domain::{Channel, Conversation, InboundMessage, MessageId, Sender};
use crate::tenant::Tenant;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::sync::Arc;
use tracing::Instrument;

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Queues one verified customer message on the address's conversation.
async fn accept(
    api: &WebchatApi,
    tenant: &Tenant,
    channel: Channel,
    incoming: Incoming,
    request_id: &str,
) -> Result<(), ApiError> {
    let conversation = conversation_for(&tenant.id, channel, &incoming.address);
    let now = api.clock.now();
    let new_conversation = match api.conversations.conversation(&tenant.id, &conversation).await? {
        Some(_) => None,
        None => {
            Some(Conversation::new(conversation.clone(), tenant.id.clone(), channel, incoming.address.clone(), now))
        }
    };
    // The tenant's own records say who owns this phone or address: that is the proof a channel
    // gives, as a verified identity is for the web chat.
    let customer = match identity_of(channel, &incoming.address) {
        Some(identity) => api.customers.customer_for(&tenant.id, &identity).await?,
        None => None,
    };
    let message = InboundMessage {
        id: MessageId::generate(),
        tenant: tenant.id.clone(),
        channel,
        provider_message_id: incoming.provider_message_id,
        conversation,
        sender: Sender { address: incoming.address, customer },
        text: incoming.text,
        received_at: now,
        request_id: request_id.to_string(),
        thread: incoming.thread,
    };
    api.inbound.accept(message, new_conversation).await?;
    Ok(())
}

/// `POST /v1/{tenant}/twilio`: SMS and WhatsApp through Twilio.
pub(super) async fn twilio_webhook(
    State(api): State<Arc<WebchatApi>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("twilio_webhook", request_id = %request_id, tenant = %tenant, channel = "twilio");
    async move {
        let body = body.map_err(ApiError::body)?;
        let tenant = api.tenant(&tenant).await?;
        let config = tenant.config.channels.twilio.as_ref().ok_or_else(ApiError::unknown_tenant)?;
        let json = header_str(&headers, "content-type").is_some_and(|c| c.starts_with("application/json"));
        let form = if json { Vec::new() } else { twilio::form(&body)? };
        // Twilio signs the URL it called, query string as sent.
        let url = match uri.query() {
            Some(q) if !config.public_url.contains('?') => format!("{}?{q}", config.public_url),
            _ => config.public_url.clone(),
        };
        twilio::verify(config.auth_token.expose(), &url, &form, &body, header_str(&headers, "x-twilio-signature"))?;
        if let Some(incoming) = twilio::parse(&form)? {
            let channel =
                if incoming.address.starts_with("whatsapp:") { Channel::TwilioWhatsapp } else { Channel::TwilioSms };
            accept(&api, &tenant, channel, incoming, &request_id).await?;
            tracing::info!("message accepted");
        }
        Ok(([(header::CONTENT_TYPE, "text/xml")], twilio::EMPTY_TWIML).into_response())
    }
    .instrument(span)
    .await
}

/// `POST /v1/{tenant}/telegram`: a Telegram bot's webhook.
pub(super) async fn telegram_webhook(
    State(api): State<Arc<WebchatApi>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let span =
        tracing::info_span!("telegram_webhook", request_id = %request_id, tenant = %tenant, channel = "telegram");
    async move {
        let body = body.map_err(ApiError::body)?;
        let tenant = api.tenant(&tenant).await?;
        let config = tenant.config.channels.telegram.as_ref().ok_or_else(ApiError::unknown_tenant)?;
        telegram::verify(config.secret_token.expose(), header_str(&headers, "x-telegram-bot-api-secret-token"))?;
        if let Some(incoming) = telegram::parse(&body)? {
            accept(&api, &tenant, Channel::Telegram, incoming, &request_id).await?;
            tracing::info!("message accepted");
        }
        Ok(StatusCode::OK.into_response())
    }
    .instrument(span)
    .await
}

/// `POST /v1/{tenant}/slack`: Slack Events API.
pub(super) async fn slack_webhook(
    State(api): State<Arc<WebchatApi>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("slack_webhook", request_id = %request_id, tenant = %tenant, channel = "slack");
    async move {
        let body = body.map_err(ApiError::body)?;
        let tenant = api.tenant(&tenant).await?;
        let config = tenant.config.channels.slack.as_ref().ok_or_else(ApiError::unknown_tenant)?;
        slack::verify(
            config.signing_secret.expose(),
            header_str(&headers, "x-slack-request-timestamp"),
            header_str(&headers, "x-slack-signature"),
            &body,
            api.clock.now(),
        )?;
        match slack::parse(&body)? {
            SlackRequest::UrlVerification(challenge) => {
                Ok(([(header::CONTENT_TYPE, "text/plain")], challenge).into_response())
            }
            SlackRequest::Message(incoming) => {
                // Slack's retries (X-Slack-Retry-Num) carry the same event_id: the idempotency
                // claim answers them with the first ack.
                accept(&api, &tenant, Channel::Slack, incoming, &request_id).await?;
                tracing::info!("message accepted");
                Ok(StatusCode::OK.into_response())
            }
            SlackRequest::Skip => Ok(StatusCode::OK.into_response()),
        }
    }
    .instrument(span)
    .await
}

/// `GET /v1/{tenant}/whatsapp`: Meta's subscription check.
pub(super) async fn whatsapp_challenge(
    State(api): State<Arc<WebchatApi>>,
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
    State(api): State<Arc<WebchatApi>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let span =
        tracing::info_span!("whatsapp_webhook", request_id = %request_id, tenant = %tenant, channel = "whatsapp_cloud");
    async move {
        let body = body.map_err(ApiError::body)?;
        let tenant = api.tenant(&tenant).await?;
        let config = tenant.config.channels.whatsapp.as_ref().ok_or_else(ApiError::unknown_tenant)?;
        whatsapp::verify(config.app_secret.expose(), header_str(&headers, "x-hub-signature-256"), &body)?;
        let messages = whatsapp::parse(&body)?;
        let count = messages.len();
        // All or nothing for Meta: a failure answers non-200, Meta redelivers the whole batch,
        // and the idempotency claims make the already-queued messages no-ops.
        for incoming in messages {
            accept(&api, &tenant, Channel::WhatsappCloud, incoming, &request_id).await?;
        }
        tracing::info!(count, "notification handled");
        Ok(StatusCode::OK.into_response())
    }
    .instrument(span)
    .await
}

/// `POST /v1/{tenant}/email`: Postmark's inbound webhook (Basic auth in the URL).
pub(super) async fn email_webhook(
    State(api): State<Arc<WebchatApi>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("email_webhook", request_id = %request_id, tenant = %tenant, channel = "email");
    async move {
        let body = body.map_err(ApiError::body)?;
        let tenant = api.tenant(&tenant).await?;
        let config = tenant.config.channels.email.as_ref().ok_or_else(ApiError::unknown_tenant)?;
        email::verify(&config.inbound_user, config.inbound_password.expose(), header_str(&headers, "authorization"))?;
        if let Some(incoming) = email::parse(&body, &config.from)? {
            accept(&api, &tenant, Channel::Email, incoming, &request_id).await?;
            tracing::info!("message accepted");
        }
        Ok(StatusCode::OK.into_response())
    }
    .instrument(span)
    .await
}
