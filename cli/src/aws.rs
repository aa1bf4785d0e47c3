//! Subcommands that talk to AWS, or to DynamoDB Local and moto through the `AWS_ENDPOINT_URL_*`
//! variables (build with `--features aws`).

use anyhow::{Context, Result};
use std::path::PathBuf;
use switchboard::adapters::aws::{
    AwsClients, BedrockSettings, DynamoCustomers, Table, create_queues, create_secret_if_absent, create_table,
    dead_letters, redrive,
};
use switchboard::aws_app::{AwsApp, Settings};
use switchboard::tenant::TenantConfig;

/// How `switchboard costs` writes the report.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum CostFormat {
    /// A table for the terminal.
    Table,
    /// One row per request.
    Csv,
    /// The whole report.
    Json,
    /// One self-contained page.
    Html,
}

/// Whose costs `switchboard costs` reports.
pub enum CostsOf {
    /// One tenant's.
    Tenant(switchboard::domain::TenantId),
    /// The requests no tenant is billed for.
    Refused,
    /// Every tenant's, with the stack's fixed lines.
    All,
}

/// `switchboard costs`: a report from the ledger in DynamoDB. It reads the ledger and, for a
/// tenant, only its budget settings (its stored YAML, no secret resolved), so a cost owner needs
/// no right to the tenants' channel tokens (docs/costs.md has the IAM policy); the review queue,
/// which holds customers' words, only with `reviews`.
pub async fn costs(of: CostsOf, options: CostOptions<'_>) -> Result<()> {
    use switchboard::cost::{Month, PriceTable, deployment, fixed::FixedMonthly, report};
    let now = chrono::Utc::now();
    let month = match options.month {
        Some(m) => Month::parse(m).with_context(|| format!("--month {m}: expected YYYY-MM"))?,
        None => Month::of(now),
    };
    // --prices, else the stack's PriceOverrides as `switchboard env --stack` exports them.
    let overrides = match options.prices {
        Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?),
        None => std::env::var("SWITCHBOARD_PRICE_OVERRIDES").ok().filter(|o| !o.trim().is_empty()),
    };
    let settings = Settings::from_env()?;
    let clients = AwsClients::from_env(&BedrockSettings::default()).await;
    // The deployment's region's table, as its functions price requests.
    let region = clients.region.clone().unwrap_or_else(|| "us-east-1".into());
    let (prices, own) = PriceTable::for_region(&region, overrides.as_deref())?;
    if !own {
        eprintln!("warning: no price table for {region}: the report's prices are us-east-1's");
    }
    // The stack's fixed lines, as its FixedMonthly output says (`switchboard env --stack`).
    let fixed = match std::env::var("SWITCHBOARD_FIXED_MONTHLY") {
        Ok(text) => FixedMonthly::parse(&text).with_context(|| {
            format!("SWITCHBOARD_FIXED_MONTHLY={text}: expected metrics=N,alarm_metrics=N,dashboards=N")
        })?,
        Err(_) => FixedMonthly::default(),
    };
    let table = Table::new(clients.dynamodb.clone(), &settings.table);
    let ledger = switchboard::adapters::aws::DynamoLedger::new(table.clone());
    let text = match of {
        CostsOf::All => {
            let report = deployment::build(&ledger, &prices, fixed, settings.deployment_budget_nanos, month, now)
                .await
                .context("reading the cost ledger")?;
            match options.format {
                CostFormat::Table => report.table(),
                CostFormat::Csv => report.csv(),
                CostFormat::Json => serde_json::to_string_pretty(&report)?,
                CostFormat::Html => report.html(),
            }
        }
        CostsOf::Tenant(_) | CostsOf::Refused => {
            let id = match of {
                CostsOf::Tenant(id) => id,
                _ => switchboard::domain::TenantId::deployment(),
            };
            let budget = if id == switchboard::domain::TenantId::deployment() {
                None
            } else {
                let yaml = switchboard::adapters::aws::stored_yaml(&table, &id)
                    .await
                    .with_context(|| format!("reading tenant {id}'s budget settings"))?;
                if yaml.is_none() {
                    eprintln!("warning: tenant {id} has no configuration in the table: no budget or savings shown");
                }
                yaml.as_deref()
                    .map(switchboard::config::budget_of)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("tenant {id}: {e}"))?
            };
            let mut report = report::build(&ledger, &prices, &id, budget.as_ref(), month, now, options.limit)
                .await
                .context("reading the cost ledger")?
                .with_fixed_share(&ledger, &prices, fixed)
                .await
                .context("reading the deployment's totals")?;
            if options.reviews {
                let conversations = switchboard::adapters::aws::DynamoConversations::new(table.clone());
                report = report
                    .with_reviews(&conversations, &id)
                    .await
                    .context("reading the pilot's decisions to review")?;
            }
            match options.format {
                CostFormat::Table => report.table(),
                CostFormat::Csv => report.csv(),
                CostFormat::Json => serde_json::to_string_pretty(&report)?,
                CostFormat::Html => switchboard::cost::html::render(&report, None),
            }
        }
    };
    match options.out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

