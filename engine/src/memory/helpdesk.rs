use async_trait::async_trait;
use std::sync::Mutex;
use switchboard_core::domain::{Escalation, TicketComment, TicketRef};
use switchboard_core::ports::{Helpdesk, PortError};
use switchboard_core::sync::lock;

/// The local helpdesk: prints each escalation on the console and keeps it for
/// `GET /local/escalations`.
#[derive(Debug, Default)]
pub struct ConsoleHelpdesk {
    tickets: Mutex<Vec<(TicketRef, Escalation)>>,
    comments: Mutex<Vec<TicketComment>>,
    quiet: bool,
}

impl ConsoleHelpdesk {
    /// A helpdesk that does not print (tests).
    pub fn quiet() -> Self {
        Self { tickets: Mutex::default(), comments: Mutex::default(), quiet: true }
    }

    /// Every comment appended so far, oldest first.
    pub fn comments(&self) -> Vec<TicketComment> {
        lock(&self.comments).clone()
    }

    /// Every ticket opened so far, oldest first.
    pub fn tickets(&self) -> Vec<(TicketRef, Escalation)> {
        lock(&self.tickets).clone()
    }
}

#[async_trait]
impl Helpdesk for ConsoleHelpdesk {
    async fn open_ticket(&self, escalation: &Escalation) -> Result<TicketRef, PortError> {
        let mut tickets = lock(&self.tickets);
        if let Some((ticket, _)) = tickets.iter().find(|(_, e)| e.id == escalation.id && e.tenant == escalation.tenant)
        {
            return Ok(ticket.clone());
        }
        let ticket = TicketRef { helpdesk: "console".into(), id: format!("LOCAL-{}", tickets.len() + 1), url: None };
        if self.quiet {
            // Deployed (or in tests) nobody watches a console: say so where operators look.
            tracing::warn!(
                tenant = %escalation.tenant,
                escalation = %escalation.id,
                "helpdesk kind `console`: this escalation is only logged; configure a helpdesk so a person sees it"
            );
        }
        if !self.quiet {
            // The console helpdesk is the local operator's screen, so it shows the message.
            println!(
                "\n=== escalation {} [{:?}] tenant={} conversation={} ===\n  {}\n  reasons: {}\n",
                ticket.id,
                escalation.priority,
                escalation.tenant,
                escalation.conversation,
                escalation.summary,
                serde_json::to_string(&escalation.reasons).unwrap_or_default(),
            );
        }
        tickets.push((ticket.clone(), escalation.clone()));
        Ok(ticket)
    }

    async fn add_comment(&self, comment: &TicketComment) -> Result<(), PortError> {
        let mut comments = lock(&self.comments);
        if comments.iter().any(|c| c.message == comment.message && c.tenant == comment.tenant) {
            return Ok(());
        }
        if !self.quiet {
            let ticket = comment.ticket.as_ref().map_or("(pending)", |t| t.id.as_str());
            println!("\n=== ticket {ticket}: the customer wrote again ===\n  {}\n", comment.text);
        }
        comments.push(comment.clone());
        Ok(())
    }
}
