//! Live order lookups: for an order question from a verified customer, the business's own
//! system is asked for their current orders, within the tenant's timeout; what it says is used
//! for this answer (and reused for a short while), and any failure or late answer leaves the
//! stored orders in use — a lookup can slow an answer by its timeout at most, never lose it.

use super::Responder;
use crate::tenant::Tenant;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use switchboard_core::domain::{Customer, CustomerId, Order, TenantId};
use switchboard_core::meter::report;
use switchboard_core::sync::lock;

/// Most customers whose looked-up orders an instance keeps.
const CACHE_LIMIT: usize = 10_000;

type Key = (TenantId, CustomerId);

/// Looked-up orders by customer, each with when it was fetched.
#[derive(Default)]
pub(super) struct LookupCache {
    entries: Mutex<HashMap<Key, (Instant, Vec<Order>)>>,
}

impl LookupCache {
    fn get(&self, key: &Key, ttl: Duration) -> Option<Vec<Order>> {
        let entries = lock(&self.entries);
        entries.get(key).filter(|(at, _)| at.elapsed() < ttl).map(|(_, orders)| orders.clone())
    }

    fn put(&self, key: Key, orders: Vec<Order>, ttl: Duration) {
        let mut entries = lock(&self.entries);
        if entries.len() >= CACHE_LIMIT {
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= CACHE_LIMIT {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), orders));
    }
}

impl Responder {
    /// `customer` with their current orders from the tenant's lookup, when `intent` is one it
    /// looks up for; else as stored.
    pub(super) async fn with_current_orders(
        &self,
        tenant: &Tenant,
        intent: Option<&str>,
        customer: Option<Customer>,
    ) -> Option<Customer> {
        let mut customer = customer?;
        let (Some(lookup), Some(config)) = (self.lookup.as_ref(), tenant.config.data.lookups.orders.as_ref()) else {
            return Some(customer);
        };
        if !intent.is_some_and(|i| config.intents.iter().any(|wanted| wanted == i)) {
            return Some(customer);
        }
        let key = (tenant.id.clone(), customer.id.clone());
        let ttl = Duration::from_secs(config.cache_seconds);
        let orders = match self.lookups.get(&key, ttl) {
            Some(cached) => cached,
            None => {
                let started = Instant::now();
                let timeout = Duration::from_millis(config.timeout_ms);
                let answer = tokio::time::timeout(timeout, lookup.orders(&tenant.id, &customer)).await;
                let waited = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                let failed = !matches!(answer, Ok(Ok(_)));
                report(|m| {
                    m.lookups += 1;
                    m.lookup_failures += u32::from(failed);
                    m.lookup_ms += waited;
                });
                match answer {
                    Ok(Ok(orders)) => {
                        self.lookups.put(key, orders.clone(), ttl);
                        orders
                    }
                    Ok(Err(error)) => {
                        tracing::warn!(tenant = %tenant.id, %error, waited_ms = waited, "order lookup failed; stored orders answer");
                        return Some(customer);
                    }
                    Err(_) => {
                        tracing::warn!(tenant = %tenant.id, waited_ms = waited, "order lookup timed out; stored orders answer");
                        return Some(customer);
                    }
                }
            }
        };
        for order in orders {
            customer.upsert_order(order);
        }
        Some(customer)
    }
}