/// How `switchboard costs` reads and writes.
pub struct CostOptions<'a> {
    /// `YYYY-MM` (default: this month).
    pub month: Option<&'a str>,
    /// The format.
    pub format: CostFormat,
    /// A file instead of stdout.
    pub out: Option<&'a std::path::Path>,
    /// Requests listed.
    pub limit: usize,
    /// Price-line overrides.
    pub prices: Option<&'a std::path::Path>,
    /// Also the review queue (customers' words: needs read rights on conversations).
    pub reviews: bool,
}

/// Creates the table and queues (for local servers or a scratch account; production resources
/// come from the SAM template), loads the tenants, and prints the variables the functions read.
pub async fn setup(table: &str, prefix: &str, tenants: &[PathBuf]) -> Result<()> {
    let clients = AwsClients::from_env(&BedrockSettings::default()).await;
    create_table(&clients.dynamodb, table).await.context("creating the table")?;
    // As the template makes them.
    let (receives, visibility) =
        (switchboard::lambda::MAX_RECEIVES, switchboard::lambda::LONGEST_WAIT.as_secs() as u32);
    let messages = create_queues(&clients.sqs, &format!("{prefix}-messages"), true, receives, visibility)
        .await
        .context("creating the messages queue")?;
    let escalations = create_queues(&clients.sqs, &format!("{prefix}-escalations"), false, receives, visibility)
        .await
        .context("creating the escalation queue")?;
    let key_parameter = format!("/switchboard/{prefix}/deployment-key");
    put_deployment_key(&clients, &key_parameter).await?;
    let settings = Settings {
        table: table.to_string(),
        messages_queue_url: Some(messages.url.clone()),
        escalations_queue_url: Some(escalations.url.clone()),
        escalations_dlq_url: Some(escalations.dlq_url.clone()),
        messages_dlq_url: Some(messages.dlq_url.clone()),
        bedrock: None,
        cache: std::time::Duration::from_secs(300),
        key_parameter: Some(key_parameter.clone()),
        prices: std::sync::Arc::new(switchboard::cost::PriceTable::default_table()),
        allowed_endpoints: Vec::new(),
        tenant_secrets: true,
        deployment_budget_nanos: 0,
        limits: switchboard::limits::LimitSettings::default(),
    };
    // Local servers or a scratch account: the demo's literal secrets are allowed.
    put_tenants(&AwsApp::new(settings, clients.clone()), &clients, table, tenants, Secrets::LiteralAllowed).await?;
    println!("export SWITCHBOARD_TABLE={table}");
    println!("export SWITCHBOARD_MESSAGES_QUEUE_URL={}", messages.url);
    println!("export SWITCHBOARD_ESCALATIONS_QUEUE_URL={}", escalations.url);
    println!("export SWITCHBOARD_MESSAGES_DLQ_URL={}", messages.dlq_url);
    println!("export SWITCHBOARD_ESCALATIONS_DLQ_URL={}", escalations.dlq_url);
    println!("export SWITCHBOARD_KEY_PARAMETER={key_parameter}");
    Ok(())
}

/// Which queue `switchboard dlq` works on.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum QueueName {
    /// The FIFO messages queue (customer messages, agent replies).
    Messages,
    /// The escalation queue (tickets, comments).
    Escalations,
}

/// What `switchboard dlq` does.
#[derive(Debug, Clone)]
pub enum DlqAction {
    /// Every dead letter, one JSON line each.
    List,
    /// One dead letter, in full.
    Show(String),
    /// Back to the queue: all, or one.
    Redrive(Option<String>),
}

