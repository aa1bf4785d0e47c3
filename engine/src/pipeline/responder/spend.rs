//! What a response costs and may spend: each piece of work measured and recorded in the
//! ledger, the tenant's budget read and its alerts raised once, the hosted model capped by the
//! anonymous-visitor allowance and the budget.

use super::*;

impl Responder {
    pub(super) fn attribution(
        &self,
        request_id: &str,
        item: &MessageId,
        tenant: &TenantId,
        conversation: &switchboard_core::domain::ConversationId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Attribution {
        Attribution {
            request_id: request_id.to_string(),
            function: Function::Responder,
            item: item.to_string(),
            tenant: tenant.clone(),
            channel: None,
            conversation: Some(conversation.clone()),
            at,
        }
    }

    /// Runs `work` under the meter, bills its time, and records what it cost, failed attempts
    /// included (they cost money too; a retry replaces their record). Work for a tenant that
    /// does not exist bills nobody.
    pub(super) async fn metered<T>(
        &self,
        mut who: Attribution,
        consumed_bytes: Option<usize>,
        work: impl Future<Output = Result<(T, Done), RespondError>>,
    ) -> Result<(T, CostRecord), RespondError> {
        let (result, units) = crate::cost::lambda::measured(async {
            if let Some(bytes) = consumed_bytes {
                crate::cost::units::report_sqs_consumed(bytes, true);
            }
            work.await
        })
        .await;
        match result {
            Ok((value, mut done)) => {
                who.channel = who.channel.or(done.channel);
                done.outcome.answered_locally = done.outcome.answered && units.model_calls() == 0;
                Ok((value, self.costs.record(who, done.outcome, units).await))
            }
            Err(e @ RespondError::UnknownTenant(_)) => Err(e),
            Err(e) => {
                let failed = crate::cost::Outcome { decision: Some("failed".into()), ..Default::default() };
                self.costs.record(who, failed, units).await;
                Err(e)
            }
        }
    }

    /// Where the tenant stands against its monthly budget and the deployment's, as it gates the
    /// hosted model (the tenant's `at_soft_line`); crossing one of the tenant's thresholds raises
    /// its alert once. Also whether the tenant's cap on paid sends is reached. A ledger that
    /// cannot be read applies no limit to this message: the answer matters more.
    pub(super) async fn budget(&self, tenant: &Tenant, message: &InboundMessage) -> Budgets {
        let month = Month::of(self.clock.now());
        let config = &tenant.config.budget;
        let limit = tenant.monthly_budget_nanos();
        let cap = config.paid_sends_cap_nanos();
        let mut state = BudgetState::Ok;
        let mut paid_sends_capped = false;
        if limit > 0 || cap > 0 {
            match self.spend.spent(self.costs.ledger.as_ref(), &tenant.id, month).await {
                Ok(spent) => {
                    let counted = spent.counted(config.counts);
                    state = BudgetState::of(counted, limit, config.soft_at);
                    for crossed in [BudgetState::Soft, BudgetState::Exhausted].into_iter().filter(|t| *t <= state) {
                        self.alert_once(tenant, message, month, crossed, counted, limit).await;
                    }
                    paid_sends_capped = cap > 0 && message.channel.bills_per_message() && spent.channels >= cap;
                }
                Err(error) => {
                    tracing::warn!(%error, tenant = %tenant.id, "month's spend unknown; budget not applied to this message");
                }
            }
        }
        let everyone = self.spend.deployment_budget_nanos();
        if everyone > 0 {
            match self.spend.spent(self.costs.ledger.as_ref(), &TenantId::deployment(), month).await {
                Ok(spent) => {
                    let deployment = BudgetState::of(spent.total, everyone, DEPLOYMENT_SOFT_AT);
                    for crossed in [BudgetState::Soft, BudgetState::Exhausted].into_iter().filter(|t| *t <= deployment)
                    {
                        self.deployment_alert_once(month, crossed, spent.total, everyone).await;
                    }
                    state = state.max(deployment);
                }
                Err(error) => tracing::warn!(%error, "the deployment's spend unknown; its budget not applied"),
            }
        }
        Budgets { state: state.gated(config.at_soft_line), reached: state, paid_sends_capped }
    }

    /// The deployment budget's alert for `threshold`, once a month: a log line and a metric
    /// (`BudgetAlert`, the template's alarm); no tenant's helpdesk hears of it — it is the
    /// operator's.
    async fn deployment_alert_once(&self, month: Month, threshold: BudgetState, spent: u64, limit: u64) {
        let deployment = TenantId::deployment();
        let raised = self.costs.ledger.raise_once(&deployment, month, threshold.as_str(), self.clock.now()).await;
        if !matches!(raised, Ok(true)) {
            return;
        }
        let (spent_usd, limit_usd) = (crate::cost::usd(spent), crate::cost::usd(limit));
        tracing::warn!(
            threshold = threshold.as_str(),
            spent_usd,
            limit_usd,
            "the deployment's budget threshold crossed: every tenant degrades"
        );
        switchboard_core::metrics::count(
            "BudgetAlert",
            TenantId::deployment().as_str(),
            "none",
            &[("threshold", threshold.as_str()), ("scope", "deployment")],
        );
    }

    /// The budget alert for `threshold`, once a month: a log line, a metric, and a note in the
    /// tenant's helpdesk (a ticket of its own, so no customer conversation is handed over).
    pub(super) async fn alert_once(
        &self,
        tenant: &Tenant,
        message: &InboundMessage,
        month: Month,
        threshold: BudgetState,
        spent: u64,
        limit: u64,
    ) {
        match self.costs.ledger.raise_once(&tenant.id, month, threshold.as_str(), self.clock.now()).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, tenant = %tenant.id, "could not record the budget alert; it will be tried again");
                return;
            }
        }
        let (spent_usd, limit_usd) = (crate::cost::usd(spent), crate::cost::usd(limit));
        tracing::warn!(
            tenant = %tenant.id,
            channel = %message.channel,
            request_id = %message.request_id,
            threshold = threshold.as_str(),
            spent_usd,
            limit_usd,
            "budget threshold crossed"
        );
        switchboard_core::metrics::count(
            "BudgetAlert",
            tenant.id.as_str(),
            message.channel.as_str(),
            &[("threshold", threshold.as_str())],
        );
        let note = budget_note(tenant, message, month, threshold, spent_usd, limit_usd, self.clock.now());
        if let Err(error) = self.escalations.enqueue(&EscalationJob::Open(Box::new(note))).await {
            tracing::error!(%error, tenant = %tenant.id, "budget alert not sent to the helpdesk");
        }
    }

    /// The hosted model for `message`: for an anonymous web chat visitor, one whose every call
    /// takes a unit of the tenant's hourly allowance, so a flood costs the attacker time, not
    /// the tenant money.
    pub(super) fn model_for<'a>(
        &'a self,
        tenant: &'a Tenant,
        message: &InboundMessage,
        budget: BudgetState,
    ) -> Capped<'a> {
        let anonymous = message.channel == Channel::Webchat && message.sender.customer.is_none();
        let now = self.clock.now();
        let hour = now - chrono::Duration::seconds(now.timestamp().rem_euclid(3600));
        Capped {
            inner: self.model.as_ref(),
            budget,
            cap: anonymous.then(|| {
                (self.allowances.as_ref(), &tenant.id, hour, tenant.config.classifier.anonymous_model_calls_per_hour)
            }),
        }
    }
}

