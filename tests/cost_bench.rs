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
//!
//! Then the demo workload's month, line by line, in two regions: the first mix's measured units
//! priced at each region's table (docs/costs.md, "The demo workload's month", states the
//! workload: 2,000 conversations, 3 messages each, a widget open 10 minutes each, 1 in 10 over
//! SMS, and the stack's fixed lines with alarms on).

use serde_json::{Value, json};
use switchboard::adapters::aws::{DynamoLedger, Table};
use switchboard::cost::{Components, Month, PriceTable};
use switchboard::domain::TenantId;
use switchboard::meter::Metered;
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
    let mut measured: Option<(Vec<Metered>, u64)> = None;
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
        if measured.is_none() {
            let records = ledger.records(&tenant, Month::of(chrono::Utc::now()), 1_000_000).await.expect("ledger");
            measured = Some((records.into_iter().map(|r| r.units).collect(), u64::try_from(messages).unwrap_or(1)));
        }
    }
    let widget = polls().await;
    if let Some((units, messages)) = measured {
        month(&units, messages, &widget);
    }
}

/// The demo workload (docs/costs.md): what a month costs, line by line.
const CONVERSATIONS: u64 = 2_000;
const MESSAGES_PER_CONVERSATION: u64 = 3;
const SMS_SHARE: f64 = 0.1;

/// The month of the demo workload in us-east-1 (Claude 3 Haiku) and eu-central-1 (Amazon Nova
/// Micro through the `eu.` profile: AWS's price data lists no Claude price there), from the
/// units measured for `messages` messages of the first mix and the widget's polls.
fn month(units: &[Metered], messages: u64, widget: &Widget) {
    let fixed = switchboard::cost::fixed::FixedMonthly { metrics: 12, alarm_metrics: 14, dashboards: 1 };
    eprintln!(
        "\nthe demo workload's month: {CONVERSATIONS} conversations x {MESSAGES_PER_CONVERSATION} messages (the first mix), \
         a 10-minute widget each, {:.0} % over SMS, alarms on",
        SMS_SHARE * 100.0
    );
    for (region, model, sms_line) in [
        ("us-east-1", "anthropic.claude-3-haiku-20240307-v1:0", "channel.sms_segment.default"),
        ("eu-central-1", "eu.amazon.nova-micro-v1:0", "channel.sms_segment.49"),
    ] {
        let (table, _) = PriceTable::for_region(region, None).expect("a built-in table");
        let mut by = Components::default();
        let mut log_bytes = 0u64;
        for u in units {
            let mut u = u.clone();
            // The measured tokens, sent to the region's model.
            let models = std::mem::take(&mut u.models);
            for m in models.into_values() {
                let e = u.models.entry(model.to_string()).or_default();
                e.calls += m.calls;
                e.input_tokens += m.input_tokens;
                e.output_tokens += m.output_tokens;
            }
            log_bytes += u.log_bytes;
            let c = table.price(&u);
            for (name, n) in c.named() {
                if let Some(slot) = by.get_mut(name) {
                    *slot += n;
                }
            }
        }
        let month_messages = CONVERSATIONS * MESSAGES_PER_CONVERSATION;
        let scale = |nanos: u64| nanos as f64 * month_messages as f64 / messages.max(1) as f64 / 1e9;
        let polls = CONVERSATIONS as f64 * widget.month_nanos(&table) / 1e9;
        let sms_answers = (CONVERSATIONS as f64 * SMS_SHARE) as u64 * MESSAGES_PER_CONVERSATION;
        let sms = sms_answers as f64 * table.atto(sms_line) as f64 / 1e18;
        let fixed_usd = fixed.nanos(&table) as f64 / 1e9;
        let stored_logs =
            scale(log_bytes) * 1e9 / (1u64 << 30) as f64 * table.atto("logs.stored_gb_month") as f64 / 1e18;
        eprintln!("\n  {region} ({}; model {model})", table.id.id);
        let mut total = 0.0;
        let mut line = |name: &str, usd: f64| {
            total += usd;
            eprintln!("    {name:<56} ${usd:>9.4}");
        };
        for (name, nanos) in by.named().into_iter().filter(|(n, _)| *n != "channels") {
            line(&format!("{month_messages} messages: {name}"), scale(nanos));
        }
        line("web chat polls (10-minute widget per conversation)", polls);
        line(&format!("SMS answers ({sms_answers} segments, {sms_line})"), sms);
        line("fixed: 12 metrics, 14 alarm metrics, 1 dashboard", fixed_usd);
        line("log storage (the month's logs kept 30 days)", stored_logs);
        eprintln!("    {:<56} ${total:>9.2}", "month");
        eprintln!("    {:<56} ${:>9.4}", "per conversation", total / CONVERSATIONS as f64);
    }
}

/// A widget's polls, as measured: one answered at once, one held 2 s.
struct Widget {
    at_once: Metered,
    held_2s: Metered,
}

impl Widget {
    /// A 10-minute open widget under the current schedule, in nano-dollars at `table`.
    fn month_nanos(&self, table: &PriceTable) -> f64 {
        let at_once = table.price(&self.at_once).total() as f64;
        let per_second = (table.price(&self.held_2s).total() as f64 - at_once).max(0.0) / 2.0;
        let idle_polls = 4.0 + (10.0 * 60.0 - 30.0) / 30.0;
        (at_once + per_second) + idle_polls * at_once
    }
}

/// What a web chat widget's polling costs: one poll answered at once, one held idle for 2 s
/// (the difference is what a second of holding costs), and from them a 10-minute open widget
/// under the old schedule (a poll held 10 s after another) and the new one (held only while an
/// answer is due, then 2 s doubling to 30 s between polls that are not held).
async fn polls() -> Widget {
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
            poll
        }
    };
    let at_once_record = cost_of(0).await;
    let held_record = cost_of(2).await;
    let (at_once, held) = (at_once_record.cost_nanos, held_record.cost_nanos);
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
    Widget { at_once: at_once_record.units, held_2s: held_record.units }
}