/// Lists, shows or redrives the dead letters of `queue` (URLs from the environment, as
/// `aws-setup` prints them and the stack outputs name them).
pub async fn dlq(queue: QueueName, action: DlqAction) -> Result<()> {
    let (queue_var, dlq_var) = match queue {
        QueueName::Messages => ("SWITCHBOARD_MESSAGES_QUEUE_URL", "SWITCHBOARD_MESSAGES_DLQ_URL"),
        QueueName::Escalations => ("SWITCHBOARD_ESCALATIONS_QUEUE_URL", "SWITCHBOARD_ESCALATIONS_DLQ_URL"),
    };
    let var = |name: &str| std::env::var(name).with_context(|| format!("environment variable {name} is not set"));
    let dlq_url = var(dlq_var)?;
    let clients = AwsClients::from_env(&BedrockSettings::default()).await;
    match action {
        DlqAction::List => {
            let letters = dead_letters(&clients.sqs, &dlq_url).await.context("reading the dead-letter queue")?;
            for l in &letters {
                println!(
                    "{}",
                    serde_json::json!({"message_id": l.message_id, "receive_count": l.receive_count, "error": l.error,
                        "bytes": l.body.len()})
                );
            }
            eprintln!("{} dead letters", letters.len());
        }
        DlqAction::Show(id) => {
            let letters = dead_letters(&clients.sqs, &dlq_url).await.context("reading the dead-letter queue")?;
            let letter =
                letters.into_iter().find(|l| l.message_id == id).with_context(|| format!("no dead letter {id}"))?;
            let body: serde_json::Value =
                serde_json::from_str(&letter.body).unwrap_or(serde_json::Value::String(letter.body.clone()));
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"message_id": letter.message_id,
                "receive_count": letter.receive_count, "error": letter.error, "body": body}))?
            );
        }
        DlqAction::Redrive(only) => {
            let moved = redrive(&clients.sqs, &dlq_url, &var(queue_var)?, only.as_deref())
                .await
                .context("redriving the dead letters")?;
            eprintln!("{moved} dead letters moved back to the queue");
        }
    }
    Ok(())
}

/// Stores tenant configurations (and their seed customers) in the table the functions use.
pub async fn put(tenants: &[PathBuf], allow_literal_secrets: bool) -> Result<()> {
    let settings = Settings::from_env()?;
    let clients = AwsClients::from_env(&BedrockSettings::default()).await;
    let table = settings.table.clone();
    let secrets = if allow_literal_secrets { Secrets::LiteralAllowed } else { Secrets::InSsmOnly };
    put_tenants(&AwsApp::new(settings, clients.clone()), &clients, &table, tenants, secrets).await
}

/// Whether a tenant file may hold its secrets' values itself.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Secrets {
    /// Every secret is an SSM parameter: a value in the file would sit in the table in plain
    /// text, readable by whoever may read the table (a deployment).
    InSsmOnly,
    /// Values allowed (local servers, a scratch account, the demo tenant).
    LiteralAllowed,
}

async fn put_tenants(
    app: &AwsApp,
    clients: &AwsClients,
    table: &str,
    tenants: &[PathBuf],
    secrets: Secrets,
) -> Result<()> {
    let customers = DynamoCustomers::new(Table::new(clients.dynamodb.clone(), table));
    for path in tenants {
        let (name, yaml) = match path.to_str() {
            Some("demo") => ("demo (built in)".to_string(), switchboard::tenant::DEMO_TENANT_YAML.to_string()),
            _ => (
                path.display().to_string(),
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            ),
        };
        let config = TenantConfig::from_yaml(&name, &yaml)?;
        if secrets == Secrets::InSsmOnly {
            let literal: Vec<&str> = config
                .clone()
                .secrets_mut()
                .into_iter()
                .filter(|(_, s)| s.parameter().is_none())
                .map(|(f, _)| f)
                .collect();
            anyhow::ensure!(
                literal.is_empty(),
                "{name} was not stored: these secrets are written in the file, not in SSM: {}\n\
                 (name SSM SecureStrings instead, e.g. auth_token: {{ssm: /switchboard/{}/twilio-auth-token}}; \
                 --allow-literal-secrets for local servers and the demo)",
                literal.join(", "),
                config.id
            );
        }
        check_parameters(clients, &config).await.with_context(|| format!("{name} was not stored"))?;
        let (id, seeded) =
            app.tenants().put_tenant(&yaml, &customers).await.with_context(|| format!("storing {name}"))?;
        eprintln!("tenant {id}: configuration and {seeded} seed customer profiles stored");
        if config.data.accepts_the_published_demo_key() {
            eprintln!(
                "warning: tenant {id} accepts the demo data key published in the README: anyone can write its customers; \
                 replace data.keys (switchboard data-key)"
            );
        }
        if matches!(config.helpdesk, switchboard::tenant::HelpdeskConfig::Console) {
            eprintln!(
                "warning: tenant {id} has no helpdesk (kind: console): escalations are only logged; no person sees them"
            );
        }
    }
    Ok(())
}

