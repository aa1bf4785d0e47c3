//! Helpdesk callbacks: an agent replied, or the ticket was solved. Each helpdesk's proof is
//! checked over the raw body before anything is parsed; our own comments coming back (loops)
//! are skipped.
//!
//! | helpdesk | proof | body |
//! | --- | --- | --- |
//! | Zendesk | `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, timestamp + body)), 5-minute window | the trigger's JSON (see docs/helpdesks.md) |
//! | Freshdesk | `X-Switchboard-Secret` header (automation rules cannot sign) | the automation's JSON |
//! | HubSpot | `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client secret, method + URL + body + timestamp)), 5-minute window | webhook events (property changes) |
//! | webhook | `X-Switchboard-Signature` as we sign ours, 5-minute window | `{event_id, ticket_id, reply?, solved?}` |
//! | Slack | `X-Slack-Signature` (v0), 5-minute window | Events API: thread replies, reactions |

use crate::channels::{ChannelError, slack as slack_events};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use switchboard_core::keys::{hmac_sha256, hmac_sha256_verify};
use switchboard_engine::tenant::{FreshdeskConfig, HubspotConfig, SlackHelpdeskConfig, WebhookConfig, ZendeskConfig};

/// How far a signed timestamp may be from now.
const WINDOW_SECONDS: i64 = 300;

/// What one callback says an agent did on one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentAction {
    /// The helpdesk's ticket id.
    pub ticket: String,
    /// Unique per helpdesk event, so a repeated delivery is recognised.
    pub event_key: String,
    /// The agent's public reply, if any.
    pub reply: Option<String>,
    /// The ticket is solved or closed.
    pub solved: bool,
}

fn unauthorized(why: &'static str) -> ChannelError {
    ChannelError::Unauthorized(why)
}

fn malformed(why: impl Into<String>) -> ChannelError {
    ChannelError::Malformed(why.into())
}

fn fresh(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), ChannelError> {
    if (now - at).num_seconds().abs() > WINDOW_SECONDS { Err(unauthorized("stale timestamp")) } else { Ok(()) }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
    .filter(|s| !s.trim().is_empty())
}

fn json(body: &[u8]) -> Result<Value, ChannelError> {
    serde_json::from_slice(body).map_err(|e| malformed(format!("not JSON: {e}")))
}

fn digest_key(parts: &[&str]) -> String {
    use sha2::Digest;
    hex::encode(&Sha256::digest(parts.join("\n").as_bytes())[..16])
}

/// Zendesk's signature: base64(HMAC-SHA256(secret, timestamp + body)).
pub fn zendesk_signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    STANDARD.encode(hmac_sha256(secret, &[timestamp.as_bytes(), body]))
}

