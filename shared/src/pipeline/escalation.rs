use crate::domain::{ConversationState, Escalation, EscalationJob, TicketComment, TicketRef};
use crate::ports::{Clock, ConversationStore, Helpdesk, PortError, TicketStore};
use std::sync::Arc;

/// The escalation half: tickets for the helpdesk, customer messages appended to them, and the
/// conversation handed to a human.
pub struct EscalationDesk {
    /// Where tickets go.
    pub helpdesk: Arc<dyn Helpdesk>,
    /// Which ticket each escalation opened.
    pub tickets: Arc<dyn TicketStore>,
    /// Conversation state.
    pub conversations: Arc<dyn ConversationStore>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl EscalationDesk {
    /// Does one job from the escalation queue.
    pub async fn handle(&self, job: &EscalationJob) -> Result<(), PortError> {
        match job {
            EscalationJob::Open(escalation) => self.open(escalation).await.map(|_| ()),
            EscalationJob::Comment(comment) => self.comment(comment).await,
        }
    }

    /// Opens the ticket and marks the conversation human-owned. Safe to repeat: a recorded
    /// ticket is reused without asking the helpdesk, and the helpdesk adapters find the ticket
    /// an attempt that timed out had opened.
    pub async fn open(&self, escalation: &Escalation) -> Result<TicketRef, PortError> {
        let (tenant, id) = (&escalation.tenant, &escalation.conversation);
        let ticket = match self.tickets.ticket_for(tenant, &escalation.id).await? {
            Some(ticket) => ticket,
            None => {
                let ticket = self.helpdesk.open_ticket(escalation).await?;
                self.tickets.record_ticket(tenant, &escalation.id, id, &ticket).await?;
                ticket
            }
        };
        if let Some(conversation) = self.conversations.conversation(tenant, id).await? {
            // Only this escalation's pending handoff becomes human-owned: the responder writes it
            // before it enqueues, so any other state means this step already ran (a redelivery)
            // or an agent has moved on.
            let pending_here = matches!(&conversation.state, ConversationState::HandoffPending { escalation: e, .. } if *e == escalation.id);
            if pending_here {
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
