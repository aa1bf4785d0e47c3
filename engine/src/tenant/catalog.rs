//! The tenant catalog: how every deployment turns a stored configuration into a tenant ready to
//! serve — read the YAML, refuse references it may not make, resolve its secrets, reuse or train
//! its intent model, compile it — and keeps the result for a while. The Lambda functions (over
//! DynamoDB) and `switchboard serve` (over memory) load tenants through this one path.

use super::{ConfigError, Secret, Tenant, TenantConfig, TenantDirectory};
use crate::classify::IntentModel;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_core::domain::TenantId;
use switchboard_core::ports::{PortError, SecretStore, TenantStore};
use switchboard_core::sync::lock;

/// Most tenant lookups cached per instance. Unknown ids are cached too (garbage ids must not make
/// every request a read), so without a bound a stream of random ids would grow memory until the
/// instance dies.
pub const TENANT_CACHE_LIMIT: usize = 10_000;

const TENANTS: &str = "tenant directory";

/// A cached lookup: the tenant, its absence, or why it cannot be loaded; and when it was read.
type Cached = (Result<Option<Arc<Tenant>>, PortError>, Instant);

/// Tenants compiled from a [`TenantStore`] on first use and cached for `ttl`; SSM references
/// resolved through a [`SecretStore`].
pub struct TenantCatalog {
    store: Arc<dyn TenantStore>,
    /// `None`: every reference is withheld (see [`TenantCatalog::without_secrets`]).
    secrets: Option<Arc<dyn SecretStore>>,
    ttl: Duration,
    cache: Mutex<HashMap<TenantId, Cached>>,
    cache_limit: usize,
    /// Each loaded tenant's intent model and the digest of the YAML it belongs to.
    models: Mutex<HashMap<TenantId, (String, IntentModel)>>,
    /// Origins tenants' API bases may use besides their providers' hosts.
    allowed_endpoints: Vec<String>,
}

impl std::fmt::Debug for TenantCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantCatalog").field("ttl", &self.ttl).field("cached", &self.cached()).finish()
    }
}

/// Which YAML a stored model was trained from.
pub fn yaml_digest(yaml: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(yaml.as_bytes()))
}

/// A key nobody knows, standing in for a secret a function may not read.
fn withheld_secret() -> Secret {
    let mut bytes = [0u8; 32];
    // Without randomness the key would be guessable: an empty one instead fails the compile.
    let filled = getrandom::fill(&mut bytes).is_ok();
    Secret::new(if filled { format!("withheld-{}", hex::encode(bytes)) } else { String::new() })
}

fn corrupt(detail: impl std::fmt::Display) -> PortError {
    PortError::Corrupt { port: TENANTS, detail: detail.to_string() }
}

fn misconfigured(detail: impl std::fmt::Display) -> PortError {
    PortError::Misconfigured { port: TENANTS, detail: detail.to_string() }
}

impl TenantCatalog {
    /// Tenants in `store`, their secrets in `secrets`, cached for `ttl`.
    pub fn new(store: Arc<dyn TenantStore>, secrets: Arc<dyn SecretStore>, ttl: Duration) -> Self {
        Self {
            store,
            secrets: Some(secrets),
            ttl,
            cache: Mutex::new(HashMap::new()),
            cache_limit: TENANT_CACHE_LIMIT,
            models: Mutex::new(HashMap::new()),
            allowed_endpoints: Vec::new(),
        }
    }

    /// The same, caching at most `limit` lookups.
    pub fn with_cache_limit(mut self, limit: usize) -> Self {
        self.cache_limit = limit.max(1);
        self
    }

    /// The same, reading none of the tenants' secrets: each (inline or a reference) becomes a
    /// random key of this instance's, which nobody can sign with and nothing of the tenant's
    /// verifies under. For a function that verifies and sends nothing (the public long poll).
    pub fn without_secrets(mut self) -> Self {
        self.secrets = None;
        self
    }

    /// The same, letting tenants' API bases use these origins too (the operator's setting).
    pub fn allowing_endpoints(mut self, origins: Vec<String>) -> Self {
        self.allowed_endpoints = origins;
        self
    }

    /// How many lookups are cached now.
    pub fn cached(&self) -> usize {
        lock(&self.cache).len()
    }

    /// Drops what is cached for `id`, so the next lookup reads the store (after a write to it).
    pub fn forget(&self, id: &TenantId) {
        lock(&self.cache).remove(id);
    }

    /// Parses a configuration as a load would and refuses one that names another tenant's
    /// secrets or sends to a host off its providers' (before any secret is read).
    pub fn check(&self, source: &str, yaml: &str) -> Result<TenantConfig, PortError> {
        let config = TenantConfig::from_yaml(source, yaml).map_err(corrupt)?;
        let problems = config.reference_problems(&self.allowed_endpoints);
        if problems.is_empty() {
            return Ok(config);
        }
        Err(misconfigured(ConfigError { source_name: source.to_string(), problems }))
    }

