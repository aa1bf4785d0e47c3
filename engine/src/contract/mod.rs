//! Contract suites: what every adapter of a port must do, run against the memory adapters here
//! and against the AWS adapters in the integration tests, so the embedded default and
//! production cannot drift apart. Each suite panics with a message naming the broken promise.

use crate::tenant::TenantDirectory;
use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use std::time::Duration;
use switchboard_core::domain::{
    Channel, Conversation, ConversationId, ConversationState, CustomerId, Escalation, InboundMessage, MessageId, Role,
    TenantId, TicketRef, Turn, TurnCursor,
};
use switchboard_core::ports::{
    Activity, Claim, ConversationStore, EscalationQueue, IdempotencyKey, IdempotencyStore, MessageQueue, PortError,
    SecretStore, TenantStore, TicketStore,
};

mod customers;
mod ledger;
pub use customers::{customer_privacy, customer_store};
pub use ledger::cost_ledger;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).single().unwrap_or_default()
}

/// Until when the contract's items are kept: a day from now by the wall clock, which is what
/// the table's TTL and every adapter's reads age items by.
fn kept() -> DateTime<Utc> {
    Utc::now() + Span::days(1)
}

/// A time already past: an item kept until then is gone.
fn lapsed() -> DateTime<Utc> {
    Utc::now() - Span::seconds(1)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap_or_else(|e| panic!("contract fixture: {e}"))
}

fn turn(at: DateTime<Utc>, role: Role, text: &str) -> Turn {
    let id = MessageId::generate();
    Turn {
        cursor: TurnCursor::new(at, &id),
        id,
        role,
        text: text.into(),
        at,
        intent: Some("x".into()),
        delivered: false,
        parts_sent: 0,
        seq: 0,
    }
}

