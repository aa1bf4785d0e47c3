//! How the business's own systems keep its customer data current: keys for the data API and the
//! shops whose webhooks update profiles and orders.

use super::{Problem, Secret};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The `data:` section of a tenant file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Keys that may write through `PUT/DELETE /v1/{tenant}/customers/…`, by their SHA-256
    /// only: a copy of the table or the file gives nobody a key. Two at once rotate without
    /// downtime: add the new one, move the systems over, remove the old one.
    #[serde(default)]
    pub keys: Vec<DataKey>,
    /// A Shopify store whose webhooks keep customers and orders current.
    #[serde(default)]
    pub shopify: Option<ShopifyConfig>,
    /// A WooCommerce store whose webhooks keep customers and orders current.
    #[serde(default)]
    pub woocommerce: Option<WooCommerceConfig>,
    /// Live lookups the responder makes when stored data may be stale.
    #[serde(default)]
    pub lookups: LookupsConfig,
    /// How long conversations and customer profiles are kept.
    #[serde(default)]
    pub retention: RetentionConfig,
}

/// How long the tenant's data is kept before DynamoDB's TTL deletes it (within a few days of
/// expiry; reads ignore an expired item meanwhile, so it is gone for every purpose at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days a conversation turn (what the customer, the bot or an agent wrote) is kept after it
    /// was written; the conversation's own record (its channel address, who owns it) is kept
    /// as long after the customer last wrote.
    #[serde(default = "turn_days")]
    pub turns_days: u32,
    /// Days a customer's profile, identity links and orders are kept after the business last
    /// sent them (an import, the data API, a shop webhook). None keeps them until erased:
    /// the shop's own system is where customers are deleted, and the business erases them here.
    #[serde(default)]
    pub profiles_days: Option<u32>,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self { turns_days: turn_days(), profiles_days: None }
    }
}

fn turn_days() -> u32 {
    90
}

/// Longest anything is kept: ten years, past every statutory record period we know of.
const MAX_RETENTION_DAYS: u32 = 3_650;

/// Shortest retention of either kind. Turns: the conversation's record goes with them, and a
/// ticket a person answers weeks after the customer last wrote must still find its way back.
/// Profiles: a customer who orders monthly would be forgotten between orders.
const MIN_RETENTION_DAYS: u32 = 30;

impl RetentionConfig {
    /// Until when a turn written at `at` (or a conversation the customer last wrote in at `at`)
    /// is kept.
    pub fn turn_expiry(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        at + Duration::days(i64::from(self.turns_days))
    }

    /// Until when a profile (or order, or identity link) the business sent at `now` is kept;
    /// None when kept until erased.
    pub fn profile_expiry(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.profiles_days.map(|days| now + Duration::days(i64::from(days)))
    }

    fn problems(&self) -> Vec<Problem> {
        let days = MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS;
        let mut out = Vec::new();
        if !days.contains(&self.turns_days) {
            let message = format!("{MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} days (got {})", self.turns_days);
            out.push(Problem { field: "data.retention.turns_days".into(), message });
        }
        if let Some(got) = self.profiles_days.filter(|d| !days.contains(d)) {
            let message = format!(
                "{MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} days, or leave it out to keep profiles until erased (got {got})"
            );
            out.push(Problem { field: "data.retention.profiles_days".into(), message });
        }
        out
    }
}

/// Live lookups ("actions"): the business's own system asked at answer time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupsConfig {
    /// The verified customer's current orders, for order questions.
    #[serde(default)]
    pub orders: Option<OrderLookupConfig>,
}

/// Where a customer's current orders are looked up: the business's own HTTPS endpoint (`url`
/// and `secret`: a JSON POST signed as the webhook helpdesk signs), or the Shopify store's Admin
/// API (`shopify_access_token`, with `data.shopify.shop`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLookupConfig {
    /// The business's endpoint.
    #[serde(default)]
    pub url: Option<String>,
    /// The key its requests are signed with.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// An Admin API access token of the Shopify store (scope `read_orders`).
    #[serde(default)]
    pub shopify_access_token: Option<Secret>,
    /// The Admin API's base (`https://{shop}` unless set; tests point it at a stand-in).
    #[serde(default)]
    pub shopify_api_base: Option<String>,
    /// The intents that look up (an order question).
    #[serde(default = "order_intents")]
    pub intents: Vec<String>,
    /// How long the answer waits for it; past this, the stored profile answers.
    #[serde(default = "lookup_timeout_ms")]
    pub timeout_ms: u64,
    /// How long an instance reuses a customer's looked-up orders.
    #[serde(default = "lookup_cache_seconds")]
    pub cache_seconds: u64,
}

fn order_intents() -> Vec<String> {
    vec!["order_status".into()]
}

fn lookup_timeout_ms() -> u64 {
    800
}

fn lookup_cache_seconds() -> u64 {
    60
}

/// Longest a lookup may hold an answer: a customer waits for it.
const MAX_LOOKUP_TIMEOUT_MS: u64 = 3_000;

/// One data API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataKey {
    /// A label for logs and rotation (`2026-12`, `erp`): never the key.
    pub name: String,
    /// Hex SHA-256 of the key (`switchboard data-key` makes both).
    pub sha256: String,
    /// Whether the key may also read a customer's export (a data subject's access request).
    /// Off by default: the systems that write customers never need to read them back, so a key
    /// leaked from one reveals nothing.
    #[serde(default)]
    pub may_export: bool,
}

