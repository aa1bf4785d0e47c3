use crate::classify::Cascade;
use crate::cost::budget::{BudgetState, SpendCache};
use crate::cost::{Attribution, CostRecord, Costs, Function, Month};
use crate::domain::{
    AgentEvent, Channel, Classification, Conversation, ConversationState, Customer, Decision, Escalation,
    EscalationJob, EscalationPlan, HandoffFailure, InboundMessage, Language, MessageId, Priority, Reason, Reply,
    ReplySource, Role, TenantId, TicketComment, Turn, TurnCursor, Work,
};
use crate::policy::{Policy, PolicyInput};
use crate::ports::{
    Activity, Allowances, ChannelSender, ClassifyRequest, Clock, ConversationStore, CustomerStore, EscalationQueue,
    GenerateRequest, Generated, HostedClassification, LanguageModel, ModelError, Outbound, PortError, TenantDirectory,
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
    /// Prices each message's work and writes it to the cost ledger.
    pub costs: Arc<Costs>,
    /// The tenants' spend this month, for their budgets.
    pub spend: Arc<SpendCache>,
    /// Hourly allowances (hosted-model calls for anonymous visitors).
    pub allowances: Arc<dyn Allowances>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl Responder {
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

    fn attribution(
        &self,
        request_id: &str,
        item: &MessageId,
        tenant: &TenantId,
        conversation: &crate::domain::ConversationId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Attribution {
        Attribution {
            request_id: request_id.to_string(),
            function: Function::Responder,
            item: item.to_string(),
            tenant: tenant.clone(),
            channel: None,
            conversation: Some(conversation.clone()),
            at,
        }
    }

    /// Runs `work` under the meter, bills its time, and records what it cost, failed attempts
    /// included (they cost money too; a retry replaces their record). Work for a tenant that
    /// does not exist bills nobody.
    async fn metered<T>(
        &self,
        mut who: Attribution,
        consumed_bytes: Option<usize>,
        work: impl Future<Output = Result<(T, Done), RespondError>>,
    ) -> Result<(T, CostRecord), RespondError> {
        let started = std::time::Instant::now();
        let (result, units) = crate::meter::measure(async {
            if let Some(bytes) = consumed_bytes {
                crate::cost::units::report_sqs_consumed(bytes, true);
            }
            let result = work.await;
            crate::cost::lambda::bill(started.elapsed());
            result
        })
        .await;
        match result {
            Ok((value, mut done)) => {
                who.channel = who.channel.or(done.channel);
                done.outcome.answered_locally = done.outcome.answered && units.model_calls() == 0;
                Ok((value, self.costs.record(who, done.outcome, units).await))
            }
            Err(e @ RespondError::UnknownTenant(_)) => Err(e),
            Err(e) => {
                let failed = crate::cost::Outcome { decision: Some("failed".into()), ..Default::default() };
                self.costs.record(who, failed, units).await;
                Err(e)
            }
        }
    }

    /// The escalation desk could not open the ticket: if the conversation still waits on that
    /// escalation, the bot takes it back and tells the customer. Safe to repeat: a second run
    /// finds the conversation no longer pending on it.
    async fn handoff_failed_work(&self, failure: &HandoffFailure) -> Result<((), Done), RespondError> {
        let tenant = self.load_tenant(&failure.tenant).await?;
        let Some(mut conversation) = self.conversations.conversation(&failure.tenant, &failure.conversation).await?
        else {
            return Ok(((), Done::work("handoff_failed", None)));
        };
        let done = Done::work("handoff_failed", Some(conversation.channel));
        let pending_on_it = matches!(&conversation.state, ConversationState::HandoffPending { escalation, .. } if *escalation == failure.escalation);
        if !pending_on_it {
            return Ok(((), done));
        }
        self.give_back_to_bot(&tenant, &mut conversation, &failure.escalation, &failure.reason).await?;
        Ok(((), done))
    }

    /// Back to the bot after a failed handoff: the state moves (conditionally), the failure is
    /// logged and counted for the operators' alarm, and the customer is told in their language.
    async fn give_back_to_bot(
        &self,
        tenant: &Tenant,
        conversation: &mut Conversation,
        escalation: &MessageId,
        reason: &str,
    ) -> Result<(), RespondError> {
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
        self.deliver(conversation, turn).await
    }

    /// A handoff whose ticket has not opened within the tenant's timeout goes back to the bot.
    async fn give_up_if_pending_too_long(
        &self,
        tenant: &Tenant,
        conversation: &mut Conversation,
    ) -> Result<(), RespondError> {
        let ConversationState::HandoffPending { escalation, since } = &conversation.state else { return Ok(()) };
        let limit = chrono::Duration::minutes(i64::from(tenant.config.handoff.pending_timeout_minutes));
        if self.clock.now() - *since <= limit {
            return Ok(());
        }
        let escalation = escalation.clone();
        self.give_back_to_bot(tenant, conversation, &escalation, "the ticket did not open in time").await
    }

    /// An agent's reply goes to the customer on the conversation's channel and is stored as an
    /// agent turn; a solved ticket hands the conversation back to the bot. Safe to repeat: the
    /// turn's id comes from the helpdesk's event, and a delivered turn is not sent again.
    async fn agent_work(&self, event: &AgentEvent) -> Result<((), Done), RespondError> {
        self.load_tenant(&event.tenant).await?;
        let Some(mut conversation) = self.conversations.conversation(&event.tenant, &event.conversation).await? else {
            tracing::warn!(tenant = %event.tenant, request_id = %event.request_id, "agent event for an unknown conversation; dropped");
            return Ok(((), Done::work("agent_unknown_conversation", None)));
        };
        let cursor = TurnCursor::new(event.at, &event.id);
        let reply = event.reply.as_deref().filter(|t| !t.trim().is_empty());
        // A reply already delivered is a redelivery or a replay (a captured callback whose claim
        // expired): it changes nothing, least of all who owns the conversation now.
        let delivered = match reply {
            Some(_) => {
                self.conversations.turn(&event.tenant, &conversation.id, &cursor).await?.is_some_and(|t| t.delivered)
            }
            None => false,
        };
        if let Some(text) = reply.filter(|_| !delivered) {
            // An agent who writes owns the conversation (again), and its idle clock restarts.
            let owned = ConversationState::HumanOwned { ticket: event.ticket.clone(), since: self.clock.now() };
            self.conversations.transition(&event.tenant, &conversation.id, &conversation.state, &owned).await?;
            conversation.state = owned;
            let turn = Turn {
                id: event.id.clone(),
                cursor,
                role: Role::Agent,
                text: text.to_string(),
                at: event.at,
                intent: None,
                delivered: false,
                parts_sent: 0,
                seq: 0,
            };
            self.deliver(&conversation, turn).await?;
        }
        let ours =
            matches!(&conversation.state, ConversationState::HumanOwned { ticket, .. } if ticket.id == event.ticket.id);
        if event.solved && ours {
            self.conversations
                .transition(&event.tenant, &conversation.id, &conversation.state, &ConversationState::Bot)
                .await?;
        }
        let done = Done::work(if event.solved { "agent_solved" } else { "agent_reply" }, Some(conversation.channel));
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
        Ok(((), done))
    }

    /// Answers, escalates, or stays quiet on one queued message, and records what it used.
    pub async fn respond(&self, message: &InboundMessage) -> Result<Outcome, RespondError> {
        self.respond_to(message, None).await
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

        let budget = self.budget(&tenant, message).await;
        let classification = self.classify(&tenant, message, budget).await;
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

        self.record_customer_turn(message, &classification).await?;
        let activity = Activity {
            language,
            last_inbound_at: message.received_at,
            customer: message.sender.customer.clone(),
            thread: message.thread.clone(),
        };
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
            budget = budget.as_str(),
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

    /// Where the tenant stands against its monthly budget; crossing a threshold raises its alert
    /// once a month. An unreadable ledger does not degrade the customer's answer.
    async fn budget(&self, tenant: &Tenant, message: &InboundMessage) -> BudgetState {
        let limit = tenant.monthly_budget_nanos();
        if limit == 0 {
            return BudgetState::Ok;
        }
        let month = Month::of(self.clock.now());
        let spent = match self.spend.spent(self.costs.ledger.as_ref(), &tenant.id, month).await {
            Ok(spent) => spent,
            Err(error) => {
                tracing::warn!(%error, tenant = %tenant.id, "month's spend unknown; budget not applied to this message");
                return BudgetState::Ok;
            }
        };
        let state = BudgetState::of(spent, limit, tenant.config.budget.soft_at);
        for crossed in [BudgetState::Soft, BudgetState::Exhausted].into_iter().filter(|t| *t <= state) {
            self.alert_once(tenant, message, month, crossed, spent, limit).await;
        }
        state
    }

    /// The budget alert for `threshold`, once a month: a log line, a metric, and a note in the
    /// tenant's helpdesk (a ticket of its own, so no customer conversation is handed over).
    async fn alert_once(
        &self,
        tenant: &Tenant,
        message: &InboundMessage,
        month: Month,
        threshold: BudgetState,
        spent: u64,
        limit: u64,
    ) {
        match self.costs.ledger.raise_once(&tenant.id, month, threshold.as_str(), self.clock.now()).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, tenant = %tenant.id, "could not record the budget alert; it will be tried again");
                return;
            }
        }
        let (spent_usd, limit_usd) = (crate::cost::usd(spent), crate::cost::usd(limit));
        tracing::warn!(
            tenant = %tenant.id,
            channel = %message.channel,
            request_id = %message.request_id,
            threshold = threshold.as_str(),
            spent_usd,
            limit_usd,
            "budget threshold crossed"
        );
        crate::metrics::count(
            "BudgetAlert",
            tenant.id.as_str(),
            message.channel.as_str(),
            &[("threshold", threshold.as_str())],
        );
        let note = budget_note(tenant, message, month, threshold, spent_usd, limit_usd, self.clock.now());
        if let Err(error) = self.escalations.enqueue(&EscalationJob::Open(Box::new(note))).await {
            tracing::error!(%error, tenant = %tenant.id, "budget alert not sent to the helpdesk");
        }
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
    async fn release_if_idle(&self, tenant: &Tenant, conversation: &mut Conversation) -> Result<(), RespondError> {
        let hours = tenant.config.handoff.release_after_hours;
        let ConversationState::HumanOwned { since, .. } = &conversation.state else { return Ok(()) };
        if hours == 0 || self.clock.now() - *since <= chrono::Duration::hours(i64::from(hours)) {
            return Ok(());
        }
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

    /// The hosted model for `message`: for an anonymous web chat visitor, one whose every call
    /// takes a unit of the tenant's hourly allowance, so a flood costs the attacker time, not
    /// the tenant money.
    fn model_for<'a>(&'a self, tenant: &'a Tenant, message: &InboundMessage, budget: BudgetState) -> Capped<'a> {
        let anonymous = message.channel == Channel::Webchat && message.sender.customer.is_none();
        let now = self.clock.now();
        let hour = now - chrono::Duration::seconds(now.timestamp().rem_euclid(3600));
        Capped {
            inner: self.model.as_ref(),
            budget,
            cap: anonymous.then(|| {
                (self.allowances.as_ref(), &tenant.id, hour, tenant.config.classifier.anonymous_model_calls_per_hour)
            }),
        }
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

    async fn record_customer_turn(&self, message: &InboundMessage, c: &Classification) -> Result<(), RespondError> {
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
    ) -> Result<(), RespondError> {
        match decision {
            Decision::Answer { reply } => self.say(conversation, message, 1, Role::Bot, reply).await,
            Decision::Escalate { escalation } => {
                self.hand_over(tenant, conversation, message, escalation, &ctx).await?;
                let notice = self.notice(tenant, &ctx);
                self.say(conversation, message, 1, Role::System, &notice).await
            }
            Decision::AnswerAndEscalate { reply, escalation } => {
                self.hand_over(tenant, conversation, message, escalation, &ctx).await?;
                self.say(conversation, message, 1, Role::Bot, reply).await?;
                let notice = self.notice(tenant, &ctx);
                self.say(conversation, message, 2, Role::System, &notice).await
            }
            Decision::Silent => self.append_to_ticket(conversation, message).await,
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
    ) -> Result<(), RespondError> {
        let pending = ConversationState::HandoffPending { escalation: message.id.clone(), since: self.clock.now() };
        // Conditional on the state the policy saw: if it changed meanwhile, the message is
        // retried and decided again on the new state.
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
            self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn).await?;
            return Ok(());
        }
        self.deliver(conversation, turn).await
    }

    /// Stores `turn` and sends it on the conversation's channel (the web chat widget fetches
    /// stored turns), part by part as the channel's length limit requires. Each part the
    /// provider accepts is marked, so a retry sends only the rest; a delivered turn is never sent
    /// again. An undelivered turn already stored means an earlier attempt may have sent its next
    /// part: the sender looks for it first where the provider allows.
    async fn deliver(&self, conversation: &Conversation, mut turn: Turn) -> Result<(), RespondError> {
        if conversation.channel == Channel::Webchat {
            turn.delivered = true;
            self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn).await?;
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
            self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn).await?;
        }
        let parts = crate::channels::parts(conversation.channel, &turn.text);
        let first_unsent = usize::from(turn.parts_sent);
        for (i, part) in parts.iter().enumerate().skip(first_unsent) {
            let maybe_sent = earlier_attempt && i == first_unsent;
            self.sender.send(Outbound { conversation, turn: &turn, part: i, text: part, maybe_sent }).await?;
            meter_send(conversation, part);
            turn.parts_sent = u16::try_from(i + 1).unwrap_or(u16::MAX);
            if i + 1 < parts.len() {
                self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn).await?;
            }
        }
        turn.delivered = true;
        self.conversations.append_turn(&conversation.tenant, &conversation.id, &turn).await?;
        Ok(())
    }
}

