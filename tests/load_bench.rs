//! `load-bench`: a loopback load generator against the two ways Switchboard runs.
//!
//! - `serve`: the embedded app `switchboard serve` runs (memory stores, in-process workers),
//!   behind a real HTTP server on loopback;
//! - `aws`: the inbound function's router behind a real HTTP server on loopback, on DynamoDB
//!   Local and moto, with responder and escalation workers taking batches off the queues as
//!   Lambda's event source mapping does, and the providers' send APIs a loopback sink.
//!
//! Each run sends N distinct customer messages across three tenants and every channel (web chat,
//! Twilio, WhatsApp Cloud, Telegram, Slack, Postmark e-mail), signed as the providers sign them;
//! every tenth is delivered twice (half of those at once, half as a retry after the answer), and
//! every web chat message is followed by a long poll until its answer. It fails (exit 1) on any
//! error status or transport error, and unless every message was answered exactly once; it prints
//! throughput, latency percentiles and the process's resident memory over the run.
//!
//! On the AWS path the generator keeps at most `--unanswered` messages (200) sent and not yet
//! answered, as a provider sending at the rate the deployment keeps up with. Unpaced, the backlog
//! grows without bound on two cores, and moto's SQS (which scans every message in a queue on each
//! receive, delete and de-duplicated send) slows with it until the run crawls: a limit of the
//! stand-in, not of SQS. `--unanswered 0` turns the pacing off.
//!
//!   cargo run --release -p switchboard-tests --bin load-bench -- [serve|aws|both] [--messages N] [--concurrency C] [--unanswered W]
//!
//! (`scripts/load.sh` runs it with the local AWS servers started.)

use anyhow::{Context, Result, bail};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard::Tenant;
use switchboard::channels::{slack, twilio, whatsapp};
use switchboard::embedded::{Embedded, Options as EmbeddedOptions};
use switchboard::lambda::{Deadline, escalate_batch, respond_batch};
use switchboard::tenant::DEMO_TENANT_YAML;
use switchboard_tests::stack::{Options, demo_as, providers_at, stack};
use tokio::sync::Semaphore;

const UNLIMITED: switchboard::limits::LimitSettings = switchboard::limits::LimitSettings {
    tenant_messages_per_minute: 0,
    visitor_messages_per_minute: 0,
    data_writes_per_minute: 0,
};

const TENANTS: [&str; 3] = ["acme", "bolt", "cask"];
const CHANNELS: [Channel; 6] =
    [Channel::WebChat, Channel::Twilio, Channel::WhatsApp, Channel::Telegram, Channel::Slack, Channel::Email];