/// Conversations: conditional create, replace, delete, idempotent turn writes, ordered reads,
/// tenant isolation.
pub async fn conversation_store(store: &dyn ConversationStore) {
    let a = tenant(&unique("a-"));
    let b = tenant(&unique("b-"));
    let id = ConversationId::new(unique("c_")).unwrap_or_else(|e| panic!("{e}"));
    let conversation = Conversation::new(id.clone(), a.clone(), Channel::Webchat, "v_1".into(), t0());

    assert_eq!(store.conversation(&a, &id).await.ok().flatten(), None, "a missing conversation reads as None");
    store.create_conversation(&conversation).await.unwrap_or_else(|e| panic!("create: {e}"));
    assert!(
        matches!(store.create_conversation(&conversation).await, Err(PortError::Conflict { .. })),
        "creating an existing conversation is a Conflict"
    );
    assert_eq!(
        store.conversation(&a, &id).await.ok().flatten().as_ref(),
        Some(&conversation),
        "reads back what was created"
    );
    assert_eq!(store.conversation(&b, &id).await.ok().flatten(), None, "another tenant cannot read it");

    let ana = CustomerId::new("c-1").unwrap_or_else(|e| panic!("{e}"));
    let es = switchboard_core::domain::Language::from_code("es").unwrap_or(switchboard_core::domain::Language::EN);
    let activity = Activity {
        language: es,
        last_inbound_at: t0() + Span::seconds(5),
        customer: Some(ana.clone()),
        thread: Some("<m1@mail.example>".into()),
        keep: kept(),
    };
    store.record_activity(&a, &id, &activity).await.unwrap_or_else(|e| panic!("record_activity: {e}"));
    let mut expected = conversation.clone();
    expected.language = Some(es);
    expected.last_inbound_at = Some(t0() + Span::seconds(5));
    expected.customer = Some(ana);
    expected.thread = Some("<m1@mail.example>".into());
    assert_eq!(store.conversation(&a, &id).await.ok().flatten().as_ref(), Some(&expected), "activity recorded");
    let other = Activity { customer: CustomerId::new("c-2").ok(), ..activity };
    store.record_activity(&a, &id, &other).await.unwrap_or_else(|e| panic!("record_activity: {e}"));
    assert_eq!(
        store.conversation(&a, &id).await.ok().flatten().and_then(|c| c.customer),
        expected.customer,
        "a bound customer is never replaced"
    );

    let pending = ConversationState::HandoffPending { escalation: MessageId::generate(), since: t0() };
    let owned = ConversationState::HumanOwned {
        ticket: TicketRef {
            helpdesk: "console".into(),
            id: "T-1".into(),
            url: Some("https://desk.example/T-1".into()),
        },
        since: t0() + Span::milliseconds(1500),
    };
    assert!(
        matches!(store.transition(&a, &id, &owned, &pending).await, Err(PortError::Conflict { .. })),
        "a transition from a state the conversation is not in is a Conflict"
    );
    store.transition(&a, &id, &ConversationState::Bot, &pending).await.unwrap_or_else(|e| panic!("transition: {e}"));
    store.transition(&a, &id, &pending, &owned).await.unwrap_or_else(|e| panic!("transition: {e}"));
    let stored = store.conversation(&a, &id).await.ok().flatten();
    assert_eq!(stored.as_ref().map(|c| &c.state), Some(&owned), "state moved and reads back exactly");
    assert!(
        matches!(store.transition(&a, &id, &pending, &ConversationState::Bot).await, Err(PortError::Conflict { .. })),
        "a stale `from` loses"
    );
    store.record_activity(&a, &id, &other).await.unwrap_or_else(|e| panic!("record_activity: {e}"));
    assert_eq!(
        store.conversation(&a, &id).await.ok().flatten().map(|c| c.state),
        Some(owned),
        "activity never touches state"
    );

    let first = turn(t0(), Role::Customer, "first");
    let second = turn(t0() + Span::seconds(1), Role::Bot, "second");
    let third = turn(t0() + Span::seconds(2), Role::Customer, "third");
    for t in [&second, &first, &third, &first] {
        store.append_turn(&a, &id, t, kept()).await.unwrap_or_else(|e| panic!("append: {e}"));
    }
    let all = store.turns_after(&a, &id, None, 100).await.unwrap_or_else(|e| panic!("turns_after: {e}"));
    let texts: Vec<&str> = all.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts, vec!["second", "first", "third"], "turns in written order, a repeated write kept once");
    assert_eq!(all.iter().map(|t| t.seq).collect::<Vec<_>>(), vec![1, 2, 3], "numbered as written");
    assert_eq!(Turn { seq: 0, ..all[1].clone() }, first, "a turn reads back exactly");
    let looked_up = store.turn(&a, &id, &second.cursor).await.unwrap_or_else(|e| panic!("turn: {e}"));
    assert_eq!(looked_up.map(|t| Turn { seq: 0, ..t }).as_ref(), Some(&second), "a turn is found by its cursor");
    let mut delivered = second.clone();
    delivered.delivered = true;
    store.append_turn(&a, &id, &delivered, kept()).await.unwrap_or_else(|e| panic!("append: {e}"));
    assert!(
        store.turn(&a, &id, &second.cursor).await.ok().flatten().is_some_and(|t| t.delivered),
        "rewriting a turn updates it"
    );
    let unknown = TurnCursor::new(t0(), &MessageId::generate());
    assert_eq!(store.turn(&a, &id, &unknown).await.ok().flatten(), None, "an unknown cursor is None");
    let after = store.turns_after(&a, &id, Some(all[1].seq), 100).await.unwrap_or_default();
    assert_eq!(after.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), vec!["third"], "after excludes the cursor");
    let limited = store.turns_after(&a, &id, None, 2).await.unwrap_or_default();
    assert_eq!(limited.len(), 2, "limit is honoured");
    let recent = store.recent_turns(&a, &id, 2).await.unwrap_or_default();
    assert_eq!(
        recent.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(),
        vec!["second", "third"],
        "recent: newest, oldest first"
    );
    assert!(store.turns_after(&b, &id, None, 100).await.unwrap_or_default().is_empty(), "another tenant sees no turns");

    store.delete_conversation(&a, &id).await.unwrap_or_else(|e| panic!("delete: {e}"));
    assert_eq!(store.conversation(&a, &id).await.ok().flatten(), None, "deleted");
    assert!(store.turns_after(&a, &id, None, 100).await.unwrap_or_default().is_empty(), "delete removes the turns");
    expired_turns(store).await;
    expired_conversation(store).await;
    reviews(store).await;
}

