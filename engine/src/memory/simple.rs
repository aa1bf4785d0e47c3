use super::{Aging, lock};
use crate::tenant::Secret;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use switchboard_core::domain::{ConversationId, Customer, CustomerId, Order, TenantId, Turn};
use switchboard_core::ports::{ChannelSender, Clock, CustomerStore, KeepUntil, Outbound, PortError, SecretStore};

/// Customer profiles in a map, orders inside each profile; the read and write units it reports
/// are those the DynamoDB adapter's items (profile, one per order, one per identity) would take.
#[derive(Debug, Default)]
pub struct MemoryCustomers {
    customers: Mutex<HashMap<(TenantId, CustomerId), Held>>,
    identities: Mutex<HashMap<(TenantId, String), (CustomerId, KeepUntil)>>,
    conversations: Mutex<HashMap<(TenantId, CustomerId), Vec<ConversationId>>>,
    aging: Aging,
}

/// A profile (with all its orders) and until when it and each order are kept.
#[derive(Debug, Clone)]
struct Held {
    customer: Customer,
    keep: KeepUntil,
    orders_keep: HashMap<String, KeepUntil>,
}

impl MemoryCustomers {
    /// Profiles that age by `clock` (the wall clock by default).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self { aging: Aging(clock), ..Self::default() }
    }

    /// Up to `limit` of the tenant's profiles, by id: for the local chat page's "signed in as"
    /// (the embedded default only; the table is never listed).
    pub fn list(&self, tenant: &TenantId, limit: usize) -> Vec<Customer> {
        let customers = lock(&self.customers);
        let mut found: Vec<Customer> = customers
            .iter()
            .filter(|((t, _), held)| t == tenant && !self.aging.expired(held.keep))
            .map(|(_, held)| held.customer.clone())
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found.truncate(limit);
        found
    }

    /// The unexpired profile of `id` with its unexpired orders.
    fn live(&self, tenant: &TenantId, id: &CustomerId) -> Option<Customer> {
        let held = lock(&self.customers).get(&(tenant.clone(), id.clone())).cloned()?;
        if self.aging.expired(held.keep) {
            return None;
        }
        let mut customer = held.customer;
        customer.orders.retain(|o| !self.aging.expired(held.orders_keep.get(&o.id).copied().flatten()));
        Some(customer)
    }

    /// Unlinks the identities `before` listed and `now` does not, unless another customer has
    /// taken them since.
    fn unlink(&self, tenant: &TenantId, id: &CustomerId, before: &[String], now: &[String]) {
        let mut identities = lock(&self.identities);
        for dropped in before.iter().filter(|i| !now.contains(i)) {
            let key = (tenant.clone(), dropped.clone());
            if identities.get(&key).is_some_and(|(owner, _)| owner == id) {
                super::capacity::write(super::capacity::identity(tenant, dropped, id.as_str()));
                identities.remove(&key);
            } else {
                super::capacity::refused_write();
            }
        }
    }
}

#[async_trait]
impl CustomerStore for MemoryCustomers {
    async fn customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<Option<Customer>, PortError> {
        let mut found = self.live(tenant, id);
        if let Some(c) = found.as_mut() {
            c.orders.truncate(switchboard_core::ports::ORDERS_READ);
        }
        let items = found.as_ref().map_or(0, |c| 1 + c.orders.len());
        super::capacity::query(found.as_ref().map_or(0, |c| super::capacity::profile_with_orders(tenant, c)), items);
        Ok(found)
    }

    async fn put_customer(&self, tenant: &TenantId, customer: &Customer, keep: KeepUntil) -> Result<(), PortError> {
        // As the DynamoDB adapter: read the profile before, write it, each order and each link.
        let before = self.live(tenant, &customer.id);
        {
            let mut customers = lock(&self.customers);
            let key = (tenant.clone(), customer.id.clone());
            // Stored orders stay, each until its own expiry, as order items do in the table.
            let mut held = customers.remove(&key).unwrap_or_else(|| Held {
                customer: Customer { orders: vec![], ..customer.clone() },
                keep,
                orders_keep: HashMap::new(),
            });
            let orders_keep = &held.orders_keep;
            held.customer.orders.retain(|o| !self.aging.expired(orders_keep.get(&o.id).copied().flatten()));
            held.customer = Customer { orders: held.customer.orders, ..customer.clone() };
            held.keep = keep;
            for order in &customer.orders {
                super::capacity::write(super::capacity::order(tenant, &customer.id, order));
                held.customer.upsert_order(order.clone());
                held.orders_keep.insert(order.id.clone(), keep);
            }
            customers.insert(key, held);
        }
        let items = before.as_ref().map_or(0, |c| 1 + c.orders.len());
        super::capacity::query(before.as_ref().map_or(0, |c| super::capacity::profile_with_orders(tenant, c)), items);
        super::capacity::write(super::capacity::profile(tenant, customer));
        {
            let mut identities = lock(&self.identities);
            for identity in customer.identities() {
                super::capacity::write(super::capacity::identity(tenant, &identity, customer.id.as_str()));
                identities.insert((tenant.clone(), identity), (customer.id.clone(), keep));
            }
        }
        let before = before.map(|c| c.identities()).unwrap_or_default();
        self.unlink(tenant, &customer.id, &before, &customer.identities());
        Ok(())
    }

