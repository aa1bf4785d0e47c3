use super::lock;
use crate::domain::{ConversationId, MessageId, TenantId, TicketRef};
use crate::ports::{PortError, TicketStore};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// Tickets by escalation and conversations by ticket, in maps.
#[derive(Debug, Default)]
pub struct MemoryTickets {
    by_escalation: Mutex<HashMap<(TenantId, MessageId), TicketRef>>,
    by_ticket: Mutex<HashMap<(TenantId, String, String), ConversationId>>,
}

#[async_trait]
impl TicketStore for MemoryTickets {
    async fn record_ticket(
        &self,
        tenant: &TenantId,
        escalation: &MessageId,
        conversation: &ConversationId,
        ticket: &TicketRef,
    ) -> Result<(), PortError> {
        lock(&self.by_escalation).entry((tenant.clone(), escalation.clone())).or_insert_with(|| ticket.clone());
        lock(&self.by_ticket)
            .insert((tenant.clone(), ticket.helpdesk.clone(), ticket.id.clone()), conversation.clone());
        Ok(())
    }

    async fn ticket_for(&self, tenant: &TenantId, escalation: &MessageId) -> Result<Option<TicketRef>, PortError> {
        Ok(lock(&self.by_escalation).get(&(tenant.clone(), escalation.clone())).cloned())
    }

    async fn conversation_for(
        &self,
        tenant: &TenantId,
        helpdesk: &str,
        id: &str,
    ) -> Result<Option<ConversationId>, PortError> {
        Ok(lock(&self.by_ticket).get(&(tenant.clone(), helpdesk.to_string(), id.to_string())).cloned())
    }
}
