//! `cargo run -p switchboard-tests --bin cost-bench` (with `scripts/local-aws.sh start`'s
//! variables): runs a documented message mix through the real path — API Gateway events into the
//! inbound router, the FIFO queue in moto, the responder and escalation handlers, DynamoDB Local,
//! the loopback Bedrock with token counts from what is sent — and prints what 1,000 messages
//! cost per component at the default price table, read back from the ledger.
//!
//! The mix, per 10 messages: 4 FAQ questions, 2 personalised (a signed-in customer asks about an
//! order), 2 asking for a person (escalated to the helpdesk), 2 the local model is unsure of.
//! Each conversation's widget polls once for its answer. Run twice: local classification with
//! the hosted model asked only when unsure, then the hosted model asked for every message.

use serde_json::{Value, json};
use switchboard::adapters::aws::{DynamoLedger, Table};
use switchboard::cost::{Components, Month};
use switchboard::domain::TenantId;
use switchboard::ports::CostLedger;
use switchboard_tests::bedrock::{FakeBedrock, Mode};
use switchboard_tests::stack::{IDENTITY_SECRET, Options, stack};

const MIX: [(&str, bool); 10] = [
    ("What are your opening hours?", false),
    ("Do you ship to Canada?", false),
    ("Which payment methods do you accept?", false),
    ("How long does shipping take?", false),
    ("Where is my order?", true),
    ("When will my parcel arrive?", true),
    ("I want to talk to a human", false),
    ("Please let me speak to a person", false),
    ("My thing from last week is weird", false),
    ("Can you help me with something?", false),
];

#[tokio::main]
async fn main() {
    // Logs are part of the cost (their bytes are metered): written as in Lambda, to stdout;
    // the figures go to stderr.
    switchboard::telemetry::init_json_logs();
    let rounds: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(10);
    for (label, hosted_below) in
        [("local model, hosted when unsure (< 0.6)", 0.6), ("hosted model on every message", 1.0)]
    {
        let fake = FakeBedrock::start(Mode::Tool(json!({
            "intent": "order_status", "confidence": 0.93, "sentiment": "neutral", "sentiment_score": 0.0,
            "urgency": "normal", "language": "en", "wants_human": false, "summary": "asks about an order"
        })))
        .await;
        // Priced as the template's default model (the loopback Bedrock answers any model id).
        let model = "anthropic.claude-3-haiku-20240307-v1:0";
        let s = stack(Options {
            bedrock: Some(fake.clone()),
            hosted_below,
            model: Some(model.into()),
            ..Options::default()
        })
        .await;
        let mut n = 0;
        for round in 0..rounds {
            for (i, (text, personal)) in MIX.iter().enumerate() {
                let visitor = format!("v_{round}_{i}");
                let mut body = json!({"visitor_id": visitor, "text": text});
                if *personal {
                    let customer = "c-1001";
                    body["identity"] = switchboard_tests::signed_identity(IDENTITY_SECRET, customer);
                }
                let (_, ack) = s.post(body).await;
                s.run_responder().await;
                s.run_escalation().await;
                if let Some(c) = ack["conversation_id"].as_str() {
                    let _: Value = s.messages(c).await;
                }
                n += 1;
            }
        }
        let ledger = DynamoLedger::new(Table::new(s.aws.clients.dynamodb.clone(), &s.aws.table));
        let tenant = TenantId::new("demo").expect("demo");
        let days = ledger.days(&tenant, Month::of(chrono::Utc::now())).await.expect("ledger");
        let mut by = Components::default();
        let mut messages = 0;
        for d in &days {
            for (name, v) in d.group("c") {
                if let Some(c) = by.get_mut(&name) {
                    *c += u64::try_from(v).unwrap_or(0);
                }
            }
            messages += d.get("messages");
        }
        let per_1000 = |nanos: u64| format!("${:.5}", (nanos * 1000 / messages.max(1) as u64) as f64 / 1e9);
        eprintln!("\n{label}: {n} messages sent, {messages} handled, {} model calls", fake.requests().len());
        eprintln!("  {:<12} {:>14}", "component", "per 1,000");
        for (name, nanos) in by.named() {
            eprintln!("  {name:<12} {:>14}", per_1000(nanos));
        }
        eprintln!("  {:<12} {:>14}", "AWS total", per_1000(by.aws()));
        eprintln!("  {:<12} {:>14}", "all in", per_1000(by.total()));
        let functions: Vec<(String, i64)> = {
            let mut f = std::collections::BTreeMap::new();
            for d in &days {
                for (k, v) in d.group("f") {
                    *f.entry(k).or_insert(0) += v;
                }
            }
            f.into_iter().collect()
        };
        for (function, nanos) in functions {
            eprintln!("  by function {function:<11} {:>14}", per_1000(u64::try_from(nanos).unwrap_or(0)));
        }
    }
    polls().await;
}

/// What a web chat widget's polling costs: one poll answered at once, one held idle for 2 s
/// (the difference is what a second of holding costs), and from them a 10-minute open widget
/// under the old schedule (a poll held 10 s after another) and the new one (held only while an
/// answer is due, then 2 s doubling to 30 s between polls that are not held).
async fn polls() {
    let s = stack(Options::default()).await;
    let (_, ack) = s.post(json!({"visitor_id": "v_poll", "text": "What are your opening hours?"})).await;
    s.run_responder().await;
    let conversation = ack["conversation_id"].as_str().expect("a conversation");
    let page = s.messages(conversation).await;
    let cursor = page["cursor"].as_str().expect("a cursor").to_string();
    let ledger = DynamoLedger::new(Table::new(s.aws.clients.dynamodb.clone(), &s.aws.table));
    let tenant = TenantId::new("demo").expect("demo");
    let cost_of = |wait: u64| {
        let (s, ledger, tenant, conversation, cursor) = (&s, &ledger, &tenant, conversation, &cursor);
        async move {
            let uri = format!("/v1/demo/webchat/conversations/{conversation}/messages?wait={wait}&after={cursor}");
            let (status, _) = s.call("GET", &uri, None).await;
            assert_eq!(status, reqwest::StatusCode::OK);
            let newest = ledger.records(tenant, Month::of(chrono::Utc::now()), 1).await.expect("ledger");
            let poll = newest.into_iter().next().expect("the poll's record");
            assert_eq!(poll.function, switchboard::cost::Function::Poll);
            poll.cost_nanos
        }
    };
    let at_once = cost_of(0).await;
    let held = cost_of(2).await;
    let per_second = held.saturating_sub(at_once) as f64 / 2.0;
    let minutes = 10.0;
    let old = (minutes * 60.0 / 10.0) * (at_once as f64 + 10.0 * per_second);
    // New: about a second held for the answer, then polls 2, 4, 8, 16 s apart and every 30 s.
    let idle_polls = 4.0 + (minutes * 60.0 - 30.0) / 30.0;
    let new = (at_once as f64 + per_second) + idle_polls * at_once as f64;
    eprintln!("\npolls (256 MB arm64):");
    eprintln!("  answered at once         ${:.9}", at_once as f64 / 1e9);
    eprintln!("  each second held         ${:.9}", per_second / 1e9);
    eprintln!("  10-minute open widget, held 10 s polls back to back   ${:.6}", old / 1e9);
    eprintln!("  10-minute open widget, held only for the answer      ${:.6}", new / 1e9);
}