/// What customers ask: mostly questions the FAQ and intents answer, one in ten a handoff.
const TEXTS: [&str; 10] = [
    "What are your opening hours?",
    "Where is my order?",
    "Do you ship to the Canary Islands?",
    "How do I return an item?",
    "I want to speak to a human please",
    "¿Cuál es vuestro horario?",
    "Has my order shipped yet?",
    "Wann kommt mein Paket an?",
    "Can I pay with PayPal?",
    "How long does delivery take?",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Channel {
    WebChat,
    Twilio,
    WhatsApp,
    Telegram,
    Slack,
    Email,
}

/// Message `i`: its tenant, channel, text, and the address its answer goes to.
struct Message {
    i: usize,
    tenant: &'static str,
    channel: Channel,
    text: &'static str,
}

impl Message {
    fn new(i: usize) -> Self {
        Self { i, tenant: TENANTS[i % 3], channel: CHANNELS[(i / 3) % 6], text: TEXTS[(i / 18) % TEXTS.len()] }
    }

    /// Where the answer is sent: what the provider's send API is told (the sink counts by it).
    fn recipient(&self) -> String {
        let i = self.i;
        match self.channel {
            Channel::WebChat => format!("web-{i}"),
            Channel::Twilio => format!("+1555{i:07}"),
            Channel::WhatsApp => format!("1555{i:07}"),
            Channel::Telegram => (10_000_000 + i).to_string(),
            Channel::Slack => format!("C{i:08}"),
            Channel::Email => format!("load{i}@example.com"),
        }
    }

    /// The provider's webhook request: path, headers, body (signed now: Slack's signature covers
    /// the time).
    fn request(&self) -> (String, Vec<(&'static str, String)>, Vec<u8>) {
        let (t, i, text) = (self.tenant, self.i, self.text);
        let to = self.recipient();
        match self.channel {
            Channel::WebChat => (
                format!("/v1/{t}/webchat/messages"),
                vec![("content-type", "application/json".into())],
                json!({"visitor_id": format!("v_{i}"), "client_message_id": format!("m_{i}"), "text": text})
                    .to_string()
                    .into_bytes(),
            ),
            Channel::Twilio => {
                let params: Vec<(String, String)> = [
                    ("MessageSid", format!("SM{i:032x}")),
                    ("AccountSid", "AC00000000000000000000000000000000".into()),
                    ("From", to),
                    ("To", "+15550001111".into()),
                    ("Body", text.into()),
                    ("NumMedia", "0".into()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                let url = format!("https://abc123.execute-api.eu-west-1.amazonaws.com/v1/{t}/twilio");
                let signature = twilio::signature(format!("{t}-twilio-auth-token").as_bytes(), &url, &params);
                let body = serde_urlencoded::to_string(&params).unwrap_or_default().into_bytes();
                (
                    format!("/v1/{t}/twilio"),
                    vec![
                        ("content-type", "application/x-www-form-urlencoded".into()),
                        ("x-twilio-signature", signature),
                    ],
                    body,
                )
            }
            Channel::WhatsApp => {
                let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": "106540352242922"},
                    "contacts": [{"profile": {"name": "Load"}, "wa_id": to}],
                    "messages": [{"from": to, "id": format!("wamid.load{i}"), "timestamp": chrono::Utc::now().timestamp().to_string(), "type": "text", "text": {"body": text}}]}}]}]})
                .to_string()
                .into_bytes();
                let signature = whatsapp::signature(format!("{t}-whatsapp-app-secret").as_bytes(), &body);
                (
                    format!("/v1/{t}/whatsapp"),
                    vec![("content-type", "application/json".into()), ("x-hub-signature-256", signature)],
                    body,
                )
            }
            Channel::Telegram => {
                let chat: i64 = to.parse().unwrap_or_default();
                let body = json!({"update_id": i, "message": {"message_id": i, "from": {"id": chat, "is_bot": false, "first_name": "Load"},
                    "chat": {"id": chat, "type": "private"}, "date": chrono::Utc::now().timestamp(), "text": text}})
                .to_string()
                .into_bytes();
                (
                    format!("/v1/{t}/telegram"),
                    vec![
                        ("content-type", "application/json".into()),
                        ("x-telegram-bot-api-secret-token", format!("{t}-telegram-secret")),
                    ],
                    body,
                )
            }
            Channel::Slack => {
                let now = chrono::Utc::now().timestamp();
                let body = json!({"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": format!("Ev{i:08}"), "event_time": now,
                    "event": {"type": "message", "channel": to, "user": format!("U{i:08}"), "text": text, "ts": format!("{now}.{i:06}")}})
                .to_string()
                .into_bytes();
                let ts = now.to_string();
                let signature = slack::signature(format!("{t}-slack-signing-secret").as_bytes(), &ts, &body);
                (
                    format!("/v1/{t}/slack"),
                    vec![
                        ("content-type", "application/json".into()),
                        ("x-slack-request-timestamp", ts),
                        ("x-slack-signature", signature),
                    ],
                    body,
                )
            }
            Channel::Email => {
                let body = json!({"MessageID": format!("load-{i}"), "From": to, "FromName": "Load", "FromFull": {"Email": to, "Name": "Load", "MailboxHash": ""},
                    "To": format!("support@{t}-shop.example"), "Subject": "A question", "TextBody": text, "StrippedTextReply": "",
                    "Headers": [{"Name": "Message-ID", "Value": format!("<load-{i}@mail.example.com>")}]})
                .to_string()
                .into_bytes();
                let auth =
                    base64::engine::general_purpose::STANDARD.encode(format!("postmark:{t}-postmark-inbound-password"));
                (
                    format!("/v1/{t}/email"),
                    vec![("content-type", "application/json".into()), ("authorization", format!("Basic {auth}"))],
                    body,
                )
            }
        }
    }
}

