//! SSM Parameter Store SecureStrings, cached in memory for a bounded time: a cold start reads
//! each secret once, and a rotated secret is picked up within `ttl`.

use async_trait::async_trait;
use aws_sdk_ssm::Client;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use switchboard_core::meter::report;
use switchboard_core::ports::{PortError, SecretStore};
use switchboard_engine::tenant::Secret;

/// Secrets from SSM, cached.
#[derive(Debug)]
pub struct SsmSecrets {
    client: Client,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Option<String>, Instant)>>,
}

impl SsmSecrets {
    /// Reads through `client`, keeping values for `ttl`.
    pub fn new(client: Client, ttl: Duration) -> Self {
        Self { client, ttl, cache: Mutex::new(HashMap::new()) }
    }
}

#[async_trait]
impl SecretStore for SsmSecrets {
    async fn secret(&self, name: &str) -> Result<Option<Secret>, PortError> {
        if let Some((value, at)) = switchboard_core::sync::lock(&self.cache).get(name)
            && at.elapsed() < self.ttl
        {
            return Ok(value.clone().map(Secret::new));
        }
        report(|m| m.ssm_requests += 1);
        let value = match self.client.get_parameter().name(name).with_decryption(true).send().await {
            Ok(out) => out.parameter().and_then(|p| p.value()).map(str::to_string),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_parameter_not_found()) => None,
            Err(e) => return Err(super::unavailable("secret store", e)),
        };
        switchboard_core::sync::lock(&self.cache).insert(name.to_string(), (value.clone(), Instant::now()));
        Ok(value.map(Secret::new))
    }
}

/// Stores `value` as a SecureString named `name` unless the parameter exists; true when stored.
pub async fn create_secret_if_absent(client: &Client, name: &str, value: &str) -> Result<bool, PortError> {
    let result = client
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(false)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_parameter_already_exists()) => Ok(false),
        Err(e) => Err(super::unavailable("secret store", e)),
    }
}
