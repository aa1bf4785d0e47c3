//! A tenant's configuration as its YAML says it: plain data, the business hours it implies,
//! parsing it, and the checks that need nothing compiled (fields, references between them, its
//! secrets' and endpoints' references). The checks that compile templates and models are the
//! engine's (`tenant`).

mod channels;
mod data;
mod helpdesks;
mod hours;
mod references;
mod types;
mod validate;

pub use channels::*;
pub use data::*;
pub use helpdesks::*;
pub use hours::{Availability, Schedule};
pub use types::*;
pub use validate::budget_of;

use std::fmt;

/// One problem in a tenant configuration, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path of the field (`intents[2].examples.en`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// A tenant configuration that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Where the configuration came from (file name, table key).
    pub source_name: String,
    /// What is wrong, field by field.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid tenant configuration {}:", self.source_name)?;
        for p in &self.problems {
            write!(f, "\n  {}: {}", p.field, p.message)?;
        }
        Ok(())
    }
}

/// The demo tenant, built into every binary so the embedded default runs with no files.
pub const DEMO_TENANT_YAML: &str = include_str!("../../../infra/tenants/demo.yaml");

/// The authserv-id Postmark's inbound servers are taken to stamp their verdicts with, unless a
/// tenant configures another (`channels.email.authserv_id`): the receiving host its documented
/// inbound example names (`receiver=…@inbound.postmarkapp.com` in its `Received-SPF`).
pub const POSTMARK_AUTHSERV_ID: &str = "inbound.postmarkapp.com";
