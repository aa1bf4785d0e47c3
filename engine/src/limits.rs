//! Per-tenant and per-visitor message limits: the fairness API Gateway does not give (its route
//! throttles are one bucket for every tenant of a deployment, docs/design.md "Step 10").
//!
//! A tenant has one limit per channel — anyone can write to its web chat or its e-mail address,
//! so a flood on one channel must not silence the others — and signed-in web chat customers
//! have theirs apart from anonymous visitors, who also have a limit each.
//!
//! A limit is a count per minute, kept where every instance sees it (the [`Allowances`]
//! counters) but not written per request: an instance counts in memory and adds its count to
//! the shared total once it has used a share of what the total left ([`SHARES`]), or when it
//! reaches the limit. Most requests at normal traffic write nothing; a flood writes about a
//! limit's worth of times a minute per key, whatever its size. The price is precision: each
//! busy instance may admit up to one share past the limit before it hears the total.
//! Checked after a request is verified and before anything of it is read or written.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use switchboard_core::domain::{Channel, TenantId};
use switchboard_core::ports::Allowances;
use switchboard_core::sync::lock;

/// An instance adds its count to the shared total after using this fraction of what was left.
const SHARES: u64 = 32;
/// ...but not in smaller steps than this (a visitor's limit is small: a write per message
/// would cost more than the message).
const MIN_SHARE: u64 = 4;
/// Most keys an instance remembers; visitors' keys (which an outsider invents) go first.
const MAX_KEYS: usize = 10_000;

/// The limits of a deployment, the same for every tenant (a tenant's file cannot raise them:
/// it may be written by a business, and the limits protect the other businesses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    /// Customer messages one tenant may have accepted per minute on each channel (0: no limit).
    pub tenant_messages_per_minute: u32,
    /// Messages one web chat visitor may send per minute (0: no limit).
    pub visitor_messages_per_minute: u32,
    /// Writes one tenant's own systems may make per minute on each data route — the data API,
    /// each shop's webhooks (0: no limit). Bulk loads go through `customers import` instead.
    pub data_writes_per_minute: u32,
}

impl Default for LimitSettings {
    /// 10 a second per channel for a tenant (a busy shop's peak is a fraction of that); 20 a
    /// minute for a visitor (a person types slower; a script does not).
    fn default() -> Self {
        Self { tenant_messages_per_minute: 600, visitor_messages_per_minute: 20, data_writes_per_minute: 1200 }
    }
}

/// A request over a limit: refuse it with 429 and `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("over the {what} limit; retry in {retry_after} s")]
pub struct Limited {
    /// Which limit: `tenant` or `visitor`.
    pub what: &'static str,
    /// Seconds until the minute ends.
    pub retry_after: u64,
}

/// The limits of one instance: what it counted, and the totals it last heard.
pub struct Limits {
    settings: LimitSettings,
    counters: Arc<dyn Allowances>,
    seen: Mutex<HashMap<Key, Count>>,
}

/// Where messages come from, for the limits.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The tenant they are for.
    pub tenant: &'a TenantId,
    /// The channel they came on.
    pub channel: Channel,
    /// The web chat visitor who sent them.
    pub visitor: Option<&'a str>,
    /// A verified web chat identity came with them.
    pub signed_in: bool,
}