/// A Shopify store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopifyConfig {
    /// The store's `*.myshopify.com` domain: webhooks name it in `X-Shopify-Shop-Domain`, and
    /// one from another store is refused.
    pub shop: String,
    /// The app's client secret, which signs its webhooks (`X-Shopify-Hmac-Sha256`).
    pub webhook_secret: Secret,
}

/// A WooCommerce store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WooCommerceConfig {
    /// The secret set on the store's webhooks (`X-WC-Webhook-Signature`).
    pub webhook_secret: Secret,
}

/// The demo tenant's data key, published in the README so the data API can be tried on
/// `switchboard serve`. Any tenant that accepts it accepts anyone.
pub const DEMO_DATA_KEY: &str = "sbk_demo-key-published-in-the-readme";

/// Its SHA-256, as the demo file lists it.
const DEMO_DATA_KEY_SHA256: &str = "52bf087dc0f1dad4ef82f14af2d8b01a1cbb3bc89a94ecb20217dad327b92f49";

/// Most keys a tenant may list (two rotate; more is a key nobody remembered to remove).
const MAX_KEYS: usize = 4;

impl DataConfig {
    /// Whether the published demo key is one of this tenant's (`tenants-put` warns).
    pub fn accepts_the_published_demo_key(&self) -> bool {
        self.keys.iter().any(|k| k.sha256.eq_ignore_ascii_case(DEMO_DATA_KEY_SHA256))
    }

    /// Problems in the section, by field.
    pub(super) fn problems(&self) -> Vec<Problem> {
        let mut out = self.retention.problems();
        if self.keys.len() > MAX_KEYS {
            out.push(Problem { field: "data.keys".into(), message: format!("at most {MAX_KEYS}") });
        }
        for (i, key) in self.keys.iter().enumerate() {
            let hex = key.sha256.len() == 64 && key.sha256.chars().all(|c| c.is_ascii_hexdigit());
            if !hex {
                let message = "64 hex digits: the SHA-256 of the key, never the key itself".into();
                out.push(Problem { field: format!("data.keys[{i}].sha256"), message });
            }
            if key.name.trim().is_empty() || self.keys[..i].iter().any(|k| k.name == key.name) {
                out.push(Problem { field: format!("data.keys[{i}].name"), message: "a name of its own".into() });
            }
        }
        if let Some(orders) = &self.lookups.orders {
            let at = |field: &str| format!("data.lookups.orders.{field}");
            match (&orders.url, &orders.secret, &orders.shopify_access_token) {
                (Some(_), Some(_), None) => {}
                (None, None, Some(_)) if self.shopify.is_some() => {}
                (None, None, Some(_)) => out.push(Problem {
                    field: at("shopify_access_token"),
                    message: "needs data.shopify.shop: the store to ask".into(),
                }),
                _ => out.push(Problem {
                    field: at("url"),
                    message: "either `url` and `secret` (your endpoint) or `shopify_access_token`".into(),
                }),
            }
            if orders.timeout_ms == 0 || orders.timeout_ms > MAX_LOOKUP_TIMEOUT_MS {
                let message = format!("1 to {MAX_LOOKUP_TIMEOUT_MS} ms: a customer waits for it");
                out.push(Problem { field: at("timeout_ms"), message });
            }
        }
        if let Some(shopify) = &self.shopify {
            let shop = shopify.shop.as_str();
            let label = shop.strip_suffix(".myshopify.com").unwrap_or_default();
            if label.is_empty() || !label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                let message = "the store's own `name.myshopify.com` domain".into();
                out.push(Problem { field: "data.shopify.shop".into(), message });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retention(yaml: &str) -> Result<RetentionConfig, String> {
        let config: DataConfig = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        let problems = config.problems();
        if problems.is_empty() { Ok(config.retention) } else { Err(format!("{problems:?}")) }
    }

    #[test]
    fn retention_defaults_to_ninety_days_of_turns_and_profiles_until_erased() {
        let kept = retention("{}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kept, RetentionConfig { turns_days: 90, profiles_days: None });
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").map(|d| d.with_timezone(&Utc)).unwrap();
        assert_eq!(kept.turn_expiry(at).to_rfc3339(), "2027-03-07T10:00:00+00:00");
        assert_eq!(kept.profile_expiry(at), None, "profiles stay until erased");
        let set = retention("retention: {turns_days: 30, profiles_days: 365}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.profile_expiry(at).map(|d| d.to_rfc3339()).as_deref(), Some("2027-12-07T10:00:00+00:00"));
    }

    #[test]
    fn retention_outside_a_month_to_ten_years_is_refused_by_field() {
        for (yaml, field) in [
            ("retention: {turns_days: 0}", "data.retention.turns_days"),
            ("retention: {turns_days: 7}", "data.retention.turns_days"),
            ("retention: {turns_days: 3651}", "data.retention.turns_days"),
            ("retention: {profiles_days: 29}", "data.retention.profiles_days"),
            ("retention: {profiles_days: 4000}", "data.retention.profiles_days"),
        ] {
            let refused = retention(yaml).err().unwrap_or_default();
            assert!(refused.contains(field), "{yaml}: {refused}");
        }
        assert!(retention("retention: {turn_days: 30}").is_err(), "a misspelt field is not ignored");
    }
}
