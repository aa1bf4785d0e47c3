//! Tenants in the table: each tenant's YAML (`T#{tenant}` / `CONFIG`) and the intent models
//! trained from it, which the engine's tenant catalog compiles and caches.

use super::*;
use switchboard_core::ports::TenantStore;
use switchboard_engine::tenant::{TenantCatalog, yaml_digest};

pub use switchboard_engine::tenant::TENANT_CACHE_LIMIT;

/// The tenant directory over the table: the YAML and models stored here, compiled by the
/// [`TenantCatalog`] every deployment shares (cached per cold start for `ttl`; SSM references
/// resolved through `secrets`), and the writes ops make (`put_config`).
pub struct DynamoTenants {
    stored: Arc<StoredTenants>,
    catalog: TenantCatalog,
}

/// What the table holds for tenants: the store the catalog reads.
struct StoredTenants {
    table: Table,
}

impl std::fmt::Debug for DynamoTenants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoTenants").field("table", &self.stored.table.name).finish()
    }
}

const TENANTS: &str = "tenant directory";

/// Seed customers are written this many at a time (a few batched calls each).
const SEED_CHUNK: usize = 500;

/// A stored intent model is split into items of this size (DynamoDB items stop at 400 KB)...
const MODEL_PART_BYTES: usize = 390 * 1024;
/// ...and at most this many (6 MB, a catalogue of thousands of examples); a larger model is
/// trained at load instead.
const MAX_MODEL_PARTS: usize = 16;

/// The sort-key prefix of the parts of the model trained from YAML with this digest.
fn model_prefix(digest: &str) -> String {
    format!("MODEL#{digest}#")
}

impl DynamoTenants {
    /// Tenants in `table`, cached for `ttl`.
    pub fn new(table: Table, secrets: Arc<dyn SecretStore>, ttl: Duration) -> Self {
        Self::with_cache_limit(table, secrets, ttl, TENANT_CACHE_LIMIT)
    }

    /// The same, caching at most `cache_limit` lookups.
    pub fn with_cache_limit(table: Table, secrets: Arc<dyn SecretStore>, ttl: Duration, cache_limit: usize) -> Self {
        let stored = Arc::new(StoredTenants { table });
        let catalog = TenantCatalog::new(stored.clone(), secrets, ttl).with_cache_limit(cache_limit);
        Self { stored, catalog }
    }

    /// The same, reading none of the tenants' secrets (see [`TenantCatalog::without_secrets`]).
    pub fn without_secrets(mut self) -> Self {
        self.catalog = self.catalog.without_secrets();
        self
    }

    /// The same, letting tenants' API bases use these origins too (the operator's setting).
    pub fn allowing_endpoints(mut self, origins: Vec<String>) -> Self {
        self.catalog = self.catalog.allowing_endpoints(origins);
        self
    }

    /// How many lookups are cached now.
    pub fn cached(&self) -> usize {
        self.catalog.cached()
    }

    /// Stores a tenant's configuration after checking it parses (ops and tests; secrets stay
    /// references) — the YAML without its `customers:` seeds, which are data for the customer
    /// store ([`Self::put_tenant`]) — and the intent model trained from it in items of its own,
    /// `MODEL#{digest of the stored YAML}#{part}`: a cold start reads the model instead of
    /// training it (docs/benchmarks.md, "Cold starts"), and a model is never used with YAML it was
    /// not trained from. The previous YAML's model is removed.
    pub async fn put_config(&self, yaml: &str) -> Result<TenantId, PortError> {
        let split = switchboard_engine::tenant::split_customers("tenant", yaml).map_err(|e| corrupt(TENANTS, e))?;
        let yaml = split.config_yaml.as_str();
        let config = self.catalog.check("tenant", yaml)?;
        let id = TenantId::new(config.id.clone()).map_err(|e| corrupt(TENANTS, e))?;
        let model = switchboard_engine::tenant::Tenant::train_intents(&config).map_err(|e| corrupt(TENANTS, e))?;
        let previous = self.stored.table.get(TENANTS, partition::tenant(&id), "CONFIG").await?;
        let digest = yaml_digest(yaml);
        self.stored.put_model(&id, &digest, &model).await?;
        let item = Item::from([
            ("pk".to_string(), s(partition::tenant(&id))),
            ("sk".to_string(), s("CONFIG")),
            ("yaml".to_string(), s(yaml)),
        ]);
        self.stored.table.put(TENANTS, item).await?;
        let old = previous.as_ref().and_then(|item| text(item, "yaml")).map(yaml_digest).filter(|old| *old != digest);
        if let Some(old) = old {
            self.stored.delete_model(&id, &old).await?;
        }
        self.catalog.forget(&id);
        Ok(id)
    }

