//! A pilot's decisions kept for the business to review.

use super::{Channel, ConversationId, Language, MessageId, RolloutMode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the bot made of one customer message in an intent it only shadows or assists with:
/// what the customer wrote, what the bot understood, and what it would have said. The business
/// reads a sample of these to decide when an intent may go `auto` (docs/rollout.md). It is kept
/// with the conversation — an erasure of the conversation erases it — and as long as its turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewItem {
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
