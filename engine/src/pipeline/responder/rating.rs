//! A customer's rating of the bot's answer: a message that is only 👍 or 👎, right after the
//! bot answered, while the bot owns the conversation. It is recorded with the intent it rates
//! (the report's satisfaction per intent) and a 👎 hands over, as the tenant's policy says.

use super::*;
use switchboard_core::domain::{ClassifierSource, Rating, Sentiment};

/// A thumb sent while the bot owns the conversation (to a person, a thumb is just a message), and
/// whether it rates an answer: only one right after a bot answer does. Another (a second tap, a
/// tap after a reload) rates nothing and asks nothing.
pub(super) fn rating_of(
    message: &InboundMessage,
    conversation: &Conversation,
    history: &[Turn],
) -> Option<(Rating, bool)> {
    let rating = Rating::of(&message.text)?;
    // As the policy sees it: a handoff this very 👎 began (a redelivery) is still the bot's.
    if effective_state(conversation, message) != ConversationState::Bot {
        return None;
    }
    Some((rating, history.last().is_some_and(|t| t.role == Role::Bot)))
}

impl Responder {
    /// Records `rating` of the bot's last answer and does what the policy says; a thumb that
    /// `rates` nothing is recorded in the transcript only.
    pub(super) async fn rated(
        &self,
        tenant: &Tenant,
        conversation: &mut Conversation,
        message: &InboundMessage,
        customer: Option<&Customer>,
        history: &[Turn],
        (rating, rates): (Rating, bool),
    ) -> Result<((Classification, Decision), Done), RespondError> {
        // The answer rated is the one to the customer's last classified message.
        let intent = history.iter().rev().find(|t| t.role == Role::Customer).and_then(|t| t.intent.clone());
        let language = conversation.language.unwrap_or(tenant.config.default_language);
        let classification = Classification {
            intent,
            confidence: 1.0,
            top: Vec::new(),
            sentiment: Sentiment::from_score(0.0),
            urgency: switchboard_core::domain::Urgency::Normal,
            language: Some(language),
            wants_human: false,
            summary: None,
            source: ClassifierSource::Local,
        };
        let decision = if rates {
            crate::policy::on_rating(&tenant.config.policy, rating, customer)
        } else {
            Decision::Rated { rating }
        };
        // The thumb itself has no intent: it must not count as asking the same thing again.
        let turn = Turn::of_customer(message, None);
        self.conversations
            .append_turn(&message.tenant, &message.conversation, &turn, self.turns_kept_until(tenant))
            .await?;
        self.remember(tenant, conversation, message, language).await?;
        let ctx = Context { classification: &classification, customer, history, language };
        self.act(tenant, conversation, message, &decision, ctx).await?;
        tracing::info!(
            tenant = %message.tenant,
            channel = %message.channel,
            request_id = %message.request_id,
            rating = ?rating,
            intent = classification.intent.as_deref().unwrap_or("-"),
            decision = decision.name(),
            "answer rated"
        );
        let mut outcome = message_outcome(&classification, &decision, language);
        outcome.rating = rates.then_some(rating);
        Ok(((classification, decision), Done { outcome, channel: Some(message.channel) }))
    }
}
