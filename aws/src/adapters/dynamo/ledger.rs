//! The cost ledger.

use super::*;
use std::collections::BTreeMap;

/// The cost ledger in the month's partition `T#{tenant}#COST#{yyyy-mm}`: records
/// (`R#{at}#{request}#{function}#{item}`, kept 400 days), day totals (`DAY#{yyyy-mm-dd}`, one
/// number attribute per counter, moved by `ADD`) and alerts raised (`ALERT#{name}`); and in the
/// deployment's month, each tenant's line (`LINE#{tenant}`, moved by `ADD` with each record).
#[derive(Debug, Clone)]
pub struct DynamoLedger {
    table: Table,
}

impl DynamoLedger {
    /// The ledger in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }
}

const LEDGER: &str = "cost ledger";
const RECORD_RETENTION: chrono::Duration = chrono::Duration::days(switchboard_engine::cost::RECORD_RETENTION_DAYS);

fn ledger_pk(tenant: &TenantId, month: Month) -> String {
    partition::cost_month(tenant, month)
}

#[async_trait]
impl CostLedger for DynamoLedger {
    async fn record(&self, record: &CostRecord) -> Result<(), PortError> {
        let pk = ledger_pk(&record.tenant, record.month());
        let item = Item::from([
            ("pk".to_string(), s(pk.clone())),
            ("sk".to_string(), s(format!("R#{}", record.key()))),
            ("data".to_string(), s(to_json(LEDGER, record)?)),
            ("ttl".to_string(), n((record.at + RECORD_RETENTION).timestamp())),
        ]);
        // The record first, returning the one it replaces: the totals then move by the
        // difference, so a redelivery leaves them equal to the sum of the records.
        let out = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .set_item(Some(item))
            .return_values(ReturnValue::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable(LEDGER, e))?;
        meter(out.consumed_capacity(), true);
        let old: Option<CostRecord> =
            out.attributes().filter(|a| a.contains_key("data")).map(|a| json(LEDGER, a, "data")).transpose()?;
        let delta = switchboard_engine::cost::delta(old.as_ref(), record);
        self.add_to_day(&record.tenant, record.month(), record.day(), &delta).await?;
        // The tenant's line after its day: a failure between the two leaves the tenant's figures
        // right and the deployment's short by this record, never the reverse.
        let line = switchboard_core::ledger::tenant_line(&delta);
        let key = (ledger_pk(&TenantId::deployment(), record.month()), format!("LINE#{}", record.tenant));
        self.add(key, &line).await
    }

    async fn add_to_day(
        &self,
        tenant: &TenantId,
        month: Month,
        day: chrono::NaiveDate,
        counters: &BTreeMap<String, i64>,
    ) -> Result<(), PortError> {
        self.add((ledger_pk(tenant, month), format!("DAY#{day}")), counters).await
    }

    async fn lines(&self, month: Month) -> Result<Vec<switchboard_core::ledger::TenantLine>, PortError> {
        let pk = ledger_pk(&TenantId::deployment(), month);
        let items = self.table.query(LEDGER, pk, SortKey::Prefix("LINE#".into()), true, 10_000).await?;
        Ok(items
            .iter()
            .map(|item| switchboard_core::ledger::TenantLine {
                tenant: text(item, "sk").and_then(|sk| sk.strip_prefix("LINE#")).and_then(|t| TenantId::new(t).ok()),
                counters: counters(item),
            })
            .collect())
    }

    async fn days(&self, tenant: &TenantId, month: Month) -> Result<Vec<DayTotals>, PortError> {
        let items =
            self.table.query(LEDGER, ledger_pk(tenant, month), SortKey::Prefix("DAY#".into()), true, 40).await?;
        items
            .iter()
            .map(|item| {
                let day = text(item, "sk")
                    .and_then(|sk| sk.strip_prefix("DAY#"))
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(|| corrupt(LEDGER, "day totals without a day"))?;
                Ok(DayTotals { day: Some(day), counters: counters(item) })
            })
            .collect()
    }

    async fn records(&self, tenant: &TenantId, month: Month, limit: usize) -> Result<Vec<CostRecord>, PortError> {
        let items =
            self.table.query(LEDGER, ledger_pk(tenant, month), SortKey::Prefix("R#".into()), false, limit).await?;
        items.iter().map(|i| json(LEDGER, i, "data")).collect()
    }

    async fn raise_once(
        &self,
        tenant: &TenantId,
        month: Month,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let out = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .item("pk", s(ledger_pk(tenant, month)))
            .item("sk", s(format!("ALERT#{name}")))
            .item("at", s(at.to_rfc3339()))
            .condition_expression("attribute_not_exists(pk)")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match conditional_write(LEDGER, out, Err(PortError::Conflict { port: LEDGER })) {
            Ok(()) => Ok(true),
            Err(PortError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn alerts(&self, tenant: &TenantId, month: Month) -> Result<Vec<(String, DateTime<Utc>)>, PortError> {
        let items =
            self.table.query(LEDGER, ledger_pk(tenant, month), SortKey::Prefix("ALERT#".into()), true, 100).await?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let name = text(i, "sk")?.strip_prefix("ALERT#")?.to_string();
                let at = text(i, "at")?.parse().ok()?;
                Some((name, at))
            })
            .collect())
    }
}

impl DynamoLedger {
    /// `ADD`s `counters` to the item at `key` (one update; nothing when there is nothing to add).
    async fn add(&self, (pk, sk): (String, String), counters: &BTreeMap<String, i64>) -> Result<(), PortError> {
        if counters.is_empty() {
            return Ok(());
        }
        let mut update = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        let mut adds = Vec::with_capacity(counters.len());
        for (i, (name, by)) in counters.iter().enumerate() {
            adds.push(format!("#a{i} :v{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":v{i}"), n(*by));
        }
        let out = update
            .update_expression(format!("ADD {}", adds.join(", ")))
            .send()
            .await
            .map_err(|e| unavailable(LEDGER, e))?;
        meter(out.consumed_capacity(), true);
        Ok(())
    }
}

/// An item's counters: every number attribute but the keys.
fn counters(item: &Item) -> BTreeMap<String, i64> {
    item.iter()
        .filter(|(k, _)| k.as_str() != "pk" && k.as_str() != "sk")
        .filter_map(|(k, v)| Some((k.clone(), v.as_n().ok()?.parse::<i64>().ok()?)))
        .collect()
}
