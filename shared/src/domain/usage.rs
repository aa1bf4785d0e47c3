use super::{Channel, ClassifierSource, ConversationId, MessageId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What one step of the pipeline used, counted as it happens, so cost is measured, not guessed.
/// The cost ledger prices these counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// The request (inbound call) the work belongs to.
    pub request_id: String,
    /// The business billed.
    pub tenant: Option<TenantId>,
    /// The channel.
    pub channel: Option<Channel>,
    /// The conversation.
    pub conversation: Option<ConversationId>,
    /// The customer message.
    pub message: Option<MessageId>,
    /// When it was recorded.
    pub at: Option<DateTime<Utc>>,
    /// Which classifier decided.
    pub classifier: Option<ClassifierSource>,
    /// What was decided.
    pub decision: Option<String>,
    /// Store reads (items or read units).
    pub store_reads: u32,
    /// Store writes (items or write units).
    pub store_writes: u32,
    /// Messages sent to queues.
    pub queue_sends: u32,
    /// Messages sent to the customer through the channel.
    pub channel_sends: u32,
    /// What the AWS adapters reported consuming (capacity units, requests, tokens).
    pub metered: crate::meter::Metered,
}
