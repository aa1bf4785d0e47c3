//! In-memory adapters: the embedded default. They keep the same contracts as the AWS adapters
//! (conditional creates, idempotent turn writes, lock expiry) so local runs behave like
//! production.

mod conversations;
mod helpdesk;
mod idempotency;
mod model;
mod queue;
mod simple;
mod tickets;

pub use conversations::MemoryConversations;
pub use helpdesk::ConsoleHelpdesk;
pub use idempotency::MemoryIdempotency;
pub use model::{NoModel, ScriptedModel};
pub use queue::MemoryQueue;
pub use simple::{
    ManualClock, MemoryAllowances, MemoryCustomers, MemoryOutbox, MemorySecrets, MemoryTenants, MemoryUsageLog,
};
pub use tickets::MemoryTickets;

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, recovering the data if a panicking thread poisoned it: every critical section
/// here leaves the maps consistent, so the data is still good.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
