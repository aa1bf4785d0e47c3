//! Production wiring: the pipeline on the AWS adapters, configured from environment variables
//! read once per cold start.

use crate::adapters::{
    AwsClients, BedrockModel, BedrockSettings, DynamoAllowances, DynamoConversations, DynamoCustomers,
    DynamoIdempotency, DynamoLedger, DynamoTenants, DynamoTickets, SqsEscalationQueue, SqsMessageQueue, SqsRedelivery,
    SsmSecrets, Table,
};
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::keys::DeploymentKey;
use switchboard_core::ports::{LanguageModel, SecretStore, SystemClock};
use switchboard_edge::channels::senders::ChannelRouter;
use switchboard_edge::channels::sns::SnsVerifier;
use switchboard_edge::helpdesks::HelpdeskRouter;
use switchboard_edge::web::Api;

use switchboard_engine::cost::{Costs, PriceTable};
use switchboard_engine::limits::{LimitSettings, Limits};
use switchboard_engine::memory::ConsoleHelpdesk;
use switchboard_engine::memory::NoModel;
use switchboard_engine::pipeline::{EscalationDesk, Inbound, Responder, Spend, Stores};

/// A required environment variable is missing or malformed.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name}: {problem}")]
pub struct SettingsError {
    /// The variable.
    pub name: &'static str,
    /// What is wrong.
    pub problem: &'static str,
}

/// Shown as its message: a cold start that fails prints `Error: environment variable …`.
impl std::fmt::Debug for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// What the functions read from their environment (names as in `infra/template.yaml`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `SWITCHBOARD_TABLE`: the DynamoDB table.
    pub table: String,
    /// `SWITCHBOARD_MESSAGES_QUEUE_URL`: the FIFO messages queue (inbound sends to it).
    pub messages_queue_url: Option<String>,
    /// `SWITCHBOARD_ESCALATIONS_QUEUE_URL`: the escalation queue (responder sends to it).
    pub escalations_queue_url: Option<String>,
    /// `SWITCHBOARD_MESSAGES_DLQ_URL`: the messages queue's dead-letter queue (the responder parks
    /// records that can never succeed there at once).
    pub messages_dlq_url: Option<String>,
    /// `SWITCHBOARD_ESCALATIONS_DLQ_URL`: the escalation queue's dead-letter queue (the escalation
    /// function parks permanent failures there at once).
    pub escalations_dlq_url: Option<String>,
    /// `SWITCHBOARD_BEDROCK_MODEL_ID`: the hosted model; unset runs on the local model alone.
    pub bedrock: Option<BedrockSettings>,
    /// `SWITCHBOARD_CACHE_SECONDS`: how long tenant configs and secrets are cached (default 300).
    pub cache: Duration,
    /// `SWITCHBOARD_KEY_PARAMETER`: the SSM SecureString holding the deployment key (channel
    /// conversation ids and web chat read tokens are derived from it).
    pub key_parameter: Option<String>,
    /// The price table of the region (`AWS_REGION`; `infra/prices/`), with
    /// `SWITCHBOARD_PRICE_OVERRIDES`'s lines on top (YAML, the shape of those files).
    pub prices: Arc<PriceTable>,
    /// `SWITCHBOARD_DEPLOYMENT_BUDGET_USD`: every tenant's spend together per month, in
    /// nano-dollars (0: none).
    pub deployment_budget_nanos: u64,
    /// `SWITCHBOARD_TENANT_SECRETS`: `none` for a function that reads no tenant's secrets (the
    /// public long poll: its IAM allows the deployment key alone); resolved otherwise.
    pub tenant_secrets: bool,
    /// `SWITCHBOARD_ALLOWED_ENDPOINTS`: origins (comma-separated, `:*` for any port) a tenant's
    /// API bases may use besides its providers' own hosts; empty by default.
    pub allowed_endpoints: Vec<String>,
    /// `SWITCHBOARD_TENANT_MESSAGES_PER_MINUTE` and `SWITCHBOARD_VISITOR_MESSAGES_PER_MINUTE`:
    /// the deployment's message limits (defaults in [`LimitSettings`]; 0 turns one off).
    pub limits: LimitSettings,
}

