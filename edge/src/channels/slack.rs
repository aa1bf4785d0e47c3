//! Slack Events API, for a business that uses its own workspace as a support channel: requests
//! signed with v0 (`HMAC-SHA256(signing secret, "v0:{timestamp}:{body}")`) inside a five-minute
//! window, `url_verification` answered with its challenge, retries de-duplicated by `event_id`,
//! bot and edited messages ignored (no loops), answers posted in the thread.

use super::{ChannelError, Incoming};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use switchboard_core::keys::{hmac_sha256, hmac_sha256_verify};
use switchboard_core::ports::PortError;

/// Requests older or newer than this are replays.
pub const WINDOW_SECONDS: i64 = 300;

/// `v0=` + hex HMAC-SHA256 of the base string.
pub fn signature(signing_secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    format!("v0={}", hex::encode(hmac_sha256(signing_secret, &base_string(timestamp, body))))
}

/// Slack's base string, `v0:{timestamp}:{body}`, in parts.
fn base_string<'a>(timestamp: &'a str, body: &'a [u8]) -> [&'a [u8]; 4] {
    [b"v0:", timestamp.as_bytes(), b":", body]
}

/// Verifies the signature headers against the raw body, refusing stale timestamps.
pub fn verify(
    signing_secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), ChannelError> {
    if signing_secret.is_empty() {
        // Anyone can sign with an empty key.
        return Err(ChannelError::Unauthorized("no signing secret configured"));
    }
    let timestamp = timestamp.ok_or(ChannelError::Unauthorized("missing X-Slack-Request-Timestamp"))?;
    let signature = signature.ok_or(ChannelError::Unauthorized("missing X-Slack-Signature"))?;
    let at: i64 =
        timestamp.trim().parse().map_err(|_| ChannelError::Unauthorized("malformed X-Slack-Request-Timestamp"))?;
    if (now.timestamp() - at).abs() > WINDOW_SECONDS {
        return Err(ChannelError::Unauthorized("stale X-Slack-Request-Timestamp"));
    }
    let given = signature
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(ChannelError::Unauthorized("malformed X-Slack-Signature"))?;
    if !hmac_sha256_verify(signing_secret, &base_string(timestamp, body), &given) {
        return Err(ChannelError::Unauthorized("X-Slack-Signature does not verify"));
    }
    Ok(())
}

/// What a verified Slack request asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackRequest {
    /// Slack checks the URL: answer with the challenge.
    UrlVerification(String),
    /// A customer message to answer.
    Message(Incoming),
    /// Anything else: acknowledge and skip.
    Skip,
}

/// An Events API request body (the fields we read).
#[derive(Deserialize)]
pub(crate) struct Envelope {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub challenge: Option<String>,
    #[serde(default)]
    pub event_id: Option<String>,
    #[serde(default)]
    pub event: Option<Event>,
}

/// The event inside an `event_callback`: a message, or a reaction.
#[derive(Deserialize)]
pub(crate) struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub subtype: Option<String>,
    #[serde(default)]
    pub bot_id: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub ts: Option<String>,
    #[serde(default)]
    pub thread_ts: Option<String>,
    /// `reaction_added`: the emoji's name.
    #[serde(default)]
    pub reaction: Option<String>,
    /// `reaction_added`: what was reacted to.
    #[serde(default)]
    pub item: Option<ReactedItem>,
}

/// The message a reaction was added to.
#[derive(Deserialize)]
pub(crate) struct ReactedItem {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub ts: Option<String>,
}

/// Reads a verified request body.
pub(crate) fn envelope(body: &[u8]) -> Result<Envelope, ChannelError> {
    serde_json::from_slice(body).map_err(|e| ChannelError::Malformed(format!("event: {e}")))
}

