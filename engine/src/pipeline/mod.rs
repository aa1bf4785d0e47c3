//! One message through the steps, ports injected:
//!
//! - [`Inbound`]: verify → normalise (the channel's job, before it calls in) → idempotency
//!   claim → enqueue → ack. Fast: providers want their 2xx.
//! - [`Responder`]: load tenant, conversation, customer, recent turns → classify → policy →
//!   answer and/or escalate → record.
//! - [`EscalationDesk`]: open the helpdesk ticket → hand the conversation to a human.

mod cascade;
mod escalation;
mod inbound;
mod responder;
#[cfg(test)]
mod tests;
mod verdict;

pub use cascade::{Cascade, ClassifyOutcome};
pub use escalation::EscalationDesk;
pub use inbound::{Ack, Inbound, InboundError};
pub use responder::{Outcome, RespondError, Responder};
pub use verdict::Verdict;
