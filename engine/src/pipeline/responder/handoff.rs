//! A conversation between the bot and a person: agents' actions, a failed handoff taken back,
//! a pending one given up, an idle one released, and the ticket a person works in.

use super::*;

impl Responder {
    /// The escalation desk could not open the ticket: if the conversation still waits on that
    /// escalation, the bot takes it back and tells the customer. Safe to repeat: a second run
    /// finds the conversation no longer pending on it.
    pub(super) async fn handoff_failed_work(&self, failure: &HandoffFailure) -> Result<((), Done), RespondError> {
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
    pub(super) async fn give_back_to_bot(
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
        switchboard_core::metrics::count(
            "EscalationFailed",
            conversation.tenant.as_str(),
            conversation.channel.as_str(),
            &[("reason", reason)],
        );
        let language = conversation.language.unwrap_or(tenant.config.default_language);
        let notice = tenant.replies.handoff_failed(language, None);
        let id = escalation.answer(3);
        let cursor = TurnCursor::new(self.clock.now(), &id);
        let turn = Turn::new(id, cursor, Role::System, notice.text, self.clock.now());
        self.deliver(tenant, conversation, turn).await
    }

    /// A handoff whose ticket has not opened within the tenant's timeout goes back to the bot.
    pub(super) async fn give_up_if_pending_too_long(
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
    pub(super) async fn agent_work(&self, event: &AgentEvent) -> Result<((), Done), RespondError> {
        let tenant = self.load_tenant(&event.tenant).await?;
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
            let turn = Turn::new(event.id.clone(), cursor, Role::Agent, text, event.at);
            self.deliver(&tenant, &conversation, turn).await?;
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

    /// A conversation no agent has touched for the tenant's idle time goes back to the bot, so
    /// a customer is never left talking to nobody.
    pub(super) async fn release_if_idle(
        &self,
        tenant: &Tenant,
        conversation: &mut Conversation,
    ) -> Result<(), RespondError> {
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

    /// While a human owns the conversation the bot says nothing, and the customer's message
    /// goes to the agent's ticket.
    pub(super) async fn append_to_ticket(
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
    pub(super) async fn hand_over(
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
        transcript.push(Turn::of_customer(message, ctx.classification.intent.clone()));
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
}
