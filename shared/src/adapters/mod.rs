//! Adapters behind the ports: `memory` is the embedded default (local runs and tests); `aws`
//! (feature `aws`) is production: DynamoDB, SQS, SSM Parameter Store, Bedrock.
#[cfg(feature = "aws")]
pub mod aws;
pub mod memory;
