//! Adapters behind the ports: `memory` is the embedded default (local runs and tests); `aws`
//! (feature `aws`) is production: DynamoDB, SQS, SSM Parameter Store, Bedrock.
#[cfg(feature = "aws")]
pub mod aws;
pub mod memory;

/// The crate's one lock helper, for the adapters' own locks.
pub(crate) use crate::sync::lock;