/// A message's text as a person reads it: Slack escapes `&`, `<` and `>`, and wraps links,
/// mentions and channels in `<…>` (`<https://x.example|x.example>`, `<@U123|ana>`).
pub fn plain_text(mrkdwn: &str) -> String {
    let mut out = String::with_capacity(mrkdwn.len());
    let mut rest = mrkdwn;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let inner = &rest[open + 1..open + close];
        let (target, label) = inner.split_once('|').unwrap_or((inner, ""));
        match target.chars().next() {
            Some('@') => {
                out.push('@');
                out.push_str(if label.is_empty() { &target[1..] } else { label });
            }
            Some('#') => {
                out.push('#');
                out.push_str(if label.is_empty() { &target[1..] } else { label });
            }
            Some('!') => {
                out.push('@');
                out.push_str(if label.is_empty() { target[1..].split('^').next().unwrap_or_default() } else { label });
            }
            _ => {
                let bare = target.split_once(':').map_or(target, |(_, r)| r.trim_start_matches("//"));
                if label.is_empty() || label == target || label == bare {
                    out.push_str(if target.starts_with("mailto:") { bare } else { target });
                } else {
                    out.push_str(&format!("{label} ({target})"));
                }
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// Parses a verified request body. The conversation address is `{channel}:{thread}`: each
/// thread is one conversation, answered in that thread.
pub fn parse(body: &[u8]) -> Result<SlackRequest, ChannelError> {
    let envelope = envelope(body)?;
    match envelope.kind.as_str() {
        "url_verification" => envelope
            .challenge
            .map(SlackRequest::UrlVerification)
            .ok_or_else(|| ChannelError::Malformed("no challenge".into())),
        "event_callback" => {
            let event = envelope.event.ok_or_else(|| ChannelError::Malformed("no event".into()))?;
            let event_id = envelope.event_id.ok_or_else(|| ChannelError::Malformed("no event_id".into()))?;
            if event.kind != "message" || event.subtype.is_some() || event.bot_id.is_some() {
                return Ok(SlackRequest::Skip);
            }
            let (Some(channel), Some(ts)) = (event.channel, event.ts) else {
                return Err(ChannelError::Malformed("message without channel or ts".into()));
            };
            let Some(text) = event.text.map(|t| plain_text(t.trim())).filter(|t| !t.is_empty()) else {
                return Ok(SlackRequest::Skip);
            };
            let thread = event.thread_ts.unwrap_or(ts);
            Ok(SlackRequest::Message(Incoming {
                provider_message_id: super::required(&event_id, "event_id")?,
                address: format!("{channel}:{thread}"),
                recipient: None,
                text,
                display_name: event.user,
                thread: Some(thread),
                attachments: Vec::new(),
                unverified: false,
                sent_at: None,
            }))
        }
        _ => Ok(SlackRequest::Skip),
    }
}

/// Slack answers HTTP 200 with `ok: false` when it refuses; some of its errors are passing.
pub(crate) fn web_api_verdict(method: &str, answer: Value) -> Result<Value, PortError> {
    if answer["ok"] == true {
        return Ok(answer);
    }
    let error = answer["error"].as_str().unwrap_or("unreadable answer").to_string();
    let detail = format!("{method}: {error}");
    match error.as_str() {
        "internal_error"
        | "fatal_error"
        | "service_unavailable"
        | "request_timeout"
        | "ratelimited"
        | "unreadable answer" => Err(PortError::Unavailable { port: "slack", detail }),
        _ => Err(PortError::Rejected { port: "slack", detail }),
    }
}

/// Text shown as-is in mrkdwn: Slack's three control characters escaped, so a customer's text
/// cannot mention `<!channel>` or forge a link.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().unwrap()
    }

    #[test]
    fn published_vector() {
        assert_eq!(signature(SECRET, TS, BODY.as_bytes()), EXPECTED);
        assert!(verify(SECRET, Some(TS), Some(EXPECTED), BODY.as_bytes(), at(1531420618)).is_ok());
    }

    #[test]
    fn stale_tampered_wrong_secret_and_missing_headers_are_refused() {
        assert!(
            verify(SECRET, Some(TS), Some(EXPECTED), BODY.as_bytes(), at(1531420618 + 301)).is_err(),
            "replayed late"
        );
        assert!(
            verify(SECRET, Some(TS), Some(EXPECTED), BODY.as_bytes(), at(1531420618 - 301)).is_err(),
            "from the future"
        );
        assert!(
            verify(SECRET, Some(TS), Some(EXPECTED), BODY.as_bytes(), at(1531420618 + 299)).is_ok(),
            "inside the window"
        );
        assert!(verify(SECRET, Some(TS), Some(EXPECTED), b"token=tampered", at(1531420618)).is_err());
        assert!(verify(b"another", Some(TS), Some(EXPECTED), BODY.as_bytes(), at(1531420618)).is_err());
        assert!(verify(SECRET, None, Some(EXPECTED), BODY.as_bytes(), at(1531420618)).is_err());
        assert!(verify(SECRET, Some(TS), None, BODY.as_bytes(), at(1531420618)).is_err());
        assert!(verify(SECRET, Some(TS), Some("v1=abc"), BODY.as_bytes(), at(1531420618)).is_err());
        let empty_key = signature(b"", TS, BODY.as_bytes());
        assert!(verify(b"", Some(TS), Some(&empty_key), BODY.as_bytes(), at(1531420618)).is_err(), "an unset secret");
    }

    #[test]
    fn parses_messages_challenges_and_skips_bots_edits_and_other_events() {
        let challenge = br#"{"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}"#;
        assert_eq!(
            parse(challenge).unwrap(),
            SlackRequest::UrlVerification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".into())
        );
        let message = br#"{"type": "event_callback", "event_id": "Ev01", "event": {"type": "message", "channel": "C123", "user": "U9",
            "text": "Where is my order?", "ts": "1355517523.000005", "channel_type": "channel"}}"#;
        let SlackRequest::Message(m) = parse(message).unwrap() else { panic!("a message") };
        assert_eq!((m.provider_message_id.as_str(), m.address.as_str()), ("Ev01", "C123:1355517523.000005"));
        assert_eq!(m.thread.as_deref(), Some("1355517523.000005"));
        let in_thread = br#"{"type": "event_callback", "event_id": "Ev02", "event": {"type": "message", "channel": "C123", "user": "U9",
            "text": "and?", "ts": "1355517600.000001", "thread_ts": "1355517523.000005"}}"#;
        let SlackRequest::Message(m) = parse(in_thread).unwrap() else { panic!("a message") };
        assert_eq!(m.address, "C123:1355517523.000005", "a reply in the thread is the same conversation");
        for skipped in [
            &br#"{"type": "event_callback", "event_id": "Ev03", "event": {"type": "message", "subtype": "bot_message", "channel": "C1", "text": "x", "ts": "1"}}"#[..],
            br#"{"type": "event_callback", "event_id": "Ev04", "event": {"type": "message", "bot_id": "B1", "channel": "C1", "text": "x", "ts": "1"}}"#,
            br#"{"type": "event_callback", "event_id": "Ev05", "event": {"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "1"}}"#,
            br#"{"type": "event_callback", "event_id": "Ev06", "event": {"type": "reaction_added", "user": "U1"}}"#,
            br#"{"type": "app_rate_limited"}"#,
        ] {
            assert_eq!(parse(skipped).unwrap(), SlackRequest::Skip);
        }
        assert!(parse(b"not json").is_err());
        assert!(parse(br#"{"type": "event_callback", "event": {"type": "message"}}"#).is_err(), "no event_id");
    }

    #[test]
    fn plain_text_unwraps_links_mentions_and_escapes() {
        assert_eq!(plain_text("Fish &amp; chips &lt;3 &gt; all"), "Fish & chips <3 > all");
        assert_eq!(plain_text("see <https://shop.example/o/1234>"), "see https://shop.example/o/1234");
        assert_eq!(plain_text("see <https://shop.example|shop.example>"), "see https://shop.example");
        assert_eq!(plain_text("track <https://t.example/x|here>"), "track here (https://t.example/x)");
        assert_eq!(plain_text("mail <mailto:help@acme.example|help@acme.example>"), "mail help@acme.example");
        assert_eq!(
            plain_text("<@U123|marta> and <@U456> in <#C1|support> <!here>"),
            "@marta and @U456 in #support @here"
        );
        assert_eq!(plain_text("a < b"), "a < b", "an unclosed bracket stays");
        assert_eq!(plain_text("plain"), "plain");
    }

    #[test]
    fn web_api_refusals_are_permanent_and_slack_hiccups_are_not() {
        use serde_json::json;
        assert!(web_api_verdict("m", json!({"ok": true, "ts": "1.2"})).is_ok());
        for refusal in ["channel_not_found", "not_in_channel", "invalid_auth", "missing_scope"] {
            let e = web_api_verdict("m", json!({"ok": false, "error": refusal})).unwrap_err();
            assert!(matches!(e, PortError::Rejected { .. }), "{refusal}: {e}");
        }
        for passing in ["internal_error", "service_unavailable"] {
            let error = web_api_verdict("m", json!({"ok": false, "error": passing})).unwrap_err();
            assert_eq!(
                switchboard_engine::pipeline::Verdict::of(&error),
                switchboard_engine::pipeline::Verdict::Retry,
                "{passing}"
            );
        }
        let unreadable = web_api_verdict("m", Value::Null).unwrap_err();
        assert_eq!(
            switchboard_engine::pipeline::Verdict::of(&unreadable),
            switchboard_engine::pipeline::Verdict::Retry,
            "an unreadable answer may be a proxy's"
        );
    }

    #[test]
    fn customer_text_cannot_ping_the_channel() {
        assert_eq!(escape("<!channel> & <@U1>"), "&lt;!channel&gt; &amp; &lt;@U1&gt;");
        assert_eq!(plain_text(&escape("a <b> & c")), "a <b> & c", "escape and plain_text undo each other");
    }
}
