//! Budgets that degrade, never break: past the soft line the hosted model stops writing
//! answers (or, as the tenant chooses, stops altogether, or nothing stops); past the budget it
//! stops classifying too. Templates, the FAQ and people never stop. What counts is the tenant's
//! choice (everything, or AWS alone); a deployment-wide budget degrades every tenant the same
//! way; a separate hard cap stops the bot's sends over channels that bill per message.

use super::{DayTotals, Month};
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use switchboard_core::config::{BudgetCounts, SoftLineStops};
use switchboard_core::domain::TenantId;
use switchboard_core::ledger::TenantLine;
use switchboard_core::ports::{CostLedger, PortError};

/// Where a tenant stands against its monthly budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetState {
    /// Under the soft line (or no budget): everything runs.
    Ok,
    /// Past the soft line: the hosted model no longer writes answers.
    Soft,
    /// Past the budget: the hosted model is not asked at all.
    Exhausted,
}

impl BudgetState {
    /// The state at `used` of a `limit` (0: no budget) with the soft line at `soft_at` (0–1).
    pub fn of(used_nanos: u64, limit_nanos: u64, soft_at: f64) -> Self {
        if limit_nanos == 0 {
            return BudgetState::Ok;
        }
        if used_nanos >= limit_nanos {
            BudgetState::Exhausted
        } else if used_nanos as f64 >= limit_nanos as f64 * soft_at {
            BudgetState::Soft
        } else {
            BudgetState::Ok
        }
    }

    /// The name in logs, metrics and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetState::Ok => "ok",
            BudgetState::Soft => "soft",
            BudgetState::Exhausted => "exhausted",
        }
    }

    /// The state as it gates the hosted model, after what the tenant says stops at the soft line.
    pub fn gated(self, at_soft_line: SoftLineStops) -> Self {
        match (self, at_soft_line) {
            (BudgetState::Soft, SoftLineStops::Nothing) => BudgetState::Ok,
            (BudgetState::Soft, SoftLineStops::HostedModel) => BudgetState::Exhausted,
            (state, _) => state,
        }
    }

    /// Whether the hosted model may classify.
    pub fn allows_hosted_classification(self) -> bool {
        self != BudgetState::Exhausted
    }

    /// Whether the hosted model may write answers.
    pub fn allows_generation(self) -> bool {
        self == BudgetState::Ok
    }
}

/// A month's spend as budgets read it, in nano-dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonthSpend {
    /// Everything.
    pub total: u64,
    /// Of which the channel providers' fees.
    pub channels: u64,
}

impl MonthSpend {
    /// The spend in a tenant's day totals.
    pub fn of(days: &[DayTotals]) -> Self {
        let sum = |name: &str| u64::try_from(days.iter().map(|d| d.get(name)).sum::<i64>()).unwrap_or(0);
        Self { total: sum("total"), channels: sum("c.channels") }
    }

    /// The deployment's spend: every tenant's line, and the requests no tenant is billed for (the
    /// deployment's own day totals).
    pub fn of_deployment(lines: &[TenantLine], unbilled: &[DayTotals]) -> Self {
        let sum = |name: &str| u64::try_from(lines.iter().map(|l| l.get(name)).sum::<i64>()).unwrap_or(0);
        let unbilled = Self::of(unbilled);
        Self { total: sum("total") + unbilled.total, channels: sum("c.channels") }
    }

    /// What counts toward a budget that counts `counts`.
    pub fn counted(self, counts: BudgetCounts) -> u64 {
        match counts {
            BudgetCounts::All => self.total,
            BudgetCounts::Aws => self.total.saturating_sub(self.channels),
        }
    }
}

/// Spend at month end if the rest of the month runs at the average so far.
pub fn forecast(used_nanos: u64, month: Month, now: DateTime<Utc>) -> u64 {
    let days = u64::from(month.days());
    if Month::of(now) != month {
        // A past month is what it was; a future one has nothing yet.
        return used_nanos;
    }
    let elapsed_days = f64::from(now.day() - 1) + f64::from(now.num_seconds_from_midnight()) / 86_400.0;
    if elapsed_days <= 0.0 {
        return used_nanos;
    }
    (used_nanos as f64 * days as f64 / elapsed_days).round() as u64
}

