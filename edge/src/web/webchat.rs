use super::{ApiError, RequestId};
use crate::channels::webchat::{self, WebchatPost};
use axum::Json;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::domain::{Channel, Conversation, ConversationId, Role, TenantId};
use switchboard_core::keys::DeploymentKey;
use switchboard_core::ports::{Clock, ConversationStore, CustomerStore};
use switchboard_engine::pipeline::{Ack, Inbound};
use switchboard_engine::tenant::Tenant;
use switchboard_engine::tenant::TenantDirectory;
use tracing::Instrument;

/// Longest long-poll a client may ask for, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 20;
/// How long a held poll's lease outlives the hold, for the reads after it.
const LEASE_MARGIN: Duration = Duration::from_secs(2);
/// Most messages in one page.
const PAGE: usize = 100;

/// What every route of the HTTP API needs (web chat, provider webhooks, helpdesk callbacks):
/// the router's shared state.
pub struct Api {
    /// Tenants.
    pub tenants: Arc<dyn TenantDirectory>,
    /// Conversations, for the long poll.
    pub conversations: Arc<dyn ConversationStore>,
    /// Customer profiles, to recognise who writes from a known phone or e-mail address.
    pub customers: Arc<dyn CustomerStore>,
    /// Which conversation a helpdesk ticket belongs to (agent callbacks).
    pub tickets: Arc<dyn switchboard_core::ports::TicketStore>,
    /// Verifies SNS deliveries (SES inbound mail).
    pub sns: Arc<crate::channels::sns::SnsVerifier>,
    /// The inbound half of the pipeline.
    pub inbound: Inbound,
    /// Derives channel conversation ids and web chat read tokens.
    pub key: Arc<DeploymentKey>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// First pause of the long poll; it doubles up to `poll_max`.
    pub poll_first: Duration,
    /// Longest pause of the long poll: each check is a store read, which costs money.
    pub poll_max: Duration,
    /// Longest a long poll is held, whatever `wait` asks (at most [`MAX_WAIT_SECONDS`]): in
    /// Lambda a held poll is a busy instance, so it is shorter there.
    pub max_hold: Duration,
    /// Prices each request into the cost ledger.
    pub costs: Arc<switchboard_engine::cost::Costs>,
    /// Per-tenant and per-visitor message limits, checked before anything is stored.
    pub limits: Arc<switchboard_engine::limits::Limits>,
}

impl Api {
    pub(super) async fn tenant(&self, raw: &str) -> Result<Arc<Tenant>, ApiError> {
        let id = TenantId::new(raw).map_err(|_| ApiError::unknown_tenant())?;
        self.tenants.tenant(&id).await?.ok_or_else(ApiError::unknown_tenant)
    }
}

/// `POST /v1/{tenant}/webchat/messages`.
pub(super) async fn post_message(
    State(api): State<Arc<Api>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<PostAck>), ApiError> {
    let span = tracing::info_span!("webchat_post", request_id = %request_id, tenant = %tenant, channel = "webchat");
    async move {
        let body = body.map_err(ApiError::body)?;
        let post: WebchatPost = serde_json::from_slice(&body).map_err(ApiError::malformed)?;
        let tenant = api.tenant(&tenant).await?;
        let config = tenant.config.channels.webchat.as_ref().ok_or_else(ApiError::unknown_tenant)?;
        let post = webchat::verify(post, config, api.clock.now())?;
        let now = api.clock.now();
        let source = switchboard_engine::limits::Source {
            tenant: &tenant.id,
            channel: Channel::Webchat,
            visitor: Some(post.visitor.as_str()),
            signed_in: post.customer.is_some(),
        };
        api.limits.admit(source, 1, now).await?;

        let (conversation, new_conversation) = match &post.conversation_id {
            Some(id) => {
                let existing = api.conversations.conversation(&tenant.id, id).await?;
                // Someone else's conversation looks exactly like a missing one.
                let existing = existing
                    .filter(|c| c.channel == Channel::Webchat && c.address == post.visitor.as_str())
                    .ok_or_else(|| ApiError::not_found("no such conversation"))?;
                // A conversation bound to a customer holds their transcript (name, orders): only
                // that customer, signed in, continues it — not the next person on a shared
                // browser after they logged out. The widget then starts a new conversation.
                if let Some(bound) = &existing.customer
                    && post.customer.as_ref() != Some(bound)
                {
                    return Err(ApiError::forbidden("this conversation belongs to a signed-in customer"));
                }
                (existing.id, None)
            }
            None => {
                let mut c = Conversation::new(
                    ConversationId::generate(),
                    tenant.id.clone(),
                    Channel::Webchat,
                    post.visitor.to_string(),
                    now,
                );
                c.customer = post.customer.clone();
                (c.id.clone(), Some(c))
            }
        };
        let message = webchat::normalise(&post, &tenant.id, conversation, now, &request_id);
        let ack = api.inbound.accept(message, new_conversation).await?;
        tracing::info!(verified = post.customer.is_some(), "message accepted");
        let token = api.key.read_token(&tenant.id, &ack.conversation_id, post.visitor.as_str());
        Ok((StatusCode::ACCEPTED, Json(PostAck { ack, token })))
    }
    .instrument(span)
    .await
}

