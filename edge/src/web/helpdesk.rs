//! Helpdesk callbacks: `POST /v1/{tenant}/helpdesk/{zendesk|freshdesk|hubspot|slack|webhook}`. Each is
//! verified over the raw body, its ticket resolved to our conversation, and the agent's action
//! queued for the responder (which sends the reply on the customer's channel). A ticket that is
//! not ours is acknowledged and ignored, so the helpdesk does not retry it for ever.

use super::webchat::Api;
use super::{ApiError, RequestId};
use crate::helpdesks::callbacks::{self, AgentAction, SlackCallback};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::sync::Arc;
use switchboard_core::domain::{AgentEvent, TicketRef};
use switchboard_engine::tenant::{HelpdeskConfig, Tenant};
use tracing::Instrument;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// What a verified callback holds.
enum Verified {
    /// What agents did.
    Actions(Vec<AgentAction>),
    /// Slack checks the URL: the challenge to echo.
    Challenge(String),
}

/// Verifies and reads the callback of the tenant's helpdesk; 404 when `kind` is not it.
fn verify(
    tenant: &Tenant,
    kind: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Verified, ApiError> {
    let actions = match (&tenant.config.helpdesk, kind) {
        (HelpdeskConfig::Zendesk(c), "zendesk") => callbacks::zendesk(
            c,
            header(headers, "x-zendesk-webhook-signature"),
            header(headers, "x-zendesk-webhook-signature-timestamp"),
            body,
            now,
        )?,
        (HelpdeskConfig::Freshdesk(c), "freshdesk") => {
            callbacks::freshdesk(c, header(headers, "x-switchboard-secret"), body)?.into_iter().collect()
        }
        (HelpdeskConfig::Hubspot(c), "hubspot") => callbacks::hubspot(
            c,
            header(headers, "x-hubspot-signature-v3"),
            header(headers, "x-hubspot-request-timestamp"),
            body,
            now,
        )?,
        (HelpdeskConfig::Webhook(c), "webhook") => callbacks::webhook(
            c,
            header(headers, "x-switchboard-signature"),
            header(headers, "x-switchboard-timestamp"),
            body,
            now,
        )?
        .into_iter()
        .collect(),
        (HelpdeskConfig::Slack(c), "slack") => match callbacks::slack(
            c,
            header(headers, "x-slack-request-timestamp"),
            header(headers, "x-slack-signature"),
            body,
            now,
        )? {
            SlackCallback::Challenge(challenge) => return Ok(Verified::Challenge(challenge)),
            SlackCallback::Action(action) => vec![action],
            SlackCallback::Skip => vec![],
        },
        _ => return Err(ApiError::not_found("this tenant has no such helpdesk")),
    };
    Ok(Verified::Actions(actions))
}

/// `POST /v1/{tenant}/helpdesk/{kind}`.
pub(super) async fn callback(
    State(api): State<Arc<Api>>,
    Path((tenant, kind)): Path<(String, String)>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("helpdesk_callback", request_id = %request_id, tenant = %tenant, helpdesk = %kind);
    async move {
        let body = body.map_err(ApiError::body)?;
        let tenant = api.tenant(&tenant).await?;
        let now = api.clock.now();
        let actions = match verify(&tenant, &kind, &headers, &body, now)? {
            Verified::Actions(actions) => actions,
            Verified::Challenge(challenge) => {
                return Ok(([(header::CONTENT_TYPE, "text/plain")], challenge).into_response());
            }
        };
        let helpdesk = tenant.config.helpdesk.name();
        for action in actions {
            let Some(conversation) = api.tickets.conversation_for(&tenant.id, helpdesk, &action.ticket).await? else {
                tracing::info!("callback for a ticket we did not open; ignored");
                continue;
            };
            let event = AgentEvent {
                id: AgentEvent::id_for(helpdesk, &action.event_key),
                tenant: tenant.id.clone(),
                conversation,
                ticket: TicketRef { helpdesk: helpdesk.into(), id: action.ticket, url: None },
                reply: action.reply,
                solved: action.solved,
                at: now,
                request_id: request_id.clone(),
            };
            api.inbound.accept_agent(event).await?;
            tracing::info!("agent event queued");
        }
        Ok(StatusCode::OK.into_response())
    }
    .instrument(span)
    .await
}
