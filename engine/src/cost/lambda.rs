//! Lambda's billed duration, measured where the work runs. A sandbox runs one invocation at a
//! time, so process-wide counters are exact there; `switchboard serve` uses the same counters
//! with the template's memory size, so local figures are what Lambda would bill.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use switchboard_core::meter::{LambdaUnits, report};

/// The memory every function is deployed with (infra/template.yaml `Globals`; a test checks).
pub const TEMPLATE_MEMORY_MB: u32 = 256;

static STARTED: OnceLock<Instant> = OnceLock::new();
static INIT_MS: AtomicU64 = AtomicU64::new(u64::MAX);
static UNBILLED_INVOCATIONS: AtomicU32 = AtomicU32::new(0);

/// Called first thing in `main`: the cold start's init is measured from here.
pub fn process_started() {
    let _ = STARTED.set(Instant::now());
}

/// Called as each invocation begins (an HTTP request, an SQS batch): its request fee and, on a
/// cold start, its init time go to the first piece of work measured after it.
pub fn invocation_started() {
    if let Some(started) = STARTED.get() {
        let _ = INIT_MS.compare_exchange(u64::MAX, ceil_ms(started.elapsed()), Ordering::SeqCst, Ordering::SeqCst);
    }
    UNBILLED_INVOCATIONS.fetch_add(1, Ordering::SeqCst);
}

fn ceil_ms(d: Duration) -> u64 {
    u64::try_from(d.as_micros().div_ceil(1000)).unwrap_or(u64::MAX)
}

/// The memory this function runs with (Lambda's own variable, else the template's) and whether
/// it is Arm (a Lambda build for aarch64, or anything outside Lambda: the template deploys Arm).
/// Read once: the environment does not change under a running sandbox.
fn runtime() -> (u32, bool) {
    static RUNTIME: OnceLock<(u32, bool)> = OnceLock::new();
    *RUNTIME.get_or_init(|| {
        let memory = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok().and_then(|m| m.parse().ok());
        let in_lambda = std::env::var("AWS_LAMBDA_FUNCTION_NAME").is_ok();
        (memory.unwrap_or(TEMPLATE_MEMORY_MB), cfg!(target_arch = "aarch64") || !in_lambda)
    })
}

/// Runs `work` under a fresh meter and bills its handler time into it: how every function
/// measures a piece of work before [`crate::cost::Costs::record`] prices it. The work is boxed
/// at once: a whole response is a large future, and moved through one more layer by value it
/// overflowed a debug build's stack.
pub fn measured<F: std::future::Future>(
    work: F,
) -> impl std::future::Future<Output = (F::Output, switchboard_core::meter::Metered)> {
    let work = Box::pin(work);
    let started = Instant::now();
    switchboard_core::meter::measure(async move {
        let out = work.await;
        bill(started.elapsed());
        out
    })
}

/// Reports `elapsed` of handler time, rounded up to the millisecond, into the current meter,
/// with the invocation's request fee and init if they are not billed yet.
pub fn bill(elapsed: Duration) {
    let invocation =
        UNBILLED_INVOCATIONS.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    // Init is billed once per sandbox, with its first invocation (MAX: never measured).
    let init_ms = match invocation.then(|| INIT_MS.swap(0, Ordering::SeqCst)) {
        Some(u64::MAX) | None => 0,
        Some(ms) => ms,
    };
    let (memory_mb, arm64) = runtime();
    report(|m| {
        let l = m.lambda.get_or_insert(LambdaUnits { memory_mb, arm64, ..LambdaUnits::default() });
        l.billed_ms += ceil_ms(elapsed) + init_ms;
        l.init_ms += init_ms;
        l.requests += u32::from(invocation);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_time_is_rounded_up_to_the_millisecond() {
        assert_eq!(ceil_ms(Duration::from_micros(1)), 1);
        assert_eq!(ceil_ms(Duration::from_micros(1000)), 1);
        assert_eq!(ceil_ms(Duration::from_micros(1001)), 2);
        assert_eq!(ceil_ms(Duration::ZERO), 0);
    }

    #[test]
    fn the_memory_size_matches_the_template() {
        let template: serde_norway::Value =
            serde_norway::from_str(include_str!("../../../infra/template.yaml")).expect("the template is YAML");
        let memory = template["Globals"]["Function"]["MemorySize"].as_u64();
        assert_eq!(memory, Some(u64::from(TEMPLATE_MEMORY_MB)));
        assert_eq!(template["Globals"]["Function"]["Architectures"][0].as_str(), Some("arm64"));
    }
}
