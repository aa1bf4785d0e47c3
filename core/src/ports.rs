//! The ports the pipeline needs: small traits named for a capability. Each has a memory adapter
//! (the embedded default) and, from Step 2 on, an AWS one; both pass the same contract tests.

use crate::config::{FaqEntry, Secret};
use crate::domain::{
    Classification, Conversation, ConversationId, ConversationState, Customer, CustomerId, Escalation, EscalationJob,
    Language, MessageId, Order, ReviewItem, ReviewKind, TenantId, TicketComment, TicketRef, Turn, TurnCursor, Work,
};
use crate::ledger::{CostRecord, DayTotals, Month};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

/// A port could not do its job. `Unavailable` is worth retrying; the others are not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The backing service is down, throttling or timed out.
    #[error("{port} unavailable: {detail}")]
    Unavailable {
        /// Which port.
        port: &'static str,
        /// What happened (no personal data).
        detail: String,
    },
    /// A conditional write lost: someone else changed the item first.
    #[error("{port}: conflicting write")]
    Conflict {
        /// Which port.
        port: &'static str,
    },
    /// The service asked us to come back later (HTTP 429 with `Retry-After`).
    #[error("{port} rate limited: retry after {}s", retry_after.as_secs())]
    RateLimited {
        /// Which port.
        port: &'static str,
        /// How long to wait.
        retry_after: Duration,
    },
    /// The service refused the request for good (bad credentials, invalid request): retrying
    /// the same request will not help.
    #[error("{port} refused: {detail}")]
    Rejected {
        /// Which port.
        port: &'static str,
        /// What it said (no personal data).
        detail: String,
    },
    /// Stored data could not be read back.
    #[error("{port}: corrupt record: {detail}")]
    Corrupt {
        /// Which port.
        port: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The deployment is misconfigured: a resource it needs is missing or not allowed
    /// (AccessDenied, ResourceNotFound, a missing queue or SSM parameter, a tenant that does not
    /// compile). Retrying does not help until an operator fixes it.
    #[error("{port} misconfigured: {detail}")]
    Misconfigured {
        /// Which port.
        port: &'static str,
        /// Which resource, and what is wrong (no personal data).
        detail: String,
    },
}

/// Until when a stored item is kept (the tenant's `data.retention`); `None` keeps it until it is
/// erased. The table's TTL deletes an expired item within days, not at once, so every read
/// treats it as deleted already ([`expired`]).
pub type KeepUntil = Option<DateTime<Utc>>;

/// Whether an item kept until `until` is gone at `now`.
pub fn expired(until: KeepUntil, now: DateTime<Utc>) -> bool {
    until.is_some_and(|until| until <= now)
}

/// Whether an unchanged item kept until `stored` must be written again to be kept until
/// `wanted`: always to shorten it or to add or remove an expiry; to lengthen it, only once it
/// would otherwise expire sooner than wanted by more than a tenth of its retention. So a
/// nightly re-import of an unchanged shop rewrites each profile about once per tenth of its
/// retention, not every night.
pub fn refresh_due(stored: KeepUntil, wanted: KeepUntil, now: DateTime<Utc>) -> bool {
    match (stored, wanted) {
        (None, None) => false,
        (Some(stored), Some(wanted)) => stored > wanted || wanted - stored > (wanted - now) / 10,
        _ => true,
    }
}

