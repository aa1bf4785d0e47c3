//! What the agent reads: one text every helpdesk gets, with only what the tenant shares.

use std::fmt::Write;
use switchboard_core::domain::{Escalation, Priority, Role, SentimentLabel, Urgency};
use switchboard_engine::tenant::ShareConfig;

/// A ticket's subject, body and requester, built from an escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketText {
    /// One line: what and why.
    pub subject: String,
    /// Classification, priority, profile highlights, transcript, the bot's draft.
    pub body: String,
    /// The customer's name, when the tenant shares contact details.
    pub requester_name: Option<String>,
    /// The customer's e-mail, when the tenant shares contact details.
    pub requester_email: Option<String>,
}

impl TicketText {
    /// The text of `escalation` under the tenant's sharing rules.
    pub fn of(e: &Escalation, share: &ShareConfig) -> Self {
        let mut body = String::new();
        let _ = writeln!(body, "{}\n", e.summary);
        let mut facts = vec![format!("Priority: {}", priority_name(e.priority))];
        facts.push(format!("Intent: {}", e.intent.as_deref().unwrap_or("unclassified")));
        if let Some(s) = e.sentiment {
            let label = match s.label {
                SentimentLabel::Negative => "negative",
                SentimentLabel::Neutral => "neutral",
                SentimentLabel::Positive => "positive",
            };
            facts.push(format!("Sentiment: {label} ({:+.2})", s.score));
        }
        if let Some(u) = e.urgency {
            let name = match u {
                Urgency::Low => "low",
                Urgency::Normal => "normal",
                Urgency::High => "high",
            };
            facts.push(format!("Urgency: {name}"));
        }
        facts.push(format!("Language: {}", e.language));
        facts.push(format!("Channel: {}", e.channel));
        let _ = writeln!(body, "{}", facts.join(" · "));
        let _ = writeln!(body, "Conversation: {}", e.conversation);
        if e.sender_unverified {
            let _ = writeln!(
                body,
                "Sender: NOT verified — the e-mail's From address failed or lacked authentication; do not trust it as the customer's identity."
            );
        }
        if share.profile
            && let Some(c) = &e.customer
        {
            let mut line = format!("Customer: {} (tier {})", c.name, if c.tier.is_empty() { "-" } else { &c.tier });
            if let Some(o) = c.last_order() {
                let _ = write!(line, " · last order {} ({})", o.id, o.status);
            }
            let _ = writeln!(body, "{line}");
        }
        if share.transcript && !e.transcript.is_empty() {
            let _ = writeln!(body, "\nRecent conversation:");
            for t in &e.transcript {
                let who = match t.role {
                    Role::Customer => "customer",
                    Role::Bot => "bot",
                    Role::Agent => "agent",
                    Role::System => "system",
                };
                let _ = writeln!(body, "[{} {who}] {}", t.at.format("%Y-%m-%d %H:%M"), t.text);
            }
        }
        if let Some(draft) = &e.draft {
            let _ = writeln!(body, "\nThe bot's draft answer (not sent):\n{draft}");
        }
        let contact = e.customer.as_ref().filter(|_| share.contact);
        Self {
            subject: e.summary.chars().take(150).collect(),
            body,
            requester_name: contact.map(|c| c.name.clone()),
            requester_email: contact.and_then(|c| c.emails.first().cloned()),
        }
    }
}

fn priority_name(p: Priority) -> &'static str {
    match p {
        Priority::Low => "low",
        Priority::Normal => "normal",
        Priority::High => "high",
        Priority::Urgent => "urgent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::domain::{Channel, ConversationId, Language, MessageId, Reason, TenantId, Turn, TurnCursor};

    fn escalation(sender_unverified: bool) -> Escalation {
        let now = chrono::Utc::now();
        let id = MessageId::generate();
        let turn = Turn::new(id.clone(), TurnCursor::new(now, &id), Role::Customer, "I want to speak to a human", now);
        Escalation {
            id,
            tenant: TenantId::new("demo").unwrap(),
            conversation: ConversationId::new("c_1").unwrap(),
            channel: Channel::Email,
            customer_id: None,
            sender_unverified,
            customer: None,
            priority: Priority::High,
            reasons: vec![Reason::HumanRequested],
            summary: "asked for a person".into(),
            intent: Some("human_agent".into()),
            sentiment: None,
            urgency: None,
            language: Language::EN,
            transcript: vec![turn],
            draft: None,
            created_at: now,
            request_id: "r".into(),
        }
    }

    #[test]
    fn the_ticket_of_an_unverified_sender_says_so() {
        let text = TicketText::of(&escalation(true), &ShareConfig::default());
        assert!(text.body.contains("Sender: NOT verified"), "{}", text.body);
        let text = TicketText::of(&escalation(false), &ShareConfig::default());
        assert!(!text.body.contains("NOT verified"), "{}", text.body);
    }
}
