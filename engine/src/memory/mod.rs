//! In-memory adapters: the embedded default. They keep the same contracts as the AWS adapters
//! (conditional creates, idempotent turn writes, lock expiry) so local runs behave like
//! production.

mod capacity;
mod conversations;
mod helpdesk;
mod idempotency;
mod ledger;
mod model;
mod queue;
mod simple;
mod tenants;
mod tickets;

pub use conversations::MemoryConversations;
pub use helpdesk::ConsoleHelpdesk;
pub use idempotency::MemoryIdempotency;
pub use ledger::MemoryLedger;
pub use model::{NoModel, ScriptedModel};
pub use queue::MemoryQueue;
pub use simple::{ManualClock, MemoryAllowances, MemoryCustomers, MemoryOutbox, MemorySecrets};
pub use tenants::{MemoryTenantStore, MemoryTenants};
pub use tickets::MemoryTickets;

pub(crate) use switchboard_core::sync::lock;
