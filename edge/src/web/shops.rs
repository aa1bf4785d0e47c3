//! `POST /v1/{tenant}/shopify` and `POST /v1/{tenant}/woocommerce`: verified over the raw body
//! with the store's secret, de-duplicated, within the tenant's write limit, then applied to
//! the customer store: the customer is found by a phone or e-mail the tenant already has (so
//! a profile imported under the shop's own ids is the one updated), else created under the
//! shop's id. A refused delivery stores nothing; a topic not kept is acknowledged.

use super::webchat::Api;
use super::{ApiError, RequestId};
use crate::shops::{Shipment, ShopCustomer, ShopUpdate, shopify, woocommerce};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::domain::{Customer, CustomerId, TenantId};
use switchboard_core::keys::partition;
use switchboard_core::ports::{Claim, IdempotencyKey};
use switchboard_engine::customers::{MAX_IDENTITIES, check_customer, check_order};
use switchboard_engine::tenant::Tenant;
use tracing::Instrument;

/// A shop retries a failed delivery for up to two days (Shopify: 8 tries over 4 hours; kept
/// longer so a late retry is still recognised).
const KEEP_FOR: Duration = Duration::from_secs(3 * 24 * 3600);
const LOCK_FOR: Duration = Duration::from_secs(30);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// What a shop's verification and parsing produced: the delivery's de-duplication id, its topic
/// and what it asks; `None` to acknowledge it and store nothing.
type Verified = Option<(String, String, ShopUpdate)>;

/// The steps both shops' webhooks share: read the body (size-limited), find the tenant, let the
/// shop's module verify and parse, apply. Anything `verify_and_parse` refuses is answered with
/// its status and stores nothing.
async fn shop_webhook(
    api: &Api,
    tenant: &str,
    request_id: &str,
    shop: &'static str,
    body: Result<Bytes, BytesRejection>,
    verify_and_parse: impl FnOnce(&Tenant, &[u8]) -> Result<Verified, ApiError>,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("shop", request_id = %request_id, tenant = %tenant, shop);
    async move {
        let body = body.map_err(ApiError::body)?;
        let tenant = api.tenant(tenant).await?;
        match verify_and_parse(&tenant, &body)? {
            None => Ok(StatusCode::OK.into_response()),
            Some((delivery, topic, update)) => apply(api, &tenant, shop, &delivery, &topic, update).await,
        }
    }
    .instrument(span)
    .await
}

/// `POST /v1/{tenant}/shopify`.
pub(super) async fn shopify_webhook(
    State(api): State<Arc<Api>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    shop_webhook(&api, &tenant, &request_id, "shopify", body, |tenant, body| {
        let Some(store) = tenant.config.data.shopify.as_ref() else {
            return Err(ApiError::not_found("this tenant has no Shopify store configured"));
        };
        shopify::verify(store.webhook_secret.expose(), header(&headers, "x-shopify-hmac-sha256"), body)?;
        // One app secret signs for every store the app is installed on.
        if header(&headers, "x-shopify-shop-domain").map(str::trim) != Some(store.shop.as_str()) {
            tracing::warn!("a signed Shopify webhook from another store: acknowledged, skipped");
            return Ok(None);
        }
        let topic = header(&headers, "x-shopify-topic").unwrap_or_default();
        let delivery = header(&headers, "x-shopify-webhook-id").map(str::to_string).unwrap_or_else(|| digest(body));
        Ok(Some((delivery, topic.to_string(), shopify::parse(topic, body)?)))
    })
    .await
}

/// `POST /v1/{tenant}/woocommerce`.
pub(super) async fn woocommerce_webhook(
    State(api): State<Arc<Api>>,
    Path(tenant): Path<String>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    shop_webhook(&api, &tenant, &request_id, "woocommerce", body, |tenant, body| {
        let Some(store) = tenant.config.data.woocommerce.as_ref() else {
            return Err(ApiError::not_found("this tenant has no WooCommerce store configured"));
        };
        if woocommerce::is_ping(body) {
            return Ok(None);
        }
        woocommerce::verify(store.webhook_secret.expose(), header(&headers, "x-wc-webhook-signature"), body)?;
        let topic = header(&headers, "x-wc-webhook-topic").unwrap_or_default();
        // WooCommerce numbers each delivery anew, retries included: the body says what changed.
        Ok(Some((digest(body), topic.to_string(), woocommerce::parse(topic, body)?)))
    })
    .await
}

fn digest(body: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(body))
}

/// Claims the delivery, stores what it says, completes the claim (or releases it on failure,
/// so the shop's retry goes ahead).
async fn apply(
    api: &Api,
    tenant: &Tenant,
    shop: &'static str,
    delivery: &str,
    topic: &str,
    update: ShopUpdate,
) -> Result<Response, ApiError> {
    if let ShopUpdate::Skip(why) = update {
        tracing::info!(topic, why, "shop webhook acknowledged, skipped");
        return Ok(StatusCode::OK.into_response());
    }
    api.limits.admit_writes(&tenant.id, shop, 1, api.clock.now()).await?;
    let idempotency = api.inbound.idempotency();
    let key = IdempotencyKey(partition::shop_delivery(&tenant.id, shop, delivery));
    let now = api.clock.now();
    match idempotency.claim(&key, now, LOCK_FOR).await? {
        Claim::Acquired => {}
        Claim::Completed(_) => return Ok(StatusCode::OK.into_response()),
        Claim::InProgress => {
            return Err(ApiError::conflict("the same delivery is being processed; retry shortly"));
        }
    }
    match store(api, tenant, update).await {
        Ok(outcome) => {
            tracing::info!(topic, outcome, "shop webhook applied");
            if let Err(error) = idempotency.complete(&key, &serde_json::json!({}), now, KEEP_FOR).await {
                tracing::warn!(%error, "could not mark the shop delivery done; a retry repeats it harmlessly");
            }
            Ok(StatusCode::OK.into_response())
        }
        Err(error) => {
            if let Err(release) = idempotency.release(&key).await {
                tracing::warn!(%release, "could not release the shop delivery's claim; it expires");
            }
            Err(error)
        }
    }
}

