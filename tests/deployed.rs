//! The deployed shape, run: the functions' built bootstraps started under a Lambda Runtime API
//! (a loopback one), each with the environment `infra/template.yaml` gives it, against DynamoDB
//! Local and moto, driven by the files in `events/`. What this proves beyond the router tests:
//! the binaries, their configuration from the template and the runtime loop, as Lambda runs them.
//! `scripts/test.sh` builds the bootstraps (`cargo build --bins`) before the tests; it runs these
//! tests a second time on the arm64 bootstraps `sam build` made, under qemu
//! (`SWITCHBOARD_BOOTSTRAPS=sam`, scripts/arm64.sh): what ships, answering the same events.

use serde_json::{Value, json};
use switchboard_tests::provider::FakeProvider;
use switchboard_tests::runtime::{self, Function, event, poll};
use switchboard_tests::stack::{Options, Stack, stack};

/// Starts the template's `function` from the debug build, or from `sam build`'s arm64 output
/// when `SWITCHBOARD_BOOTSTRAPS=sam`.
async fn start(s: &Stack, function: &str) -> Function {
    Function::start(s, function, profile()).await
}

/// Which bootstraps run: `debug` (x86_64) or `sam` (arm64 under qemu).
fn profile() -> &'static str {
    if std::env::var("SWITCHBOARD_BOOTSTRAPS").as_deref() == Ok(runtime::SAM) { runtime::SAM } else { "debug" }
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

/// What the template grants one function, read from `infra/template.yaml`: its statements
/// (with the managed policies it names), and the queues its `SQSSendMessagePolicy` templates
/// name.
struct Grants {
    statements: Vec<serde_norway::Value>,
    send_to: Vec<String>,
}

impl Grants {
    fn of(function: &str) -> Self {
        let path = format!("{}/../infra/template.yaml", env!("CARGO_MANIFEST_DIR"));
        let template: serde_norway::Value =
            serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).expect("the template is YAML");
        let resources = &template["Resources"];
        let mut statements = Vec::new();
        let mut send_to = Vec::new();
        for policy in resources[function]["Properties"]["Policies"].as_sequence().into_iter().flatten() {
            let queue = &policy["SQSSendMessagePolicy"]["QueueName"];
            if !queue.is_null() {
                let name = serde_norway::to_string(queue).unwrap();
                send_to.push(name.trim().trim_start_matches("!GetAtt ").trim_end_matches(".QueueName").to_string());
            }
            let own = policy["Statement"].as_sequence().cloned().unwrap_or_default();
            let managed = match policy {
                serde_norway::Value::Tagged(t) if t.tag == "Ref" => {
                    let name = t.value.as_str().unwrap_or_default();
                    resources[name]["Properties"]["PolicyDocument"]["Statement"]
                        .as_sequence()
                        .cloned()
                        .unwrap_or_default()
                }
                _ => Vec::new(),
            };
            statements.extend(own.into_iter().chain(managed));
        }
        Self { statements, send_to }
    }

    /// The statements allowing `action` (`dynamodb:PutItem`).
    fn allowing(&self, action: &str) -> Vec<&serde_norway::Value> {
        self.statements
            .iter()
            .filter(|s| {
                let actions = match &s["Action"] {
                    serde_norway::Value::String(a) => vec![a.clone()],
                    serde_norway::Value::Sequence(list) => {
                        list.iter().filter_map(|a| a.as_str().map(String::from)).collect()
                    }
                    _ => Vec::new(),
                };
                actions.iter().any(|a| a == action)
            })
            .collect()
    }

    /// The DynamoDB actions granted.
    fn dynamodb_actions(&self) -> std::collections::BTreeSet<String> {
        let text = serde_norway::to_string(&self.statements).unwrap();
        [
            "GetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "Query",
            "Scan",
            "BatchWriteItem",
            "BatchGetItem",
            "ConditionCheckItem",
        ]
        .iter()
        .filter(|a| text.contains(&format!("dynamodb:{a}")))
        .map(|a| a.to_string())
        .collect()
    }
}

/// Whether `text` matches an IAM pattern where `*` is any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text.ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    parts.len() > 1 || text == pattern
}

