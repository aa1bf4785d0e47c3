//! The inbound handler's CPU path per request: parse the body, verify (identity HMAC, sizes,
//! ids), normalise, and serialise the queue message. `router_memory` adds the HTTP router and
//! the memory adapters (idempotency claim, conversation create, enqueue).

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use switchboard::Tenant;
use switchboard::channels::webchat::{self, Identity, WebchatPost};
use switchboard::domain::{ConversationId, TenantId};
use switchboard::tenant::Secret;

fn body(secret: &Secret) -> Vec<u8> {
    serde_json::json!({
        "visitor_id": "v_3f1c9a7e2b",
        "client_message_id": "w_8d2e4f6a1c",
        "text": "Hi! I ordered a wool sweater last week and it still has not arrived. Where is my order?",
        "identity": Identity::signed(secret, "c-1002", Utc::now() + chrono::Duration::hours(1))
    })
    .to_string()
    .into_bytes()
}

fn parse_verify_normalise(c: &mut Criterion) {
    let tenant = Tenant::demo().expect("demo tenant");
    let config = tenant.config.channels.webchat.clone().expect("web chat on");
    let raw = body(&config.identity_secret);
    let id = TenantId::new("demo").expect("id");
    c.bench_function("inbound cpu path (parse + verify + normalise + serialise)", |b| {
        b.iter(|| {
            let post: WebchatPost = serde_json::from_slice(black_box(&raw)).expect("parses");
            let verified = webchat::verify(post, &config, Utc::now()).expect("verifies");
            let message = webchat::normalise(&verified, &id, ConversationId::generate(), Utc::now(), "req");
            black_box(serde_json::to_string(&message).expect("serialises"))
        })
    });
}

fn router_memory(c: &mut Criterion) {
    use std::sync::Arc;
    use switchboard::adapters::memory::{MemoryConversations, MemoryIdempotency, MemoryQueue, MemoryTenants};
    use switchboard::pipeline::Inbound;
    use switchboard::ports::SystemClock;
    use switchboard::web::{Api, router};
    use tower::ServiceExt;

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let tenant = Tenant::demo().expect("demo tenant");
    let secret = tenant.config.channels.webchat.clone().expect("web chat").identity_secret;
    let conversations = Arc::new(MemoryConversations::default());
    // The bench holds the queue's receiver and drains it outside the timing: no responder runs.
    let (queue, mut queued) = MemoryQueue::new();
    // No limits: every request is measured to its 202 (the limits are unit-tested).
    let unlimited = switchboard::limits::LimitSettings {
        tenant_messages_per_minute: 0,
        visitor_messages_per_minute: 0,
        data_writes_per_minute: 0,
    };
    let api = Arc::new(Api {
        tickets: Arc::new(switchboard::adapters::memory::MemoryTickets::default()),
        tenants: Arc::new(MemoryTenants::new([tenant])),
        conversations: conversations.clone(),
        customers: Arc::new(switchboard::adapters::memory::MemoryCustomers::default()),
        sns: Arc::new(switchboard::channels::sns::SnsVerifier::aws()),
        inbound: Inbound::new(
            Arc::new(MemoryIdempotency::default()),
            Arc::new(queue),
            conversations,
            Arc::new(SystemClock),
        ),
        key: Arc::new(switchboard::keys::DeploymentKey::generate()),
        clock: Arc::new(SystemClock),
        poll_first: std::time::Duration::from_millis(50),
        poll_max: std::time::Duration::from_millis(250),
        max_hold: std::time::Duration::from_secs(20),
        costs: Arc::new(switchboard::cost::Costs::new(
            Arc::new(switchboard::adapters::memory::MemoryLedger::default()),
            Arc::new(switchboard::cost::PriceTable::default_table()),
        )),
        limits: Arc::new(switchboard::limits::Limits::new(
            unlimited,
            Arc::new(switchboard::adapters::memory::MemoryAllowances::default()),
        )),
    });
    let app = router(api);
    let mut n = 0u64;
    c.bench_function("inbound router on memory adapters (HTTP request to 202)", |b| {
        b.iter_batched(
            || {
                n += 1;
                // A new client message id each time: every request is a first delivery.
                let mut raw: serde_json::Value = serde_json::from_slice(&body(&secret)).expect("json");
                raw["client_message_id"] = serde_json::json!(format!("w_{n}"));
                axum::http::Request::post("/v1/demo/webchat/messages")
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(raw.to_string()))
                    .expect("request")
            },
            |request| {
                let response = runtime.block_on(app.clone().oneshot(request)).expect("response");
                assert_eq!(response.status(), 202);
            },
            criterion::BatchSize::SmallInput,
        );
        while queued.try_recv().is_ok() {}
    });
}

criterion_group!(benches, parse_verify_normalise, router_memory);
criterion_main!(benches);
