//! The `escalation` function: SQS batches from the escalation queue → the helpdesk. Partial
//! batch failures: only the failed records are retried; what keeps failing lands in the DLQ.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use switchboard::aws_app::AwsApp;
use switchboard::lambda::{Deadline, escalate_batch, escalation_record_budget};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    switchboard::cost::lambda::process_started();
    switchboard::telemetry::init_json_logs();
    let app = AwsApp::from_env().await?;
    let desk = app.escalation_desk()?;
    let redelivery = app.escalation_redelivery()?;
    let (desk, redelivery) = (&desk, &redelivery);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        switchboard::cost::lambda::invocation_started();
        let budget = escalation_record_budget(switchboard::http::DEFAULT_TIMEOUT);
        let deadline = Deadline::from_lambda(event.context.deadline, budget);
        Ok::<_, lambda_runtime::Error>(escalate_batch(desk, Some(redelivery), deadline, event.payload).await)
    }))
    .await
}

#[cfg(test)]
async fn handle(
    desk: &switchboard::pipeline::EscalationDesk,
    event: SqsEvent,
) -> Result<aws_lambda_events::event::sqs::SqsBatchResponse, lambda_runtime::Error> {
    Ok(escalate_batch(desk, None, Deadline::none(), event).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::Tenant;
    use switchboard::embedded::{Embedded, Options};

    fn event() -> SqsEvent {
        let path = format!("{}/../../events/escalation/sqs-batch.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn escalation_opens_one_ticket_even_when_redelivered() {
        let app =
            Embedded::start(vec![Tenant::demo().unwrap()], Options { print_escalations: false, ..Options::default() })
                .await
                .unwrap();
        let response = handle(&app.desk, event()).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        handle(&app.desk, event()).await.unwrap();
        let tickets = app.helpdesk.tickets();
        assert_eq!(tickets.len(), 1);
        assert_eq!(tickets[0].1.summary, "human_agent: asked for a person");
    }

    #[tokio::test]
    async fn malformed_record_is_reported_failed() {
        let app =
            Embedded::start(vec![Tenant::demo().unwrap()], Options { print_escalations: false, ..Options::default() })
                .await
                .unwrap();
        let mut ev = event();
        let mut bad = ev.records[0].clone();
        bad.message_id = Some("bad".into());
        bad.body = Some("{}".into());
        ev.records.insert(0, bad);
        let response = handle(&app.desk, ev).await.unwrap();
        let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert_eq!(failed, vec!["bad"]);
        assert_eq!(app.helpdesk.tickets().len(), 1, "the good record still went through");
    }
}
