//! Switchboard: automated customer conversations for small businesses, on AWS Lambda.
//!
//! This crate is the one door the functions, the CLI, the tests and the benchmarks use: it
//! re-exports the four layers under one name, each module from the crate that owns it. The layers
//! depend downwards only, and Cargo enforces it:
//!
//! - `switchboard-core`: domain, configuration, ledger records, ports, the meter;
//! - `switchboard-engine`: classify, reply, policy, tenants, costs, limits, the pipeline, the
//!   memory adapters;
//! - `switchboard-edge`: channels, helpdesks, the web router, the HTTP client, the embedded app;
//! - `switchboard-aws` (feature `aws`): the AWS adapters, the production wiring, the Lambda
//!   runners.
//!
//! Start at [`pipeline`]; docs/architecture.md has the map.

pub use switchboard_core::{config, domain, keys, ledger, meter, metrics, ports, telemetry};
pub use switchboard_edge::{channels, embedded, helpdesks, http, lookups, shops, web};
#[cfg(feature = "testkit")]
pub use switchboard_engine::contract;
pub use switchboard_engine::{classify, cost, customers, limits, pipeline, policy, reply, tenant};
#[cfg(feature = "cli")]
pub use switchboard_engine::{eval, history, knowledge};

/// The adapters behind the ports: `memory` is the embedded default (local runs and tests);
/// `aws` (feature `aws`) is production: DynamoDB, SQS, SSM Parameter Store, Bedrock.
pub mod adapters {
    #[cfg(feature = "aws")]
    pub use switchboard_aws::adapters as aws;
    pub use switchboard_engine::memory;
}

#[cfg(feature = "aws")]
pub use switchboard_aws::{app as aws_app, lambda};

pub use domain::*;
pub use tenant::{Tenant, TenantConfig};