/// Every `{ssm: …}` parameter `config` names exists and this caller can read and decrypt it:
/// a tenant stored with a missing one would fail its first customer's message instead.
async fn check_parameters(clients: &AwsClients, config: &TenantConfig) -> Result<()> {
    let mut problems = Vec::new();
    for (field, secret) in config.clone().secrets_mut() {
        let Some(name) = secret.parameter() else { continue };
        let read = clients.ssm.get_parameter().name(name).with_decryption(true).send().await;
        if let Err(e) = read {
            let why = match e.as_service_error() {
                Some(s) if s.is_parameter_not_found() => "does not exist".to_string(),
                Some(s) => format!("cannot be read: {s}"),
                None => format!("cannot be read: {e}"),
            };
            problems.push(format!("{field}: SSM parameter {name} {why}"));
        }
    }
    anyhow::ensure!(
        problems.is_empty(),
        "{}\n(create each with `aws ssm put-parameter --type SecureString --name NAME --value ...` in the stack's region)",
        problems.join("\n")
    );
    Ok(())
}

/// `switchboard customers import`: `file` into `tenant`'s customers in the deployment's table.
pub async fn import_customers(
    tenant: &switchboard::domain::TenantId,
    file: &std::path::Path,
    format: switchboard::customers::import::Format,
    dry_run: bool,
    rejects: Option<&PathBuf>,
) -> Result<()> {
    use switchboard::tenant::TenantDirectory;
    let settings = Settings::from_env()?;
    let clients = AwsClients::from_env(&BedrockSettings::default()).await;
    let table = Table::new(clients.dynamodb.clone(), &settings.table);
    let app = AwsApp::new(settings, clients);
    // A typo in the tenant would import a shop's customers under a name nothing serves.
    let known = app.tenants().tenant(tenant).await.with_context(|| format!("reading tenant {tenant}"))?;
    let Some(known) = known else {
        anyhow::bail!("no tenant {tenant} in the table: store its configuration first (tenants-put)")
    };
    let keep = known.config.data.retention.profile_expiry(chrono::Utc::now());
    let store = DynamoCustomers::new(table);
    let import = crate::customers::import_file(&store, tenant, keep, file, format, dry_run, rejects);
    let (report, used) = switchboard::meter::measure(import).await;
    let report = report?;
    eprintln!(
        "DynamoDB: {} calls, {:.1} write units, {:.1} read units",
        used.dynamodb_calls,
        used.dynamodb_write_milli_units as f64 / 1000.0,
        used.dynamodb_read_milli_units as f64 / 1000.0
    );
    anyhow::ensure!(report.rejected.is_empty() || dry_run, "{} rows rejected", report.rejected.len());
    Ok(())
}

/// What `customers export` and `customers erase` do.
pub enum Right {
    /// Print (or write to the file) everything held.
    Export(Option<PathBuf>),
    /// Erase it.
    Erase,
}

/// `switchboard customers export|erase`: a data subject's access or erasure request, on the
/// deployment's table.
pub async fn customer_rights(tenant: &str, customer: &str, right: Right) -> Result<()> {
    use switchboard::adapters::aws::{DynamoConversations, DynamoLedger};
    let tenant = switchboard::domain::TenantId::new(tenant).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
    let id = switchboard::domain::CustomerId::new(customer).map_err(|e| anyhow::anyhow!("--customer: {e}"))?;
    let settings = Settings::from_env()?;
    let clients = AwsClients::from_env(&BedrockSettings::default()).await;
    let table = || Table::new(clients.dynamodb.clone(), &settings.table);
    let (customers, conversations, ledger) =
        (DynamoCustomers::new(table()), DynamoConversations::new(table()), DynamoLedger::new(table()));
    let held =
        switchboard::customers::privacy::Held { customers: &customers, conversations: &conversations, ledger: &ledger };
    let now = chrono::Utc::now();
    match right {
        Right::Export(out) => {
            let export = held.export(&tenant, &id, now).await.context("reading the customer's data")?;
            let export = export.with_context(|| format!("tenant {tenant} holds no customer {id}"))?;
            let text = serde_json::to_string_pretty(&export)?;
            match out {
                Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?,
                None => println!("{text}"),
            }
        }
        Right::Erase => {
            let erasure = held.erase(&tenant, &id, now).await.context("erasing (running it again resumes safely)")?;
            eprintln!(
                "customer {id}: profile {}, {} conversations deleted, {} cost records unlinked",
                if erasure.profile { "erased" } else { "not held" },
                erasure.conversations,
                erasure.cost_records
            );
        }
    }
    Ok(())
}

