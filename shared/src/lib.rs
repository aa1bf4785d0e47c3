//! Switchboard: automated customer conversations for small businesses, on AWS Lambda.
//!
//! The crate holds the domain, the pipeline and the ports every function shares; the functions
//! and the `switchboard` CLI are thin wiring around it. Start at [`pipeline`].

pub mod adapters;
#[cfg(feature = "aws")]
pub mod aws_app;
pub mod channels;
pub mod classify;
pub mod config;
pub mod contract;
pub mod cost;
pub mod domain;
pub mod embedded;
pub mod eval;
pub mod helpdesks;
pub mod http;
pub mod keys;
pub mod lambda;
pub mod ledger;
pub mod limits;
pub mod meter;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod ports;
pub mod reply;
mod sync;
pub mod telemetry;
pub mod tenant;
pub mod web;

pub use domain::*;
pub use tenant::{Tenant, TenantConfig};
