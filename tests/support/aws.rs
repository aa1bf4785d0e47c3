//! The real local stand-ins for AWS (DynamoDB Local, moto for SQS and SSM), reached through the
//! SDK with the standard endpoint variables that `scripts/test.sh` exports, and a stand-in for
//! Lambda's SQS event source mapping.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::json;
use std::collections::HashSet;
use std::future::Future;
use switchboard::adapters::aws::{AwsClients, BedrockSettings, QueuePair, create_queues, create_table};

/// SDK clients pointed at the local servers, and a fresh table of this test's own.
pub struct LocalAws {
    /// The clients.
    pub clients: AwsClients,
    /// This test's table.
    pub table: String,
}

/// Connects to the local servers; fails (never skips) when they are not running.
pub async fn local_aws() -> LocalAws {
    local_aws_at(None).await
}

/// As [`local_aws`], with DynamoDB at `dynamodb` when given (a DynamoDB Local of the test's own).
pub async fn local_aws_at(dynamodb: Option<&str>) -> LocalAws {
    crate::audit::capture();
    for name in ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_SSM"] {
        assert!(
            std::env::var(name).is_ok(),
            "{name} is not set: run the tests with scripts/test.sh, or `eval \"$(scripts/local-aws.sh start)\"` first"
        );
    }
    let mut clients = AwsClients::from_env(&BedrockSettings::default()).await;
    if let Some(endpoint) = dynamodb {
        let config = clients.dynamodb.config().to_builder().endpoint_url(endpoint).build();
        clients.dynamodb = aws_sdk_dynamodb::Client::from_conf(config);
    }
    let table = format!("sb-test-{}", uuid::Uuid::new_v4().simple());
    create_table(&clients.dynamodb, &table).await.expect("create the test table in DynamoDB Local");
    LocalAws { clients, table }
}

/// A queue and its dead-letter queue.
pub type Queues = QueuePair;

impl LocalAws {
    /// Creates a queue (FIFO or standard) whose messages move to a dead-letter queue after
    /// `max_receives` failed receives; `visibility` seconds before a received message reappears.
    pub async fn queues(&self, fifo: bool, max_receives: u32, visibility: u32) -> Queues {
        let name = format!("sb-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        create_queues(&self.clients.sqs, &name, fifo, max_receives, visibility).await.expect("create queues")
    }

    /// Receives up to ten messages as the SQS event Lambda would hand a function (nothing is
    /// deleted), with the received messages for their receipt handles.
    pub async fn receive_event(&self, url: &str) -> (SqsEvent, Vec<aws_sdk_sqs::types::Message>) {
        let received = self
            .clients
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive from SQS");
        let messages = received.messages().to_vec();
        let records: Vec<serde_json::Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, serde_json::Value> = m
                    .attributes()
                    .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), json!(v))).collect())
                    .unwrap_or_default();
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": attributes,
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:test",
                    "awsRegion": "us-east-1"
                })
            })
            .collect();
        (serde_json::from_value(json!({ "Records": records })).expect("an SQS event"), messages)
    }

    /// What Lambda's event source mapping does once: receive up to ten messages, hand them to
    /// `function` as an SQS event, delete the ones it did not report failed. Returns the bodies
    /// delivered.
    pub async fn deliver<F, Fut>(&self, url: &str, function: F) -> Vec<String>
    where
        F: FnOnce(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let (event, messages) = self.receive_event(url).await;
        if messages.is_empty() {
            return Vec::new();
        }
        let response = function(event).await;
        let failed: HashSet<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        for m in &messages {
            if !failed.contains(m.message_id().unwrap_or_default()) {
                let handle = m.receipt_handle().unwrap_or_default();
                self.clients.sqs.delete_message().queue_url(url).receipt_handle(handle).send().await.expect("delete");
            }
        }
        messages.iter().map(|m| m.body().unwrap_or_default().to_string()).collect()
    }

    /// How many messages a queue holds (visible or in flight).
    pub async fn depth(&self, url: &str) -> usize {
        let attrs = self
            .clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("queue attributes");
        let get = |name: QueueAttributeName| -> usize {
            attrs.attributes().and_then(|a| a.get(&name)).and_then(|v| v.parse().ok()).unwrap_or(0)
        };
        get(QueueAttributeName::ApproximateNumberOfMessages)
            + get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
    }
}
