//! The per-request meter: adapters report what each call consumed (DynamoDB capacity, SQS
//! requests, model tokens, log bytes…) into the meter of the request being handled, without
//! every port signature carrying usage. Outside a [`measure`] scope, reports are dropped.
//!
//! The units are AWS's billing units, counted the way AWS counts them ([`switchboard_engine::cost::units`]
//! has the rounding rules), so pricing is a multiplication and the memory adapters can report
//! what the AWS adapters would.

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;

/// What one request consumed, in billing units.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metered {
    /// The Lambda invocation, when the work ran in one (set by the function's entry point).
    pub lambda: Option<LambdaUnits>,
    /// API Gateway requests, counted in 512 KB increments.
    pub api_requests: u32,
    /// DynamoDB calls.
    pub dynamodb_calls: u32,
    /// DynamoDB read capacity, in thousandths of a unit (capacity comes in halves).
    pub dynamodb_read_milli_units: u64,
    /// DynamoDB write capacity, in thousandths of a unit.
    pub dynamodb_write_milli_units: u64,
    /// SQS requests to standard queues, each 64 KB chunk of a payload counted as one.
    pub sqs_standard_requests: u32,
    /// SQS requests to FIFO queues, counted the same way.
    pub sqs_fifo_requests: u32,
    /// SSM API requests (cache misses).
    pub ssm_requests: u32,
    /// Hosted model use per model id, failed attempts included.
    pub models: BTreeMap<String, ModelUnits>,
    /// Bytes of log events written.
    pub log_bytes: u64,
    /// Outbound SMS segments per destination calling code (`1`, `44`…; `default` if unknown).
    pub sms_segments: BTreeMap<String, u32>,
    /// WhatsApp messages sent inside the customer service window.
    pub whatsapp_messages: u32,
    /// WhatsApp messages sent through Twilio (Twilio adds a fee per message).
    pub twilio_whatsapp_messages: u32,
    /// E-mails sent.
    pub emails_sent: u32,
    /// Live lookups made to the business's own system (their time is in the function's billed
    /// duration; the business's endpoint is theirs to pay for).
    pub lookups: u32,
    /// Of those, the ones that failed or ran past their timeout (the stored data answered).
    pub lookup_failures: u32,
    /// Milliseconds spent waiting for lookups.
    pub lookup_ms: u64,
    /// The channel the work turned out to be for (a Twilio webhook is SMS or WhatsApp): a label
    /// for the record, not a unit.
    #[serde(skip)]
    pub channel: Option<crate::domain::Channel>,
}

/// One Lambda invocation's billed use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LambdaUnits {
    /// Configured memory.
    pub memory_mb: u32,
    /// Billed duration: handler time rounded up to the millisecond, plus init on a cold start.
    pub billed_ms: u64,
    /// Of which init (cold start; billed for custom runtimes).
    pub init_ms: u64,
    /// Arm (Graviton) or x86.
    pub arm64: bool,
    /// Invocations billed with this work (0 when another record of the batch carries the fee).
    pub requests: u32,
}

/// One model's use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelUnits {
    /// Calls made, failed ones included.
    pub calls: u32,
    /// Of which failed (timeouts, refusals, unreadable answers).
    pub failed: u32,
    /// Input tokens (for a failed call whose request was sent: estimated from its length).
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
}

impl Metered {
    /// Hosted model calls over all models.
    pub fn model_calls(&self) -> u32 {
        self.models.values().map(|m| m.calls).sum()
    }

    /// Input and output tokens over all models.
    pub fn model_tokens(&self) -> (u64, u64) {
        self.models.values().fold((0, 0), |(i, o), m| (i + m.input_tokens, o + m.output_tokens))
    }
}

tokio::task_local! {
    static METER: RefCell<Metered>;
}

/// Runs `work` with a fresh meter and returns what it consumed.
pub async fn measure<F: Future>(work: F) -> (F::Output, Metered) {
    METER
        .scope(RefCell::new(Metered::default()), async move {
            let out = work.await;
            (out, METER.with(|m| m.borrow().clone()))
        })
        .await
}

/// Adds to the current request's meter (no-op outside [`measure`]).
pub fn report(update: impl FnOnce(&mut Metered)) {
    let _ = METER.try_with(|m| {
        // A log line written while the meter is being updated (never done, but cheap to guard)
        // must not panic on a second borrow.
        if let Ok(mut m) = m.try_borrow_mut() {
            update(&mut m);
        }
    });
}

/// Capacity units as thousandths, rounded up (DynamoDB reports halves and whole units).
pub fn milli_units(units: Option<f64>) -> u64 {
    (units.unwrap_or(0.0) * 1000.0).ceil().max(0.0) as u64
}

/// Reports one model call to `model_id`.
pub fn model_call(model_id: &str, input_tokens: u64, output_tokens: u64, failed: bool) {
    report(|m| {
        let units = m.models.entry(model_id.to_string()).or_default();
        units.calls += 1;
        units.failed += u32::from(failed);
        units.input_tokens += input_tokens;
        units.output_tokens += output_tokens;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_add_up_inside_a_scope_and_vanish_outside() {
        report(|m| m.sqs_fifo_requests += 5);
        let ((), metered) = measure(async {
            report(|m| m.sqs_fifo_requests += 1);
            report(|m| m.dynamodb_read_milli_units += milli_units(Some(0.5)));
            model_call("m", 10, 2, false);
            model_call("m", 7, 0, true);
        })
        .await;
        assert_eq!(metered.sqs_fifo_requests, 1);
        assert_eq!(metered.dynamodb_read_milli_units, 500);
        assert_eq!(metered.models["m"], ModelUnits { calls: 2, failed: 1, input_tokens: 17, output_tokens: 2 });
    }
}
