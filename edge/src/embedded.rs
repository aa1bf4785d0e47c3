//! The embedded default: the whole pipeline in one process on memory adapters and the local
//! model. `switchboard serve` runs it; so do the tests and, until the AWS adapters land, the
//! Lambda functions.

use crate::web::{self, Api};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_core::domain::{AgentEvent, ConversationId, ConversationState, EscalationJob, TenantId, Work};
use switchboard_core::ports::{Clock, ConversationStore, CustomerStore, LanguageModel, PortError, SystemClock};

use switchboard_engine::cost::{Costs, PriceTable};
use switchboard_engine::memory::{
    ConsoleHelpdesk, MemoryConversations, MemoryCustomers, MemoryIdempotency, MemoryLedger, MemoryOutbox, MemoryQueue,
    MemoryTenants, MemoryTickets, NoModel,
};
use switchboard_engine::pipeline::Verdict;
use switchboard_engine::pipeline::{EscalationDesk, Inbound, Responder, Spend, Stores};
use switchboard_engine::tenant::Tenant;
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
    /// Longest a long poll is held.
    pub max_hold: Duration,
    /// The prices the ledger uses.
    pub prices: Arc<PriceTable>,
    /// How long a tenant's month spend is reused for budget decisions.
    pub spend_cache: Duration,
    /// The message limits.
    pub limits: switchboard_engine::limits::LimitSettings,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            model: Arc::new(NoModel),
            clock: Arc::new(SystemClock),
            print_escalations: true,
            attempts: 4,
            retry_backoff: Duration::from_millis(100),
            max_hold: Duration::from_secs(crate::web::MAX_WAIT_SECONDS),
            prices: Arc::new(PriceTable::default_table()),
            spend_cache: Duration::from_secs(60),
            limits: switchboard_engine::limits::LimitSettings::default(),
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
    pub messages: MemoryQueue<Work>,
    /// The escalation queue.
    pub escalations: MemoryQueue<EscalationJob>,
    /// The console helpdesk.
    pub helpdesk: Arc<ConsoleHelpdesk>,
    /// What was sent on channels other than the web chat.
    pub outbox: Arc<MemoryOutbox>,
    /// The cost ledger.
    pub ledger: Arc<MemoryLedger>,
    /// Prices work into the ledger.
    pub costs: Arc<Costs>,
    /// Items that kept failing.
    pub dead_letters: Arc<Mutex<Vec<DeadLetter>>>,
    /// The responder half.
    pub responder: Arc<Responder>,
    /// The escalation half.
    pub desk: Arc<EscalationDesk>,
    /// The web chat API.
    pub api: Arc<Api>,
}

impl Embedded {
    /// Builds the app for `tenants`, seeds their customer profiles, and starts the responder and
    /// escalation workers on the current tokio runtime.
    pub async fn start(tenants: Vec<Tenant>, options: Options) -> Result<Self, PortError> {
        Self::start_with(MemoryTenants::new(tenants), options).await
    }

