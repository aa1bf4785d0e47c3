use crate::cost::{Attribution, Costs, Function};
use std::sync::Arc;
use switchboard_core::domain::{Channel, ConversationId, MessageId, TenantId};
use switchboard_core::domain::{
    ConversationState, Escalation, EscalationJob, HandoffFailure, TicketComment, TicketRef, Work,
};
use switchboard_core::ports::{Clock, ConversationStore, Helpdesk, MessageQueue, PortError, TicketStore};

/// The escalation half: tickets for the helpdesk, customer messages appended to them, and the
/// conversation handed to a human.
pub struct EscalationDesk {
    /// Where tickets go.
    helpdesk: Arc<dyn Helpdesk>,
    /// Which ticket each escalation opened.
    tickets: Arc<dyn TicketStore>,
    /// Conversation state.
    conversations: Arc<dyn ConversationStore>,
    /// The messages queue: a failed handoff goes back to the responder through it.
    messages: Arc<dyn MessageQueue>,
    /// The time.
    clock: Arc<dyn Clock>,
    /// Prices each job into the cost ledger.
    costs: Arc<Costs>,
}

impl EscalationDesk {
    /// The desk opening tickets in `helpdesk`, remembering them in `tickets`, handing
    /// conversations over in `conversations`, and sending failed handoffs back through
    /// `messages`; each job priced by `costs`.
    pub fn new(
        helpdesk: Arc<dyn Helpdesk>,
        tickets: Arc<dyn TicketStore>,
        conversations: Arc<dyn ConversationStore>,
        messages: Arc<dyn MessageQueue>,
        costs: Arc<Costs>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { helpdesk, tickets, conversations, messages, clock, costs }
    }

    /// Does one job from the escalation queue, measured and priced into one cost record
    /// (failed attempts too: they cost money, and a retry replaces their record).
    pub async fn handle(&self, job: &EscalationJob) -> Result<(), PortError> {
        let consumed = serde_json::to_string(job).map_or(0, |body| body.len());
        let (result, units) = crate::cost::lambda::measured(async {
            crate::cost::units::report_sqs_consumed(consumed, false);
            match job {
                EscalationJob::Open(escalation) => self.open(escalation).await.map(|_| ()),
                EscalationJob::Comment(comment) => self.comment(comment).await,
            }
        })
        .await;
        let (who, kind) = match job {
            EscalationJob::Open(e) => {
                (attribution(&e.request_id, &e.id, &e.tenant, e.channel, &e.conversation, e.created_at), "ticket")
            }
            EscalationJob::Comment(c) => {
                (attribution(&c.request_id, &c.message, &c.tenant, c.channel, &c.conversation, c.at), "comment")
            }
        };
        let decision = if result.is_ok() { kind } else { "failed" };
        let outcome = crate::cost::Outcome { decision: Some(decision.to_string()), ..Default::default() };
        self.costs.record(who, outcome, units).await;
        result
    }

    /// Opens the ticket and marks the conversation human-owned. Safe to repeat: a recorded
    /// ticket is reused without asking the helpdesk, and the helpdesk adapters find the ticket
    /// an attempt that timed out had opened.
    pub async fn open(&self, escalation: &Escalation) -> Result<TicketRef, PortError> {
        let (tenant, id) = (&escalation.tenant, &escalation.conversation);
        let (ticket, opened_now) = match self.tickets.ticket_for(tenant, &escalation.id).await? {
            Some(ticket) => (ticket, false),
            None => {
                let ticket = self.helpdesk.open_ticket(escalation).await?;
                self.tickets.record_ticket(tenant, &escalation.id, id, &ticket).await?;
                (ticket, true)
            }
        };
        if let Some(conversation) = self.conversations.conversation(tenant, id).await? {
            // This escalation's pending handoff becomes human-owned: the responder writes it
            // before it enqueues. So does a conversation the bot took back after this handoff
            // failed or timed out, when its ticket opens now (a redrive): a person is there at
            // last. Any other state means this step already ran (a redelivery) or people moved on.
            let pending_here = matches!(&conversation.state, ConversationState::HandoffPending { escalation: e, .. } if *e == escalation.id);
            let taken_back = opened_now && conversation.state == ConversationState::Bot;
            if pending_here || taken_back {
                let owned = ConversationState::HumanOwned { ticket: ticket.clone(), since: self.clock.now() };
                self.conversations.transition(tenant, id, &conversation.state, &owned).await?;
            }
        }
        tracing::info!(
            tenant = %escalation.tenant,
            channel = %escalation.channel,
            request_id = %escalation.request_id,
            helpdesk = %ticket.helpdesk,
            ticket = %ticket.id,
            priority = ?escalation.priority,
            "escalation handed to the helpdesk"
        );
        Ok(ticket)
    }

    /// A job that can never succeed (parked in the dead-letter queue). For a ticket, the
    /// conversation must not wait on it for ever: the responder is told, through the messages
    /// queue, to give the conversation back to the bot and tell the customer.
    pub async fn failed(&self, job: &EscalationJob, reason: &str) -> Result<(), PortError> {
        let EscalationJob::Open(escalation) = job else {
            tracing::error!(tenant = %job.tenant(), reason, "a comment could not be appended to its ticket");
            return Ok(());
        };
        let failure = HandoffFailure {
            tenant: escalation.tenant.clone(),
            conversation: escalation.conversation.clone(),
            escalation: escalation.id.clone(),
            reason: reason.to_string(),
            at: self.clock.now(),
            request_id: escalation.request_id.clone(),
        };
        self.messages.enqueue(&Work::HandoffFailed(failure)).await
    }

    /// Appends a customer message to the conversation's ticket. When the ticket is still being
    /// opened, fails retryably: the queue brings the comment back once it exists.
    pub async fn comment(&self, comment: &TicketComment) -> Result<(), PortError> {
        let ticket = match (&comment.ticket, &comment.escalation) {
            (Some(ticket), _) => ticket.clone(),
            (None, Some(escalation)) => {
                self.tickets.ticket_for(&comment.tenant, escalation).await?.ok_or_else(|| PortError::Unavailable {
                    port: "ticket store",
                    detail: "the ticket is not open yet".into(),
                })?
            }
            (None, None) => {
                return Err(PortError::Rejected { port: "escalation desk", detail: "comment names no ticket".into() });
            }
        };
        let comment = TicketComment { ticket: Some(ticket.clone()), ..comment.clone() };
        self.helpdesk.add_comment(&comment).await?;
        tracing::info!(
            tenant = %comment.tenant,
            channel = %comment.channel,
            request_id = %comment.request_id,
            helpdesk = %ticket.helpdesk,
            ticket = %ticket.id,
            "customer message appended to the ticket"
        );
        Ok(())
    }
}

fn attribution(
    request_id: &str,
    item: &MessageId,
    tenant: &TenantId,
    channel: Channel,
    conversation: &ConversationId,
    at: chrono::DateTime<chrono::Utc>,
) -> Attribution {
    Attribution {
        request_id: request_id.to_string(),
        function: Function::Escalation,
        item: item.to_string(),
        tenant: tenant.clone(),
        channel: Some(channel),
        conversation: Some(conversation.clone()),
        at,
    }
}