    /// Caches a lookup within the limit: when full, expired entries and unknown ids go first,
    /// then everything (known tenants are few and cheap to read again).
    fn remember(&self, id: &TenantId, tenant: Result<Option<Arc<Tenant>>, PortError>) {
        let mut cache = lock(&self.cache);
        if cache.len() >= self.cache_limit {
            cache.retain(|_, (t, at)| matches!(t, Ok(Some(_))) && at.elapsed() < self.ttl);
        }
        if cache.len() >= self.cache_limit {
            cache.clear();
        }
        cache.insert(id.clone(), (tenant, Instant::now()));
    }

    /// Resolves every SSM reference in `config` (or withholds every secret). A missing secret is never an
    /// empty one: the tenant does not load until it exists.
    async fn resolve_secrets(&self, id: &TenantId, config: &mut TenantConfig) -> Result<(), PortError> {
        for (field, secret) in config.secrets_mut() {
            let Some(secrets) = &self.secrets else {
                *secret = withheld_secret();
                continue;
            };
            let Some(name) = secret.parameter().map(str::to_string) else { continue };
            *secret = secrets
                .secret(&name)
                .await?
                .ok_or_else(|| misconfigured(format!("tenant {id}: SSM parameter {name} ({field}) does not exist")))?;
        }
        Ok(())
    }

    /// The intent model to compile with, and where it came from: the one this instance already
    /// has when the YAML is unchanged (a cache refresh: reading 300 KB again costs more than
    /// training), else the stored one, else none (the compile trains it).
    async fn model(&self, id: &TenantId, digest: &str) -> (Option<IntentModel>, &'static str) {
        let known = lock(&self.models).get(id).filter(|(d, _)| d == digest).map(|(_, m)| m.clone());
        if let Some(model) = known {
            return (Some(model), "cached");
        }
        match self.store.model(id, digest).await {
            Ok(Some(bytes)) => match IntentModel::from_bytes(&bytes) {
                Some(model) => (Some(model), "stored"),
                None => {
                    tracing::warn!(tenant = %id, "stored intent model does not read back; training it");
                    (None, "trained")
                }
            },
            Ok(None) => (None, "trained"),
            Err(error) => {
                tracing::warn!(tenant = %id, %error, "stored intent model unreadable; training it");
                (None, "trained")
            }
        }
    }

    /// Reads, checks, resolves and compiles a tenant; logs what each step took, since this is the
    /// first request's share of a cold start (and of each cache period). The secrets and the
    /// stored model are fetched at the same time.
    async fn load(&self, id: &TenantId) -> Result<Option<Tenant>, PortError> {
        let started = Instant::now();
        let Some(yaml) = self.store.config(id).await? else { return Ok(None) };
        let read = started.elapsed();
        let source = format!("tenant {id}");
        let mut config = self.check(&source, &yaml)?;
        let digest = yaml_digest(&yaml);
        let (secrets, (model, from)) = tokio::join!(self.resolve_secrets(id, &mut config), self.model(id, &digest));
        secrets?;
        let fetched = started.elapsed();
        let tenant = Tenant::compile_with(&source, config, model).map_err(misconfigured)?;
        lock(&self.models).insert(id.clone(), (digest, tenant.classifier.intents().clone()));
        tracing::info!(
            tenant = %id,
            model = from,
            read_us = read.as_micros() as u64,
            secrets_and_model_us = (fetched - read).as_micros() as u64,
            compile_us = (started.elapsed() - fetched).as_micros() as u64,
            "tenant loaded"
        );
        Ok(Some(tenant))
    }
}

#[async_trait]
impl TenantDirectory for TenantCatalog {
    async fn tenant(&self, id: &TenantId) -> Result<Option<Arc<Tenant>>, PortError> {
        if let Some((tenant, at)) = lock(&self.cache).get(id)
            && at.elapsed() < self.ttl
        {
            return tenant.clone();
        }
        let tenant = self.load(id).await.map(|t| t.map(Arc::new));
        match &tenant {
            // Unknown ids are cached too, so garbage tenant ids cannot make every request a read;
            // so are broken tenants (one log line per cache period, not a read per request).
            Ok(_) => self.remember(id, tenant.clone()),
            Err(error @ (PortError::Misconfigured { .. } | PortError::Corrupt { .. })) => {
                tracing::error!(tenant = %id, %error, "tenant cannot be loaded; cached as broken until the cache expires");
                self.remember(id, tenant.clone());
            }
            Err(_) => {}
        }
        tenant
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemorySecrets, MemoryTenantStore};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use switchboard_core::config::DEMO_TENANT_YAML;

    /// The memory store, counting what the catalog reads.
    #[derive(Default)]
    struct Counting {
        inner: MemoryTenantStore,
        configs: AtomicUsize,
        models: AtomicUsize,
    }

    #[async_trait]
    impl TenantStore for Counting {
        async fn config(&self, tenant: &TenantId) -> Result<Option<String>, PortError> {
            self.configs.fetch_add(1, Ordering::SeqCst);
            self.inner.config(tenant).await
        }
        async fn model(&self, tenant: &TenantId, digest: &str) -> Result<Option<Vec<u8>>, PortError> {
            self.models.fetch_add(1, Ordering::SeqCst);
            self.inner.model(tenant, digest).await
        }
    }

