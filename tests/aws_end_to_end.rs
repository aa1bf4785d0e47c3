//! The whole pipeline on real local servers: API Gateway events through the `inbound` router,
//! the FIFO queue in moto, the `responder` and `escalation` batch handlers fed the way Lambda's
//! event source mapping feeds them, state in DynamoDB Local, secrets in SSM.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard::adapters::aws::Table;
use switchboard::domain::{ConversationId, ConversationState, TenantId};
use switchboard::lambda::respond_batch;
use switchboard::ports::ConversationStore;
use switchboard_tests::bedrock::{FakeBedrock, Mode};
use switchboard_tests::provider::{FakeProvider, SendFaults};
use switchboard_tests::stack::{IDENTITY_SECRET, Options, stack};

fn texts(page: &Value, role: &str) -> Vec<String> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == role)
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_web_chat_message_travels_through_sqs_and_dynamodb_and_is_answered_once() {
    let s = stack(Options::default()).await;
    let body = json!({"visitor_id": "v_e2e", "client_message_id": "w_1", "text": "What are your opening hours?"});
    let (status, ack) = s.post(body.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
    let (status, again) = s.post(body).await;
    assert_eq!((status, &again), (StatusCode::ACCEPTED, &ack), "a repeated delivery gets the same ack");
    assert_eq!(s.aws.depth(&s.messages.url).await, 1, "and is not queued twice");

    assert_eq!(s.run_responder().await, 1);
    let conversation = ack["conversation_id"].as_str().unwrap();
    let page = s.messages(conversation).await;
    assert_eq!(texts(&page, "customer"), vec!["What are your opening hours?"]);
    let bot = texts(&page, "bot");
    assert_eq!(bot.len(), 1);
    assert!(bot[0].contains("Monday to Friday"), "{bot:?}");
    assert_eq!(page["state"], "bot");
    assert_eq!(s.aws.depth(&s.messages.url).await, 0, "the handled message was deleted");

    // The cost records are in DynamoDB with what the adapters metered: the responder's and the
    // two inbound requests' (the repeat delivery cost a request too).
    let records = cost_records(&s, "demo").await;
    let responder: Vec<&Value> = records.iter().filter(|r| r["function"] == "responder").collect();
    assert_eq!(responder.len(), 1, "{records:?}");
    let record = responder[0];
    assert_eq!(record["outcome"]["decision"], "answer");
    assert_eq!(record["request_id"], "req-1", "API Gateway's request id follows the message");
    assert!(record["units"]["dynamodb_calls"].as_u64().unwrap() >= 5, "{record}");
    assert!(record["units"]["dynamodb_read_milli_units"].as_u64().unwrap() > 0, "{record}");
    assert!(record["units"]["dynamodb_write_milli_units"].as_u64().unwrap() > 0, "{record}");
    assert!(record["units"]["sqs_fifo_requests"].as_u64().unwrap() >= 2, "receive and delete: {record}");
    assert!(record["components"]["dynamodb"].as_u64().unwrap() > 0, "{record}");
    assert_eq!(records.iter().filter(|r| r["function"] == "inbound").count(), 2, "{records:?}");
}

#[tokio::test]
async fn a_redelivered_batch_is_not_answered_twice() {
    let s = stack(Options::default()).await;
    let (_, ack) = s.post(json!({"visitor_id": "v_r", "text": "Do you ship to Canada?"})).await;
    let (event, _) = s.aws.receive_event(&s.messages.url).await;
    for _ in 0..2 {
        let response = respond_batch(&s.responder, None, switchboard::lambda::Deadline::none(), event.clone()).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let page = s.messages(ack["conversation_id"].as_str().unwrap()).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 2, "{page}");
    assert!(texts(&page, "bot")[0].contains("Canada"));
}

/// A record that failed for a moment (the provider's send API answered 500) is handed back
/// for seconds, not for the queue's whole visibility timeout (360 s in the template): the
/// customer's answer is late by the backoff, not by six minutes.
#[tokio::test]
async fn a_record_that_failed_for_a_moment_comes_back_in_seconds_not_after_the_visibility_timeout() {
    let provider = FakeProvider::start(0).await;
    // Two 500s: the send is tried twice in the call (a 500 was not accepted), then handed back.
    provider.set_faults(SendFaults { fail_containing: Some(("Monday".into(), 2)), ..SendFaults::default() });
    let s = stack(Options { providers: Some(provider.url.clone()), visibility: 360, ..Options::default() }).await;
    let (status, body) =
        s.sms("SM00000000000000000000000000000b0f", "+15550007001", "What are your opening hours?").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(s.run_responder().await, 1, "the message was received once");
    assert!(provider.accepted().is_empty(), "the first send failed");
    let started = std::time::Instant::now();
    while provider.accepted().is_empty() && started.elapsed() < Duration::from_secs(20) {
        s.run_responder().await;
    }
    assert_eq!(
        provider.accepted().len(),
        1,
        "answered once, within 20 s of the failure (the queue's visibility is 360 s)"
    );
    assert_eq!(s.aws.depth(&s.messages.url).await, 0, "and deleted");
}

/// Cost records of `tenant` this month, as stored.
async fn cost_records(s: &switchboard_tests::stack::Stack, tenant: &str) -> Vec<Value> {
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let out = s
        .aws
        .clients
        .dynamodb
        .query()
        .table_name(&s.aws.table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :r)")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("T#{tenant}#COST#{month}")),
        )
        .expression_attribute_values(":r", aws_sdk_dynamodb::types::AttributeValue::S("R#".into()))
        .send()
        .await
        .unwrap();
    out.items().iter().map(|i| serde_json::from_str(i["data"].as_s().unwrap()).unwrap()).collect()
}

