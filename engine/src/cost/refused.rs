//! What no tenant is billed for: requests refused before their caller was verified (a bad
//! signature, an unknown tenant, a flood over a limit) and the public static routes anyone may
//! call. An outsider sends those at will, so charging them to the tenant named in the path would
//! let anyone spend its budget (and switch its hosted model off). They are priced like any
//! request and counted in the deployment's own ledger partition ([`TenantId::deployment`]) and
//! in a `RefusedRequests` metric, never in a tenant's ledger or budget.
//!
//! A flood is what this counts, so it must not write once per request: each instance adds up
//! what it refused and writes its sums at most once per `flush_every` (one DynamoDB update, not
//! one per request). What an instance holds when Lambda reclaims it is lost from the ledger's
//! aggregate (at most one interval's worth); the metric line of each request is exact.

use super::{Attribution, CostRecord, Function, Outcome};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use switchboard_core::domain::TenantId;

/// Why a request is the deployment's, not a tenant's: the counter family it adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unbilled {
    /// Refused with this status (4xx, or 5xx before anything was accepted).
    Refused(u16),
    /// A public static route (the widget script, a CORS preflight): served, but proving nothing
    /// about who asked.
    Public,
}

/// One refused or public request, as the aggregate counts it.
#[derive(Debug, Clone)]
pub struct UnbilledRequest {
    /// The request id (logs and the metric line carry it).
    pub request_id: String,
    /// The function that served it.
    pub function: Function,
    /// The route's kind (`twilio`, `webchat`, `widget.js`…): a bounded label.
    pub route: String,
    /// The tenant the path named, if it exists (a property of the metric, never billed).
    pub tenant: Option<TenantId>,
    /// Why it is unbilled.
    pub why: Unbilled,
    /// When.
    pub at: DateTime<Utc>,
}

/// Sums waiting to be written, per day.
#[derive(Debug, Default)]
pub(super) struct Pending {
    days: BTreeMap<NaiveDate, BTreeMap<String, i64>>,
    last_flush: Option<Instant>,
}

impl Pending {
    /// Adds one request's counters; returns the sums to write now, if the interval has passed.
    pub(super) fn add(
        &mut self,
        record: &CostRecord,
        request: &UnbilledRequest,
        flush_every: Duration,
    ) -> Option<BTreeMap<NaiveDate, BTreeMap<String, i64>>> {
        let day = self.days.entry(record.day()).or_default();
        let mut counters = record.contributions();
        counters.insert("requests".into(), 1);
        let kind = match request.why {
            Unbilled::Refused(status) => format!("status.{status}"),
            Unbilled::Public => "public".into(),
        };
        counters.insert(kind, 1);
        counters.insert(format!("route.{}", request.route), 1);
        for (name, n) in counters {
            *day.entry(name).or_insert(0) += n;
        }
        let due = self.last_flush.is_none_or(|at| at.elapsed() >= flush_every);
        due.then(|| {
            self.last_flush = Some(Instant::now());
            std::mem::take(&mut self.days)
        })
    }

    /// Puts sums that could not be written back, to be tried with the next flush.
    pub(super) fn restore(&mut self, day: NaiveDate, counters: BTreeMap<String, i64>) {
        let into = self.days.entry(day).or_default();
        for (name, n) in counters {
            *into.entry(name).or_insert(0) += n;
        }
    }
}

/// The attribution of an unbilled request: the deployment's partition.
pub(super) fn attribution(request: &UnbilledRequest) -> Attribution {
    Attribution {
        request_id: request.request_id.clone(),
        function: request.function,
        item: "-".into(),
        tenant: TenantId::deployment(),
        channel: None,
        conversation: None,
        at: request.at,
    }
}

/// The outcome an unbilled request is recorded with.
pub(super) fn outcome(request: &UnbilledRequest) -> Outcome {
    let decision = match request.why {
        Unbilled::Refused(status) => format!("http_{status}"),
        Unbilled::Public => "public".into(),
    };
    Outcome { decision: Some(decision), ..Outcome::default() }
}
