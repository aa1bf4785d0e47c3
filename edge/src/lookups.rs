//! Live order lookups over HTTP ([`OrderLookup`]): the business's own endpoint — a JSON POST
//! signed as the webhook helpdesk signs (`X-Switchboard-Timestamp`, `X-Switchboard-Signature:
//! v1=hex(HMAC-SHA256(secret, "{timestamp}.{body}"))`), answered with `{"orders": [Order…]}` —
//! or the Shopify store's Admin API (`GET /admin/api/{version}/orders.json?email=…`). One
//! attempt: the responder bounds the wait, and a retry would only spend it.

use crate::helpdesks::webhook::sign;
use crate::http::HttpClient;
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Arc;
use switchboard_core::config::OrderLookupConfig;
use switchboard_core::domain::{Customer, Order, TenantId};
use switchboard_core::ports::{OrderLookup, PortError};
use switchboard_engine::customers::{check_order, from_json};
use switchboard_engine::tenant::TenantDirectory;

const PORT: &str = "order lookup";

/// The Admin API version asked (Shopify supports each for a year).
pub const SHOPIFY_API_VERSION: &str = "2025-10";

/// Orders looked up where each tenant's `data.lookups.orders` says.
pub struct HttpLookups {
    tenants: Arc<dyn TenantDirectory>,
    http: HttpClient,
}

impl HttpLookups {
    /// Lookups for the tenants in `tenants`.
    pub fn new(tenants: Arc<dyn TenantDirectory>, http: HttpClient) -> Self {
        Self { tenants, http }
    }
}

fn unavailable(detail: impl Into<String>) -> PortError {
    PortError::Unavailable { port: PORT, detail: detail.into() }
}

#[async_trait]
impl OrderLookup for HttpLookups {
    async fn orders(&self, tenant: &TenantId, customer: &Customer) -> Result<Vec<Order>, PortError> {
        let found = self.tenants.tenant(tenant).await?.ok_or_else(|| unavailable("no such tenant"))?;
        let Some(config) = found.config.data.lookups.orders.as_ref() else { return Ok(Vec::new()) };
        let shop = found.config.data.shopify.as_ref().map(|s| s.shop.as_str());
        let raw = match (config.url.as_deref(), shop) {
            (Some(url), _) => self.business(url, config, tenant, customer).await?,
            (None, Some(shop)) => self.shopify(shop, config, customer).await?,
            (None, None) => return Ok(Vec::new()),
        };
        let mut orders = Vec::new();
        for value in raw {
            let bytes = serde_json::to_vec(&value).map_err(|e| unavailable(e.to_string()))?;
            match from_json::<Order>(&bytes).map_err(|e| vec![e]).and_then(check_order) {
                Ok(order) => orders.push(order),
                Err(problems) => {
                    tracing::warn!(tenant = %tenant, problems = problems.len(), "a looked-up order was not valid; skipped")
                }
            }
        }
        Ok(orders)
    }
}

impl HttpLookups {
    async fn business(
        &self,
        url: &str,
        config: &OrderLookupConfig,
        tenant: &TenantId,
        customer: &Customer,
    ) -> Result<Vec<Value>, PortError> {
        let secret = config.secret.as_ref().map(|s| s.expose()).unwrap_or_default();
        let body = json!({
            "tenant": tenant,
            "customer": {"id": customer.id, "phones": customer.phones, "emails": customer.emails},
        });
        let bytes = serde_json::to_vec(&body).map_err(|e| unavailable(e.to_string()))?;
        let now = chrono::Utc::now().timestamp();
        let response = self
            .http
            .client()
            .post(url)
            .header("content-type", "application/json")
            .header("X-Switchboard-Timestamp", now.to_string())
            .header("X-Switchboard-Signature", sign(secret, now, &bytes))
            .body(bytes)
            .send()
            .await
            .map_err(|e| unavailable(if e.is_timeout() { "timed out" } else { "could not connect" }))?;
        orders_in(response, "orders").await
    }

    async fn shopify(
        &self,
        shop: &str,
        config: &OrderLookupConfig,
        customer: &Customer,
    ) -> Result<Vec<Value>, PortError> {
        let Some(email) = customer.emails.first() else { return Ok(Vec::new()) };
        let token = config.shopify_access_token.as_ref().map(|s| s.expose()).unwrap_or_default();
        let token = std::str::from_utf8(token).map_err(|_| unavailable("the access token is not text"))?;
        let base = config.shopify_api_base.clone().unwrap_or_else(|| format!("https://{shop}"));
        let url = format!("{}/admin/api/{SHOPIFY_API_VERSION}/orders.json", base.trim_end_matches('/'));
        let response = self
            .http
            .client()
            .get(url)
            .query(&[("email", email.as_str()), ("status", "any"), ("limit", "10")])
            .header("X-Shopify-Access-Token", token)
            .send()
            .await
            .map_err(|e| unavailable(if e.is_timeout() { "timed out" } else { "could not connect" }))?;
        let orders = orders_in(response, "orders").await?;
        // The Admin API's orders are webhook-shaped: the webhook's mapping reads them.
        Ok(orders.iter().filter_map(crate::shops::shopify::order_value).collect())
    }
}

/// The array under `field` of a 2xx JSON answer.
async fn orders_in(response: reqwest::Response, field: &str) -> Result<Vec<Value>, PortError> {
    let status = response.status();
    if !status.is_success() {
        return Err(unavailable(format!("HTTP {}", status.as_u16())));
    }
    let body: Value = response.json().await.map_err(|_| unavailable("the answer is not JSON"))?;
    match body.get(field) {
        Some(Value::Array(items)) => Ok(items.clone()),
        _ => Err(unavailable(format!("the answer has no `{field}` list"))),
    }
}