/// Verifies and reads a Zendesk trigger webhook (the body in docs/helpdesks.md: the ticket's *latest*
/// comment with its id, visibility and author, and the status). The trigger fires on every
/// update, so the latest comment is often one already seen: a reply is relayed only when that
/// comment is public and by someone other than our integration user, and it is keyed by the
/// comment's id, so an internal note, a status change or a retry never re-sends it. A solved
/// ticket is an action of its own, keyed by the status change.
pub fn zendesk(
    c: &ZendeskConfig,
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<AgentAction>, ChannelError> {
    let signature = signature.ok_or(unauthorized("missing X-Zendesk-Webhook-Signature"))?;
    let timestamp = timestamp.ok_or(unauthorized("missing X-Zendesk-Webhook-Signature-Timestamp"))?;
    let given = STANDARD.decode(signature.trim()).map_err(|_| unauthorized("malformed X-Zendesk-Webhook-Signature"))?;
    if !hmac_sha256_verify(c.webhook_secret.expose(), &[timestamp.as_bytes(), body], &given) {
        return Err(unauthorized("X-Zendesk-Webhook-Signature does not verify"));
    }
    let at = DateTime::parse_from_rfc3339(timestamp.trim()).map_err(|_| unauthorized("malformed timestamp"))?;
    fresh(at.with_timezone(&Utc), now)?;
    let v = json(body)?;
    let ticket = text_of(&v["ticket_id"]).ok_or_else(|| malformed("missing ticket_id"))?;
    let status = v["status"].as_str().unwrap_or_default().to_ascii_lowercase();
    let mut actions = Vec::new();
    // Our own comments are private and written by the integration user: never a reply. Zendesk
    // renders `is_public` as the text "true" or "false"; anything else is not known to be public.
    let ours = v["author_email"].as_str().is_some_and(|a| a.eq_ignore_ascii_case(&c.email));
    let public = match &v["public"] {
        Value::Bool(b) => *b,
        Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    };
    if let Some(reply) = text_of(&v["comment"]).filter(|_| public && !ours) {
        let comment = text_of(&v["comment_id"]).unwrap_or_else(|| digest_key(&[&reply]));
        actions.push(AgentAction {
            event_key: format!("{ticket}:comment:{comment}"),
            ticket: ticket.clone(),
            reply: Some(reply),
            solved: false,
        });
    }
    if matches!(status.as_str(), "solved" | "closed") {
        actions.push(AgentAction { event_key: format!("{ticket}:status:{status}"), ticket, reply: None, solved: true });
    }
    Ok(actions)
}

/// Verifies and reads a Freshdesk automation webhook.
pub fn freshdesk(c: &FreshdeskConfig, secret: Option<&str>, body: &[u8]) -> Result<Option<AgentAction>, ChannelError> {
    let given = secret.ok_or(unauthorized("missing X-Switchboard-Secret"))?;
    let expected = c.callback_secret.expose();
    if expected.is_empty() || !bool::from(given.as_bytes().ct_eq(expected)) {
        return Err(unauthorized("X-Switchboard-Secret does not match"));
    }
    let v = json(body)?;
    let ticket = text_of(&v["ticket_id"]).ok_or_else(|| malformed("missing ticket_id"))?;
    let status = text_of(&v["status"]).unwrap_or_default().to_ascii_lowercase();
    let solved = matches!(status.as_str(), "4" | "5" | "resolved" | "closed");
    let private = v["private"].as_bool().unwrap_or(false);
    let reply = text_of(&v["reply"]).filter(|_| !private);
    let event = text_of(&v["reply_id"]).unwrap_or_else(|| digest_key(&[reply.as_deref().unwrap_or_default()]));
    if reply.is_none() && !solved {
        return Ok(None);
    }
    Ok(Some(AgentAction { event_key: format!("{ticket}:{event}:{status}"), ticket, reply, solved }))
}

/// HubSpot's v3 signature: base64(HMAC-SHA256(client secret, method + URL + body + timestamp)).
pub fn hubspot_signature(secret: &[u8], method: &str, url: &str, body: &[u8], timestamp: &str) -> String {
    STANDARD.encode(hmac_sha256(secret, &[method.as_bytes(), url.as_bytes(), body, timestamp.as_bytes()]))
}

/// Verifies and reads HubSpot webhook events: the reply property changed (a reply), or the
/// pipeline stage moved to a closed one (solved).
pub fn hubspot(
    c: &HubspotConfig,
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<AgentAction>, ChannelError> {
    let signature = signature.ok_or(unauthorized("missing X-HubSpot-Signature-v3"))?;
    let timestamp = timestamp.ok_or(unauthorized("missing X-HubSpot-Request-Timestamp"))?;
    let given = STANDARD.decode(signature.trim()).map_err(|_| unauthorized("malformed X-HubSpot-Signature-v3"))?;
    let parts = ["POST".as_bytes(), c.callback_url.as_bytes(), body, timestamp.as_bytes()];
    if !hmac_sha256_verify(c.client_secret.expose(), &parts, &given) {
        return Err(unauthorized("X-HubSpot-Signature-v3 does not verify"));
    }
    let millis: i64 = timestamp.trim().parse().map_err(|_| unauthorized("malformed X-HubSpot-Request-Timestamp"))?;
    fresh(DateTime::from_timestamp_millis(millis).ok_or(unauthorized("malformed timestamp"))?, now)?;
    let events = match json(body)? {
        Value::Array(events) => events,
        one @ Value::Object(_) => vec![one],
        _ => return Err(malformed("expected webhook events")),
    };
    let mut actions = Vec::new();
    for e in events {
        let ticket = text_of(&e["objectId"]).ok_or_else(|| malformed("event without objectId"))?;
        let event = text_of(&e["eventId"]).unwrap_or_default();
        let property = e["propertyName"].as_str().unwrap_or_default();
        let value = text_of(&e["propertyValue"]);
        if property == c.reply_property && value.is_some() {
            actions.push(AgentAction { event_key: format!("{ticket}:{event}"), ticket, reply: value, solved: false });
        } else if property == "hs_pipeline_stage" && value.as_ref().is_some_and(|v| c.closed_stages.contains(v)) {
            actions.push(AgentAction { event_key: format!("{ticket}:{event}"), ticket, reply: None, solved: true });
        }
    }
    Ok(actions)
}

/// Verifies and reads a generic webhook callback.
pub fn webhook(
    c: &WebhookConfig,
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<AgentAction>, ChannelError> {
    let signature = signature.ok_or(unauthorized("missing X-Switchboard-Signature"))?;
    let timestamp = timestamp.ok_or(unauthorized("missing X-Switchboard-Timestamp"))?;
    let at: i64 = timestamp.trim().parse().map_err(|_| unauthorized("malformed X-Switchboard-Timestamp"))?;
    let given = signature
        .strip_prefix("v1=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(unauthorized("malformed X-Switchboard-Signature"))?;
    if !hmac_sha256_verify(c.secret.expose(), &[at.to_string().as_bytes(), b".", body], &given) {
        return Err(unauthorized("X-Switchboard-Signature does not verify"));
    }
    fresh(DateTime::from_timestamp(at, 0).ok_or(unauthorized("malformed timestamp"))?, now)?;
    let v = json(body)?;
    let ticket = text_of(&v["ticket_id"]).ok_or_else(|| malformed("missing ticket_id"))?;
    let event = text_of(&v["event_id"]).ok_or_else(|| malformed("missing event_id"))?;
    let reply = text_of(&v["reply"]);
    let solved = v["solved"].as_bool().unwrap_or(false);
    if reply.is_none() && !solved {
        return Ok(None);
    }
    Ok(Some(AgentAction { event_key: format!("{ticket}:{event}"), ticket, reply, solved }))
}

/// What a verified Slack request asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackCallback {
    /// Slack checks the URL: answer with the challenge.
    Challenge(String),
    /// An agent acted on a ticket.
    Action(AgentAction),
    /// Nothing for us: our own posts, chatter outside a ticket's thread, internal notes.
    Skip,
}

/// Verifies and reads a Slack Events API request from the helpdesk channel's app: a person's
/// reply in an escalation's thread goes to the customer, unless it starts with `!note`;
/// `!solved` (with an optional last reply) or the solved reaction on the escalation's message
/// hands the conversation back to the bot. Messages posted by bots, including ours, are skipped.
pub fn slack(
    c: &SlackHelpdeskConfig,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<SlackCallback, ChannelError> {
    slack_events::verify(c.signing_secret.expose(), timestamp, signature, body, now)?;
    let envelope = slack_events::envelope(body)?;
    match envelope.kind.as_str() {
        "url_verification" => {
            return envelope.challenge.map(SlackCallback::Challenge).ok_or_else(|| malformed("no challenge"));
        }
        "event_callback" => {}
        _ => return Ok(SlackCallback::Skip),
    }
    let event = envelope.event.ok_or_else(|| malformed("no event"))?;
    let event_key = envelope.event_id.ok_or_else(|| malformed("no event_id"))?;
    let action = |ticket: String, reply: Option<String>, solved: bool| {
        SlackCallback::Action(AgentAction { ticket, event_key: event_key.clone(), reply, solved })
    };
    match event.kind.as_str() {
        "message" => {
            // `thread_broadcast` is a thread reply also shown in the channel: still a reply.
            let human = event.bot_id.is_none() && event.subtype.as_deref().is_none_or(|s| s == "thread_broadcast");
            let in_ticket_thread = event.channel.as_deref() == Some(c.channel.as_str())
                && event.thread_ts.is_some()
                && event.thread_ts != event.ts;
            let (true, true, Some(thread)) = (human, in_ticket_thread, event.thread_ts) else {
                return Ok(SlackCallback::Skip);
            };
            let text = slack_events::plain_text(event.text.as_deref().unwrap_or_default().trim());
            if text.starts_with("!note") || text.is_empty() {
                return Ok(SlackCallback::Skip);
            }
            Ok(match text.strip_prefix("!solved") {
                Some(last) => action(thread, Some(last.trim().to_string()).filter(|t| !t.is_empty()), true),
                None => action(thread, Some(text), false),
            })
        }
        "reaction_added" => {
            let Some(item) = event.item else { return Ok(SlackCallback::Skip) };
            let on_ticket = item.kind == "message" && item.channel.as_deref() == Some(c.channel.as_str());
            match (on_ticket && event.reaction.as_deref() == Some(c.solved_reaction.as_str()), item.ts) {
                (true, Some(ts)) => Ok(action(ts, None, true)),
                _ => Ok(SlackCallback::Skip),
            }
        }
        _ => Ok(SlackCallback::Skip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_engine::tenant::Secret;

    fn zendesk_config(secret: &str) -> ZendeskConfig {
        ZendeskConfig {
            api_base: "https://acme.zendesk.com".into(),
            email: "bot@acme.example".into(),
            api_token: Secret::new("t"),
            webhook_secret: Secret::new(secret),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The vector in the spec sheet (§7): Zendesk's published test secret, used as-is.
    #[test]
    fn zendesk_published_vector() {
        let body = br#"{"ticket_id":"123","latest_comment":"Agent reply text","status":"open"}"#;
        let secret = b"dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
        assert_eq!(
            zendesk_signature(secret, "2024-01-01T00:00:00Z", body),
            "6piZXOMtWSuBrspzmZVAzyl6KafDf/JpUZ+jxFAi5ec="
        );
    }

    #[test]
    fn zendesk_reply_solved_tampered_stale_and_our_own_comment() {
        let c = zendesk_config("s3cret");
        let ts = "2026-11-25T10:00:00Z";
        let now = at("2026-11-25T10:01:00Z");
        let body = br#"{"ticket_id":42,"comment_id":"9","comment":"Hi, Marta here","public":true,"author_email":"marta@acme.example","status":"open"}"#;
        let sig = zendesk_signature(b"s3cret", ts, body);
        let action = zendesk(&c, Some(&sig), Some(ts), body, now).unwrap().remove(0);
        assert_eq!(
            (action.ticket.as_str(), action.reply.as_deref(), action.solved),
            ("42", Some("Hi, Marta here"), false)
        );

        let mut tampered = body.to_vec();
        tampered[20] ^= 1;
        assert!(zendesk(&c, Some(&sig), Some(ts), &tampered, now).is_err());
        assert!(zendesk(&c, Some(&sig), Some(ts), body, at("2026-11-25T11:00:00Z")).is_err(), "stale");
        assert!(zendesk(&c, None, Some(ts), body, now).is_err());
        assert!(zendesk(&zendesk_config("other"), Some(&sig), Some(ts), body, now).is_err());

        let ours = br#"{"ticket_id":42,"comment":"The customer wrote: hi","public":false,"author_email":"bot@acme.example","status":"open"}"#;
        let sig = zendesk_signature(b"s3cret", ts, ours);
        assert_eq!(zendesk(&c, Some(&sig), Some(ts), ours, now).unwrap(), vec![], "our own comment is no reply");

        let solved = br#"{"ticket_id":42,"status":"Solved"}"#;
        let sig = zendesk_signature(b"s3cret", ts, solved);
        assert!(zendesk(&c, Some(&sig), Some(ts), solved, now).unwrap()[0].solved);

        // As the trigger renders it: is_public as text; an internal note is never a reply.
        let note = br#"{"ticket_id":"42","comment_id":"10","comment":"internal","public":"false","author_email":"marta@acme.example","status":"open"}"#;
        let sig = zendesk_signature(b"s3cret", ts, note);
        assert_eq!(zendesk(&c, Some(&sig), Some(ts), note, now).unwrap(), vec![]);
        let unknown = br#"{"ticket_id":"42","comment_id":"11","comment":"who knows","author_email":"marta@acme.example","status":"open"}"#;
        let sig = zendesk_signature(b"s3cret", ts, unknown);
        assert_eq!(zendesk(&c, Some(&sig), Some(ts), unknown, now).unwrap(), vec![], "not known to be public");
    }

    #[test]
    fn hubspot_v3_reply_and_closed_stage() {
        let c = HubspotConfig {
            api_base: "https://api.hubapi.com".into(),
            access_token: Secret::new("t"),
            client_secret: Secret::new("client-secret"),
            callback_url: "https://hooks.example/v1/demo/helpdesk/hubspot".into(),
            pipeline: "0".into(),
            new_stage: "1".into(),
            closed_stages: vec!["4".into()],
            escalation_property: "switchboard_escalation".into(),
            reply_property: "switchboard_reply".into(),
        };
        let body = br#"[{"eventId":1,"objectId":77,"propertyName":"switchboard_reply","propertyValue":"On its way!"},{"eventId":2,"objectId":77,"propertyName":"hs_pipeline_stage","propertyValue":"4"},{"eventId":3,"objectId":77,"propertyName":"hs_pipeline_stage","propertyValue":"2"}]"#;
        let ts = "1795600800000";
        let now = DateTime::from_timestamp_millis(1_795_600_860_000).unwrap();
        let sig = hubspot_signature(b"client-secret", "POST", &c.callback_url, body, ts);
        let actions = hubspot(&c, Some(&sig), Some(ts), body, now).unwrap();
        assert_eq!(actions.len(), 2);
        assert_eq!(actions[0].reply.as_deref(), Some("On its way!"));
        assert!(actions[1].solved);
        let wrong_url = hubspot_signature(b"client-secret", "POST", "https://elsewhere/", body, ts);
        assert!(hubspot(&c, Some(&wrong_url), Some(ts), body, now).is_err());
    }

    #[test]
    fn freshdesk_shared_secret_and_private_notes() {
        let c = FreshdeskConfig {
            api_base: "https://acme.freshdesk.com".into(),
            api_key: Secret::new("k"),
            callback_secret: Secret::new("cb-secret"),
        };
        let body = br#"{"ticket_id":5,"reply":"Refund issued","reply_id":"r1","status":"Open"}"#;
        assert_eq!(freshdesk(&c, Some("cb-secret"), body).unwrap().unwrap().reply.as_deref(), Some("Refund issued"));
        assert!(freshdesk(&c, Some("wrong"), body).is_err());
        assert!(freshdesk(&c, None, body).is_err());
        let private = br#"{"ticket_id":5,"reply":"internal","private":true,"status":"Open"}"#;
        assert_eq!(freshdesk(&c, Some("cb-secret"), private).unwrap(), None);
        let resolved = br#"{"ticket_id":5,"status":4}"#;
        assert!(freshdesk(&c, Some("cb-secret"), resolved).unwrap().unwrap().solved);
        assert!(matches!(freshdesk(&c, Some("cb-secret"), b"{"), Err(ChannelError::Malformed(_))));
    }

    #[test]
    fn generic_webhook_round_trips_our_own_signature() {
        let c = WebhookConfig { url: "https://desk.example/hook".into(), secret: Secret::new("whsec") };
        let body = br#"{"event_id":"e1","ticket_id":"T-1","reply":"Hello","solved":true}"#;
        let now = Utc::now();
        let sig = super::super::webhook::sign(b"whsec", now.timestamp(), body);
        let action = webhook(&c, Some(&sig), Some(&now.timestamp().to_string()), body, now).unwrap().unwrap();
        assert!(action.solved && action.reply.as_deref() == Some("Hello"));
        let old = now.timestamp() - 3600;
        let sig = super::super::webhook::sign(b"whsec", old, body);
        assert!(webhook(&c, Some(&sig), Some(&old.to_string()), body, now).is_err());
    }

    fn slack_config() -> SlackHelpdeskConfig {
        SlackHelpdeskConfig {
            channel: "C0SUPPORT".into(),
            bot_token: Secret::new("xoxb-1"),
            signing_secret: Secret::new("slack-signing"),
            solved_reaction: "white_check_mark".into(),
            api_base: "https://slack.com/api".into(),
        }
    }

    fn slack_event(c: &SlackHelpdeskConfig, event: serde_json::Value) -> Result<SlackCallback, ChannelError> {
        let body = serde_json::json!({"type": "event_callback", "event_id": "Ev1", "event": event}).to_string();
        let now = Utc::now();
        let ts = now.timestamp().to_string();
        let sig = slack_events::signature(b"slack-signing", &ts, body.as_bytes());
        slack(c, Some(&ts), Some(&sig), body.as_bytes(), now)
    }

    #[test]
    fn slack_thread_replies_notes_solved_and_loops() {
        let c = slack_config();
        let reply = |text: &str| {
            serde_json::json!({"type": "message", "channel": "C0SUPPORT", "user": "U7", "text": text,
                               "ts": "1795600900.000200", "thread_ts": "1795600800.000100"})
        };
        let SlackCallback::Action(a) =
            slack_event(&c, reply("Hi Ana &amp; co, it ships <https://t.example/1|today>")).unwrap()
        else {
            panic!("a reply")
        };
        assert_eq!(a.ticket, "1795600800.000100");
        assert_eq!(a.reply.as_deref(), Some("Hi Ana & co, it ships today (https://t.example/1)"));
        assert!(!a.solved);
        assert_eq!(slack_event(&c, reply("!note she called twice")).unwrap(), SlackCallback::Skip, "internal");
        let SlackCallback::Action(a) = slack_event(&c, reply("!solved Thanks, all done!")).unwrap() else { panic!() };
        assert!(a.solved && a.reply.as_deref() == Some("Thanks, all done!"));
        let SlackCallback::Action(a) = slack_event(&c, reply("!solved")).unwrap() else { panic!() };
        assert!(a.solved && a.reply.is_none());

        let mut ours = reply("The customer wrote: hi");
        ours["bot_id"] = "B1".into();
        assert_eq!(slack_event(&c, ours).unwrap(), SlackCallback::Skip, "our own post is no reply");
        let mut elsewhere = reply("hi");
        elsewhere["channel"] = "C0OTHER".into();
        assert_eq!(slack_event(&c, elsewhere).unwrap(), SlackCallback::Skip);
        let top_level =
            serde_json::json!({"type": "message", "channel": "C0SUPPORT", "user": "U7", "text": "lunch?", "ts": "1.1"});
        assert_eq!(slack_event(&c, top_level).unwrap(), SlackCallback::Skip, "chatter outside a thread");

        let reaction = |name: &str| {
            serde_json::json!({"type": "reaction_added", "user": "U7", "reaction": name,
                               "item": {"type": "message", "channel": "C0SUPPORT", "ts": "1795600800.000100"}})
        };
        let SlackCallback::Action(a) = slack_event(&c, reaction("white_check_mark")).unwrap() else { panic!() };
        assert!(a.solved && a.ticket == "1795600800.000100");
        assert_eq!(slack_event(&c, reaction("eyes")).unwrap(), SlackCallback::Skip);
    }

    #[test]
    fn slack_challenge_is_answered_only_when_signed() {
        let c = slack_config();
        let body = br#"{"type":"url_verification","challenge":"abc123","token":"t"}"#;
        let now = Utc::now();
        let ts = now.timestamp().to_string();
        let sig = slack_events::signature(b"slack-signing", &ts, body);
        assert_eq!(slack(&c, Some(&ts), Some(&sig), body, now).unwrap(), SlackCallback::Challenge("abc123".into()));
        let forged = slack_events::signature(b"guess", &ts, body);
        assert!(slack(&c, Some(&ts), Some(&forged), body, now).is_err());
        let unset = SlackHelpdeskConfig { signing_secret: Secret::new(""), ..c };
        let empty_key = slack_events::signature(b"", &ts, body);
        assert!(slack(&unset, Some(&ts), Some(&empty_key), body, now).is_err(), "an unset secret verifies nothing");
    }
}