/// A conversation whose record has outlived the tenant's retention is gone for every read, and
/// the next first message starts it afresh instead of meeting a conflict.
async fn expired_conversation(store: &dyn ConversationStore) {
    let t = tenant(&unique("x-"));
    let id = ConversationId::new(unique("c_")).unwrap_or_else(|e| panic!("{e}"));
    let c = Conversation::new(id.clone(), t.clone(), Channel::Webchat, "v_1".into(), t0());
    store.create_conversation(&c).await.unwrap_or_else(|e| panic!("create: {e}"));
    let activity = Activity {
        language: switchboard_core::domain::Language::EN,
        last_inbound_at: t0(),
        customer: CustomerId::new("c-9").ok(),
        thread: None,
        keep: lapsed(),
    };
    store.record_activity(&t, &id, &activity).await.unwrap_or_else(|e| panic!("record_activity: {e}"));
    assert_eq!(store.conversation(&t, &id).await.ok().flatten(), None, "an expired record is not read");
    let again = Conversation::new(id.clone(), t.clone(), Channel::Webchat, "v_1".into(), t0() + Span::days(1));
    store.create_conversation(&again).await.unwrap_or_else(|e| panic!("create over an expired record: {e}"));
    assert_eq!(store.conversation(&t, &id).await.ok().flatten(), Some(again.clone()), "a fresh record, no old binding");
    assert!(
        matches!(store.create_conversation(&again).await, Err(PortError::Conflict { .. })),
        "a live record still conflicts"
    );
}

/// A pilot's review items: the tenant's newest first, each message once, none of another
/// tenant's, none expired, and gone with their conversation.
async fn reviews(store: &dyn ConversationStore) {
    let t = tenant(&unique("rv-"));
    let other = tenant(&unique("rv-"));
    let conversation = |t: &TenantId| {
        let id = ConversationId::new(unique("c_")).unwrap_or_else(|e| panic!("{e}"));
        Conversation::new(id, t.clone(), Channel::Webchat, "v_1".into(), t0())
    };
    let (a, b, c) = (conversation(&t), conversation(&t), conversation(&other));
    for conv in [&a, &b, &c] {
        store.create_conversation(conv).await.unwrap_or_else(|e| panic!("create: {e}"));
    }
    use switchboard_core::domain::ReviewKind;
    let item = |conv: &Conversation, seconds: i64, text: &str| switchboard_core::domain::ReviewItem {
        kind: ReviewKind::Pilot,
        conversation: conv.id.clone(),
        message: MessageId::generate(),
        at: t0() + Span::seconds(seconds),
        channel: Channel::Webchat,
        mode: switchboard_core::domain::RolloutMode::Shadow,
        intent: Some("order_status".into()),
        confidence: 0.8,
        language: switchboard_core::domain::Language::EN,
        text: text.into(),
        decision: "answer".into(),
        reply: Some("It ships tomorrow.".into()),
        reasons: vec![],
    };
    let (first, second, third) = (item(&a, 0, "first"), item(&a, 1, "second"), item(&b, 2, "third"));
    for written in [&first, &second, &third] {
        store.add_review(&t, written, kept()).await.unwrap_or_else(|e| panic!("add_review: {e}"));
    }
    store.add_review(&t, &item(&b, 3, "expired"), lapsed()).await.unwrap_or_else(|e| panic!("add_review: {e}"));
    store.add_review(&other, &item(&c, 4, "another tenant's"), kept()).await.unwrap_or_else(|e| panic!("{e}"));
    let texts =
        |items: Vec<switchboard_core::domain::ReviewItem>| items.into_iter().map(|i| i.text).collect::<Vec<_>>();
    let listed = store.reviews(&t, ReviewKind::Pilot, 10).await.unwrap_or_else(|e| panic!("reviews: {e}"));
    assert_eq!(listed.first(), Some(&third), "reads back exactly");
    assert_eq!(texts(listed), ["third", "second", "first"], "newest first, not expired, not another tenant's");
    assert_eq!(texts(store.reviews(&t, ReviewKind::Pilot, 2).await.unwrap_or_default()), ["third", "second"], "limit");
    // The same message kept for another reason is listed with its kind only.
    let unanswered = switchboard_core::domain::ReviewItem { kind: ReviewKind::Unanswered, ..first.clone() };
    store.add_review(&t, &unanswered, kept()).await.unwrap_or_else(|e| panic!("add_review: {e}"));
    assert_eq!(
        store.reviews(&t, ReviewKind::Unanswered, 10).await.unwrap_or_default(),
        std::slice::from_ref(&unanswered)
    );
    // A redelivery decides again, later: the same message is still listed once.
    let at = t0() + Span::seconds(10);
    let rewritten = switchboard_core::domain::ReviewItem { decision: "escalate".into(), at, ..second.clone() };
    store.add_review(&t, &rewritten, kept()).await.unwrap_or_else(|e| panic!("add_review: {e}"));
    let listed = store.reviews(&t, ReviewKind::Pilot, 10).await.unwrap_or_else(|e| panic!("reviews: {e}"));
    assert_eq!(texts(listed.clone()), ["second", "third", "first"], "the same message once, at its latest");
    assert_eq!(listed[0].decision, "escalate", "rewritten");
    store.delete_conversation(&t, &a.id).await.unwrap_or_else(|e| panic!("delete: {e}"));
    assert_eq!(texts(store.reviews(&t, ReviewKind::Pilot, 10).await.unwrap_or_default()), ["third"], "gone with it");
    assert!(store.reviews(&t, ReviewKind::Unanswered, 10).await.unwrap_or_default().is_empty(), "every kind");
}

