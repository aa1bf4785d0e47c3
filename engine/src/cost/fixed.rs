//! What the stack costs by the month whatever its traffic: the custom metrics its functions emit,
//! its alarms and its dashboard. No request's record carries them, so the reports add them as
//! lines of their own, apportioned to tenants by their share of the month's messages.
//!
//! The counts come from the stack (its `FixedMonthly` output, which `switchboard env --stack`
//! passes on as `SWITCHBOARD_FIXED_MONTHLY`); a test keeps that output equal to what the template
//! and the code create. Custom metrics are billed hour by hour only in hours they receive data,
//! so the metrics line is the month's most, reached by a deployment with traffic every hour.

use super::{PriceTable, nanos};
use serde::Serialize;

/// The stack's billed monthly units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FixedMonthly {
    /// Custom metrics (name × dimension combinations).
    pub metrics: u32,
    /// Alarm metrics (a metric-math alarm counts each metric it reads).
    pub alarm_metrics: u32,
    /// Dashboards.
    pub dashboards: u32,
}

impl Default for FixedMonthly {
    /// The template's defaults: the twelve metrics, no alarms (`AlarmTopicArn` empty), one
    /// dashboard.
    fn default() -> Self {
        Self { metrics: switchboard_core::metrics::METRICS.len() as u32, alarm_metrics: 0, dashboards: 1 }
    }
}

impl FixedMonthly {
    /// `metrics=12,alarm_metrics=14,dashboards=1`, as the stack's output says it.
    pub fn parse(text: &str) -> Option<Self> {
        let mut fixed = Self { metrics: 0, alarm_metrics: 0, dashboards: 0 };
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, count) = pair.split_once('=')?;
            let count: u32 = count.trim().parse().ok()?;
            match name.trim() {
                "metrics" => fixed.metrics = count,
                "alarm_metrics" => fixed.alarm_metrics = count,
                "dashboards" => fixed.dashboards = count,
                _ => return None,
            }
        }
        Some(fixed)
    }

    /// Each line's name, count, unit price and month's cost in nano-dollars, at `prices`.
    pub fn lines(&self, prices: &PriceTable) -> Vec<FixedLine> {
        [
            ("custom metrics", self.metrics, "cloudwatch.metric_month"),
            ("alarm metrics", self.alarm_metrics, "cloudwatch.alarm_month"),
            ("dashboards", self.dashboards, "cloudwatch.dashboard_month"),
        ]
        .into_iter()
        .map(|(name, count, line)| FixedLine {
            name,
            count,
            price_line: line,
            nanos: nanos(u128::from(count) * prices.atto(line)),
        })
        .collect()
    }

    /// The month's fixed cost in nano-dollars.
    pub fn nanos(&self, prices: &PriceTable) -> u64 {
        self.lines(prices).iter().map(|l| l.nanos).sum()
    }
}

/// One fixed line.
#[derive(Debug, Clone, Serialize)]
pub struct FixedLine {
    /// What it is.
    pub name: &'static str,
    /// How many.
    pub count: u32,
    /// The price table's line.
    pub price_line: &'static str,
    /// The month's cost.
    pub nanos: u64,
}

/// `share` of the fixed month's cost for a tenant with `messages` of the deployment's `all`.
pub fn share(fixed_nanos: u64, messages: u64, all: u64) -> u64 {
    if all == 0 { 0 } else { (u128::from(fixed_nanos) * u128::from(messages) / u128::from(all)) as u64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stacks_output_parses_and_prices() {
        let f = FixedMonthly::parse("metrics=12,alarm_metrics=14,dashboards=1").unwrap();
        assert_eq!(f, FixedMonthly { metrics: 12, alarm_metrics: 14, dashboards: 1 });
        // 12 × $0.30 + 14 × $0.10 + $3.00 = $8.00 in us-east-1.
        assert_eq!(f.nanos(&PriceTable::default_table()), 8_000_000_000);
        assert_eq!(FixedMonthly::default().nanos(&PriceTable::default_table()), 6_600_000_000);
        for bad in ["metrics", "metrics=x", "widgets=2"] {
            assert_eq!(FixedMonthly::parse(bad), None, "{bad}");
        }
        assert_eq!(share(8_000, 25, 100), 2_000);
        assert_eq!(share(8_000, 0, 0), 0);
    }
}
