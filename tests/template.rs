//! What the SAM template promises a cost owner and an ops engineer with a fresh account, checked
//! against the template itself and the code it must agree with.

use serde_norway::Value;
use std::collections::BTreeSet;

fn template() -> Value {
    let text = include_str!("../infra/template.yaml");
    serde_norway::from_str(text).expect("infra/template.yaml parses")
}

/// A `!Ref`/`!Sub`/`!If` value as text, to see what it names.
fn named(v: &Value) -> String {
    serde_norway::to_string(v).unwrap_or_default()
}

/// Resource types that take tags, and how (CloudFormation lists or SAM maps).
const TAGGED: [&str; 6] = [
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::Logs::LogGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::Serverless::Function",
    "AWS::Serverless::HttpApi",
];

fn tag_keys(resource: &Value, globals: &Value) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let tags = [&resource["Properties"]["Tags"], &globals["Tags"]];
    for tags in tags {
        if let Some(list) = tags.as_sequence() {
            keys.extend(list.iter().filter_map(|t| t["Key"].as_str().map(str::to_string)));
        } else if let Some(map) = tags.as_mapping() {
            keys.extend(map.keys().filter_map(|k| k.as_str().map(str::to_string)));
        }
    }
    keys
}

#[test]
fn every_resource_that_takes_tags_carries_its_stack_and_component() {
    let t = template();
    let resources = t["Resources"].as_mapping().expect("Resources");
    let function_globals = &t["Globals"]["Function"];
    assert_eq!(function_globals["PropagateTags"].as_bool(), Some(true), "the roles and mappings SAM makes too");
    let mut checked = 0;
    for (name, resource) in resources {
        let kind = resource["Type"].as_str().unwrap_or_default();
        if !TAGGED.contains(&kind) {
            continue;
        }
        let globals = if kind == "AWS::Serverless::Function" { function_globals } else { &Value::Null };
        let keys = tag_keys(resource, globals);
        for key in ["switchboard:stack", "switchboard:component"] {
            assert!(keys.contains(key), "{name:?} ({kind}) has no {key} tag");
        }
        checked += 1;
    }
    assert!(checked >= 25, "{checked} resources checked");
}

#[test]
fn a_new_account_can_create_the_stack() {
    let t = template();
    // Lambda keeps 100 of an account's concurrency unreserved; a new account's quota is often 10.
    for p in ["InboundConcurrency", "PollConcurrency"] {
        assert_eq!(t["Parameters"][p]["Default"].as_u64(), Some(0), "{p} reserves nothing by default");
    }
    let reserved: Vec<String> = t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| !r["Properties"]["ReservedConcurrentExecutions"].is_null())
        .map(|(n, r)| format!("{}: {}", named(n), named(&r["Properties"]["ReservedConcurrentExecutions"])))
        .collect();
    for line in &reserved {
        assert!(line.contains("!If") && line.contains("AWS::NoValue"), "reserved only when asked: {line}");
    }
}

#[test]
fn the_price_overrides_and_deployment_budget_reach_every_function() {
    let t = template();
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert!(named(&env["SWITCHBOARD_PRICE_OVERRIDES"]).contains("PriceOverrides"));
    assert!(named(&env["SWITCHBOARD_DEPLOYMENT_BUDGET_USD"]).contains("DeploymentMonthlyBudgetUsd"));
    assert_eq!(t["Parameters"]["PriceOverrides"]["Default"].as_str(), Some(""));
}

/// The `FixedMonthly` output is what the cost report bills as the stack's fixed lines: it must
/// count what the template and the code really create.
#[test]
fn the_fixed_monthly_output_counts_the_metrics_alarms_and_dashboards() {
    let t = template();
    let resources = t["Resources"].as_mapping().expect("Resources");
    let alarm_metrics: usize = resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .map(|r| match r["Properties"]["Metrics"].as_sequence() {
            Some(metrics) => metrics.iter().filter(|m| !m["MetricStat"].is_null()).count(),
            None => 1,
        })
        .sum();
    let dashboards = resources.values().filter(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Dashboard")).count();
    let metrics = switchboard::metrics::METRICS.len();
    let output = named(&t["Outputs"]["FixedMonthly"]["Value"]);
    let with_alarms = format!("metrics={metrics},alarm_metrics={alarm_metrics},dashboards={dashboards}");
    let without = format!("metrics={metrics},alarm_metrics=0,dashboards={dashboards}");
    assert!(output.contains(&with_alarms) && output.contains(&without), "{output} vs {with_alarms}");
    // Every Switchboard metric an alarm or the dashboard reads is one the code emits.
    let text = include_str!("../infra/template.yaml");
    for name in ["MetricName: ", "[\"Switchboard\", \"", "[\".\", \""] {
        for piece in text.split(name).skip(1) {
            let metric: String = piece.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            let is_ours = !text.contains(&format!("Namespace: AWS/SQS\n      MetricName: {metric}"))
                && !["Errors", "Throttles", "ApproximateNumberOfMessagesVisible"].contains(&metric.as_str());
            if is_ours && !metric.is_empty() {
                assert!(switchboard::metrics::METRICS.contains(&metric.as_str()), "{metric} is not emitted");
            }
        }
    }
}

/// The tenant docs/deploy.md stores on a new stack: it loads, starts in shadow, and keeps every
/// secret in SSM under its own prefix (tenants-put refuses a secret written in the file).
#[test]
fn the_starter_tenant_loads_in_shadow_with_every_secret_in_ssm() {
    let yaml = include_str!("../infra/tenants/starter.yaml");
    // As tenants-put reads it: the secrets are resolved only where the functions load it.
    let config = switchboard::TenantConfig::from_yaml("starter.yaml", yaml).expect("infra/tenants/starter.yaml loads");
    assert_eq!(config.rollout.default, switchboard::domain::RolloutMode::Shadow);
    assert!(config.reference_problems(&[]).is_empty());
    let mut config = config.clone();
    let secrets = config.secrets_mut();
    assert!(!secrets.is_empty());
    for (field, secret) in secrets {
        let name = secret.parameter().unwrap_or_else(|| panic!("{field} is written in the file"));
        assert!(name.starts_with("/switchboard/acme/"), "{field}: {name}");
    }
}

/// The runbook's number of receives before a record is parked is the template's.
#[test]
fn the_runbook_says_how_many_receives_park_a_record() {
    let runbook = include_str!("../docs/runbook.md");
    let wanted = format!("maxReceiveCount: {}", switchboard::lambda::MAX_RECEIVES);
    assert!(runbook.contains(&wanted), "docs/runbook.md should say `{wanted}`");
    assert!(include_str!("../infra/template.yaml").contains(&wanted));
}