/// A turn past its retention is gone for every read at once, before the table's TTL deletes
/// it; writing it again with a later expiry brings it back.
async fn expired_turns(store: &dyn ConversationStore) {
    let t = tenant(&unique("r-"));
    let id = ConversationId::new(unique("c_")).unwrap_or_else(|e| panic!("{e}"));
    let c = Conversation::new(id.clone(), t.clone(), Channel::Webchat, "v_9".into(), t0());
    store.create_conversation(&c).await.unwrap_or_else(|e| panic!("create: {e}"));
    let old = turn(t0(), Role::Customer, "kept until a second ago");
    let new = turn(t0() + Span::seconds(1), Role::Bot, "kept until tomorrow");
    store.append_turn(&t, &id, &old, lapsed()).await.unwrap_or_else(|e| panic!("append: {e}"));
    store.append_turn(&t, &id, &new, kept()).await.unwrap_or_else(|e| panic!("append: {e}"));
    let texts = |turns: Vec<Turn>| turns.into_iter().map(|t| t.text).collect::<Vec<_>>();
    let polled = store.turns_after(&t, &id, None, 10).await.unwrap_or_else(|e| panic!("turns_after: {e}"));
    assert_eq!(texts(polled), vec![new.text.clone()], "the poll skips an expired turn");
    let recent = store.recent_turns(&t, &id, 10).await.unwrap_or_else(|e| panic!("recent_turns: {e}"));
    assert_eq!(texts(recent), vec![new.text.clone()], "the history skips an expired turn");
    assert_eq!(store.turn(&t, &id, &old.cursor).await.ok().flatten(), None, "an expired turn is not found");
    store.append_turn(&t, &id, &old, kept()).await.unwrap_or_else(|e| panic!("append: {e}"));
    assert!(store.turn(&t, &id, &old.cursor).await.ok().flatten().is_some(), "a rewrite sets a new expiry");

    // A poll from the start of a conversation with a long expired stretch still reaches the
    // live turns after it (a page of expired turns must not stall the cursor).
    let long = ConversationId::new(unique("c_")).unwrap_or_else(|e| panic!("{e}"));
    store
        .create_conversation(&Conversation::new(long.clone(), t.clone(), Channel::Webchat, "v_2".into(), t0()))
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    for i in 0..12 {
        let gone = turn(t0() + Span::seconds(i), Role::Customer, "expired");
        store.append_turn(&t, &long, &gone, lapsed()).await.unwrap_or_else(|e| panic!("append: {e}"));
    }
    let live = turn(t0() + Span::minutes(1), Role::Bot, "live");
    store.append_turn(&t, &long, &live, kept()).await.unwrap_or_else(|e| panic!("append: {e}"));
    let polled = store.turns_after(&t, &long, None, 10).await.unwrap_or_else(|e| panic!("turns_after: {e}"));
    assert_eq!(texts(polled), vec!["live".to_string()], "past a page of expired turns");
}