    async fn put_order(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
        order: &Order,
        keep: KeepUntil,
    ) -> Result<(), PortError> {
        let mut customers = lock(&self.customers);
        let Some(held) = customers.get_mut(&(tenant.clone(), id.clone())).filter(|h| !self.aging.expired(h.keep))
        else {
            super::capacity::refused_write();
            return Err(PortError::Rejected { port: "customer store", detail: "no such customer".into() });
        };
        super::capacity::write(super::capacity::order(tenant, id, order));
        held.customer.upsert_order(order.clone());
        held.orders_keep.insert(order.id.clone(), keep);
        Ok(())
    }

    async fn erase_customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<bool, PortError> {
        let Some(Held { customer: before, .. }) = lock(&self.customers).remove(&(tenant.clone(), id.clone())) else {
            super::capacity::query(0, 0);
            return Ok(false);
        };
        super::capacity::query(super::capacity::profile_with_orders(tenant, &before), 1 + before.orders.len());
        lock(&self.conversations).remove(&(tenant.clone(), id.clone()));
        super::capacity::write(super::capacity::profile(tenant, &before));
        for order in &before.orders {
            super::capacity::write(super::capacity::order(tenant, id, order));
        }
        self.unlink(tenant, id, &before.identities(), &[]);
        Ok(true)
    }

    async fn customer_for(&self, tenant: &TenantId, identity: &str) -> Result<Option<CustomerId>, PortError> {
        let found = lock(&self.identities)
            .get(&(tenant.clone(), identity.to_string()))
            .filter(|(_, keep)| !self.aging.expired(*keep))
            .map(|(id, _)| id.clone());
        super::capacity::read(found.as_ref().map_or(0, |c| super::capacity::identity(tenant, identity, c.as_str())));
        Ok(found)
    }

    async fn link_conversation(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
        conversation: &ConversationId,
    ) -> Result<(), PortError> {
        super::capacity::write(super::capacity::conversation_link(tenant, id, conversation));
        let mut links = lock(&self.conversations);
        let linked = links.entry((tenant.clone(), id.clone())).or_default();
        if !linked.contains(conversation) {
            linked.push(conversation.clone());
        }
        Ok(())
    }

    async fn conversations_of(&self, tenant: &TenantId, id: &CustomerId) -> Result<Vec<ConversationId>, PortError> {
        let found = lock(&self.conversations).get(&(tenant.clone(), id.clone())).cloned().unwrap_or_default();
        let bytes = found.iter().map(|c| super::capacity::conversation_link(tenant, id, c)).sum();
        super::capacity::query(bytes, found.len());
        Ok(found)
    }
}

/// A channel that keeps what it was asked to send, for tests and for the web chat, whose
/// widget reads stored turns instead of receiving a push.
#[derive(Debug, Default)]
pub struct MemoryOutbox {
    sent: Mutex<Sent>,
}

#[derive(Debug, Default)]
struct Sent {
    in_order: Vec<(String, Turn)>,
    ids: HashSet<String>,
}

impl MemoryOutbox {
    /// (conversation id, turn) of everything sent so far.
    pub fn sent(&self) -> Vec<(String, Turn)> {
        lock(&self.sent).in_order.clone()
    }
}

#[async_trait]
impl ChannelSender for MemoryOutbox {
    async fn send(&self, outbound: Outbound<'_>) -> Result<(), PortError> {
        let mut sent = lock(&self.sent);
        // Same part of the same turn again (a redelivered message) is the same send.
        if sent.ids.insert(outbound.key()) {
            let turn = Turn { text: outbound.text.to_string(), ..outbound.turn.clone() };
            sent.in_order.push((outbound.conversation.id.to_string(), turn));
        }
        Ok(())
    }
}

/// One allowance's window: tenant, what, window start.
type Window = (TenantId, String, DateTime<Utc>);

/// Allowances counted in memory.
#[derive(Debug, Default)]
pub struct MemoryAllowances {
    taken: Mutex<HashMap<Window, u32>>,
}

#[async_trait]
impl switchboard_core::ports::Allowances for MemoryAllowances {
    async fn take(&self, tenant: &TenantId, what: &str, window: DateTime<Utc>, limit: u32) -> Result<bool, PortError> {
        let mut taken = lock(&self.taken);
        let count = taken.entry((tenant.clone(), what.to_string(), window)).or_insert(0);
        if *count >= limit {
            super::capacity::refused_write();
            return Ok(false);
        }
        *count += 1;
        super::capacity::write(super::capacity::allowance(tenant, what, window, *count));
        Ok(true)
    }

    async fn add(&self, tenant: &TenantId, what: &str, window: DateTime<Utc>, n: u32) -> Result<u64, PortError> {
        let mut taken = lock(&self.taken);
        // Windows a day old are gone in the table (their TTL); here they go once there are many.
        if taken.len() >= 10_000 {
            taken.retain(|(_, _, w), _| *w > window - chrono::TimeDelta::days(1));
        }
        let count = taken.entry((tenant.clone(), what.to_string(), window)).or_insert(0);
        *count = count.saturating_add(n);
        super::capacity::write(super::capacity::allowance(tenant, what, window, *count));
        Ok(u64::from(*count))
    }
}

/// A clock tests set and advance by hand.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self { now: Mutex::new(now) }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        *lock(&self.now) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.now)
    }
}

/// Secrets in a map.
#[derive(Debug, Default)]
pub struct MemorySecrets {
    secrets: Mutex<HashMap<String, String>>,
}

impl MemorySecrets {
    /// Stores a secret.
    pub fn put(&self, name: &str, value: &str) {
        lock(&self.secrets).insert(name.to_string(), value.to_string());
    }
}

#[async_trait]
impl SecretStore for MemorySecrets {
    async fn secret(&self, name: &str) -> Result<Option<Secret>, PortError> {
        Ok(lock(&self.secrets).get(name).map(Secret::new))
    }
}
