//! Subcommands that talk to AWS, or to DynamoDB Local and moto through the `AWS_ENDPOINT_URL_*`
//! variables (build with `--features aws`).

use anyhow::{Context, Result};
use std::path::PathBuf;
use switchboard::adapters::aws::{
    AwsClients, BedrockSettings, DynamoCustomers, Table, create_queues, create_secret_if_absent, create_table,
    dead_letters, redrive,
};
use switchboard::aws_app::{AwsApp, Settings};
use switchboard::ports::CustomerStore;
use switchboard::tenant::TenantConfig;

/// Creates the table and queues (for local servers or a scratch account; production resources
/// come from the SAM template), loads the tenants, and prints the variables the functions read.
pub async fn setup(table: &str, prefix: &str, tenants: &[PathBuf]) -> Result<()> {
    let clients = AwsClients::from_env(&BedrockSettings::default()).await;
    create_table(&clients.dynamodb, table).await.context("creating the table")?;
    let messages = create_queues(&clients.sqs, &format!("{prefix}-messages"), true, 5, 360)
        .await
        .context("creating the messages queue")?;
    let escalations = create_queues(&clients.sqs, &format!("{prefix}-escalations"), false, 5, 360)
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
    };
    put_tenants(&AwsApp::new(settings, clients.clone()), &clients, table, tenants).await?;
    println!("export SWITCHBOARD_TABLE={table}");
    println!("export SWITCHBOARD_MESSAGES_QUEUE_URL={}", messages.url);
    println!("export SWITCHBOARD_ESCALATIONS_QUEUE_URL={}", escalations.url);
    println!("export SWITCHBOARD_MESSAGES_DLQ_URL={}", messages.dlq_url);
    println!("export SWITCHBOARD_ESCALATIONS_DLQ_URL={}", escalations.dlq_url);
    println!("export SWITCHBOARD_KEY_PARAMETER={key_parameter}");
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
