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
    DynamoTickets, Table, create_table, stored_yaml,
};
pub use sqs::{
    DeadLetter, QueuePair, SqsEscalationQueue, SqsMessageQueue, SqsRedelivery, create_queues, dead_letters, redrive,
};
pub use ssm::{SsmSecrets, create_secret_if_absent};
#[cfg(feature = "ops")]
pub mod stack;

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
    /// The region the configuration names, if any.
    pub region: Option<String>,
}

/// The roots AWS service endpoints chain to: Amazon Root CA 1–4 and Starfield Services Root
/// G2, which cross-signs them (Debian's ca-certificates, from Mozilla's store).
const AMAZON_ROOTS: &[u8] = include_bytes!("amazon-roots.pem");

impl AwsClients {
    /// Loads region, credentials and endpoints from the environment; TLS trusts the platform's
    /// roots (an operator's machine may sit behind a proxy with its own CA).
    pub async fn from_env(bedrock: &BedrockSettings) -> Self {
        Self::from_config(&aws_config::load_from_env().await, bedrock)
    }

    /// As [`Self::from_env`], for the functions: they talk to AWS endpoints only, so TLS trusts
    /// the five roots those chain to, compiled in. The SDK's default reads and parses every
    /// certificate of the platform's store (about 300 files on Debian) for each client it builds:
    /// the largest part of a cold start (docs/benchmarks.md, "Cold starts").
    pub async fn for_lambda(bedrock: &BedrockSettings) -> Self {
        use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
        let trust = TrustStore::empty().with_pem_certificate(AMAZON_ROOTS);
        let http = match TlsContext::builder().with_trust_store(trust).build() {
            Ok(tls) => aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(tls)
                .build_https(),
            Err(e) => {
                tracing::warn!(error = %e, "the compiled-in roots were refused; using the platform's");
                return Self::from_env(bedrock).await;
            }
        };
        Self::from_config(&aws_config::from_env().http_client(http).load().await, bedrock)
    }

    fn from_config(config: &aws_config::SdkConfig, bedrock: &BedrockSettings) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
            bedrock: bedrock_client(config, bedrock),
            region: config.region().map(|r| r.to_string()),
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
pub(crate) fn unavailable<E>(
    port: &'static str,
    error: aws_sdk_dynamodb::error::SdkError<E>,
) -> switchboard_core::ports::PortError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static,
{
    let detail = match &error {
        aws_sdk_dynamodb::error::SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or("ServiceError");
            let detail = format!("{code}: {}", e.err().message().unwrap_or(""));
            if is_configuration_error(code) {
                return switchboard_core::ports::PortError::Misconfigured { port, detail };
            }
            detail
        }
        aws_sdk_dynamodb::error::SdkError::TimeoutError(_) => "timed out".to_string(),
        aws_sdk_dynamodb::error::SdkError::DispatchFailure(_) => "could not reach the service".to_string(),
        other => other.to_string(),
    };
    switchboard_core::ports::PortError::Unavailable { port, detail }
}

#[cfg(test)]
mod tests {
    use super::AMAZON_ROOTS;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    /// The compiled-in trust store holds the five roots AWS endpoints chain to, each a usable
    /// trust anchor, and nothing else.
    #[test]
    fn the_functions_trust_exactly_the_amazon_roots() {
        let certs: Vec<CertificateDer> =
            CertificateDer::pem_slice_iter(AMAZON_ROOTS).collect::<Result<_, _>>().expect("PEM certificates");
        let mut names: Vec<&str> = Vec::new();
        for cert in &certs {
            webpki::anchor_from_trusted_cert(cert).expect("a trust anchor");
            let name = [
                "Amazon Root CA 1",
                "Amazon Root CA 2",
                "Amazon Root CA 3",
                "Amazon Root CA 4",
                "Starfield Services Root Certificate Authority - G2",
            ]
            .into_iter()
            .find(|n| cert.as_ref().windows(n.len()).any(|w| w == n.as_bytes()))
            .expect("an Amazon root");
            names.push(name);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 5, "{names:?}");
        assert_eq!(certs.len(), 5);
    }
}
