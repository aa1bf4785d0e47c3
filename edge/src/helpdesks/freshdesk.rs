//! Freshdesk: `POST /api/v2/tickets` (Basic auth with the API key and `X`), tagged with a short
//! key of the escalation that the search API finds again on a retry; customer messages as
//! private notes (`POST /api/v2/tickets/{id}/notes`). Priorities 1 low … 4 urgent; source 7 chat.

use super::{TicketText, secret_text, short_key};
use crate::http::HttpClient;
use serde_json::{Value, json};
use switchboard_core::domain::{Escalation, Priority, TicketComment, TicketRef};
use switchboard_core::ports::PortError;
use switchboard_engine::tenant::FreshdeskConfig;

const PORT: &str = "freshdesk";

/// Freshdesk's priority codes.
pub fn priority(p: Priority) -> u8 {
    match p {
        Priority::Low => 1,
        Priority::Normal => 2,
        Priority::High => 3,
        Priority::Urgent => 4,
    }
}

fn base(c: &FreshdeskConfig) -> &str {
    c.api_base.trim_end_matches('/')
}

/// Freshdesk's descriptions are HTML.
fn html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\n', "<br>")
}

fn unreadable(e: reqwest::Error) -> PortError {
    PortError::Unavailable { port: PORT, detail: format!("unreadable answer: {e}") }
}

pub(super) async fn open(
    http: &HttpClient,
    c: &FreshdeskConfig,
    e: &Escalation,
    text: &TicketText,
) -> Result<TicketRef, PortError> {
    let key = secret_text(&c.api_key);
    let tag = short_key(e);
    let query = format!("\"tag:'{tag}'\"");
    let found: Value = http
        .call(PORT, |h| {
            h.get(format!("{}/api/v2/search/tickets", base(c)))
                .query(&[("query", query.as_str())])
                .basic_auth(&key, Some("X"))
        })
        .await?
        .json()
        .await
        .map_err(unreadable)?;
    let id_of = |v: &Value| v["id"].as_u64().map(|id| id.to_string());
    let reference =
        |id: String| TicketRef { helpdesk: PORT.into(), url: Some(format!("{}/a/tickets/{id}", base(c))), id };
    if let Some(id) = found["results"].as_array().and_then(|r| r.first()).and_then(id_of) {
        return Ok(reference(id));
    }
    let mut ticket = json!({
        "subject": text.subject,
        "description": html(&text.body),
        "status": 2,
        "priority": priority(e.priority),
        "source": 7,
        "tags": ["switchboard", tag],
    });
    match &text.requester_email {
        Some(email) => {
            ticket["email"] = json!(email);
            ticket["name"] = json!(text.requester_name.clone().unwrap_or_else(|| email.clone()));
        }
        // Freshdesk needs a requester: an anonymous visitor is known by the conversation.
        None => ticket["unique_external_id"] = json!(e.conversation.as_str()),
    }
    let created: Value = http
        .call_at_most_once(PORT, |h| {
            h.post(format!("{}/api/v2/tickets", base(c))).basic_auth(&key, Some("X")).json(&ticket)
        })
        .await?
        .json()
        .await
        .map_err(unreadable)?;
    id_of(&created)
        .map(reference)
        .ok_or_else(|| PortError::Rejected { port: PORT, detail: "created ticket has no id".into() })
}

pub(super) async fn comment(
    http: &HttpClient,
    c: &FreshdeskConfig,
    ticket: &TicketRef,
    comment: &TicketComment,
) -> Result<(), PortError> {
    let key = secret_text(&c.api_key);
    let body = json!({"body": html(&format!("The customer wrote:\n{}", comment.text)), "private": true});
    http.call(PORT, |h| {
        h.post(format!("{}/api/v2/tickets/{}/notes", base(c), ticket.id)).basic_auth(&key, Some("X")).json(&body)
    })
    .await?;
    Ok(())
}
