use super::lock;
use crate::tenant::Secret;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use switchboard_core::domain::{Customer, CustomerId, TenantId, Turn};
use switchboard_core::ports::{ChannelSender, Clock, CustomerStore, Outbound, PortError, SecretStore};

/// Customer profiles in a map.
#[derive(Debug, Default)]
pub struct MemoryCustomers {
    customers: Mutex<HashMap<(TenantId, CustomerId), Customer>>,
    identities: Mutex<HashMap<(TenantId, String), CustomerId>>,
}

#[async_trait]
impl CustomerStore for MemoryCustomers {
    async fn customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<Option<Customer>, PortError> {
        let found = lock(&self.customers).get(&(tenant.clone(), id.clone())).cloned();
        super::capacity::read(found.as_ref().map_or(0, |c| super::capacity::profile(tenant, c)));
        Ok(found)
    }

    async fn put_customer(&self, tenant: &TenantId, customer: &Customer) -> Result<(), PortError> {
        // As the DynamoDB adapter: read the profile before, write it and each identity link.
        let before = lock(&self.customers).insert((tenant.clone(), customer.id.clone()), customer.clone());
        let sized = |c: &Customer| super::capacity::profile(tenant, c);
        super::capacity::read(before.as_ref().map_or(0, sized));
        super::capacity::write(before.as_ref().map_or(0, sized).max(sized(customer)));
        let mut identities = lock(&self.identities);
        for identity in customer.identities() {
            super::capacity::write(super::capacity::identity(tenant, &identity, customer.id.as_str()));
            identities.insert((tenant.clone(), identity), customer.id.clone());
        }
        // Links the profile no longer lists go, unless another customer has taken them since.
        let now = customer.identities();
        for dropped in before.map(|c| c.identities()).unwrap_or_default().into_iter().filter(|i| !now.contains(i)) {
            let key = (tenant.clone(), dropped);
            if identities.get(&key) == Some(&customer.id) {
                super::capacity::write(super::capacity::identity(tenant, &key.1, customer.id.as_str()));
                identities.remove(&key);
            } else {
                super::capacity::refused_write();
            }
        }
        Ok(())
    }

    async fn customer_for(&self, tenant: &TenantId, identity: &str) -> Result<Option<CustomerId>, PortError> {
        let found = lock(&self.identities).get(&(tenant.clone(), identity.to_string())).cloned();
        super::capacity::read(found.as_ref().map_or(0, |c| super::capacity::identity(tenant, identity, c.as_str())));
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
