//! What ops read from a deployed stack: its outputs (CloudFormation) and whether the deployment
//! key exists in its region (SSM). The CLI's `env --stack` and `preflight`; never the functions.

use std::collections::BTreeMap;

/// Why a stack could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// CloudFormation refused or could not be reached.
    #[error("describing stack {stack}: {why}")]
    Describe {
        /// The stack.
        stack: String,
        /// What CloudFormation said.
        why: String,
    },
    /// No such stack in this account and region.
    #[error("no stack {0} in this account and region")]
    Missing(String),
}

/// The outputs of `stack`, by key, and the stack's status, with the environment's credentials,
/// region and endpoints.
pub async fn outputs(stack: &str) -> Result<(String, BTreeMap<String, String>), StackError> {
    let client = aws_sdk_cloudformation::Client::new(&aws_config::load_from_env().await);
    let described = client.describe_stacks().stack_name(stack).send().await.map_err(|e| {
        let why = e.as_service_error().map_or_else(|| e.to_string(), ToString::to_string);
        if why.contains("does not exist") {
            StackError::Missing(stack.to_string())
        } else {
            StackError::Describe { stack: stack.to_string(), why }
        }
    })?;
    let found = described.stacks().first().ok_or_else(|| StackError::Missing(stack.to_string()))?;
    let status = found.stack_status().map_or_else(String::new, |s| s.as_str().to_string());
    let outputs = found
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect();
    Ok((status, outputs))
}

/// Whether the SSM parameter `name` exists in the client's region, from its metadata alone
/// (`ssm:DescribeParameters`: no right to read, let alone decrypt, its value).
pub async fn parameter_exists(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<bool, String> {
    let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(name)
        .build()
        .map_err(|e| e.to_string())?;
    match ssm.describe_parameters().parameter_filters(filter).send().await {
        Ok(found) => Ok(found.parameters().iter().any(|p| p.name() == Some(name))),
        Err(e) => Err(e.as_service_error().map_or_else(|| e.to_string(), ToString::to_string)),
    }
}