/// The month's spend per tenant, read from the ledger at most once per `ttl` per tenant: a
/// budget decision on every message must not cost a read of the month every time. A stale
/// figure errs by at most `ttl` of spend.
pub struct SpendCache {
    ttl: Duration,
    cache: Mutex<HashMap<(TenantId, Month), (Instant, MonthSpend)>>,
    deployment_budget_nanos: u64,
}

impl SpendCache {
    /// Figures kept for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, cache: Mutex::new(HashMap::new()), deployment_budget_nanos: 0 }
    }

    /// With a monthly budget for every tenant's spend together (0: none).
    pub fn with_deployment_budget(mut self, nanos: u64) -> Self {
        self.deployment_budget_nanos = nanos;
        self
    }

    /// How long a figure is kept.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The deployment-wide budget (0: none).
    pub fn deployment_budget_nanos(&self) -> u64 {
        self.deployment_budget_nanos
    }

    /// The tenant's spend in `month` ([`TenantId::deployment`]: everyone's).
    pub async fn spent(
        &self,
        ledger: &dyn CostLedger,
        tenant: &TenantId,
        month: Month,
    ) -> Result<MonthSpend, PortError> {
        let key = (tenant.clone(), month);
        if let Ok(cache) = self.cache.lock()
            && let Some((at, nanos)) = cache.get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(*nanos);
        }
        let days = ledger.days(tenant, month).await?;
        let spent = if *tenant == TenantId::deployment() {
            MonthSpend::of_deployment(&ledger.lines(month).await?, &days)
        } else {
            MonthSpend::of(&days)
        };
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(key, (Instant::now(), spent));
        }
        Ok(spent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_follows_the_thresholds() {
        let limit = 10_000_000_000; // $10
        assert_eq!(BudgetState::of(0, 0, 0.8), BudgetState::Ok, "no budget");
        assert_eq!(BudgetState::of(7_999_999_999, limit, 0.8), BudgetState::Ok);
        assert_eq!(BudgetState::of(8_000_000_000, limit, 0.8), BudgetState::Soft);
        assert_eq!(BudgetState::of(10_000_000_000, limit, 0.8), BudgetState::Exhausted);
        assert!(BudgetState::Soft.allows_hosted_classification() && !BudgetState::Soft.allows_generation());
        assert!(!BudgetState::Exhausted.allows_hosted_classification());
        assert_eq!(BudgetState::Soft.gated(SoftLineStops::Generation), BudgetState::Soft);
        assert_eq!(BudgetState::Soft.gated(SoftLineStops::Nothing), BudgetState::Ok);
        assert_eq!(BudgetState::Soft.gated(SoftLineStops::HostedModel), BudgetState::Exhausted);
        assert_eq!(BudgetState::Exhausted.gated(SoftLineStops::Nothing), BudgetState::Exhausted, "the budget holds");
    }

    #[test]
    fn a_budget_counts_what_the_tenant_says_and_the_deployment_counts_everyone() {
        let day = |pairs: &[(&str, i64)]| DayTotals {
            day: None,
            counters: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        };
        let days = [day(&[("total", 100), ("c.channels", 60)]), day(&[("total", 50)])];
        let spend = MonthSpend::of(&days);
        assert_eq!((spend.counted(BudgetCounts::All), spend.counted(BudgetCounts::Aws)), (150, 90));
        let line = |total: i64, channels: i64| TenantLine {
            tenant: TenantId::new("shop").ok(),
            counters: [("total".to_string(), total), ("c.channels".to_string(), channels)].into(),
        };
        let deployment = MonthSpend::of_deployment(&[line(1000, 300), line(500, 0)], &[day(&[("total", 7)])]);
        assert_eq!((deployment.total, deployment.channels), (1507, 300), "refused requests count too");
    }

    #[test]
    fn the_forecast_extends_the_average_day_to_month_end() {
        let month = Month::parse("2026-11").unwrap();
        let mid = "2026-11-16T00:00:00Z".parse().unwrap();
        assert_eq!(forecast(1_500, month, mid), 3_000, "15 of 30 days gone");
        let later: DateTime<Utc> = "2026-12-02T00:00:00Z".parse().unwrap();
        assert_eq!(forecast(1_500, month, later), 1_500, "a past month is final");
    }
}