impl Source<'_> {
    /// The tenant's count these messages go to.
    fn bucket(&self) -> &'static str {
        match (self.channel, self.signed_in) {
            (Channel::Webchat, true) => "webchat_signed_in",
            (channel, _) => channel.as_str(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    tenant: TenantId,
    /// `visitor#{id}`, or `messages#{bucket}` for the tenant's count.
    what: String,
}

impl Key {
    fn is_visitor(&self) -> bool {
        self.what.starts_with("visitor#")
    }
}

/// One key's minute in this instance.
#[derive(Debug, Clone, Copy)]
struct Count {
    window: DateTime<Utc>,
    /// The shared total when this instance last added to it.
    heard: u64,
    /// Counted here, not yet added.
    pending: u64,
}

impl Limits {
    /// Limits counted in `counters`.
    pub fn new(settings: LimitSettings, counters: Arc<dyn Allowances>) -> Self {
        Self { settings, counters, seen: Mutex::new(HashMap::new()) }
    }

    /// The deployment's limits.
    pub fn settings(&self) -> LimitSettings {
        self.settings
    }

    /// Admits `messages` from `source` at `now`, or says which limit they are over. A tenant
    /// already at its limit refuses before anything is counted; then the visitor's limit, so a
    /// visitor refused does not use the tenant's.
    pub async fn admit(&self, source: Source<'_>, messages: u32, now: DateTime<Utc>) -> Result<(), Limited> {
        let limit = self.settings.tenant_messages_per_minute;
        let tenant = Key { tenant: source.tenant.clone(), what: format!("messages#{}", source.bucket()) };
        if let Some(refused) = self.over(&tenant, limit, messages, now) {
            return Err(refused);
        }
        if let Some(visitor) = source.visitor {
            let key = Key { tenant: source.tenant.clone(), what: format!("visitor#{visitor}") };
            self.count(key, self.settings.visitor_messages_per_minute, messages, now).await?;
        }
        self.count(tenant, limit, messages, now).await
    }

    /// Admits `writes` from the tenant's own systems on data route `route` (`data_api`,
    /// `shopify`...), or says they are over its limit.
    pub async fn admit_writes(
        &self,
        tenant: &TenantId,
        route: &'static str,
        writes: u32,
        now: DateTime<Utc>,
    ) -> Result<(), Limited> {
        let key = Key { tenant: tenant.clone(), what: format!("writes#{route}") };
        self.count(key, self.settings.data_writes_per_minute, writes, now).await
    }

    /// Whether `messages` more would be past `key`'s limit on what this instance knows; counts
    /// nothing.
    fn over(&self, key: &Key, limit: u32, messages: u32, now: DateTime<Utc>) -> Option<Limited> {
        let window = minute(now);
        let seen = lock(&self.seen);
        let count = seen.get(key).filter(|c| c.window == window)?;
        (limit > 0 && count.heard + count.pending + u64::from(messages) > u64::from(limit))
            .then(|| refusal(key, window, now))
    }

    async fn count(&self, key: Key, limit: u32, messages: u32, now: DateTime<Utc>) -> Result<(), Limited> {
        if limit == 0 || messages == 0 {
            return Ok(());
        }
        let (limit, messages) = (u64::from(limit), u64::from(messages));
        let window = minute(now);
        let refused = refusal(&key, window, now);
        let flush = {
            let mut seen = lock(&self.seen);
            make_room(&mut seen, &key, window);
            let count = seen.entry(key.clone()).or_insert(Count { window, heard: 0, pending: 0 });
            if count.window != window {
                *count = Count { window, heard: 0, pending: 0 };
            }
            if count.heard + count.pending + messages > limit {
                return Err(refused);
            }
            count.pending += messages;
            let share = (limit.saturating_sub(count.heard) / SHARES).max(MIN_SHARE);
            (count.pending >= share || count.heard + count.pending >= limit).then(|| std::mem::take(&mut count.pending))
        };
        let Some(units) = flush else { return Ok(()) };
        let added = self.counters.add(&key.tenant, &key.what, window, u32::try_from(units).unwrap_or(u32::MAX)).await;
        let mut seen = lock(&self.seen);
        let count = seen.get_mut(&key).filter(|c| c.window == window);
        match added {
            Ok(total) => {
                if let Some(count) = count {
                    count.heard = count.heard.max(total);
                }
                // The total includes these messages: past the limit, other instances used the
                // rest first.
                if total > limit { Err(refused) } else { Ok(()) }
            }
            Err(error) => {
                // Fail open: a limit is fairness, not money (the budget is), and the store
                // writes that follow would fail the request anyway. Count them again next time.
                tracing::warn!(%error, "could not add to a limit's shared count; admitted");
                if let Some(count) = count {
                    count.pending += units;
                }
                Ok(())
            }
        }
    }
}

/// The minute `now` falls in.
fn minute(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now)
}

/// The refusal for `key` at `now`: retry when the minute is over (rounded up, so a client that
/// waits that long is in the next minute).
fn refusal(key: &Key, window: DateTime<Utc>, now: DateTime<Utc>) -> Limited {
    let left = (window + TimeDelta::minutes(1) - now).num_milliseconds().max(0);
    let retry_after = u64::try_from((left + 999) / 1000).unwrap_or(60).max(1);
    Limited { what: if key.is_visitor() { "visitor" } else { "tenant" }, retry_after }
}

