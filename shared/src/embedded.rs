//! The embedded default: the whole pipeline in one process on memory adapters and the local
//! model. `switchboard serve` runs it; so do the tests and, until the AWS adapters land, the
//! Lambda functions.

use crate::adapters::memory::{
    ConsoleHelpdesk, MemoryConversations, MemoryCustomers, MemoryIdempotency, MemoryOutbox, MemoryQueue, MemoryTenants,
    MemoryUsageLog, NoModel,
};
use crate::domain::{ConversationId, Escalation, InboundMessage, TenantId};
use crate::pipeline::{EscalationDesk, Inbound, Responder};
use crate::ports::{Clock, CustomerStore, LanguageModel, PortError, SystemClock};
use crate::tenant::Tenant;
use crate::web::{self, WebchatApi};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// Knobs of the embedded app.
pub struct Options {
    /// The hosted model (none by default).
    pub model: Arc<dyn LanguageModel>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Print escalations on the console.
    pub print_escalations: bool,
    /// Tries per queued item before it is parked as a dead letter.
    pub attempts: u32,
    /// Pause before the first retry; doubles after each.
    pub retry_backoff: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            model: Arc::new(NoModel),
            clock: Arc::new(SystemClock),
            print_escalations: true,
            attempts: 4,
            retry_backoff: Duration::from_millis(100),
        }
    }
}

/// An item that kept failing, parked like an SQS dead-letter queue would.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// `messages` or `escalations`.
    pub queue: &'static str,
    /// The item, as it was queued.
    pub body: serde_json::Value,
    /// The last error.
    pub error: String,
}

/// The running embedded app, with a handle on every adapter so callers can look inside.
pub struct Embedded {
    /// Tenants.
    pub tenants: Arc<MemoryTenants>,
    /// Customer profiles.
    pub customers: Arc<MemoryCustomers>,
    /// Conversations.
    pub conversations: Arc<MemoryConversations>,
    /// Idempotency records.
    pub idempotency: Arc<MemoryIdempotency>,
    /// The messages queue.
    pub messages: MemoryQueue<InboundMessage>,
    /// The escalation queue.
    pub escalations: MemoryQueue<Escalation>,
    /// The console helpdesk.
    pub helpdesk: Arc<ConsoleHelpdesk>,
    /// What was sent on channels other than the web chat.
    pub outbox: Arc<MemoryOutbox>,
    /// Usage records.
    pub usage: Arc<MemoryUsageLog>,
    /// Items that kept failing.
    pub dead_letters: Arc<Mutex<Vec<DeadLetter>>>,
    /// The responder half.
    pub responder: Arc<Responder>,
    /// The escalation half.
    pub desk: Arc<EscalationDesk>,
    /// The web chat API.
    pub api: Arc<WebchatApi>,
}

impl Embedded {
    /// Builds the app for `tenants`, seeds their customer profiles, and starts the responder and
    /// escalation workers on the current tokio runtime.
    pub async fn start(tenants: Vec<Tenant>, options: Options) -> Result<Self, PortError> {
        let customers = Arc::new(MemoryCustomers::default());
        for t in &tenants {
            for c in &t.config.customers {
                customers.put_customer(&t.id, c).await?;
            }
        }
        let tenants = Arc::new(MemoryTenants::new(tenants));
        let conversations = Arc::new(MemoryConversations::default());
        let idempotency = Arc::new(MemoryIdempotency::default());
        let (messages, message_rx) = MemoryQueue::new();
        let (escalations, escalation_rx) = MemoryQueue::new();
        let helpdesk =
            Arc::new(if options.print_escalations { ConsoleHelpdesk::default() } else { ConsoleHelpdesk::quiet() });
        let outbox = Arc::new(MemoryOutbox::default());
        let usage = Arc::new(MemoryUsageLog::default());
        let dead_letters = Arc::new(Mutex::new(Vec::new()));

        let responder = Arc::new(Responder {
            tenants: tenants.clone(),
            customers: customers.clone(),
            conversations: conversations.clone(),
            escalations: Arc::new(escalations.clone()),
            model: options.model.clone(),
            sender: outbox.clone(),
            usage: usage.clone(),
            clock: options.clock.clone(),
        });
        let desk = Arc::new(EscalationDesk {
            helpdesk: helpdesk.clone(),
            conversations: conversations.clone(),
            clock: options.clock.clone(),
        });
        let api = Arc::new(WebchatApi {
            tenants: tenants.clone(),
            conversations: conversations.clone(),
            customers: customers.clone(),
            sns: Arc::new(crate::channels::sns::SnsVerifier::aws()),
            inbound: Inbound {
                idempotency: idempotency.clone(),
                queue: Arc::new(messages.clone()),
                conversations: conversations.clone(),
                clock: options.clock.clone(),
            },
            clock: options.clock.clone(),
            poll_first: Duration::from_millis(50),
            poll_max: Duration::from_millis(250),
        });

        let retry = Retry {
            attempts: options.attempts.max(1),
            backoff: options.retry_backoff,
            dead_letters: dead_letters.clone(),
        };
        tokio::spawn(responder_worker(message_rx, responder.clone(), retry.clone()));
        tokio::spawn(escalation_worker(escalation_rx, desk.clone(), retry));

        Ok(Self {
            tenants,
            customers,
            conversations,
            idempotency,
            messages,
            escalations,
            helpdesk,
            outbox,
            usage,
            dead_letters,
            responder,
            desk,
            api,
        })
    }

