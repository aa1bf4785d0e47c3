use crate::domain::{
    ConversationId, ConversationState, Escalation, MessageId, Role, TenantId, TicketRef, Turn, TurnCursor,
};
use crate::ports::{Clock, ConversationStore, Helpdesk, PortError};
use std::sync::Arc;

/// The escalation half: tickets for the helpdesk, and the conversation handed to a human.
pub struct EscalationDesk {
    /// Where tickets go.
    pub helpdesk: Arc<dyn Helpdesk>,
    /// Conversation state.
    pub conversations: Arc<dyn ConversationStore>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl EscalationDesk {
    /// Opens the ticket and marks the conversation human-owned. Safe to repeat: the helpdesk
    /// finds the ticket it already opened for this escalation.
    pub async fn handle(&self, escalation: &Escalation) -> Result<TicketRef, PortError> {
        let ticket = self.helpdesk.open_ticket(escalation).await?;
        let (tenant, id) = (&escalation.tenant, &escalation.conversation);
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
            ticket = %ticket.id,
            priority = ?escalation.priority,
            "escalation handed to the helpdesk"
        );
        Ok(ticket)
    }

    /// An agent's answer, stored as an agent turn of a conversation a human owns (the web chat
    /// widget shows it; push channels get it through their senders in Step 4).
    pub async fn agent_reply(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        text: &str,
    ) -> Result<Turn, PortError> {
        let current = self.conversations.conversation(tenant, conversation).await?;
        if !current.is_some_and(|c| c.state.human_owned()) {
            return Err(PortError::Conflict { port: "conversation store" });
        }
        let id = MessageId::generate();
        let at = self.clock.now();
        let turn = Turn {
            cursor: TurnCursor::new(at, &id),
            id,
            role: Role::Agent,
            text: text.to_string(),
            at,
            intent: None,
            delivered: false,
        };
        self.conversations.append_turn(tenant, conversation, &turn).await?;
        Ok(turn)
    }

    /// The ticket is solved: the bot answers again.
    pub async fn release(&self, tenant: &TenantId, conversation: &ConversationId) -> Result<(), PortError> {
        let Some(current) = self.conversations.conversation(tenant, conversation).await? else {
            return Err(PortError::Corrupt { port: "conversation store", detail: "no such conversation".into() });
        };
        if current.state.human_owned() {
            self.conversations.transition(tenant, conversation, &current.state, &ConversationState::Bot).await?;
        }
        Ok(())
    }
}