/// Customer profiles, their orders and the identities that find them: data the business keeps
/// current (imports, its data API, shop webhooks), stored apart from the tenant's configuration.
/// Each write says until when its items are kept; a put keeps the profile's orders that it does
/// not carry until they were last kept.
#[async_trait]
pub trait CustomerStore: Send + Sync {
    /// The profile of `id` with its newest orders (newest first, at most [`ORDERS_READ`]), if
    /// the tenant has one.
    async fn customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<Option<Customer>, PortError>;
    /// Creates or replaces a profile and links its identities (phones, e-mails) to it; links it
    /// no longer lists are removed unless another customer has taken them. The orders it carries
    /// are stored, replacing those with the same number; other stored orders are kept, so a
    /// profile update from a shop never loses the orders its webhooks delivered.
    async fn put_customer(&self, tenant: &TenantId, customer: &Customer, keep: KeepUntil) -> Result<(), PortError>;
    /// [`Self::put_customer`] for many profiles (an import): the same outcome, in fewer calls
    /// where the store can batch. Ids must be distinct. An unchanged profile may be left as
    /// stored unless [`refresh_due`] says its expiry must move.
    async fn put_customers(&self, tenant: &TenantId, customers: &[Customer], keep: KeepUntil) -> Result<(), PortError> {
        for customer in customers {
            self.put_customer(tenant, customer, keep).await?;
        }
        Ok(())
    }
    /// Creates or replaces one order of customer `id`; `Rejected` when the tenant holds no
    /// (unexpired) profile of that id.
    async fn put_order(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
        order: &Order,
        keep: KeepUntil,
    ) -> Result<(), PortError>;
    /// Removes a profile, all its orders and the identity links that point at it. Erasing a
    /// customer who is not there is not an error; `false` says nothing was held.
    async fn erase_customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<bool, PortError>;
    /// The customer a channel identity (`phone:+34600111222`) belongs to, if the tenant knows.
    async fn customer_for(&self, tenant: &TenantId, identity: &str) -> Result<Option<CustomerId>, PortError>;
    /// Records that `conversation` is one of customer `id`'s (written when a verified message
    /// first binds it), so an export or an erasure finds it. Erasure removes the record too.
    async fn link_conversation(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
        conversation: &ConversationId,
    ) -> Result<(), PortError>;
    /// The conversations linked to customer `id`.
    async fn conversations_of(&self, tenant: &TenantId, id: &CustomerId) -> Result<Vec<ConversationId>, PortError>;
}

/// The business's own system, asked for a verified customer's current orders when a message is
/// about them (a tenant's `data.lookups.orders`): what the store holds may be an hour old.
#[async_trait]
pub trait OrderLookup: Send + Sync {
    /// `customer`'s current orders (newest first), as the tenant's system says. The caller
    /// bounds the wait; an error or a late answer leaves the stored orders in use.
    async fn orders(&self, tenant: &TenantId, customer: &Customer) -> Result<Vec<Order>, PortError>;
}

/// How many of a customer's orders a profile read brings (the newest by number): enough for any
/// question a customer asks, and a bounded read for a customer with years of orders.
pub const ORDERS_READ: usize = 50;

