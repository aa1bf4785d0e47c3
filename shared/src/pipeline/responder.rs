use crate::classify::Cascade;
use crate::domain::{
    AgentEvent, Channel, Classification, Conversation, ConversationState, Customer, Decision, Escalation,
    EscalationJob, EscalationPlan, HandoffFailure, InboundMessage, Language, MessageId, Priority, Reason, Reply,
    ReplySource, Role, TenantId, TicketComment, Turn, TurnCursor, UsageRecord, Work,
};
use crate::policy::{Policy, PolicyInput};
use crate::ports::{
    Activity, Allowances, ChannelSender, ClassifyRequest, Clock, ConversationStore, CustomerStore, EscalationQueue,
    GenerateRequest, Generated, HostedClassification, LanguageModel, ModelError, Outbound, PortError, TenantDirectory,
    UsageLog,
};
use crate::reply::reply_language;
use crate::tenant::Tenant;
use std::sync::Arc;

/// Turns of history the policy and the agent's transcript see.
const HISTORY: usize = 10;

/// What happened to one message.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What the classifiers made of it.
    pub classification: Classification,
    /// What the policy decided.
    pub decision: Decision,
    /// What it used.
    pub usage: UsageRecord,
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
    pub tenants: Arc<dyn TenantDirectory>,
    /// Customer profiles.
    pub customers: Arc<dyn CustomerStore>,
    /// Conversations and turns.
    pub conversations: Arc<dyn ConversationStore>,
    /// Where escalations go.
    pub escalations: Arc<dyn EscalationQueue>,
    /// The hosted model, asked when the local one is unsure.
    pub model: Arc<dyn LanguageModel>,
    /// Delivers answers on the customer's channel.
    pub sender: Arc<dyn ChannelSender>,
    /// Usage records.
    pub usage: Arc<dyn UsageLog>,
    /// Hourly allowances (hosted-model calls for anonymous visitors).
    pub allowances: Arc<dyn Allowances>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl Responder {
    /// Does one job from the messages queue: a customer message or an agent's action.
    pub async fn handle_work(&self, work: &Work) -> Result<(), RespondError> {
        match work {
            Work::Customer(message) => self.respond(message).await.map(|_| ()),
            Work::Agent(event) => self.agent(event).await,
            Work::HandoffFailed(failure) => self.handoff_failed(failure).await,
        }
    }

    /// The escalation desk could not open the ticket: if the conversation still waits on that
    /// escalation, the bot takes it back and tells the customer. Safe to repeat: a second run
    /// finds the conversation no longer pending on it.
    pub async fn handoff_failed(&self, failure: &HandoffFailure) -> Result<(), RespondError> {
        let tenant = self.load_tenant(&failure.tenant).await?;
        let Some(mut conversation) = self.conversations.conversation(&failure.tenant, &failure.conversation).await?
        else {
            return Ok(());
        };
        let pending_on_it = matches!(&conversation.state, ConversationState::HandoffPending { escalation, .. } if *escalation == failure.escalation);
        if !pending_on_it {
            return Ok(());
        }
        let mut usage = usage_of(&conversation, &failure.escalation.answer(3), &failure.request_id);
        usage.decision = Some("handoff_failed".into());
        self.give_back_to_bot(&tenant, &mut conversation, &failure.escalation, &failure.reason, &mut usage).await?;
        usage.at = Some(self.clock.now());
        if let Err(error) = self.usage.record(&usage).await {
            tracing::error!(%error, "could not record usage");
        }
        Ok(())
    }

    /// Back to the bot after a failed handoff: the state moves (conditionally), the failure is
    /// logged and counted for the operators' alarm, and the customer is told in their language.
    async fn give_back_to_bot(
        &self,
        tenant: &Tenant,
        conversation: &mut Conversation,
        escalation: &MessageId,
        reason: &str,
        usage: &mut UsageRecord,
    ) -> Result<(), RespondError> {
        usage.store_writes += 1;
        self.conversations
            .transition(&conversation.tenant, &conversation.id, &conversation.state, &ConversationState::Bot)
            .await?;
        conversation.state = ConversationState::Bot;
        tracing::error!(
            tenant = %conversation.tenant,
            channel = %conversation.channel,
            escalation = %escalation,
            reason,
            "escalation failed: the bot takes the conversation back"
        );
        crate::metrics::count(
            "EscalationFailed",
            conversation.tenant.as_str(),
            conversation.channel.as_str(),
            &[("reason", reason)],
        );
        let language = conversation.language.unwrap_or(tenant.config.default_language);
        let notice = tenant.replies.handoff_failed(language, None);
        let id = escalation.answer(3);
        let turn = Turn {
            cursor: TurnCursor::new(self.clock.now(), &id),
            id,
            role: Role::System,
            text: notice.text,
            at: self.clock.now(),
            intent: None,
            delivered: false,
            parts_sent: 0,
            seq: 0,
        };
        self.deliver(conversation, turn, usage).await
    }

    /// A handoff whose ticket has not opened within the tenant's timeout goes back to the bot.
    async fn give_up_if_pending_too_long(
        &self,
        tenant: &Tenant,
        conversation: &mut Conversation,
        usage: &mut UsageRecord,
    ) -> Result<(), RespondError> {
        let ConversationState::HandoffPending { escalation, since } = &conversation.state else { return Ok(()) };
        let limit = chrono::Duration::minutes(i64::from(tenant.config.handoff.pending_timeout_minutes));
        if self.clock.now() - *since <= limit {
            return Ok(());
        }
        let escalation = escalation.clone();
        self.give_back_to_bot(tenant, conversation, &escalation, "the ticket did not open in time", usage).await
    }

    /// An agent's reply goes to the customer on the conversation's channel and is stored as an
    /// agent turn; a solved ticket hands the conversation back to the bot. Safe to repeat: the
    /// turn's id comes from the helpdesk's event, and a delivered turn is not sent again.
    pub async fn agent(&self, event: &AgentEvent) -> Result<(), RespondError> {
        self.load_tenant(&event.tenant).await?;
        let Some(mut conversation) = self.conversations.conversation(&event.tenant, &event.conversation).await? else {
            tracing::warn!(tenant = %event.tenant, request_id = %event.request_id, "agent event for an unknown conversation; dropped");
            return Ok(());
        };
        let mut usage = usage_of(&conversation, &event.id, &event.request_id);
        if let Some(text) = event.reply.as_deref().filter(|t| !t.trim().is_empty()) {
            // An agent who writes owns the conversation (again), and its idle clock restarts.
            let owned = ConversationState::HumanOwned { ticket: event.ticket.clone(), since: self.clock.now() };
            usage.store_writes += 1;
            self.conversations.transition(&event.tenant, &conversation.id, &conversation.state, &owned).await?;
            conversation.state = owned;
            let turn = Turn {
                id: event.id.clone(),
                cursor: TurnCursor::new(event.at, &event.id),
                role: Role::Agent,
                text: text.to_string(),
                at: event.at,
                intent: None,
                delivered: false,
                parts_sent: 0,
                seq: 0,
            };
            self.deliver(&conversation, turn, &mut usage).await?;
        }
        let ours =
            matches!(&conversation.state, ConversationState::HumanOwned { ticket, .. } if ticket.id == event.ticket.id);
        if event.solved && ours {
            usage.store_writes += 1;
            self.conversations
                .transition(&event.tenant, &conversation.id, &conversation.state, &ConversationState::Bot)
                .await?;
        }
        usage.decision = Some(if event.solved { "agent_solved" } else { "agent_reply" }.to_string());
        usage.at = Some(self.clock.now());
        if let Err(error) = self.usage.record(&usage).await {
            tracing::error!(%error, "could not record usage");
        }
        tracing::info!(
            tenant = %event.tenant,
            channel = %conversation.channel,
            request_id = %event.request_id,
            helpdesk = %event.ticket.helpdesk,
            ticket = %event.ticket.id,
            replied = event.reply.is_some(),
            solved = event.solved && ours,
            "agent event handled"
        );
        Ok(())
    }

    /// Answers, escalates, or stays quiet on one queued message, and records what it used.
    pub async fn respond(&self, message: &InboundMessage) -> Result<Outcome, RespondError> {
        let (outcome, metered) = crate::meter::measure(self.handle(message)).await;
        let mut outcome = outcome?;
        outcome.usage.metered = metered;
        outcome.usage.at = Some(self.clock.now());
        if let Err(error) = self.usage.record(&outcome.usage).await {
            // The answer is out; a missing usage record must not make the customer get it twice.
            tracing::error!(%error, "could not record usage");
        }
        Ok(outcome)
    }

    async fn handle(&self, message: &InboundMessage) -> Result<Outcome, RespondError> {
        let mut usage = UsageRecord {
            request_id: message.request_id.clone(),
            tenant: Some(message.tenant.clone()),
            channel: Some(message.channel),
            conversation: Some(message.conversation.clone()),
            message: Some(message.id.clone()),
            ..UsageRecord::default()
        };
        let tenant = self.load_tenant(&message.tenant).await?;
        let mut conversation = self.load_conversation(message, &mut usage).await?;
        let customer = self.load_customer(message, &mut usage).await?;
        let history = self.load_history(message, &mut usage).await?;
        self.release_if_idle(&tenant, &mut conversation, &mut usage).await?;
        self.give_up_if_pending_too_long(&tenant, &mut conversation, &mut usage).await?;

        let classification = self.classify(&tenant, message).await;
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
                None => self.generate(&tenant, message, &classification, language, customer.as_ref()).await,
            };
        let decision = Policy { rules: &tenant.config.policy, rollout: &tenant.config.rollout }.decide(PolicyInput {
            classification: &classification,
            customer: customer.as_ref(),
            state: &effective_state(&conversation, message),
            history: &history,
            draft: draft.as_ref(),
        });
        let decision = self.within_channel_window(&tenant, &conversation, message, decision);

        self.record_customer_turn(message, &classification, &mut usage).await?;
        let activity = Activity {
            language,
            last_inbound_at: message.received_at,
            customer: message.sender.customer.clone(),
            thread: message.thread.clone(),
        };
        usage.store_writes += 1;
        self.conversations.record_activity(&message.tenant, &message.conversation, &activity).await?;
        // The sender checks channel windows (WhatsApp's 24 hours) against the latest message.
        conversation.last_inbound_at = Some(message.received_at);
        conversation.language = Some(language);
        if message.thread.is_some() {
            conversation.thread = message.thread.clone();
        }
        self.act(
            &tenant,
            &mut conversation,
            message,
            &decision,
            Context { classification: &classification, customer: customer.as_ref(), history: &history, language },
            &mut usage,
        )
        .await?;

        usage.decision = Some(decision.name().to_string());
        usage.classifier = Some(classification.source);
        tracing::info!(
            tenant = %message.tenant,
            channel = %message.channel,
            request_id = %message.request_id,
            decision = decision.name(),
            intent = classification.intent.as_deref().unwrap_or("-"),
            confidence = classification.confidence,
            language = %language,
            classifier = ?classification.source,
            "message handled"
        );
        Ok(Outcome { classification, decision, usage })
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
        let closed = conversation.channel == Channel::WhatsappCloud
            && self.clock.now() - message.received_at
                > chrono::Duration::hours(crate::channels::whatsapp::SERVICE_WINDOW_HOURS)
            && tenant.config.channels.whatsapp.as_ref().is_none_or(|w| w.window_template.is_none());
        if !closed {
            return decision;
        }
        match decision {
            Decision::Answer { reply } => Decision::Escalate {
                escalation: EscalationPlan {
                    reasons: vec![Reason::ChannelWindowClosed],
                    priority: Priority::Normal,
                    draft: Some(reply),
                },
            },
            Decision::AnswerAndEscalate { reply, mut escalation } => {
                escalation.reasons.push(Reason::ChannelWindowClosed);
                escalation.draft = Some(reply);
                Decision::Escalate { escalation }
            }
            other => other,
        }
    }

    /// A conversation no agent has touched for the tenant's idle time goes back to the bot, so
    /// a customer is never left talking to nobody.
    async fn release_if_idle(
        &self,
        tenant: &Tenant,
        conversation: &mut Conversation,
        usage: &mut UsageRecord,
    ) -> Result<(), RespondError> {
        let hours = tenant.config.handoff.release_after_hours;
        let ConversationState::HumanOwned { since, .. } = &conversation.state else { return Ok(()) };
        if hours == 0 || self.clock.now() - *since <= chrono::Duration::hours(i64::from(hours)) {
            return Ok(());
        }
        usage.store_writes += 1;
        self.conversations
            .transition(&conversation.tenant, &conversation.id, &conversation.state, &ConversationState::Bot)
            .await?;
        conversation.state = ConversationState::Bot;
        tracing::info!(tenant = %conversation.tenant, channel = %conversation.channel, idle_hours = hours, "no agent activity: the bot takes the conversation back");
        Ok(())
    }

    async fn load_tenant(&self, id: &TenantId) -> Result<Arc<Tenant>, RespondError> {
        self.tenants.tenant(id).await?.ok_or_else(|| RespondError::UnknownTenant(id.clone()))
    }

    async fn load_conversation(
        &self,
        message: &InboundMessage,
        usage: &mut UsageRecord,
    ) -> Result<Conversation, RespondError> {
        usage.store_reads += 1;
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
        usage.store_writes += 1;
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
    async fn load_customer(
        &self,
        message: &InboundMessage,
        usage: &mut UsageRecord,
    ) -> Result<Option<Customer>, RespondError> {
        let Some(id) = &message.sender.customer else { return Ok(None) };
        usage.store_reads += 1;
        Ok(self.customers.customer(&message.tenant, id).await?)
    }

    async fn load_history(&self, message: &InboundMessage, usage: &mut UsageRecord) -> Result<Vec<Turn>, RespondError> {
        usage.store_reads += 1;
        let mut turns = self.conversations.recent_turns(&message.tenant, &message.conversation, HISTORY + 3).await?;
        // On a redelivery this message and its answers are already stored: they are not history.
        let own = TurnCursor::new(message.received_at, &message.id);
        turns.retain(|t| t.cursor < own);
        Ok(turns)
    }

    /// The hosted model for `message`: for an anonymous web chat visitor, one whose every call
    /// takes a unit of the tenant's hourly allowance, so a flood costs the attacker time, not
    /// the tenant money.
    fn model_for<'a>(&'a self, tenant: &'a Tenant, message: &InboundMessage) -> Capped<'a> {
        let anonymous = message.channel == Channel::Webchat && message.sender.customer.is_none();
        let now = self.clock.now();
        let hour = now - chrono::Duration::seconds(now.timestamp().rem_euclid(3600));
        Capped {
            inner: self.model.as_ref(),
            cap: anonymous.then(|| {
                (self.allowances.as_ref(), &tenant.id, hour, tenant.config.classifier.anonymous_model_calls_per_hour)
            }),
        }
    }

    async fn classify(&self, tenant: &Tenant, message: &InboundMessage) -> Classification {
        let model = self.model_for(tenant, message);
        let cascade =
            Cascade { local: &tenant.classifier, hosted: &model, hosted_below: tenant.config.classifier.hosted_below };
        let request = ClassifyRequest {
            text: message.text.clone(),
            intents: tenant.catalogue(),
            languages: tenant.config.languages.clone(),
        };
        let outcome = cascade.classify(request).await;
        if let Some(error) = &outcome.fallback
            && !matches!(error, crate::ports::ModelError::Unavailable(reason) if reason.starts_with("no hosted model"))
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
        match self.model_for(tenant, message).generate(&request).await {
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

    async fn record_customer_turn(
        &self,
        message: &InboundMessage,
        c: &Classification,
        usage: &mut UsageRecord,
    ) -> Result<(), RespondError> {
        let turn = Turn {
            id: message.id.clone(),
            cursor: TurnCursor::new(message.received_at, &message.id),
            role: Role::Customer,
            text: message.turn_text(),
            at: message.received_at,
            intent: c.intent.clone(),
            delivered: false,
            parts_sent: 0,
            seq: 0,
        };
        usage.store_writes += 1;
        self.conversations.append_turn(&message.tenant, &message.conversation, &turn).await?;
        Ok(())
    }

    async fn act(
        &self,
        tenant: &Tenant,
        conversation: &mut Conversation,
        message: &InboundMessage,
        decision: &Decision,
        ctx: Context<'_>,
        usage: &mut UsageRecord,
    ) -> Result<(), RespondError> {
        match decision {
            Decision::Answer { reply } => self.say(conversation, message, 1, Role::Bot, reply, usage).await,
            Decision::Escalate { escalation } => {
                self.hand_over(tenant, conversation, message, escalation, &ctx, usage).await?;
                let notice = self.notice(tenant, &ctx);
                self.say(conversation, message, 1, Role::System, &notice, usage).await
            }
            Decision::AnswerAndEscalate { reply, escalation } => {
                self.hand_over(tenant, conversation, message, escalation, &ctx, usage).await?;
                self.say(conversation, message, 1, Role::Bot, reply, usage).await?;
                let notice = self.notice(tenant, &ctx);
                self.say(conversation, message, 2, Role::System, &notice, usage).await
            }
            Decision::Silent => self.append_to_ticket(conversation, message, usage).await,
            Decision::Shadow { .. } => Ok(()),
        }
    }

    /// The handoff notice, in the customer's language, saying when a person will reply.
    fn notice(&self, tenant: &Tenant, ctx: &Context<'_>) -> Reply {
        let hours = tenant.availability(self.clock.now(), ctx.language);
        tenant.replies.handoff(ctx.language, ctx.customer, hours)
    }

    /// While a human owns the conversation the bot says nothing, and the customer's message
    /// goes to the agent's ticket.
    async fn append_to_ticket(
        &self,
        conversation: &Conversation,
        message: &InboundMessage,
        usage: &mut UsageRecord,
    ) -> Result<(), RespondError> {
        let (ticket, escalation) = match &conversation.state {
            ConversationState::HumanOwned { ticket, .. } => (Some(ticket.clone()), None),
            ConversationState::HandoffPending { escalation, .. } => (None, Some(escalation.clone())),
            ConversationState::Bot => return Ok(()),
        };
        let comment = TicketComment {
            tenant: message.tenant.clone(),
            conversation: message.conversation.clone(),
            channel: message.channel,
            message: message.id.clone(),
            ticket,
            escalation,
            text: message.text.clone(),
            at: message.received_at,
            request_id: message.request_id.clone(),
        };
        usage.queue_sends += 1;
        self.escalations.enqueue(&EscalationJob::Comment(Box::new(comment))).await?;
        Ok(())
    }

    /// Marks the conversation as handed over, then enqueues the escalation. In that order: the
    /// escalation function only moves a pending handoff to human-owned, so it must see the
    /// pending state; and if enqueueing fails, the redelivered message still escalates because
    /// the pending state names it.
    async fn hand_over(
        &self,
        tenant: &Tenant,
        conversation: &mut Conversation,
        message: &InboundMessage,
        plan: &EscalationPlan,
        ctx: &Context<'_>,
        usage: &mut UsageRecord,
    ) -> Result<(), RespondError> {
        let pending = ConversationState::HandoffPending { escalation: message.id.clone(), since: self.clock.now() };
        // Conditional on the state the policy saw: if it changed meanwhile, the message is
        // retried and decided again on the new state.
        usage.store_writes += 1;
        self.conversations.transition(&conversation.tenant, &conversation.id, &conversation.state, &pending).await?;
        conversation.state = pending;
        let mut transcript: Vec<Turn> = ctx.history.iter().rev().take(HISTORY - 1).rev().cloned().collect();
        transcript.push(Turn {
            id: message.id.clone(),
            cursor: TurnCursor::new(message.received_at, &message.id),
            role: Role::Customer,
            text: message.turn_text(),
            at: message.received_at,
            intent: ctx.classification.intent.clone(),
            delivered: false,
            parts_sent: 0,
            seq: 0,
        });
        let escalation = Escalation {
            id: message.id.clone(),
            tenant: tenant.id.clone(),
            conversation: conversation.id.clone(),
            channel: conversation.channel,
            customer_id: ctx.customer.map(|c| c.id.clone()),
            sender_unverified: message.sender.unverified,
            customer: ctx.customer.cloned(),
            priority: plan.priority,
            reasons: plan.reasons.clone(),
            summary: summary(ctx.classification, &plan.reasons),
            intent: ctx.classification.intent.clone(),
            sentiment: Some(ctx.classification.sentiment),
            urgency: Some(ctx.classification.urgency),
            language: ctx.language,
            transcript,
            draft: plan.draft.as_ref().map(|d| d.text.clone()),
            created_at: self.clock.now(),
            request_id: message.request_id.clone(),
        };
        usage.queue_sends += 1;
        self.escalations.enqueue(&EscalationJob::Open(Box::new(escalation))).await?;
        Ok(())
    }

    /// Stores the `n`th answer to `message` and sends it on the channel.
    async fn say(
        &self,
        conversation: &Conversation,
        message: &InboundMessage,
        n: u8,
        role: Role,
        reply: &Reply,
        usage: &mut UsageRecord,
    ) -> Result<(), RespondError> {
        let id = message.id.answer(n);
        let cursor = TurnCursor::new(message.received_at, &id);
        let turn = Turn {
            cursor,
            id,
            role,
            text: reply.text.clone(),
            at: self.clock.now(),
            intent: None,
            delivered: false,
            parts_sent: 0,
            seq: 0,
        };
        // A notice that the channel would refuse (WhatsApp's closed window) is kept for the agent
        // but not sent; the escalation carries the conversation on.
        let window_closed = conversation.channel == Channel::WhatsappCloud
            && role == Role::System
            && turn.at - message.received_at > chrono::Duration::hours(crate::channels::whatsapp::SERVICE_WINDOW_HOURS);
        if window_closed {
            usage.store_writes += 1;
            self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn).await?;
            return Ok(());
        }
        self.deliver(conversation, turn, usage).await
    }

    /// Stores `turn` and sends it on the conversation's channel (the web chat widget fetches
    /// stored turns), part by part as the channel's length limit requires. Each part the
    /// provider accepts is marked, so a retry sends only the rest; a delivered turn is never sent
    /// again. An undelivered turn already stored means an earlier attempt may have sent its next
    /// part: the sender looks for it first where the provider allows.
    async fn deliver(
        &self,
        conversation: &Conversation,
        mut turn: Turn,
        usage: &mut UsageRecord,
    ) -> Result<(), RespondError> {
        if conversation.channel == Channel::Webchat {
            turn.delivered = true;
            usage.store_writes += 1;
            self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn).await?;
            return Ok(());
        }
        usage.store_reads += 1;
        let stored = self.conversations.turn(&conversation.tenant, &conversation.id, &turn.cursor).await?;
        if stored.as_ref().is_some_and(|t| t.delivered) {
            return Ok(());
        }
        let earlier_attempt = stored.is_some();
        turn.parts_sent = stored.map(|t| t.parts_sent).unwrap_or(0);
        turn.delivered = false;
        if !earlier_attempt {
            usage.store_writes += 1;
            self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn).await?;
        }
        let parts = crate::channels::parts(conversation.channel, &turn.text);
        let first_unsent = usize::from(turn.parts_sent);
        for (i, part) in parts.iter().enumerate().skip(first_unsent) {
            usage.channel_sends += 1;
            let maybe_sent = earlier_attempt && i == first_unsent;
            self.sender.send(Outbound { conversation, turn: &turn, part: i, text: part, maybe_sent }).await?;
            turn.parts_sent = u16::try_from(i + 1).unwrap_or(u16::MAX);
            if i + 1 < parts.len() {
                usage.store_writes += 1;
                self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn).await?;
            }
        }
        turn.delivered = true;
        usage.store_writes += 1;
        self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn).await?;
        Ok(())
    }
}

