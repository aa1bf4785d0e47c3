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
pub use tenants::{MemoryTenantStore, MemoryTenants, Seeds};
pub use tickets::MemoryTickets;

pub(crate) use switchboard_core::sync::lock;

use std::sync::Arc;
use switchboard_core::ports::{Clock, KeepUntil, SystemClock};

/// The clock a memory adapter ages kept items by: the wall clock, as the table's TTL, unless a
/// test or the embedded app gives its own (a test's clock set in the past would otherwise see
/// everything it wrote as expired).
#[derive(Clone)]
struct Aging(Arc<dyn Clock>);

impl Default for Aging {
    fn default() -> Self {
        Self(Arc::new(SystemClock))
    }
}

impl std::fmt::Debug for Aging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Aging").field(&self.0.now()).finish()
    }
}

impl Aging {
    /// Whether an item kept until `until` is gone now.
    fn expired(&self, until: KeepUntil) -> bool {
        switchboard_core::ports::expired(until, self.0.now())
    }
}
