//! What travels between the helpdesk and the conversation once a human is involved: customer
//! messages appended to the ticket, and the agent's replies and "solved" coming back.

use super::{Channel, ConversationId, Escalation, InboundMessage, MessageId, TenantId, TicketRef};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A customer message written while a human owns the conversation: appended to the ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketComment {
    /// The business.
    pub tenant: TenantId,
    /// The conversation.
    pub conversation: ConversationId,
    /// Its channel.
    pub channel: Channel,
    /// The customer message (the comment's idempotency key).
    pub message: MessageId,
    /// The ticket to append to, when the conversation already knew it.
    pub ticket: Option<TicketRef>,
    /// Otherwise the escalation whose ticket it is (still being opened).
    pub escalation: Option<MessageId>,
    /// What the customer wrote.
    pub text: String,
    /// When the customer wrote it.
    pub at: DateTime<Utc>,
    /// The inbound request id, to follow it through the logs.
    pub request_id: String,
}

/// A job on the escalation queue: open a ticket, or append to one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum EscalationJob {
    /// Open a ticket.
    Open(Box<Escalation>),
    /// Append a customer message to the ticket.
    Comment(Box<TicketComment>),
}

impl EscalationJob {
    /// The tenant the job belongs to.
    pub fn tenant(&self) -> &TenantId {
        match self {
            EscalationJob::Comment(c) => &c.tenant,
            EscalationJob::Open(e) => &e.tenant,
        }
    }
}

/// What an agent did on a ticket, as a verified helpdesk callback told us.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentEvent {
    /// Our id for the agent's turn, derived from the helpdesk's event, so a repeated callback
    /// writes the same turn.
    pub id: MessageId,
    /// The business.
    pub tenant: TenantId,
    /// The conversation the ticket belongs to.
    pub conversation: ConversationId,
    /// The ticket.
    pub ticket: TicketRef,
    /// The agent's reply to the customer, if the event carries one.
    pub reply: Option<String>,
    /// The ticket is solved or closed: the bot takes the conversation back.
    pub solved: bool,
    /// When the callback arrived.
    pub at: DateTime<Utc>,
    /// The callback's request id.
    pub request_id: String,
}

impl AgentEvent {
    /// A stable turn id for the helpdesk's event `key` (ticket and comment id, say).
    pub fn id_for(helpdesk: &str, key: &str) -> MessageId {
        let digest = Sha256::digest(format!("{helpdesk}\n{key}").as_bytes());
        let id = format!("a_{}", hex::encode(&digest[..16]));
        MessageId::new(id).unwrap_or_else(|_| MessageId::generate())
    }
}

/// A handoff that could not reach a person: its ticket was refused for good. Travels on the
/// messages queue so the responder hands the conversation back to the bot and tells the
/// customer, through the channel's sender, in the conversation's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoffFailure {
    /// The business.
    pub tenant: TenantId,
    /// The conversation.
    pub conversation: ConversationId,
    /// The escalation that failed (the customer message that asked for it).
    pub escalation: MessageId,
    /// Why, for logs and the metric (no personal data).
    pub reason: String,
    /// When it failed.
    pub at: DateTime<Utc>,
    /// The escalation's request id.
    pub request_id: String,
}

/// A job on the messages queue: a customer's message, or an agent's action, in the
/// conversation's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Work {
    /// A customer wrote.
    Customer(Box<InboundMessage>),
    /// An agent replied or solved the ticket.
    Agent(AgentEvent),
    /// A handoff failed: the bot takes the conversation back.
    HandoffFailed(HandoffFailure),
}

impl Work {
    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        match self {
            Work::Agent(a) => &a.tenant,
            Work::Customer(m) => &m.tenant,
            Work::HandoffFailed(f) => &f.tenant,
        }
    }

    /// The conversation (the FIFO group).
    pub fn conversation(&self) -> &ConversationId {
        match self {
            Work::Agent(a) => &a.conversation,
            Work::Customer(m) => &m.conversation,
            Work::HandoffFailed(f) => &f.conversation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_turn_ids_are_stable_per_event_and_valid() {
        let a = AgentEvent::id_for("zendesk", "42:1001");
        assert_eq!(a, AgentEvent::id_for("zendesk", "42:1001"));
        assert_ne!(a, AgentEvent::id_for("zendesk", "42:1002"));
        assert_ne!(a, AgentEvent::id_for("freshdesk", "42:1001"));
    }

    #[test]
    fn jobs_say_what_they_are_on_the_wire() {
        let event = AgentEvent {
            id: AgentEvent::id_for("zendesk", "1"),
            tenant: TenantId::new("demo").unwrap(),
            conversation: ConversationId::new("c_1").unwrap(),
            ticket: TicketRef { helpdesk: "zendesk".into(), id: "1".into(), url: None },
            reply: Some("hi".into()),
            solved: false,
            at: Utc::now(),
            request_id: "r".into(),
        };
        let wire = serde_json::to_value(Work::Agent(event.clone())).unwrap();
        assert_eq!(wire["kind"], "agent");
        assert_eq!(serde_json::from_value::<Work>(wire).unwrap(), Work::Agent(event));
    }
}