/// Applies a customer, order or shipment update; says what it did (for the log).
async fn store(api: &Api, tenant: &Tenant, update: ShopUpdate) -> Result<&'static str, ApiError> {
    let (shop_customer, order) = match update {
        ShopUpdate::Customer(c) => (c, None),
        ShopUpdate::Order { customer, order } => (customer, Some(order)),
        ShopUpdate::Shipment { customer, order, shipment } => {
            return ship(api, tenant, &customer, &order, &shipment).await;
        }
        ShopUpdate::Skip(_) => return Ok("skipped"),
    };
    let mut customer = match find(api, &tenant.id, &shop_customer).await? {
        Some(stored) => merge(stored, &shop_customer),
        None => new_customer(&shop_customer)?,
    };
    if let Some(order) = order {
        if customer.order(&order.id).is_some_and(|stored| order.is_older_than(stored)) {
            return Ok("older than the stored order: kept the stored one");
        }
        customer.orders = vec![order];
    } else {
        customer.orders = Vec::new();
    }
    let customer = check_customer(customer).map_err(ApiError::invalid)?;
    let keep = tenant.config.data.retention.profile_expiry(api.clock.now());
    api.customers.put_customer(&tenant.id, &customer, keep).await?;
    Ok(if customer.orders.is_empty() { "profile stored" } else { "order stored" })
}

/// Applies a shipment to the order it names, among the orders of the customer its phone or
/// e-mail finds: one order item written, nothing created. Whatever the shipment names that the
/// tenant does not hold is acknowledged and left alone (the order's own webhook brings it).
async fn ship(
    api: &Api,
    tenant: &Tenant,
    shop: &ShopCustomer,
    number: &str,
    shipment: &Shipment,
) -> Result<&'static str, ApiError> {
    let Some(customer) = find_by_identity(api, &tenant.id, shop).await? else {
        return Ok("a shipment for no customer the tenant knows: skipped");
    };
    // The order Shopify names, exactly: `#1001` and another system's `1001` are not one order.
    let Some(stored) = customer.orders.iter().find(|o| o.id == number) else {
        return Ok("a shipment of an order the tenant does not hold: skipped");
    };
    let Some(order) = shipment.applied_to(stored) else {
        return Ok("a shipment older than the stored order: kept the stored one");
    };
    let order = check_order(order).map_err(ApiError::invalid)?;
    let keep = tenant.config.data.retention.profile_expiry(api.clock.now());
    api.customers.put_order(&tenant.id, &customer.id, &order, keep).await?;
    Ok("shipment stored")
}

/// The stored profile this shop customer is: by a phone or e-mail the tenant already has, then
/// by the shop's own id.
async fn find(api: &Api, tenant: &TenantId, shop: &ShopCustomer) -> Result<Option<Customer>, ApiError> {
    if let Some(found) = find_by_identity(api, tenant, shop).await? {
        return Ok(Some(found));
    }
    let id = CustomerId::new(shop.external_id.as_str()).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(api.customers.customer(tenant, &id).await?)
}

/// The stored profile one of the shop customer's e-mails or phones links to.
async fn find_by_identity(api: &Api, tenant: &TenantId, shop: &ShopCustomer) -> Result<Option<Customer>, ApiError> {
    let identities =
        shop.emails.iter().map(|e| format!("email:{e}")).chain(shop.phones.iter().map(|p| format!("phone:{p}")));
    for identity in identities {
        if let Some(id) = api.customers.customer_for(tenant, &identity).await?
            && let Some(found) = api.customers.customer(tenant, &id).await?
        {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The stored profile with what the shop says: its name, and any phone or e-mail it adds
/// (kept ones stay: another system may have linked them).
fn merge(mut stored: Customer, shop: &ShopCustomer) -> Customer {
    if let Some(name) = &shop.name {
        stored.name = name.clone();
    }
    for phone in &shop.phones {
        if !stored.phones.contains(phone) && stored.phones.len() + stored.emails.len() < MAX_IDENTITIES {
            stored.phones.push(phone.clone());
        }
    }
    for email in &shop.emails {
        if !stored.emails.contains(email) && stored.phones.len() + stored.emails.len() < MAX_IDENTITIES {
            stored.emails.push(email.clone());
        }
    }
    stored
}

fn new_customer(shop: &ShopCustomer) -> Result<Customer, ApiError> {
    Ok(Customer {
        id: CustomerId::new(shop.external_id.as_str()).map_err(|e| ApiError::bad_request(e.to_string()))?,
        name: shop.name.clone().unwrap_or_else(|| "Customer".into()),
        tier: "standard".into(),
        language: None,
        orders: Vec::new(),
        attributes: Default::default(),
        phones: shop.phones.clone(),
        emails: shop.emails.clone(),
    })
}