    fn id(s: &str) -> TenantId {
        TenantId::new(s).unwrap()
    }

    fn catalog(yamls: &[&str], secrets: MemorySecrets, ttl: Duration) -> (Arc<Counting>, TenantCatalog) {
        let store = Arc::new(Counting::default());
        for yaml in yamls {
            store.inner.put_config("t", yaml).unwrap();
        }
        (store.clone(), TenantCatalog::new(store, Arc::new(secrets), ttl))
    }

    const WEBCHAT_SECRET: &str = "identity_secret: demo-identity-secret-change-me";

    #[tokio::test]
    async fn unknown_and_known_tenants_are_read_once_per_cache_period() {
        let (store, catalog) = catalog(&[DEMO_TENANT_YAML], MemorySecrets::default(), Duration::from_secs(60));
        for _ in 0..3 {
            assert!(catalog.tenant(&id("demo")).await.unwrap().is_some());
            assert!(catalog.tenant(&id("nobody")).await.unwrap().is_none());
        }
        assert_eq!(store.configs.load(Ordering::SeqCst), 2, "one read each, then the cache");
    }

    #[tokio::test]
    async fn ssm_references_resolve_and_a_missing_one_is_a_broken_tenant() {
        let yaml = DEMO_TENANT_YAML.replace(WEBCHAT_SECRET, "identity_secret: {ssm: /switchboard/demo/webchat}");
        let broken = yaml.replace("id: demo", "id: broken").replace("/switchboard/demo/", "/switchboard/broken/");
        let secrets = MemorySecrets::default();
        secrets.put("/switchboard/demo/webchat", "from-the-parameter-store");
        let (store, catalog) = catalog(&[&yaml, &broken], secrets, Duration::from_secs(60));
        let demo = catalog.tenant(&id("demo")).await.unwrap().unwrap();
        assert_eq!(
            demo.config.channels.webchat.as_ref().unwrap().identity_secret.expose(),
            b"from-the-parameter-store"
        );
        for _ in 0..2 {
            let error = catalog.tenant(&id("broken")).await.unwrap_err();
            assert!(matches!(error, PortError::Misconfigured { .. }), "{error}");
            assert!(error.to_string().contains("/switchboard/broken/webchat"), "names the parameter: {error}");
        }
        assert_eq!(store.configs.load(Ordering::SeqCst), 2, "the broken tenant is cached as broken");
    }

    #[tokio::test]
    async fn a_reference_to_another_tenants_secret_is_refused_before_any_is_read() {
        let yaml = DEMO_TENANT_YAML.replace(WEBCHAT_SECRET, "identity_secret: {ssm: /switchboard/rival/webchat}");
        let secrets = MemorySecrets::default();
        secrets.put("/switchboard/rival/webchat", "the rival's key");
        let (_, catalog) = catalog(&[&yaml], secrets, Duration::from_secs(60));
        let error = catalog.tenant(&id("demo")).await.unwrap_err();
        assert!(error.to_string().contains("a tenant reads only its own secrets"), "{error}");
    }

    #[tokio::test]
    async fn without_secrets_every_secret_is_withheld() {
        let (_, catalog) = catalog(&[DEMO_TENANT_YAML], MemorySecrets::default(), Duration::from_secs(60));
        let catalog = catalog.without_secrets();
        let demo = catalog.tenant(&id("demo")).await.unwrap().unwrap();
        let key = demo.config.channels.webchat.as_ref().unwrap().identity_secret.expose().to_vec();
        assert!(!key.is_empty() && key != b"demo-identity-secret-change-me", "the inline key is not kept");
    }

    #[tokio::test]
    async fn the_stored_model_is_used_and_a_refresh_of_unchanged_yaml_keeps_its_own() {
        let (store, catalog) = catalog(&[DEMO_TENANT_YAML], MemorySecrets::default(), Duration::ZERO);
        let first = catalog.tenant(&id("demo")).await.unwrap().unwrap();
        let again = catalog.tenant(&id("demo")).await.unwrap().unwrap();
        assert_eq!(store.configs.load(Ordering::SeqCst), 2, "a zero TTL reads the YAML every time");
        assert_eq!(store.models.load(Ordering::SeqCst), 1, "the model is read once, then reused");
        let text = "where is my parcel?";
        assert_eq!(first.classifier.classify(text), again.classifier.classify(text));
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_limit() {
        let (_, catalog) = catalog(&[DEMO_TENANT_YAML], MemorySecrets::default(), Duration::from_secs(60));
        let catalog = catalog.with_cache_limit(5);
        for n in 0..50 {
            assert!(catalog.tenant(&id(&format!("garbage{n}"))).await.unwrap().is_none());
            assert!(catalog.cached() <= 5, "{} cached", catalog.cached());
        }
        assert!(catalog.tenant(&id("demo")).await.unwrap().is_some(), "a real tenant still loads");
    }
}
