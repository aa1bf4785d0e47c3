//! What becomes of work that failed, shared by the Lambda batch runners and the local runner.

use std::time::Duration;
use switchboard_core::ports::PortError;

/// What becomes of work that failed: the one rule the Lambda functions and the local runner
/// share, so the two paths cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// May succeed later: retry (SQS redelivers; the local runner backs off).
    Retry,
    /// The other side asked us to wait this long.
    Delay(Duration),
    /// Can never succeed as it is: park it in the dead-letter queue now, with the reason.
    Park,
}

impl Verdict {
    /// The verdict on a port's failure.
    pub fn of(error: &PortError) -> Self {
        match error {
            PortError::RateLimited { retry_after, .. } => Verdict::Delay(*retry_after),
            PortError::Rejected { .. } | PortError::Corrupt { .. } => Verdict::Park,
            // Misconfigured: kept in the queue (then its DLQ) until the operator fixes it, so
            // nothing is lost; the alarm is on the log line and the DLQ depth.
            _ => Verdict::Retry,
        }
    }

    /// The verdict on a responder failure: a tenant that no longer exists is parked.
    pub fn of_respond(error: &super::RespondError) -> Self {
        match error {
            super::RespondError::UnknownTenant(_) => Verdict::Park,
            super::RespondError::Port(p) => Verdict::of(p),
        }
    }
}