/// Stores a fresh random deployment key unless one exists: replacing it would make every
/// channel conversation start over and every web chat token stop working.
async fn put_deployment_key(clients: &AwsClients, name: &str) -> Result<()> {
    let value = switchboard::keys::DeploymentKey::random_text();
    create_secret_if_absent(&clients.ssm, name, &value)
        .await
        .with_context(|| format!("storing the deployment key in {name}"))?;
    Ok(())
}

/// The stack's outputs each variable comes from.
const FROM_OUTPUTS: [(&str, &str); 7] = [
    ("SWITCHBOARD_TABLE", "TableName"),
    ("SWITCHBOARD_MESSAGES_QUEUE_URL", "MessagesQueueUrl"),
    ("SWITCHBOARD_ESCALATIONS_QUEUE_URL", "EscalationsQueueUrl"),
    ("SWITCHBOARD_MESSAGES_DLQ_URL", "MessagesDeadLetterQueueUrl"),
    ("SWITCHBOARD_ESCALATIONS_DLQ_URL", "EscalationsDeadLetterQueueUrl"),
    ("SWITCHBOARD_KEY_PARAMETER", "DeploymentKeyParameter"),
    ("SWITCHBOARD_FIXED_MONTHLY", "FixedMonthly"),
];

/// `switchboard env --stack NAME`: `export` lines from the stack's outputs, after checking the
/// deployment key exists in the stack's region (without it every inbound cold start fails).
pub async fn env(stack: &str) -> Result<()> {
    use switchboard::adapters::aws::stack;
    let (status, outputs) = stack::outputs(stack).await?;
    anyhow::ensure!(
        status.ends_with("_COMPLETE") && !status.contains("ROLLBACK") && !status.contains("DELETE"),
        "stack {stack} is {status}: deploy it first (docs/deploy.md)"
    );
    let mut lines = Vec::new();
    for (variable, output) in FROM_OUTPUTS {
        let value = outputs
            .get(output)
            .with_context(|| format!("stack {stack} has no {output} output: is it Switchboard's template?"))?;
        lines.push(format!("export {variable}={}", shell_quoted(value)));
    }
    if let Some(region) = outputs.get("Region") {
        lines.push(format!("export AWS_REGION={}", shell_quoted(region)));
    }
    if let Some(api) = outputs.get("ApiUrl") {
        lines.push(format!("export SWITCHBOARD_API_URL={}", shell_quoted(api)));
    }
    // What the functions budget and price with, so the reports agree with them.
    if let Some(budget) = outputs.get("DeploymentMonthlyBudgetUsd") {
        lines.push(format!("export SWITCHBOARD_DEPLOYMENT_BUDGET_USD={}", shell_quoted(budget)));
    }
    match outputs.get("PriceOverrides").map(String::as_str) {
        Some("-") | None => lines.push("unset SWITCHBOARD_PRICE_OVERRIDES".into()),
        Some(overrides) => lines.push(format!("export SWITCHBOARD_PRICE_OVERRIDES={}", shell_quoted(overrides))),
    }
    let key = &outputs["DeploymentKeyParameter"];
    let clients = AwsClients::from_env(&BedrockSettings::default()).await;
    let region = outputs.get("Region").cloned().or(clients.region.clone()).unwrap_or_default();
    match stack::parameter_exists(&clients.ssm, key).await {
        Ok(true) => {}
        Ok(false) => anyhow::bail!(
            "the deployment key {key} does not exist in {region}, the stack's region: every inbound request fails \
             until it does (docs/deploy.md, step 2: create it with --region {region})"
        ),
        // A cost owner may lack ssm:DescribeParameters: the variables are still what they need.
        Err(e) => eprintln!("warning: could not check the deployment key {key} in {region}: {e}"),
    }
    println!("{}", lines.join("\n"));
    Ok(())
}

/// `switchboard preflight`: the deployment key exists in the region the stack will be made in.
pub async fn preflight(key_parameter: &str) -> Result<()> {
    let clients = AwsClients::from_env(&BedrockSettings::default()).await;
    let region = clients.region.clone().context("no region: set AWS_REGION or the profile's region")?;
    match switchboard::adapters::aws::stack::parameter_exists(&clients.ssm, key_parameter).await {
        Ok(true) => {
            println!("preflight: the deployment key {key_parameter} exists in {region}");
            Ok(())
        }
        Ok(false) => anyhow::bail!(
            "the deployment key {key_parameter} does not exist in {region}: create it there before deploying \
             (docs/deploy.md, step 2), or deploy to the region it is in"
        ),
        Err(e) => anyhow::bail!("could not read {key_parameter} in {region}: {e}"),
    }
}

/// `value` as one shell word.
fn shell_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}
