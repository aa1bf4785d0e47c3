mod handoff;
mod lookup;
mod rating;
mod review;
mod spend;

use super::Cascade;
use crate::cost::budget::{BudgetState, SpendCache};
use crate::cost::{Attribution, CostRecord, Costs, Function, Month};
use crate::policy::{Policy, PolicyInput};
use crate::reply::reply_language;
use crate::tenant::Tenant;
use crate::tenant::TenantDirectory;
use rating::rating_of;
use spend::{Done, message_outcome, meter_send};
use std::sync::Arc;
use switchboard_core::domain::{
    AgentEvent, Channel, Classification, Conversation, ConversationState, Customer, Decision, Escalation,
    EscalationJob, EscalationPlan, HandoffFailure, InboundMessage, Language, MessageId, Priority, Reason, Reply,
    ReplySource, ReviewItem, ReviewKind, Role, RolloutMode, TenantId, TicketComment, Turn, TurnCursor, Work,
};
use switchboard_core::ports::{
    Activity, Allowances, ChannelSender, ClassifyRequest, Clock, ConversationStore, CustomerStore, EscalationQueue,
    GenerateRequest, Generated, HostedClassification, LanguageModel, ModelError, Outbound, PortError,
};

/// Turns of history the policy and the agent's transcript see.
const HISTORY: usize = 10;

/// What happened to one message.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What the classifiers made of it.
    pub classification: Classification,
    /// What the policy decided.
    pub decision: Decision,
    /// What it cost.
    pub cost: CostRecord,
}

/// Why a message could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum RespondError {
    /// The tenant no longer exists: retrying will not help.
    #[error("unknown tenant {0}")]
    UnknownTenant(TenantId),
    /// A port failed; the message should be retried (and, if it keeps failing, parked).
    #[error(transparent)]
    Port(#[from] PortError),
}

/// The responder half. Safe to run twice on the same message (queues redeliver): every write is
/// keyed by the message id, so a redelivery overwrites instead of adding.
pub struct Responder {
    /// Tenants.
    tenants: Arc<dyn TenantDirectory>,
    /// Customer profiles.
    customers: Arc<dyn CustomerStore>,
    /// Conversations and turns.
    conversations: Arc<dyn ConversationStore>,
    /// Where escalations go.
    escalations: Arc<dyn EscalationQueue>,
    /// The hosted model, asked when the local one is unsure.
    model: Arc<dyn LanguageModel>,
    /// Delivers answers on the customer's channel.
    sender: Arc<dyn ChannelSender>,
    /// Prices each message's work and writes it to the cost ledger.
    costs: Arc<Costs>,
    /// The tenants' spend this month, for their budgets.
    spend: Arc<SpendCache>,
    /// Hourly allowances (hosted-model calls for anonymous visitors).
    allowances: Arc<dyn Allowances>,
    /// The time.
    clock: Arc<dyn Clock>,
    /// The tenants' own systems, asked for a customer's current orders (`data.lookups`).
    lookup: Option<Arc<dyn switchboard_core::ports::OrderLookup>>,
    /// What those lookups said lately.
    lookups: lookup::LookupCache,
}

