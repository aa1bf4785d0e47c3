//! A customer's rating of the bot's answer: a message that is only 👍 or 👎, right after the
//! bot answered, while the bot owns the conversation. It is recorded with the intent it rates
//! (the report's satisfaction per intent) and a 👎 hands over, as the tenant's policy says.

use super::*;
use switchboard_core::domain::{ClassifierSource, Rating, Sentiment};

/// The rating `message` is: only right after a bot answer, in a conversation the bot owns (to
/// a person, a thumb is just a message).
pub(super) fn rating_of(message: &InboundMessage, conversation: &Conversation, history: &[Turn]) -> Option<Rating> {
    let answered = history.last().is_some_and(|t| t.role == Role::Bot);
    (answered && conversation.state == ConversationState::Bot).then(|| Rating::of(&message.text)).flatten()
}

impl Responder {
    /// Records `rating` of the bot's last answer and does what the policy says.
    pub(super) async fn rated(
        &self,
        tenant: &Tenant,
        conversation: &mut Conversation,
        message: &InboundMessage,
        customer: Option<&Customer>,
        history: &[Turn],
        rating: Rating,
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
        let decision = crate::policy::on_rating(&tenant.config.policy, rating);
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
        outcome.rating = Some(rating);
        Ok(((classification, decision), Done { outcome, channel: Some(message.channel) }))
    }
}