impl Settings {
    /// Reads the environment; the error names the variable.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let var = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let table = var("SWITCHBOARD_TABLE").ok_or(SettingsError { name: "SWITCHBOARD_TABLE", problem: "not set" })?;
        let cache = match var("SWITCHBOARD_CACHE_SECONDS") {
            Some(v) => {
                v.parse().map_err(|_| SettingsError { name: "SWITCHBOARD_CACHE_SECONDS", problem: "not a number" })?
            }
            None => 300,
        };
        let timeout_ms = match var("SWITCHBOARD_BEDROCK_TIMEOUT_MS") {
            Some(v) => v
                .parse()
                .map_err(|_| SettingsError { name: "SWITCHBOARD_BEDROCK_TIMEOUT_MS", problem: "not a number" })?,
            None => 6000,
        };
        // The table of the region the functions run in (Lambda sets AWS_REGION).
        let region = var("AWS_REGION").unwrap_or_else(|| "us-east-1".into());
        let (prices, own_table) = PriceTable::for_region(&region, var("SWITCHBOARD_PRICE_OVERRIDES").as_deref())
            .map_err(|e| {
                tracing::error!(error = %e, "SWITCHBOARD_PRICE_OVERRIDES refused");
                SettingsError { name: "SWITCHBOARD_PRICE_OVERRIDES", problem: "not a valid price table override" }
            })?;
        if let Some(model) = var("SWITCHBOARD_BEDROCK_MODEL_ID")
            && !prices.prices_model(&model)
        {
            tracing::error!(%model, table = %prices.id.id, "the price table has no price for the hosted model: its calls are recorded as unpriced and budgets do not see them; add its lines with PriceOverrides");
        }
        if !own_table {
            tracing::warn!(%region, table = %prices.id.id, "no price table for this region: costs are at us-east-1's prices unless SWITCHBOARD_PRICE_OVERRIDES sets them");
        }
        let deployment_budget_nanos = match var("SWITCHBOARD_DEPLOYMENT_BUDGET_USD") {
            Some(v) => match v.trim().parse::<f64>() {
                Ok(usd) if usd.is_finite() && usd >= 0.0 => (usd * 1e9).round() as u64,
                _ => {
                    return Err(SettingsError {
                        name: "SWITCHBOARD_DEPLOYMENT_BUDGET_USD",
                        problem: "not zero or a positive amount of dollars",
                    });
                }
            },
            None => 0,
        };
        let allowed_endpoints = var("SWITCHBOARD_ALLOWED_ENDPOINTS")
            .map(|v| v.split(',').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect())
            .unwrap_or_default();
        let per_minute = |name: &'static str, default: u32| match var(name) {
            Some(v) => v.trim().parse().map_err(|_| SettingsError { name, problem: "not a whole number" }),
            None => Ok(default),
        };
        let defaults = LimitSettings::default();
        let limits = LimitSettings {
            tenant_messages_per_minute: per_minute(
                "SWITCHBOARD_TENANT_MESSAGES_PER_MINUTE",
                defaults.tenant_messages_per_minute,
            )?,
            visitor_messages_per_minute: per_minute(
                "SWITCHBOARD_VISITOR_MESSAGES_PER_MINUTE",
                defaults.visitor_messages_per_minute,
            )?,
            data_writes_per_minute: per_minute("SWITCHBOARD_DATA_WRITES_PER_MINUTE", defaults.data_writes_per_minute)?,
        };
        Ok(Self {
            deployment_budget_nanos,
            limits,
            tenant_secrets: var("SWITCHBOARD_TENANT_SECRETS").is_none_or(|v| v != "none"),
            allowed_endpoints,
            prices: Arc::new(prices),
            table,
            messages_queue_url: var("SWITCHBOARD_MESSAGES_QUEUE_URL"),
            escalations_queue_url: var("SWITCHBOARD_ESCALATIONS_QUEUE_URL"),
            messages_dlq_url: var("SWITCHBOARD_MESSAGES_DLQ_URL"),
            escalations_dlq_url: var("SWITCHBOARD_ESCALATIONS_DLQ_URL"),
            bedrock: var("SWITCHBOARD_BEDROCK_MODEL_ID").map(|model_id| BedrockSettings {
                model_id,
                timeout: Duration::from_millis(timeout_ms),
                ..BedrockSettings::default()
            }),
            cache: Duration::from_secs(cache),
            key_parameter: var("SWITCHBOARD_KEY_PARAMETER"),
        })
    }

    fn require(value: &Option<String>, name: &'static str) -> Result<String, SettingsError> {
        value.clone().ok_or(SettingsError { name, problem: "not set (this function needs it)" })
    }
}

