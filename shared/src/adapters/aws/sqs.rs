//! SQS queues: the messages queue is FIFO (one message group per conversation, so a
//! conversation is answered in order; deduplication id from the provider's message id, so a
//! provider retry within five minutes is dropped by SQS itself); the escalation queue is standard.

use crate::domain::{EscalationJob, Work};
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
    async fn enqueue(&self, work: &Work) -> Result<(), PortError> {
        let body = serde_json::to_string(work)
            .map_err(|e| PortError::Corrupt { port: "message queue", detail: e.to_string() })?;
        let group = sqs_id(&format!("{}#{}", work.tenant(), work.conversation()));
        let dedup = match work {
            Work::Customer(m) => sqs_id(&format!("{}:{}:{}", m.tenant, m.channel, m.provider_message_id)),
            Work::Agent(a) => sqs_id(&format!("{}:agent:{}", a.tenant, a.id)),
        };
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
    async fn enqueue(&self, job: &EscalationJob) -> Result<(), PortError> {
        let body = serde_json::to_string(job)
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

/// A queue and its dead-letter queue, as created by [`create_queues`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePair {
    /// The queue.
    pub url: String,
    /// Its dead-letter queue.
    pub dlq_url: String,
}

/// Creates queue `name` (FIFO when `fifo`; `.fifo` is appended) and its dead-letter queue, with
/// a redrive after `max_receives` receives: for tests and local runs; production queues come from
/// the SAM template. Creating an existing queue with the same attributes returns it.
pub async fn create_queues(
    client: &Client,
    name: &str,
    fifo: bool,
    max_receives: u32,
    visibility_seconds: u32,
) -> Result<QueuePair, PortError> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let port = "queue setup";
    let suffix = if fifo { ".fifo" } else { "" };
    let mut dlq = client.create_queue().queue_name(format!("{name}-dlq{suffix}"));
    if fifo {
        dlq = dlq.attributes(A::FifoQueue, "true");
    }
    let dlq_url =
        dlq.send().await.map_err(|e| super::unavailable(port, e))?.queue_url().unwrap_or_default().to_string();
    let attrs = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .map_err(|e| super::unavailable(port, e))?;
    let arn = attrs.attributes().and_then(|a| a.get(&A::QueueArn)).cloned().unwrap_or_default();
    let redrive =
        serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_receives.to_string()}).to_string();
    let mut queue = client
        .create_queue()
        .queue_name(format!("{name}{suffix}"))
        .attributes(A::RedrivePolicy, redrive)
        .attributes(A::VisibilityTimeout, visibility_seconds.to_string());
    if fifo {
        queue = queue.attributes(A::FifoQueue, "true");
    }
    let url = queue.send().await.map_err(|e| super::unavailable(port, e))?.queue_url().unwrap_or_default().to_string();
    Ok(QueuePair { url, dlq_url })
}