/// The hosted model behind an allowance: each call takes a unit, and a spent allowance is an
/// unavailable model (the cascade keeps the local result; no answer is generated).
struct Capped<'a> {
    inner: &'a dyn LanguageModel,
    cap: Option<(&'a dyn Allowances, &'a TenantId, chrono::DateTime<chrono::Utc>, u32)>,
}

impl Capped<'_> {
    async fn allowed(&self) -> Result<(), ModelError> {
        let Some((allowances, tenant, hour, limit)) = self.cap else { return Ok(()) };
        match allowances.take(tenant, "anonymous-model", hour, limit).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::warn!(tenant = %tenant, limit, "hourly hosted-model allowance for anonymous visitors spent; local model only");
                Err(ModelError::Unavailable("the hourly allowance for anonymous visitors is spent".into()))
            }
            Err(e) => Err(ModelError::Unavailable(format!("allowance unknown: {e}"))),
        }
    }
}

#[async_trait::async_trait]
impl LanguageModel for Capped<'_> {
    async fn classify(&self, request: &ClassifyRequest) -> Result<HostedClassification, ModelError> {
        self.allowed().await?;
        self.inner.classify(request).await
    }

    async fn generate(&self, request: &GenerateRequest) -> Result<Option<Generated>, ModelError> {
        self.allowed().await?;
        self.inner.generate(request).await
    }
}

