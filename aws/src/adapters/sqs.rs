//! SQS queues: the messages queue is FIFO (one message group per conversation, so a
//! conversation is answered in order; deduplication id from the provider's message id, so a
//! provider retry within five minutes is dropped by SQS itself); the escalation queue is standard.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use sha2::{Digest, Sha256};
use std::time::Duration;
use switchboard_core::domain::{EscalationJob, Work};
use switchboard_core::ports::{EscalationQueue, MessageQueue, PortError};

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
    let (body_len, fifo) = (body.len(), group.is_some());
    let mut request = client.send_message().queue_url(url).message_body(body);
    if let Some((group, dedup)) = group {
        request = request.message_group_id(group).message_deduplication_id(dedup);
    }
    switchboard_engine::cost::units::report_sqs_send(body_len, fifo);
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
            Work::HandoffFailed(f) => sqs_id(&format!("{}:failed:{}", f.tenant, f.escalation)),
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

/// What the SQS-triggered functions do to a record besides reporting it failed: bring it back
/// sooner than the visibility timeout (after its backoff, or the other side's `Retry-After`), or
/// park it in the dead-letter queue at once (a permanent refusal, which no retry will fix).
#[derive(Debug, Clone)]
pub struct SqsRedelivery {
    client: Client,
    queue_url: String,
    dlq_url: String,
    first_retry: Duration,
    longest_wait: Duration,
}

impl SqsRedelivery {
    /// Records of `queue_url`, parked in `dlq_url`.
    pub fn new(client: Client, queue_url: impl Into<String>, dlq_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            dlq_url: dlq_url.into(),
            first_retry: crate::lambda::FIRST_RETRY,
            longest_wait: crate::lambda::LONGEST_WAIT,
        }
    }

    /// Another backoff (tests run queues with a visibility timeout of a second).
    pub fn with_backoff(self, first_retry: Duration, longest_wait: Duration) -> Self {
        Self { first_retry, longest_wait, ..self }
    }
}

#[async_trait]
impl crate::lambda::Redelivery for SqsRedelivery {
    async fn delay(&self, records: &[(&str, Duration)]) -> Result<(), PortError> {
        use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry as Entry;
        // A batch takes at most ten entries, as many as an event source mapping's batch.
        for chunk in records.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, (handle, wait))| {
                    // SQS allows at most 12 hours.
                    let seconds = wait.as_secs().min(12 * 3600) as i32;
                    Entry::builder().id(i.to_string()).receipt_handle(*handle).visibility_timeout(seconds).build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| PortError::Corrupt { port: "queue", detail: e.to_string() })?;
            // One request, no payload: billed like the delete of a consumed record.
            switchboard_engine::cost::units::report_sqs_send(0, self.queue_url.ends_with(".fifo"));
            let sent = self
                .client
                .change_message_visibility_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| super::unavailable("queue", e))?;
            if let Some(failed) = sent.failed().first() {
                return Err(PortError::Unavailable {
                    port: "queue",
                    detail: format!(
                        "{} of {} records not handed back: {}",
                        sent.failed().len(),
                        chunk.len(),
                        failed.code()
                    ),
                });
            }
        }
        Ok(())
    }

    fn backoff(&self, receives: u32) -> Duration {
        crate::lambda::backoff(self.first_retry, self.longest_wait, receives)
    }

    async fn park(&self, body: &str, reason: &str) -> Result<(), PortError> {
        use aws_sdk_sqs::types::MessageAttributeValue;
        let reason = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(reason.chars().take(256).collect::<String>())
            .build()
            .map_err(|e| PortError::Corrupt { port: "dead-letter queue", detail: e.to_string() })?;
        switchboard_engine::cost::units::report_sqs_send(body.len(), self.dlq_url.ends_with(".fifo"));
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.dlq_url)
            .message_body(body)
            .message_attributes("switchboard_error", reason);
        if self.dlq_url.ends_with(".fifo") {
            // A FIFO dead-letter queue wants a group and a de-duplication id: the same body
            // parked twice (a retried park) is one letter.
            let digest = hex::encode(sha2::Sha256::digest(body.as_bytes()));
            send = send.message_group_id("parked").message_deduplication_id(digest);
        }
        send.send().await.map(|_| ()).map_err(|e| super::unavailable("dead-letter queue", e))
    }
}