/// The 202 of a web chat POST: the ack, and the conversation's read credential, which the GET
/// requires as `Authorization: Bearer <token>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostAck {
    /// Conversation and message ids.
    #[serde(flatten)]
    pub ack: Ack,
    /// The read token of the conversation.
    pub token: String,
}

/// Query of the long poll.
#[derive(Debug, Deserialize)]
pub(super) struct PollQuery {
    after: Option<String>,
    wait: Option<u64>,
}

/// One message of a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageMessage {
    /// Message id.
    pub id: String,
    /// Who wrote it.
    pub role: Role,
    /// The text.
    pub text: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A page of the long poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagePage {
    /// Messages after the cursor, oldest first.
    pub messages: Vec<PageMessage>,
    /// Pass back as `after` to get only newer messages.
    pub cursor: Option<String>,
    /// `bot` or `human`: who answers now.
    pub state: &'static str,
}

/// `GET /v1/{tenant}/webchat/conversations/{id}/messages?after=&wait=`.
pub(super) async fn get_messages(
    State(api): State<Arc<Api>>,
    Path((tenant, conversation)): Path<(String, String)>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    query: Result<Query<PollQuery>, QueryRejection>,
) -> Result<Json<MessagePage>, ApiError> {
    let span = tracing::info_span!("webchat_poll", request_id = %request_id, tenant = %tenant, channel = "webchat");
    async move {
        let Query(query) = query.map_err(ApiError::query)?;
        let tenant = api.tenant(&tenant).await?;
        let wait = query.wait.unwrap_or(0);
        if wait > MAX_WAIT_SECONDS {
            return Err(ApiError::bad_request(format!("wait must be 0..={MAX_WAIT_SECONDS} seconds")));
        }
        // The cursor is the `seq` of the last turn seen: turns come in the order they were
        // written, so a turn stamped earlier but written later is not skipped.
        let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
            Some(raw) => {
                Some(raw.parse::<u64>().map_err(|_| ApiError::bad_request("after is not a cursor from this API"))?)
            }
            None => None,
        };
        let id = ConversationId::new(conversation).map_err(|_| ApiError::not_found("no such conversation"))?;
        // No token, a wrong one, or a conversation of another channel: all look exactly like a
        // missing conversation, so the route tells an outsider nothing about which ids exist.
        let token = bearer(&headers).ok_or_else(|| ApiError::not_found("no such conversation"))?;
        let conversation =
            api.conversations.conversation(&tenant.id, &id).await?.filter(|c| {
                c.channel == Channel::Webchat && api.key.verify_read_token(&tenant.id, &id, &c.address, token)
            });
        let Some(conversation) = conversation else { return Err(ApiError::not_found("no such conversation")) };

        // A held poll is a billed Lambda instance: hold only while the bot owns the conversation
        // (its answer comes in seconds). A person answers in minutes: the widget polls again
        // later, and an idle widget backs off (docs/design.md, "What a poll costs").
        let mut hold =
            if conversation.state.human_owned() { Duration::ZERO } else { Duration::from_secs(wait).min(api.max_hold) };
        // One held poll per conversation, across every instance: a lease in the store (the
        // idempotency claim's conditional write) that expires by itself if this instance dies.
        // A second poll meanwhile is answered at once, as if it asked `wait=0`.
        let lease =
            switchboard_core::ports::IdempotencyKey(switchboard_core::keys::partition::held_poll(&tenant.id, &id));
        let leased = !hold.is_zero()
            && matches!(
                api.inbound.idempotency().claim(&lease, api.clock.now(), hold + LEASE_MARGIN).await?,
                switchboard_core::ports::Claim::Acquired
            );
        if !leased {
            hold = Duration::ZERO;
        }
        let deadline = tokio::time::Instant::now() + hold;
        let mut pause = api.poll_first;
        let turns = loop {
            let turns = api.conversations.turns_after(&tenant.id, &id, after, PAGE).await?;
            let now = tokio::time::Instant::now();
            if !turns.is_empty() || now >= deadline {
                break turns;
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(api.poll_max);
        };
        if leased && let Err(error) = api.inbound.idempotency().release(&lease).await {
            // It expires by itself: the next poll is held again a moment later.
            tracing::warn!(%error, "could not release the held poll's lease");
        }
        // Read the state after the wait: a handoff may have happened meanwhile.
        let state = match api.conversations.conversation(&tenant.id, &id).await? {
            Some(c) if c.state.human_owned() => "human",
            _ => "bot",
        };
        let cursor = turns.last().map(|t| t.seq.to_string()).or(query.after.filter(|a| !a.is_empty()));
        let messages = turns
            .into_iter()
            .map(|t| PageMessage { id: t.id.to_string(), role: t.role, text: t.text, at: t.at })
            .collect();
        Ok(Json(MessagePage { messages, cursor, state }))
    }
    .instrument(span)
    .await
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}
