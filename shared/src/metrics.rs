//! CloudWatch metrics in the Embedded Metric Format: one JSON line on stdout per data point,
//! which Lambda's log pipeline turns into a metric. No agent, no API call, no cost at idle.
//!
//! Dimensions are `tenant` and `channel` (bounded by the tenants of a deployment times seven
//! channels); anything unbounded — a reason, an id — is a property of the line, never a
//! dimension.

use serde_json::json;

/// Namespace of every Switchboard metric.
pub const NAMESPACE: &str = "Switchboard";

/// The EMF line of one count, with `properties` as searchable non-dimension fields.
pub fn count_line(metric: &str, tenant: &str, channel: &str, properties: &[(&str, &str)]) -> String {
    let mut line = json!({
        "_aws": {
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["tenant", "channel"], ["tenant"]],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
        "tenant": tenant,
        "channel": channel,
        metric: 1,
    });
    for (key, value) in properties {
        line[*key] = json!(value);
    }
    line.to_string()
}

/// Emits one count.
pub fn count(metric: &str, tenant: &str, channel: &str, properties: &[(&str, &str)]) {
    println!("{}", count_line(metric, tenant, channel, properties));
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
        assert_eq!(directive["Dimensions"][0], json!(["tenant", "channel"]));
        assert_eq!((line["EscalationFailed"].as_i64(), line["tenant"].as_str()), (Some(1), Some("demo")));
        assert_eq!(line["reason"], "HTTP 400", "a property, not a dimension");
    }
}