/// The hosted model behind an allowance: each call takes a unit, and a spent allowance is an
/// unavailable model (the cascade keeps the local result; no answer is generated).
struct Capped<'a> {
    inner: &'a dyn LanguageModel,
    budget: BudgetState,
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
        if !self.budget.allows_hosted_classification() {
            return Err(ModelError::Unavailable(BUDGET_SPENT.into()));
        }
        self.allowed().await?;
        self.inner.classify(request).await
    }

    async fn generate(&self, request: &GenerateRequest) -> Result<Option<Generated>, ModelError> {
        if !self.budget.allows_generation() {
            return Err(ModelError::Unavailable(BUDGET_SPENT.into()));
        }
        self.allowed().await?;
        self.inner.generate(request).await
    }
}

/// Why the hosted model was not asked when the budget stops it (the cascade keeps quiet about
/// reasons starting "no hosted model").
const BUDGET_SPENT: &str = "no hosted model: the tenant's monthly budget has reached its line";

/// What the channel provider bills for one part sent (not AWS, but the cost owner pays it).
fn meter_send(conversation: &Conversation, text: &str) {
    use crate::cost::units::{dial_prefix, sms_segments};
    crate::meter::report(|m| match conversation.channel {
        Channel::TwilioSms => {
            *m.sms_segments.entry(dial_prefix(&conversation.address)).or_default() += sms_segments(text);
        }
        Channel::TwilioWhatsapp => m.twilio_whatsapp_messages += 1,
        Channel::WhatsappCloud => m.whatsapp_messages += 1,
        Channel::Email => m.emails_sent += 1,
        Channel::Webchat | Channel::Telegram | Channel::Slack => {}
    });
}

