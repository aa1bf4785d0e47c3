use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::domain::{AgentEvent, Conversation, ConversationId, InboundMessage, MessageId, Work};
use switchboard_core::ports::{
    Claim, Clock, ConversationStore, IdempotencyKey, IdempotencyStore, MessageQueue, PortError,
};

/// How long an in-progress claim blocks a repeat before it counts as crashed: longer than the
/// inbound function's timeout, so a slow attempt is never doubled.
const LOCK_FOR: Duration = Duration::from_secs(30);
/// How long a repeat delivery is recognised: as long as the conversation it belongs to is kept
/// (turns live 90 days). Providers redeliver for hours (Meta for up to 7 days), but a recorded
/// request whose proof carries no timestamp (Twilio, Postmark, Freshdesk) can be replayed at any
/// time, and within the transcript's life a replay must be the same message, not a new one. A
/// claim is a small item: 90 days of them cost cents (docs/design.md, Step 10).
const KEEP_FOR: Duration = Duration::from_secs(90 * 24 * 3600);

/// What the provider is told: the message is safely queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The conversation the message belongs to.
    pub conversation_id: ConversationId,
    /// Our id of the message.
    pub message_id: MessageId,
}

/// Why a message was not accepted. Every variant leaves nothing behind, and every one tells the
/// provider to retry later.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    /// The same delivery is being processed right now.
    #[error("the same message is already being processed")]
    InProgress,
    /// The queue refused the message.
    #[error("message queue unavailable")]
    QueueUnavailable(#[source] PortError),
    /// A store failed.
    #[error("store unavailable")]
    Store(#[source] PortError),
}

/// The inbound half: from a verified, normalised message to a queued one.
pub struct Inbound {
    /// Recognises repeat deliveries.
    idempotency: Arc<dyn IdempotencyStore>,
    /// The messages queue.
    queue: Arc<dyn MessageQueue>,
    /// Where new conversations are created.
    conversations: Arc<dyn ConversationStore>,
    /// The time.
    clock: Arc<dyn Clock>,
}

impl Inbound {
    /// Claims deliveries in `idempotency`, creates conversations in `conversations` and
    /// queues messages on `queue`.
    pub fn new(
        idempotency: Arc<dyn IdempotencyStore>,
        queue: Arc<dyn MessageQueue>,
        conversations: Arc<dyn ConversationStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { idempotency, queue, conversations, clock }
    }

    /// Where deliveries are claimed (the long poll leases through it too).
    pub fn idempotency(&self) -> &Arc<dyn IdempotencyStore> {
        &self.idempotency
    }

    /// Claims the delivery, creates the conversation when it is new, enqueues, and acks. A
    /// repeat delivery gets the first one's ack and is not enqueued again. On failure, the
    /// claim and a newly created conversation are rolled back so the provider's retry starts
    /// clean.
    pub async fn accept(
        &self,
        message: InboundMessage,
        new_conversation: Option<Conversation>,
    ) -> Result<Ack, InboundError> {
        switchboard_core::meter::report(|m| m.channel = Some(message.channel));
        let key = idempotency_key(&message);
        let now = self.clock.now();
        match self.idempotency.claim(&key, now, LOCK_FOR).await.map_err(InboundError::Store)? {
            Claim::Completed(previous) => {
                return serde_json::from_value(previous).map_err(|e| {
                    InboundError::Store(PortError::Corrupt { port: "idempotency store", detail: e.to_string() })
                });
            }
            Claim::InProgress => return Err(InboundError::InProgress),
            Claim::Acquired => {}
        }
        if let Err((error, created)) = self.enqueue(&message, new_conversation.as_ref()).await {
            self.roll_back(&key, new_conversation.as_ref().filter(|_| created)).await;
            return Err(error);
        }
        let ack = Ack { conversation_id: message.conversation.clone(), message_id: message.id.clone() };
        let response = serde_json::to_value(&ack).unwrap_or_default();
        if let Err(error) = self.idempotency.complete(&key, &response, now, KEEP_FOR).await {
            // The message is queued: acking is right. The lock expires on its own; the queue's
            // deduplication id covers a retry in between.
            tracing::warn!(%error, "could not mark the message done; its lock will expire");
        }
        Ok(ack)
    }

    /// Creates the conversation if asked and enqueues; on failure, says whether the
    /// conversation was created here (and so must be rolled back).
    async fn enqueue(
        &self,
        message: &InboundMessage,
        new_conversation: Option<&Conversation>,
    ) -> Result<(), (InboundError, bool)> {
        let mut created = false;
        if let Some(conversation) = new_conversation {
            match self.conversations.create_conversation(conversation).await {
                Ok(()) => created = true,
                // Another first message of the same address won the race: the thread exists.
                Err(PortError::Conflict { .. }) => {}
                Err(e) => return Err((InboundError::Store(e), false)),
            }
        }
        let work = Work::Customer(Box::new(message.clone()));
        self.queue.enqueue(&work).await.map_err(|e| (InboundError::QueueUnavailable(e), created))
    }

    /// Queues an agent's action from a verified helpdesk callback, once per helpdesk event:
    /// the same claim, enqueue, complete as a customer message, so a helpdesk's retry is harmless.
    pub async fn accept_agent(&self, event: AgentEvent) -> Result<(), InboundError> {
        let key = IdempotencyKey(switchboard_core::keys::partition::agent_event(&event.tenant, &event.id));
        let now = self.clock.now();
        match self.idempotency.claim(&key, now, LOCK_FOR).await.map_err(InboundError::Store)? {
            Claim::Completed(_) => return Ok(()),
            Claim::InProgress => return Err(InboundError::InProgress),
            Claim::Acquired => {}
        }
        if let Err(error) = self.queue.enqueue(&Work::Agent(event)).await {
            self.roll_back(&key, None).await;
            return Err(InboundError::QueueUnavailable(error));
        }
        if let Err(error) = self.idempotency.complete(&key, &serde_json::json!({}), now, KEEP_FOR).await {
            tracing::warn!(%error, "could not mark the agent event done; its lock will expire");
        }
        Ok(())
    }

    async fn roll_back(&self, key: &IdempotencyKey, new_conversation: Option<&Conversation>) {
        if let Some(c) = new_conversation
            && let Err(error) = self.conversations.delete_conversation(&c.tenant, &c.id).await
        {
            tracing::error!(%error, "could not roll back a new conversation");
        }
        if let Err(error) = self.idempotency.release(key).await {
            tracing::error!(%error, "could not release an idempotency claim; it will expire");
        }
    }
}

/// `T#{tenant}#M#{channel}#{provider message id}`, as in the table design.
pub fn idempotency_key(message: &InboundMessage) -> IdempotencyKey {
    IdempotencyKey(switchboard_core::keys::partition::delivery(
        &message.tenant,
        message.channel,
        &message.provider_message_id,
    ))
}