/// Why a function could not start: a setting, or a resource a setting names.
#[derive(thiserror::Error)]
pub enum StartError {
    /// An environment variable is missing or malformed.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// An SSM parameter a setting names is missing, unreadable or unusable.
    #[error("SSM parameter {parameter}: {problem}")]
    Parameter {
        /// The parameter's name.
        parameter: String,
        /// What is wrong.
        problem: String,
    },
}

/// Shown as its message, like [`SettingsError`].
impl std::fmt::Debug for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The shared pieces every function builds from.
pub struct AwsApp {
    settings: Settings,
    clients: AwsClients,
    table: Table,
    tenants: Arc<DynamoTenants>,
    conversations: Arc<DynamoConversations>,
    secrets: Arc<SsmSecrets>,
    costs: Arc<Costs>,
}

impl AwsApp {
    /// Builds the clients (once per cold start) from the environment.
    pub async fn from_env() -> Result<Self, SettingsError> {
        let settings = Settings::from_env()?;
        let clients = AwsClients::for_lambda(&settings.bedrock.clone().unwrap_or_default()).await;
        Ok(Self::new(settings, clients))
    }

    /// Builds the app on given clients (tests point them at local servers).
    pub fn new(settings: Settings, clients: AwsClients) -> Self {
        let table = Table::new(clients.dynamodb.clone(), settings.table.clone());
        let secrets = Arc::new(SsmSecrets::new(clients.ssm.clone(), settings.cache));
        let tenants = DynamoTenants::new(table.clone(), secrets.clone(), settings.cache)
            .allowing_endpoints(settings.allowed_endpoints.clone());
        let tenants = Arc::new(if settings.tenant_secrets { tenants } else { tenants.without_secrets() });
        let conversations = Arc::new(DynamoConversations::new(table.clone()));
        let costs = Arc::new(Costs::new(Arc::new(DynamoLedger::new(table.clone())), settings.prices.clone()));
        Self { settings, clients, table, tenants, conversations, secrets, costs }
    }

    /// Prices work into the cost ledger.
    pub fn costs(&self) -> Arc<Costs> {
        self.costs.clone()
    }

    /// The tenant directory (ops and tests put configurations through it).
    pub fn tenants(&self) -> Arc<DynamoTenants> {
        self.tenants.clone()
    }

    /// The web chat API of the `inbound` function.
    pub async fn api(&self) -> Result<Arc<Api>, StartError> {
        self.api_with(Arc::new(SnsVerifier::aws())).await
    }

    /// The same, verifying SNS deliveries with `sns` (tests trust their own CA).
    pub async fn api_with(&self, sns: Arc<SnsVerifier>) -> Result<Arc<Api>, StartError> {
        let url = Settings::require(&self.settings.messages_queue_url, "SWITCHBOARD_MESSAGES_QUEUE_URL")?;
        let key = self.deployment_key().await?;
        Ok(Arc::new(Api {
            tenants: self.tenants.clone(),
            conversations: self.conversations.clone(),
            customers: Arc::new(DynamoCustomers::new(self.table.clone())),
            tickets: Arc::new(DynamoTickets::new(self.table.clone())),
            sns,
            inbound: Inbound::new(
                Arc::new(DynamoIdempotency::new(self.table.clone())),
                Arc::new(SqsMessageQueue::new(self.clients.sqs.clone(), url)),
                self.conversations.clone(),
                Arc::new(SystemClock),
            ),
            key: Arc::new(key),
            clock: Arc::new(SystemClock),
            // Each check is a consistent DynamoDB read: start fast, then back off.
            poll_first: Duration::from_millis(200),
            poll_max: Duration::from_secs(2),
            max_hold: switchboard_edge::web::LAMBDA_MAX_HOLD,
            costs: self.costs.clone(),
            limits: Arc::new(Limits::new(self.settings.limits, Arc::new(DynamoAllowances::new(self.table.clone())))),
        }))
    }

    /// The deployment key, read once per cold start: without it no conversation can be found,
    /// so its absence stops the start with the parameter's name.
    async fn deployment_key(&self) -> Result<DeploymentKey, StartError> {
        let parameter = Settings::require(&self.settings.key_parameter, "SWITCHBOARD_KEY_PARAMETER")?;
        let problem = |problem: String| StartError::Parameter { parameter: parameter.clone(), problem };
        let value = self
            .secrets
            .secret(&parameter)
            .await
            .map_err(|e| problem(format!("cannot be read: {e}")))?
            .ok_or_else(|| problem("does not exist (see docs/deploy.md, step 2)".into()))?;
        DeploymentKey::new(value.expose().to_vec()).map_err(|e| problem(e.to_string()))
    }

