use super::{capacity, lock};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use switchboard_core::ports::{Claim, IdempotencyKey, IdempotencyStore, PortError};

#[derive(Debug, Clone)]
enum Record {
    InProgress { expires: DateTime<Utc> },
    Completed { response: serde_json::Value, expires: DateTime<Utc> },
}

/// Idempotency records in a map, with the same lock-expiry semantics as the DynamoDB adapter.
#[derive(Debug, Default)]
pub struct MemoryIdempotency {
    records: Mutex<HashMap<IdempotencyKey, Record>>,
}

impl MemoryIdempotency {
    /// How many records exist (for tests that check nothing was stored).
    pub fn len(&self) -> usize {
        lock(&self.records).len()
    }

    /// True when there are no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Record {
    /// Its size as the DynamoDB adapter stores it under `key`.
    fn bytes(&self, key: &IdempotencyKey) -> u64 {
        match self {
            Record::InProgress { expires } => {
                capacity::claim(&key.0, expires.timestamp_millis(), expires.timestamp() + 3600)
            }
            Record::Completed { response, expires } => capacity::completed(&key.0, response, expires.timestamp()),
        }
    }
}

fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotency {
    async fn claim(&self, key: &IdempotencyKey, now: DateTime<Utc>, lock_for: Duration) -> Result<Claim, PortError> {
        let mut records = lock(&self.records);
        let claim = match records.get(key) {
            Some(Record::Completed { response, expires }) if *expires > now => Claim::Completed(response.clone()),
            Some(Record::InProgress { expires }) if *expires > now => Claim::InProgress,
            _ => Claim::Acquired,
        };
        if claim == Claim::Acquired {
            let record = Record::InProgress { expires: after(now, lock_for) };
            let before = records.get(key).map_or(0, |r| r.bytes(key));
            capacity::write(before.max(record.bytes(key)));
            records.insert(key.clone(), record);
        } else {
            capacity::refused_write();
        }
        Ok(claim)
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        response: &serde_json::Value,
        now: DateTime<Utc>,
        keep_for: Duration,
    ) -> Result<(), PortError> {
        let record = Record::Completed { response: response.clone(), expires: after(now, keep_for) };
        let mut records = lock(&self.records);
        let before = records.get(key).map_or(0, |r| r.bytes(key));
        capacity::write(before.max(record.bytes(key)));
        records.insert(key.clone(), record);
        Ok(())
    }

    async fn release(&self, key: &IdempotencyKey) -> Result<(), PortError> {
        let mut records = lock(&self.records);
        match records.get(key) {
            Some(r @ Record::InProgress { .. }) => {
                capacity::write(r.bytes(key));
                records.remove(key);
            }
            _ => capacity::refused_write(),
        }
        Ok(())
    }
}