/// Idempotency: one winner, in-progress blocks, completion answers repeats, locks and records
/// A poller that follows its cursor sees every turn exactly once, in the order the turns were
/// written — even when their timestamps are out of order (two inbound instances' clocks, a
/// redrive), with an agent's reply between them.
pub async fn turns_in_written_order(store: &dyn ConversationStore) {
    let t = tenant(&unique("p-"));
    let id = ConversationId::new(unique("c_")).unwrap_or_else(|e| panic!("{e}"));
    let c = Conversation::new(id.clone(), t.clone(), Channel::Webchat, "v_1".into(), t0());
    store.create_conversation(&c).await.unwrap_or_else(|e| panic!("create: {e}"));
    let poll = |after: Option<u64>| {
        let (t, id) = (t.clone(), id.clone());
        async move { store.turns_after(&t, &id, after, 100).await.unwrap_or_else(|e| panic!("poll: {e}")) }
    };
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<u64> = None;
    let first = turn(t0() + Span::seconds(2), Role::Customer, "first, stamped 10:00:02");
    let agent = turn(t0() + Span::seconds(3), Role::Agent, "agent, 10:00:03");
    let second = turn(t0() + Span::seconds(1), Role::Customer, "second, stamped earlier: 10:00:01");
    for written in [&first, &agent, &second] {
        store.append_turn(&t, &id, written, kept()).await.unwrap_or_else(|e| panic!("append: {e}"));
        let page = poll(cursor).await;
        seen.extend(page.iter().map(|t| t.text.clone()));
        if let Some(last) = page.last() {
            cursor = Some(last.seq);
        }
    }
    // Writing a turn again (a redelivery, the delivered mark) does not show it again.
    store.append_turn(&t, &id, &first, kept()).await.unwrap_or_else(|e| panic!("append: {e}"));
    seen.extend(poll(cursor).await.iter().map(|t| t.text.clone()));
    assert_eq!(
        seen,
        vec![first.text.clone(), agent.text.clone(), second.text.clone()],
        "every turn once, in written order"
    );
}

/// expire, release frees the key.
pub async fn idempotency_store(store: &dyn IdempotencyStore) {
    let key = |t: &str| IdempotencyKey(switchboard_core::keys::partition::delivery(&tenant(t), Channel::Webchat, "m1"));
    let (key, other) = (key(&unique("t-")), key(&unique("t-")));
    let lock = Duration::from_secs(30);
    let keep = Duration::from_secs(3600);
    let claim = |k: &IdempotencyKey, at| {
        let k = k.clone();
        async move { store.claim(&k, at, lock).await.unwrap_or_else(|e| panic!("claim: {e}")) }
    };

    assert_eq!(claim(&key, t0()).await, Claim::Acquired, "first claim wins");
    assert_eq!(claim(&key, t0() + Span::seconds(1)).await, Claim::InProgress, "second claim waits");
    assert_eq!(claim(&other, t0()).await, Claim::Acquired, "keys are independent");
    assert_eq!(
        claim(&key, t0() + Span::seconds(31)).await,
        Claim::Acquired,
        "an expired lock (crashed attempt) can be taken over"
    );

    let response = serde_json::json!({"conversation_id": "c_1", "message_id": "m_1"});
    store.complete(&key, &response, t0() + Span::seconds(32), keep).await.unwrap_or_else(|e| panic!("complete: {e}"));
    assert_eq!(
        claim(&key, t0() + Span::seconds(40)).await,
        Claim::Completed(response.clone()),
        "repeats get the stored response"
    );
    store.release(&key).await.unwrap_or_else(|e| panic!("release: {e}"));
    assert_eq!(
        claim(&key, t0() + Span::seconds(41)).await,
        Claim::Completed(response),
        "release never drops a completed record"
    );
    assert_eq!(claim(&key, t0() + Span::seconds(32 + 3601)).await, Claim::Acquired, "completed records expire");

    store.release(&other).await.unwrap_or_else(|e| panic!("release: {e}"));
    assert_eq!(claim(&other, t0() + Span::seconds(2)).await, Claim::Acquired, "a released lock is free at once");
}

/// Secrets: a stored secret reads back exactly, a missing one is `None`. `existing` must have
/// been stored under `name` beforehand.
pub async fn secret_store(store: &dyn SecretStore, name: &str, existing: &str) {
    let got = store.secret(name).await.unwrap_or_else(|e| panic!("secret: {e}"));
    assert_eq!(got.as_ref().map(|s| s.expose().to_vec()), Some(existing.as_bytes().to_vec()), "reads back exactly");
    let missing = store.secret(&format!("{name}-missing")).await.unwrap_or_else(|e| panic!("secret: {e}"));
    assert!(missing.is_none(), "a missing secret is None, not an error");
}

/// Tenants: a stored tenant comes back compiled and ready, an unknown one is `None`. The
/// directory must hold the demo tenant (id `demo`).
pub async fn tenant_directory(directory: &dyn TenantDirectory) {
    let demo = directory.tenant(&tenant("demo")).await.unwrap_or_else(|e| panic!("tenant: {e}"));
    let demo = demo.unwrap_or_else(|| panic!("the demo tenant is found"));
    assert_eq!(demo.id.as_str(), "demo");
    assert_eq!(
        demo.classifier.classify("where is my order?").intent.as_deref(),
        Some("order_status"),
        "the tenant comes back compiled, classifier trained"
    );
    let again = directory.tenant(&tenant("demo")).await.ok().flatten();
    assert!(again.is_some(), "a second lookup (cached or not) finds it too");
    assert!(
        directory.tenant(&tenant("no-such-tenant")).await.unwrap_or_else(|e| panic!("{e}")).is_none(),
        "unknown is None"
    );
}

