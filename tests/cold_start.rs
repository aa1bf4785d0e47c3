//! The cold-start harness. Starts each function's release bootstrap again and again under a
//! loopback Lambda Runtime API, with the environment `infra/template.yaml` gives it, against
//! DynamoDB Local and moto, and measures what a cold instance's first customer waits for:
//!
//! - **init**: from the process spawned to its first `GET /runtime/invocation/next`;
//! - **first**: its first invocation (event handed out → response posted);
//! - **warm**: its second invocation, same kind of event;
//! - **peak memory**: the process's `VmHWM` after both.
//!
//! Beside them, in the same run, a hello-world `lambda_runtime` bootstrap (the floor).
//!
//! ```text
//! scripts/local-aws.sh start > /tmp/aws.env && . /tmp/aws.env
//! cargo build --release --bins && cargo run --release -p switchboard-tests --bin cold-start -- 20 >/dev/null
//! ```

use serde_json::{Value, json};
use std::time::Duration;
use switchboard_tests::runtime::{Function, Invocation, event, poll, target_dir};
use switchboard_tests::stack::{Options, Stack, stack};

/// One cold start's figures.
struct Start {
    init: Duration,
    first: Duration,
    warm: Duration,
    peak_kb: u64,
    /// The first invocation's tenant load, from the function's "tenant loaded" log line:
    /// (read, secrets, compile) in microseconds.
    tenant: Option<(u64, u64, u64)>,
}

#[tokio::main]
async fn main() {
    // The stack's own requests (made to set up each run's events) log as the functions do, to
    // stdout; the figures go to stderr.
    let runs: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(10);
    eprintln!("{runs} cold starts each, release builds (x86_64), against DynamoDB Local and moto on loopback\n");
    eprintln!(
        "| function | init p50 / p90 | first invocation p50 / p90 | warm p50 | first − warm p50 | of which tenant: read / secrets and model / compile (p50) | peak memory p50 |"
    );
    eprintln!("|---|---|---|---|---|---|---|");
    for function in std::env::args().nth(2).map(|f| vec![f]).unwrap_or_else(|| {
        ["hello-world", "InboundFunction", "PollFunction", "ResponderFunction", "EscalationFunction"]
            .map(String::from)
            .to_vec()
    }) {
        // A stack of its own: one function's queued work is not another's.
        let s = stack(Options::default()).await;
        // Three starts first, not counted: the local servers (a JVM, a Python process) warm up
        // too, and their first answers would be charged to the function.
        for run in 0..3 {
            cold_start(&s, &function, runs + run).await;
        }
        let mut starts = Vec::new();
        for run in 0..runs {
            starts.push(cold_start(&s, &function, run).await);
        }
        print_row(&function, &mut starts);
    }
}

async fn cold_start(s: &Stack, function: &str, run: usize) -> Start {
    // The events are made before the process starts: the clock runs only on the function.
    let events = events(s, function, run).await;
    let f = match function {
        "hello-world" => Function::launch(&target_dir("release").join("hello-bootstrap"), "hello", &[]).await,
        _ => Function::start(s, function, "release").await,
    };
    let init = f.api.first_poll().expect("polled") - f.process.started;
    let first = check(function, f.api.invoke(events[0].clone()).await);
    let warm = check(function, f.api.invoke(events[1].clone()).await);
    let peak_kb = f.process.peak_memory_kb().unwrap_or(0);
    let tenant = f.process.lines().iter().find_map(|line| {
        let log: Value = serde_json::from_str(line).ok()?;
        let fields = &log["fields"];
        (fields["message"] == "tenant loaded").then(|| {
            let us = |k: &str| fields[k].as_u64().unwrap_or(0);
            (us("read_us"), us("secrets_and_model_us"), us("compile_us"))
        })
    });
    Start { init, first, warm, peak_kb, tenant }
}

/// The invocation's duration, once its response shows the work was done.
fn check(function: &str, invocation: Invocation) -> Duration {
    let response = invocation.json();
    let ok = match function {
        "InboundFunction" => response["statusCode"] == 202,
        "PollFunction" => response["statusCode"] == 200,
        "ResponderFunction" | "EscalationFunction" => response["batchItemFailures"] == json!([]),
        _ => true,
    };
    assert!(ok, "{function} did not do its work: {response}");
    invocation.duration
}

