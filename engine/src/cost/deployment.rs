//! The report across every tenant of a deployment, for whoever pays the AWS bill: the month from
//! the tenants' lines in the ledger (one query, whatever the number of tenants; the by-day table
//! reads each tenant's days), the requests no tenant is billed for, and the stack's fixed monthly
//! lines apportioned to tenants by their share of the messages.

use super::budget::{BudgetState, MonthSpend, forecast};
use super::fixed::{FixedLine, FixedMonthly, share};
use super::report::{csv_field, dollars};
use super::{Components, Month, PriceTable, TableId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use switchboard_core::domain::TenantId;
use switchboard_core::ports::{CostLedger, PortError};

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentReport {
    /// `YYYY-MM`.
    pub month: String,
    /// `USD`.
    pub currency: String,
    /// The prices used.
    pub price_table: TableId,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// What the ledger recorded: every tenant's requests and the unbilled ones.
    pub ledger_nanos: u64,
    /// Of which billed to tenants.
    pub tenants_nanos: u64,
    /// Of which billed to no tenant (refused, public routes).
    pub unbilled_nanos: u64,
    /// Hosted model calls the price table does not price, per model: in no total.
    pub unpriced_model_calls: BTreeMap<String, u64>,
    /// The stack's fixed monthly lines (not in the ledger).
    pub fixed: Vec<FixedLine>,
    /// Their sum.
    pub fixed_nanos: u64,
    /// The ledger and the fixed lines together.
    pub total_nanos: u64,
    /// Customer messages handled.
    pub messages: u64,
    /// Per tenant, costliest first.
    pub by_tenant: Vec<TenantLine>,
    /// Per component (tenants and unbilled).
    pub by_component: BTreeMap<String, u64>,
    /// Per channel (tenants).
    pub by_channel: BTreeMap<String, u64>,
    /// Per day (tenants and unbilled).
    pub by_day: Vec<DeploymentDay>,
    /// The deployment-wide budget, when one is set.
    pub budget: Option<DeploymentBudget>,
}

/// One tenant's month.
#[derive(Debug, Clone, Serialize)]
pub struct TenantLine {
    /// The tenant.
    pub tenant: String,
    /// What its requests cost.
    pub nanos: u64,
    /// Its customer messages.
    pub messages: u64,
    /// Its share of the fixed lines, by messages.
    pub fixed_share_nanos: u64,
}

/// One day.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Tenants and unbilled.
    pub total_nanos: u64,
    /// Of which unbilled.
    pub unbilled_nanos: u64,
    /// Messages.
    pub messages: u64,
}

/// The deployment-wide budget.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentBudget {
    /// The limit.
    pub limit_nanos: u64,
    /// Spent (the ledger).
    pub used_nanos: u64,
    /// `ok`, `soft` (past 80 %) or `exhausted`.
    pub state: BudgetState,
    /// At month end at the pace so far.
    pub forecast_nanos: u64,
}

/// Builds the report of `month`; `budget_nanos` is the deployment's budget (0: none).
pub async fn build(
    ledger: &dyn CostLedger,
    prices: &PriceTable,
    fixed: FixedMonthly,
    budget_nanos: u64,
    month: Month,
    now: DateTime<Utc>,
) -> Result<DeploymentReport, PortError> {
    let lines = ledger.lines(month).await?;
    let unbilled_days = ledger.days(&TenantId::deployment(), month).await?;
    let spend = MonthSpend::of_deployment(&lines, &unbilled_days);
    let nanos = |n: i64| u64::try_from(n).unwrap_or(0);
    let mut by_component: BTreeMap<String, u64> = Components::NAMES.iter().map(|n| (n.to_string(), 0)).collect();
    let mut by_channel: BTreeMap<String, u64> = BTreeMap::new();
    let mut unpriced_model_calls: BTreeMap<String, u64> = BTreeMap::new();
    let (mut tenants_nanos, mut messages) = (0, 0);
    for line in &lines {
        tenants_nanos += nanos(line.get("total"));
        messages += nanos(line.get("messages"));
        for (name, n) in &line.counters {
            let into = match name.split_once('.') {
                Some(("c", component)) => by_component.entry(component.to_string()),
                Some(("ch", channel)) => by_channel.entry(channel.to_string()),
                Some(("unpriced", model)) => unpriced_model_calls.entry(model.to_string()),
                _ => continue,
            };
            *into.or_default() += nanos(*n);
        }
    }
    for day in &unbilled_days {
        for (component, n) in day.group("c") {
            *by_component.entry(component).or_default() += nanos(n);
        }
    }
    by_channel.retain(|_, n| *n > 0);
    unpriced_model_calls.retain(|_, n| *n > 0);
    let unbilled_nanos = MonthSpend::of(&unbilled_days).total;
    let fixed_lines = fixed.lines(prices);
    let fixed_nanos: u64 = fixed_lines.iter().map(|l| l.nanos).sum();
    let mut by_tenant: Vec<TenantLine> = lines
        .iter()
        .filter_map(|line| {
            let (m, tenant) = (nanos(line.get("messages")), line.tenant.as_ref()?.to_string());
            Some(TenantLine {
                fixed_share_nanos: share(fixed_nanos, m, messages),
                tenant,
                nanos: nanos(line.get("total")),
                messages: m,
            })
        })
        .collect();
    by_tenant.sort_by(|a, b| b.nanos.cmp(&a.nanos).then(a.tenant.cmp(&b.tenant)));
    // Per day: each tenant's own day totals (a query per tenant: a report, not a request) and the
    // unbilled requests'.
    let mut days: BTreeMap<String, DeploymentDay> = BTreeMap::new();
    let mut add_day = |day: &super::DayTotals, unbilled: bool| {
        let key = day.day.map(|d| d.to_string()).unwrap_or_default();
        let entry = days.entry(key.clone()).or_insert(DeploymentDay {
            day: key,
            total_nanos: 0,
            unbilled_nanos: 0,
            messages: 0,
        });
        entry.total_nanos += nanos(day.get("total"));
        entry.messages += nanos(day.get("messages"));
        if unbilled {
            entry.unbilled_nanos += nanos(day.get("total"));
        }
    };
    for tenant in lines.iter().filter_map(|l| l.tenant.as_ref()) {
        for day in ledger.days(tenant, month).await? {
            add_day(&day, false);
        }
    }
    for day in &unbilled_days {
        add_day(day, true);
    }
    let by_day = days.into_values().collect();
    let budget = (budget_nanos > 0).then(|| DeploymentBudget {
        limit_nanos: budget_nanos,
        used_nanos: spend.total,
        state: BudgetState::of(spend.total, budget_nanos, 0.8),
        forecast_nanos: forecast(spend.total, month, now),
    });
    Ok(DeploymentReport {
        month: month.to_string(),
        currency: prices.currency.clone(),
        price_table: prices.id.clone(),
        generated_at: now,
        ledger_nanos: spend.total,
        tenants_nanos,
        unbilled_nanos,
        unpriced_model_calls,
        fixed: fixed_lines,
        fixed_nanos,
        total_nanos: spend.total + fixed_nanos,
        messages,
        by_tenant,
        by_component,
        by_channel,
        by_day,
        budget,
    })
}

