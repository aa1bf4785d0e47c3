//! The generic webhook (a JSON POST signed `X-Switchboard-Signature: v1=hex(HMAC-SHA256(secret,
//! "{timestamp}.{body}"))` with `X-Switchboard-Timestamp`, and an `Idempotency-Key` the receiver
//! de-duplicates on), and the Slack incoming webhook (a message in the team's channel).

use super::{TicketText, escalation_key, secret_text};
use crate::channels::slack::escape;
use crate::http::HttpClient;
use serde_json::{Value, json};
use switchboard_core::domain::{Escalation, TicketComment, TicketRef};
use switchboard_core::ports::PortError;
use switchboard_engine::tenant::{SlackWebhookConfig, WebhookConfig};

/// The signature of `body` sent at `timestamp` (Unix seconds), as the header carries it.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1={}",
        hex::encode(switchboard_core::keys::hmac_sha256(secret, &[timestamp.to_string().as_bytes(), b".", body]))
    )
}

async fn post_signed(
    http: &HttpClient,
    c: &WebhookConfig,
    idempotency_key: &str,
    body: &Value,
) -> Result<reqwest::Response, PortError> {
    let bytes = serde_json::to_vec(body).map_err(|e| PortError::Rejected { port: "webhook", detail: e.to_string() })?;
    http.call("webhook", |h| {
        // Signed per attempt: a retry carries a fresh timestamp the receiver's window accepts.
        let now = chrono::Utc::now().timestamp();
        h.post(&c.url)
            .header("content-type", "application/json")
            .header("X-Switchboard-Timestamp", now.to_string())
            .header("X-Switchboard-Signature", sign(c.secret.expose(), now, &bytes))
            .header("Idempotency-Key", idempotency_key)
            .body(bytes.clone())
    })
    .await
}

pub(super) async fn open(
    http: &HttpClient,
    c: &WebhookConfig,
    e: &Escalation,
    text: &TicketText,
) -> Result<TicketRef, PortError> {
    let key = escalation_key(e);
    let body = json!({
        "event": "escalation.opened",
        "id": key,
        "tenant": e.tenant,
        "conversation": e.conversation,
        "channel": e.channel,
        "priority": e.priority,
        "subject": text.subject,
        "body": text.body,
        "intent": e.intent,
        "sentiment": e.sentiment,
        "urgency": e.urgency,
        "language": e.language,
        "requester": {"name": text.requester_name, "email": text.requester_email},
    });
    let response = post_signed(http, c, &key, &body).await?;
    // The receiver may name its own ticket; otherwise our key is the ticket's id.
    let answer: Value = response.json().await.unwrap_or_default();
    let id = answer["ticket_id"].as_str().map(str::to_string).unwrap_or(key);
    Ok(TicketRef { helpdesk: "webhook".into(), id, url: answer["url"].as_str().map(str::to_string) })
}

pub(super) async fn comment(
    http: &HttpClient,
    c: &WebhookConfig,
    ticket: &TicketRef,
    comment: &TicketComment,
) -> Result<(), PortError> {
    let body = json!({
        "event": "conversation.message",
        "id": comment.message,
        "ticket_id": ticket.id,
        "conversation": comment.conversation,
        "text": comment.text,
        "at": comment.at,
    });
    post_signed(http, c, comment.message.as_str(), &body).await?;
    Ok(())
}

pub(super) async fn slack_open(
    http: &HttpClient,
    c: &SlackWebhookConfig,
    e: &Escalation,
    text: &TicketText,
) -> Result<TicketRef, PortError> {
    let url = secret_text(&c.url);
    let body = slack_webhook_body(text);
    // An incoming webhook returns no id and offers no lookup: the escalation key is the
    // "ticket", and a post whose answer was lost may show twice in the channel.
    http.call("slack webhook", |h| h.post(&url).json(&body)).await?;
    Ok(TicketRef { helpdesk: "slack_webhook".into(), id: escalation_key(e), url: None })
}

/// The incoming webhook's message for a ticket.
fn slack_webhook_body(text: &TicketText) -> Value {
    json!({
        "text": format!(":rotating_light: {}", escape(&text.subject)),
        "blocks": super::slack::ticket_blocks(text, None),
    })
}

pub(super) async fn slack_comment(
    http: &HttpClient,
    c: &SlackWebhookConfig,
    ticket: &TicketRef,
    comment: &TicketComment,
) -> Result<(), PortError> {
    let url = secret_text(&c.url);
    let body = json!({"text": format!("The customer of {} wrote again:\n{}", ticket.id, escape(&comment.text))});
    http.call("slack webhook", |h| h.post(&url).json(&body)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slack refuses a message whose section text is over 3,000 characters or that has more
    /// than 50 blocks: a long transcript must be split, and a huge one cut, not refused.
    #[test]
    fn slack_webhook_messages_respect_slacks_block_limits() {
        for chars in [100, 5_000, 400_000] {
            let text = TicketText {
                subject: "order_status: asked for a person".into(),
                body: "x".repeat(chars),
                requester_email: None,
                requester_name: None,
            };
            let body = slack_webhook_body(&text);
            let blocks = body["blocks"].as_array().unwrap();
            assert!(blocks.len() <= 50, "{chars}: {} blocks", blocks.len());
            for b in blocks {
                let t = b["text"]["text"].as_str().or(b["elements"][0]["text"].as_str()).unwrap();
                assert!(t.chars().count() <= 3000, "{chars}: a block of {} characters", t.chars().count());
            }
            let shown: usize =
                blocks.iter().skip(1).filter_map(|b| b["text"]["text"].as_str()).map(|t| t.matches('x').count()).sum();
            assert!(shown == chars || chars > 100_000, "{chars}: all of the text is shown ({shown})");
        }
    }
}
