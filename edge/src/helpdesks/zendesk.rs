//! Zendesk Support: `POST /api/v2/tickets.json` with an `Idempotency-Key` and our escalation key
//! as `external_id` (looked up first, so a retried escalation finds its ticket); customer
//! messages as private comments (`PUT /api/v2/tickets/{id}.json`), so they never trigger the
//! "agent replied" webhook. Auth: `{email}/token:{api_token}`.

use super::{TicketText, escalation_key, secret_text};
use crate::http::HttpClient;
use serde_json::{Value, json};
use switchboard_core::domain::{Escalation, Priority, TicketComment, TicketRef};
use switchboard_core::ports::PortError;
use switchboard_engine::tenant::ZendeskConfig;

const PORT: &str = "zendesk";

/// Zendesk's priority names.
pub fn priority(p: Priority) -> &'static str {
    match p {
        Priority::Low => "low",
        Priority::Normal => "normal",
        Priority::High => "high",
        Priority::Urgent => "urgent",
    }
}

fn base(c: &ZendeskConfig) -> &str {
    c.api_base.trim_end_matches('/')
}

fn ticket_ref(c: &ZendeskConfig, id: &Value) -> Option<TicketRef> {
    let id = match id {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    Some(TicketRef { helpdesk: PORT.into(), url: Some(format!("{}/agent/tickets/{id}", base(c))), id })
}

pub(super) async fn open(
    http: &HttpClient,
    c: &ZendeskConfig,
    e: &Escalation,
    text: &TicketText,
) -> Result<TicketRef, PortError> {
    let user = format!("{}/token", c.email);
    let token = secret_text(&c.api_token);
    let key = escalation_key(e);
    let found: Value = http
        .call(PORT, |h| {
            h.get(format!("{}/api/v2/tickets.json", base(c)))
                .query(&[("external_id", key.as_str())])
                .basic_auth(&user, Some(&token))
        })
        .await?
        .json()
        .await
        .map_err(|e| PortError::Unavailable { port: PORT, detail: format!("unreadable answer: {e}") })?;
    if let Some(existing) = found["tickets"].as_array().and_then(|t| t.first()).and_then(|t| ticket_ref(c, &t["id"])) {
        return Ok(existing);
    }
    let mut ticket = json!({
        "subject": text.subject,
        "comment": {"body": text.body, "public": false},
        "priority": priority(e.priority),
        "type": "question",
        "external_id": key,
        "tags": ["switchboard", format!("channel_{}", e.channel)],
    });
    if let Some(email) = &text.requester_email {
        ticket["requester"] =
            json!({"name": text.requester_name.clone().unwrap_or_else(|| email.clone()), "email": email});
    }
    let body = json!({ "ticket": ticket });
    let created: Value = http
        .call(PORT, |h| {
            h.post(format!("{}/api/v2/tickets.json", base(c)))
                .header("Idempotency-Key", &key)
                .basic_auth(&user, Some(&token))
                .json(&body)
        })
        .await?
        .json()
        .await
        .map_err(|e| PortError::Unavailable { port: PORT, detail: format!("unreadable answer: {e}") })?;
    ticket_ref(c, &created["ticket"]["id"])
        .ok_or_else(|| PortError::Rejected { port: PORT, detail: "created ticket has no id".into() })
}

pub(super) async fn comment(
    http: &HttpClient,
    c: &ZendeskConfig,
    ticket: &TicketRef,
    comment: &TicketComment,
) -> Result<(), PortError> {
    let user = format!("{}/token", c.email);
    let token = secret_text(&c.api_token);
    let body =
        json!({"ticket": {"comment": {"body": format!("The customer wrote:\n{}", comment.text), "public": false}}});
    http.call(PORT, |h| {
        h.put(format!("{}/api/v2/tickets/{}.json", base(c), ticket.id)).basic_auth(&user, Some(&token)).json(&body)
    })
    .await?;
    Ok(())
}
