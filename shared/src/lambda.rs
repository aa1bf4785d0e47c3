//! Lambda glue shared by the SQS-triggered functions: batches with partial failures.

use crate::ports::PortError;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde::de::DeserializeOwned;
use std::fmt::Display;
use tracing::Instrument;

/// The body of an SQS record, parsed. A record that does not parse is a poison message: it is
/// reported failed, and the queue's redrive policy parks it in the dead-letter queue.
pub fn parse_body<T: DeserializeOwned>(record: &SqsMessage) -> Result<T, String> {
    let body = record.body.as_deref().ok_or("record has no body")?;
    serde_json::from_str(body).map_err(|e| format!("record body is not valid: {e}"))
}

/// A FIFO batch: records in order; at the first failure, that record and every later one are
/// reported failed, so SQS redelivers them in the same order (answering a conversation's second
/// message before its first would be wrong).
pub async fn fifo_batch<E, F, Fut>(event: SqsEvent, mut handle: F) -> SqsBatchResponse
where
    E: Display,
    F: FnMut(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut response = SqsBatchResponse::default();
    let mut failed = false;
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        if failed {
            response.add_failure(id);
            continue;
        }
        let span = tracing::info_span!("sqs_record", message_id = %id);
        if let Err(error) = handle(record).instrument(span).await {
            tracing::error!(message_id = %id, %error, "record failed; it and the records after it will be retried");
            failed = true;
            response.add_failure(id);
        }
    }
    response
}

/// A standard-queue batch: every record on its own; only the failed ones are retried.
pub async fn batch<E, F, Fut>(event: SqsEvent, mut handle: F) -> SqsBatchResponse
where
    E: Display,
    F: FnMut(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let span = tracing::info_span!("sqs_record", message_id = %id);
        if let Err(error) = handle(record).instrument(span).await {
            tracing::error!(message_id = %id, %error, "record failed; it will be retried");
            response.add_failure(id);
        }
    }
    response
}

/// The `inbound` function's router: the shared web chat routes, with API Gateway's request id
/// attached to every request so logs and usage records carry it.
#[cfg(feature = "aws")]
pub fn inbound_router(api: std::sync::Arc<crate::web::WebchatApi>) -> axum::Router {
    crate::web::router(api).layer(axum::middleware::map_request(tag_request_id))
}

#[cfg(feature = "aws")]
async fn tag_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    use lambda_http::request::RequestContext;
    let id = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    if let Some(id) = id {
        request.extensions_mut().insert(crate::web::RequestId(id));
    }
    request
}

/// The `responder` function's work on one SQS FIFO batch.
pub async fn respond_batch(responder: &crate::pipeline::Responder, event: SqsEvent) -> SqsBatchResponse {
    fifo_batch(event, |record| async move {
        let work: crate::domain::Work = parse_body(&record)?;
        responder.handle_work(&work).await.map_err(|e| e.to_string())
    })
    .await
}

/// What the escalation function can do to a record besides failing it.
#[async_trait::async_trait]
pub trait Redelivery: Send + Sync {
    /// Keeps the record invisible for `by` (the helpdesk's `Retry-After`).
    async fn delay(&self, receipt_handle: &str, by: std::time::Duration) -> Result<(), PortError>;
    /// Parks the record in the dead-letter queue now.
    async fn park(&self, body: &str, reason: &str) -> Result<(), PortError>;
}

/// The `escalation` function's work on one SQS batch. A helpdesk's 429 delays the record by its
/// `Retry-After`; a permanent refusal parks it in the dead-letter queue at once (no retry will
/// fix it, and `switchboard dlq redrive` brings it back once the cause is fixed); anything else
/// that fails is retried by SQS until its redrive policy parks it.
pub async fn escalate_batch(
    desk: &crate::pipeline::EscalationDesk,
    redelivery: Option<&dyn Redelivery>,
    event: SqsEvent,
) -> SqsBatchResponse {
    batch(event, |record| async move {
        let job: crate::domain::EscalationJob = parse_body(&record)?;
        let error = match desk.handle(&job).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        let Some(redelivery) = redelivery else { return Err(error.to_string()) };
        match &error {
            PortError::RateLimited { retry_after, .. } => {
                if let Some(handle) = record.receipt_handle.as_deref()
                    && let Err(e) = redelivery.delay(handle, *retry_after).await
                {
                    tracing::warn!(error = %e, "could not delay the record; it comes back after the visibility timeout");
                }
                Err(error.to_string())
            }
            PortError::Rejected { .. } | PortError::Corrupt { .. } => {
                let body = record.body.as_deref().unwrap_or_default();
                redelivery.park(body, &error.to_string()).await.map_err(|e| format!("{error}; parking failed: {e}"))?;
                tracing::error!(%error, "refused for good: parked in the dead-letter queue");
                // If telling the responder fails, the pending timeout still frees the conversation.
                if let Err(e) = desk.failed(&job, &error.to_string()).await {
                    tracing::error!(error = %e, "could not report the failed handoff; the pending timeout will");
                }
                Ok(())
            }
            _ => Err(error.to_string()),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ids: &[&str]) -> SqsEvent {
        let records: Vec<serde_json::Value> =
            ids.iter().map(|id| serde_json::json!({"messageId": id, "body": id})).collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    fn failures(r: &SqsBatchResponse) -> Vec<&str> {
        r.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect()
    }

    #[tokio::test]
    async fn fifo_stops_at_the_first_failure() {
        let mut seen = Vec::new();
        let r = fifo_batch(event(&["a", "b", "c"]), |m: SqsMessage| {
            seen.push(m.body.clone().unwrap());
            async move { if m.body.as_deref() == Some("b") { Err("boom") } else { Ok(()) } }
        })
        .await;
        assert_eq!(failures(&r), vec!["b", "c"]);
        assert_eq!(seen, vec!["a", "b"], "c is not attempted out of order");
    }

    #[tokio::test]
    async fn standard_batches_fail_only_the_failing_records() {
        let r = batch(event(&["a", "b", "c"]), |m: SqsMessage| async move {
            if m.body.as_deref() == Some("b") { Err("boom") } else { Ok(()) }
        })
        .await;
        assert_eq!(failures(&r), vec!["b"]);
    }
}
