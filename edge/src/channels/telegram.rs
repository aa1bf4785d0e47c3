//! Telegram bots: every webhook POST carries `X-Telegram-Bot-Api-Secret-Token` (the secret given
//! to `setWebhook`), compared in constant time; the body is one `Update`, de-duplicated by
//! `update_id`. Answers go out through `sendMessage`.

use super::{ChannelError, Incoming};
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// Checks the secret token header.
pub fn verify(secret: &[u8], header: Option<&str>) -> Result<(), ChannelError> {
    let given = header.ok_or(ChannelError::Unauthorized("missing X-Telegram-Bot-Api-Secret-Token"))?;
    if secret.is_empty() || !bool::from(given.as_bytes().ct_eq(secret)) {
        return Err(ChannelError::Unauthorized("X-Telegram-Bot-Api-Secret-Token does not match"));
    }
    Ok(())
}

#[derive(Deserialize)]
struct Update {
    update_id: i64,
    #[serde(default)]
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    chat: Chat,
    /// Unix seconds, when the user sent it.
    #[serde(default)]
    date: Option<i64>,
    #[serde(default)]
    from: Option<User>,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    is_bot: bool,
    #[serde(default)]
    first_name: Option<String>,
}

/// The customer message in an update. Edits, channel posts, callbacks, bots and messages
/// without text (stickers, photos) are acknowledged and skipped.
pub fn parse(body: &[u8]) -> Result<Option<Incoming>, ChannelError> {
    let update: Update = serde_json::from_slice(body).map_err(|e| ChannelError::Malformed(format!("update: {e}")))?;
    let Some(message) = update.message else { return Ok(None) };
    if message.from.as_ref().is_some_and(|u| u.is_bot) {
        return Ok(None);
    }
    let Some(text) = message.text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) else { return Ok(None) };
    Ok(Some(Incoming {
        provider_message_id: update.update_id.to_string(),
        address: message.chat.id.to_string(),
        recipient: None,
        text,
        display_name: message.from.and_then(|u| u.first_name),
        thread: None,
        attachments: Vec::new(),
        unverified: false,
        sent_at: message.date.and_then(|d| chrono::DateTime::from_timestamp(d, 0)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_token_must_match_exactly() {
        assert!(verify(b"s3cret_token-1", Some("s3cret_token-1")).is_ok());
        assert!(verify(b"s3cret_token-1", Some("s3cret_token-2")).is_err());
        assert!(verify(b"s3cret_token-1", Some("s3cret_token-1 ")).is_err());
        assert!(verify(b"s3cret_token-1", None).is_err());
        assert!(verify(b"", Some("")).is_err(), "an unset secret verifies nothing");
    }

    #[test]
    fn parses_text_messages_and_skips_everything_else() {
        let text = br#"{"update_id": 10000, "message": {"message_id": 1365, "from": {"id": 1111111, "is_bot": false, "first_name": "Ana"},
            "chat": {"id": 1111111, "type": "private"}, "date": 1700000000, "text": "Where is my order?"}}"#;
        let m = parse(text).unwrap().unwrap();
        assert_eq!(
            (m.provider_message_id.as_str(), m.address.as_str(), m.text.as_str()),
            ("10000", "1111111", "Where is my order?")
        );
        assert_eq!(m.display_name.as_deref(), Some("Ana"));
        for skipped in [
            &br#"{"update_id": 1, "edited_message": {"chat": {"id": 1}, "text": "x"}}"#[..],
            br#"{"update_id": 2, "callback_query": {"id": "1"}}"#,
            br#"{"update_id": 3, "message": {"chat": {"id": 1}, "sticker": {}}}"#,
            br#"{"update_id": 4, "message": {"chat": {"id": 1}, "from": {"id": 2, "is_bot": true}, "text": "beep"}}"#,
        ] {
            assert_eq!(parse(skipped).unwrap(), None);
        }
        assert!(matches!(parse(b"{not json"), Err(ChannelError::Malformed(_))));
        assert!(matches!(parse(br#"{"message": {}}"#), Err(ChannelError::Malformed(_))));
    }
}