/// The deployment budget's soft line (the stack's parameter is the limit alone).
const DEPLOYMENT_SOFT_AT: f64 = 0.8;

/// Where a message stands against the limits on spend.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budgets {
    /// The budget state as it gates the hosted model.
    pub(super) state: BudgetState,
    /// The threshold reached (the tenant's or the deployment's, whichever is further), for logs.
    pub(super) reached: BudgetState,
    /// The tenant's cap on paid sends is reached and this message came on such a channel.
    pub(super) paid_sends_capped: bool,
}

/// The hosted model behind an allowance: each call takes a unit, and a spent allowance is an
/// unavailable model (the cascade keeps the local result; no answer is generated).
pub(super) struct Capped<'a> {
    inner: &'a dyn LanguageModel,
    budget: BudgetState,
    cap: Option<(&'a dyn Allowances, &'a TenantId, chrono::DateTime<chrono::Utc>, u32)>,
}

impl Capped<'_> {
    async fn allowed(&self) -> Result<(), ModelError> {
        let Some((allowances, tenant, hour, limit)) = self.cap else { return Ok(()) };
        match allowances.take(tenant, "anonymous-model", hour, limit).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::warn!(tenant = %tenant, limit, "hourly hosted-model allowance for anonymous visitors spent; local model only");
                Err(ModelError::Unavailable("the hourly allowance for anonymous visitors is spent".into()))
            }
            Err(e) => Err(ModelError::Unavailable(format!("allowance unknown: {e}"))),
        }
    }
}

#[async_trait::async_trait]
impl LanguageModel for Capped<'_> {
    async fn classify(&self, request: &ClassifyRequest) -> Result<HostedClassification, ModelError> {
        if !self.budget.allows_hosted_classification() {
            return Err(ModelError::Unavailable(BUDGET_SPENT.into()));
        }
        self.allowed().await?;
        self.inner.classify(request).await
    }

    async fn generate(&self, request: &GenerateRequest) -> Result<Option<Generated>, ModelError> {
        if !self.budget.allows_generation() {
            return Err(ModelError::Unavailable(BUDGET_SPENT.into()));
        }
        self.allowed().await?;
        self.inner.generate(request).await
    }
}