#[tokio::test]
async fn a_redelivered_message_leaves_one_cost_record() {
    let s = stack(Options::default()).await;
    s.post(json!({"visitor_id": "v_cost", "text": "Do you ship to Canada?"})).await;
    let (event, _) = s.aws.receive_event(&s.messages.url).await;
    for _ in 0..2 {
        respond_batch(&s.responder, None, switchboard::lambda::Deadline::none(), event.clone()).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let responder: Vec<Value> =
        cost_records(&s, "demo").await.into_iter().filter(|r| r["function"] != "inbound").collect();
    assert_eq!(responder.len(), 1, "a redelivery overwrites its record: {responder:?}");
}

#[tokio::test]
async fn an_escalation_reaches_the_escalation_function_and_hands_the_conversation_over() {
    let s = stack(Options::default()).await;
    let identity = switchboard_tests::signed_identity(IDENTITY_SECRET, "c-1002");
    let (status, ack) =
        s.post(json!({"visitor_id": "v_ben", "text": "I want to talk to a human", "identity": identity})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "the identity verified against the secret from SSM: {ack}");
    assert_eq!(s.run_responder().await, 1);
    assert_eq!(s.aws.depth(&s.escalations.url).await, 1, "one escalation queued");

    assert_eq!(s.run_escalation().await, 1);
    let conversations =
        switchboard::adapters::aws::DynamoConversations::new(Table::new(s.aws.clients.dynamodb.clone(), &s.aws.table));
    let id = ConversationId::new(ack["conversation_id"].as_str().unwrap()).unwrap();
    let stored = conversations.conversation(&TenantId::new("demo").unwrap(), &id).await.unwrap().unwrap();
    assert!(matches!(stored.state, ConversationState::HumanOwned { .. }), "{:?}", stored.state);
    assert_eq!(stored.customer.map(|c| c.to_string()), Some("c-1002".into()));
    let page = s.messages(id.as_str()).await;
    assert_eq!(page["state"], "human");
    assert!(texts(&page, "system")[0].contains("Ben"), "the notice is personal: {page}");
    assert_eq!(s.aws.depth(&s.escalations.url).await, 0);
}

#[tokio::test]
async fn the_hosted_model_is_asked_when_the_local_one_is_unsure() {
    let fake = FakeBedrock::start(Mode::Tool(json!({
        "intent": "order_status", "confidence": 0.97, "sentiment": "neutral", "sentiment_score": 0.0, "urgency": "normal",
        "language": "en", "wants_human": false, "summary": "asks about an order"
    })))
    .await;
    let s = stack(Options { bedrock: Some(fake.clone()), hosted_below: 1.0, ..Options::default() }).await;
    let (_, ack) = s.post(json!({"visitor_id": "v_m", "text": "What are your opening hours?"})).await;
    assert_eq!(s.run_responder().await, 1);
    let page = s.messages(ack["conversation_id"].as_str().unwrap()).await;
    assert!(texts(&page, "bot")[0].contains("track your order"), "the hosted intent decided: {page}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn model_down_falls_back_to_the_local_answer_and_loses_nothing() {
    let fake = FakeBedrock::start(Mode::Fail).await;
    let s = stack(Options { bedrock: Some(fake.clone()), hosted_below: 1.0, ..Options::default() }).await;
    let (_, ack) = s.post(json!({"visitor_id": "v_d", "text": "What are your opening hours?"})).await;
    assert_eq!(s.run_responder().await, 1);
    let page = s.messages(ack["conversation_id"].as_str().unwrap()).await;
    assert!(texts(&page, "bot")[0].contains("Monday to Friday"), "{page}");
    assert!(!fake.requests().is_empty(), "the model was tried");
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
}

#[tokio::test]
async fn a_corrupt_record_is_parked_in_the_dead_letter_queue_at_once() {
    let s = stack(Options { max_receives: 2, ..Options::default() }).await;
    s.aws
        .clients
        .sqs
        .send_message()
        .queue_url(&s.messages.url)
        .message_body("{not a message")
        .message_group_id("demo#c_poison")
        .message_deduplication_id("poison-1")
        .send()
        .await
        .unwrap();
    let mut attempts = 0;
    for _ in 0..10 {
        attempts += s.run_responder().await;
        if s.aws.depth(&s.messages.dlq_url).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    assert_eq!(attempts, 1, "a record that can never succeed is parked at once, not retried");
    assert_eq!(s.aws.depth(&s.messages.dlq_url).await, 1, "parked in the DLQ");
    let parked = switchboard::adapters::aws::dead_letters(&s.aws.clients.sqs, &s.messages.dlq_url).await.unwrap();
    assert!(parked[0].error.as_deref().unwrap_or_default().contains("not valid"), "with its reason: {parked:?}");
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
}

#[tokio::test]
async fn a_queue_outage_is_503_and_nothing_is_half_written() {
    // Nothing listens where SQS should be: the queue is down, and a retry may succeed.
    let s = stack(Options { sqs_down: true, ..Options::default() }).await;
    let before = s.items().await;
    let (status, error) = s.post(json!({"visitor_id": "v_q", "client_message_id": "w_q", "text": "hello"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    assert_eq!(error["error"]["code"], "queue_unavailable");
    assert_eq!(s.items().await, before, "no conversation, no idempotency record left behind");
}

/// A queue that does not exist is the operator's to fix, not the client's to retry: 500
/// `misconfigured`, no Retry-After, and still nothing half-written.
#[tokio::test]
async fn a_missing_queue_is_a_configuration_error_and_nothing_is_half_written() {
    let missing = format!("{}/000000000000/missing.fifo", std::env::var("AWS_ENDPOINT_URL_SQS").unwrap());
    let s = stack(Options { messages_queue: Some(missing), ..Options::default() }).await;
    let before = s.items().await;
    let (status, error) = s.post(json!({"visitor_id": "v_q", "client_message_id": "w_q", "text": "hello"})).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{error}");
    assert_eq!(error["error"]["code"], "misconfigured");
    assert!(!error.to_string().contains("missing.fifo"), "the client is not told our resource names: {error}");
    assert_eq!(s.items().await, before, "no conversation, no idempotency record left behind");
}

/// A tenant whose secret parameter does not exist is a configuration error the operator can act
/// on (before: a bare 500 `internal` with no cause in the logs), and is never served with an
/// empty secret: an identity signed with an empty key is not accepted.
#[tokio::test]
async fn a_tenant_whose_ssm_secret_is_missing_is_misconfigured_not_served_with_an_empty_key() {
    let s = stack(Options {
        replace: vec![("webchat-identity\"}".into(), "webchat-identity-never-stored\"}".into())],
        ..Options::default()
    })
    .await;
    let forged = switchboard_tests::signed_identity("", "c-1001");
    let (status, error) = s.post(json!({"visitor_id": "v_m", "text": "Where is my order?", "identity": forged})).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{error}");
    assert_eq!(error["error"]["code"], "misconfigured");
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
}

#[tokio::test]
async fn refused_requests_leave_the_table_untouched() {
    let s = stack(Options::default()).await;
    let before = s.items().await;
    let earlier = deployment_day(&s).await;
    let spoofed = switchboard_tests::signed_identity("demo-identity-secret-change-me", "c-1002");
    let (status, _) = s.post(json!({"visitor_id": "v_x", "text": "hi", "identity": spoofed})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the YAML's old secret no longer signs: SSM's does");
    let (status, _) = s.call("POST", "/v1/nope/webchat/messages", Some(json!({"visitor_id": "v", "text": "hi"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.post(json!({"visitor_id": "v", "text": "x".repeat(2001)})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Nothing of the tenant's was written, and an invented tenant name creates nothing for
    // anyone; the refusals are the deployment's, counted in its own partition (3 of them).
    let written = s.items().await - before;
    assert!(written <= 1, "at most one item, the deployment's day of unbilled requests: {written}");
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
    assert!(cost_records(&s, "demo").await.is_empty(), "refused requests are not billed to the tenant");
    assert!(cost_records(&s, "nope").await.is_empty());
    let refused = deployment_day(&s).await;
    let new = |name: &str| refused.get(name) - earlier.get(name);
    assert_eq!((new("requests"), new("status.401"), new("status.404"), new("status.413")), (3, 1, 1, 1));
    assert!(refused.get("total") > 0, "they are priced: {refused:?}");
}

/// The reviewer's flood: unsigned Twilio webhooks at a tenant's route. Each is refused; none may
/// move the tenant's ledger or budget (on the old code 301 of them took a $10 budget's used
/// figure from 385,003 to 1,219,074 nano-dollars); the deployment's aggregate counts them.
#[tokio::test]
async fn refused_requests_are_the_deployments_and_never_spend_the_tenants_budget() {
    let s = stack(Options::default()).await;
    let (status, _) = s.post(json!({"visitor_id": "v_ok", "text": "What are your opening hours?"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let month = switchboard::cost::Month::of(chrono::Utc::now());
    let demo = switchboard::domain::TenantId::new("demo").unwrap();
    let ledger = switchboard::adapters::aws::DynamoLedger::new(switchboard::adapters::aws::Table::new(
        s.aws.clients.dynamodb.clone(),
        s.aws.table.clone(),
    ));
    use switchboard::ports::CostLedger;
    let total = |days: Vec<switchboard::cost::DayTotals>| days.iter().map(|d| d.get("total")).sum::<i64>();
    let before = total(ledger.days(&demo, month).await.unwrap());
    assert!(before > 0, "the accepted post is the tenant's");
    let body = b"MessageSid=SM1&From=%2B34600111222&To=%2B15550001111&Body=hi".to_vec();
    for _ in 0..30 {
        let (status, _) = s.post_raw("/v1/demo/twilio", "application/x-www-form-urlencoded", &[], body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(total(ledger.days(&demo, month).await.unwrap()), before, "the tenant's ledger did not move");
    assert_eq!(cost_records(&s, "demo").await.len(), 1, "only the accepted post");
    let refused = deployment_day(&s).await;
    assert_eq!((refused.get("requests"), refused.get("status.401"), refused.get("route.twilio")), (30, 30, 30));
}

/// Today's counters of the deployment's aggregate of unbilled requests.
async fn deployment_day(s: &switchboard_tests::stack::Stack) -> switchboard::cost::DayTotals {
    use switchboard::ports::CostLedger;
    let ledger = switchboard::adapters::aws::DynamoLedger::new(switchboard::adapters::aws::Table::new(
        s.aws.clients.dynamodb.clone(),
        s.aws.table.clone(),
    ));
    let month = switchboard::cost::Month::of(chrono::Utc::now());
    let days = ledger.days(&switchboard::domain::TenantId::deployment(), month).await.unwrap();
    days.into_iter().last().unwrap_or_default()
}

#[tokio::test]
async fn the_hosted_model_writes_grounded_answers_only_from_close_faq_entries() {
    let fake = FakeBedrock::start(Mode::Tool(
        json!({"answer": "Standard delivery to Lisbon takes 2-4 business days.", "entries": ["shipping-times-en"]}),
    ))
    .await;
    let s =
        stack(Options { bedrock: Some(fake.clone()), generate: true, hosted_below: 0.0, ..Options::default() }).await;
    let (_, ack) = s.post(json!({"visitor_id": "v_g", "text": "How fast can you deliver to Lisbon?"})).await;
    assert_eq!(s.run_responder().await, 1);
    let page = s.messages(ack["conversation_id"].as_str().unwrap()).await;
    assert_eq!(texts(&page, "bot"), vec!["Standard delivery to Lisbon takes 2-4 business days."], "{page}");
    let (_, request) = &fake.requests()[0];
    let context = request.pointer("/messages/0/content/0/text").and_then(Value::as_str).unwrap();
    assert!(context.contains("<entry id=\"shipping-times-en\">"), "{context}");
    assert!(!context.contains("payment-methods-en"), "only close entries are context");

    // When the entries do not answer it, the model says so and a person takes over.
    fake.set(Mode::Tool(json!({"answer": null, "entries": []})));
    let (_, ack) = s.post(json!({"visitor_id": "v_g2", "text": "How fast can you deliver to Lisbon?"})).await;
    assert_eq!(s.run_responder().await, 1);
    let page = s.messages(ack["conversation_id"].as_str().unwrap()).await;
    assert!(texts(&page, "bot").is_empty(), "{page}");
    assert_eq!(page["state"], "human");
}

/// Lambda stops an invocation at its deadline and retries the whole batch; five such retries
/// park every message. With every model call hanging past its timeout, one invocation must
/// return before the deadline, answering what fits and handing the rest back unharmed.
#[tokio::test]
async fn a_batch_under_a_hanging_model_returns_inside_the_deadline_and_parks_nothing() {
    let fake = FakeBedrock::start(Mode::Slow(Duration::from_secs(30), Box::new(Mode::Text("late".into())))).await;
    let s = stack(Options { bedrock: Some(fake.clone()), hosted_below: 1.0, ..Options::default() }).await;
    let mut conversations = Vec::new();
    for i in 0..10 {
        let (status, ack) =
            s.post(json!({"visitor_id": format!("v_dl{i}"), "text": "What are your opening hours?"})).await;
        assert_eq!(status, reqwest::StatusCode::ACCEPTED);
        conversations.push(ack["conversation_id"].as_str().unwrap().to_string());
    }
    let (event, received) = s.aws.receive_event(&s.messages.url).await;
    assert!(received.len() >= 5, "a batch of several records ({})", received.len());
    let deadline = Duration::from_secs(10);
    let response = tokio::time::timeout(deadline, s.respond_batch_until(event, deadline))
        .await
        .expect("the invocation returned before Lambda's deadline");
    let failed = response.batch_item_failures.len();
    assert!(failed < received.len(), "some records were answered ({failed} of {} handed back)", received.len());
    for m in &received {
        let handed_back =
            response.batch_item_failures.iter().any(|f| Some(f.item_identifier.as_str()) == m.message_id());
        if !handed_back {
            s.aws
                .clients
                .sqs
                .delete_message()
                .queue_url(&s.messages.url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    // The rest come back and are answered; nothing was parked.
    for _ in 0..20 {
        if s.aws.depth(&s.messages.url).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
        s.run_responder().await;
    }
    assert_eq!(s.aws.depth(&s.messages.dlq_url).await, 0, "nothing parked");
    for c in &conversations {
        let page = s.messages(c).await;
        assert_eq!(texts(&page, "bot").len(), 1, "answered exactly once from the local model: {page}");
    }
}

/// The units that decide DynamoDB's and SQS's bill, of each record a step added.
fn billed_units(records: &[Value], seen: &mut std::collections::BTreeSet<String>) -> Vec<(String, Value)> {
    let mut added: Vec<(String, Value)> = records
        .iter()
        .filter(|r| seen.insert(format!("{}#{}#{}", r["at"], r["function"], r["item"])))
        .map(|r| {
            let u = &r["units"];
            let units = json!([
                u["dynamodb_read_milli_units"],
                u["dynamodb_write_milli_units"],
                u["sqs_fifo_requests"],
                u["sqs_standard_requests"]
            ]);
            (
                format!("{}:{}", r["function"].as_str().unwrap_or(""), r["outcome"]["decision"].as_str().unwrap_or("")),
                units,
            )
        })
        .collect();
    added.sort_by(|a, b| a.0.cmp(&b.0));
    added
}

/// `switchboard serve` shows production's figures: one scenario (an FAQ answer, a handoff to a
/// person with its ticket) on the memory adapters and on DynamoDB Local and moto, and each
/// record's DynamoDB capacity and SQS requests are the same.
#[tokio::test]
async fn the_memory_adapters_report_the_units_the_aws_adapters_are_billed() {
    use tower::ServiceExt;
    let s = stack(Options::default()).await;
    let options = switchboard::embedded::Options { print_escalations: false, ..Default::default() };
    let app =
        switchboard::embedded::Embedded::start(vec![switchboard::Tenant::demo().unwrap()], options).await.unwrap();
    let router = app.router();
    let memory_records =
        || -> Vec<Value> { app.ledger.all().iter().map(|r| serde_json::to_value(r).unwrap()).collect() };
    let (mut seen_aws, mut seen_memory) = (Default::default(), Default::default());
    let steps =
        [("v_warm", "Hello"), ("v_faq", "What are your opening hours?"), ("v_person", "I want to talk to a human")];
    for (i, (visitor, text)) in steps.into_iter().enumerate() {
        let body = json!({"visitor_id": visitor, "text": text});
        let (status, _) = s.post(body.clone()).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        s.run_responder().await;
        s.run_escalation().await;
        // The same request id as the stack's API Gateway event: ids are part of what is stored.
        let post = axum::http::Request::post("/v1/demo/webchat/messages")
            .header("content-type", "application/json")
            .header("x-request-id", "req-1")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        assert_eq!(router.clone().oneshot(post).await.unwrap().status(), StatusCode::ACCEPTED);
        let expected = cost_records(&s, "demo").await.len();
        for _ in 0..200 {
            if memory_records().len() >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let aws = billed_units(&cost_records(&s, "demo").await, &mut seen_aws);
        let memory = billed_units(&memory_records(), &mut seen_memory);
        // The first step warms the caches that differ (the tenant and its secrets from DynamoDB
        // and SSM, held for minutes in a function): compared from the second step on.
        if i > 0 {
            assert_eq!(memory, aws, "step {i} ({text}): [read, write, fifo, standard] per record");
            assert!(aws.iter().any(|(_, u)| u[1].as_u64() > Some(0)), "the step wrote something: {aws:?}");
        }
    }
}