/// Tenant stores: the configuration a tenant was stored with (its file without the seed
/// customers, which are the customer store's) reads back exactly, an unknown tenant is `None`,
/// and the model stored with it reads back under the YAML's digest and under no other. `yaml`
/// (tenant `demo`) must have been stored beforehand by the adapter's own write.
pub async fn tenant_store(store: &dyn TenantStore, yaml: &str) {
    let split = crate::tenant::split_customers("demo", yaml).unwrap_or_else(|e| panic!("{e}"));
    let yaml = split.config_yaml.as_str();
    let demo = tenant("demo");
    let read = store.config(&demo).await.unwrap_or_else(|e| panic!("config: {e}"));
    assert_eq!(read.as_deref(), Some(yaml), "the YAML reads back exactly");
    let unknown = store.config(&tenant("no-such-tenant")).await.unwrap_or_else(|e| panic!("config: {e}"));
    assert!(unknown.is_none(), "unknown is None");
    let digest = crate::tenant::yaml_digest(yaml);
    let model = store.model(&demo, &digest).await.unwrap_or_else(|e| panic!("model: {e}"));
    let model = model.unwrap_or_else(|| panic!("the model stored with the YAML is found"));
    assert!(crate::classify::IntentModel::from_bytes(&model).is_some(), "and reads back as a model");
    let other = store.model(&demo, &crate::tenant::yaml_digest("other")).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(other.is_none(), "no model for YAML it was not trained from");
}

/// The messages queue: what is enqueued arrives intact and, within a conversation, in order.
/// `receive` returns what the consumer side got so far (the adapter's own delivery mechanism).
pub async fn message_queue<F, Fut>(queue: &dyn MessageQueue, mut receive: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Vec<switchboard_core::domain::Work>>,
{
    let conversation = ConversationId::new(unique("c_")).unwrap_or_else(|e| panic!("{e}"));
    let mut sent = Vec::new();
    for (i, text) in ["first", "second", "third"].into_iter().enumerate() {
        let id = MessageId::generate();
        let m = InboundMessage {
            provider_message_id: format!("p{i}-{id}"),
            id,
            tenant: tenant("demo"),
            channel: Channel::Webchat,
            conversation: conversation.clone(),
            sender: switchboard_core::domain::Sender {
                address: "v_1".into(),
                customer: CustomerId::new("c-1").ok(),
                unverified: false,
            },
            text: text.into(),
            received_at: t0() + Span::seconds(i as i64),
            request_id: format!("r{i}"),
            thread: None,
            attachments: Vec::new(),
        };
        let work = switchboard_core::domain::Work::Customer(Box::new(m));
        queue.enqueue(&work).await.unwrap_or_else(|e| panic!("enqueue: {e}"));
        sent.push(work);
    }
    let mut got = Vec::new();
    for _ in 0..10 {
        got.extend(receive().await);
        if got.len() >= sent.len() {
            break;
        }
    }
    assert_eq!(got, sent, "every message arrives, intact and in order");
}

/// The escalation queue: what is enqueued arrives intact.
pub async fn escalation_queue<F, Fut>(queue: &dyn EscalationQueue, mut receive: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Vec<switchboard_core::domain::EscalationJob>>,
{
    let id = MessageId::generate();
    let escalation = Escalation {
        id: id.clone(),
        tenant: tenant("demo"),
        conversation: ConversationId::new(unique("c_")).unwrap_or_else(|e| panic!("{e}")),
        channel: Channel::Webchat,
        customer_id: None,
        sender_unverified: false,
        customer: None,
        priority: switchboard_core::domain::Priority::High,
        reasons: vec![switchboard_core::domain::Reason::HumanRequested],
        summary: "asked for a person".into(),
        intent: Some("human_agent".into()),
        sentiment: None,
        urgency: None,
        language: switchboard_core::domain::Language::EN,
        transcript: vec![turn(t0(), Role::Customer, "a person please")],
        draft: Some("draft".into()),
        created_at: t0(),
        request_id: "r".into(),
    };
    let escalation = switchboard_core::domain::EscalationJob::Open(Box::new(escalation));
    queue.enqueue(&escalation).await.unwrap_or_else(|e| panic!("enqueue: {e}"));
    let mut got = Vec::new();
    for _ in 0..10 {
        got.extend(receive().await);
        if !got.is_empty() {
            break;
        }
    }
    assert_eq!(got, vec![escalation], "the escalation arrives intact");
}

/// Allowances: at most `limit` units per tenant, name and window; other windows, names and
/// tenants count apart.
pub async fn allowances(store: &dyn switchboard_core::ports::Allowances) {
    let (a, b) = (tenant(&unique("a")), tenant(&unique("b")));
    let hour = t0();
    let take = |tenant: &TenantId, what: &'static str, window: DateTime<Utc>| {
        let tenant = tenant.clone();
        async move { store.take(&tenant, what, window, 2).await.unwrap_or_else(|e| panic!("allowances: {e}")) }
    };
    assert!(take(&a, "model", hour).await && take(&a, "model", hour).await);
    assert!(!take(&a, "model", hour).await, "the third unit of two is refused");
    assert!(!take(&a, "model", hour).await, "and stays refused");
    assert!(take(&a, "model", hour + Span::hours(1)).await, "another window");
    assert!(take(&a, "other", hour).await, "another allowance");
    assert!(take(&b, "model", hour).await, "another tenant");

    // Adding counts whatever the limit, returns the window's total, and shares the count.
    let add = |tenant: &TenantId, what: &'static str, window: DateTime<Utc>, n: u32| {
        let tenant = tenant.clone();
        async move { store.add(&tenant, what, window, n).await.unwrap_or_else(|e| panic!("allowances: {e}")) }
    };
    assert_eq!(add(&a, "model", hour, 3).await, 5, "two taken, three added");
    assert_eq!(add(&a, "msgs", hour, 4).await, 4);
    assert_eq!(add(&a, "msgs", hour, 1).await, 5, "a running total");
    assert_eq!(add(&a, "msgs", hour + Span::minutes(1), 1).await, 1, "another window");
    assert_eq!(add(&b, "msgs", hour, 2).await, 2, "another tenant");
    assert!(!take(&b, "msgs", hour).await, "what was added counts against a limit");
}