    /// The responder half of the `responder` function.
    pub fn responder(&self) -> Result<Responder, SettingsError> {
        let url = Settings::require(&self.settings.escalations_queue_url, "SWITCHBOARD_ESCALATIONS_QUEUE_URL")?;
        // Said once per cold start: which models classify, so "no model" is never a surprise.
        tracing::info!(encoder = %switchboard_engine::classify::encoder::status(), "responder: local tier");
        let model: Arc<dyn LanguageModel> = match &self.settings.bedrock {
            Some(b) => {
                tracing::info!(hosted_model = %b.model_id, timeout_ms = b.timeout.as_millis() as u64, "responder: hosted model in use when the local one is unsure");
                Arc::new(BedrockModel::new(self.clients.bedrock.clone(), b.model_id.clone()))
            }
            None => {
                tracing::warn!("responder: SWITCHBOARD_BEDROCK_MODEL_ID is empty: local model only");
                Arc::new(NoModel)
            }
        };
        // One HTTP client (one connection pool, one set of roots loaded) for sends and lookups.
        let http = switchboard_edge::http::HttpClient::new();
        Ok(Responder::new(
            Stores::new(
                self.tenants.clone(),
                Arc::new(DynamoCustomers::new(self.table.clone())),
                self.conversations.clone(),
            ),
            Arc::new(SqsEscalationQueue::new(self.clients.sqs.clone(), url)),
            Arc::new(ChannelRouter::with_http(self.tenants.clone(), http.clone())),
            Spend::new(
                self.costs.clone(),
                // A budget decision reads the month's totals at most once a minute per tenant.
                Duration::from_secs(60),
                Arc::new(DynamoAllowances::new(self.table.clone())),
            ),
            Arc::new(SystemClock),
        )
        .with_deployment_budget(self.settings.deployment_budget_nanos)
        .with_model(model)
        .with_lookup(Arc::new(switchboard_edge::lookups::HttpLookups::new(self.tenants.clone(), http))))
    }

    /// How the `responder` function parks records that can never succeed.
    pub fn responder_redelivery(&self) -> Result<SqsRedelivery, SettingsError> {
        let url = Settings::require(&self.settings.messages_queue_url, "SWITCHBOARD_MESSAGES_QUEUE_URL")?;
        let dlq = Settings::require(&self.settings.messages_dlq_url, "SWITCHBOARD_MESSAGES_DLQ_URL")?;
        Ok(SqsRedelivery::new(self.clients.sqs.clone(), url, dlq))
    }

    /// The longest one responder record can take (docs/design.md, "Timeouts from one
    /// calculation").
    pub fn responder_record_budget(&self) -> Duration {
        let model = self.settings.bedrock.as_ref().map(|b| b.timeout).unwrap_or_default();
        crate::lambda::responder_record_budget(model, switchboard_edge::http::DEFAULT_TIMEOUT)
    }

    /// How the `escalation` function delays and parks records.
    pub fn escalation_redelivery(&self) -> Result<SqsRedelivery, SettingsError> {
        let url = Settings::require(&self.settings.escalations_queue_url, "SWITCHBOARD_ESCALATIONS_QUEUE_URL")?;
        let dlq = Settings::require(&self.settings.escalations_dlq_url, "SWITCHBOARD_ESCALATIONS_DLQ_URL")?;
        Ok(SqsRedelivery::new(self.clients.sqs.clone(), url, dlq))
    }

