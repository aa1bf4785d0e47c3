//! The cost ledger in memory, with the DynamoDB adapter's semantics: a record replaces the one
//! with its key, and the day's counters move by the difference.

use super::lock;
use crate::cost::units::ItemSize;
use crate::cost::{CostRecord, DayTotals, Month, delta};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;
use switchboard_core::domain::TenantId;
use switchboard_core::ports::{CostLedger, PortError};

type Partition = (TenantId, Month);
/// Counters by name, per day.
type Days = BTreeMap<NaiveDate, Counters>;
/// Counters by name.
type Counters = BTreeMap<String, i64>;

/// Cost records and totals in maps.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    records: Mutex<BTreeMap<Partition, BTreeMap<String, CostRecord>>>,
    days: Mutex<BTreeMap<Partition, Days>>,
    alerts: Mutex<BTreeMap<Partition, BTreeMap<String, DateTime<Utc>>>>,
    lines: Mutex<BTreeMap<Month, BTreeMap<TenantId, Counters>>>,
}

impl MemoryLedger {
    /// Every record, oldest first (tests).
    pub fn all(&self) -> Vec<CostRecord> {
        lock(&self.records).values().flat_map(|m| m.values().cloned()).collect()
    }
}

#[async_trait]
impl CostLedger for MemoryLedger {
    async fn record(&self, record: &CostRecord) -> Result<(), PortError> {
        let partition = (record.tenant.clone(), record.month());
        let old = lock(&self.records).entry(partition.clone()).or_default().insert(record.key(), record.clone());
        let moved = delta(old.as_ref(), record);
        {
            let mut days = lock(&self.days);
            let counters = days.entry(partition).or_default().entry(record.day()).or_default();
            for (name, n) in &moved {
                *counters.entry(name.clone()).or_insert(0) += n;
            }
        }
        let mut lines = lock(&self.lines);
        let line = lines.entry(record.month()).or_default().entry(record.tenant.clone()).or_default();
        for (name, n) in switchboard_core::ledger::tenant_line(&moved) {
            *line.entry(name).or_insert(0) += n;
        }
        Ok(())
    }

    async fn add_to_day(
        &self,
        tenant: &TenantId,
        month: Month,
        day: NaiveDate,
        counters: &BTreeMap<String, i64>,
    ) -> Result<(), PortError> {
        let mut days = lock(&self.days);
        let totals = days.entry((tenant.clone(), month)).or_default().entry(day).or_default();
        for (name, n) in counters {
            *totals.entry(name.clone()).or_insert(0) += n;
        }
        Ok(())
    }

    async fn days(&self, tenant: &TenantId, month: Month) -> Result<Vec<DayTotals>, PortError> {
        let days = lock(&self.days);
        let found: Vec<DayTotals> = days
            .get(&(tenant.clone(), month))
            .map(|d| d.iter().map(|(day, c)| DayTotals { day: Some(*day), counters: c.clone() }).collect())
            .unwrap_or_default();
        // As the DynamoDB adapter's query of the month's day items.
        let pk = switchboard_core::keys::partition::cost_month(tenant, month);
        let bytes = found
            .iter()
            .map(|d| {
                let sk = format!("DAY#{}", d.day.map(|d| d.to_string()).unwrap_or_default());
                d.counters.iter().fold(ItemSize::keyed(&pk, &sk), |size, (name, n)| size.n(name, *n)).bytes()
            })
            .sum();
        super::capacity::query(bytes, found.len());
        Ok(found)
    }

    async fn lines(&self, month: Month) -> Result<Vec<switchboard_core::ledger::TenantLine>, PortError> {
        let lines = lock(&self.lines);
        Ok(lines
            .get(&month)
            .map(|m| {
                m.iter()
                    .map(|(t, c)| switchboard_core::ledger::TenantLine { tenant: Some(t.clone()), counters: c.clone() })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn records(&self, tenant: &TenantId, month: Month, limit: usize) -> Result<Vec<CostRecord>, PortError> {
        let records = lock(&self.records);
        Ok(records
            .get(&(tenant.clone(), month))
            .map(|r| r.values().rev().take(limit).cloned().collect())
            .unwrap_or_default())
    }

    async fn raise_once(
        &self,
        tenant: &TenantId,
        month: Month,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut alerts = lock(&self.alerts);
        let raised = alerts.entry((tenant.clone(), month)).or_default();
        if raised.contains_key(name) {
            return Ok(false);
        }
        raised.insert(name.to_string(), at);
        Ok(true)
    }

    async fn alerts(&self, tenant: &TenantId, month: Month) -> Result<Vec<(String, DateTime<Utc>)>, PortError> {
        let alerts = lock(&self.alerts);
        Ok(alerts
            .get(&(tenant.clone(), month))
            .map(|a| a.iter().map(|(n, at)| (n.clone(), *at)).collect())
            .unwrap_or_default())
    }
}
