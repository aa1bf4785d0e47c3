//! The `responder` function: SQS FIFO batches from the messages queue → the responder half.
//! Partial batch failures with FIFO semantics: at the first failure, it and every later record
//! are reported failed, so one conversation is never answered out of order.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use switchboard::aws_app::AwsApp;
use switchboard::lambda::{Deadline, respond_batch};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    switchboard::cost::lambda::process_started();
    switchboard::telemetry::init_json_logs();
    // Clients and configuration once per cold start; a missing variable fails here, loudly.
    let app = AwsApp::from_env().await?;
    let responder = app.responder()?;
    let redelivery = app.responder_redelivery()?;
    let budget = app.responder_record_budget();
    let (responder, redelivery) = (&responder, &redelivery);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        switchboard::cost::lambda::invocation_started();
        let deadline = Deadline::from_lambda(event.context.deadline, budget);
        Ok::<_, lambda_runtime::Error>(respond_batch(responder, Some(redelivery), deadline, event.payload).await)
    }))
    .await
}

#[cfg(test)]
async fn handle(
    responder: &switchboard::pipeline::Responder,
    event: SqsEvent,
) -> Result<aws_lambda_events::event::sqs::SqsBatchResponse, lambda_runtime::Error> {
    Ok(respond_batch(responder, None, Deadline::none(), event).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::Tenant;
    use switchboard::domain::{ConversationId, Role, TenantId};
    use switchboard::embedded::{Embedded, Options};
    use switchboard::ports::ConversationStore;

    fn event(name: &str) -> SqsEvent {
        let path = format!("{}/../../events/responder/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    async fn app() -> Embedded {
        Embedded::start(vec![Tenant::demo().unwrap()], Options { print_escalations: false, ..Options::default() })
            .await
            .unwrap()
    }

    async fn turns(app: &Embedded) -> Vec<(Role, String)> {
        let tenant = TenantId::new("demo").unwrap();
        let conversation = ConversationId::new("c_0f8e2a7c4b5d4e6f8a9b0c1d2e3f4a5b").unwrap();
        let turns = app.conversations.turns_after(&tenant, &conversation, None, 100).await.unwrap();
        turns.into_iter().map(|t| (t.role, t.text)).collect()
    }

    #[tokio::test]
    async fn batch_is_answered_in_order() {
        let app = app().await;
        let response = handle(&app.responder, event("sqs-fifo-batch.json")).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        let turns = turns(&app).await;
        let roles: Vec<Role> = turns.iter().map(|t| t.0).collect();
        assert_eq!(roles, vec![Role::Customer, Role::Bot, Role::Customer, Role::Bot]);
        assert_eq!(turns[2].1, "How long does shipping take?");
        assert!(turns[3].1.contains("2–4 business days"), "answered from the FAQ: {}", turns[3].1);
    }

    #[tokio::test]
    async fn redelivered_batch_is_not_answered_twice() {
        let app = app().await;
        handle(&app.responder, event("sqs-fifo-batch.json")).await.unwrap();
        let response = handle(&app.responder, event("sqs-fifo-batch.json")).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(turns(&app).await.len(), 4);
    }

    #[tokio::test]
    async fn poison_record_fails_itself_and_everything_after_it() {
        let app = app().await;
        let response = handle(&app.responder, event("sqs-fifo-poison.json")).await.unwrap();
        let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert_eq!(failed, vec!["0e9c1a52-0000-4000-8000-000000000002", "0e9c1a52-0000-4000-8000-000000000003"]);
        let turns = turns(&app).await;
        assert_eq!(turns.len(), 2, "only the record before the poison one was handled");
    }
}
