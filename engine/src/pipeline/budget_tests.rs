//! Budgets say what they are: what counts toward one, what stops at its soft line, a hard cap on
//! sends over channels that bill per message, and a budget for every tenant together.

use super::tests::{CountingModel, message, rig, spent_on};
use crate::cost::Components;
use crate::tenant::Tenant;
use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use switchboard_core::config::{BudgetCounts, SoftLineStops};
use switchboard_core::domain::{Channel, ConversationId, Decision, InboundMessage, Reason};

/// The demo tenant, asking the hosted model about everything, with `budget` changes.
fn tenant(change: impl FnOnce(&mut switchboard_core::config::BudgetConfig)) -> Tenant {
    let yaml = crate::tenant::DEMO_TENANT_YAML
        .replace("hosted_below: 0.6", "hosted_below: 1.0")
        .replace("budget:\n", "answers:\n  generate_with_model: true\nbudget:\n");
    let mut t = Tenant::from_yaml("t", &yaml).unwrap();
    change(&mut t.config.budget);
    t
}

/// A message in a conversation of its own (a handoff keeps its conversation with a person).
fn alone(text: &str, channel: Channel) -> InboundMessage {
    let mut m = message(text, channel);
    m.conversation = ConversationId::new(format!("c_{}", m.id)).unwrap();
    m
}

const SMS_FEES: Components = Components { channels: 900_000_000, ..zero() };

const fn zero() -> Components {
    Components { lambda: 0, api_gateway: 0, dynamodb: 0, sqs: 0, model: 0, logs: 0, ssm: 0, channels: 0 }
}

#[tokio::test]
async fn a_budget_that_counts_aws_alone_is_not_spent_by_sms_fees() {
    for (counts, hosted_calls) in [(BudgetCounts::All, 0), (BudgetCounts::Aws, 1)] {
        let mut rig = rig(tenant(|b| {
            b.monthly_usd = 1.0;
            b.counts = counts;
        }));
        let model = Arc::new(CountingModel::default());
        rig.responder = rig.responder.with_model(model.clone());
        spent_on(&rig, "demo", SMS_FEES).await;
        spent_on(&rig, "demo", Components { lambda: 200_000_000, ..zero() }).await;
        rig.responder.respond(&alone("Is express shipping dearer for heavy parcels?", Channel::Webchat)).await.unwrap();
        assert_eq!(model.calls.load(SeqCst), hosted_calls, "{counts:?}: $0.90 of SMS and $0.20 of AWS against $1");
    }
}

#[tokio::test]
async fn what_stops_at_the_soft_line_is_the_tenants_choice() {
    // 85 % of the budget spent: past the soft line, under the budget.
    // (classifications, answers written) by the hosted model.
    for (stops, calls) in
        [(SoftLineStops::Generation, (1, 0)), (SoftLineStops::HostedModel, (0, 0)), (SoftLineStops::Nothing, (1, 1))]
    {
        let mut rig = rig(tenant(|b| {
            b.monthly_usd = 1.0;
            b.at_soft_line = stops;
        }));
        let model = Arc::new(CountingModel::default());
        rig.responder = rig.responder.with_model(model.clone());
        spent_on(&rig, "demo", Components { model: 850_000_000, ..zero() }).await;
        rig.responder.respond(&alone("Is express shipping dearer for heavy parcels?", Channel::Webchat)).await.unwrap();
        assert_eq!((model.calls.load(SeqCst), model.generations.load(SeqCst)), calls, "{stops:?}");
    }
}

#[tokio::test]
async fn past_the_cap_on_paid_sends_a_person_answers_sms_and_the_web_chat_goes_on() {
    let rig = rig(tenant(|b| b.paid_sends_usd = 0.5));
    let hours = "What are your opening hours?";
    let before = rig.responder.respond(&alone(hours, Channel::TwilioSms)).await.unwrap();
    assert!(matches!(before.decision, Decision::Answer { .. }), "under the cap: {:?}", before.decision);
    spent_on(&rig, "demo", SMS_FEES).await;
    let sent = rig.outbox_len();
    let capped = rig.responder.respond(&alone(hours, Channel::TwilioSms)).await.unwrap();
    match &capped.decision {
        Decision::Escalate { escalation } => {
            assert_eq!(escalation.reasons, [Reason::PaidSendsCapped]);
            assert!(escalation.draft.is_some(), "the person gets the bot's draft");
        }
        other => panic!("expected a handoff, got {other:?}"),
    }
    assert_eq!(rig.outbox_len() - sent, 1, "one handoff notice, no answer");
    let web = rig.responder.respond(&alone(hours, Channel::Webchat)).await.unwrap();
    assert!(matches!(web.decision, Decision::Answer { .. }), "free channels still answered");
}

#[tokio::test]
async fn the_deployments_budget_degrades_a_tenant_without_one_of_its_own() {
    let mut rig = rig(tenant(|_| {}));
    let model = Arc::new(CountingModel::default());
    rig.responder = rig.responder.with_model(model.clone()).with_deployment_budget(1_000_000_000);
    let ask = || alone("Is express shipping dearer for heavy parcels?", Channel::Webchat);
    rig.responder.respond(&ask()).await.unwrap();
    assert_eq!(model.calls.load(SeqCst), 1, "under the deployment's budget");
    // Another tenant spends the deployment's dollar.
    spent_on(&rig, "other-shop", Components { model: 1_000_000_000, ..zero() }).await;
    rig.responder.respond(&ask()).await.unwrap();
    assert_eq!(model.calls.load(SeqCst), 1, "every tenant degrades past the deployment's budget");
    use switchboard_core::ports::{Clock, CostLedger};
    let month = crate::cost::Month::of(rig.clock.now());
    let deployment = switchboard_core::domain::TenantId::deployment();
    let alerts: Vec<String> = rig.ledger.alerts(&deployment, month).await.unwrap().into_iter().map(|a| a.0).collect();
    assert_eq!(alerts, ["exhausted", "soft"], "the operator is alerted once per threshold");
    let demo = switchboard_core::domain::TenantId::new("demo").unwrap();
    assert!(rig.ledger.alerts(&demo, month).await.unwrap().is_empty(), "no tenant's alert: the tenant has no budget");
}