/// What a job did, for its cost record.
pub struct Done {
    outcome: crate::cost::Outcome,
    channel: Option<Channel>,
}

impl Done {
    /// Work that is not a customer message.
    fn work(name: &str, channel: Option<Channel>) -> Self {
        Self { outcome: crate::cost::Outcome { decision: Some(name.to_string()), ..Default::default() }, channel }
    }
}

/// A handled message's outcome, for the ledger's counts.
fn message_outcome(c: &Classification, decision: &Decision, language: Language) -> crate::cost::Outcome {
    let (answered, escalation) = match decision {
        Decision::Answer { .. } => (true, None),
        Decision::Escalate { escalation } => (false, Some(escalation)),
        Decision::AnswerAndEscalate { escalation, .. } => (true, Some(escalation)),
        Decision::Silent | Decision::Shadow { .. } => (false, None),
    };
    let no_answer = escalation
        .is_some_and(|e| e.reasons.iter().any(|r| matches!(r, Reason::LowConfidence | Reason::NoGroundedAnswer)));
    crate::cost::Outcome {
        message: true,
        answered,
        answered_locally: false,
        escalated: escalation.is_some(),
        no_answer,
        decision: Some(decision.name().to_string()),
        intent: c.intent.clone(),
        language: Some(language),
    }
}