/// A usage record for work on `conversation` that is not a customer message (an agent event, a
/// failed handoff).
fn usage_of(conversation: &Conversation, id: &MessageId, request_id: &str) -> UsageRecord {
    UsageRecord {
        request_id: request_id.to_string(),
        tenant: Some(conversation.tenant.clone()),
        channel: Some(conversation.channel),
        conversation: Some(conversation.id.clone()),
        message: Some(id.clone()),
        ..UsageRecord::default()
    }
}

/// What `act` needs besides the decision.
struct Context<'a> {
    classification: &'a Classification,
    customer: Option<&'a Customer>,
    history: &'a [Turn],
    language: Language,
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
    let why: Vec<String> = reasons
        .iter()
        .map(|r| match r {
            Reason::HumanRequested => "asked for a person".to_string(),
            Reason::EscalatedIntent { intent } => format!("{intent} goes to a human"),
            Reason::NegativeSentiment => "customer is unhappy".to_string(),
            Reason::HighUrgency => "urgent".to_string(),
            Reason::VipComplaint => "VIP complaint".to_string(),
            Reason::LowConfidence => "bot unsure what is asked".to_string(),
            Reason::NoGroundedAnswer => "no answer in the knowledge base".to_string(),
            Reason::Repeated { times } => format!("asked {times} times"),
            Reason::AssistMode => "draft for review".to_string(),
            Reason::ChannelWindowClosed => "WhatsApp's 24-hour window has closed: reply with a template".to_string(),
        })
        .collect();
    format!("{}: {}", c.intent.as_deref().unwrap_or("unclassified"), why.join(", "))
}
