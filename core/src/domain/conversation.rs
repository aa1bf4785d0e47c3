use super::{Channel, ConversationId, CustomerId, Language, MessageId, TenantId, TicketRef};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who owns a conversation. The bot answers only in `Bot`; a handoff makes it step back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "owner", rename_all = "snake_case")]
pub enum ConversationState {
    /// The bot answers.
    Bot,
    /// An escalation is on its way to the helpdesk; no ticket yet, but the bot is already quiet.
    HandoffPending {
        /// The customer message whose escalation is in flight: a redelivery of that same
        /// message must still be able to finish handing over.
        escalation: MessageId,
        /// When the bot handed over.
        since: DateTime<Utc>,
    },
    /// A human agent owns the conversation through a helpdesk ticket.
    HumanOwned {
        /// The helpdesk ticket.
        ticket: TicketRef,
        /// When the ticket was opened.
        since: DateTime<Utc>,
    },
}

impl ConversationState {
    /// True while a human has (or is about to have) the conversation.
    pub fn human_owned(&self) -> bool {
        !matches!(self, ConversationState::Bot)
    }
}

/// One thread with one customer on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Its id.
    pub id: ConversationId,
    /// The business.
    pub tenant: TenantId,
    /// The channel it runs on.
    pub channel: Channel,
    /// The channel address of the customer (visitor id, phone...). Personal data.
    pub address: String,
    /// The verified customer, once one has been proven.
    pub customer: Option<CustomerId>,
    /// Who owns it.
    pub state: ConversationState,
    /// The language the conversation has been running in.
    pub language: Option<Language>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When the customer last wrote.
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// The provider's reference of the customer's latest message, to answer in its thread.
    #[serde(default)]
    pub thread: Option<String>,
}

impl Conversation {
    /// A new bot-owned conversation.
    pub fn new(id: ConversationId, tenant: TenantId, channel: Channel, address: String, now: DateTime<Utc>) -> Self {
        Self {
            id,
            tenant,
            channel,
            address,
            customer: None,
            state: ConversationState::Bot,
            language: None,
            started_at: now,
            last_inbound_at: None,
            thread: None,
        }
    }
}

/// Who wrote a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The customer.
    Customer,
    /// The bot's answer.
    Bot,
    /// A human agent.
    Agent,
    /// A notice from the system (handoff to a human...).
    System,
}

/// Where a turn sits in its conversation: turns sort by it, and web chat clients resume after it.
/// The customer's message's arrival time plus the message id, so that a redelivered message and
/// its answers land on the same keys instead of new ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TurnCursor(String);

impl TurnCursor {
    /// The cursor of message `id` whose conversation step started at `at`.
    pub fn new(at: DateTime<Utc>, id: &MessageId) -> Self {
        // URL-safe, so clients can pass it back in a query string unencoded.
        Self(format!("{:013}-{}", at.timestamp_millis().max(0), id))
    }

    /// Parses a cursor a client sent back; `None` when it is not one of ours.
    pub fn parse(raw: &str) -> Option<Self> {
        let (millis, id) = raw.split_once('-')?;
        if millis.len() != 13 || !millis.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        MessageId::new(id).ok()?;
        Some(Self(raw.to_string()))
    }

    /// The cursor as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One message in a conversation, as stored and as the web chat shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// The message id.
    pub id: MessageId,
    /// Its position.
    pub cursor: TurnCursor,
    /// Who wrote it.
    pub role: Role,
    /// What was written.
    pub text: String,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The intent the classifier gave a customer turn, so repeats can be counted.
    pub intent: Option<String>,
    /// An answer the channel has accepted: a redelivered message does not send it again.
    #[serde(default)]
    pub delivered: bool,
    /// How many parts of a split answer the provider has accepted: a retry sends the rest.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub parts_sent: u16,
    /// Its place in the order the conversation's turns were written (1, 2, …), assigned by the
    /// store on the first write and kept on rewrites: the long poll's cursor. 0 until stored.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seq: u64,
}

impl Turn {
    /// A turn by `role` written at `at`, placed at `cursor`: not yet classified, delivered or
    /// stored.
    pub fn new(id: MessageId, cursor: TurnCursor, role: Role, text: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self { id, cursor, role, text: text.into(), at, intent: None, delivered: false, parts_sent: 0, seq: 0 }
    }

    /// The customer's turn of `message`, with the intent it was classified as.
    pub fn of_customer(message: &super::InboundMessage, intent: Option<String>) -> Self {
        let cursor = TurnCursor::new(message.received_at, &message.id);
        let turn = Self::new(message.id.clone(), cursor, Role::Customer, message.turn_text(), message.received_at);
        Self { intent, ..turn }
    }
}

fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}