/// Conversations and their turns.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// The conversation, if it exists.
    async fn conversation(&self, tenant: &TenantId, id: &ConversationId) -> Result<Option<Conversation>, PortError>;
    /// Creates a conversation; `Conflict` when it already exists. Its record is kept
    /// [`DEFAULT_CONVERSATION_DAYS`] until the first [`Activity`] says how long.
    async fn create_conversation(&self, conversation: &Conversation) -> Result<(), PortError>;
    /// Records what the responder learned from a customer message. Never touches the state,
    /// so it cannot undo a handoff made meanwhile by the escalation function.
    async fn record_activity(
        &self,
        tenant: &TenantId,
        id: &ConversationId,
        activity: &Activity,
    ) -> Result<(), PortError>;
    /// Moves the state from `from` to `to`; `Conflict` when the state is no longer `from`.
    async fn transition(
        &self,
        tenant: &TenantId,
        id: &ConversationId,
        from: &ConversationState,
        to: &ConversationState,
    ) -> Result<(), PortError>;
    /// Deletes a conversation and its turns (rolling back a failed first message).
    async fn delete_conversation(&self, tenant: &TenantId, id: &ConversationId) -> Result<(), PortError>;
    /// Stores a turn, kept until `keep`. Writing the same turn (same cursor) twice keeps one,
    /// with its first `seq`.
    async fn append_turn(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        turn: &Turn,
        keep: DateTime<Utc>,
    ) -> Result<(), PortError>;
    /// The turn at `cursor`, if stored (and not expired).
    async fn turn(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        cursor: &TurnCursor,
    ) -> Result<Option<Turn>, PortError>;
    /// Turns written after the turn whose `seq` is `after` (all when `None`), in the order they
    /// were written, at most `limit`: a poller following the last `seq` it saw sees every turn
    /// once, whatever the turns' timestamps.
    async fn turns_after(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Turn>, PortError>;
    /// The newest `limit` turns, oldest first. Expired turns are never returned by any read.
    async fn recent_turns(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        limit: usize,
    ) -> Result<Vec<Turn>, PortError>;
    /// Keeps a pilot decision for the business to review, with its conversation (deleting the
    /// conversation deletes it), until `keep`. Writing the same message's item again replaces it.
    async fn add_review(&self, tenant: &TenantId, item: &ReviewItem, keep: DateTime<Utc>) -> Result<(), PortError>;
    /// The tenant's newest `limit` review items of `kind`, newest first; never an expired one or
    /// one whose conversation was deleted.
    async fn reviews(&self, tenant: &TenantId, kind: ReviewKind, limit: usize) -> Result<Vec<ReviewItem>, PortError>;
}

/// What one customer message tells about its conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// The language the conversation now runs in.
    pub language: Language,
    /// When the customer wrote.
    pub last_inbound_at: DateTime<Utc>,
    /// A verified customer: bound to the conversation if none is yet (never replaced).
    pub customer: Option<CustomerId>,
    /// The provider's thread reference of this message, when it has one.
    pub thread: Option<String>,
    /// Until when the conversation's record is kept (its turns' retention after this message).
    pub keep: DateTime<Utc>,
}

/// Days a new conversation's record is kept before its first message's [`Activity`] sets the
/// tenant's retention (the default `data.retention.turns_days`).
pub const DEFAULT_CONVERSATION_DAYS: i64 = 90;

/// The key of one provider delivery: tenant, channel and the provider's message id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(pub String);

/// The outcome of claiming a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// First delivery (or an expired lock): go ahead.
    Acquired,
    /// Another attempt holds the lock and has not finished.
    InProgress,
    /// Already done: answer the provider with the stored response.
    Completed(serde_json::Value),
}

