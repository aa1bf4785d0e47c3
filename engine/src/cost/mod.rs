//! What every request costs. Adapters meter billing units as they work ([`switchboard_core::meter`]); at
//! the end of each request [`Costs::record`] prices them at the [`PriceTable`] and writes one
//! [`CostRecord`] to the [`CostLedger`](switchboard_core::ports::CostLedger), which keeps the month's
//! totals per day, component, channel and intent. [`budget`] turns the totals into the
//! tenant's budget state; [`report`] into what a cost owner reads.

#[cfg(any(test, feature = "cli"))]
mod alternatives;
pub mod budget;
#[cfg(any(test, feature = "cli"))]
pub mod deployment;
pub mod fixed;
#[cfg(any(test, feature = "cli"))]
pub mod html;
pub mod lambda;
#[cfg(any(test, feature = "cli"))]
mod outcomes;
mod prices;
mod pricing;
#[cfg(any(test, feature = "cli"))]
pub mod questions;
pub mod refused;
#[cfg(any(test, feature = "cli"))]
pub mod report;
pub mod units;

pub use prices::{PriceError, PriceTable, TableId, nanos, priced_regions, usd};
pub use pricing::model_of;

/// The built-in price table's YAML.
pub fn prices_default() -> &'static str {
    prices::DEFAULT_TABLE
}
pub use switchboard_core::ledger::{Attribution, Components, CostRecord, DayTotals, Function, Month, Outcome, delta};

use std::sync::Arc;
use switchboard_core::domain::TenantId;
use switchboard_core::meter::Metered;
use switchboard_core::ports::CostLedger;

/// Prices measured units and writes them to the ledger: the one place every function ends a
/// request through.
pub struct Costs {
    /// The ledger.
    pub ledger: Arc<dyn CostLedger>,
    /// The prices.
    pub prices: Arc<PriceTable>,
    /// Refused and public requests not yet written to the deployment's aggregate.
    refused: std::sync::Mutex<refused::Pending>,
    /// How often an instance writes that aggregate, in milliseconds.
    refused_flush_ms: std::sync::atomic::AtomicU64,
}

