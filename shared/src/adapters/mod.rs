//! Adapters behind the ports: `memory` is the embedded default (local runs and tests); `aws`
//! (feature `aws`) is production: DynamoDB, SQS, SSM Parameter Store, Bedrock.
#[cfg(feature = "aws")]
pub mod aws;
pub mod memory;

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, recovering the data if a panicking thread poisoned it: every critical section
/// in the adapters leaves its data consistent, so the data is still good.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
