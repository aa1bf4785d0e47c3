//! HubSpot: tickets through the CRM API (`POST /crm/v3/objects/tickets`, Bearer token) with our
//! escalation key in a ticket property the search API finds again on a retry, associated with
//! the customer's contact when the profile has `hubspot_contact_id`; customer messages as notes
//! associated with the ticket.

use super::{TicketText, escalation_key, secret_text};
use crate::http::HttpClient;
use serde_json::{Value, json};
use switchboard_core::domain::{Escalation, Priority, TicketComment, TicketRef};
use switchboard_core::ports::PortError;
use switchboard_engine::tenant::HubspotConfig;

const PORT: &str = "hubspot";
/// HubSpot-defined association types: ticket → contact, note → ticket.
const TICKET_TO_CONTACT: u32 = 16;
const NOTE_TO_TICKET: u32 = 228;

/// HubSpot's `hs_ticket_priority` values (it has no "urgent").
pub fn priority(p: Priority) -> &'static str {
    match p {
        Priority::Low => "LOW",
        Priority::Normal => "MEDIUM",
        Priority::High | Priority::Urgent => "HIGH",
    }
}

fn base(c: &HubspotConfig) -> &str {
    c.api_base.trim_end_matches('/')
}

fn unreadable(e: reqwest::Error) -> PortError {
    PortError::Unavailable { port: PORT, detail: format!("unreadable answer: {e}") }
}

fn reference(id: &Value) -> Option<TicketRef> {
    let id = id.as_str().map(str::to_string).or_else(|| id.as_u64().map(|n| n.to_string()))?;
    Some(TicketRef { helpdesk: PORT.into(), id, url: None })
}

pub(super) async fn open(
    http: &HttpClient,
    c: &HubspotConfig,
    e: &Escalation,
    text: &TicketText,
) -> Result<TicketRef, PortError> {
    let token = secret_text(&c.access_token);
    let key = escalation_key(e);
    let search = json!({
        "filterGroups": [{"filters": [{"propertyName": c.escalation_property, "operator": "EQ", "value": key}]}],
        "limit": 1,
    });
    let found: Value = http
        .call(PORT, |h| h.post(format!("{}/crm/v3/objects/tickets/search", base(c))).bearer_auth(&token).json(&search))
        .await?
        .json()
        .await
        .map_err(unreadable)?;
    if let Some(existing) = found["results"].as_array().and_then(|r| r.first()).and_then(|t| reference(&t["id"])) {
        return Ok(existing);
    }
    let mut properties = json!({
        "subject": text.subject,
        "content": text.body,
        "hs_pipeline": c.pipeline,
        "hs_pipeline_stage": c.new_stage,
        "hs_ticket_priority": priority(e.priority),
    });
    properties[&c.escalation_property] = json!(key);
    let mut body = json!({ "properties": properties });
    let contact = e.customer.as_ref().and_then(|c| c.attributes.get("hubspot_contact_id"));
    if let Some(contact) = contact {
        body["associations"] = json!([{
            "to": {"id": contact},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TICKET_TO_CONTACT}],
        }]);
    }
    let created: Value = http
        .call_at_most_once(PORT, |h| {
            h.post(format!("{}/crm/v3/objects/tickets", base(c))).bearer_auth(&token).json(&body)
        })
        .await?
        .json()
        .await
        .map_err(unreadable)?;
    reference(&created["id"])
        .ok_or_else(|| PortError::Rejected { port: PORT, detail: "created ticket has no id".into() })
}

pub(super) async fn comment(
    http: &HttpClient,
    c: &HubspotConfig,
    ticket: &TicketRef,
    comment: &TicketComment,
) -> Result<(), PortError> {
    let token = secret_text(&c.access_token);
    let body = json!({
        "properties": {
            "hs_note_body": format!("The customer wrote:\n{}", comment.text),
            "hs_timestamp": comment.at.to_rfc3339(),
        },
        "associations": [{
            "to": {"id": ticket.id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_TICKET}],
        }],
    });
    http.call(PORT, |h| h.post(format!("{}/crm/v3/objects/notes", base(c))).bearer_auth(&token).json(&body)).await?;
    Ok(())
}