impl Responder {
    /// The responder over `stores`, escalating through `escalations` and answering through
    /// `sender`, its spend metered and capped by `spend`. Local model only until
    /// [`Responder::with_model`] gives it a hosted one.
    pub fn new(
        stores: super::Stores,
        escalations: Arc<dyn EscalationQueue>,
        sender: Arc<dyn ChannelSender>,
        spend: super::Spend,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            tenants: stores.tenants,
            customers: stores.customers,
            conversations: stores.conversations,
            escalations,
            model: Arc::new(crate::memory::NoModel),
            sender,
            costs: spend.costs,
            spend: spend.cache,
            allowances: spend.allowances,
            clock,
            lookup: None,
            lookups: lookup::LookupCache::default(),
        }
    }

    /// The same, asking `lookup` for a verified customer's current orders where the tenant has
    /// one configured.
    pub fn with_lookup(mut self, lookup: Arc<dyn switchboard_core::ports::OrderLookup>) -> Self {
        self.lookup = Some(lookup);
        self
    }

    /// The same, asking `model` when the local one is unsure.
    pub fn with_model(mut self, model: Arc<dyn LanguageModel>) -> Self {
        self.model = model;
        self
    }

    /// The same, answering through `sender` instead.
    pub fn with_sender(mut self, sender: Arc<dyn ChannelSender>) -> Self {
        self.sender = sender;
        self
    }

    /// The conversations it reads and writes.
    pub fn conversations(&self) -> &Arc<dyn ConversationStore> {
        &self.conversations
    }

    /// Does one job from the messages queue: a customer message or an agent's action. Each job
    /// is measured and priced into one cost record.
    pub async fn handle_work(&self, work: &Work) -> Result<(), RespondError> {
        // Receiving and deleting the record is billed too, by its size on the queue.
        let consumed = Some(serde_json::to_string(work).map_or(0, |body| body.len()));
        match work {
            Work::Customer(message) => self.respond_to(message, consumed).await.map(|_| ()),
            Work::Agent(event) => {
                let who = self.attribution(&event.request_id, &event.id, &event.tenant, &event.conversation, event.at);
                self.metered(who, consumed, self.agent_work(event)).await.map(|_| ())
            }
            Work::HandoffFailed(f) => {
                let item = f.escalation.answer(3);
                let who = self.attribution(&f.request_id, &item, &f.tenant, &f.conversation, f.at);
                self.metered(who, consumed, self.handoff_failed_work(f)).await.map(|_| ())
            }
        }
    }

    /// An agent's action (see [`Self::agent_work`]), measured.
    pub async fn agent(&self, event: &AgentEvent) -> Result<(), RespondError> {
        let who = self.attribution(&event.request_id, &event.id, &event.tenant, &event.conversation, event.at);
        self.metered(who, None, self.agent_work(event)).await.map(|_| ())
    }

    /// Answers, escalates, or stays quiet on one queued message, and records what it used.
    pub async fn respond(&self, message: &InboundMessage) -> Result<Outcome, RespondError> {
        self.respond_to(message, None).await
    }

    /// With a monthly budget for every tenant's spend together (0: none): past it every tenant
    /// degrades as if past its own.
    pub fn with_deployment_budget(mut self, nanos: u64) -> Self {
        self.spend = Arc::new(SpendCache::new(self.spend.ttl()).with_deployment_budget(nanos));
        self
    }

    async fn respond_to(&self, message: &InboundMessage, consumed: Option<usize>) -> Result<Outcome, RespondError> {
        let mut who = self.attribution(
            &message.request_id,
            &message.id,
            &message.tenant,
            &message.conversation,
            message.received_at,
        );
        who.channel = Some(message.channel);
        let ((classification, decision), cost) = self.metered(who, consumed, self.handle(message)).await?;
        Ok(Outcome { classification, decision, cost })
    }

    async fn handle(&self, message: &InboundMessage) -> Result<((Classification, Decision), Done), RespondError> {
        let tenant = self.load_tenant(&message.tenant).await?;
        let mut conversation = self.load_conversation(message).await?;
        let customer = self.load_customer(message).await?;
        let history = self.load_history(message).await?;
        self.release_if_idle(&tenant, &mut conversation).await?;
        self.give_up_if_pending_too_long(&tenant, &mut conversation).await?;

        if let Some(rating) = rating_of(message, &conversation, &history) {
            return self.rated(&tenant, &mut conversation, message, customer.as_ref(), &history, rating).await;
        }
        let budgets = self.budget(&tenant, message).await;
        let budget = budgets.state;
        let classification = self.classify(&tenant, message, budget).await;
        let customer = self.with_current_orders(&tenant, classification.intent.as_deref(), customer).await;
        let language = reply_language(
            &tenant.config.languages,
            tenant.config.default_language,
            classification.language,
            conversation.language,
            customer.as_ref().and_then(|c| c.language),
        );
        let draft =
            match tenant.replies.draft(classification.intent.as_deref(), &message.text, language, customer.as_ref()) {
                Some(reply) => Some(reply),
                None => self.generate(&tenant, message, &classification, language, customer.as_ref(), budget).await,
            };
        let decision = Policy { rules: &tenant.config.policy, rollout: &tenant.config.rollout }.decide(PolicyInput {
            classification: &classification,
            customer: customer.as_ref(),
            state: &effective_state(&conversation, message),
            history: &history,
            draft: draft.as_ref(),
        });
        let decision = self.within_channel_window(&tenant, &conversation, message, decision);
        let decision = within_paid_sends_cap(budgets.paid_sends_capped, decision);

        self.record_customer_turn(&tenant, message, &classification).await?;
        self.remember(&tenant, &mut conversation, message, language).await?;
        self.keep_for_review(&tenant, message, &classification, language, &decision).await?;
        self.act(
            &tenant,
            &mut conversation,
            message,
            &decision,
            Context { classification: &classification, customer: customer.as_ref(), history: &history, language },
        )
        .await?;

        tracing::info!(
            tenant = %message.tenant,
            channel = %message.channel,
            request_id = %message.request_id,
            decision = decision.name(),
            intent = classification.intent.as_deref().unwrap_or("-"),
            confidence = classification.confidence,
            language = %language,
            classifier = ?classification.source,
            budget = budgets.reached.as_str(),
            "message handled"
        );
        // Personal data only for a tenant that turned it on, to follow its own conversations;
        // a line of its own, with the tenant, so it is easy to find and to filter out.
        if tenant.config.logging.include_personal_data {
            tracing::info!(
                tenant = %message.tenant,
                channel = %message.channel,
                request_id = %message.request_id,
                from = %message.sender.address,
                text = %message.text,
                "message handled, with personal data (the tenant's logging.include_personal_data)"
            );
        }
        let done =
            Done { outcome: message_outcome(&classification, &decision, language), channel: Some(message.channel) };
        Ok(((classification, decision), done))
    }

    /// WhatsApp allows free-form messages only within 24 hours of the customer's last one. When
    /// that window has closed (a message answered late, a redrive) and the tenant has no template
    /// to send instead, a person takes over: never a send that Meta would refuse.
    fn within_channel_window(
        &self,
        tenant: &Tenant,
        conversation: &Conversation,
        message: &InboundMessage,
        decision: Decision,
    ) -> Decision {
        let closed = !conversation.channel.window_open(message.received_at, self.clock.now())
            && tenant.config.channels.whatsapp.as_ref().is_none_or(|w| w.window_template.is_none());
        if !closed {
            return decision;
        }
        hand_over_instead(decision, Reason::ChannelWindowClosed)
    }

    async fn load_tenant(&self, id: &TenantId) -> Result<Arc<Tenant>, RespondError> {
        self.tenants.tenant(id).await?.ok_or_else(|| RespondError::UnknownTenant(id.clone()))
    }

    async fn load_conversation(&self, message: &InboundMessage) -> Result<Conversation, RespondError> {
        if let Some(existing) = self.conversations.conversation(&message.tenant, &message.conversation).await? {
            return Ok(existing);
        }
        // Channels other than the web chat start their conversation here, on first contact.
        let new = Conversation::new(
            message.conversation.clone(),
            message.tenant.clone(),
            message.channel,
            message.sender.address.clone(),
            message.received_at,
        );
        match self.conversations.create_conversation(&new).await {
            Ok(()) => Ok(new),
            Err(PortError::Conflict { .. }) => {
                let raced = self.conversations.conversation(&message.tenant, &message.conversation).await?;
                raced.ok_or(RespondError::Port(PortError::Conflict { port: "conversation store" }))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Only a verified customer's profile: unverified claims never reach this far.
    async fn load_customer(&self, message: &InboundMessage) -> Result<Option<Customer>, RespondError> {
        let Some(id) = &message.sender.customer else { return Ok(None) };
        Ok(self.customers.customer(&message.tenant, id).await?)
    }

    async fn load_history(&self, message: &InboundMessage) -> Result<Vec<Turn>, RespondError> {
        let mut turns = self.conversations.recent_turns(&message.tenant, &message.conversation, HISTORY + 3).await?;
        // On a redelivery this message and its answers are already stored: they are not history.
        let own = TurnCursor::new(message.received_at, &message.id);
        turns.retain(|t| t.cursor < own);
        Ok(turns)
    }

    async fn classify(&self, tenant: &Tenant, message: &InboundMessage, budget: BudgetState) -> Classification {
        let model = self.model_for(tenant, message, budget);
        let cascade =
            Cascade { local: &tenant.classifier, hosted: &model, hosted_below: tenant.config.classifier.hosted_below };
        let request = ClassifyRequest {
            text: message.text.clone(),
            intents: tenant.catalogue(),
            languages: tenant.config.languages.clone(),
        };
        let outcome = cascade.classify(request).await;
        if let Some(error) = &outcome.fallback
            && !matches!(error, switchboard_core::ports::ModelError::Unavailable(reason) if reason.starts_with("no hosted model"))
        {
            tracing::warn!(%error, "hosted model not used; keeping the local classification");
        }
        outcome.classification
    }

    /// A grounded answer from the hosted model, when the tenant allows it and its FAQ has entries
    /// close enough to ground one. Any failure means no answer (and so a human), never a guess.
    async fn generate(
        &self,
        tenant: &Tenant,
        message: &InboundMessage,
        classification: &Classification,
        language: Language,
        customer: Option<&Customer>,
        budget: BudgetState,
    ) -> Option<Reply> {
        if !tenant.config.answers.generate_with_model {
            return None;
        }
        let intent = classification.intent.as_deref();
        let entries: Vec<_> = tenant
            .replies
            .faq
            .candidates(&message.text, language, intent, tenant.config.answers.context_entries, 0.25)
            .into_iter()
            .map(|h| h.entry.clone())
            .collect();
        if entries.is_empty() {
            return None;
        }
        let request = GenerateRequest {
            text: message.text.clone(),
            language,
            business: tenant.config.name.clone(),
            entries,
            customer: customer.cloned(),
        };
        match self.model_for(tenant, message, budget).generate(&request).await {
            Ok(Some(answer)) => {
                Some(Reply { text: answer.text, language, source: ReplySource::Generated { entries: answer.entries } })
            }
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, "no generated answer; the policy will escalate");
                None
            }
        }
    }

    /// What a customer message tells about its conversation, stored and applied: its language,
    /// the verified customer (linked once, for export and erasure), the thread, the time the
    /// channel's window is counted from.
    async fn remember(
        &self,
        tenant: &Tenant,
        conversation: &mut Conversation,
        message: &InboundMessage,
        language: Language,
    ) -> Result<(), RespondError> {
        let activity = Activity {
            language,
            last_inbound_at: message.received_at,
            customer: message.sender.customer.clone(),
            thread: message.thread.clone(),
            keep: self.turns_kept_until(tenant),
        };
        self.conversations.record_activity(&message.tenant, &message.conversation, &activity).await?;
        if let Some(id) = &message.sender.customer
            && conversation.customer.as_ref() != Some(id)
        {
            self.customers.link_conversation(&message.tenant, id, &message.conversation).await?;
        }
        conversation.last_inbound_at = Some(message.received_at);
        conversation.language = Some(language);
        if message.thread.is_some() {
            conversation.thread = message.thread.clone();
        }
        Ok(())
    }

    async fn record_customer_turn(
        &self,
        tenant: &Tenant,
        message: &InboundMessage,
        c: &Classification,
    ) -> Result<(), RespondError> {
        let turn = Turn::of_customer(message, c.intent.clone());
        let keep = self.turns_kept_until(tenant);
        self.conversations.append_turn(&message.tenant, &message.conversation, &turn, keep).await?;
        Ok(())
    }

    /// Until when a turn written now (and the conversation's record, after a customer message)
    /// is kept: the tenant's `data.retention`, counted from the write, not from the provider's
    /// timestamp.
    fn turns_kept_until(&self, tenant: &Tenant) -> chrono::DateTime<chrono::Utc> {
        tenant.config.data.retention.turn_expiry(self.clock.now())
    }

    async fn act(
        &self,
        tenant: &Tenant,
        conversation: &mut Conversation,
        message: &InboundMessage,
        decision: &Decision,
        ctx: Context<'_>,
    ) -> Result<(), RespondError> {
        match decision {
            Decision::Answer { reply } => self.say(tenant, conversation, message, 1, Role::Bot, reply).await,
            Decision::Escalate { escalation } => {
                self.hand_over(tenant, conversation, message, escalation, &ctx).await?;
                let notice = self.notice(tenant, &ctx);
                self.say(tenant, conversation, message, 1, Role::System, &notice).await
            }
            Decision::AnswerAndEscalate { reply, escalation } => {
                self.hand_over(tenant, conversation, message, escalation, &ctx).await?;
                self.say(tenant, conversation, message, 1, Role::Bot, reply).await?;
                let notice = self.notice(tenant, &ctx);
                self.say(tenant, conversation, message, 2, Role::System, &notice).await
            }
            Decision::Silent => self.append_to_ticket(conversation, message).await,
            Decision::Rated { .. } => Ok(()),
            Decision::Shadow { .. } => Ok(()),
        }
    }

    /// The handoff notice, in the customer's language, saying when a person will reply.
    fn notice(&self, tenant: &Tenant, ctx: &Context<'_>) -> Reply {
        let hours = tenant.availability(self.clock.now(), ctx.language);
        tenant.replies.handoff(ctx.language, ctx.customer, hours)
    }

    /// Stores the `n`th answer to `message` and sends it on the channel.
    async fn say(
        &self,
        tenant: &Tenant,
        conversation: &Conversation,
        message: &InboundMessage,
        n: u8,
        role: Role,
        reply: &Reply,
    ) -> Result<(), RespondError> {
        let id = message.id.answer(n);
        let cursor = TurnCursor::new(message.received_at, &id);
        let turn = Turn::new(id, cursor, role, reply.text.clone(), self.clock.now());
        // A notice that the channel would refuse (WhatsApp's closed window) is kept for the agent
        // but not sent; the escalation carries the conversation on.
        let window_closed = role == Role::System && !conversation.channel.window_open(message.received_at, turn.at);
        if window_closed {
            let keep = self.turns_kept_until(tenant);
            self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn, keep).await?;
            return Ok(());
        }
        self.deliver(tenant, conversation, turn).await
    }

    /// Stores `turn` and sends it on the conversation's channel (the web chat widget fetches
    /// stored turns), part by part as the channel's length limit requires. Each part the
    /// provider accepts is marked, so a retry sends only the rest; a delivered turn is never sent
    /// again. An undelivered turn already stored means an earlier attempt may have sent its next
    /// part: the sender looks for it first where the provider allows.
    async fn deliver(&self, tenant: &Tenant, conversation: &Conversation, mut turn: Turn) -> Result<(), RespondError> {
        let keep = self.turns_kept_until(tenant);
        if conversation.channel == Channel::Webchat {
            turn.delivered = true;
            self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn, keep).await?;
            return Ok(());
        }
        let stored = self.conversations.turn(&conversation.tenant, &conversation.id, &turn.cursor).await?;
        if stored.as_ref().is_some_and(|t| t.delivered) {
            return Ok(());
        }
        let earlier_attempt = stored.is_some();
        turn.parts_sent = stored.map(|t| t.parts_sent).unwrap_or(0);
        turn.delivered = false;
        if !earlier_attempt {
            self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn, keep).await?;
        }
        let parts = conversation.channel.parts(&turn.text);
        let first_unsent = usize::from(turn.parts_sent);
        for (i, part) in parts.iter().enumerate().skip(first_unsent) {
            let maybe_sent = earlier_attempt && i == first_unsent;
            self.sender.send(Outbound { conversation, turn: &turn, part: i, text: part, maybe_sent }).await?;
            meter_send(conversation, part);
            turn.parts_sent = u16::try_from(i + 1).unwrap_or(u16::MAX);
            if i + 1 < parts.len() {
                self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn, keep).await?;
            }
        }
        turn.delivered = true;
        self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn, keep).await?;
        Ok(())
    }
}

