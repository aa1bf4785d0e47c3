//! The AWS adapters. Clients are built once per cold start ([`AwsClients::from_env`]) and shared
//! by every invocation; endpoints come from the standard `AWS_ENDPOINT_URL_*` variables, which is
//! how the tests point them at DynamoDB Local, moto and the loopback Bedrock server.

mod bedrock;
mod dynamo;
mod sqs;
mod ssm;

pub use bedrock::{BedrockModel, BedrockSettings, bedrock_client};
pub use dynamo::{
    DynamoAllowances, DynamoConversations, DynamoCustomers, DynamoIdempotency, DynamoLedger, DynamoTenants,
    DynamoTickets, Table, create_table,
};
pub use sqs::{
    DeadLetter, QueuePair, SqsEscalationQueue, SqsMessageQueue, SqsRedelivery, create_queues, dead_letters, redrive,
};
pub use ssm::{SsmSecrets, create_secret_if_absent};

/// The SDK clients, built once.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// SSM Parameter Store.
    pub ssm: aws_sdk_ssm::Client,
    /// Bedrock Runtime (its own timeouts and retries: see [`BedrockModel`]).
    pub bedrock: aws_sdk_bedrockruntime::Client,
}

impl AwsClients {
    /// Loads region, credentials and endpoints from the environment.
    pub async fn from_env(bedrock: &BedrockSettings) -> Self {
        let config = aws_config::load_from_env().await;
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            bedrock: bedrock_client(&config, bedrock),
        }
    }
}

/// Service error codes that mean the deployment itself is wrong: a resource is missing or not
/// allowed. Retrying will not help until an operator fixes the configuration.
const CONFIGURATION_ERRORS: [&str; 9] = [
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "ValidationException",
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "ParameterNotFound",
    "KMSAccessDeniedException",
];

/// Whether an SDK error code is a configuration error.
pub(crate) fn is_configuration_error(code: &str) -> bool {
    CONFIGURATION_ERRORS.contains(&code)
}

/// A port error from an SDK error: configuration errors (see [`CONFIGURATION_ERRORS`]) are
/// `Misconfigured` with the service's code and message; throttling, timeouts, 5xx and the rest
/// are `Unavailable` (retry), with the service's own error code.
pub(crate) fn unavailable<E>(port: &'static str, error: aws_sdk_dynamodb::error::SdkError<E>) -> crate::ports::PortError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static,
{
    let detail = match &error {
        aws_sdk_dynamodb::error::SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or("ServiceError");
            let detail = format!("{code}: {}", e.err().message().unwrap_or(""));
            if is_configuration_error(code) {
                return crate::ports::PortError::Misconfigured { port, detail };
            }
            detail
        }
        aws_sdk_dynamodb::error::SdkError::TimeoutError(_) => "timed out".to_string(),
        aws_sdk_dynamodb::error::SdkError::DispatchFailure(_) => "could not reach the service".to_string(),
        other => other.to_string(),
    };
    crate::ports::PortError::Unavailable { port, detail }
}