/// Message limits counted in `counters` by several instances at once (on DynamoDB the tasks
/// interleave at every call; the memory adapter never yields, so there they run in turn): the
/// limit is given in full, and a flood gets at most one share more per instance
/// ([`crate::limits`]).
pub async fn limits_across_instances(counters: std::sync::Arc<dyn switchboard_core::ports::Allowances>) {
    use crate::limits::{LimitSettings, Limits};
    let tenant = tenant(&unique("flood"));
    let settings =
        LimitSettings { tenant_messages_per_minute: 64, visitor_messages_per_minute: 0, data_writes_per_minute: 0 };
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (limits, tenant) = (Limits::new(settings, counters.clone()), tenant.clone());
            tokio::spawn(async move {
                let mut admitted = 0;
                for _ in 0..100 {
                    let source = crate::limits::Source {
                        tenant: &tenant,
                        channel: switchboard_core::domain::Channel::Email,
                        visitor: None,
                        signed_in: false,
                    };
                    if limits.admit(source, 1, t0()).await.is_ok() {
                        admitted += 1;
                    }
                }
                admitted
            })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        admitted += task.await.unwrap_or_else(|e| panic!("an instance failed: {e}"));
    }
    // Shares of 64 are the minimum, 4: four instances may each admit 4 before hearing the total.
    assert!((64..=64 + 4 * 4).contains(&admitted), "{admitted} of 400 admitted, limit 64");
}

