//! The per-request meter: adapters report what each call consumed (DynamoDB capacity, SQS and
//! SSM requests, model tokens) into the meter of the request being handled, without every port
//! signature carrying usage. Outside a [`measure`] scope, reports are dropped.

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::future::Future;

/// What one request consumed from paid services.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metered {
    /// DynamoDB calls.
    pub dynamodb_calls: u32,
    /// DynamoDB read capacity, in thousandths of a unit (capacity comes in halves).
    pub dynamodb_read_milli_units: u64,
    /// DynamoDB write capacity, in thousandths of a unit.
    pub dynamodb_write_milli_units: u64,
    /// SQS API requests.
    pub sqs_requests: u32,
    /// SSM API requests (cache misses).
    pub ssm_requests: u32,
    /// Hosted model calls.
    pub model_calls: u32,
    /// Hosted model input tokens.
    pub model_input_tokens: u32,
    /// Hosted model output tokens.
    pub model_output_tokens: u32,
}

tokio::task_local! {
    static METER: RefCell<Metered>;
}

/// Runs `work` with a fresh meter and returns what it consumed.
pub async fn measure<F: Future>(work: F) -> (F::Output, Metered) {
    METER
        .scope(RefCell::new(Metered::default()), async move {
            let out = work.await;
            (out, METER.with(|m| *m.borrow()))
        })
        .await
}

/// Adds to the current request's meter (no-op outside [`measure`]).
pub fn report(update: impl FnOnce(&mut Metered)) {
    let _ = METER.try_with(|m| update(&mut m.borrow_mut()));
}

/// Capacity units as thousandths, rounded up (DynamoDB reports halves and whole units).
pub fn milli_units(units: Option<f64>) -> u64 {
    (units.unwrap_or(0.0) * 1000.0).ceil().max(0.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_add_up_inside_a_scope_and_vanish_outside() {
        report(|m| m.sqs_requests += 5);
        let ((), metered) = measure(async {
            report(|m| m.sqs_requests += 1);
            report(|m| m.dynamodb_read_milli_units += milli_units(Some(0.5)));
        })
        .await;
        assert_eq!(metered.sqs_requests, 1);
        assert_eq!(metered.dynamodb_read_milli_units, 500);
    }
}
