//! Tickets and the conversations they belong to.

use super::*;

/// Tickets by escalation (`T#{tenant}#E#{escalation}` / `TICKET`) and conversations by ticket
/// (`T#{tenant}#K#{helpdesk}#{ticket}` / `TICKET`), kept for a year.
#[derive(Debug, Clone)]
pub struct DynamoTickets {
    table: Table,
}

impl DynamoTickets {
    /// Ticket links in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }
}

const TICKETS: &str = "ticket store";
const TICKET_RETENTION: chrono::Duration = chrono::Duration::days(365);

#[async_trait]
impl TicketStore for DynamoTickets {
    async fn record_ticket(
        &self,
        tenant: &TenantId,
        escalation: &MessageId,
        conversation: &ConversationId,
        ticket: &TicketRef,
    ) -> Result<(), PortError> {
        let ttl = n((Utc::now() + TICKET_RETENTION).timestamp());
        // The reverse link first: once the escalation's record exists, callbacks must resolve.
        let link = Item::from([
            ("pk".to_string(), s(partition::ticket(tenant, &ticket.helpdesk, &ticket.id))),
            ("sk".to_string(), s("TICKET")),
            ("conversation".to_string(), s(conversation.as_str())),
            ("ttl".to_string(), ttl.clone()),
        ]);
        self.table.put(TICKETS, link).await?;
        let record = Item::from([
            ("pk".to_string(), s(partition::escalation(tenant, escalation))),
            ("sk".to_string(), s("TICKET")),
            ("data".to_string(), s(to_json(TICKETS, ticket)?)),
            ("conversation".to_string(), s(conversation.as_str())),
            ("ttl".to_string(), ttl),
        ]);
        self.table.put(TICKETS, record).await
    }

    async fn ticket_for(&self, tenant: &TenantId, escalation: &MessageId) -> Result<Option<TicketRef>, PortError> {
        let item = self.table.get(TICKETS, partition::escalation(tenant, escalation), "TICKET").await?;
        item.map(|i| json(TICKETS, &i, "data")).transpose()
    }

    async fn conversation_for(
        &self,
        tenant: &TenantId,
        helpdesk: &str,
        id: &str,
    ) -> Result<Option<ConversationId>, PortError> {
        let item = self.table.get(TICKETS, partition::ticket(tenant, helpdesk, id), "TICKET").await?;
        item.and_then(|i| text(&i, "conversation").map(ConversationId::new))
            .transpose()
            .map_err(|e| corrupt(TICKETS, e))
    }
}
