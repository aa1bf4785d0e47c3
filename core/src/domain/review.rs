//! Messages kept for the business to review: a pilot's decisions, and the questions the bot
//! could not answer.

use super::{Channel, ConversationId, Language, MessageId, RolloutMode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the bot made of one customer message: what the customer wrote, what the bot understood,
/// and what it would have said. A pilot's sample tells the business when an intent may go
/// `auto` (docs/rollout.md); the unanswered ones what to write next. It is kept with the
/// conversation — an erasure of the conversation erases it — and as long as its turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewItem {
    /// Why it is kept.
    #[serde(default)]
    pub kind: ReviewKind,
    /// The conversation.
    pub conversation: ConversationId,
    /// The customer's message.
    pub message: MessageId,
    /// When the decision was made.
    pub at: DateTime<Utc>,
    /// The channel.
    pub channel: Channel,
    /// `shadow` or `assist`.
    pub mode: RolloutMode,
    /// The intent understood (none: not recognised).
    pub intent: Option<String>,
    /// How sure the classifier was.
    pub confidence: f32,
    /// The reply's language.
    pub language: Language,
    /// What the customer wrote.
    pub text: String,
    /// What the bot would have done: `answer`, `escalate`, `answer_and_escalate`.
    pub decision: String,
    /// What it would have said (in assist mode: the agent's draft).
    pub reply: Option<String>,
    /// Why it would have handed over, in words.
    pub reasons: Vec<String>,
}

/// Why a message is kept for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewKind {
    /// A decision in an intent the bot only shadows or assists with (a sample).
    #[default]
    Pilot,
    /// A question handed to a person because the bot had no answer it trusted (no grounded
    /// answer, unsure what was asked, or asked again and again): what to write next.
    Unanswered,
}

impl ReviewKind {
    /// Its name in keys and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewKind::Pilot => "pilot",
            ReviewKind::Unanswered => "unanswered",
        }
    }
}
