//! How long a message each channel takes, and an answer cut into parts that fit.

use super::Channel;

impl Channel {
    /// The longest text one message may carry on this channel, in characters; `None` where an
    /// answer goes whole (e-mail, the web chat). From each provider's API reference: Twilio's
    /// Messages API 1,600, Telegram's `sendMessage` 4,096, WhatsApp Cloud API text 4,096,
    /// Slack's `chat.postMessage` 4,000.
    pub const fn text_limit(self) -> Option<usize> {
        match self {
            Channel::TwilioSms | Channel::TwilioWhatsapp => Some(1600),
            Channel::Telegram | Channel::WhatsappCloud => Some(4096),
            Channel::Slack => Some(4000),
            Channel::Email | Channel::Webchat => None,
        }
    }

    /// The parts an answer is sent in on this channel: at most [`Channel::text_limit`] each.
    pub fn parts(self, text: &str) -> Vec<String> {
        match self.text_limit() {
            Some(limit) => split(text, limit),
            None => vec![text.to_string()],
        }
    }
}

/// Splits `text` into parts of at most `max_chars` characters, on word boundaries when possible.
pub fn split(text: &str, max_chars: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for word in text.split_inclusive(char::is_whitespace) {
        if current.chars().count() + word.chars().count() > max_chars && !current.is_empty() {
            parts.push(current.trim_end().to_string());
            current.clear();
        }
        if word.chars().count() > max_chars {
            let chars: Vec<char> = word.chars().collect();
            for chunk in chars.chunks(max_chars) {
                parts.push(chunk.iter().collect());
            }
            continue;
        }
        current.push_str(word);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim_end().to_string());
    }
    parts
}