/// Two events for `function`'s first and warm invocation, new work each run.
async fn events(s: &Stack, function: &str, run: usize) -> [Vec<u8>; 2] {
    let bytes = |v: &Value| serde_json::to_vec(v).expect("JSON");
    match function {
        "InboundFunction" => [0, 1].map(|i| {
            let mut post = event("inbound/webchat-post.json");
            let body = json!({"visitor_id": format!("v_cold_{run}_{i}"), "text": "What are your opening hours?"});
            post["body"] = json!(body.to_string());
            bytes(&post)
        }),
        "PollFunction" => {
            let (_, ack) = s.post(json!({"visitor_id": format!("v_poll_{run}"), "text": "Hi"})).await;
            let conversation = ack["conversation_id"].as_str().expect("a conversation").to_string();
            let token = s.token(&conversation).expect("its token");
            let get = poll(&conversation, &token);
            [bytes(&get), bytes(&get)]
        }
        "ResponderFunction" => {
            for i in 0..2 {
                // "Hi there": the n-gram model is unsure of it, so the first message maps and runs
                // both encoders (the English one for its intent, the multilingual one for the
                // request-for-a-person head, which reads every message) — the worst first message.
                let text = ["Hi there", "Do you ship to Canada?"][i];
                let (status, _) = s.post(json!({"visitor_id": format!("v_resp_{run}_{i}"), "text": text})).await;
                assert_eq!(status.as_u16(), 202);
            }
            let (event, received) = s.aws.receive_event(&s.messages.url).await;
            assert_eq!(event.records.len(), 2, "two messages to answer");
            // Deleted at once, as the event source mapping would after the batch: the next run
            // receives only its own.
            for m in &received {
                let handle = m.receipt_handle().unwrap_or_default();
                let delete = s.aws.clients.sqs.delete_message().queue_url(&s.messages.url).receipt_handle(handle);
                delete.send().await.expect("delete");
            }
            let one = |i: usize| bytes(&json!({ "Records": [event.records[i].clone()] }));
            [one(0), one(1)]
        }
        "EscalationFunction" => [0, 1].map(|i| {
            let text = serde_json::to_string(&event("escalation/sqs-batch.json")).expect("JSON");
            let id = format!("m_cold{run:04}{i}");
            let conversation = format!("c_{:032x}", run * 2 + i + 1);
            bytes(
                &serde_json::from_str::<Value>(
                    &text.replace("m_cccc0001", &id).replace("c_0f8e2a7c4b5d4e6f8a9b0c1d2e3f4a5b", &conversation),
                )
                .expect("JSON"),
            )
        }),
        _ => [bytes(&json!({"hello": "world"})), bytes(&json!({"hello": "again"}))],
    }
}

fn print_row(function: &str, starts: &mut [Start]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pick = |starts: &mut [Start], key: fn(&Start) -> Duration, q: f64| {
        starts.sort_by_key(key);
        let i = ((starts.len() - 1) as f64 * q).round() as usize;
        ms(key(&starts[i]))
    };
    let (init50, init90) = (pick(starts, |s| s.init, 0.5), pick(starts, |s| s.init, 0.9));
    let (first50, first90) = (pick(starts, |s| s.first, 0.5), pick(starts, |s| s.first, 0.9));
    let warm50 = pick(starts, |s| s.warm, 0.5);
    let cold50 = pick(starts, |s| s.first.saturating_sub(s.warm), 0.5);
    let median = |mut v: Vec<u64>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let peak = median(starts.iter().map(|s| s.peak_kb).collect()) as f64 / 1024.0;
    let loads: Vec<(u64, u64, u64)> = starts.iter().filter_map(|s| s.tenant).collect();
    let tenant = if loads.is_empty() {
        "—".to_string()
    } else {
        let part = |f: fn(&(u64, u64, u64)) -> u64| median(loads.iter().map(f).collect()) as f64 / 1000.0;
        format!("{:.1} / {:.1} / {:.1} ms", part(|l| l.0), part(|l| l.1), part(|l| l.2))
    };
    eprintln!(
        "| {function} | {init50:.1} / {init90:.1} ms | {first50:.1} / {first90:.1} ms | {warm50:.1} ms | {cold50:.1} ms | {tenant} | {peak:.1} MB |"
    );
}
