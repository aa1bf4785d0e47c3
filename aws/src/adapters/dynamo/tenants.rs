//! The tenant directory: configurations, their secrets and stored models, cached per instance.

use super::*;

/// Tenant configurations (`T#{tenant}` / `CONFIG`, the YAML text), compiled on first use and
/// cached per cold start for `ttl`; SSM references resolved through `secrets`.
pub struct DynamoTenants {
    table: Table,
    secrets: Arc<dyn SecretStore>,
    ttl: Duration,
    cache: Mutex<HashMap<TenantId, Cached>>,
    cache_limit: usize,
    /// Each loaded tenant's intent model and the digest of the YAML it belongs to.
    models: Mutex<HashMap<TenantId, (String, IntentModel)>>,
    /// Origins tenants' API bases may use besides their providers' hosts.
    allowed_endpoints: Vec<String>,
    /// Whether SSM references are resolved; a function that verifies and sends nothing (the
    /// public long poll) reads none of the tenants' secrets, and may not.
    resolve_secrets: bool,
}

/// Most tenant lookups cached per instance. Unknown ids are cached too (garbage ids must not make
/// every request a read), so without a bound a stream of random ids would grow memory until the
/// instance dies.
pub const TENANT_CACHE_LIMIT: usize = 10_000;

impl std::fmt::Debug for DynamoTenants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoTenants").field("table", &self.table.name).finish()
    }
}

const TENANTS: &str = "tenant directory";

/// A stored intent model is split into items of this size (DynamoDB items stop at 400 KB)...
const MODEL_PART_BYTES: usize = 390 * 1024;
/// ...and at most this many (6 MB, a catalogue of thousands of examples); a larger model is
/// trained at load instead.
const MAX_MODEL_PARTS: usize = 16;

/// The sort-key prefix of the parts of the model trained from YAML with this digest.
fn model_prefix(digest: &str) -> String {
    format!("MODEL#{digest}#")
}

/// Which YAML a stored model was trained from.
fn yaml_digest(yaml: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(yaml.as_bytes()))
}

/// A key nobody knows, standing in for a secret a function may not read.
fn withheld_secret() -> switchboard_engine::tenant::Secret {
    let mut bytes = [0u8; 32];
    // Without randomness the key would be guessable: an empty one instead fails the compile.
    let filled = getrandom::fill(&mut bytes).is_ok();
    switchboard_engine::tenant::Secret::new(if filled {
        format!("withheld-{}", hex::encode(bytes))
    } else {
        String::new()
    })
}

/// A cached lookup: the tenant, its absence, or why it cannot be loaded; and when it was read.
type Cached = (Result<Option<Arc<Tenant>>, PortError>, Instant);

impl DynamoTenants {
    /// Tenants in `table`, cached for `ttl`.
    pub fn new(table: Table, secrets: Arc<dyn SecretStore>, ttl: Duration) -> Self {
        Self::with_cache_limit(table, secrets, ttl, TENANT_CACHE_LIMIT)
    }

    /// The same, caching at most `cache_limit` lookups.
    pub fn with_cache_limit(table: Table, secrets: Arc<dyn SecretStore>, ttl: Duration, cache_limit: usize) -> Self {
        let (cache, models) = (Mutex::new(HashMap::new()), Mutex::new(HashMap::new()));
        Self {
            table,
            secrets,
            ttl,
            cache,
            cache_limit: cache_limit.max(1),
            models,
            allowed_endpoints: Vec::new(),
            resolve_secrets: true,
        }
    }

    /// The same, leaving every SSM reference unresolved: the tenant's secrets stay names, which
    /// verify and sign nothing (an empty key is refused everywhere).
    pub fn without_secrets(mut self) -> Self {
        self.resolve_secrets = false;
        self
    }

    /// The same, letting tenants' API bases use these origins too (the operator's setting).
    pub fn allowing_endpoints(mut self, origins: Vec<String>) -> Self {
        self.allowed_endpoints = origins;
        self
    }

