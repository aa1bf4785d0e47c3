//! The domain in plain types: what a message, a customer, a conversation and a decision are.

mod classification;
mod conversation;
mod customer;
mod decision;
mod handoff;
mod ids;
mod language;
mod message;
mod parts;
mod review;

pub use classification::{Classification, ClassifierSource, IntentScore, Sentiment, SentimentLabel, Urgency};
pub use conversation::{Conversation, ConversationState, Role, Turn, TurnCursor};
pub use customer::{Customer, Order};
pub use decision::{
    Decision, Escalation, EscalationPlan, Priority, Rating, Reason, Reply, ReplySource, RolloutMode, TicketRef,
};
pub use handoff::{AgentEvent, EscalationJob, HandoffFailure, TicketComment, Work};
pub use ids::{ConversationId, CustomerId, InvalidId, MessageId, TenantId, VisitorId};
pub use language::Language;
pub use message::{AttachmentNote, Channel, InboundMessage, Sender, WHATSAPP_SERVICE_WINDOW_HOURS};
pub use parts::split;
pub use review::{ReviewItem, ReviewKind};
