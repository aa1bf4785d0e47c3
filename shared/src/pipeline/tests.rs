//! The responder and escalation halves on memory adapters: the unhappy paths.

use super::*;
use crate::RolloutMode;
use crate::adapters::memory::{
    ConsoleHelpdesk, ManualClock, MemoryConversations, MemoryCustomers, MemoryOutbox, MemoryQueue, MemoryTenants,
    MemoryUsageLog, NoModel,
};
use crate::domain::{
    Channel, ConversationId, ConversationState, Decision, Escalation, InboundMessage, MessageId, Role, Sender, TenantId,
};
use crate::ports::ConversationStore;
use crate::tenant::{RolloutConfig, Tenant};
use chrono::{TimeZone, Utc};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedReceiver;

struct Rig {
    responder: Responder,
    desk: EscalationDesk,
    conversations: Arc<MemoryConversations>,
    escalations: MemoryQueue<Escalation>,
    escalation_rx: UnboundedReceiver<Escalation>,
    outbox: Arc<MemoryOutbox>,
}

fn rig(tenant: Tenant) -> Rig {
    let conversations = Arc::new(MemoryConversations::default());
    let (escalations, escalation_rx) = MemoryQueue::new();
    let outbox = Arc::new(MemoryOutbox::default());
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()));
    Rig {
        responder: Responder {
            tenants: Arc::new(MemoryTenants::new([tenant])),
            customers: Arc::new(MemoryCustomers::default()),
            conversations: conversations.clone(),
            escalations: Arc::new(escalations.clone()),
            model: Arc::new(NoModel),
            sender: outbox.clone(),
            usage: Arc::new(MemoryUsageLog::default()),
            clock: clock.clone(),
        },
        desk: EscalationDesk {
            helpdesk: Arc::new(ConsoleHelpdesk::quiet()),
            conversations: conversations.clone(),
            clock,
        },
        conversations,
        escalations,
        escalation_rx,
        outbox,
    }
}

fn message(text: &str, channel: Channel) -> InboundMessage {
    let id = MessageId::generate();
    InboundMessage {
        provider_message_id: id.to_string(),
        id,
        tenant: TenantId::new("demo").unwrap(),
        channel,
        conversation: ConversationId::new("c_test").unwrap(),
        sender: Sender { address: "+15550001111".into(), customer: None },
        text: text.into(),
        received_at: Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap(),
        request_id: "r1".into(),
        thread: None,
    }
}

async fn roles(rig: &Rig) -> Vec<Role> {
    let t = TenantId::new("demo").unwrap();
    let c = ConversationId::new("c_test").unwrap();
    rig.conversations.turns_after(&t, &c, None, 100).await.unwrap().into_iter().map(|t| t.role).collect()
}

#[tokio::test]
async fn first_contact_on_another_channel_creates_the_conversation_and_sends_the_answer() {
    let rig = rig(Tenant::demo().unwrap());
    let outcome = rig.responder.respond(&message("What are your opening hours?", Channel::TwilioSms)).await.unwrap();
    assert!(matches!(outcome.decision, Decision::Answer { .. }));
    assert_eq!(roles(&rig).await, vec![Role::Customer, Role::Bot]);
    assert_eq!(rig.outbox.sent().len(), 1, "pushed through the channel");
    assert_eq!(outcome.usage.channel_sends, 1);
    assert!(outcome.usage.store_writes >= 3 && outcome.usage.store_reads >= 2, "{:?}", outcome.usage);
}

#[tokio::test]
async fn escalation_queue_down_fails_retryably_and_the_redelivery_completes_the_handoff() {
    let mut rig = rig(Tenant::demo().unwrap());
    let m = message("I want to speak to a human", Channel::Webchat);
    rig.escalations.set_down(true);
    let error = rig.responder.respond(&m).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    let t = TenantId::new("demo").unwrap();
    let conversation = rig.conversations.conversation(&t, &m.conversation).await.unwrap().unwrap();
    assert!(
        matches!(conversation.state, ConversationState::HandoffPending { ref escalation, .. } if *escalation == m.id)
    );
    assert!(rig.escalation_rx.try_recv().is_err(), "nothing was queued");

    rig.escalations.set_down(false);
    let outcome = rig.responder.respond(&m).await.unwrap();
    assert!(matches!(outcome.decision, Decision::Escalate { .. }), "the retry is not silenced by its own handoff");
    let escalation = rig.escalation_rx.try_recv().expect("queued on retry");
    assert_eq!(roles(&rig).await, vec![Role::Customer, Role::System], "one notice, not two");

    let ticket = rig.desk.handle(&escalation).await.unwrap();
    let conversation = rig.conversations.conversation(&t, &m.conversation).await.unwrap().unwrap();
    assert_eq!(conversation.state, ConversationState::HumanOwned { ticket, since: conversation_since(&conversation) });
    // Another customer message now gets silence.
    let later = rig.responder.respond(&message("hello?", Channel::Webchat)).await.unwrap();
    assert_eq!(later.decision, Decision::Silent);
}

