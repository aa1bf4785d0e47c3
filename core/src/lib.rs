//! Switchboard's core: the domain in plain types (messages, customers, conversations, decisions),
//! the ledger's records, a tenant's configuration with the checks that need nothing compiled, the
//! ports every adapter implements, and the meter the adapters count billing units on.
//!
//! Everything else builds on this crate; it depends on no web framework, HTTP client, template
//! engine, AWS or Lambda crate (scripts/check-layers.py keeps it so).

pub mod config;
pub mod domain;
pub mod keys;
pub mod ledger;
pub mod meter;
pub mod metrics;
pub mod ports;
pub mod sync;
pub mod telemetry;

pub use domain::*;
