//! The fault matrix (Step 9): customer messages driven through the whole pipeline on the real
//! local servers while one thing at a time breaks — DynamoDB Local killed and restarted, the SQS
//! server cut off, Bedrock throttling, failing, slow or talking nonsense, the helpdesk failing,
//! throttling, slow or refusing the credentials, the provider's send API failing or slow, a
//! Lambda process killed halfway through its work, the tenant's order lookup endpoint hanging. For each it records what the provider's
//! webhook got, where every message ended and what was sent twice, asserts the promises (nothing
//! lost, nothing answered or ticketed twice) and writes the table into docs/reliability.md.
//!
//! Every message comes from a phone number of its own, so every send and ticket traces back to
//! the message that caused it. The provider is Twilio (SMS) and the helpdesk Zendesk: both let a
//! retry look up whether a send or a ticket it is unsure of went through (docs/design.md names
//! the channels that cannot).

use base64::Engine;
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;
use switchboard::adapters::aws::{dead_letters, redrive};
use switchboard_tests::bedrock::{FakeBedrock, Mode};
use switchboard_tests::helpdesk::{FakeHelpdesk, Faults};
use switchboard_tests::outage::{DynamoDbProcess, Proxy};
use switchboard_tests::provider::{FakeProvider, SendFaults};
use switchboard_tests::runtime::Function;
use switchboard_tests::stack::{Options, Stack, stack};

const QUESTION: &str = "What are your opening hours?";

/// One customer message, and everything the provider's webhook got for it.
struct Message {
    sid: String,
    from: String,
    text: String,
    escalates: bool,
    statuses: Vec<u16>,
}

/// Everything one row runs against.
struct Scene {
    s: Stack,
    provider: FakeProvider,
    desk: FakeHelpdesk,
    messages: Vec<Message>,
}

/// Where the messages of a row ended.
#[derive(Debug, Default)]
struct Tally {
    answered: usize,
    escalated: usize,
    parked: usize,
    lost: usize,
    duplicate_answers: usize,
    duplicate_tickets: usize,
}

/// One line of the table.
struct Row {
    fault: &'static str,
    messages: usize,
    provider: String,
    tally: Tally,
    note: String,
}

fn zendesk_auth() -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("bot@demo.example/token:zendesk-token"))
}

/// The demo tenant on Twilio and Zendesk, with `options` for the fault; retries get five
/// receives, so a fault that clears is not mistaken for a poison message.
async fn scene(row: u32, answers: usize, handoffs: usize, options: Options) -> Scene {
    let provider = FakeProvider::start(0).await;
    let desk = FakeHelpdesk::start(Some(zendesk_auth())).await;
    let section = format!(
        "  kind: zendesk\n  api_base: {}\n  email: bot@demo.example\n  api_token: zendesk-token\n  webhook_secret: zendesk-webhook-secret",
        desk.url
    );
    let s =
        stack(Options { providers: Some(provider.url.clone()), helpdesk: Some(section), max_receives: 5, ..options })
            .await;
    let messages = (0..answers + handoffs)
        .map(|i| {
            let escalates = i >= answers;
            Message {
                sid: format!("SM{:032x}", row * 1000 + i as u32),
                from: format!("+1555{row:03}{i:04}"),
                // The marker traces a ticket (whose transcript quotes the message) to its message.
                text: if escalates {
                    format!("I want to speak to a human, this is urgent! Reference R{row}X{i}.")
                } else {
                    QUESTION.to_string()
                },
                escalates,
                statuses: Vec::new(),
            }
        })
        .collect();
    Scene { s, provider, desk, messages }
}

impl Scene {
    /// The provider delivers message `i` (again, when it got no 2xx before: a provider's retry).
    async fn deliver(&mut self, i: usize) -> u16 {
        let m = &self.messages[i];
        let (status, _) = self.s.sms(&m.sid, &m.from, &m.text).await;
        self.messages[i].statuses.push(status.as_u16());
        status.as_u16()
    }

    /// Delivers every message in `range`.
    async fn deliver_all(&mut self, range: std::ops::Range<usize>) {
        for i in range {
            self.deliver(i).await;
        }
    }

    /// The provider retries every message that got no 2xx yet, as Twilio, Meta and Telegram do.
    async fn provider_retries(&mut self) {
        for i in 0..self.messages.len() {
            if !self.accepted(i) {
                self.deliver(i).await;
            }
        }
    }

    fn accepted(&self, i: usize) -> bool {
        self.messages[i].statuses.last().is_some_and(|s| (200..300).contains(s))
    }

