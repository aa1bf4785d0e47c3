//! The responder's CPU path on the demo tenant: classify + policy + answer, per message.
//!
//! `cpu_path` is the pure computation; `respond_memory` is the whole responder half on the
//! memory adapters (stores, queues, usage log), i.e. everything but network I/O.

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use switchboard::adapters::memory::{
    MemoryConversations, MemoryCustomers, MemoryLedger, MemoryOutbox, MemoryQueue, MemoryTenants,
};
use switchboard::domain::{Channel, ConversationId, ConversationState, InboundMessage, MessageId, Sender, TenantId};
use switchboard::pipeline::{Responder, Spend, Stores};
use switchboard::policy::{Policy, PolicyInput};
use switchboard::ports::SystemClock;
use switchboard::reply::reply_language;
use switchboard::{Tenant, Turn};

const MESSAGES: &[&str] = &[
    "Where is my order?",
    "Do you ship to Canada?",
    "I want to talk to a human",
    "¿Cuánto tarda el envío?",
    "Wie kann ich einen Artikel zurückschicken?",
    "This is terrible, my package arrived broken!!",
    "Which payment methods do you accept?",
    "can I bring my dog to the store",
];

fn cpu_path(c: &mut Criterion) {
    let tenant = Tenant::demo().expect("demo tenant");
    let mut i = 0;
    c.bench_function("cpu_path (classify + policy + answer)", |b| {
        b.iter(|| {
            let text = MESSAGES[i % MESSAGES.len()];
            i += 1;
            let classification = tenant.classifier.classify(black_box(text));
            let language = reply_language(
                &tenant.config.languages,
                tenant.config.default_language,
                classification.language,
                None,
                None,
            );
            let draft = tenant.replies.draft(classification.intent.as_deref(), text, language, None);
            let decision =
                Policy { rules: &tenant.config.policy, rollout: &tenant.config.rollout }.decide(PolicyInput {
                    classification: &classification,
                    customer: None,
                    state: &ConversationState::Bot,
                    history: &[] as &[Turn],
                    draft: draft.as_ref(),
                });
            black_box(decision)
        })
    });
}

fn respond_memory(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let (escalations, mut escalation_rx) = MemoryQueue::new();
    let responder = Responder::new(
        Stores::new(
            Arc::new(MemoryTenants::new([Tenant::demo().expect("demo tenant")])),
            Arc::new(MemoryCustomers::default()),
            Arc::new(MemoryConversations::default()),
        ),
        Arc::new(escalations),
        Arc::new(MemoryOutbox::default()),
        Spend::new(
            Arc::new(switchboard::cost::Costs::new(
                Arc::new(MemoryLedger::default()),
                Arc::new(switchboard::cost::PriceTable::default_table()),
            )),
            std::time::Duration::from_secs(60),
            Arc::new(switchboard::adapters::memory::MemoryAllowances::default()),
        ),
        Arc::new(SystemClock),
    );
    let tenant = TenantId::new("demo").expect("tenant id");
    let mut i = 0usize;
    c.bench_function("respond_memory (whole responder, memory adapters)", |b| {
        b.iter(|| {
            let id = MessageId::generate();
            let message = InboundMessage {
                provider_message_id: id.to_string(),
                id,
                tenant: tenant.clone(),
                channel: Channel::Webchat,
                // A fresh conversation each time: every message is answered, none silenced.
                conversation: ConversationId::generate(),
                sender: Sender { address: "v_bench".into(), customer: None, unverified: false },
                text: MESSAGES[i % MESSAGES.len()].to_string(),
                received_at: Utc::now(),
                request_id: "bench".into(),
                thread: None,
                attachments: Vec::new(),
            };
            i += 1;
            let outcome = runtime.block_on(responder.respond(&message)).expect("responds");
            while escalation_rx.try_recv().is_ok() {}
            black_box(outcome)
        })
    });
}

criterion_group!(benches, cpu_path, respond_memory);
criterion_main!(benches);
