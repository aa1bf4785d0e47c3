//! Tenants in memory: their YAML and models in maps, compiled by the same [`TenantCatalog`] the
//! Lambda functions use over DynamoDB, so `switchboard serve` loads a tenant exactly as
//! production does (reference checks, secrets, model reuse, compile).

use super::lock;
use crate::tenant::{Tenant, TenantCatalog, TenantDirectory, yaml_digest};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_core::domain::{Customer, TenantId};
use switchboard_core::ports::{PortError, SecretStore, TenantStore};

const TENANTS: &str = "tenant directory";

/// Tenants' YAML and the intent models trained from it, in maps.
#[derive(Debug, Default)]
pub struct MemoryTenantStore {
    configs: Mutex<HashMap<TenantId, String>>,
    models: Mutex<HashMap<(TenantId, String), Vec<u8>>>,
}

impl MemoryTenantStore {
    /// Stores a tenant's YAML and the model trained from it, as the DynamoDB adapter's
    /// `put_config` does; the YAML must parse (its references are the catalog's to check).
    pub fn put_config(&self, source: &str, yaml: &str) -> Result<TenantId, PortError> {
        let corrupt = |e: &dyn std::fmt::Display| PortError::Corrupt { port: TENANTS, detail: e.to_string() };
        // As the table does: the configuration only; seed customers are the customer store's.
        let split = crate::tenant::split_customers(source, yaml).map_err(|e| corrupt(&e))?;
        let yaml = split.config_yaml.as_str();
        let config = split.config;
        let id = TenantId::new(config.id.clone()).map_err(|e| corrupt(&e))?;
        let model = Tenant::train_intents(&config).map_err(|e| corrupt(&e))?;
        let mut models = lock(&self.models);
        models.retain(|(tenant, _), _| *tenant != id);
        models.insert((id.clone(), yaml_digest(yaml)), model.to_bytes());
        lock(&self.configs).insert(id.clone(), yaml.to_string());
        Ok(id)
    }

    /// Every stored tenant's id.
    pub fn ids(&self) -> Vec<TenantId> {
        lock(&self.configs).keys().cloned().collect()
    }
}

#[async_trait]
impl TenantStore for MemoryTenantStore {
    async fn config(&self, tenant: &TenantId) -> Result<Option<String>, PortError> {
        Ok(lock(&self.configs).get(tenant).cloned())
    }

    async fn model(&self, tenant: &TenantId, digest: &str) -> Result<Option<Vec<u8>>, PortError> {
        Ok(lock(&self.models).get(&(tenant.clone(), digest.to_string())).cloned())
    }
}

/// The embedded default's tenant directory: tenants loaded from YAML through the catalog
/// ([`MemoryTenants::from_yaml`], what `switchboard serve` runs), and tenants handed over
/// already compiled ([`MemoryTenants::new`], for tests that adjust a compiled tenant), which
/// are found first.
pub struct MemoryTenants {
    compiled: HashMap<TenantId, Arc<Tenant>>,
    store: Arc<MemoryTenantStore>,
    catalog: TenantCatalog,
    seeds: Vec<Seeds>,
}

/// A tenant file's seed customers, and how long the tenant keeps profiles.
#[derive(Debug, Clone)]
pub struct Seeds {
    /// The tenant.
    pub tenant: TenantId,
    /// Its file's `customers:`.
    pub customers: Vec<Customer>,
    /// Its `data.retention`.
    pub retention: switchboard_core::config::RetentionConfig,
}

impl std::fmt::Debug for MemoryTenants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTenants").field("ids", &self.ids()).finish()
    }
}

impl Default for MemoryTenants {
    fn default() -> Self {
        Self::new([])
    }
}

impl MemoryTenants {
    /// A directory of `tenants`, compiled already.
    pub fn new(tenants: impl IntoIterator<Item = Tenant>) -> Self {
        let store = Arc::new(MemoryTenantStore::default());
        // Nothing stored changes behind the catalog's back: what it compiled stays.
        let catalog = TenantCatalog::new(store.clone(), Arc::new(super::MemorySecrets::default()), Duration::MAX);
        let compiled: HashMap<TenantId, Arc<Tenant>> =
            tenants.into_iter().map(|t| (t.id.clone(), Arc::new(t))).collect();
        let seeds = compiled
            .values()
            .map(|t| Seeds {
                tenant: t.id.clone(),
                customers: t.config.customers.clone(),
                retention: t.config.data.retention,
            })
            .collect();
        Self { compiled, store, catalog, seeds }
    }

