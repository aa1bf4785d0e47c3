//! Switchboard on AWS: the adapters behind the ports (DynamoDB, SQS, SSM Parameter Store,
//! Bedrock), the production wiring the functions start from ([`app`]) and the Lambda batch
//! runners ([`lambda`]). The only crate that links the AWS SDK or a Lambda crate.

pub mod adapters;
pub mod app;
pub mod lambda;