fn conversation_since(c: &crate::domain::Conversation) -> chrono::DateTime<Utc> {
    match &c.state {
        ConversationState::HumanOwned { since, .. } => *since,
        other => panic!("not human-owned: {other:?}"),
    }
}

#[tokio::test]
async fn unknown_tenant_is_not_retryable() {
    let rig = rig(Tenant::demo().unwrap());
    let mut m = message("hi", Channel::Webchat);
    m.tenant = TenantId::new("gone").unwrap();
    let error = rig.responder.respond(&m).await.unwrap_err();
    assert!(!error.is_retryable());
    assert!(rig.conversations.is_empty());
}

#[tokio::test]
async fn shadow_mode_records_but_sends_and_escalates_nothing() {
    let mut tenant = Tenant::demo().unwrap();
    tenant.config.rollout = RolloutConfig { default: RolloutMode::Shadow, intents: Default::default() };
    let mut rig = rig(tenant);
    for text in ["What are your opening hours?", "I want to talk to a human"] {
        let outcome = rig.responder.respond(&message(text, Channel::TwilioSms)).await.unwrap();
        assert!(matches!(outcome.decision, Decision::Shadow { .. }), "{text}");
    }
    assert_eq!(roles(&rig).await, vec![Role::Customer, Role::Customer]);
    assert!(rig.outbox.sent().is_empty());
    assert!(rig.escalation_rx.try_recv().is_err());
}

#[tokio::test]
async fn assist_mode_escalates_with_the_draft_and_tells_the_customer_a_person_will_answer() {
    let mut tenant = Tenant::demo().unwrap();
    tenant.config.rollout.intents.insert("opening_hours".into(), RolloutMode::Assist);
    let mut rig = rig(tenant);
    let outcome = rig.responder.respond(&message("What are your opening hours?", Channel::Webchat)).await.unwrap();
    assert!(matches!(outcome.decision, Decision::Escalate { .. }));
    let escalation = rig.escalation_rx.try_recv().unwrap();
    assert!(escalation.draft.unwrap().contains("Monday to Friday"));
    assert_eq!(roles(&rig).await, vec![Role::Customer, Role::System]);
}

#[tokio::test]
async fn a_closed_whatsapp_window_without_a_template_hands_over_instead_of_sending() {
    let mut tenant = Tenant::demo().unwrap();
    if let Some(w) = tenant.config.channels.whatsapp.as_mut() {
        w.window_template = None;
    }
    let mut rig = rig(tenant);
    let mut late = message("What are your opening hours?", Channel::WhatsappCloud);
    late.received_at -= chrono::Duration::hours(48);
    let outcome = rig.responder.respond(&late).await.unwrap();
    let Decision::Escalate { escalation } = &outcome.decision else {
        panic!("expected a handoff, got {:?}", outcome.decision)
    };
    assert_eq!(escalation.reasons, vec![crate::Reason::ChannelWindowClosed]);
    assert!(escalation.draft.as_ref().is_some_and(|d| d.text.contains("Monday")), "the agent gets the bot's draft");
    assert!(rig.outbox.sent().is_empty(), "nothing Meta would refuse was sent");
    assert!(rig.escalation_rx.try_recv().is_ok(), "the escalation is queued");

    // Inside the window the same message is simply answered.
    let mut rig = rig_with_demo();
    let outcome =
        rig.responder.respond(&message("What are your opening hours?", Channel::WhatsappCloud)).await.unwrap();
    assert!(matches!(outcome.decision, Decision::Answer { .. }));
    assert_eq!(rig.outbox.sent().len(), 1);
    assert!(rig.escalation_rx.try_recv().is_err());
}

fn rig_with_demo() -> Rig {
    rig(Tenant::demo().unwrap())
}
