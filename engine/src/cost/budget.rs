//! Budgets that degrade, never break: past the soft line the hosted model stops writing
//! answers; past the budget it stops classifying too. Templates, the FAQ and people never stop.

use super::{DayTotals, Month};
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use switchboard_core::domain::TenantId;
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

    /// Whether the hosted model may classify.
    pub fn allows_hosted_classification(self) -> bool {
        self != BudgetState::Exhausted
    }

    /// Whether the hosted model may write answers.
    pub fn allows_generation(self) -> bool {
        self == BudgetState::Ok
    }
}

/// The month's spend so far, in nano-dollars, from its day totals.
pub fn month_total(days: &[DayTotals]) -> u64 {
    u64::try_from(days.iter().map(|d| d.get("total")).sum::<i64>()).unwrap_or(0)
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
    cache: Mutex<HashMap<(TenantId, Month), (Instant, u64)>>,
}

impl SpendCache {
    /// Figures kept for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, cache: Mutex::new(HashMap::new()) }
    }

    /// The tenant's spend in `month`.
    pub async fn spent(&self, ledger: &dyn CostLedger, tenant: &TenantId, month: Month) -> Result<u64, PortError> {
        let key = (tenant.clone(), month);
        if let Ok(cache) = self.cache.lock()
            && let Some((at, nanos)) = cache.get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(*nanos);
        }
        let spent = month_total(&ledger.days(tenant, month).await?);
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