/// The three tenants' YAML: the demo tenant under each id, secrets and URLs its own, the
/// providers' send APIs at `sink`.
fn tenant_yaml(id: &str, sink: &str) -> String {
    providers_at(&demo_as(DEMO_TENANT_YAML, id), sink)
}

/// A loopback stand-in for every provider's send API that only counts sends by recipient.
#[derive(Clone, Default)]
struct Sink {
    sends: Arc<Mutex<HashMap<String, u32>>>,
}

impl Sink {
    async fn start(&self) -> Result<String> {
        let sends = self.sends.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, _headers: HeaderMap, body: Bytes| {
            let sends = sends.clone();
            async move {
                let to = recipient_of(uri.path(), &body);
                *sends.lock().expect("lock").entry(to).or_default() += 1;
                if uri.path().ends_with("/Messages.json") {
                    return (StatusCode::CREATED, r#"{"sid":"SM0123456789abcdef","status":"queued"}"#);
                }
                (StatusCode::OK, r#"{"ok":true,"result":{"message_id":1},"ts":"1795600000.000100","MessageID":"pm-1","messages":[{"id":"wamid.out"}]}"#)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(url)
    }

    fn counts(&self) -> HashMap<String, u32> {
        self.sends.lock().expect("lock").clone()
    }

    fn total(&self) -> usize {
        self.sends.lock().expect("lock").values().map(|n| *n as usize).sum()
    }
}

/// The address a send goes to, read the way each provider reads it.
fn recipient_of(path: &str, body: &[u8]) -> String {
    if path.ends_with("/Messages.json") {
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        return form.into_iter().find(|(k, _)| k == "To").map(|(_, v)| v).unwrap_or_default();
    }
    let json: Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    for key in ["chat_id", "to", "channel", "To"] {
        if !json[key].is_null() {
            return field(&json[key]);
        }
    }
    String::new()
}

/// What one run measured.
#[derive(Default)]
struct Measured {
    request_ms: Mutex<Vec<f64>>,
    answer_ms: Mutex<Vec<f64>>,
    errors: Mutex<Vec<String>>,
    requests: AtomicUsize,
    /// Long polls waiting now, and the most at once.
    polls: AtomicUsize,
    max_polls: AtomicUsize,
    /// Duplicates answered 409 `in_progress` because their original was still being taken.
    in_progress: AtomicUsize,
    web_answers: Mutex<HashMap<usize, usize>>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// This process's resident memory now, in MB.
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// What the webhook said to one delivery.
enum Ack {
    /// 2xx, with the body (the web chat's carries the conversation and its read token).
    Taken(Value),
    /// 409 `in_progress`: the same message is being taken right now; retry shortly.
    ComeBack,
    /// Anything else (recorded as an error).
    Failed,
}

/// Delivers message `m` (twice when `twice`); for a web chat message, its ack and when it was
/// sent, to long-poll for the answer.
async fn deliver(
    client: &reqwest::Client,
    base: &str,
    m: &Message,
    twice: bool,
    measured: &Measured,
) -> Option<(Value, Instant)> {
    let send = || async {
        let (path, headers, body) = m.request();
        let mut request = client.post(format!("{base}{path}")).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let started = Instant::now();
        let result = request.send().await;
        measured.requests.fetch_add(1, Ordering::Relaxed);
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        measured.request_ms.lock().expect("lock").push(elapsed);
        match result {
            Ok(response) if response.status().is_success() => {
                Ack::Taken(response.json::<Value>().await.unwrap_or_default())
            }
            // A duplicate that raced its original is told to come back (409 `in_progress`): the
            // providers retry, and so does this generator, once the original is done.
            Ok(response) if response.status() == StatusCode::CONFLICT => {
                measured.in_progress.fetch_add(1, Ordering::Relaxed);
                Ack::ComeBack
            }
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                measured
                    .errors
                    .lock()
                    .expect("lock")
                    .push(format!("message {} ({:?}): {status} {body}", m.i, m.channel));
                Ack::Failed
            }
            Err(e) => {
                measured.errors.lock().expect("lock").push(format!("message {} ({:?}): {e}", m.i, m.channel));
                Ack::Failed
            }
        }
    };
    let started = Instant::now();
    // Half the duplicates race the original; the other half come as a retry after it.
    let come_back = || async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        send().await
    };
    let mut ack = if twice && m.i.is_multiple_of(20) {
        let (a, b) = tokio::join!(send(), send());
        if matches!(b, Ack::ComeBack) {
            come_back().await;
        }
        a
    } else {
        send().await
    };
    if matches!(ack, Ack::ComeBack) {
        ack = come_back().await;
    }
    if twice && !m.i.is_multiple_of(20) {
        send().await;
    }
    match ack {
        Ack::Taken(ack) if m.channel == Channel::WebChat => Some((ack, started)),
        _ => None,
    }
}

/// Long-polls the conversation until the bot's answer is there; records how long it took.
async fn poll_answer(
    client: &reqwest::Client,
    base: &str,
    m: &Message,
    ack: &Value,
    started: Instant,
    measured: &Measured,
) {
    let (Some(conversation), Some(token)) = (ack["conversation_id"].as_str(), ack["token"].as_str()) else {
        measured.errors.lock().expect("lock").push(format!("message {}: no conversation in the ack {ack}", m.i));
        return;
    };
    let mut after = String::new();
    let mut last = Value::Null;
    for _ in 0..30 {
        let url = format!("{base}/v1/{}/webchat/conversations/{conversation}/messages?wait=20{after}", m.tenant);
        let waiting = measured.polls.fetch_add(1, Ordering::Relaxed) + 1;
        measured.max_polls.fetch_max(waiting, Ordering::Relaxed);
        let response = client.get(url).bearer_auth(token).send().await;
        measured.polls.fetch_sub(1, Ordering::Relaxed);
        let page = match response {
            Ok(r) if r.status().is_success() => r.json::<Value>().await.unwrap_or_default(),
            Ok(r) => {
                measured.errors.lock().expect("lock").push(format!("poll {}: {}", m.i, r.status()));
                return;
            }
            Err(e) => {
                measured.errors.lock().expect("lock").push(format!("poll {}: {e}", m.i));
                return;
            }
        };
        // The answer, or the notice that a person will reply (role `system`).
        let bots = page["messages"].as_array().map_or(0, |ms| ms.iter().filter(|x| x["role"] != "customer").count());
        if bots > 0 {
            measured.answer_ms.lock().expect("lock").push(started.elapsed().as_secs_f64() * 1000.0);
            *measured.web_answers.lock().expect("lock").entry(m.i).or_default() += bots;
            return;
        }
        if let Some(cursor) = page["cursor"].as_str() {
            after = format!("&after={cursor}");
        }
        // Handed to a person: the poll is not held (a person takes minutes), so back off as the
        // widget does; the notice that a person will reply follows.
        if page["state"] == "human" {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        last = page;
    }
    measured
        .errors
        .lock()
        .expect("lock")
        .push(format!("message {}: no answer after 30 long polls; the last page: {last}", m.i));
}

/// How many answers the push channels have had so far (the web chat's the generator counts
/// itself).
type Answered = Arc<dyn Fn() -> usize + Send + Sync>;

/// Sends every message with `concurrency` in flight — and, with `pace`, never more than its
/// window of messages unanswered; returns the measurements and the seconds the sending took.
async fn generate(
    base: &str,
    messages: usize,
    concurrency: usize,
    pace: Option<(usize, Answered)>,
) -> (Arc<Measured>, f64, Vec<(f64, f64)>) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency * 2).build().unwrap_or_default();
    let measured = Arc::new(Measured::default());
    let limit = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let memory = Arc::new(Mutex::new(vec![(0.0, rss_mb())]));
    let sampler = {
        let (memory, measured, pace) = (memory.clone(), measured.clone(), pace.clone());
        tokio::spawn(async move {
            for tick in 1.. {
                tokio::time::sleep(Duration::from_millis(250)).await;
                memory.lock().expect("lock").push((started.elapsed().as_secs_f64(), rss_mb()));
                if tick % 40 == 0 {
                    let answered = pace.as_ref().map_or(String::new(), |(_, answered)| {
                        format!(", {} answered", answered() + measured.web_answers.lock().expect("lock").len())
                    });
                    eprintln!("  … {} requests sent{answered}", measured.requests.load(Ordering::Relaxed));
                }
            }
        })
    };
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..messages {
        // Finished deliveries are let go as the run goes: a handle kept to the end holds its
        // finished task's memory, and the run's memory would measure the generator.
        while tasks.try_join_next().is_some() {}
        if let Some((window, answered)) = &pace {
            // A failed message is never answered: it counts as done here and fails the run later.
            let done = || {
                answered()
                    + measured.web_answers.lock().expect("lock").len()
                    + measured.errors.lock().expect("lock").len()
            };
            while i > done() + window {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let permit = limit.clone().acquire_owned().await.expect("semaphore");
        let (client, base, measured) = (client.clone(), base.to_string(), measured.clone());
        tasks.spawn(async move {
            let m = Message::new(i);
            let twice = i.is_multiple_of(10);
            let web = deliver(&client, &base, &m, twice, &measured).await;
            // The long poll does not hold a sending slot: polls pile up as browsers' would.
            drop(permit);
            if let Some((ack, started)) = web {
                poll_answer(&client, &base, &m, &ack, started, &measured).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let seconds = started.elapsed().as_secs_f64();
    sampler.abort();
    let memory = memory.lock().expect("lock").clone();
    (measured, seconds, memory)
}

fn report(name: &str, messages: usize, measured: &Measured, seconds: f64, memory: &[(f64, f64)], answered_after: f64) {
    let mut requests = measured.request_ms.lock().expect("lock").clone();
    requests.sort_by(f64::total_cmp);
    let mut answers = measured.answer_ms.lock().expect("lock").clone();
    answers.sort_by(f64::total_cmp);
    let peak = memory.iter().map(|(_, m)| *m).fold(0.0, f64::max);
    let at = |share: f64| memory.get(((memory.len() - 1) as f64 * share) as usize).map_or(0.0, |(_, m)| *m);
    eprintln!("\n## {name}: {messages} messages, {} requests", measured.requests.load(Ordering::Relaxed));
    eprintln!("| measure | value |\n| --- | ---: |");
    eprintln!("| webhook requests per second | {:.0} |", measured.requests.load(Ordering::Relaxed) as f64 / seconds);
    eprintln!(
        "| webhook latency p50 / p99 / max | {:.1} / {:.1} / {:.1} ms |",
        percentile(&requests, 0.5),
        percentile(&requests, 0.99),
        requests.last().copied().unwrap_or(0.0)
    );
    eprintln!(
        "| web chat answer (POST → long poll sees it) p50 / p99 | {:.0} / {:.0} ms ({} answers) |",
        percentile(&answers, 0.5),
        percentile(&answers, 0.99),
        answers.len()
    );
    eprintln!("| long polls waiting at once (most) | {} |", measured.max_polls.load(Ordering::Relaxed));
    eprintln!("| all messages answered after | {answered_after:.1} s |");
    eprintln!(
        "| resident memory at 25 % / 50 % / 100 % of the run, peak | {:.0} / {:.0} / {:.0} MB, {peak:.0} MB |",
        at(0.25),
        at(0.5),
        at(1.0)
    );
    eprintln!(
        "| duplicates that raced their original: 409 `in_progress`, then 2xx on the retry | {} |",
        measured.in_progress.load(Ordering::Relaxed)
    );
    eprintln!("| errors | {} |", measured.errors.lock().expect("lock").len());
}

/// How the push channels' answers were counted.
enum Sent {
    /// By the address the provider was told to send to (the aws run's sink).
    ByRecipient(HashMap<String, u32>),
    /// Distinct answer turns by conversation (the serve run's outbox, which does not know the
    /// provider's addresses): every message has a conversation of its own.
    ByConversation(HashMap<String, u32>),
}

/// Checks the promises: no error, every web chat message answered once in its conversation,
/// every other message answered once.
fn check(name: &str, messages: usize, measured: &Measured, sent: &Sent) -> Result<()> {
    let errors = measured.errors.lock().expect("lock").clone();
    if !errors.is_empty() {
        bail!("{name}: {} errors, the first: {:?}", errors.len(), &errors[..errors.len().min(5)]);
    }
    let web = measured.web_answers.lock().expect("lock").clone();
    let mut wrong = Vec::new();
    let mut push = 0;
    for i in 0..messages {
        let m = Message::new(i);
        let answers = match (m.channel, sent) {
            (Channel::WebChat, _) => web.get(&i).copied().unwrap_or(0) as u32,
            (_, Sent::ByRecipient(by)) => by.get(&m.recipient()).copied().unwrap_or(0),
            (_, Sent::ByConversation(_)) => {
                push += 1;
                continue;
            }
        };
        if answers != 1 {
            wrong.push(format!("message {i} ({:?}, {}): answered {answers} times", m.channel, m.tenant));
        }
    }
    if let Sent::ByConversation(by) = sent {
        let twice: Vec<_> = by.iter().filter(|(_, n)| **n != 1).collect();
        if by.len() != push || !twice.is_empty() {
            wrong.push(format!(
                "{push} push messages, {} conversations answered, {} of them more than once",
                by.len(),
                twice.len()
            ));
        }
    }
    if !wrong.is_empty() {
        bail!("{name}: not every message answered exactly once, e.g. {:?}", &wrong[..wrong.len().min(5)]);
    }
    eprintln!("{name}: 0 errors; every one of {messages} messages answered exactly once");
    Ok(())
}

/// The embedded app `switchboard serve` runs, on loopback. Its senders keep what they send in an
/// outbox (no provider is called locally): the outbox is the count.
async fn run_serve(messages: usize, concurrency: usize) -> Result<()> {
    let tenants: Vec<Tenant> = TENANTS
        .iter()
        .map(|t| Tenant::from_yaml(t, &tenant_yaml(t, "http://127.0.0.1:9")).with_context(|| format!("tenant {t}")))
        .collect::<Result<_>>()?;
    // The bench measures the pipeline's throughput, not the message limits (which would refuse
    // most of a 600-a-minute tenant's load with 429).
    let options = EmbeddedOptions { print_escalations: false, limits: UNLIMITED, ..EmbeddedOptions::default() };
    let app = Arc::new(Embedded::start(tenants, options).await?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = app.router();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let (measured, seconds, memory) = generate(&base, messages, concurrency, None).await;
    let expected = push_messages(messages);
    let answered_after = wait_until(Duration::from_secs(300), || outbox_answers(&app) >= expected).await;
    // Let late duplicates show themselves.
    tokio::time::sleep(Duration::from_millis(500)).await;
    report(
        "switchboard serve (embedded, memory stores)",
        messages,
        &measured,
        seconds,
        &memory,
        seconds + answered_after,
    );
    check("serve", messages, &measured, &Sent::ByConversation(outbox_by_conversation(&app)))
}

/// Answers in the outbox for the push channels (the web chat's are read by the long polls).
fn outbox_answers(app: &Embedded) -> usize {
    outbox_by_conversation(app).len()
}

/// Distinct answer turns (the bot's, or the notice that a person will reply) in the outbox, by
/// conversation (a split answer is one turn).
fn outbox_by_conversation(app: &Embedded) -> HashMap<String, u32> {
    let mut turns: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    for (conversation, turn) in app.outbox.sent() {
        if turn.role != switchboard::domain::Role::Customer {
            turns.entry(conversation).or_default().insert(turn.id.to_string());
        }
    }
    turns.into_iter().map(|(c, ids)| (c, ids.len() as u32)).collect()
}

/// How many of the first `messages` go out through a provider (not the web chat).
fn push_messages(messages: usize) -> usize {
    (0..messages).filter(|i| Message::new(*i).channel != Channel::WebChat).count()
}

/// Polls `done` until it holds or `limit` passes; the seconds it took.
async fn wait_until(limit: Duration, done: impl Fn() -> bool) -> f64 {
    let started = Instant::now();
    while !done() && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed().as_secs_f64()
}

/// The inbound router on DynamoDB Local and moto, with five responder instances and one escalation
/// instance; with `unanswered` > 0 the generator keeps at most that many messages unanswered.
async fn run_aws(messages: usize, concurrency: usize, unanswered: usize) -> Result<()> {
    let sink = Sink::default();
    let sink_url = sink.start().await?;
    let s = Arc::new(
        stack(Options {
            providers: Some(sink_url),
            tenants: TENANTS.iter().map(|t| t.to_string()).collect(),
            visibility: 300,
            // The functions' own timeout for provider calls: the tests' second is meant to trip.
            http_timeout: switchboard::http::DEFAULT_TIMEOUT,
            limits: UNLIMITED,
            ..Options::default()
        })
        .await,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = s.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });

    // Lambda's event source mapping: batches of ten, five instances of the responder, one of the
    // escalation function, each taking the next batch when it is done.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let late = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for n in 0..6 {
        let (s, stop, late) = (s.clone(), stop.clone(), late.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let escalations = n == 5;
                let url = if escalations { &s.escalations.url } else { &s.messages.url };
                let (event, received) = s.aws.receive_event(url).await;
                if received.is_empty() {
                    continue;
                }
                let response = if escalations {
                    escalate_batch(&s.desk, Some(&s.redelivery), Deadline::none(), event).await
                } else {
                    respond_batch(&s.responder, Some(&s.responder_redelivery), Deadline::none(), event).await
                };
                let failed: Vec<&str> =
                    response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
                // One DeleteMessageBatch, as the event source mapping sends.
                let entries: Vec<_> = received
                    .iter()
                    .filter(|m| !failed.contains(&m.message_id().unwrap_or_default()))
                    .enumerate()
                    .filter_map(|(i, m)| {
                        aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                            .id(i.to_string())
                            .receipt_handle(m.receipt_handle().unwrap_or_default())
                            .build()
                            .ok()
                    })
                    .collect();
                if entries.is_empty() {
                    continue;
                }
                let count = entries.len();
                let deleted =
                    s.aws.clients.sqs.delete_message_batch().queue_url(url).set_entries(Some(entries)).send().await;
                // A batch that outlived its visibility timeout was handed out again: its handles
                // are stale, and the new receiver deletes it (as with Lambda).
                late.fetch_add(deleted.map_or(count, |d| d.failed().len()), Ordering::Relaxed);
            }
        }));
    }
    let answered: Answered = {
        let sink = sink.clone();
        Arc::new(move || sink.total())
    };
    let pace = (unanswered > 0).then_some((unanswered, answered));
    let (measured, seconds, memory) = generate(&base, messages, concurrency, pace).await;
    let expected = push_messages(messages);
    let answered_after = wait_until(Duration::from_secs(600), || sink.total() >= expected).await;
    // The tickets' jobs may still be queued, and a record that failed after its answer went out
    // waits for its retry: the workers stop once both queues are empty (or a minute has passed).
    let queued = || async { s.aws.depth(&s.messages.url).await + s.aws.depth(&s.escalations.url).await };
    let draining = Instant::now();
    while queued().await > 0 && draining.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    report(
        "inbound function on DynamoDB Local + moto",
        messages,
        &measured,
        seconds,
        &memory,
        seconds + answered_after,
    );
    eprintln!("| queue messages handled again after their visibility timeout | {} |", late.load(Ordering::Relaxed));
    if unanswered > 0 {
        eprintln!("| messages sent and not yet answered, at most (`--unanswered`) | {unanswered} |");
    }
    let parked = s.aws.depth(&s.messages.dlq_url).await + s.aws.depth(&s.escalations.dlq_url).await;
    if parked > 0 {
        bail!("aws: {parked} messages parked in a dead-letter queue");
    }
    // A record still queued is a retry that could yet answer twice.
    let left = queued().await;
    if left > 0 {
        bail!("aws: {left} messages still in the queues after every message was answered");
    }
    check("aws", messages, &measured, &Sent::ByRecipient(sink.counts()))
}

fn usage() -> ! {
    eprintln!("usage: load-bench [serve|aws|both] [--messages N] [--concurrency C] [--unanswered W]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> Result<()> {
    // Under scripts/test.sh its logs join the privacy audit, like every test process's.
    switchboard_tests::audit::capture();
    let mut target = "both".to_string();
    let (mut messages, mut concurrency, mut unanswered) = (10_000usize, 32usize, 200usize);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--messages" => messages = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "--concurrency" => concurrency = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "--unanswered" => unanswered = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "serve" | "aws" | "both" => target = arg,
            _ => usage(),
        }
    }
    if target == "serve" || target == "both" {
        run_serve(messages, concurrency).await?;
    }
    if target == "aws" || target == "both" {
        run_aws(messages, concurrency, unanswered).await?;
    }
    Ok(())
}