    /// Refuses a configuration that names another tenant's secrets or sends to a host off its
    /// providers' (before any secret is read).
    fn check_references(&self, config: &TenantConfig, source: &str) -> Result<(), PortError> {
        let problems = config.reference_problems(&self.allowed_endpoints);
        if problems.is_empty() {
            return Ok(());
        }
        let error = switchboard_engine::tenant::ConfigError { source_name: source.to_string(), problems };
        Err(PortError::Misconfigured { port: TENANTS, detail: error.to_string() })
    }

    /// How many lookups are cached now.
    pub fn cached(&self) -> usize {
        switchboard_core::sync::lock(&self.cache).len()
    }

    /// Caches a lookup within the limit: when full, expired entries and unknown ids go first,
    /// then everything (known tenants are few and cheap to read again).
    fn remember(&self, id: &TenantId, tenant: Result<Option<Arc<Tenant>>, PortError>) {
        let mut cache = switchboard_core::sync::lock(&self.cache);
        if cache.len() >= self.cache_limit {
            cache.retain(|_, (t, at)| matches!(t, Ok(Some(_))) && at.elapsed() < self.ttl);
        }
        if cache.len() >= self.cache_limit {
            cache.clear();
        }
        cache.insert(id.clone(), (tenant, Instant::now()));
    }

    /// Stores a tenant's YAML after checking it parses (ops and tests; secrets stay references),
    /// and the intent model trained from it in items of its own, `MODEL#{digest of the YAML}#{part}`:
    /// a cold start reads the model instead of training it (docs/benchmarks.md, "Cold starts"), and a model
    /// is never used with YAML it was not trained from. The previous YAML's model is removed.
    pub async fn put_config(&self, yaml: &str) -> Result<TenantId, PortError> {
        let config = TenantConfig::from_yaml("tenant", yaml).map_err(|e| corrupt(TENANTS, e))?;
        let id = TenantId::new(config.id.clone()).map_err(|e| corrupt(TENANTS, e))?;
        self.check_references(&config, &format!("tenant {id}"))?;
        let model = switchboard_engine::tenant::Tenant::train_intents(&config).map_err(|e| corrupt(TENANTS, e))?;
        let previous = self.table.get(TENANTS, partition::tenant(&id), "CONFIG").await?;
        let digest = yaml_digest(yaml);
        self.put_model(&id, &digest, &model).await?;
        let item = Item::from([
            ("pk".to_string(), s(partition::tenant(&id))),
            ("sk".to_string(), s("CONFIG")),
            ("yaml".to_string(), s(yaml)),
        ]);
        self.table.put(TENANTS, item).await?;
        let old = previous.as_ref().and_then(|item| text(item, "yaml")).map(yaml_digest).filter(|old| *old != digest);
        if let Some(old) = old {
            self.delete_model(&id, &old).await?;
        }
        switchboard_core::sync::lock(&self.cache).remove(&id);
        Ok(id)
    }