/// Why the hosted model was not asked when the budget stops it (the cascade keeps quiet about
/// reasons starting "no hosted model").
const BUDGET_SPENT: &str = "no hosted model: the tenant's monthly budget has reached its line";

/// What the channel provider bills for one part sent (not AWS, but the cost owner pays it).
pub(super) fn meter_send(conversation: &Conversation, text: &str) {
    use crate::cost::units::{dial_prefix, sms_segments};
    switchboard_core::meter::report(|m| match conversation.channel {
        Channel::TwilioSms => {
            *m.sms_segments.entry(dial_prefix(&conversation.address)).or_default() += sms_segments(text);
        }
        Channel::TwilioWhatsapp => m.twilio_whatsapp_messages += 1,
        Channel::WhatsappCloud => m.whatsapp_messages += 1,
        Channel::Email => m.emails_sent += 1,
        Channel::Webchat | Channel::Telegram | Channel::Slack => {}
    });
}

/// What a job did, for its cost record.
pub struct Done {
    pub(super) outcome: crate::cost::Outcome,
    pub(super) channel: Option<Channel>,
}

impl Done {
    /// Work that is not a customer message.
    pub(super) fn work(name: &str, channel: Option<Channel>) -> Self {
        Self { outcome: crate::cost::Outcome { decision: Some(name.to_string()), ..Default::default() }, channel }
    }
}

/// A handled message's outcome, for the ledger's counts.
pub(super) fn message_outcome(c: &Classification, decision: &Decision, language: Language) -> crate::cost::Outcome {
    let (answered, escalation) = match decision {
        Decision::Answer { .. } => (true, None),
        Decision::Escalate { escalation } => (false, Some(escalation)),
        Decision::AnswerAndEscalate { escalation, .. } => (true, Some(escalation)),
        Decision::Silent | Decision::Shadow { .. } | Decision::Rated { .. } => (false, None),
    };
    let no_answer = escalation
        .is_some_and(|e| e.reasons.iter().any(|r| matches!(r, Reason::LowConfidence | Reason::NoGroundedAnswer)));
    crate::cost::Outcome {
        message: true,
        answered,
        answered_locally: false,
        escalated: escalation.is_some(),
        no_answer,
        decision: Some(decision.name().to_string()),
        intent: c.intent.clone(),
        language: Some(language),
        rating: None,
    }
}

/// The helpdesk note for a budget threshold: an escalation of its own (its own conversation id,
/// so no customer's conversation is handed over), with a stable id so a retry opens no second.
fn budget_note(
    tenant: &Tenant,
    message: &InboundMessage,
    month: Month,
    threshold: BudgetState,
    spent_usd: f64,
    limit_usd: f64,
    now: chrono::DateTime<chrono::Utc>,
) -> Escalation {
    use switchboard_core::config::{BudgetCounts, SoftLineStops};
    let what = match (threshold, tenant.config.budget.at_soft_line) {
        (BudgetState::Exhausted, _) => {
            "the budget is spent: the hosted model is off until next month (templates, the FAQ and people still answer)"
        }
        (_, SoftLineStops::Generation) => {
            "the soft line is crossed: the hosted model no longer writes answers (it still classifies)"
        }
        (_, SoftLineStops::HostedModel) => {
            "the soft line is crossed: the hosted model is off until next month (templates, the FAQ and people still answer)"
        }
        (_, SoftLineStops::Nothing) => "the soft line is crossed: nothing stops until the budget itself",
    };
    let counted = match tenant.config.budget.counts {
        BudgetCounts::All => "AWS and channel fees",
        BudgetCounts::Aws => "AWS alone",
    };
    let text = format!(
        "Switchboard budget for {month}: ${spent_usd:.2} of ${limit_usd:.2} used ({counted}); {what}. Run `switchboard costs --tenant {} --month {month}` for the report.",
        tenant.id
    );
    // Tenant ids and months are made of characters every id accepts.
    let id = MessageId::new(format!("budget-{}-{month}-{}", tenant.id, threshold.as_str()))
        .unwrap_or_else(|_| MessageId::generate());
    let conversation = switchboard_core::domain::ConversationId::new(format!("budget-{}-{month}", tenant.id))
        .unwrap_or_else(|_| switchboard_core::domain::ConversationId::generate());
    let turn_id = id.clone();
    Escalation {
        id: id.clone(),
        tenant: tenant.id.clone(),
        conversation,
        channel: message.channel,
        customer_id: None,
        sender_unverified: false,
        customer: None,
        priority: Priority::Normal,
        reasons: Vec::new(),
        summary: format!("Budget alert {month}: {}", threshold.as_str()),
        intent: None,
        sentiment: None,
        urgency: None,
        language: tenant.config.default_language,
        transcript: vec![Turn {
            delivered: true,
            ..Turn::new(id, TurnCursor::new(now, &turn_id), Role::System, text, now)
        }],
        draft: None,
        created_at: now,
        request_id: message.request_id.clone(),
    }
}
