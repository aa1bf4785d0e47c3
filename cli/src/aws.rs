//! Subcommands that talk to AWS, or to DynamoDB Local and moto through the `AWS_ENDPOINT_URL_*`
//! variables (build with `--features aws`).

use anyhow::{Context, Result};
use std::path::PathBuf;
use switchboard::adapters::aws::{AwsClients, BedrockSettings, DynamoCustomers, Table, create_queues, create_table};
use switchboard::aws_app::{AwsApp, Settings};
use switchboard::ports::CustomerStore;
use switchboard::tenant::TenantConfig;

/// Creates the table and queues (for local servers or a scratch account; production resources
/// come from the SAM template), loads the tenants, and prints the variables the functions read.
pub async fn setup(table: &str, prefix: &str, tenants: &[PathBuf]) -> Result<()> {
    let clients = AwsClients::from_env(&BedrockSettings::default()).await;
    create_table(&clients.dynamodb, table).await.context("creating the table")?;
    let messages = create_queues(&clients.sqs, &format!("{prefix}-messages"), true, 5, 180)
        .await
        .context("creating the messages queue")?;
    let escalations = create_queues(&clients.sqs, &format!("{prefix}-escalations"), false, 5, 180)
        .await
        .context("creating the escalation queue")?;
    let settings = Settings {
        table: table.to_string(),
        messages_queue_url: Some(messages.url.clone()),
        escalations_queue_url: Some(escalations.url.clone()),
        bedrock: None,
        cache: std::time::Duration::from_secs(300),
    };
    put_tenants(&AwsApp::new(settings, clients.clone()), &clients, table, tenants).await?;
    println!("export SWITCHBOARD_TABLE={table}");
    println!("export SWITCHBOARD_MESSAGES_QUEUE_URL={}", messages.url);
    println!("export SWITCHBOARD_ESCALATIONS_QUEUE_URL={}", escalations.url);
    Ok(())
}

/// Stores tenant configurations (and their seed customers) in the table the functions use.
pub async fn put(tenants: &[PathBuf]) -> Result<()> {
    let settings = Settings::from_env()?;
    let clients = AwsClients::from_env(&BedrockSettings::default()).await;
    let table = settings.table.clone();
    put_tenants(&AwsApp::new(settings, clients.clone()), &clients, &table, tenants).await
}

async fn put_tenants(app: &AwsApp, clients: &AwsClients, table: &str, tenants: &[PathBuf]) -> Result<()> {
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
        let id = app.tenants().put_config(&yaml).await.with_context(|| format!("storing {name}"))?;
        for c in &config.customers {
            customers.put_customer(&id, c).await.with_context(|| format!("storing customer {}", c.id))?;
        }
        eprintln!("tenant {id}: configuration and {} customer profiles stored", config.customers.len());
    }
    Ok(())
}
