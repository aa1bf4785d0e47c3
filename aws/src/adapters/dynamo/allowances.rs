//! Allowances and the message limits' counters.

use super::*;

/// Allowances as atomic counters (`T#{tenant}#ALLOW#{what}` / `W#{window}`), expiring a day after
/// their window: one conditional `UpdateItem` per unit taken.
#[derive(Debug, Clone)]
pub struct DynamoAllowances {
    table: Table,
}

impl DynamoAllowances {
    /// Counters in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The update that adds `units` to a window's counter, which expires a day after the window.
    fn add_units(
        &self,
        tenant: &TenantId,
        what: &str,
        window: DateTime<Utc>,
        units: u32,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(partition::allowance(tenant, what)))
            .key("sk", s(format!("W#{}", window.timestamp())))
            .update_expression("ADD taken :n SET #ttl = :ttl")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":n", n(i64::from(units)))
            .expression_attribute_values(":ttl", n(window.timestamp() + 24 * 3600))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
    }
}

const ALLOWANCES: &str = "allowances";

#[async_trait]
impl switchboard_core::ports::Allowances for DynamoAllowances {
    async fn take(&self, tenant: &TenantId, what: &str, window: DateTime<Utc>, limit: u32) -> Result<bool, PortError> {
        let out = self
            .add_units(tenant, what, window, 1)
            .condition_expression("attribute_not_exists(taken) OR taken < :limit")
            .expression_attribute_values(":limit", n(i64::from(limit)))
            .send()
            .await;
        match conditional_write(ALLOWANCES, out, Err(PortError::Conflict { port: ALLOWANCES })) {
            Ok(()) => Ok(true),
            Err(PortError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn add(&self, tenant: &TenantId, what: &str, window: DateTime<Utc>, units: u32) -> Result<u64, PortError> {
        let out = self
            .add_units(tenant, what, window, units)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| unavailable(ALLOWANCES, e))?;
        meter(out.consumed_capacity(), true);
        let taken = out.attributes().and_then(|a| a.get("taken")).and_then(|v| v.as_n().ok());
        taken.and_then(|t| t.parse().ok()).ok_or_else(|| PortError::Corrupt {
            port: ALLOWANCES,
            detail: "the counter's update returned no total".into(),
        })
    }
}