    /// Loads each `(source name, YAML)` through the catalog, its SSM references resolved from
    /// `secrets`, its API bases on its providers' hosts or `allowed_endpoints`: a tenant that does not compile, makes a reference it may not or names a
    /// secret that does not exist is refused here, before anything is served.
    pub async fn from_yaml(
        sources: &[(String, String)],
        secrets: Arc<dyn SecretStore>,
        allowed_endpoints: Vec<String>,
    ) -> Result<Self, PortError> {
        let store = Arc::new(MemoryTenantStore::default());
        let catalog = TenantCatalog::new(store.clone(), secrets, Duration::MAX).allowing_endpoints(allowed_endpoints);
        let mut seeds = Vec::new();
        for (source, yaml) in sources {
            let split = crate::tenant::split_customers(source, yaml)
                .map_err(|e| PortError::Corrupt { port: TENANTS, detail: e.to_string() })?;
            let config = catalog.check(source, &split.config_yaml)?;
            if store.ids().iter().any(|id| id.as_str() == config.id) {
                let detail = format!("{source}: tenant {} is in another file too", config.id);
                return Err(PortError::Misconfigured { port: TENANTS, detail });
            }
            let id = store.put_config(source, &split.config_yaml)?;
            catalog.tenant(&id).await?;
            seeds.push(Seeds { tenant: id, customers: split.customers, retention: split.config.data.retention });
        }
        Ok(Self { compiled: HashMap::new(), store, catalog, seeds })
    }

    /// The customers each tenant's file lists as seeds (the embedded default stores them in its
    /// customer store at start, as `tenants-put` does in the table).
    pub fn seed_customers(&self) -> &[Seeds] {
        &self.seeds
    }

    /// Every tenant's id, sorted.
    pub fn ids(&self) -> Vec<TenantId> {
        let mut ids: Vec<TenantId> = self.compiled.keys().cloned().chain(self.store.ids()).collect();
        ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        ids.dedup();
        ids
    }
}

#[async_trait]
impl TenantDirectory for MemoryTenants {
    async fn tenant(&self, id: &TenantId) -> Result<Option<Arc<Tenant>>, PortError> {
        match self.compiled.get(id) {
            Some(tenant) => Ok(Some(tenant.clone())),
            None => self.catalog.tenant(id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::config::DEMO_TENANT_YAML;

    fn sources(yaml: &str) -> Vec<(String, String)> {
        vec![("acme.yaml".to_string(), yaml.to_string())]
    }

    /// `serve` loads its files as the Lambda functions load theirs: a tenant that sends to a host
    /// off its provider's is refused at start-up, unless the operator allows the origin.
    #[tokio::test]
    async fn yaml_is_loaded_through_the_catalog_and_its_checks() {
        let secrets = || Arc::new(super::super::MemorySecrets::default());
        let off = DEMO_TENANT_YAML.replace("api_base: https://api.twilio.com", "api_base: http://127.0.0.1:9");
        let error = MemoryTenants::from_yaml(&sources(&off), secrets(), Vec::new()).await.unwrap_err();
        assert!(error.to_string().contains("channels.twilio.api_base"), "{error}");
        let allowed = vec!["http://127.0.0.1:*".to_string()];
        let tenants = MemoryTenants::from_yaml(&sources(&off), secrets(), allowed).await.unwrap();
        assert_eq!(tenants.ids(), vec![TenantId::new("demo").unwrap()]);
        let demo = tenants.tenant(&TenantId::new("demo").unwrap()).await.unwrap().unwrap();
        assert_eq!(demo.config.channels.twilio.as_ref().unwrap().api_base, "http://127.0.0.1:9");

        let twice = [sources(DEMO_TENANT_YAML), sources(DEMO_TENANT_YAML)].concat();
        let error = MemoryTenants::from_yaml(&twice, secrets(), Vec::new()).await.unwrap_err();
        assert!(error.to_string().contains("in another file too"), "{error}");

        let broken = DEMO_TENANT_YAML.replace("intents:", "intents: 3\nx:");
        assert!(MemoryTenants::from_yaml(&sources(&broken), secrets(), Vec::new()).await.is_err());
    }
}