/// Makes provider retries harmless: claim, do the work, complete (or release on failure).
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` with a lock that expires after `lock_for`, so a crashed attempt cannot block
    /// the key forever.
    async fn claim(&self, key: &IdempotencyKey, now: DateTime<Utc>, lock_for: Duration) -> Result<Claim, PortError>;
    /// Marks `key` done with the response to repeat, kept for `keep_for`.
    async fn complete(
        &self,
        key: &IdempotencyKey,
        response: &serde_json::Value,
        now: DateTime<Utc>,
        keep_for: Duration,
    ) -> Result<(), PortError>;
    /// Drops the lock after a failure, so the provider's retry can go ahead.
    async fn release(&self, key: &IdempotencyKey) -> Result<(), PortError>;
}

/// The messages queue between the inbound and responder halves: customer messages and agent
/// actions, in order per conversation.
#[async_trait]
pub trait MessageQueue: Send + Sync {
    /// Enqueues a verified, normalised customer message or agent action.
    async fn enqueue(&self, work: &Work) -> Result<(), PortError>;
}

/// The escalation queue between the responder and escalation halves.
#[async_trait]
pub trait EscalationQueue: Send + Sync {
    /// Enqueues a ticket to open or a comment to append.
    async fn enqueue(&self, job: &EscalationJob) -> Result<(), PortError>;
}

/// What the hosted model is asked to classify.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifyRequest {
    /// The customer's text (data, never instructions).
    pub text: String,
    /// The tenant's catalogue: (name, description).
    pub intents: Vec<(String, String)>,
    /// The tenant's languages.
    pub languages: Vec<Language>,
}

/// Tokens a model call used, from the model's own response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelUsage {
    /// Input tokens.
    pub input_tokens: u32,
    /// Output tokens.
    pub output_tokens: u32,
}

/// A hosted model's classification and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct HostedClassification {
    /// The classification (source `Hosted`).
    pub classification: Classification,
    /// Tokens used.
    pub usage: ModelUsage,
}

/// Why the hosted model gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Not configured, down, throttled past our retries, or too slow.
    #[error("model unavailable: {0}")]
    Unavailable(String),
    /// It answered, but not in the shape we asked for.
    #[error("model output rejected: {0}")]
    InvalidOutput(String),
}

/// What the hosted model is asked to answer: the customer's text and only the context it may
/// answer from.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    /// The customer's text (data, never instructions).
    pub text: String,
    /// The language to answer in.
    pub language: Language,
    /// The business's name.
    pub business: String,
    /// The knowledge-base entries the answer may use.
    pub entries: Vec<FaqEntry>,
    /// The verified customer's profile, if any.
    pub customer: Option<Customer>,
}

/// A grounded answer and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The answer.
    pub text: String,
    /// Ids of the entries it used (at least one, all from the request).
    pub entries: Vec<String>,
    /// Tokens used.
    pub usage: ModelUsage,
}

/// The hosted language model (Bedrock in production).
#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// Classifies a message against the tenant's catalogue.
    async fn classify(&self, request: &ClassifyRequest) -> Result<HostedClassification, ModelError>;

    /// Answers from the given context only; `Ok(None)` when the context does not answer it.
    async fn generate(&self, _request: &GenerateRequest) -> Result<Option<Generated>, ModelError> {
        Err(ModelError::Unavailable("this model does not generate answers".into()))
    }
}

/// Allowances per tenant and time window (hosted-model calls for anonymous visitors, say):
/// counted where every function instance sees the same count.
#[async_trait]
pub trait Allowances: Send + Sync {
    /// Takes one unit of `what` for `tenant` in the window that starts at `window`; `false`
    /// when `limit` units were already taken in it.
    async fn take(&self, tenant: &TenantId, what: &str, window: DateTime<Utc>, limit: u32) -> Result<bool, PortError>;

    /// Adds `n` units of `what` for `tenant` in the window that starts at `window`, whatever was
    /// taken, and returns the window's total: counting without refusing, for limits an instance
    /// enforces from the totals it hears ([`switchboard_engine::limits`]).
    async fn add(&self, tenant: &TenantId, what: &str, window: DateTime<Utc>, n: u32) -> Result<u64, PortError>;
}

/// A message for the customer, on its way out through the channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound<'a> {
    /// The conversation (channel and address).
    pub conversation: &'a Conversation,
    /// The turn to deliver.
    pub turn: &'a Turn,
    /// Which part of the turn this is (0-based; see `Channel::parts`).
    pub part: usize,
    /// The part's text.
    pub text: &'a str,
    /// An earlier attempt may have sent this part (its answer was lost, or the message is being
    /// redelivered): a sender that can ask the provider looks before sending.
    pub maybe_sent: bool,
}

impl Outbound<'_> {
    /// A key naming this part of this turn, for providers that store one with the message.
    pub fn key(&self) -> String {
        format!("{}.p{}", self.turn.id, self.part)
    }
}

/// Delivers answers through the conversation's channel (Twilio, Meta...). The web chat needs no
/// delivery: the widget fetches stored turns.
#[async_trait]
pub trait ChannelSender: Send + Sync {
    /// Sends one message.
    async fn send(&self, outbound: Outbound<'_>) -> Result<(), PortError>;
}

/// Opens tickets for escalations and appends to them.
#[async_trait]
pub trait Helpdesk: Send + Sync {
    /// Opens the ticket for `escalation`; for an escalation retried after an unknown outcome (a
    /// timeout), finds the ticket the first attempt opened instead of opening a second.
    async fn open_ticket(&self, escalation: &Escalation) -> Result<TicketRef, PortError>;
    /// Appends a customer message to the ticket.
    async fn add_comment(&self, comment: &TicketComment) -> Result<(), PortError>;
}

/// Which ticket belongs to which escalation and conversation: a redelivered escalation finds
/// its ticket without asking the helpdesk, and a helpdesk callback finds its conversation.
#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Records that `escalation` of `conversation` opened `ticket`. Recording it again is a no-op.
    async fn record_ticket(
        &self,
        tenant: &TenantId,
        escalation: &MessageId,
        conversation: &ConversationId,
        ticket: &TicketRef,
    ) -> Result<(), PortError>;
    /// The ticket `escalation` opened, if recorded.
    async fn ticket_for(&self, tenant: &TenantId, escalation: &MessageId) -> Result<Option<TicketRef>, PortError>;
    /// The conversation of ticket `id` in `helpdesk`, if it is one of ours.
    async fn conversation_for(
        &self,
        tenant: &TenantId,
        helpdesk: &str,
        id: &str,
    ) -> Result<Option<ConversationId>, PortError>;
}

/// The cost ledger: one record per request per function, and the month's totals per day.
#[async_trait]
pub trait CostLedger: Send + Sync {
    /// Writes `record`, replacing the record of the same request, function and item if there is
    /// one, and moves its day's totals by the difference: a redelivery never counts twice.
    async fn record(&self, record: &CostRecord) -> Result<(), PortError>;
    /// Adds `counters` to the day totals of `day` (in `month`) without a record: the
    /// deployment's aggregate of refused requests, flushed in batches.
    async fn add_to_day(
        &self,
        tenant: &TenantId,
        month: Month,
        day: chrono::NaiveDate,
        counters: &BTreeMap<String, i64>,
    ) -> Result<(), PortError>;
    /// The month's day totals, oldest day first.
    async fn days(&self, tenant: &TenantId, month: Month) -> Result<Vec<DayTotals>, PortError>;
    /// Every tenant's line of the deployment's month ([`crate::ledger::tenant_line`]), which
    /// [`CostLedger::record`] moves with each record.
    async fn lines(&self, month: Month) -> Result<Vec<crate::ledger::TenantLine>, PortError>;
    /// The month's records, newest first, at most `limit`.
    async fn records(&self, tenant: &TenantId, month: Month, limit: usize) -> Result<Vec<CostRecord>, PortError>;
    /// Marks alert `name` raised for the month: `true` the first time only, so each threshold
    /// alerts once a month however many requests cross it at once.
    async fn raise_once(
        &self,
        tenant: &TenantId,
        month: Month,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, PortError>;
    /// The alerts raised in the month, with when.
    async fn alerts(&self, tenant: &TenantId, month: Month) -> Result<Vec<(String, DateTime<Utc>)>, PortError>;
}

/// Where tenants' configurations are kept (DynamoDB in production): each tenant's YAML, and the
/// intent models trained from it. The tenant catalog (`switchboard_engine::tenant::TenantCatalog`)
/// compiles them; every store is read the same way through it.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// The tenant's configuration, as YAML; `Ok(None)` when there is no such tenant.
    async fn config(&self, tenant: &TenantId) -> Result<Option<String>, PortError>;

    /// The intent model stored as trained from the YAML whose digest is `digest`, as bytes;
    /// `Ok(None)` when none is stored, or not all of it.
    async fn model(&self, tenant: &TenantId, digest: &str) -> Result<Option<Vec<u8>>, PortError>;
}

/// Channel and helpdesk secrets (SSM Parameter Store SecureStrings in production).
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The secret named `name`; `Ok(None)` when there is no such secret.
    async fn secret(&self, name: &str) -> Result<Option<Secret>, PortError>;
}

/// The time, injected so tests control it.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
