use super::{capacity, lock};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use switchboard_core::domain::{ConversationId, MessageId, TenantId, TicketRef};
use switchboard_core::ports::{PortError, TicketStore};

/// Tickets by escalation and conversations by ticket, in maps.
#[derive(Debug, Default)]
pub struct MemoryTickets {
    by_escalation: Mutex<HashMap<(TenantId, MessageId), (TicketRef, ConversationId)>>,
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
        // As the DynamoDB adapter: the reverse link, then the escalation's record.
        capacity::write(capacity::ticket_link(tenant, ticket, conversation));
        capacity::write(capacity::ticket_record(tenant, escalation, ticket, conversation));
        lock(&self.by_escalation)
            .entry((tenant.clone(), escalation.clone()))
            .or_insert_with(|| (ticket.clone(), conversation.clone()));
        lock(&self.by_ticket)
            .insert((tenant.clone(), ticket.helpdesk.clone(), ticket.id.clone()), conversation.clone());
        Ok(())
    }

    async fn ticket_for(&self, tenant: &TenantId, escalation: &MessageId) -> Result<Option<TicketRef>, PortError> {
        let found = lock(&self.by_escalation).get(&(tenant.clone(), escalation.clone())).cloned();
        capacity::read(found.as_ref().map_or(0, |(t, c)| capacity::ticket_record(tenant, escalation, t, c)));
        Ok(found.map(|(ticket, _)| ticket))
    }

    async fn conversation_for(
        &self,
        tenant: &TenantId,
        helpdesk: &str,
        id: &str,
    ) -> Result<Option<ConversationId>, PortError> {
        let found = lock(&self.by_ticket).get(&(tenant.clone(), helpdesk.to_string(), id.to_string())).cloned();
        let ticket = TicketRef { helpdesk: helpdesk.to_string(), id: id.to_string(), url: None };
        capacity::read(found.as_ref().map_or(0, |c| capacity::ticket_link(tenant, &ticket, c)));
        Ok(found)
    }
}
