//! One message through the steps, ports injected:
//!
//! - [`Inbound`]: verify → normalise (the channel's job, before it calls in) → idempotency
//!   claim → enqueue → ack. Fast: providers want their 2xx.
//! - [`Responder`]: load tenant, conversation, customer, recent turns → classify → policy →
//!   answer and/or escalate → record.
//! - [`EscalationDesk`]: open the helpdesk ticket → hand the conversation to a human.

#[cfg(test)]
mod budget_tests;
mod cascade;
mod escalation;
mod inbound;
#[cfg(test)]
mod order_tests;
#[cfg(test)]
mod pilot_tests;
mod responder;
#[cfg(test)]
mod retention_tests;
#[cfg(test)]
mod tests;
mod verdict;

pub use cascade::{Cascade, ClassifyOutcome};
pub use escalation::EscalationDesk;
pub use inbound::{Ack, Inbound, InboundError};
pub use responder::{Outcome, RespondError, Responder};
pub use verdict::Verdict;

use crate::cost::Costs;
use crate::cost::budget::SpendCache;
use crate::tenant::TenantDirectory;
use std::sync::Arc;
use switchboard_core::ports::{Allowances, ConversationStore, CustomerStore};

/// What the responder reads about a business and its customers.
pub struct Stores {
    tenants: Arc<dyn TenantDirectory>,
    customers: Arc<dyn CustomerStore>,
    conversations: Arc<dyn ConversationStore>,
}

impl Stores {
    /// Tenants, customer profiles, conversations and their turns.
    pub fn new(
        tenants: Arc<dyn TenantDirectory>,
        customers: Arc<dyn CustomerStore>,
        conversations: Arc<dyn ConversationStore>,
    ) -> Self {
        Self { tenants, customers, conversations }
    }
}

/// How the responder meters and caps what it spends.
pub struct Spend {
    costs: Arc<Costs>,
    cache: Arc<SpendCache>,
    allowances: Arc<dyn Allowances>,
}

impl Spend {
    /// Work priced into the ledger by `costs`; budget decisions read each tenant's month at most
    /// once per `budget_refresh`; hosted-model calls for anonymous visitors counted in
    /// `allowances`.
    pub fn new(costs: Arc<Costs>, budget_refresh: std::time::Duration, allowances: Arc<dyn Allowances>) -> Self {
        Self { costs, cache: Arc::new(SpendCache::new(budget_refresh)), allowances }
    }
}
