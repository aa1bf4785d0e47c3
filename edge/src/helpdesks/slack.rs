//! A Slack channel as the helpdesk: each escalation is a message in the team's channel
//! (`chat.postMessage`, its `ts` the ticket id), the customer's later messages are replies in
//! its thread, and agents answer by replying in the thread (see [`super::callbacks::slack`]).
//!
//! Slack has no idempotency key, so the message carries our escalation key as message
//! metadata; a retried escalation looks for it in the channel's history before posting again.

use super::{TicketText, escalation_key, secret_text};
use crate::channels::slack::{escape, web_api_verdict};
use crate::http::HttpClient;
use serde_json::{Value, json};
use switchboard_core::domain::split;
use switchboard_core::domain::{Escalation, TicketComment, TicketRef};
use switchboard_core::ports::PortError;
use switchboard_engine::tenant::SlackHelpdeskConfig;

const PORT: &str = "slack";

/// The message metadata type our escalation messages carry.
pub const METADATA_TYPE: &str = "switchboard_escalation";

/// A section block holds at most 3,000 characters.
const SECTION_CHARS: usize = 3000;

/// Most blocks Slack takes in one message.
const MAX_BLOCKS: usize = 50;

/// A ticket as Slack blocks, within Slack's limits: the subject, the body in sections of at
/// most 3,000 characters, then `footer`. A body longer than the blocks left is cut, saying so
/// (the full ticket text is never lost: the transcript stays in the conversation).
pub(super) fn ticket_blocks(text: &TicketText, footer: Option<&str>) -> Vec<Value> {
    let section = |t: String| json!({"type": "section", "text": {"type": "plain_text", "text": t, "emoji": false}});
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!(":rotating_light: *{}*", escape(&text.subject))}}),
    ];
    let room = MAX_BLOCKS - 2 - usize::from(footer.is_some());
    let parts = split(&text.body, SECTION_CHARS);
    let cut = parts.len() > room;
    blocks.extend(parts.into_iter().take(room).map(section));
    if cut {
        blocks.push(section("… (cut to fit Slack; the full transcript is in the conversation)".into()));
    }
    if let Some(footer) = footer {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]}));
    }
    blocks
}

/// History pages read when looking for an earlier attempt's message (200 messages each).
const LOOKUP_PAGES: usize = 5;

/// What agents are told in each escalation's message.
pub const HOW_TO_ANSWER: &str = "Reply in this thread to answer the customer. Start a reply with `!note` to keep it \
     internal; write `!solved` (optionally followed by a last reply) or react :white_check_mark: when done.";

/// Posts a message; at most once, as Slack cannot de-duplicate posts.
async fn post(http: &HttpClient, c: &SlackHelpdeskConfig, body: &Value) -> Result<Value, PortError> {
    let url = format!("{}/chat.postMessage", c.api_base.trim_end_matches('/'));
    let token = secret_text(&c.bot_token);
    let answer = http.call_at_most_once(PORT, |h| h.post(&url).bearer_auth(&token).json(body)).await?.json().await;
    web_api_verdict("chat.postMessage", answer.unwrap_or_default())
}

fn ticket_ref(c: &SlackHelpdeskConfig, ts: &str) -> TicketRef {
    // Slack's permalink form: the channel, then `p` and the timestamp without its dot.
    let url = format!("https://slack.com/archives/{}/p{}", c.channel, ts.replace('.', ""));
    TicketRef { helpdesk: PORT.into(), id: ts.to_string(), url: Some(url) }
}

/// The message an earlier attempt of this escalation posted, if any: the channel's history
/// since the escalation was made, searched for our key in the message metadata.
async fn find(
    http: &HttpClient,
    c: &SlackHelpdeskConfig,
    e: &Escalation,
    key: &str,
) -> Result<Option<String>, PortError> {
    let url = format!("{}/conversations.history", c.api_base.trim_end_matches('/'));
    let token = secret_text(&c.bot_token);
    let oldest = (e.created_at.timestamp() - 60).to_string();
    let mut cursor = String::new();
    for _ in 0..LOOKUP_PAGES {
        let mut query = vec![
            ("channel", c.channel.as_str()),
            ("oldest", oldest.as_str()),
            ("limit", "200"),
            ("include_all_metadata", "true"),
        ];
        if !cursor.is_empty() {
            query.push(("cursor", cursor.as_str()));
        }
        let answer = http.call(PORT, |h| h.get(&url).bearer_auth(&token).query(&query)).await?.json().await;
        let page = web_api_verdict("conversations.history", answer.unwrap_or_default())?;
        let messages = page["messages"].as_array().map(Vec::as_slice).unwrap_or_default();
        if let Some(found) = messages.iter().find(|m| {
            m["metadata"]["event_type"] == METADATA_TYPE && m["metadata"]["event_payload"]["escalation"] == key
        }) {
            return Ok(found["ts"].as_str().map(str::to_string));
        }
        cursor = page["response_metadata"]["next_cursor"].as_str().unwrap_or_default().to_string();
        if cursor.is_empty() {
            break;
        }
    }
    Ok(None)
}

pub(super) async fn open(
    http: &HttpClient,
    c: &SlackHelpdeskConfig,
    e: &Escalation,
    text: &TicketText,
) -> Result<TicketRef, PortError> {
    let key = escalation_key(e);
    if let Some(ts) = find(http, c, e, &key).await? {
        return Ok(ticket_ref(c, &ts));
    }
    let blocks = ticket_blocks(text, Some(HOW_TO_ANSWER));
    let body = json!({
        "channel": c.channel,
        // The notification's text; the blocks are what the channel shows.
        "text": escape(&text.subject),
        "blocks": blocks,
        "unfurl_links": false,
        "metadata": {"event_type": METADATA_TYPE, "event_payload": {"escalation": key, "conversation": e.conversation}},
    });
    let answer = post(http, c, &body).await?;
    let ts = answer["ts"]
        .as_str()
        .ok_or_else(|| PortError::Unavailable { port: PORT, detail: "chat.postMessage: answer without ts".into() })?;
    Ok(ticket_ref(c, ts))
}

pub(super) async fn comment(
    http: &HttpClient,
    c: &SlackHelpdeskConfig,
    ticket: &TicketRef,
    comment: &TicketComment,
) -> Result<(), PortError> {
    // Posted by our bot, so the Events API marks it with `bot_id` and it never comes back as a
    // reply.
    let body = json!({
        "channel": c.channel,
        "thread_ts": ticket.id,
        "text": format!("The customer wrote:\n{}", escape(&comment.text)),
        "unfurl_links": false,
    });
    post(http, c, &body).await?;
    Ok(())
}