/// What `act` needs besides the decision.
struct Context<'a> {
    classification: &'a Classification,
    customer: Option<&'a Customer>,
    history: &'a [Turn],
    language: Language,
}

/// Past the tenant's cap on paid sends the bot answers no more on channels that bill per
/// message: a person takes the conversation, with the bot's draft, and the customer gets the
/// one handoff notice (the cap is exceeded by at most that notice per conversation).
fn within_paid_sends_cap(capped: bool, decision: Decision) -> Decision {
    if capped { hand_over_instead(decision, Reason::PaidSendsCapped) } else { decision }
}

/// A decision that would send an answer, made a handoff for `why` with the answer as the person's
/// draft; any other decision as it is.
fn hand_over_instead(decision: Decision, why: Reason) -> Decision {
    match decision {
        Decision::Answer { reply } => Decision::Escalate {
            escalation: EscalationPlan { reasons: vec![why], priority: Priority::Normal, draft: Some(reply) },
        },
        Decision::AnswerAndEscalate { reply, mut escalation } => {
            escalation.reasons.push(why);
            escalation.draft = Some(reply);
            Decision::Escalate { escalation }
        }
        other => other,
    }
}

/// The state the policy sees. A pending handoff caused by this very message (a redelivery after
/// a failed enqueue) must not silence the retry that completes it.
fn effective_state(conversation: &Conversation, message: &InboundMessage) -> ConversationState {
    match &conversation.state {
        ConversationState::HandoffPending { escalation, .. } if *escalation == message.id => ConversationState::Bot,
        other => other.clone(),
    }
}

/// One line for the ticket subject: what and why, no message text.
fn summary(c: &Classification, reasons: &[Reason]) -> String {
    if let Some(s) = &c.summary {
        return s.clone();
    }
    let why: Vec<String> = reasons.iter().map(Reason::words).collect();
    format!("{}: {}", c.intent.as_deref().unwrap_or("unclassified"), why.join(", "))
}