/// The helpdesk note for a budget threshold: an escalation of its own (its own conversation id,
/// so no customer's conversation is handed over), with a stable id so a retry opens no second.
fn budget_note(
    tenant: &Tenant,
    message: &InboundMessage,
    month: Month,
    threshold: BudgetState,
    spent_usd: f64,
    limit_usd: f64,
    now: chrono::DateTime<chrono::Utc>,
) -> Escalation {
    let what = match threshold {
        BudgetState::Exhausted => {
            "the budget is spent: the hosted model is off until next month (templates, the FAQ and people still answer)"
        }
        _ => "the soft line is crossed: the hosted model no longer writes answers (it still classifies)",
    };
    let text = format!(
        "Switchboard budget for {month}: ${spent_usd:.2} of ${limit_usd:.2} used; {what}. Run `switchboard costs --tenant {} --month {month}` for the report.",
        tenant.id
    );
    // Tenant ids and months are made of characters every id accepts.
    let id = MessageId::new(format!("budget-{}-{month}-{}", tenant.id, threshold.as_str()))
        .unwrap_or_else(|_| MessageId::generate());
    let conversation = crate::domain::ConversationId::new(format!("budget-{}-{month}", tenant.id))
        .unwrap_or_else(|_| crate::domain::ConversationId::generate());
    Escalation {
        id: id.clone(),
        tenant: tenant.id.clone(),
        conversation,
        channel: message.channel,
        customer_id: None,
        sender_unverified: false,
        customer: None,
        priority: Priority::Normal,
        reasons: Vec::new(),
        summary: format!("Budget alert {month}: {}", threshold.as_str()),
        intent: None,
        sentiment: None,
        urgency: None,
        language: tenant.config.default_language,
        transcript: vec![Turn {
            cursor: TurnCursor::new(now, &id),
            id,
            role: Role::System,
            text,
            at: now,
            intent: None,
            delivered: true,
            parts_sent: 0,
            seq: 0,
        }],
        draft: None,
        created_at: now,
        request_id: message.request_id.clone(),
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
