//! SQS queues: the messages queue is FIFO (one message group per conversation, so a
//! conversation is answered in order; deduplication id from the provider's message id, so a
//! provider retry within five minutes is dropped by SQS itself); the escalation queue is standard.

use crate::domain::{Escalation, InboundMessage};
use crate::meter::report;
use crate::ports::{EscalationQueue, MessageQueue, PortError};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use sha2::{Digest, Sha256};

/// SQS ids allow at most 128 characters from a limited set: hash anything that might not fit.
fn sqs_id(raw: &str) -> String {
    let fits = raw.len() <= 128 && raw.chars().all(|c| c.is_ascii_alphanumeric() || "-_:#.".contains(c));
    if fits { raw.to_string() } else { hex::encode(Sha256::digest(raw.as_bytes())) }
}

async fn send(
    client: &Client,
    url: &str,
    port: &'static str,
    body: String,
    group: Option<(String, String)>,
) -> Result<(), PortError> {
    let mut request = client.send_message().queue_url(url).message_body(body);
    if let Some((group, dedup)) = group {
        request = request.message_group_id(group).message_deduplication_id(dedup);
    }
    report(|m| m.sqs_requests += 1);
    request.send().await.map(|_| ()).map_err(|e| super::unavailable(port, e))
}

/// The messages queue (FIFO).
#[derive(Debug, Clone)]
pub struct SqsMessageQueue {
    client: Client,
    url: String,
}

impl SqsMessageQueue {
    /// The FIFO queue at `url`.
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self { client, url: url.into() }
    }
}

#[async_trait]
impl MessageQueue for SqsMessageQueue {
    async fn enqueue(&self, message: &InboundMessage) -> Result<(), PortError> {
        let body = serde_json::to_string(message)
            .map_err(|e| PortError::Corrupt { port: "message queue", detail: e.to_string() })?;
        let group = sqs_id(&format!("{}#{}", message.tenant, message.conversation));
        let dedup = sqs_id(&format!("{}:{}:{}", message.tenant, message.channel, message.provider_message_id));
        send(&self.client, &self.url, "message queue", body, Some((group, dedup))).await
    }
}

/// The escalation queue (standard).
#[derive(Debug, Clone)]
pub struct SqsEscalationQueue {
    client: Client,
    url: String,
}

impl SqsEscalationQueue {
    /// The queue at `url`.
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self { client, url: url.into() }
    }
}

#[async_trait]
impl EscalationQueue for SqsEscalationQueue {
    async fn enqueue(&self, escalation: &Escalation) -> Result<(), PortError> {
        let body = serde_json::to_string(escalation)
            .map_err(|e| PortError::Corrupt { port: "escalation queue", detail: e.to_string() })?;
        send(&self.client, &self.url, "escalation queue", body, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::sqs_id;

    #[test]
    fn ids_that_fit_stay_readable_and_others_are_hashed() {
        assert_eq!(sqs_id("demo#c_1"), "demo#c_1");
        assert_eq!(sqs_id(&"a".repeat(129)).len(), 64);
        assert_eq!(sqs_id("demo:webchat:v 1"), sqs_id("demo:webchat:v 1"));
        assert_ne!(sqs_id("demo:webchat:v 1"), "demo:webchat:v 1");
    }
}
