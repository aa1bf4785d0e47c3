//! Messages kept for the business to review (`ReviewItem`): a pilot's sampled decisions and
//! the questions handed to a person for want of an answer the bot trusted.

use super::*;

impl Responder {
    /// Messages kept for the business to review, stored with the conversation (never logged),
    /// as long as its turns: a sample of the decisions in intents the tenant pilots (`shadow`,
    /// `assist`; by message id, so a redelivery is sampled alike), and every question handed to
    /// a person because the bot had no answer it trusted — what to write next.
    pub(super) async fn keep_for_review(
        &self,
        tenant: &Tenant,
        message: &InboundMessage,
        c: &Classification,
        language: switchboard_core::domain::Language,
        decision: &Decision,
    ) -> Result<(), RespondError> {
        let rollout = &tenant.config.rollout;
        let mode = rollout.mode(c.intent.as_deref());
        let pilot = mode != RolloutMode::Auto && rollout.reviews(&message.id);
        let unanswered = matches!(decision, Decision::Escalate { escalation } if escalation.reasons.iter().any(|r| {
            matches!(r, Reason::NoGroundedAnswer | Reason::LowConfidence | Reason::Repeated { .. })
        }));
        if !pilot && !unanswered {
            return Ok(());
        }
        let would = match decision {
            Decision::Shadow { would } => would.as_ref(),
            other => other,
        };
        let (reply, reasons) = match would {
            Decision::Answer { reply } => (Some(reply.text.clone()), Vec::new()),
            Decision::AnswerAndEscalate { reply, escalation } => {
                (Some(reply.text.clone()), escalation.reasons.iter().map(Reason::words).collect())
            }
            Decision::Escalate { escalation } => (
                escalation.draft.as_ref().map(|d| d.text.clone()),
                escalation.reasons.iter().map(Reason::words).collect(),
            ),
            Decision::Silent | Decision::Shadow { .. } | Decision::Rated { .. } => (None, Vec::new()),
        };
        let item = ReviewItem {
            kind: if pilot { ReviewKind::Pilot } else { ReviewKind::Unanswered },
            conversation: message.conversation.clone(),
            message: message.id.clone(),
            at: self.clock.now(),
            channel: message.channel,
            mode,
            intent: c.intent.clone(),
            confidence: c.confidence,
            language,
            text: message.turn_text(),
            decision: would.name().to_string(),
            reply,
            reasons,
        };
        let keep = self.turns_kept_until(tenant);
        if pilot {
            self.conversations.add_review(&message.tenant, &item, keep).await?;
        }
        if unanswered {
            let item = ReviewItem { kind: ReviewKind::Unanswered, ..item };
            self.conversations.add_review(&message.tenant, &item, keep).await?;
        }
        Ok(())
    }
}