    /// The inbound routes over this app.
    pub fn router(&self) -> axum::Router {
        web::router(self.api.clone())
    }

    /// Routes that exist only locally, standing in for a helpdesk: an agent answers
    /// (`POST /local/conversations/{tenant}/{id}/agent-reply` with `{"text": …}`) and solves the
    /// ticket (`POST …/release`), which hands the conversation back to the bot.
    pub fn local_helpdesk_routes(&self) -> axum::Router {
        use axum::extract::{Path, State};
        use axum::routing::post;
        use axum::{Json, http::StatusCode};
        async fn ids(tenant: String, conversation: String) -> Result<(TenantId, ConversationId), StatusCode> {
            Ok((
                TenantId::new(tenant).map_err(|_| StatusCode::NOT_FOUND)?,
                ConversationId::new(conversation).map_err(|_| StatusCode::NOT_FOUND)?,
            ))
        }
        let status = |e: PortError| match e {
            PortError::Conflict { .. } => StatusCode::CONFLICT,
            PortError::Corrupt { .. } => StatusCode::NOT_FOUND,
            PortError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        };
        axum::Router::new()
            .route(
                "/local/conversations/{tenant}/{conversation}/agent-reply",
                post(
                    move |State(desk): State<Arc<EscalationDesk>>,
                          Path((t, c)): Path<(String, String)>,
                          Json(body): Json<serde_json::Value>| async move {
                        let (t, c) = ids(t, c).await?;
                        let text =
                            body["text"].as_str().filter(|t| !t.trim().is_empty()).ok_or(StatusCode::BAD_REQUEST)?;
                        desk.agent_reply(&t, &c, text).await.map(|_| StatusCode::CREATED).map_err(status)
                    },
                ),
            )
            .route(
                "/local/conversations/{tenant}/{conversation}/release",
                post(move |State(desk): State<Arc<EscalationDesk>>, Path((t, c)): Path<(String, String)>| async move {
                    let (t, c) = ids(t, c).await?;
                    desk.release(&t, &c).await.map(|_| StatusCode::NO_CONTENT).map_err(status)
                }),
            )
            .with_state(self.desk.clone())
    }

    /// The dead letters so far.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        crate::adapters::memory::lock(&self.dead_letters).clone()
    }
}

#[derive(Clone)]
struct Retry {
    attempts: u32,
    backoff: Duration,
    dead_letters: Arc<Mutex<Vec<DeadLetter>>>,
}

impl Retry {
    /// Runs `attempt` until it succeeds, fails for good, or runs out of tries; then parks `item`.
    async fn run<T, E, F, Fut>(&self, queue: &'static str, item: &T, retryable: impl Fn(&E) -> bool, mut attempt: F)
    where
        T: Serialize,
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
    {
        let mut pause = self.backoff;
        for n in 1..=self.attempts {
            match attempt().await {
                Ok(()) => return,
                Err(e) if n < self.attempts && retryable(&e) => {
                    tracing::warn!(queue, attempt = n, error = %e, "will retry");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(e) => {
                    tracing::error!(queue, attempts = n, error = %e, "parked as a dead letter");
                    let body = serde_json::to_value(item).unwrap_or_default();
                    crate::adapters::memory::lock(&self.dead_letters).push(DeadLetter {
                        queue,
                        body,
                        error: e.to_string(),
                    });
                    return;
                }
            }
        }
    }
}

async fn responder_worker(mut rx: UnboundedReceiver<InboundMessage>, responder: Arc<Responder>, retry: Retry) {
    while let Some(message) = rx.recv().await {
        let retryable = |e: &crate::pipeline::RespondError| e.is_retryable();
        retry.run("messages", &message, retryable, || async { responder.respond(&message).await.map(|_| ()) }).await;
    }
}

async fn escalation_worker(mut rx: UnboundedReceiver<Escalation>, desk: Arc<EscalationDesk>, retry: Retry) {
    while let Some(escalation) = rx.recv().await {
        let retryable = |e: &PortError| matches!(e, PortError::Unavailable { .. } | PortError::Conflict { .. });
        retry.run("escalations", &escalation, retryable, || async { desk.handle(&escalation).await.map(|_| ()) }).await;
    }
}