    /// Lambda's event source mappings, until both queues are empty.
    async fn settle(&self) {
        for _ in 0..15 {
            self.s.run_responder().await;
            self.s.run_escalation().await;
            let depth = self.s.aws.depth(&self.s.messages.url).await + self.s.aws.depth(&self.s.escalations.url).await;
            if depth == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        panic!("the queues did not drain");
    }

    /// The dead letters of both queues, as text.
    async fn parked(&self) -> Vec<String> {
        let sqs = &self.s.aws.clients.sqs;
        let mut parked = Vec::new();
        for dlq in [&self.s.messages.dlq_url, &self.s.escalations.dlq_url] {
            for letter in dead_letters(sqs, dlq).await.expect("read a dead-letter queue") {
                parked.push(format!("{} {}", letter.body, letter.error.unwrap_or_default()));
            }
        }
        parked
    }

    /// Where each message ended: its sends (by recipient), its tickets (by the marker its
    /// transcript quotes), the dead letters naming it.
    async fn tally(&self) -> Tally {
        // (recipient, text) of every send: the same text twice to one customer is a duplicate; a
        // second, different text (the notice that the team could not be reached) is not.
        let sends: Vec<(String, String)> = self
            .provider
            .accepted()
            .iter()
            .filter(|r| r.path.ends_with("/Messages.json"))
            .filter_map(|r| serde_urlencoded::from_bytes::<Vec<(String, String)>>(&r.body).ok())
            .map(|form| {
                let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
                (get("To"), get("Body"))
            })
            .collect();
        let tickets: Vec<String> = self.desk.tickets().iter().map(|t| t.to_string()).collect();
        let parked = self.parked().await;
        let mut tally = Tally::default();
        for m in &self.messages {
            let mine: Vec<&String> = sends.iter().filter(|(to, _)| *to == m.from).map(|(_, text)| text).collect();
            let distinct: std::collections::HashSet<&String> = mine.iter().copied().collect();
            let sent = distinct.len();
            tally.duplicate_answers += mine.len() - distinct.len();
            let ticketed = if m.escalates { tickets.iter().filter(|t| t.contains(&m.text)).count() } else { 0 };
            let is_parked = parked.iter().any(|p| p.contains(&m.sid) || (m.escalates && p.contains(&m.text)));
            tally.duplicate_tickets += ticketed.saturating_sub(1);
            let done = if m.escalates { sent >= 1 && ticketed >= 1 } else { sent >= 1 };
            if done && m.escalates {
                tally.escalated += 1;
            } else if done {
                tally.answered += 1;
            } else if is_parked {
                tally.parked += 1;
            } else {
                tally.lost += 1;
            }
        }
        tally
    }

    /// What the provider's webhook got, e.g. `200 ×3; 503 ×3, then 200`.
    fn provider_statuses(&self) -> String {
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for m in &self.messages {
            let first = m.statuses.first().copied().unwrap_or(0);
            let kind = match m.statuses.as_slice() {
                [_] => first.to_string(),
                [.., last] => format!("{first}, then {last} on the provider's retry"),
                [] => "not delivered".to_string(),
            };
            *kinds.entry(kind).or_default() += 1;
        }
        kinds.iter().map(|(kind, n)| format!("{kind} ×{n}")).collect::<Vec<_>>().join("; ")
    }

    /// The row, after checking the promises: nothing lost, nothing sent or ticketed twice, every
    /// message answered or escalated as its text asks (none left parked unless `parked` says so).
    async fn row(&self, fault: &'static str, parked: usize, note: impl Into<String>) -> Row {
        let tally = self.tally().await;
        assert_eq!(tally.lost, 0, "{fault}: a message was lost: {tally:?} {}", self.provider_statuses());
        let sends: Vec<String> =
            self.provider.accepted().iter().map(|r| String::from_utf8_lossy(&r.body).into_owned()).collect();
        assert_eq!(tally.duplicate_answers, 0, "{fault}: an answer went out twice: {tally:?}; sends: {sends:#?}");
        let calls: Vec<String> = self.desk.calls().iter().map(|c| format!("{} {}", c.method, c.uri)).collect();
        assert_eq!(
            tally.duplicate_tickets, 0,
            "{fault}: a ticket was opened twice: {tally:?}; helpdesk calls: {calls:?}"
        );
        assert_eq!(tally.parked, parked, "{fault}: parked: {tally:?}");
        let handoffs = self.messages.iter().filter(|m| m.escalates).count();
        assert_eq!(tally.escalated, handoffs - parked.min(handoffs), "{fault}: escalated: {tally:?}");
        assert!((0..self.messages.len()).all(|i| self.accepted(i)), "{fault}: a webhook was never acknowledged");
        Row { fault, messages: self.messages.len(), provider: self.provider_statuses(), tally, note: note.into() }
    }
}

async fn baseline() -> Row {
    let mut c = scene(1, 3, 2, Options::default()).await;
    c.deliver_all(0..5).await;
    c.settle().await;
    c.row("none (the control row)", 0, "").await
}

async fn dynamodb_killed() -> Row {
    let mut dynamodb = DynamoDbProcess::start().await;
    let mut c = scene(2, 4, 2, Options { dynamodb: Some(dynamodb.url.clone()), ..Options::default() }).await;
    // Half the messages are queued, then DynamoDB dies: the rest arrive during the outage, and
    // the responder runs on what was queued.
    c.deliver_all(0..2).await;
    c.deliver(4).await;
    dynamodb.kill().await;
    for i in [2, 3, 5] {
        let status = c.deliver(i).await;
        assert!(status >= 500, "a webhook during the outage is not acknowledged: {status}");
    }
    c.s.run_responder().await;
    assert_eq!(c.provider.accepted().len(), 0, "nothing is sent while the conversation cannot be stored");
    dynamodb.restart().await;
    c.provider_retries().await;
    c.settle().await;
    c.row(
        "DynamoDB Local killed mid-run (SIGKILL), restarted on its data",
        0,
        "webhooks during the outage refused with 5xx and retried by the provider; queued messages failed their receive and were redelivered",
    )
    .await
}

async fn sqs_down() -> Row {
    let upstream = std::env::var("AWS_ENDPOINT_URL_SQS").expect("the SQS endpoint");
    let proxy = Proxy::start(&upstream).await;
    let mut c = scene(3, 4, 2, Options { sqs: Some(proxy.url.clone()), ..Options::default() }).await;
    c.deliver_all(0..2).await;
    c.deliver(4).await;
    proxy.set_down(true);
    for i in [2, 3, 5] {
        let status = c.deliver(i).await;
        assert_eq!(status, 503, "a webhook while the queue is down");
    }
    // The queued escalation cannot reach the escalation queue: its message is redelivered.
    c.s.run_responder().await;
    proxy.set_down(false);
    c.provider_retries().await;
    c.settle().await;
    c.row(
        "SQS cut off (inbound and responder), back after one run",
        0,
        "503 with Retry-After to the provider, nothing half-written; a message whose escalation could not be queued was redelivered",
    )
    .await
}

async fn bedrock(row: u32, fault: &'static str, mode: Mode) -> Row {
    let fake = FakeBedrock::start(mode).await;
    // Every message asks the hosted model (hosted_below 0.99), which also writes the answers.
    let options = Options { bedrock: Some(fake.clone()), hosted_below: 0.99, generate: true, ..Options::default() };
    let mut c = scene(row, 3, 1, options).await;
    c.deliver_all(0..4).await;
    c.settle().await;
    assert!(!fake.requests().is_empty(), "{fault}: the hosted model was asked");
    c.row(fault, 0, "the local classification and the tenant's templates answered").await
}

async fn helpdesk(row: u32, fault: &'static str, faults: Faults, note: &str) -> Row {
    let mut c = scene(row, 1, 2, Options::default()).await;
    c.desk.set_faults(faults);
    c.deliver_all(0..3).await;
    c.settle().await;
    c.row(fault, 0, note).await
}

async fn helpdesk_unauthorized() -> Row {
    let mut c = scene(13, 1, 2, Options::default()).await;
    c.desk.set_faults(Faults { unauthorized: true, ..Faults::default() });
    c.deliver_all(0..3).await;
    c.settle().await;
    let parked = c.parked().await;
    assert_eq!(parked.len(), 2, "a refused credential is parked at once, with its reason: {parked:?}");
    assert!(parked.iter().all(|p| p.contains("401")), "{parked:?}");
    // Ops fix the token, then redrive (`switchboard dlq redrive`).
    c.desk.set_faults(Faults::default());
    let sqs = &c.s.aws.clients.sqs;
    assert_eq!(redrive(sqs, &c.s.escalations.dlq_url, &c.s.escalations.url, None).await.expect("redrive"), 2);
    c.settle().await;
    c.row("helpdesk 401 (token revoked)", 0, "parked at once with the reason (HTTP 401), not retried, and the customer told the team could not be reached; after the fix a redrive opened one ticket each").await
}

async fn provider_send(row: u32, fault: &'static str, faults: SendFaults, note: &str) -> Row {
    let mut c = scene(row, 3, 1, Options::default()).await;
    c.provider.set_faults(faults);
    c.deliver_all(0..4).await;
    c.settle().await;
    c.row(fault, 0, note).await
}

/// Waits until `done`, at most ten seconds.
/// The tenant's order lookup endpoint accepts the call and never answers in time: each order
/// question waits the lookup's timeout, then the stored order answers.
async fn lookup_hangs() -> Row {
    use switchboard::ports::CustomerStore;
    let app = axum::Router::new().route(
        "/orders",
        axum::routing::post(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            axum::Json(json!({"orders": []}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let url = format!("http://{}/orders", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let section = format!(
        "data:\n  lookups:\n    orders:\n      url: {url}\n      secret: lookup-secret\n      timeout_ms: 400\n  keys:"
    );
    let options = Options { replace: vec![("data:\n  keys:".to_string(), section)], ..Options::default() };
    let mut c = scene(16, 3, 1, options).await;
    // The answers are order questions of recognised customers (their phones are on file).
    let table = switchboard::adapters::aws::Table::new(c.s.aws.clients.dynamodb.clone(), &c.s.aws.table);
    let customers = switchboard::adapters::aws::DynamoCustomers::new(table);
    let demo = switchboard::domain::TenantId::new("demo").expect("tenant id");
    for (i, m) in c.messages.iter_mut().enumerate().filter(|(_, m)| !m.escalates) {
        m.text = "Where is my order?".into();
        let customer: switchboard::domain::Customer = serde_json::from_value(json!({
            "id": format!("c-fault-{i}"), "name": format!("Customer {i}"), "phones": [m.from],
            "orders": [{"id": format!("F-{i}"), "status": "shipped"}],
        }))
        .expect("a customer");
        customers.put_customer(&demo, &customer, None).await.expect("seed a customer");
    }
    c.deliver_all(0..4).await;
    c.settle().await;
    let stored = c.provider.accepted().iter().filter(|r| String::from_utf8_lossy(&r.body).contains("shipped")).count();
    assert_eq!(stored, 3, "the stored orders answered every order question");
    c.row(
        "the order lookup endpoint hangs past its 400 ms timeout",
        0,
        "each order question waited the timeout, then the stored order answered",
    )
    .await
}

async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Lambda killed halfway: `function`'s built bootstrap takes the next batch of `queue` and is
/// killed (SIGKILL) as soon as `reached` holds — while a stand-in holds its outbound call open —
/// then a new instance gets the batch again after its visibility timeout, until the queue is empty.
async fn kill_midway(c: &Scene, function: &str, queue: &str, what: &str, reached: impl Fn() -> bool) {
    let mut first = Function::start(&c.s, function, "debug").await;
    let (event, _) = c.s.aws.receive_event(queue).await;
    tokio::select! {
        _ = first.api.invoke(serde_json::to_vec(&event).expect("event")) => panic!("{function} finished before the kill"),
        _ = until(what, reached) => {}
    }
    first.process.kill().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = Function::start(&c.s, function, "debug").await;
    for _ in 0..5 {
        second.drain(&c.s, queue).await;
        if c.s.aws.depth(queue).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    c.settle().await;
}

/// The responder is killed while the provider holds its send (accepted, not yet answered).
async fn responder_killed() -> Row {
    let mut c = scene(16, 1, 0, Options::default()).await;
    c.provider.set_faults(SendFaults { slow: Some((1, Duration::from_secs(30))), ..SendFaults::default() });
    c.deliver(0).await;
    let provider = c.provider.clone();
    kill_midway(&c, "ResponderFunction", &c.s.messages.url, "the provider to accept the send", || {
        provider.accepted().len() == 1
    })
    .await;
    let lookups =
        c.provider.recorded().iter().filter(|r| r.method == "GET" && r.path.ends_with("/Messages.json")).count();
    assert!(lookups >= 1, "the new instance asked Twilio before sending again");
    c.row(
        "responder Lambda killed during the provider's send",
        0,
        "the new instance found the turn stored but not marked delivered, looked the send up in Twilio's message list and did not repeat it",
    )
    .await
}

/// The escalation function is killed while Zendesk holds its create (the ticket made, the
/// answer not back).
async fn escalation_killed() -> Row {
    let mut c = scene(17, 0, 1, Options::default()).await;
    c.desk.set_faults(Faults { slow: Some((1, Duration::from_secs(30))), ..Faults::default() });
    c.deliver(0).await;
    c.s.run_responder().await;
    let desk = c.desk.clone();
    kill_midway(&c, "EscalationFunction", &c.s.escalations.url, "the helpdesk to create the ticket", || {
        desk.tickets().len() == 1
    })
    .await;
    let calls = c.desk.calls();
    let creates = calls.iter().filter(|call| call.method == "POST").count();
    let lookups = calls.iter().filter(|call| call.method == "GET" && call.uri.contains("external_id=")).count();
    assert_eq!((creates, lookups), (1, 2), "one create; a lookup by each instance: {calls:?}");
    c.row(
        "escalation Lambda killed during the helpdesk's create",
        0,
        "the new instance looked the ticket up by its external_id before creating, and recorded the one that existed",
    )
    .await
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| fault | messages | the provider's webhook got | answered | escalated | parked | lost | sent twice | ticketed twice | what happened |\n\
         | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n",
    );
    for r in rows {
        let t = &r.tally;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.fault,
            r.messages,
            r.provider,
            t.answered,
            t.escalated,
            t.parked,
            t.lost,
            t.duplicate_answers,
            t.duplicate_tickets,
            r.note
        );
    }
    out
}

/// Replaces the table between the markers in docs/reliability.md.
fn write_table(table: &str) {
    let path = format!("{}/../docs/reliability.md", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(&path).expect("read docs/reliability.md");
    let (start, end) = ("<!-- fault-matrix:start -->\n", "<!-- fault-matrix:end -->");
    let (Some(a), Some(b)) = (doc.find(start), doc.find(end)) else {
        panic!("docs/reliability.md has no {start:?} … {end:?} section for the table")
    };
    let updated = format!("{}{start}{table}{}", &doc[..a], &doc[b..]);
    std::fs::write(&path, updated).expect("write docs/reliability.md");
}

/// One test, every row at once: each has its own table, queues, stand-ins (and its own DynamoDB
/// process or SQS proxy when it breaks one), so they cannot meet; the table keeps their order.
#[tokio::test]
async fn the_fault_matrix_loses_nothing_and_sends_nothing_twice() {
    let slow = |ms| Some((1, Duration::from_millis(ms)));
    // Spawned: each row's future is large, and sixteen joined on the test's stack overflow it.
    let spawned = [
        tokio::spawn(baseline()),
        tokio::spawn(dynamodb_killed()),
        tokio::spawn(sqs_down()),
        tokio::spawn(bedrock(4, "Bedrock 429 on every call", Mode::Throttle)),
        tokio::spawn(bedrock(5, "Bedrock 500 on every call", Mode::Fail)),
        tokio::spawn(bedrock(
            6,
            "Bedrock slower than its 2 s timeout",
            Mode::Slow(Duration::from_secs(3), Box::new(Mode::Fail)),
        )),
        tokio::spawn(bedrock(7, "Bedrock answers text, not the tool call", Mode::Text("Sure! Happy to help.".into()))),
        tokio::spawn(bedrock(
            8,
            "Bedrock tool call with a malformed input",
            Mode::Tool(json!({"intent": 42, "confidence": "very"})),
        )),
        tokio::spawn(helpdesk(
            10,
            "helpdesk 503 on the first two creates",
            Faults { unavailable: 2, ..Faults::default() },
            "each create failed once and was retried on redelivery",
        )),
        tokio::spawn(helpdesk(
            11,
            "helpdesk 429 (Retry-After: 1) on the first two creates",
            Faults { throttle: Some((2, 1)), ..Faults::default() },
            "waited out Retry-After",
        )),
        tokio::spawn(helpdesk(
            12,
            "helpdesk create answered after our 1 s timeout",
            Faults { slow: slow(2500), ..Faults::default() },
            "the create's in-call retry carried the same Idempotency-Key, and Zendesk answered with the first ticket",
        )),
        tokio::spawn(helpdesk_unauthorized()),
        tokio::spawn(provider_send(
            14,
            "Twilio send API 500 twice",
            SendFaults { fail_containing: Some(("Monday".into(), 2)), ..SendFaults::default() },
            "failed sends retried on redelivery",
        )),
        tokio::spawn(provider_send(
            15,
            "Twilio send answered after our 1 s timeout",
            SendFaults { slow: slow(2500), ..SendFaults::default() },
            "the send's outcome was unknown: looked up in the message list, found, not repeated",
        )),
        tokio::spawn(responder_killed()),
        tokio::spawn(escalation_killed()),
        tokio::spawn(lookup_hangs()),
    ];
    let mut rows = Vec::new();
    for row in spawned {
        rows.push(row.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
    }
    write_table(&table(&rows));
}