    /// Stores a tenant file: its configuration ([`Self::put_config`]) and its seed customers in
    /// `customers` (batched, as an import). Returns the tenant and how many customers it seeded.
    pub async fn put_tenant(&self, yaml: &str, customers: &dyn CustomerStore) -> Result<(TenantId, usize), PortError> {
        let split = switchboard_engine::tenant::split_customers("tenant", yaml).map_err(|e| corrupt(TENANTS, e))?;
        let id = self.put_config(&split.config_yaml).await?;
        let keep = split.config.data.retention.profile_expiry(Utc::now());
        for chunk in split.customers.chunks(SEED_CHUNK) {
            customers.put_customers(&id, chunk, keep).await?;
        }
        Ok((id, split.customers.len()))
    }

    /// Stores `model` as the one trained from the YAML whose digest is `digest`, in parts,
    /// replacing whatever was stored for it.
    pub async fn put_model(&self, id: &TenantId, digest: &str, model: &IntentModel) -> Result<(), PortError> {
        self.stored.put_model(id, digest, model).await
    }
}

/// A tenant's YAML as stored, secrets unresolved: for readers that need one setting of it (the
/// cost report's budget) and no right to the tenant's secrets.
pub async fn stored_yaml(table: &Table, id: &TenantId) -> Result<Option<String>, PortError> {
    let Some(item) = table.get(TENANTS, partition::tenant(id), "CONFIG").await? else { return Ok(None) };
    text(&item, "yaml").map(|yaml| Some(yaml.to_string())).ok_or_else(|| corrupt(TENANTS, "missing yaml"))
}

impl StoredTenants {
    async fn put_model(&self, id: &TenantId, digest: &str, model: &IntentModel) -> Result<(), PortError> {
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

    /// The stored model trained from the YAML with `digest`: `None` when there is none or a
    /// part is missing (a put in progress or failed half-way).
    async fn stored_model(&self, id: &TenantId, digest: &str) -> Result<Option<Vec<u8>>, PortError> {
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
        Ok(Some(bytes))
    }
}

#[async_trait]
impl TenantStore for StoredTenants {
    async fn config(&self, id: &TenantId) -> Result<Option<String>, PortError> {
        stored_yaml(&self.table, id).await
    }

    async fn model(&self, id: &TenantId, digest: &str) -> Result<Option<Vec<u8>>, PortError> {
        self.stored_model(id, digest).await
    }
}

/// The table's tenants, as the catalog reads them (for the contract suite).
#[async_trait]
impl TenantStore for DynamoTenants {
    async fn config(&self, id: &TenantId) -> Result<Option<String>, PortError> {
        self.stored.config(id).await
    }

    async fn model(&self, id: &TenantId, digest: &str) -> Result<Option<Vec<u8>>, PortError> {
        self.stored.model(id, digest).await
    }
}

#[async_trait]
impl TenantDirectory for DynamoTenants {
    async fn tenant(&self, id: &TenantId) -> Result<Option<Arc<Tenant>>, PortError> {
        self.catalog.tenant(id).await
    }
}
