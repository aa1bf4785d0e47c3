//! The responder and escalation halves on memory adapters: the unhappy paths.

use super::*;
use crate::memory::{
    ConsoleHelpdesk, ManualClock, MemoryConversations, MemoryCustomers, MemoryLedger, MemoryOutbox, MemoryQueue,
    MemoryTenants, MemoryTickets,
};
use crate::tenant::{RolloutConfig, Tenant};
use chrono::{TimeZone, Utc};
use std::sync::Arc;
use switchboard_core::domain::RolloutMode;
use switchboard_core::domain::{
    AgentEvent, Channel, ConversationId, ConversationState, Decision, Escalation, EscalationJob, InboundMessage,
    MessageId, Role, Sender, TenantId, TicketRef,
};
use switchboard_core::ports::ConversationStore;
use tokio::sync::mpsc::UnboundedReceiver;

pub(super) struct Rig {
    pub(super) responder: Responder,
    desk: EscalationDesk,
    pub(super) conversations: Arc<MemoryConversations>,
    escalations: MemoryQueue<EscalationJob>,
    escalation_rx: UnboundedReceiver<EscalationJob>,
    outbox: Arc<MemoryOutbox>,
    helpdesk: Arc<ConsoleHelpdesk>,
    pub(super) clock: Arc<ManualClock>,
    pub(super) ledger: Arc<MemoryLedger>,
}

impl Rig {
    /// How many parts were sent on channels other than the web chat.
    pub(super) fn outbox_len(&self) -> usize {
        self.outbox.sent().len()
    }

    /// Takes the escalation queue down or brings it back.
    pub(super) fn escalations_down(&mut self, down: bool) {
        self.escalations.set_down(down);
    }

    /// Whether a ticket is queued to open.
    pub(super) fn escalated(&mut self) -> bool {
        matches!(self.escalation_rx.try_recv(), Ok(EscalationJob::Open(_)))
    }

    /// The roles of the test conversation's turns, in written order.
    pub(super) async fn roles(&self) -> Vec<Role> {
        roles(self).await
    }

    /// The next escalation queued to open a ticket.
    fn next_escalation(&mut self) -> Escalation {
        match self.escalation_rx.try_recv().expect("an escalation job") {
            EscalationJob::Open(e) => *e,
            other => panic!("expected an escalation, got {other:?}"),
        }
    }
}

pub(super) fn rig(tenant: Tenant) -> Rig {
    rig_with(tenant, Arc::new(MemoryCustomers::default()))
}

pub(super) fn rig_with(tenant: Tenant, customers: Arc<MemoryCustomers>) -> Rig {
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()));
    let conversations = Arc::new(MemoryConversations::with_clock(clock.clone()));
    let (escalations, escalation_rx) = MemoryQueue::new();
    let outbox = Arc::new(MemoryOutbox::default());
    let helpdesk = Arc::new(ConsoleHelpdesk::quiet());
    let ledger = Arc::new(MemoryLedger::default());
    let costs = Arc::new(crate::cost::Costs::new(ledger.clone(), Arc::new(crate::cost::PriceTable::default_table())));
    Rig {
        responder: Responder::new(
            Stores::new(Arc::new(MemoryTenants::new([tenant])), customers, conversations.clone()),
            Arc::new(escalations.clone()),
            outbox.clone(),
            Spend::new(costs.clone(), std::time::Duration::ZERO, Arc::new(crate::memory::MemoryAllowances::default())),
            clock.clone(),
        ),
        desk: EscalationDesk::new(
            helpdesk.clone(),
            Arc::new(MemoryTickets::default()),
            conversations.clone(),
            Arc::new(MemoryQueue::new().0),
            costs,
            clock.clone(),
        ),
        conversations,
        escalations,
        escalation_rx,
        outbox,
        helpdesk,
        clock,
        ledger,
    }
}