    /// Stores `model` as the one trained from the YAML whose digest is `digest`, in parts,
    /// replacing whatever was stored for it.
    pub async fn put_model(&self, id: &TenantId, digest: &str, model: &IntentModel) -> Result<(), PortError> {
        let bytes = model.to_bytes();
        let parts: Vec<&[u8]> = bytes.chunks(MODEL_PART_BYTES).collect();
        self.delete_model(id, digest).await?;
        if parts.len() > MAX_MODEL_PARTS {
            tracing::info!(tenant = %id, bytes = bytes.len(), "intent model too large to store; cold starts train it");
            return Ok(());
        }
        for (n, part) in parts.iter().enumerate() {
            let item = Item::from([
                ("pk".to_string(), s(partition::tenant(id))),
                ("sk".to_string(), s(format!("{}{n:02}", model_prefix(digest)))),
                ("model".to_string(), AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(*part))),
                ("parts".to_string(), n_(parts.len())),
            ]);
            self.table.put(TENANTS, item).await?;
        }
        Ok(())
    }

    /// Removes the parts of a stored model (and the single item of the format before parts).
    async fn delete_model(&self, id: &TenantId, digest: &str) -> Result<(), PortError> {
        let pk = partition::tenant(id);
        let parts = self.table.query(TENANTS, pk.clone(), SortKey::Prefix(model_prefix(digest)), true, 100).await?;
        for sk in parts.iter().filter_map(|item| text(item, "sk")) {
            self.table.delete(TENANTS, pk.clone(), sk).await?;
        }
        self.table.delete(TENANTS, pk, &format!("MODEL#{digest}")).await
    }

    /// The stored model trained from the YAML with `digest`: `None` when there is none, when a
    /// part is missing (a put in progress or failed half-way) or the bytes do not read back.
    async fn stored_model(&self, id: &TenantId, digest: &str) -> Result<Option<IntentModel>, PortError> {
        let prefix = model_prefix(digest);
        let items = self
            .table
            .query_with(TENANTS, partition::tenant(id), SortKey::Prefix(prefix), true, MAX_MODEL_PARTS + 1, false)
            .await?;
        let declared = items.first().and_then(|i| i.get("parts")).and_then(|p| p.as_n().ok()?.parse::<usize>().ok());
        if declared != Some(items.len()) {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        for item in &items {
            let Some(part) = item.get("model").and_then(|m| m.as_b().ok()) else { return Ok(None) };
            bytes.extend_from_slice(part.as_ref());
        }
        Ok(IntentModel::from_bytes(&bytes))
    }

    /// Reads, resolves and compiles a tenant; logs what each step took, since this is the first
    /// request's share of a cold start (and of each cache period). The secrets and the stored
    /// model are fetched at the same time.
    async fn load(&self, id: &TenantId) -> Result<Option<Tenant>, PortError> {
        let started = Instant::now();
        let Some(item) = self.table.get(TENANTS, partition::tenant(id), "CONFIG").await? else { return Ok(None) };
        let read = started.elapsed();
        let yaml = text(&item, "yaml").ok_or_else(|| corrupt(TENANTS, "missing yaml"))?;
        let source = format!("tenant {id}");
        let mut config = TenantConfig::from_yaml(&source, yaml).map_err(|e| corrupt(TENANTS, e))?;
        self.check_references(&config, &source)?;
        let misconfigured = |detail: String| PortError::Misconfigured { port: TENANTS, detail };
        let resolve = self.resolve_secrets;
        let secrets = async {
            for (field, secret) in config.secrets_mut() {
                if !resolve {
                    // Withheld: a random key of this instance's, which nobody can sign with and
                    // nothing of the tenant's verifies under.
                    *secret = withheld_secret();
                    continue;
                }
                let Some(name) = secret.parameter().map(str::to_string) else { continue };
                // A missing secret is never an empty one: the tenant does not load until it exists.
                *secret = self.secrets.secret(&name).await?.ok_or_else(|| {
                    misconfigured(format!("tenant {id}: SSM parameter {name} ({field}) does not exist"))
                })?;
            }
            Ok::<_, PortError>(())
        };
        // The model: the one this instance already has when the YAML is unchanged (a cache
        // refresh: reading 300 KB again costs more than training), else the stored one.
        let digest = yaml_digest(yaml);
        let known =
            switchboard_core::sync::lock(&self.models).get(id).filter(|(d, _)| *d == digest).map(|(_, m)| m.clone());
        let fetch = async {
            match known {
                Some(_) => Ok(None),
                None => self.stored_model(id, &digest).await,
            }
        };
        let (secrets, fetched) = tokio::join!(secrets, fetch);
        secrets?;
        let (model, from) = match (known, fetched) {
            (Some(model), _) => (Some(model), "cached"),
            (None, Ok(model)) => (model, "stored"),
            (None, Err(error)) => {
                tracing::warn!(tenant = %id, %error, "stored intent model unreadable; training it");
                (None, "stored")
            }
        };
        // No model to reuse (too large to store, YAML written by hand, unreadable): train it.
        let from = if model.is_some() { from } else { "trained" };
        let fetched = started.elapsed();
        let tenant = Tenant::compile_with(&source, config, model).map_err(|e| misconfigured(e.to_string()))?;
        switchboard_core::sync::lock(&self.models).insert(id.clone(), (digest, tenant.classifier.intents().clone()));
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
impl TenantDirectory for DynamoTenants {
    async fn tenant(&self, id: &TenantId) -> Result<Option<Arc<Tenant>>, PortError> {
        if let Some((tenant, at)) = switchboard_core::sync::lock(&self.cache).get(id)
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
