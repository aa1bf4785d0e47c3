//! Idempotency records: claims of deliveries, agent events and held polls.

use super::*;

/// Idempotency records with the semantics of Powertools for AWS Lambda: a conditional
/// in-progress lock that expires, a completed record holding the response, both with TTL.
#[derive(Debug, Clone)]
pub struct DynamoIdempotency {
    table: Table,
}

impl DynamoIdempotency {
    /// Records in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }
}

const IDEMPOTENCY: &str = "idempotency store";

fn deadline(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(365))
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotency {
    async fn claim(&self, key: &IdempotencyKey, now: DateTime<Utc>, lock_for: Duration) -> Result<Claim, PortError> {
        let until = deadline(now, lock_for);
        let out = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .item("pk", s(key.0.clone()))
            .item("sk", s("IDEMPOTENCY"))
            .item("status", s("INPROGRESS"))
            .item("lock_expires_ms", n(until.timestamp_millis()))
            // TTL is lazy (deleted within days), so expiry is also checked in the condition.
            .item("ttl", n(until.timestamp() + 3600))
            .condition_expression(
                "attribute_not_exists(pk) \
                 OR (#status = :inprogress AND lock_expires_ms < :now_ms) \
                 OR (#status = :completed AND #ttl < :now_s)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":inprogress", s("INPROGRESS"))
            .expression_attribute_values(":completed", s("COMPLETED"))
            .expression_attribute_values(":now_ms", n(now.timestamp_millis()))
            .expression_attribute_values(":now_s", n(now.timestamp()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(out) => {
                meter(out.consumed_capacity(), true);
                Ok(Claim::Acquired)
            }
            Err(e) if conditional_failed(&e) => {
                refused_write();
                let old = e.as_service_error().and_then(|e| match e {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                        c.item().cloned()
                    }
                    _ => None,
                });
                match old {
                    Some(item) if text(&item, "status") == Some("COMPLETED") => {
                        Ok(Claim::Completed(json(IDEMPOTENCY, &item, "response")?))
                    }
                    _ => Ok(Claim::InProgress),
                }
            }
            Err(e) => Err(unavailable(IDEMPOTENCY, e)),
        }
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        response: &serde_json::Value,
        now: DateTime<Utc>,
        keep_for: Duration,
    ) -> Result<(), PortError> {
        let item = Item::from([
            ("pk".to_string(), s(key.0.clone())),
            ("sk".to_string(), s("IDEMPOTENCY")),
            ("status".to_string(), s("COMPLETED")),
            ("response".to_string(), s(to_json(IDEMPOTENCY, response)?)),
            ("ttl".to_string(), n(deadline(now, keep_for).timestamp())),
        ]);
        self.table.put(IDEMPOTENCY, item).await
    }

    async fn release(&self, key: &IdempotencyKey) -> Result<(), PortError> {
        let out = self
            .table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .key("pk", s(key.0.clone()))
            .key("sk", s("IDEMPOTENCY"))
            .condition_expression("#status = :inprogress")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":inprogress", s("INPROGRESS"))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        // A completed (or already gone) record has nothing to release.
        conditional_write(IDEMPOTENCY, out, Ok(()))
    }
}
