//! The whole public HTTP API, as `switchboard serve` and the inbound Lambda serve it, on memory
//! adapters: routing, path and query extraction, body limits, CORS, the web chat's cursor and
//! read token, every webhook. Whatever arrives, the answer is never a 500 and never carries one
//! of the tenant's secrets.
//!
//! Input: `METHOD TARGET` on the first line, `Name: value` header lines, an empty line, the body.

use super::runtime;
use axum::body::Body;
use axum::http::{Method, Request};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use switchboard::adapters::memory::{
    MemoryConversations, MemoryCustomers, MemoryIdempotency, MemoryLedger, MemoryQueue, MemoryTenants, MemoryTickets,
};
use switchboard::classify::{Heads, IntentModel, TrainOptions};
use switchboard::cost::{Costs, PriceTable};
use switchboard::domain::Work;
use switchboard::pipeline::Inbound;
use switchboard::ports::SystemClock;
use switchboard::tenant::{HelpdeskConfig, Tenant, TenantConfig};
use switchboard::web::Api;
use tokio::sync::mpsc::UnboundedReceiver;
use tower::ServiceExt;

/// The demo tenant with every channel, and a signed-webhook helpdesk so its callback route is live.
fn tenant() -> &'static (Arc<MemoryTenants>, Vec<String>) {
    static TENANT: OnceLock<(Arc<MemoryTenants>, Vec<String>)> = OnceLock::new();
    TENANT.get_or_init(|| {
        let mut config = TenantConfig::from_yaml("demo.yaml", switchboard::tenant::DEMO_TENANT_YAML)
            .expect("the demo tenant parses");
        config.helpdesk = serde_json::from_value::<HelpdeskConfig>(serde_json::json!({
            "kind": "webhook", "url": "https://hooks.example/x", "secret": "demo-helpdesk-webhook-secret"}))
        .expect("a webhook helpdesk");
        let secrets: Vec<String> = config
            .secrets_mut()
            .into_iter()
            .map(|(_, s)| String::from_utf8_lossy(s.expose()).into_owned())
            .filter(|s| s.len() >= 8)
            .collect();
        // The n-gram model only: no route classifies (accepted messages wait in the queue), and
        // training the encoder heads under coverage instrumentation takes a minute on CI's cores.
        let pairs: Vec<(String, String)> =
            config.examples().into_iter().map(|(text, intent, _)| (text, intent)).collect();
        let intents = IntentModel::train(&pairs, TrainOptions { heads: Heads::NONE, ..TrainOptions::default() })
            .expect("the demo tenant's intents train");
        let tenant = Tenant::compile_with("demo.yaml", config, Some(intents)).expect("the demo tenant compiles");
        (Arc::new(MemoryTenants::new([tenant])), secrets)
    })
}

struct App {
    router: axum::Router,
    queue: UnboundedReceiver<Work>,
    requests: u32,
}

/// Stores are rebuilt every so many requests, so what accepted messages leave behind stays small.
const REBUILD_EVERY: u32 = 5_000;

fn build() -> App {
    let tenants = tenant().0.clone();
    let conversations = Arc::new(MemoryConversations::default());
    let (messages, queue) = MemoryQueue::new();
    let clock = Arc::new(SystemClock);
    let fetch = Arc::new(super::FuzzFetch(None));
    // No limits: every input reaches the routes' parsers, not a 429 (the limits' arithmetic is unit-tested).
    let unlimited = switchboard::limits::LimitSettings {
        tenant_messages_per_minute: 0,
        visitor_messages_per_minute: 0,
        data_writes_per_minute: 0,
    };
    let api = Arc::new(Api {
        tenants,
        conversations: conversations.clone(),
        customers: Arc::new(MemoryCustomers::default()),
        tickets: Arc::new(MemoryTickets::default()),
        sns: Arc::new(
            switchboard::channels::sns::SnsVerifier::with_roots(super::SNS.ca, fetch).expect("the fixture CA"),
        ),
        inbound: Inbound::new(Arc::new(MemoryIdempotency::default()), Arc::new(messages), conversations, clock.clone()),
        key: Arc::new(switchboard::keys::DeploymentKey::generate()),
        clock,
        poll_first: Duration::from_millis(1),
        poll_max: Duration::from_millis(1),
        // A poll is never held: the fuzzer must not wait.
        max_hold: Duration::ZERO,
        costs: Arc::new(Costs::new(Arc::new(MemoryLedger::default()), Arc::new(PriceTable::default_table()))),
        limits: Arc::new(switchboard::limits::Limits::new(
            unlimited,
            Arc::new(switchboard::adapters::memory::MemoryAllowances::default()),
        )),
    });
    App { router: switchboard::web::router(api), queue, requests: 0 }
}

fn request(data: &[u8]) -> Option<Request<Body>> {
    let text_end = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match text_end {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let mut builder = Request::builder().method(Method::from_bytes(method.as_bytes()).ok()?).uri(target);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        builder = builder.header(name.trim(), value.trim());
    }
    builder.body(Body::from(body.to_vec())).ok()
}

pub fn routes(data: &[u8]) {
    static APP: OnceLock<Mutex<App>> = OnceLock::new();
    let Some(request) = request(data) else { return };
    let mut app = APP.get_or_init(|| Mutex::new(build())).lock().unwrap_or_else(|e| e.into_inner());
    app.requests += 1;
    if app.requests > REBUILD_EVERY {
        *app = build();
    }
    let router = app.router.clone();
    let response = runtime().block_on(async move {
        let response = router.oneshot(request).await.expect("the router is infallible");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("a response body under 1 MB");
        (status, body)
    });
    while app.queue.try_recv().is_ok() {}
    let (status, body) = response;
    assert!(!status.is_server_error(), "hostile input got {status}: {body:?}");
    let body = String::from_utf8_lossy(&body);
    for secret in &tenant().1 {
        assert!(!body.contains(secret.as_str()), "a response carried one of the tenant's secrets");
    }
}