/// The IAM check derived from the code: each function's bootstrap is run through its paths —
/// the web chat, a webhook, refusals, a queue outage's rollback, the long poll, answers, a
/// handoff, a poison record — behind a recorder of every AWS call it makes. Every DynamoDB, SQS
/// and SSM call is granted to that function by the template (a DynamoDB write under its
/// `LeadingKeys`, an SSM read under its parameter pattern, a send to a queue its policy names),
/// and every DynamoDB action the template grants it was called: nothing more. (The inbound
/// function's rollback called BatchWriteItem, never granted: it failed only in AWS.)
#[tokio::test]
async fn each_function_is_granted_what_its_code_calls_and_nothing_more() {
    use switchboard_tests::recorder::Recorder;
    let s = stack(Options::default()).await;
    let names = ["InboundFunction", "PollFunction", "ResponderFunction", "EscalationFunction"];
    let mut recorders = Vec::new();
    for _ in names {
        recorders.push(Recorder::start().await);
    }
    let (inbound, poller, responder, escalation) = tokio::join!(
        Function::start_with(&s, names[0], profile(), &recorders[0].env),
        Function::start_with(&s, names[1], profile(), &recorders[1].env),
        Function::start_with(&s, names[2], profile(), &recorders[2].env),
        Function::start_with(&s, names[3], profile(), &recorders[3].env),
    );
    // Inbound: a message, a webhook, a refusal, and a queue outage (the rollback).
    let (status, ack) = inbound.http(&event("inbound/webchat-post.json")).await;
    assert_eq!(status, 202, "{ack}");
    let (status, _) = inbound.http(&event("inbound/telegram-message.json")).await;
    assert_eq!(status, 200);
    let mut forged = event("inbound/telegram-message.json");
    forged["headers"].as_object_mut().unwrap().remove("x-telegram-bot-api-secret-token");
    assert_eq!(inbound.http(&forged).await.0, 401);
    recorders[0].refuse("SendMessage", 5);
    assert_eq!(inbound.http(&say("v_outage", "Hello")).await.0, 503, "the queue refused: rolled back");
    // The data API: an order written in a transaction that checks its customer.
    let (status, body) = inbound.http(&event("inbound/data-put-order.json")).await;
    assert_eq!(status, 200, "{body}");
    // Responder and escalation: answers, a handoff, a poison record.
    assert_eq!(inbound.http(&say("v_person", "I want to talk to a human")).await.0, 202);
    assert!(responder.drain(&s, &s.messages.url).await >= 2);
    assert_eq!(escalation.drain(&s, &s.escalations.url).await, 1);
    let response = responder.api.invoke(serde_json::to_vec(&event("responder/sqs-fifo-poison.json")).unwrap()).await;
    assert!(response.json()["batchItemFailures"].as_array().is_some_and(Vec::is_empty));
    // The poll: a held poll (its lease) and a refused one.
    let (conversation, token) = (ack["conversation_id"].as_str().unwrap(), ack["token"].as_str().unwrap());
    let mut held = poll(conversation, token);
    held["rawQueryString"] = json!("wait=1&after=999");
    held["queryStringParameters"] = json!({"wait": "1", "after": "999"});
    assert_eq!(poller.http(&held).await.0, 200);
    assert_eq!(poller.http(&poll(conversation, "v1.forged")).await.0, 404);

    let queues = [
        ("MessagesQueue", s.messages.url.clone()),
        ("MessagesDeadLetterQueue", s.messages.dlq_url.clone()),
        ("EscalationsQueue", s.escalations.url.clone()),
        ("EscalationsDeadLetterQueue", s.escalations.dlq_url.clone()),
    ];
    let key = format!("/switchboard/{}/deployment-key", s.aws.table);
    for (function, recorder) in names.iter().zip(&recorders) {
        let grants = Grants::of(function);
        let calls = recorder.calls();
        assert!(!calls.is_empty(), "{function} made no AWS call through the recorder");
        for call in &calls {
            // SQS authorises a batch call with its single action's permission
            // (ChangeMessageVisibilityBatch needs sqs:ChangeMessageVisibility).
            let operation = match call.service {
                "sqs" => call.operation.trim_end_matches("Batch"),
                _ => call.operation.as_str(),
            };
            // A transaction is authorised by its parts' actions (an order: a put and a check).
            let operation = match operation {
                "TransactWriteItems" => "PutItem",
                other => other,
            };
            let action = format!("{}:{operation}", call.service);
            let allowing = grants.allowing(&action);
            let granted = match call.service {
                "dynamodb" => allowing.iter().any(|statement| {
                    let keys = &statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
                    match keys.as_sequence() {
                        None => true,
                        Some(patterns) => call
                            .names
                            .as_deref()
                            .is_some_and(|pk| patterns.iter().filter_map(|p| p.as_str()).any(|p| glob(p, pk))),
                    }
                }),
                "ssm" => allowing.iter().any(|statement| {
                    let resource = serde_norway::to_string(&statement["Resource"]).unwrap();
                    let name = call.names.as_deref().unwrap_or_default();
                    (resource.contains("parameter/switchboard/*") && name.starts_with("/switchboard/"))
                        || (resource.contains("parameter${DeploymentKeyParameter}") && name == key)
                }),
                _ => {
                    let queue = queues.iter().find(|(_, url)| Some(url.as_str()) == call.names.as_deref());
                    let logical = queue.map(|(name, _)| *name).unwrap_or("an unknown queue");
                    match operation {
                        "SendMessage" => grants.send_to.iter().any(|q| q == logical),
                        _ => allowing
                            .iter()
                            .any(|st| serde_norway::to_string(&st["Resource"]).unwrap().contains(logical)),
                    }
                }
            };
            assert!(granted, "{function} calls {action} on {:?}, which the template does not grant it", call.names);
        }
        let called: std::collections::BTreeSet<String> = calls
            .iter()
            .filter(|c| c.service == "dynamodb")
            .flat_map(|c| match c.operation.as_str() {
                "TransactWriteItems" => vec!["PutItem".to_string(), "ConditionCheckItem".to_string()],
                other => vec![other.to_string()],
            })
            .collect();
        assert_eq!(grants.dynamodb_actions(), called, "{function}: granted DynamoDB actions = the ones it calls");
    }
}