impl DeploymentReport {
    /// A plain-text table for a terminal.
    pub fn table(&self) -> String {
        let mut out = format!(
            "Switchboard costs — every tenant — {} (prices: {}, as of {})\n\n",
            self.month, self.price_table.id, self.price_table.as_of
        );
        out.push_str(&format!("Total {:>33}   {} messages\n", dollars(self.total_nanos), self.messages));
        out.push_str(&format!("  requests of tenants {:>18}\n", dollars(self.tenants_nanos)));
        out.push_str(&format!(
            "  billed to no tenant {:>18}   (refused, public routes)\n",
            dollars(self.unbilled_nanos)
        ));
        out.push_str(&format!("  fixed monthly lines {:>18}   (not in the ledger)\n", dollars(self.fixed_nanos)));
        for (model, calls) in &self.unpriced_model_calls {
            out.push_str(&format!(
                "  + {calls} hosted calls to {model}, which the price table does not price (not in the total)\n"
            ));
        }
        for l in &self.fixed {
            out.push_str(&format!("    {:>3} {:<16} {:>14}   ({})\n", l.count, l.name, dollars(l.nanos), l.price_line));
        }
        if let Some(b) = &self.budget {
            out.push_str(&format!(
                "Deployment budget {} of {} ({}), forecast {} at month end\n",
                dollars(b.used_nanos),
                dollars(b.limit_nanos),
                b.state.as_str(),
                dollars(b.forecast_nanos)
            ));
        }
        out.push_str("\nBy tenant                      requests    fixed share   messages\n");
        for t in &self.by_tenant {
            out.push_str(&format!(
                "  {:<24} {:>14} {:>14} {:>10}\n",
                t.tenant,
                dollars(t.nanos),
                dollars(t.fixed_share_nanos),
                t.messages
            ));
        }
        for (title, map) in [("By component", &self.by_component), ("By channel", &self.by_channel)] {
            out.push_str(&format!("\n{title}\n"));
            for (name, nanos) in map.iter().filter(|(_, n)| **n > 0) {
                out.push_str(&format!("  {name:<24} {:>14}\n", dollars(*nanos)));
            }
        }
        out.push_str("\nBy day                          total     unbilled   messages\n");
        for d in &self.by_day {
            out.push_str(&format!(
                "  {:<12} {:>20} {:>12} {:>10}\n",
                d.day,
                dollars(d.total_nanos),
                dollars(d.unbilled_nanos),
                d.messages
            ));
        }
        out
    }