    /// The same for a directory of tenants (`switchboard serve` loads its YAML files into one).
    pub async fn start_with(tenants: MemoryTenants, options: Options) -> Result<Self, PortError> {
        // Stored items age by the app's clock, as they are stamped by it.
        let customers = Arc::new(MemoryCustomers::with_clock(options.clock.clone()));
        for seeds in tenants.seed_customers() {
            let keep = seeds.retention.profile_expiry(options.clock.now());
            customers.put_customers(&seeds.tenant, &seeds.customers, keep).await?;
        }
        let tenants = Arc::new(tenants);
        let conversations = Arc::new(MemoryConversations::with_clock(options.clock.clone()));
        let idempotency = Arc::new(MemoryIdempotency::default());
        let (messages, message_rx) = MemoryQueue::new();
        let (escalations, escalation_rx) = MemoryQueue::new();
        let helpdesk =
            Arc::new(if options.print_escalations { ConsoleHelpdesk::default() } else { ConsoleHelpdesk::quiet() });
        let tickets = Arc::new(MemoryTickets::default());
        let outbox = Arc::new(MemoryOutbox::default());
        let ledger = Arc::new(MemoryLedger::default());
        let costs = Arc::new(Costs::new(ledger.clone(), options.prices.clone()));
        // In memory a write costs nothing: the aggregate of refused requests is current.
        costs.set_refused_flush_every(std::time::Duration::ZERO);
        let dead_letters = Arc::new(Mutex::new(Vec::new()));

        let responder = Arc::new(
            Responder::new(
                Stores::new(tenants.clone(), customers.clone(), conversations.clone()),
                Arc::new(escalations.clone()),
                outbox.clone(),
                Spend::new(
                    costs.clone(),
                    options.spend_cache,
                    Arc::new(switchboard_engine::memory::MemoryAllowances::default()),
                ),
                options.clock.clone(),
            )
            .with_model(options.model.clone())
            .with_lookup(Arc::new(crate::lookups::HttpLookups::new(tenants.clone(), crate::http::HttpClient::new()))),
        );
        // Tenants with a real helpdesk reach it from local runs too; the rest use the console.
        let desk = Arc::new(EscalationDesk::new(
            Arc::new(crate::helpdesks::HelpdeskRouter::new(tenants.clone(), helpdesk.clone())),
            tickets.clone(),
            conversations.clone(),
            Arc::new(messages.clone()),
            costs.clone(),
            options.clock.clone(),
        ));
        let api = Arc::new(Api {
            tenants: tenants.clone(),
            conversations: conversations.clone(),
            customers: customers.clone(),
            tickets,
            sns: Arc::new(crate::channels::sns::SnsVerifier::aws()),
            inbound: Inbound::new(
                idempotency.clone(),
                Arc::new(messages.clone()),
                conversations.clone(),
                options.clock.clone(),
            ),
            // Conversations live as long as the process, and so does their key.
            key: Arc::new(switchboard_core::keys::DeploymentKey::generate()),
            clock: options.clock.clone(),
            poll_first: Duration::from_millis(50),
            poll_max: Duration::from_millis(250),
            max_hold: options.max_hold,
            costs: costs.clone(),
            limits: Arc::new(switchboard_engine::limits::Limits::new(
                options.limits,
                Arc::new(switchboard_engine::memory::MemoryAllowances::default()),
            )),
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
            ledger,
            costs,
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
    /// ticket (`POST …/release`), which hands the conversation back to the bot. Both go the way a
    /// real helpdesk's callback goes: an agent event on the messages queue, for the responder.
    pub fn local_helpdesk_routes(&self) -> axum::Router {
        use axum::extract::{Path, State};
        use axum::routing::post;
        use axum::{Json, http::StatusCode};
        async fn agent(
            app: &LocalHelpdesk,
            tenant: String,
            conversation: String,
            reply: Option<String>,
            solved: bool,
        ) -> Result<StatusCode, StatusCode> {
            let tenant = TenantId::new(tenant).map_err(|_| StatusCode::NOT_FOUND)?;
            let conversation = ConversationId::new(conversation).map_err(|_| StatusCode::NOT_FOUND)?;
            let current = app.conversations.conversation(&tenant, &conversation).await;
            let current = current.map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?.ok_or(StatusCode::NOT_FOUND)?;
            let ConversationState::HumanOwned { ticket, .. } = current.state else { return Err(StatusCode::CONFLICT) };
            let key = switchboard_core::domain::MessageId::generate();
            let event = AgentEvent {
                id: AgentEvent::id_for("console", key.as_str()),
                tenant,
                conversation,
                ticket,
                reply,
                solved,
                at: app.clock.now(),
                request_id: key.to_string(),
            };
            app.inbound
                .accept_agent(event)
                .await
                .map(|_| StatusCode::ACCEPTED)
                .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)
        }
        let state = Arc::new(LocalHelpdesk {
            conversations: self.conversations.clone(),
            inbound: Inbound::new(
                self.idempotency.clone(),
                Arc::new(self.messages.clone()),
                self.conversations.clone(),
                self.api.clock.clone(),
            ),
            clock: self.api.clock.clone(),
        });
        axum::Router::new()
            .route(
                "/local/conversations/{tenant}/{conversation}/agent-reply",
                post(
                    |State(app): State<Arc<LocalHelpdesk>>,
                     Path((t, c)): Path<(String, String)>,
                     Json(body): Json<serde_json::Value>| async move {
                        let text =
                            body["text"].as_str().filter(|t| !t.trim().is_empty()).ok_or(StatusCode::BAD_REQUEST)?;
                        agent(&app, t, c, Some(text.to_string()), false).await
                    },
                ),
            )
            .route(
                "/local/conversations/{tenant}/{conversation}/release",
                post(|State(app): State<Arc<LocalHelpdesk>>, Path((t, c)): Path<(String, String)>| async move {
                    agent(&app, t, c, None, true).await
                }),
            )
            .with_state(state)
    }

    /// The dead letters so far.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        switchboard_core::sync::lock(&self.dead_letters).clone()
    }
}

/// What the local helpdesk routes need.
struct LocalHelpdesk {
    conversations: Arc<MemoryConversations>,
    inbound: Inbound,
    clock: Arc<dyn Clock>,
}

#[derive(Clone)]
struct Retry {
    attempts: u32,
    backoff: Duration,
    dead_letters: Arc<Mutex<Vec<DeadLetter>>>,
}

impl Retry {
    /// Runs `attempt` until it succeeds, fails for good, or runs out of tries; then parks `item`
    /// and returns the last error. What "for good" means is [`Verdict`], shared with the Lambda
    /// functions.
    async fn run<T, E, F, Fut>(
        &self,
        queue: &'static str,
        item: &T,
        verdict: impl Fn(&E) -> Verdict,
        mut attempt: F,
    ) -> Option<String>
    where
        T: Serialize,
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
    {
        let mut pause = self.backoff;
        for n in 1..=self.attempts {
            let e = match attempt().await {
                Ok(()) => return None,
                Err(e) => e,
            };
            let wait = match verdict(&e) {
                Verdict::Retry => Some(pause),
                // Locally a long Retry-After would stall the worker: wait at most a few seconds.
                Verdict::Delay(by) => Some(by.min(Duration::from_secs(5))),
                Verdict::Park => None,
            };
            match wait {
                Some(wait) if n < self.attempts => {
                    tracing::warn!(queue, attempt = n, error = %e, "will retry");
                    tokio::time::sleep(wait).await;
                    pause *= 2;
                }
                _ => {
                    tracing::error!(queue, attempts = n, error = %e, "parked as a dead letter");
                    let body = serde_json::to_value(item).unwrap_or_default();
                    switchboard_core::sync::lock(&self.dead_letters).push(DeadLetter {
                        queue,
                        body,
                        error: e.to_string(),
                    });
                    return Some(e.to_string());
                }
            }
        }
        None
    }
}

async fn responder_worker(mut rx: UnboundedReceiver<Work>, responder: Arc<Responder>, retry: Retry) {
    while let Some(work) = rx.recv().await {
        // Each attempt is an invocation, as each batch is in Lambda: it carries the request fee.
        let attempt = || async {
            switchboard_engine::cost::lambda::invocation_started();
            responder.handle_work(&work).await
        };
        retry.run("messages", &work, Verdict::of_respond, attempt).await;
    }
}

async fn escalation_worker(mut rx: UnboundedReceiver<EscalationJob>, desk: Arc<EscalationDesk>, retry: Retry) {
    while let Some(job) = rx.recv().await {
        let attempt = || async {
            switchboard_engine::cost::lambda::invocation_started();
            desk.handle(&job).await
        };
        let parked = retry.run("escalations", &job, Verdict::of, attempt).await;
        if let Some(reason) = parked
            && let Err(e) = desk.failed(&job, &reason).await
        {
            tracing::error!(error = %e, "could not report the failed handoff; the pending timeout will");
        }
    }
}
