//! Adapters behind the ports: `memory` is the embedded default (local runs and tests); `aws`
//! (feature `aws`) is production: DynamoDB, SQS, SSM Parameter Store, Bedrock.
#[cfg(feature = "aws")]
pub mod aws;
pub mod memory;

use crate::ports::{ChannelSender, Outbound, PortError};
use async_trait::async_trait;

/// The channel of conversations whose answers are only stored: the web chat widget fetches them.
/// (Push channels get their senders in Step 3.)
#[derive(Debug, Clone, Copy, Default)]
pub struct StoredOnly;

#[async_trait]
impl ChannelSender for StoredOnly {
    async fn send(&self, _outbound: Outbound<'_>) -> Result<(), PortError> {
        Ok(())
    }
}