    /// CSV: one row per tenant, with its share of the fixed lines, then the requests billed to no
    /// tenant and what of the fixed lines no tenant's messages carry: the rows add up to the total.
    pub fn csv(&self) -> String {
        let mut out = String::from("month,tenant,messages,requests_nanos,fixed_share_nanos,total_nanos\n");
        let shared: u64 = self.by_tenant.iter().map(|t| t.fixed_share_nanos).sum();
        let rest = [
            TenantLine {
                tenant: "(billed to no tenant)".into(),
                nanos: self.unbilled_nanos,
                messages: 0,
                fixed_share_nanos: 0,
            },
            TenantLine {
                tenant: "(fixed lines, not shared)".into(),
                nanos: 0,
                messages: 0,
                fixed_share_nanos: self.fixed_nanos.saturating_sub(shared),
            },
        ];
        for t in self.by_tenant.iter().chain(&rest) {
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                self.month,
                csv_field(&t.tenant),
                t.messages,
                t.nanos,
                t.fixed_share_nanos,
                t.nanos + t.fixed_share_nanos
            ));
        }
        out
    }

    /// One self-contained page.
    pub fn html(&self) -> String {
        super::html::deployment(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{Attribution, Costs, Function, Outcome, report};
    use crate::memory::MemoryLedger;
    use std::sync::Arc;
    use switchboard_core::domain::Channel;
    use switchboard_core::meter::Metered;

    /// Two tenants and a refused request: the deployment's report is their sum, by tenant and
    /// day, and the fixed lines are shared by messages; each tenant's report shows its share.
    #[tokio::test]
    async fn the_deployment_report_adds_up_every_tenant() {
        let ledger = Arc::new(MemoryLedger::default());
        let costs = Costs::new(ledger.clone(), Arc::new(PriceTable::default_table()));
        costs.set_refused_flush_every(std::time::Duration::ZERO);
        let at: DateTime<Utc> = "2026-11-10T12:00:00Z".parse().unwrap();
        let message = Outcome { message: true, answered: true, ..Outcome::default() };
        for (tenant, n) in [("bakery", 3), ("florist", 1)] {
            for i in 0..n {
                let who = Attribution {
                    request_id: format!("{tenant}-{i}"),
                    function: Function::Responder,
                    item: "m".into(),
                    tenant: TenantId::new(tenant).unwrap(),
                    channel: Some(Channel::Webchat),
                    conversation: None,
                    at,
                };
                costs.record(who, message.clone(), Metered { api_requests: 1, ..Metered::default() }).await;
            }
        }
        let refused = crate::cost::refused::UnbilledRequest {
            request_id: "bad-sig".into(),
            function: Function::Inbound,
            route: "twilio".into(),
            tenant: None,
            why: crate::cost::refused::Unbilled::Refused(401),
            at,
        };
        costs.unbilled(refused, Metered { api_requests: 1, ..Metered::default() }).await;

        let month = Month::of(at);
        let fixed = FixedMonthly { metrics: 12, alarm_metrics: 14, dashboards: 1 };
        let r = build(ledger.as_ref(), &costs.prices, fixed, 10_000_000_000, month, at).await.unwrap();
        let bakery =
            report::build(ledger.as_ref(), &costs.prices, &TenantId::new("bakery").unwrap(), None, month, at, 10)
                .await
                .unwrap();
        assert_eq!(r.messages, 4);
        assert_eq!(r.by_tenant[0].tenant, "bakery");
        assert_eq!(r.by_tenant[0].nanos, bakery.total_nanos, "the tenant's line equals its own ledger");
        assert_eq!(r.tenants_nanos, r.by_tenant.iter().map(|t| t.nanos).sum::<u64>());
        assert!(r.unbilled_nanos > 0 && r.ledger_nanos == r.tenants_nanos + r.unbilled_nanos);
        assert_eq!(r.fixed_nanos, 8_000_000_000);
        assert_eq!(r.by_tenant[0].fixed_share_nanos, 6_000_000_000, "3 of 4 messages");
        assert_eq!(r.total_nanos, r.ledger_nanos + r.fixed_nanos);
        assert_eq!(r.by_day.len(), 1);
        assert_eq!(r.by_day[0].total_nanos, r.ledger_nanos);
        assert_eq!(r.budget.as_ref().map(|b| b.used_nanos), Some(r.ledger_nanos));
        assert!(r.table().contains("bakery") && r.table().contains("billed to no tenant"));
        let csv = r.csv();
        assert_eq!(csv.lines().count(), 5, "{csv}");
        assert!(csv.contains("2026-11,bakery,3,"));
        let summed: u64 = csv.lines().skip(1).filter_map(|l| l.rsplit(',').next()?.parse::<u64>().ok()).sum();
        assert_eq!(summed, r.total_nanos, "the rows add up to the total");
        let bakery = bakery.with_fixed_share(ledger.as_ref(), &costs.prices, fixed).await.unwrap();
        assert_eq!(bakery.fixed_share.as_ref().map(|f| f.nanos), Some(6_000_000_000));
        assert!(bakery.table().contains("share of the stack's fixed monthly lines (75.0 %"), "{}", bakery.table());
        assert!(bakery.table().contains("By day"));
        let rows = bakery.csv();
        assert!(rows.starts_with("request_id,tenant,function,channel,conversation,intent,decision,at,"));
        assert!(rows.lines().skip(1).all(|l| l.split(',').nth(1) == Some("bakery") && l.contains(",webchat,")));
        let page = r.html();
        assert!(page.contains("florist") && page.starts_with("<!doctype html>"));
    }
}