pub(super) fn message(text: &str, channel: Channel) -> InboundMessage {
    let id = MessageId::generate();
    InboundMessage {
        provider_message_id: id.to_string(),
        id,
        tenant: TenantId::new("demo").unwrap(),
        channel,
        conversation: ConversationId::new("c_test").unwrap(),
        sender: Sender { address: "+15550001111".into(), customer: None, unverified: false },
        text: text.into(),
        received_at: Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap(),
        request_id: "r1".into(),
        thread: None,
        attachments: Vec::new(),
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
    // The provider's SMS segment is part of the answer's cost, priced by destination.
    let text = &rig.outbox.sent()[0].1.text;
    let segments = crate::cost::units::sms_segments(text);
    assert_eq!(outcome.cost.units.sms_segments.get("155"), Some(&segments), "{:?}", outcome.cost.units);
    assert!(outcome.cost.components.channels > 0 && outcome.cost.components.dynamodb > 0, "{:?}", outcome.cost);
    assert_eq!(outcome.cost.cost_nanos, outcome.cost.components.total());
    assert!(outcome.cost.outcome.answered && outcome.cost.outcome.answered_locally);
}

#[tokio::test]
async fn escalation_queue_down_fails_retryably_and_the_redelivery_completes_the_handoff() {
    let mut rig = rig(Tenant::demo().unwrap());
    let m = message("I want to speak to a human", Channel::Webchat);
    rig.escalations.set_down(true);
    let error = rig.responder.respond(&m).await.unwrap_err();
    assert_eq!(crate::pipeline::Verdict::of_respond(&error), crate::pipeline::Verdict::Retry, "{error}");
    let t = TenantId::new("demo").unwrap();
    let conversation = rig.conversations.conversation(&t, &m.conversation).await.unwrap().unwrap();
    assert!(
        matches!(conversation.state, ConversationState::HandoffPending { ref escalation, .. } if *escalation == m.id)
    );
    assert!(rig.escalation_rx.try_recv().is_err(), "nothing was queued");

    rig.escalations.set_down(false);
    let outcome = rig.responder.respond(&m).await.unwrap();
    assert!(matches!(outcome.decision, Decision::Escalate { .. }), "the retry is not silenced by its own handoff");
    let escalation = rig.next_escalation();
    assert_eq!(roles(&rig).await, vec![Role::Customer, Role::System], "one notice, not two");

    let ticket = rig.desk.open(&escalation).await.unwrap();
    let conversation = rig.conversations.conversation(&t, &m.conversation).await.unwrap().unwrap();
    assert_eq!(conversation.state, ConversationState::HumanOwned { ticket, since: conversation_since(&conversation) });
    // Another customer message now gets silence.
    let later = rig.responder.respond(&message("hello?", Channel::Webchat)).await.unwrap();
    assert_eq!(later.decision, Decision::Silent);
}

fn conversation_since(c: &switchboard_core::domain::Conversation) -> chrono::DateTime<Utc> {
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
    assert_eq!(
        crate::pipeline::Verdict::of_respond(&error),
        crate::pipeline::Verdict::Park,
        "no retry brings a tenant back"
    );
    assert!(rig.conversations.is_empty());
}

#[tokio::test]
async fn shadow_mode_records_but_sends_and_escalates_nothing() {
    let mut tenant = Tenant::demo().unwrap();
    tenant.config.rollout = RolloutConfig { default: RolloutMode::Shadow, ..Default::default() };
    let mut rig = rig(tenant);
    for text in ["What are your opening hours?", "Do you ship to Canada?"] {
        let outcome = rig.responder.respond(&message(text, Channel::TwilioSms)).await.unwrap();
        assert!(matches!(outcome.decision, Decision::Shadow { .. }), "{text}");
    }
    assert_eq!(roles(&rig).await, vec![Role::Customer, Role::Customer]);
    assert!(rig.outbox.sent().is_empty());
    assert!(rig.escalation_rx.try_recv().is_err());
}

/// A pilot in shadow mode never leaves a customer who asks for a person, complains or is angry
/// with nobody: those are handed over as in auto mode, the bot's would-be answer a draft for the
/// agent, and the customer is told a person will reply.
#[tokio::test]
async fn shadow_mode_still_hands_over_requests_for_a_person_complaints_and_anger() {
    for text in [
        "I want to talk to a human",
        "I want to file a complaint about your service",
        "This is the worst shop ever, I am absolutely furious and disgusted",
    ] {
        let mut tenant = Tenant::demo().unwrap();
        tenant.config.rollout = RolloutConfig { default: RolloutMode::Shadow, ..Default::default() };
        let mut rig = rig(tenant);
        let outcome = rig.responder.respond(&message(text, Channel::TwilioSms)).await.unwrap();
        assert!(matches!(outcome.decision, Decision::Escalate { .. }), "{text}: {:?}", outcome.decision);
        let escalation = rig.next_escalation();
        assert!(!escalation.reasons.is_empty(), "{text}: the ticket says why");
        assert_eq!(roles(&rig).await, vec![Role::Customer, Role::System], "{text}: told a person will reply");
        assert_eq!(rig.outbox.sent().len(), 1, "{text}: the notice, and no answer from the bot");
    }
}

#[tokio::test]
async fn assist_mode_escalates_with_the_draft_and_tells_the_customer_a_person_will_answer() {
    let mut tenant = Tenant::demo().unwrap();
    tenant.config.rollout.intents.insert("opening_hours".into(), RolloutMode::Assist);
    let mut rig = rig(tenant);
    let outcome = rig.responder.respond(&message("What are your opening hours?", Channel::Webchat)).await.unwrap();
    assert!(matches!(outcome.decision, Decision::Escalate { .. }));
    let escalation = rig.next_escalation();
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
    assert_eq!(escalation.reasons, vec![switchboard_core::domain::Reason::ChannelWindowClosed]);
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

/// Escalates `m` on the rig and opens its ticket, as the escalation function would.
async fn hand_over(rig: &mut Rig, m: &InboundMessage) -> TicketRef {
    rig.responder.respond(m).await.unwrap();
    let escalation = rig.next_escalation();
    rig.desk.open(&escalation).await.unwrap()
}

fn agent_event(ticket: &TicketRef, key: &str, reply: Option<&str>, solved: bool) -> AgentEvent {
    AgentEvent {
        id: AgentEvent::id_for("console", key),
        tenant: TenantId::new("demo").unwrap(),
        conversation: ConversationId::new("c_test").unwrap(),
        ticket: ticket.clone(),
        reply: reply.map(str::to_string),
        solved,
        at: Utc.with_ymd_and_hms(2026, 11, 25, 9, 5, 0).unwrap(),
        request_id: "cb1".into(),
    }
}

#[tokio::test]
async fn the_whole_handoff_customer_to_ticket_agent_to_customer_and_back_to_the_bot() {
    let mut rig = rig_with_demo();
    let ticket = hand_over(&mut rig, &message("I want to speak to a human", Channel::Telegram)).await;
    let notice = rig.outbox.sent();
    assert_eq!(notice.len(), 1, "the customer is told a person will reply");

    // While a human owns it, the customer's next message goes to the ticket, not to the bot.
    let later = rig.responder.respond(&message("Also, my order is #1234", Channel::Telegram)).await.unwrap();
    assert_eq!(later.decision, Decision::Silent);
    assert_eq!(rig.outbox.sent().len(), 1, "the bot says nothing");
    let EscalationJob::Comment(comment) = rig.escalation_rx.try_recv().unwrap() else { panic!("expected a comment") };
    assert_eq!(comment.ticket.as_ref(), Some(&ticket));
    rig.desk.comment(&comment).await.unwrap();
    rig.desk.comment(&comment).await.unwrap();
    assert_eq!(rig.helpdesk.comments().len(), 1, "appended once, even when redelivered");

    // The agent's reply reaches the customer on their channel, once, as an agent turn.
    let reply = agent_event(&ticket, "reply-1", Some("Hi, Marta here. Your order ships today."), false);
    rig.responder.agent(&reply).await.unwrap();
    rig.responder.agent(&reply).await.unwrap();
    let sent = rig.outbox.sent();
    assert_eq!(sent.len(), 2, "a redelivered agent event is not sent twice");
    assert_eq!((sent[1].1.role, sent[1].1.text.as_str()), (Role::Agent, "Hi, Marta here. Your order ships today."));

    // Solved: the bot answers again.
    rig.responder.agent(&agent_event(&ticket, "solved", None, true)).await.unwrap();
    let again = rig.responder.respond(&message("What are your opening hours?", Channel::Telegram)).await.unwrap();
    assert!(matches!(again.decision, Decision::Answer { .. }), "{:?}", again.decision);

    // The old reply replayed (a captured Freshdesk callback, its claim expired): already
    // delivered, so it changes nothing — the bot keeps the conversation, nothing is sent.
    let before = rig.outbox.sent().len();
    rig.responder.agent(&reply).await.unwrap();
    assert_eq!(rig.outbox.sent().len(), before, "not sent again");
    let after = rig.responder.respond(&message("What are your opening hours?", Channel::Telegram)).await.unwrap();
    assert!(matches!(after.decision, Decision::Answer { .. }), "still the bot's: {:?}", after.decision);
}

#[tokio::test]
async fn a_comment_before_the_ticket_exists_waits_for_it() {
    let mut rig = rig_with_demo();
    rig.responder.respond(&message("I want to speak to a human", Channel::Webchat)).await.unwrap();
    let escalation = rig.next_escalation();
    rig.responder.respond(&message("hello? anyone?", Channel::Webchat)).await.unwrap();
    let EscalationJob::Comment(comment) = rig.escalation_rx.try_recv().unwrap() else { panic!("expected a comment") };
    assert_eq!(comment.escalation.as_ref(), Some(&escalation.id));
    let early = rig.desk.comment(&comment).await.unwrap_err();
    assert_eq!(crate::pipeline::Verdict::of(&early), crate::pipeline::Verdict::Retry, "{early}");
    rig.desk.open(&escalation).await.unwrap();
    rig.desk.comment(&comment).await.unwrap();
    assert_eq!(rig.helpdesk.comments()[0].ticket.as_ref().map(|t| t.id.as_str()), Some("LOCAL-1"));
}

#[tokio::test]
async fn an_idle_handoff_goes_back_to_the_bot() {
    let mut rig = rig_with_demo();
    hand_over(&mut rig, &message("I want to speak to a human", Channel::Webchat)).await;
    rig.clock.advance(chrono::Duration::hours(71));
    let quiet = rig.responder.respond(&message("What are your opening hours?", Channel::Webchat)).await.unwrap();
    assert_eq!(quiet.decision, Decision::Silent, "within the tenant's 72 hours the agent still owns it");
    rig.clock.advance(chrono::Duration::hours(2));
    let answered = rig.responder.respond(&message("What are your opening hours?", Channel::Webchat)).await.unwrap();
    assert!(matches!(answered.decision, Decision::Answer { .. }), "{:?}", answered.decision);
}

#[tokio::test]
async fn the_notice_says_when_a_person_will_reply_in_the_customers_language() {
    let yaml = crate::tenant::DEMO_TENANT_YAML.to_string()
        + "\nhandoff:\n  business_hours:\n    timezone: Europe/Madrid\n    weekly: {mon: \"09:00-18:00\"}\n";
    let mut tenant = Tenant::from_yaml("t", &yaml).unwrap();
    tenant.config.messages.handoff.insert(
        switchboard_core::domain::Language::from_code("es").unwrap(),
        "{% if hours.open_now %}Te responderemos enseguida.{% else %}Te responderemos el {{ hours.opens }}.{% endif %}"
            .into(),
    );
    let tenant = Tenant::compile("t", tenant.config).unwrap();
    let mut rig = rig(tenant);
    // Wednesday 10:00 in Madrid: only Mondays are staffed.
    rig.responder.respond(&message("Quiero hablar con una persona", Channel::Telegram)).await.unwrap();
    assert_eq!(rig.outbox.sent()[0].1.text, "Te responderemos el lunes 09:00.");
    rig.next_escalation();
}

#[tokio::test]
async fn a_pending_handoff_that_outlives_its_timeout_returns_to_the_bot_and_says_so() {
    let mut rig = rig_with_demo();
    rig.responder.respond(&message("Quiero hablar con una persona", Channel::Telegram)).await.unwrap();
    let escalation = rig.next_escalation(); // queued, but the escalation function never gets to it
    rig.clock.advance(chrono::Duration::minutes(14));
    let quiet = rig.responder.respond(&message("¿Dónde está mi pedido?", Channel::Telegram)).await.unwrap();
    assert_eq!(quiet.decision, Decision::Silent, "within 15 minutes the handoff may still complete");
    rig.escalation_rx.try_recv().expect("the message waits on the ticket as a comment");
    rig.clock.advance(chrono::Duration::minutes(2));
    let answered = rig.responder.respond(&message("¿Cuál es vuestro horario?", Channel::Telegram)).await.unwrap();
    assert!(matches!(answered.decision, Decision::Answer { .. }), "{:?}", answered.decision);
    let sent: Vec<String> = rig.outbox.sent().into_iter().map(|(_, t)| t.text).collect();
    assert_eq!(sent.len(), 3, "notice, honest failure, answer: {sent:?}");
    assert!(sent[1].contains("no he podido contactar"), "told in Spanish: {sent:?}");

    // The escalation opens after all: a person owns the conversation again.
    rig.desk.open(&escalation).await.unwrap();
    let c = rig.conversations.conversation(&escalation.tenant, &escalation.conversation).await.unwrap().unwrap();
    assert!(matches!(c.state, ConversationState::HumanOwned { .. }), "{:?}", c.state);
}

#[tokio::test]
async fn the_ticket_of_an_unverified_sender_says_so() {
    let mut rig = rig_with_demo();
    let mut m = message("I want to speak to a human", Channel::Email);
    m.sender.unverified = true;
    rig.responder.respond(&m).await.unwrap();
    let escalation = rig.next_escalation();
    assert!(escalation.sender_unverified, "the ticket's text says so: helpdesks::ticket's tests");
}

/// Counts hosted-model calls and answers none (the local result stands).
#[derive(Default)]
pub(super) struct CountingModel {
    pub(super) calls: std::sync::atomic::AtomicUsize,
    pub(super) generations: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl switchboard_core::ports::LanguageModel for CountingModel {
    async fn classify(
        &self,
        _request: &switchboard_core::ports::ClassifyRequest,
    ) -> Result<switchboard_core::ports::HostedClassification, switchboard_core::ports::ModelError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(switchboard_core::ports::ModelError::Unavailable("counting only".into()))
    }

    async fn generate(
        &self,
        _request: &switchboard_core::ports::GenerateRequest,
    ) -> Result<Option<switchboard_core::ports::Generated>, switchboard_core::ports::ModelError> {
        self.generations.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(None)
    }
}

/// Anonymous web chat visitors cannot run up the tenant's hosted-model bill without bound:
/// past the tenant's hourly allowance the local model answers alone; verified customers and the
/// next hour are not affected.
#[tokio::test]
async fn anonymous_web_chat_traffic_cannot_run_up_model_calls_without_bound() {
    let yaml = crate::tenant::DEMO_TENANT_YAML
        .replace("hosted_below: 0.6", "hosted_below: 1.0\n  anonymous_model_calls_per_hour: 3");
    let mut rig = rig(Tenant::from_yaml("t", &yaml).unwrap());
    let model = Arc::new(CountingModel::default());
    rig.responder = rig.responder.with_model(model.clone());
    let count = || model.calls.load(std::sync::atomic::Ordering::SeqCst);
    for i in 0..6 {
        let answered =
            rig.responder.respond(&message(&format!("What are your opening hours? {i}"), Channel::Webchat)).await;
        assert!(answered.is_ok(), "the local model answers");
    }
    assert_eq!(count(), 3, "three anonymous messages reached the hosted model, then the allowance was spent");
    let mut verified = message("What are your opening hours?", Channel::Webchat);
    verified.sender.customer = switchboard_core::domain::CustomerId::new("c-1001").ok();
    rig.responder.respond(&verified).await.unwrap();
    assert_eq!(count(), 4, "a verified customer is not capped");
    rig.clock.advance(chrono::Duration::hours(1));
    rig.responder.respond(&message("What are your opening hours?", Channel::Webchat)).await.unwrap();
    assert_eq!(count(), 5, "a new hour, a new allowance");
}

/// Spend recorded for `tenant` this month, as if earlier requests had cost `usd`.
async fn spent(rig: &Rig, usd: f64) {
    let nanos = (usd * 1e9) as u64;
    spent_on(rig, "demo", crate::cost::Components { model: nanos, ..Default::default() }).await;
}

/// Spend recorded for `tenant` this month, component by component.
pub(super) async fn spent_on(rig: &Rig, tenant: &str, components: crate::cost::Components) {
    use switchboard_core::ports::{Clock, CostLedger};
    let nanos = components.total();
    let record = crate::cost::CostRecord {
        request_id: format!("earlier-{tenant}-{nanos}"),
        function: crate::cost::Function::Responder,
        item: "-".into(),
        tenant: TenantId::new(tenant).unwrap(),
        channel: Some(Channel::Webchat),
        conversation: None,
        at: rig.clock.now(),
        outcome: crate::cost::Outcome::default(),
        units: switchboard_core::meter::Metered::default(),
        components,
        cost_nanos: nanos,
        price_table: "test".into(),
        unpriced: Vec::new(),
    };
    rig.ledger.record(&record).await.unwrap();
}

/// Budgets degrade, never break: past the soft line the hosted model stops writing answers,
/// past the budget it stops classifying; templates and the FAQ still answer, and each threshold
/// alerts once a month (a note through the helpdesk, here the escalation queue).
#[tokio::test]
async fn budgets_turn_the_hosted_model_off_in_two_steps_and_alert_once_per_threshold() {
    use switchboard_core::ports::CostLedger;
    let yaml = crate::tenant::DEMO_TENANT_YAML
        .replace("hosted_below: 0.6", "hosted_below: 1.0")
        .replace("monthly_usd: 25", "monthly_usd: 1")
        .replace("budget:\n", "answers:\n  generate_with_model: true\nbudget:\n");
    let tenant = Tenant::from_yaml("t", &yaml).unwrap();
    assert!(tenant.config.answers.generate_with_model, "the test tenant writes answers with the model");
    let mut rig = rig(tenant);
    let model = Arc::new(CountingModel::default());
    rig.responder = rig.responder.with_model(model.clone());
    let calls = || {
        (
            model.calls.load(std::sync::atomic::Ordering::SeqCst),
            model.generations.load(std::sync::atomic::Ordering::SeqCst),
        )
    };
    // Each message in a conversation of its own: an escalation hands its conversation over.
    let alone = |text: &str, channel: Channel| {
        let mut m = message(text, channel);
        m.conversation = ConversationId::new(format!("c_{}", m.id)).unwrap();
        m
    };
    let unanswerable = "Is express shipping more expensive for heavy parcels?";

    rig.responder.respond(&alone(unanswerable, Channel::Webchat)).await.unwrap();
    assert_eq!(calls(), (1, 1), "under budget: the model classifies and writes answers");

    spent(&rig, 0.85).await;
    let faq = rig.responder.respond(&alone("What are your opening hours?", Channel::Webchat)).await.unwrap();
    assert!(matches!(faq.decision, Decision::Answer { .. }), "templates still answer");
    rig.responder.respond(&alone(unanswerable, Channel::Webchat)).await.unwrap();
    assert_eq!(calls(), (3, 1), "past the soft line: classification only");

    spent(&rig, 0.2).await;
    let faq = rig.responder.respond(&alone("Which payment methods do you accept?", Channel::Webchat)).await.unwrap();
    assert!(matches!(faq.decision, Decision::Answer { .. }), "the FAQ still answers: {:?}", faq.decision);
    let person = rig.responder.respond(&alone("I want to talk to a human", Channel::Webchat)).await.unwrap();
    assert!(matches!(person.decision, Decision::Escalate { .. }), "people still take over");
    assert_eq!(calls(), (3, 1), "past the budget: the local model alone");

    let month = crate::cost::Month::of(switchboard_core::ports::Clock::now(rig.clock.as_ref()));
    let alerts: Vec<String> =
        rig.ledger.alerts(&TenantId::new("demo").unwrap(), month).await.unwrap().into_iter().map(|a| a.0).collect();
    assert_eq!(alerts, vec!["exhausted".to_string(), "soft".to_string()]);
    let mut notes = Vec::new();
    while let Ok(job) = rig.escalation_rx.try_recv() {
        if let EscalationJob::Open(e) = job
            && e.summary.starts_with("Budget alert")
        {
            notes.push(e.summary.clone());
        }
    }
    assert_eq!(notes, vec!["Budget alert 2026-11: soft", "Budget alert 2026-11: exhausted"], "one note per threshold");
}

/// Angry customers and customers asking for a person reach one in every tenant language, however
/// they put it: through the whole responder, with the reason on the ticket.
#[tokio::test]
async fn angry_and_person_asking_messages_escalate_in_english_spanish_and_german() {
    use switchboard_core::domain::Reason;
    let cases = [
        ("Can somebody from your team call me back?", Reason::HumanRequested),
        ("put me through to an agent please", Reason::HumanRequested),
        ("¿Me pasas con una persona de atención al cliente?", Reason::HumanRequested),
        ("No quiero hablar con un robot", Reason::HumanRequested),
        ("Verbinden Sie mich bitte mit einem Mitarbeiter", Reason::HumanRequested),
        ("Kein Bot bitte, ich brauche einen Menschen", Reason::HumanRequested),
        ("This is absolutely unacceptable, the worst service I have ever had!", Reason::NegativeSentiment),
        ("Estoy furioso, el pedido llegó roto y es inaceptable", Reason::NegativeSentiment),
        ("Ich bin wütend, das ist eine Katastrophe und einfach unverschämt!", Reason::NegativeSentiment),
    ];
    for (text, reason) in cases {
        let mut rig = rig(Tenant::demo().unwrap());
        let outcome = rig.responder.respond(&message(text, Channel::Webchat)).await.unwrap();
        assert!(matches!(outcome.decision, Decision::Escalate { .. }), "{text}: {:?}", outcome.decision);
        let escalation = rig.next_escalation();
        assert!(escalation.reasons.contains(&reason), "{text}: {:?}", escalation.reasons);
    }
    // The near-misses do not: a person mentioned is not a person asked for.
    for text in ["The agent at the post office said it was delivered", "¿Este producto es para una persona adulta?"] {
        let mut rig = rig(Tenant::demo().unwrap());
        rig.responder.respond(&message(text, Channel::Webchat)).await.unwrap();
        while let Ok(job) = rig.escalation_rx.try_recv() {
            if let EscalationJob::Open(e) = job {
                assert!(!e.reasons.contains(&Reason::HumanRequested), "{text}: {:?}", e.reasons);
            }
        }
    }
}

/// A delivery without a timestamp in its proof (Twilio, Postmark, Freshdesk) can be replayed by
/// whoever recorded it: its claim must outlast the 24 hours it once had. Thirty days on, the same
/// delivery is still the same message, queued once.
#[tokio::test]
async fn a_delivery_replayed_weeks_later_is_still_recognised() {
    use crate::memory::{ManualClock, MemoryConversations, MemoryIdempotency, MemoryQueue};
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()));
    let (queue, mut queued) = MemoryQueue::new();
    let inbound = crate::pipeline::Inbound::new(
        Arc::new(MemoryIdempotency::default()),
        Arc::new(queue),
        Arc::new(MemoryConversations::default()),
        clock.clone(),
    );
    let sms = message("Where is my order?", Channel::TwilioSms);
    let first = inbound.accept(sms.clone(), None).await.unwrap();
    clock.advance(chrono::Duration::days(30));
    let mut replayed = sms.clone();
    replayed.id = MessageId::generate();
    let again = inbound.accept(replayed, None).await.unwrap();
    assert_eq!(again, first, "the first delivery's ack");
    assert!(queued.try_recv().is_ok());
    assert!(queued.try_recv().is_err(), "queued once");
}