/// The ticket store: a recorded ticket is found by its escalation and its conversation by the
/// ticket; recording again keeps the first ticket; nothing leaks across tenants or helpdesks.
pub async fn ticket_store(store: &dyn TicketStore) {
    let fail = |e: PortError| -> ! { panic!("ticket store: {e}") };
    let (demo, other) = (tenant("demo"), tenant("other"));
    let escalation = MessageId::generate();
    let conversation = ConversationId::new(unique("c_")).unwrap_or_else(|e| panic!("{e}"));
    let ticket = TicketRef { helpdesk: "zendesk".into(), id: unique("t"), url: Some("https://desk/1".into()) };
    assert_eq!(store.ticket_for(&demo, &escalation).await.unwrap_or_else(|e| fail(e)), None, "nothing recorded yet");
    store.record_ticket(&demo, &escalation, &conversation, &ticket).await.unwrap_or_else(|e| fail(e));
    store.record_ticket(&demo, &escalation, &conversation, &ticket).await.unwrap_or_else(|e| fail(e));
    assert_eq!(store.ticket_for(&demo, &escalation).await.unwrap_or_else(|e| fail(e)), Some(ticket.clone()));
    assert_eq!(
        store.conversation_for(&demo, "zendesk", &ticket.id).await.unwrap_or_else(|e| fail(e)),
        Some(conversation),
        "a callback finds its conversation"
    );
    assert_eq!(store.ticket_for(&other, &escalation).await.unwrap_or_else(|e| fail(e)), None, "tenants are apart");
    assert_eq!(store.conversation_for(&other, "zendesk", &ticket.id).await.unwrap_or_else(|e| fail(e)), None);
    assert_eq!(store.conversation_for(&demo, "freshdesk", &ticket.id).await.unwrap_or_else(|e| fail(e)), None);
}

#[cfg(test)]
mod memory {
    use crate::memory::{MemoryConversations, MemoryCustomers, MemoryIdempotency};

    #[tokio::test]
    async fn memory_conversations_keep_the_contract() {
        super::conversation_store(&MemoryConversations::default()).await;
    }

    #[tokio::test]
    async fn memory_idempotency_keeps_the_contract() {
        super::idempotency_store(&MemoryIdempotency::default()).await;
    }

    #[tokio::test]
    async fn memory_tenants_keep_the_contract() {
        let tenants = crate::memory::MemoryTenants::new([crate::tenant::Tenant::demo().unwrap()]);
        super::tenant_directory(&tenants).await;
        let yaml = switchboard_core::config::DEMO_TENANT_YAML;
        let secrets = std::sync::Arc::new(crate::memory::MemorySecrets::default());
        let sources = [("demo.yaml".to_string(), yaml.to_string())];
        let loaded = crate::memory::MemoryTenants::from_yaml(&sources, secrets, Vec::new()).await.unwrap();
        super::tenant_directory(&loaded).await;
        let store = crate::memory::MemoryTenantStore::default();
        store.put_config("demo.yaml", yaml).unwrap();
        super::tenant_store(&store, yaml).await;
    }

    #[tokio::test]
    async fn memory_queues_keep_the_contract() {
        let (queue, mut rx) = crate::memory::MemoryQueue::new();
        super::message_queue(&queue, || {
            let mut got = Vec::new();
            while let Ok(m) = rx.try_recv() {
                got.push(m);
            }
            async move { got }
        })
        .await;
        let (queue, mut rx) = crate::memory::MemoryQueue::new();
        super::escalation_queue(&queue, || {
            let got: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
            async move { got }
        })
        .await;
    }

    #[tokio::test]
    async fn memory_secrets_keep_the_contract() {
        let store = crate::memory::MemorySecrets::default();
        store.put("/switchboard/t/webchat", "s3cret-value");
        super::secret_store(&store, "/switchboard/t/webchat", "s3cret-value").await;
    }

    #[tokio::test]
    async fn memory_tickets_keep_the_contract() {
        super::ticket_store(&crate::memory::MemoryTickets::default()).await;
    }

    #[tokio::test]
    async fn memory_conversations_keep_turns_in_written_order() {
        super::turns_in_written_order(&crate::memory::MemoryConversations::default()).await;
    }

    #[tokio::test]
    async fn memory_allowances_keep_the_contract() {
        super::allowances(&crate::memory::MemoryAllowances::default()).await;
        super::limits_across_instances(std::sync::Arc::new(crate::memory::MemoryAllowances::default())).await;
    }

    #[tokio::test]
    async fn memory_cost_ledger_keeps_the_contract() {
        super::cost_ledger(&crate::memory::MemoryLedger::default()).await;
    }

    #[tokio::test]
    async fn memory_customers_keep_the_contract() {
        super::customer_store(&MemoryCustomers::default()).await;
    }

    #[tokio::test]
    async fn memory_stores_keep_the_privacy_contract() {
        let (customers, conversations) = (MemoryCustomers::default(), crate::memory::MemoryConversations::default());
        let ledger = crate::memory::MemoryLedger::default();
        let held =
            crate::customers::privacy::Held { customers: &customers, conversations: &conversations, ledger: &ledger };
        super::customer_privacy(held).await;
    }
}
