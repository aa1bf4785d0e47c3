//! The deployed shape, run: the functions' built bootstraps started under a Lambda Runtime API
//! (a loopback one), each with the environment `infra/template.yaml` gives it, against DynamoDB
//! Local and moto, driven by the files in `events/`. What this proves beyond the router tests:
//! the binaries, their configuration from the template and the runtime loop, as Lambda runs them.
//! `scripts/test.sh` builds the bootstraps (`cargo build --bins`) before the tests.

use serde_json::{Value, json};
use switchboard_tests::provider::FakeProvider;
use switchboard_tests::runtime::{Function, event, poll};
use switchboard_tests::stack::{Options, Stack, stack};

/// Starts the template's `function` from the debug build.
async fn start(s: &Stack, function: &str) -> Function {
    Function::start(s, function, "debug").await
}

/// The POST event of `events/`, saying `text` as `visitor`.
fn say(visitor: &str, text: &str) -> Value {
    let mut post = event("inbound/webchat-post.json");
    post["body"] = json!(json!({"visitor_id": visitor, "text": text}).to_string());
    post
}

fn texts(page: &Value, role: &str) -> Vec<String> {
    page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == role)
        .map(|m| m["text"].as_str().expect("text").to_string())
        .collect()
}

#[tokio::test]
async fn the_built_bootstraps_answer_a_web_chat_message_end_to_end() {
    let s = stack(Options::default()).await;
    let (inbound, poller, responder) =
        tokio::join!(start(&s, "InboundFunction"), start(&s, "PollFunction"), start(&s, "ResponderFunction"));

    let (status, ack) = inbound.http(&event("inbound/webchat-post.json")).await;
    assert_eq!(status, 202, "{ack}");
    let (conversation, token) = (ack["conversation_id"].as_str().unwrap(), ack["token"].as_str().unwrap());
    assert_eq!(s.aws.depth(&s.messages.url).await, 1, "queued for the responder");

    assert_eq!(responder.drain(&s, &s.messages.url).await, 1);
    let (status, page) = poller.http(&poll(conversation, token)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(texts(&page, "customer"), vec!["What are your opening hours?"]);
    let bot = texts(&page, "bot");
    assert!(bot.len() == 1 && bot[0].contains("Monday to Friday"), "{page}");

    // The same request id and tenant run through the JSON logs of the two functions.
    for (name, f) in [("inbound", &inbound), ("responder", &responder)] {
        let lines = f.process.lines();
        let logged: Vec<Value> = lines.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
        assert!(!logged.is_empty() && logged.len() == lines.len(), "{name} logs JSON only: {lines:?}");
        assert!(lines.iter().any(|l| l.contains("req-1") && l.contains("\"demo\"")), "{name}: {lines:?}");
        assert!(!lines.iter().any(|l| l.contains("opening hours")), "{name} logs no message text: {lines:?}");
    }

    // The widget script, and the browser's preflight for the tenant's site and for another.
    let mut widget = event("inbound/webchat-get.json");
    widget["rawPath"] = json!("/v1/demo/widget.js");
    widget["rawQueryString"] = json!("");
    widget["headers"].as_object_mut().unwrap().remove("authorization");
    let (status, script) = inbound.http(&widget).await;
    assert_eq!(status, 200);
    assert!(script.as_str().is_some_and(|s| s.starts_with("// Switchboard web chat widget")), "{script}");
    for (origin, expected) in [("http://localhost:8080", 204), ("https://evil.example", 403)] {
        let mut preflight = event("inbound/webchat-post.json");
        preflight["requestContext"]["http"]["method"] = json!("OPTIONS");
        preflight["headers"]["origin"] = json!(origin);
        preflight["headers"]["access-control-request-method"] = json!("POST");
        preflight.as_object_mut().unwrap().remove("body");
        assert_eq!(inbound.http(&preflight).await.0, expected, "{origin}");
    }

    // A wrong token learns nothing, through the deployed function as through the router.
    let (status, _) = poller.http(&poll(conversation, "v1.forged")).await;
    assert_eq!(status, 404);
    // The poison batch of events/: its unreadable record is parked, the batch is not retried.
    let response = responder.api.invoke(serde_json::to_vec(&event("responder/sqs-fifo-poison.json")).unwrap()).await;
    let failures = response.json()["batchItemFailures"].as_array().expect("batchItemFailures").len();
    assert_eq!(failures, 0, "parked in the DLQ, not retried: {}", String::from_utf8_lossy(&response.body));
    assert_eq!(s.aws.depth(&s.messages.dlq_url).await, 1, "the poison record is in the dead-letter queue");
}

#[tokio::test]
async fn the_built_bootstraps_hand_a_conversation_to_a_person() {
    let s = stack(Options::default()).await;
    let (inbound, poller, responder, escalation) = tokio::join!(
        start(&s, "InboundFunction"),
        start(&s, "PollFunction"),
        start(&s, "ResponderFunction"),
        start(&s, "EscalationFunction")
    );
    let (status, ack) = inbound.http(&say("v_deployed", "I want to talk to a human")).await;
    assert_eq!(status, 202, "{ack}");
    assert_eq!(responder.drain(&s, &s.messages.url).await, 1);
    assert_eq!(s.aws.depth(&s.escalations.url).await, 1, "one escalation queued");
    assert_eq!(escalation.drain(&s, &s.escalations.url).await, 1);
    assert_eq!(s.aws.depth(&s.escalations.url).await, 0, "handled and deleted");

    let (conversation, token) = (ack["conversation_id"].as_str().unwrap(), ack["token"].as_str().unwrap());
    let (status, page) = poller.http(&poll(conversation, token)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["state"], "human", "{page}");

    // The escalation batch of events/ (a conversation this table has never seen) opens its
    // ticket once, and a redelivery opens none.
    let batch = serde_json::to_vec(&event("escalation/sqs-batch.json")).unwrap();
    for _ in 0..2 {
        let response = escalation.api.invoke(batch.clone()).await.json();
        assert_eq!(response["batchItemFailures"], json!([]), "{response}");
    }
    let lines = escalation.process.lines();
    let asked = lines.iter().filter(|l| l.contains("only logged") && l.contains("m_cccc0001")).count();
    assert_eq!(asked, 1, "the helpdesk was asked once for two deliveries: {lines:?}");
    let handed: Vec<&String> =
        lines.iter().filter(|l| l.contains("handed to the helpdesk") && l.contains("req-cccc0001")).collect();
    assert!(
        handed.len() == 2 && handed.iter().all(|l| l.contains(r#""ticket":"LOCAL-2""#)),
        "the same ticket: {handed:?}"
    );
}

#[tokio::test]
async fn the_built_bootstraps_answer_a_provider_webhook_through_the_provider() {
    let provider = FakeProvider::start(0).await;
    let s = stack(Options { providers: Some(provider.url.clone()), ..Options::default() }).await;
    let (inbound, responder) = tokio::join!(start(&s, "InboundFunction"), start(&s, "ResponderFunction"));

    let telegram = event("inbound/telegram-message.json");
    let (status, _) = inbound.http(&telegram).await;
    assert_eq!(status, 200);
    let (status, _) = inbound.http(&telegram).await;
    assert_eq!(status, 200, "a repeated update is acknowledged");
    assert_eq!(s.aws.depth(&s.messages.url).await, 1, "and not queued twice");
    assert_eq!(responder.drain(&s, &s.messages.url).await, 1);
    let sent = provider.accepted();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].path, "/bot000000000:demo-telegram-bot-token/sendMessage");

    // A webhook without the secret is refused by the deployed function and queues nothing.
    let mut forged = telegram.clone();
    forged["headers"].as_object_mut().unwrap().remove("x-telegram-bot-api-secret-token");
    let (status, _) = inbound.http(&forged).await;
    assert_eq!(status, 401);
    assert_eq!(s.aws.depth(&s.messages.url).await, 0);
}
