//! A tenant file's `customers:` list is seed data, not configuration: the tenant item stores the
//! file without it (configuration stays a few kilobytes, whatever the shop's size), and the
//! customers go to the customer store as any import's do.

use super::{ConfigError, Problem, TenantConfig};
use switchboard_core::domain::Customer;

/// A tenant file split into what the tenant item stores and the customers it seeds.
#[derive(Debug, Clone)]
pub struct SplitTenant {
    /// The configuration parsed (its `customers` are the seeds below).
    pub config: TenantConfig,
    /// The YAML without its `customers:` key (the text unchanged when it had none).
    pub config_yaml: String,
    /// The seed customers, validated with the rest of the file.
    pub customers: Vec<Customer>,
}

/// Parses `yaml` (named `source` in errors) and splits its seed customers off.
pub fn split_customers(source: &str, yaml: &str) -> Result<SplitTenant, ConfigError> {
    let config = TenantConfig::from_yaml(source, yaml)?;
    let config_yaml = without_customers(yaml).map_err(|message| ConfigError {
        source_name: source.to_string(),
        problems: vec![Problem { field: "customers".into(), message }],
    })?;
    Ok(SplitTenant { customers: config.customers.clone(), config, config_yaml })
}

/// The YAML without its top-level `customers:` key; re-serialised only when it had one.
fn without_customers(yaml: &str) -> Result<String, String> {
    let mut value: serde_norway::Value = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
    let Some(map) = value.as_mapping_mut() else { return Ok(yaml.to_string()) };
    if map.remove("customers").is_none() {
        return Ok(yaml.to_string());
    }
    serde_norway::to_string(&value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_files_customers_are_split_off_and_the_rest_is_kept() {
        let split = split_customers("demo", super::super::DEMO_TENANT_YAML).unwrap();
        assert!(!split.customers.is_empty());
        assert!(!split.config_yaml.contains("customers:"), "no customers key left");
        let again = TenantConfig::from_yaml("demo", &split.config_yaml).unwrap();
        assert!(again.customers.is_empty());
        assert_eq!(again.intents.len(), split.config.intents.len(), "the configuration is intact");
        assert_eq!(again.id, split.config.id);
    }

    #[test]
    fn a_file_without_customers_is_stored_as_written() {
        let split = split_customers("demo", super::super::DEMO_TENANT_YAML).unwrap();
        let twice = split_customers("demo", &split.config_yaml).unwrap();
        assert_eq!(twice.config_yaml, split.config_yaml, "same text, same model digest");
    }
}