/// How often an instance writes its sums of refused requests by default.
pub const REFUSED_FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl Costs {
    /// Costs written to `ledger` at `prices`.
    pub fn new(ledger: Arc<dyn CostLedger>, prices: Arc<PriceTable>) -> Self {
        Self {
            ledger,
            prices,
            refused: Default::default(),
            refused_flush_ms: (REFUSED_FLUSH_EVERY.as_millis() as u64).into(),
        }
    }

    /// Writes the refused requests' sums at most once per `every` (zero: at each one; tests and
    /// the in-memory ledger).
    pub fn set_refused_flush_every(&self, every: std::time::Duration) {
        let ms = u64::try_from(every.as_millis()).unwrap_or(u64::MAX);
        self.refused_flush_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Prices a request no tenant is billed for ([`refused`]), emits its metric line and adds
    /// it to the deployment's aggregate, written when the interval has passed.
    pub async fn unbilled(&self, request: refused::UnbilledRequest, units: Metered) {
        let record = self.priced(refused::attribution(&request), refused::outcome(&request), units);
        let status = match request.why {
            refused::Unbilled::Refused(status) => status.to_string(),
            refused::Unbilled::Public => "public".into(),
        };
        let tenant = request.tenant.as_ref().map_or("-", |t| t.as_str());
        switchboard_core::metrics::emit(&switchboard_core::metrics::refused_line(
            &record,
            &request.route,
            &status,
            tenant,
        ));
        let every = std::time::Duration::from_millis(self.refused_flush_ms.load(std::sync::atomic::Ordering::Relaxed));
        let due = switchboard_core::sync::lock(&self.refused).add(&record, &request, every);
        for (day, counters) in due.into_iter().flatten() {
            let month = Month::of(day.and_hms_opt(0, 0, 0).map_or(record.at, |d| d.and_utc()));
            if let Err(error) = self.ledger.add_to_day(&TenantId::deployment(), month, day, &counters).await {
                tracing::error!(%error, "could not write the refused requests' sums; kept for the next flush");
                switchboard_core::sync::lock(&self.refused).restore(day, counters);
            }
        }
    }

    /// Prices `units` for `who`, writes the record, emits the cost metrics; returns the record.
    /// A ledger failure is logged, never raised: the customer's answer matters more than its
    /// bookkeeping, and redoing the work to record it would cost twice.
    pub async fn record(&self, who: Attribution, outcome: Outcome, units: Metered) -> CostRecord {
        let mut record = self.priced(who, outcome, units);
        // The ledger's own writes are part of the request: the record, by its stored size, its
        // day's totals and the deployment's (one unit each: a day item stays under 1 KB).
        record.units.dynamodb_write_milli_units += units::write_milli_units(stored_bytes(&record)) + 2000;
        // So is its metrics line: CloudWatch ingests it like any log line.
        let metrics = switchboard_core::metrics::cost_line(&record);
        record.units.log_bytes += metrics.len() as u64 + 1;
        record.components = self.prices.price(&record.units);
        record.cost_nanos = record.components.total();
        switchboard_core::metrics::emit(&switchboard_core::metrics::cost_line(&record));
        if let Err(error) = self.ledger.record(&record).await {
            tracing::error!(%error, "could not write the cost record");
        }
        record
    }

    /// `units` priced for `who`.
    fn priced(&self, who: Attribution, outcome: Outcome, units: Metered) -> CostRecord {
        let unpriced: Vec<String> = units.models.keys().filter(|id| !self.prices.prices_model(id)).cloned().collect();
        for id in &unpriced {
            warn_unpriced_once(id, &self.prices.id.id);
        }
        let components = self.prices.price(&units);
        CostRecord {
            request_id: who.request_id,
            function: who.function,
            item: who.item,
            tenant: who.tenant,
            channel: who.channel,
            conversation: who.conversation,
            at: who.at,
            outcome,
            units,
            cost_nanos: components.total(),
            components,
            price_table: self.prices.id.id.clone(),
            unpriced,
        }
    }
}

/// Logs a model id the price table lacks, once per process: every record says it again.
fn warn_unpriced_once(model: &str, table: &str) {
    static SEEN: std::sync::Mutex<std::collections::BTreeSet<String>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    if switchboard_core::sync::lock(&SEEN).insert(model.to_string()) {
        tracing::warn!(
            model,
            table,
            "no price for this model: its calls are recorded as unpriced (add a line with SWITCHBOARD_PRICE_OVERRIDES)"
        );
    }
}

/// How long cost records are kept (the DynamoDB ledger's TTL): a year and a month's margin.
pub const RECORD_RETENTION_DAYS: i64 = 400;

/// A record's size as the DynamoDB ledger stores it (key, JSON, TTL).
fn stored_bytes(record: &CostRecord) -> u64 {
    let pk = switchboard_core::keys::partition::cost_month(&record.tenant, record.month());
    let expires = (record.at + chrono::Duration::days(RECORD_RETENTION_DAYS)).timestamp();
    units::ItemSize::keyed(&pk, &format!("R#{}", record.key()))
        .s("data", &serde_json::to_string(record).unwrap_or_default())
        .n("ttl", expires)
        .bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryLedger;
    use switchboard_core::meter::ModelUnits;

    /// An inference profile is priced as its model; an id the table lacks is recorded as
    /// unpriced and shown apart in the report, never priced as another model.
    #[tokio::test]
    async fn unpriced_models_are_listed_not_guessed() {
        let ledger = Arc::new(MemoryLedger::default());
        let costs = Costs::new(ledger.clone(), Arc::new(PriceTable::default_table()));
        let tenant = TenantId::new("demo").unwrap();
        let at = chrono::Utc::now();
        let who = |item: &str| Attribution {
            request_id: format!("r-{item}"),
            function: Function::Responder,
            item: item.into(),
            tenant: tenant.clone(),
            channel: None,
            conversation: None,
            at,
        };
        let calls = ModelUnits { calls: 2, failed: 0, input_tokens: 1000, output_tokens: 100 };
        let mut known = Metered::default();
        known.models.insert("us.anthropic.claude-3-haiku-20240307-v1:0".into(), calls);
        let mut unknown = Metered::default();
        unknown.models.insert("acme.new-model-v9".into(), calls);
        let priced = costs.record(who("a"), Outcome::default(), known).await;
        assert_eq!(priced.components.model, 1000 * 250 + 100 * 1250);
        assert!(priced.unpriced.is_empty());
        let unpriced = costs.record(who("b"), Outcome::default(), unknown).await;
        assert_eq!(unpriced.components.model, 0);
        assert_eq!(unpriced.unpriced, ["acme.new-model-v9"]);
        let report = report::build(ledger.as_ref(), &costs.prices, &tenant, None, Month::of(at), at, 10).await.unwrap();
        assert_eq!(report.unpriced_model_calls.get("acme.new-model-v9"), Some(&2));
        assert_eq!(report.model_calls, 4, "every call is counted, priced or not");
        assert!(report.table().contains("2 hosted calls to acme.new-model-v9"), "{}", report.table());
    }
}