/// A message in a dead-letter queue, as `switchboard dlq list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    /// SQS's message id.
    pub message_id: String,
    /// The body, as queued.
    pub body: String,
    /// How often it was received before it was parked.
    pub receive_count: u32,
    /// Why it was parked directly, when the escalation function did so.
    pub error: Option<String>,
}

/// Every message in the dead-letter queue `dlq_url`, without removing any: each is received,
/// then made visible again.
pub async fn dead_letters(client: &Client, dlq_url: &str) -> Result<Vec<DeadLetter>, PortError> {
    let received = receive_all(client, dlq_url).await?;
    for m in &received {
        make_visible(client, dlq_url, m).await;
    }
    Ok(received.iter().map(dead_letter).collect())
}

/// Moves dead letters back to `queue_url` (all, or only `only`), deleting each from the DLQ once
/// it is queued again: a crash in between leaves a copy in both, never none. Returns how many
/// moved.
pub async fn redrive(client: &Client, dlq_url: &str, queue_url: &str, only: Option<&str>) -> Result<usize, PortError> {
    use aws_sdk_sqs::types::MessageSystemAttributeName as Attr;
    let port = "dead-letter queue";
    let received = receive_all(client, dlq_url).await?;
    let mut moved = 0;
    for m in &received {
        let handle = m.receipt_handle().unwrap_or_default();
        if only.is_some_and(|id| m.message_id() != Some(id)) {
            make_visible(client, dlq_url, m).await;
            continue;
        }
        let mut send = client.send_message().queue_url(queue_url).message_body(m.body().unwrap_or_default());
        if queue_url.ends_with(".fifo") {
            let attrs = m.attributes();
            let group = attrs.and_then(|a| a.get(&Attr::MessageGroupId)).cloned().unwrap_or_else(|| "redrive".into());
            let dedup = sqs_id(&format!("redrive:{}", m.message_id().unwrap_or_default()));
            send = send.message_group_id(group).message_deduplication_id(dedup);
        }
        send.send().await.map_err(|e| super::unavailable(port, e))?;
        client
            .delete_message()
            .queue_url(dlq_url)
            .receipt_handle(handle)
            .send()
            .await
            .map_err(|e| super::unavailable(port, e))?;
        moved += 1;
    }
    Ok(moved)
}

/// Puts a received message back, visible at once. Best effort: if this fails it reappears after
/// its visibility timeout anyway.
async fn make_visible(client: &Client, url: &str, m: &aws_sdk_sqs::types::Message) {
    if let Some(handle) = m.receipt_handle() {
        let _ =
            client.change_message_visibility().queue_url(url).receipt_handle(handle).visibility_timeout(0).send().await;
    }
}

async fn receive_all(client: &Client, url: &str) -> Result<Vec<aws_sdk_sqs::types::Message>, PortError> {
    use aws_sdk_sqs::types::MessageSystemAttributeName as Attr;
    let mut all = Vec::new();
    // Bounded: a DLQ of more than a thousand messages is listed in parts.
    for _ in 0..100 {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .message_system_attribute_names(Attr::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| super::unavailable("dead-letter queue", e))?;
        let batch = out.messages.unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        all.extend(batch);
    }
    Ok(all)
}

fn dead_letter(m: &aws_sdk_sqs::types::Message) -> DeadLetter {
    use aws_sdk_sqs::types::MessageSystemAttributeName as Attr;
    DeadLetter {
        message_id: m.message_id().unwrap_or_default().to_string(),
        body: m.body().unwrap_or_default().to_string(),
        receive_count: m
            .attributes()
            .and_then(|a| a.get(&Attr::ApproximateReceiveCount))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        error: m
            .message_attributes()
            .and_then(|a| a.get("switchboard_error"))
            .and_then(|v| v.string_value())
            .map(str::to_string),
    }
}