/// Keeps the map bounded: past [`MAX_KEYS`], older minutes go, then every visitor's count
/// (tenants' keys are few: only tenants that exist are counted).
fn make_room(seen: &mut HashMap<Key, Count>, key: &Key, window: DateTime<Utc>) {
    if seen.len() < MAX_KEYS || seen.contains_key(key) {
        return;
    }
    seen.retain(|_, c| c.window == window);
    if seen.len() >= MAX_KEYS {
        seen.retain(|k, _| !k.is_visitor());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryAllowances;
    use chrono::TimeZone;
    use std::sync::LazyLock;
    use switchboard_core::ports::PortError;

    static DEMO: LazyLock<TenantId> = LazyLock::new(|| TenantId::new("demo").unwrap());

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap() + TimeDelta::seconds(i64::from(second))
    }

    /// Messages on `channel`, anonymous.
    fn on(channel: Channel) -> Source<'static> {
        Source { tenant: &DEMO, channel, visitor: None, signed_in: false }
    }

    /// Web chat messages from `visitor`.
    fn from(visitor: &str) -> Source<'_> {
        Source { visitor: Some(visitor), ..on(Channel::Webchat) }
    }

    fn limits(tenant: u32, visitor: u32, counters: Arc<dyn Allowances>) -> Limits {
        Limits::new(
            LimitSettings {
                tenant_messages_per_minute: tenant,
                visitor_messages_per_minute: visitor,
                data_writes_per_minute: 0,
            },
            counters,
        )
    }

    /// Counts the writes a limit makes.
    #[derive(Default)]
    struct Counting {
        inner: MemoryAllowances,
        adds: Mutex<u32>,
        fail: bool,
    }

    #[async_trait::async_trait]
    impl Allowances for Counting {
        async fn take(&self, t: &TenantId, what: &str, w: DateTime<Utc>, limit: u32) -> Result<bool, PortError> {
            self.inner.take(t, what, w, limit).await
        }
        async fn add(&self, t: &TenantId, what: &str, w: DateTime<Utc>, n: u32) -> Result<u64, PortError> {
            *lock(&self.adds) += 1;
            if self.fail {
                return Err(PortError::Unavailable { port: "allowances", detail: "down".into() });
            }
            self.inner.add(t, what, w, n).await
        }
    }

    async fn admitted(limits: &Limits, source: Source<'_>, n: usize, now: DateTime<Utc>) -> usize {
        let mut admitted = 0;
        for _ in 0..n {
            if limits.admit(source, 1, now).await.is_ok() {
                admitted += 1;
            }
        }
        admitted
    }

    #[tokio::test]
    async fn one_instance_admits_exactly_the_limit_a_minute_and_says_when_to_retry() {
        let counters = Arc::new(Counting::default());
        let limits = limits(100, 0, counters.clone());
        let sms = on(Channel::TwilioSms);
        assert_eq!(admitted(&limits, sms, 150, at(15)).await, 100);
        let refused = limits.admit(sms, 1, at(15)).await.unwrap_err();
        assert_eq!(refused, Limited { what: "tenant", retry_after: 45 });
        // Rounded up: 44.1 s left is 45, so a client that waits that long is in the next minute.
        let later = at(15) + TimeDelta::milliseconds(900);
        assert_eq!(limits.admit(sms, 1, later).await.unwrap_err().retry_after, 45);
        assert_eq!(admitted(&limits, sms, 10, at(61)).await, 10, "the next minute starts afresh");
        // 100 messages in shares of at least 4: far fewer writes than messages.
        let adds = *lock(&counters.adds);
        assert!((2..=30).contains(&adds), "{adds} writes for 110 messages");
    }

    #[tokio::test]
    async fn each_channel_has_its_own_limit_and_signed_in_customers_are_apart_from_visitors() {
        let limits = limits(10, 1000, Arc::new(MemoryAllowances::default()));
        assert_eq!(admitted(&limits, from("v_flood"), 30, at(0)).await, 10, "an anonymous web chat flood");
        assert_eq!(admitted(&limits, on(Channel::TwilioSms), 3, at(1)).await, 3, "the tenant's SMS go on");
        assert_eq!(admitted(&limits, on(Channel::Email), 3, at(1)).await, 3, "and its e-mail");
        let customer = Source { signed_in: true, ..from("v_customer") };
        assert_eq!(admitted(&limits, customer, 3, at(1)).await, 3, "signed-in customers are served");
    }

    #[tokio::test]
    async fn instances_sharing_a_count_stop_a_flood_within_one_share_each() {
        let counters: Arc<dyn Allowances> = Arc::new(MemoryAllowances::default());
        let instances: Vec<Limits> = (0..5).map(|_| limits(320, 0, counters.clone())).collect();
        let mut admitted = 0;
        // The flood arrives at the five instances in turn, 2,000 messages in one minute.
        for i in 0..2000 {
            if instances[i % 5].admit(on(Channel::Email), 1, at(5)).await.is_ok() {
                admitted += 1;
            }
        }
        let share = 320 / SHARES;
        assert!(admitted >= 320, "{admitted}: the limit is given in full");
        assert!(admitted <= 320 + 5 * share as usize, "{admitted}: at most one share past it per instance");
    }

    #[tokio::test]
    async fn a_visitor_over_their_limit_is_refused_alone() {
        let limits = limits(1000, 20, Arc::new(MemoryAllowances::default()));
        assert_eq!(admitted(&limits, from("v_loop"), 50, at(0)).await, 20);
        assert_eq!(limits.admit(from("v_loop"), 1, at(1)).await.unwrap_err().what, "visitor");
        assert_eq!(admitted(&limits, from("v_other"), 5, at(1)).await, 5, "another visitor of the tenant");
        // The 30 refused did not use the tenant's count: 25 of 1000.
        let seen = lock(&limits.seen);
        let tenant = seen.get(&Key { tenant: DEMO.clone(), what: "messages#webchat".into() }).unwrap();
        assert_eq!(tenant.heard + tenant.pending, 25);
    }

    /// A tenant at its limit refuses before a visitor is counted: invented visitors then write
    /// nothing (each would otherwise be a counter of its own in the table).
    #[tokio::test]
    async fn a_tenant_at_its_limit_counts_and_writes_nothing_more() {
        let counters = Arc::new(Counting::default());
        let limits = limits(8, 4, counters.clone());
        for i in 0..2 {
            assert_eq!(admitted(&limits, from(&format!("v{i}")), 4, at(0)).await, 4);
        }
        let writes = *lock(&counters.adds);
        for i in 2..50 {
            assert_eq!(admitted(&limits, from(&format!("v{i}")), 4, at(1)).await, 0);
        }
        assert_eq!(*lock(&counters.adds), writes, "no counter written once the tenant is at its limit");
        assert_eq!(lock(&limits.seen).len(), 3, "the tenant's count and its two visitors'");
    }

    #[tokio::test]
    async fn a_delivery_of_several_messages_counts_each_and_zero_means_no_limit() {
        let limits_ = limits(10, 0, Arc::new(MemoryAllowances::default()));
        let telegram = on(Channel::Telegram);
        assert!(limits_.admit(telegram, 8, at(0)).await.is_ok());
        assert!(limits_.admit(telegram, 3, at(0)).await.is_err(), "8 + 3 is past 10");
        assert!(limits_.admit(telegram, 2, at(0)).await.is_ok());
        let unlimited = limits(0, 0, Arc::new(MemoryAllowances::default()));
        assert_eq!(admitted(&unlimited, from("v"), 500, at(0)).await, 500);
    }

    #[tokio::test]
    async fn a_store_that_fails_admits_and_counts_again_later() {
        let counters = Arc::new(Counting { fail: true, ..Counting::default() });
        let limits = limits(8, 0, counters.clone());
        // Nothing reaches the store, but this instance still counts what it admitted.
        assert_eq!(admitted(&limits, on(Channel::Slack), 20, at(0)).await, 8);
        assert!(*lock(&counters.adds) >= 1);
    }

    #[tokio::test]
    async fn invented_visitors_cannot_grow_an_instances_memory_or_erase_the_tenants_count() {
        let limits = limits(MAX_KEYS as u32 * 2, 1000, Arc::new(MemoryAllowances::default()));
        for i in 0..MAX_KEYS + 50 {
            let _ = limits.admit(from(&format!("v{i}")), 1, at(0)).await;
        }
        let seen = lock(&limits.seen);
        assert!(seen.len() <= MAX_KEYS, "{} keys", seen.len());
        let tenant = seen.get(&Key { tenant: DEMO.clone(), what: "messages#webchat".into() });
        let tenant = tenant.expect("the tenant's count is kept");
        assert_eq!(tenant.heard + tenant.pending, MAX_KEYS as u64 + 50);
    }
}
