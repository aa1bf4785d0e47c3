//! Switchboard's engine: what happens to a message between the webhook and the reply. It
//! classifies ([`classify`]), composes replies ([`reply`]), decides ([`policy`]), compiles
//! tenants ([`tenant`]), prices and limits ([`cost`], [`limits`]) and runs the [`pipeline`];
//! [`memory`] holds the adapters of the embedded default. No HTTP server, client or AWS here.

pub mod classify;
#[cfg(any(test, feature = "testkit"))]
pub mod contract;
pub mod cost;
pub mod customers;
#[cfg(any(test, feature = "cli"))]
pub mod eval;
#[cfg(feature = "cli")]
pub mod history;
#[cfg(feature = "cli")]
pub mod knowledge;
pub mod limits;
pub mod memory;
pub mod pipeline;
pub mod policy;
pub mod reply;
pub mod tenant;

pub use tenant::Tenant;
