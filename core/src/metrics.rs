//! CloudWatch metrics in the Embedded Metric Format: one JSON line on stdout per data point,
//! which Lambda's log pipeline turns into a metric. No agent, no API call, no cost at idle.
//!
//! Every metric has one dimension set, the empty one: the deployment's total, which is what the
//! template's alarms and dashboard read. CloudWatch bills each name × dimension combination as a
//! custom metric ($0.30 a month), so dimensions by tenant and channel cost about $7 a month per
//! active tenant — more than a small tenant's messages — for detail the cost ledger already keeps
//! per request. Tenant, channel, reasons and ids are properties of the line: searchable in Logs
//! Insights, never billed as metrics. [`METRICS`] lists every name; the template's
//! `FixedMonthly` output counts them.

use serde_json::json;

/// Namespace of every Switchboard metric.
pub const NAMESPACE: &str = "Switchboard";

/// Every metric the functions emit: each one custom metric CloudWatch bills by the month
/// (hour by hour, only in hours it receives data).
pub const METRICS: [&str; 12] = [
    "CostNanos",
    "Messages",
    "ModelCalls",
    "ModelFailures",
    "ModelTokens",
    "Escalations",
    "AnsweredLocally",
    "Answered",
    "RefusedRequests",
    "RefusedCostNanos",
    "EscalationFailed",
    "BudgetAlert",
];

/// An EMF document declaring `metrics` (name, unit) in the Switchboard namespace, deployment-wide
/// only; tenant and channel are properties. The caller adds the values and other properties.
fn document(metrics: &[(&str, &str)], tenant: &str, channel: &str) -> serde_json::Value {
    json!({
        "_aws": {
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[]],
                "Metrics": metrics.iter().map(|(name, unit)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        },
        "tenant": tenant,
        "channel": channel,
    })
}

/// The EMF line of one count, with `properties` as searchable non-dimension fields.
pub fn count_line(metric: &str, tenant: &str, channel: &str, properties: &[(&str, &str)]) -> String {
    let mut line = document(&[(metric, "Count")], tenant, channel);
    line[metric] = json!(1);
    for (key, value) in properties {
        line[*key] = json!(value);
    }
    line.to_string()
}

/// Emits one count.
pub fn count(metric: &str, tenant: &str, channel: &str, properties: &[(&str, &str)]) {
    emit(&count_line(metric, tenant, channel, properties));
}

/// Whether EMF lines are printed (see [`silence`]).
static SILENT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Stops printing EMF lines in this process, still counting their bytes as log ingestion: for
/// a command whose standard output is its own result (`switchboard forecast`).
pub fn silence() {
    SILENT.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Writes an EMF line to stdout, counting its bytes as log ingestion of the request being
/// measured (if any): the one way a metric leaves the process.
pub fn emit(line: &str) {
    crate::meter::report(|m| m.log_bytes += line.len() as u64 + 1);
    if !SILENT.load(std::sync::atomic::Ordering::Relaxed) {
        println!("{line}");
    }
}

/// The EMF line of one cost record: its cost in nano-dollars, and counts of messages, model
/// calls and tokens, escalations and local answers, dimensioned by tenant and channel (and by
/// tenant alone). Function and request id are properties, not dimensions.
pub fn cost_line(record: &crate::ledger::CostRecord) -> String {
    let o = &record.outcome;
    let (input, output) = record.units.model_tokens();
    let failures: u32 = record.units.models.values().map(|m| m.failed).sum();
    let metrics: [(&str, &str, u64); 8] = [
        ("CostNanos", "None", record.cost_nanos),
        ("Messages", "Count", u64::from(o.message)),
        ("ModelCalls", "Count", u64::from(record.units.model_calls())),
        ("ModelFailures", "Count", u64::from(failures)),
        ("ModelTokens", "Count", input + output),
        ("Escalations", "Count", u64::from(o.escalated)),
        ("AnsweredLocally", "Count", u64::from(o.answered_locally)),
        ("Answered", "Count", u64::from(o.answered)),
    ];
    let names: Vec<(&str, &str)> = metrics.iter().map(|(name, unit, _)| (*name, *unit)).collect();
    let mut line = document(&names, record.tenant.as_str(), record.channel.map_or("none", |c| c.as_str()));
    line["function"] = json!(record.function.as_str());
    line["request_id"] = json!(record.request_id);
    for (name, _, value) in metrics {
        line[name] = json!(value);
    }
    line.to_string()
}

/// The EMF line of one request no tenant is billed for ([`switchboard_engine::cost::refused`]): its count and
/// cost, deployment-wide; route, status and the tenant the path named are properties.
pub fn refused_line(record: &crate::ledger::CostRecord, route: &str, status: &str, tenant: &str) -> String {
    let line = json!({
        "_aws": {
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[]],
                "Metrics": [{"Name": "RefusedRequests", "Unit": "Count"}, {"Name": "RefusedCostNanos", "Unit": "None"}],
            }],
        },
        "route": route,
        "status": status,
        "RefusedRequests": 1,
        "RefusedCostNanos": record.cost_nanos,
        "named_tenant": tenant,
        "function": record.function.as_str(),
        "request_id": record.request_id,
    });
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_an_emf_document_with_bounded_dimensions() {
        let line: serde_json::Value =
            serde_json::from_str(&count_line("EscalationFailed", "demo", "telegram", &[("reason", "HTTP 400")]))
                .unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Switchboard");
        assert_eq!(directive["Metrics"][0]["Name"], "EscalationFailed");
        assert_eq!(directive["Dimensions"], json!([[]]), "deployment-wide: one billed metric per name");
        assert_eq!((line["EscalationFailed"].as_i64(), line["tenant"].as_str()), (Some(1), Some("demo")));
        assert_eq!(line["reason"], "HTTP 400", "a property, not a dimension");
    }

    #[test]
    fn a_cost_record_is_one_emf_document_of_its_figures() {
        let record = crate::ledger::CostRecord {
            request_id: "req-9".into(),
            function: crate::ledger::Function::Responder,
            item: "m".into(),
            tenant: crate::domain::TenantId::new("demo").unwrap(),
            channel: Some(crate::domain::Channel::Telegram),
            conversation: None,
            at: chrono::Utc::now(),
            outcome: crate::ledger::Outcome { message: true, answered: true, ..Default::default() },
            units: crate::meter::Metered::default(),
            components: crate::ledger::Components { lambda: 1234, ..Default::default() },
            cost_nanos: 1234,
            price_table: "t".into(),
            unpriced: Vec::new(),
        };
        let line: serde_json::Value = serde_json::from_str(&cost_line(&record)).unwrap();
        let names: Vec<&str> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"CostNanos") && names.contains(&"AnsweredLocally"), "{names:?}");
        assert_eq!((line["CostNanos"].as_u64(), line["Messages"].as_u64()), (Some(1234), Some(1)));
        assert_eq!((line["tenant"].as_str(), line["channel"].as_str()), (Some("demo"), Some("telegram")));
        assert_eq!(line["request_id"], "req-9", "a property, not a dimension");
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
        assert!(names.iter().all(|n| METRICS.contains(n)), "every name is listed in METRICS");
    }
}