    /// The escalation desk of the `escalation` function: each tenant's own helpdesk (tenants on
    /// the console helpdesk only get a log line); failed handoffs go back on the messages queue.
    pub fn escalation_desk(&self) -> Result<EscalationDesk, SettingsError> {
        let messages = Settings::require(&self.settings.messages_queue_url, "SWITCHBOARD_MESSAGES_QUEUE_URL")?;
        Ok(EscalationDesk::new(
            Arc::new(HelpdeskRouter::new(self.tenants.clone(), Arc::new(ConsoleHelpdesk::quiet()))),
            Arc::new(DynamoTickets::new(self.table.clone())),
            self.conversations.clone(),
            Arc::new(SqsMessageQueue::new(self.clients.sqs.clone(), messages)),
            self.costs.clone(),
            Arc::new(SystemClock),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn missing_or_malformed_variables_are_named() {
        assert_eq!(settings(&[]).unwrap_err(), SettingsError { name: "SWITCHBOARD_TABLE", problem: "not set" });
        assert_eq!(settings(&[("SWITCHBOARD_TABLE", "  ")]).unwrap_err().name, "SWITCHBOARD_TABLE");
        let err = settings(&[("SWITCHBOARD_TABLE", "t"), ("SWITCHBOARD_CACHE_SECONDS", "soon")]).unwrap_err();
        assert_eq!(err.name, "SWITCHBOARD_CACHE_SECONDS");
        assert_eq!(err.to_string(), "environment variable SWITCHBOARD_CACHE_SECONDS: not a number");
        let err =
            settings(&[("SWITCHBOARD_TABLE", "t"), ("SWITCHBOARD_VISITOR_MESSAGES_PER_MINUTE", "-1")]).unwrap_err();
        assert_eq!(err.name, "SWITCHBOARD_VISITOR_MESSAGES_PER_MINUTE");
    }

    #[test]
    fn message_limits_are_on_by_default_and_zero_turns_one_off() {
        assert_eq!(settings(&[("SWITCHBOARD_TABLE", "t")]).unwrap().limits, LimitSettings::default());
        let s = settings(&[
            ("SWITCHBOARD_TABLE", "t"),
            ("SWITCHBOARD_TENANT_MESSAGES_PER_MINUTE", "1200"),
            ("SWITCHBOARD_VISITOR_MESSAGES_PER_MINUTE", "0"),
            ("SWITCHBOARD_DATA_WRITES_PER_MINUTE", "60"),
        ])
        .unwrap();
        let want = LimitSettings {
            tenant_messages_per_minute: 1200,
            visitor_messages_per_minute: 0,
            data_writes_per_minute: 60,
        };
        assert_eq!(s.limits, want);
    }

    #[test]
    fn optional_variables_have_defaults() {
        let s = settings(&[("SWITCHBOARD_TABLE", "t")]).unwrap();
        assert_eq!(s.cache, Duration::from_secs(300));
        assert!(s.bedrock.is_none() && s.messages_queue_url.is_none());
        let err = Settings::require(&s.messages_queue_url, "SWITCHBOARD_MESSAGES_QUEUE_URL").unwrap_err();
        assert_eq!(err.name, "SWITCHBOARD_MESSAGES_QUEUE_URL");
        let s = settings(&[
            ("SWITCHBOARD_TABLE", "t"),
            ("SWITCHBOARD_BEDROCK_MODEL_ID", "m"),
            ("SWITCHBOARD_BEDROCK_TIMEOUT_MS", "1500"),
        ])
        .unwrap();
        let b = s.bedrock.unwrap();
        assert_eq!((b.model_id.as_str(), b.timeout), ("m", Duration::from_millis(1500)));
    }

    #[test]
    fn the_functions_price_at_their_regions_table_with_the_operators_overrides() {
        let s = settings(&[("SWITCHBOARD_TABLE", "t"), ("AWS_REGION", "eu-central-1")]).unwrap();
        assert_eq!(s.prices.id.region, "eu-central-1");
        let s = settings(&[
            ("SWITCHBOARD_TABLE", "t"),
            ("AWS_REGION", "eu-west-1"),
            (
                "SWITCHBOARD_PRICE_OVERRIDES",
                "lines:\n  model.anthropic.claude-3-haiku-20240307-v1:0.input_token: {usd: \"0.25\", per: 1000000}\n  \
                 model.anthropic.claude-3-haiku-20240307-v1:0.output_token: {usd: \"1.25\", per: 1000000}\n",
            ),
        ])
        .unwrap();
        assert!(s.prices.prices_model("eu.anthropic.claude-3-haiku-20240307-v1:0"));
        assert_eq!(s.prices.id.id, "aws-eu-west-1-2026-12+overrides");
        let budget = settings(&[("SWITCHBOARD_TABLE", "t"), ("SWITCHBOARD_DEPLOYMENT_BUDGET_USD", "250.5")]);
        assert_eq!(budget.unwrap().deployment_budget_nanos, 250_500_000_000);
        let budget = settings(&[("SWITCHBOARD_TABLE", "t"), ("SWITCHBOARD_DEPLOYMENT_BUDGET_USD", "-1")]);
        assert_eq!(budget.unwrap_err().name, "SWITCHBOARD_DEPLOYMENT_BUDGET_USD");
        let bad = settings(&[("SWITCHBOARD_TABLE", "t"), ("SWITCHBOARD_PRICE_OVERRIDES", "lines: [1]")]);
        assert_eq!(bad.unwrap_err().name, "SWITCHBOARD_PRICE_OVERRIDES");
    }
}
