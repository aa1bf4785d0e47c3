//! What every request costs. Adapters meter billing units as they work ([`crate::meter`]); at
//! the end of each request [`Costs::record`] prices them at the [`PriceTable`] and writes one
//! [`CostRecord`] to the [`CostLedger`](crate::ports::CostLedger), which keeps the month's
//! totals per day, component, channel and intent. [`budget`] turns the totals into the
//! tenant's budget state; [`report`] into what a cost owner reads.

pub mod budget;
pub mod html;
pub mod lambda;
mod prices;
mod pricing;
pub mod refused;
pub mod report;
pub mod units;

pub use prices::{PriceError, PriceTable, TableId, nanos, usd};

/// The built-in price table's YAML.
pub fn prices_default() -> &'static str {
    prices::DEFAULT_TABLE
}
pub use pricing::Components;

use crate::domain::{Channel, ConversationId, Language, TenantId};
use crate::meter::Metered;
use crate::ports::CostLedger;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A calendar month, `YYYY-MM` (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// The month of `at`.
    pub fn of(at: DateTime<Utc>) -> Self {
        Self { year: at.year(), month: at.month() }
    }

    /// Parses `YYYY-MM`; anything else is refused.
    pub fn parse(text: &str) -> Option<Self> {
        let (y, m) = text.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !y.chars().chain(m.chars()).all(|c| c.is_ascii_digit()) {
            return None;
        }
        let month = Self { year: y.parse().ok()?, month: m.parse().ok()? };
        month.first_day().map(|_| month)
    }

    /// The first day.
    pub fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }

    /// How many days the month has.
    pub fn days(self) -> u32 {
        let next = if self.month == 12 { (self.year + 1, 1) } else { (self.year, self.month + 1) };
        match (self.first_day(), NaiveDate::from_ymd_opt(next.0, next.1, 1)) {
            (Some(a), Some(b)) => u32::try_from((b - a).num_days()).unwrap_or(31),
            _ => 31,
        }
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Which function did the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// Webhooks and web chat posts (API Gateway → `inbound`).
    Inbound,
    /// Web chat long polls (API Gateway → `poll`, the same binary).
    Poll,
    /// Answers, agent events, handoff failures (SQS FIFO → `responder`).
    Responder,
    /// Tickets (SQS → `escalation`).
    Escalation,
}

impl Function {
    /// The name in keys and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Function::Inbound => "inbound",
            Function::Poll => "poll",
            Function::Responder => "responder",
            Function::Escalation => "escalation",
        }
    }
}

/// What the work was, for the report's counts (messages, answers, resolutions, FAQ gaps).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Outcome {
    /// A customer message the responder handled.
    pub message: bool,
    /// The bot answered it.
    pub answered: bool,
    /// …without asking the hosted model anything.
    pub answered_locally: bool,
    /// It went to a person.
    pub escalated: bool,
    /// It went to a person because no answer existed (the FAQ entry worth writing next).
    pub no_answer: bool,
    /// The decision's name (`answer`, `escalate`…) or the kind of work.
    pub decision: Option<String>,
    /// The intent, if classified.
    pub intent: Option<String>,
    /// The language of the reply.
    pub language: Option<Language>,
}

/// One request's cost in one function: the ledger's unit. Keyed by (request, function, item), so
/// a redelivery replaces its record instead of adding one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostRecord {
    /// The request (API Gateway's id, carried by the queued work).
    pub request_id: String,
    /// The function.
    pub function: Function,
    /// The piece of work inside the request (a message id; `-` for the request itself).
    pub item: String,
    /// The business billed.
    pub tenant: TenantId,
    /// The channel, when known.
    pub channel: Option<Channel>,
    /// The conversation, when there is one.
    pub conversation: Option<ConversationId>,
    /// When the request first arrived (fixed across redeliveries: it places the record).
    pub at: DateTime<Utc>,
    /// What the work was.
    pub outcome: Outcome,
    /// The units measured.
    pub units: Metered,
    /// What they cost.
    pub components: Components,
    /// The sum of `components`.
    pub cost_nanos: u64,
    /// The price table used.
    pub price_table: String,
}

impl CostRecord {
    /// The record's key inside its month: time first, so the newest come first in reverse.
    pub fn key(&self) -> String {
        format!(
            "{}#{}#{}#{}",
            self.at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
            self.request_id,
            self.function.as_str(),
            self.item
        )
    }

    /// The month it counts in.
    pub fn month(&self) -> Month {
        Month::of(self.at)
    }

    /// The day it counts in.
    pub fn day(&self) -> NaiveDate {
        self.at.date_naive()
    }

    /// What the record adds to its day's totals, by counter name: `total`, `c.{component}`,
    /// `ch.{channel}`, `i.{intent}`, `f.{function}`, counts of messages, answers and model calls,
    /// and `gap.{intent}.{language}` for messages that went to a person for lack of an answer.
    /// A replaced record's contributions are subtracted, so the totals are always the sum of the
    /// records.
    pub fn contributions(&self) -> BTreeMap<String, i64> {
        let mut c = BTreeMap::new();
        let mut add = |name: String, n: u64| {
            if n > 0 {
                *c.entry(name).or_insert(0) += i64::try_from(n).unwrap_or(i64::MAX);
            }
        };
        add("total".into(), self.cost_nanos);
        for (name, n) in self.components.named() {
            add(format!("c.{name}"), n);
        }
        if let Some(channel) = self.channel {
            add(format!("ch.{channel}"), self.cost_nanos);
        }
        add(format!("f.{}", self.function.as_str()), self.cost_nanos);
        let o = &self.outcome;
        if o.message {
            let intent = o.intent.as_deref().unwrap_or("none");
            add(format!("i.{intent}"), self.cost_nanos);
            add("messages".into(), 1);
            add(format!("im.{intent}"), 1);
            add("answered".into(), u64::from(o.answered));
            add("answered_locally".into(), u64::from(o.answered_locally));
            add("escalated".into(), u64::from(o.escalated));
            if o.no_answer {
                let language = o.language.map_or("und", |l| l.code());
                add(format!("gap.{intent}.{language}"), 1);
            }
        }
        add("model_calls".into(), u64::from(self.units.model_calls()));
        let (input, output) = self.units.model_tokens();
        add("model_tokens".into(), input + output);
        c
    }
}

/// One day's totals: counters by name (see [`CostRecord::contributions`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTotals {
    /// The day (UTC).
    pub day: Option<NaiveDate>,
    /// The counters.
    pub counters: BTreeMap<String, i64>,
}

impl DayTotals {
    /// A counter (0 when absent).
    pub fn get(&self, name: &str) -> i64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    /// Counters starting with `prefix.`, by the rest of their name.
    pub fn group(&self, prefix: &str) -> BTreeMap<String, i64> {
        let prefix = format!("{prefix}.");
        self.counters.iter().filter_map(|(k, v)| k.strip_prefix(&prefix).map(|rest| (rest.to_string(), *v))).collect()
    }
}

/// The differences that move the totals from `old` to `new` (zero differences left out).
pub fn delta(old: Option<&CostRecord>, new: &CostRecord) -> BTreeMap<String, i64> {
    let mut d = new.contributions();
    if let Some(old) = old {
        for (name, n) in old.contributions() {
            *d.entry(name).or_insert(0) -= n;
        }
    }
    d.retain(|_, n| *n != 0);
    d
}

/// Where a request's work is attributed, known before it is measured.
#[derive(Debug, Clone)]
pub struct Attribution {
    /// The request.
    pub request_id: String,
    /// The function.
    pub function: Function,
    /// The piece of work (`-` for the request itself).
    pub item: String,
    /// The business.
    pub tenant: TenantId,
    /// The channel.
    pub channel: Option<Channel>,
    /// The conversation.
    pub conversation: Option<ConversationId>,
    /// When the request first arrived.
    pub at: DateTime<Utc>,
}

/// Prices measured units and writes them to the ledger: the one place every function ends a
/// request through.
pub struct Costs {
    /// The ledger.
    pub ledger: Arc<dyn CostLedger>,
    /// The prices.
    pub prices: Arc<PriceTable>,
    /// Refused and public requests not yet written to the deployment's aggregate.
    refused: std::sync::Mutex<refused::Pending>,
    /// How often an instance writes that aggregate, in milliseconds.
    refused_flush_ms: std::sync::atomic::AtomicU64,
}

/// How often an instance writes its sums of refused requests by default.
pub const REFUSED_FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl Costs {
    /// Costs written to `ledger` at `prices`.
    pub fn new(ledger: Arc<dyn CostLedger>, prices: Arc<PriceTable>) -> Self {
        Self {
            ledger,
            prices,
            refused: Default::default(),
            refused_flush_ms: (REFUSED_FLUSH_EVERY.as_millis() as u64).into(),
        }
    }

    /// Writes the refused requests' sums at most once per `every` (zero: at each one; tests and
    /// the in-memory ledger).
    pub fn set_refused_flush_every(&self, every: std::time::Duration) {
        let ms = u64::try_from(every.as_millis()).unwrap_or(u64::MAX);
        self.refused_flush_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Prices a request no tenant is billed for ([`refused`]), emits its metric line and adds
    /// it to the deployment's aggregate, written when the interval has passed.
    pub async fn unbilled(&self, request: refused::UnbilledRequest, units: Metered) {
        let record = self.priced(refused::attribution(&request), refused::outcome(&request), units);
        let status = match request.why {
            refused::Unbilled::Refused(status) => status.to_string(),
            refused::Unbilled::Public => "public".into(),
        };
        let tenant = request.tenant.as_ref().map_or("-", |t| t.as_str());
        println!("{}", crate::metrics::refused_line(&record, &request.route, &status, tenant));
        let every = std::time::Duration::from_millis(self.refused_flush_ms.load(std::sync::atomic::Ordering::Relaxed));
        let due = crate::sync::lock(&self.refused).add(&record, &request, every);
        for (day, counters) in due.into_iter().flatten() {
            let month = Month::of(day.and_hms_opt(0, 0, 0).map_or(record.at, |d| d.and_utc()));
            if let Err(error) = self.ledger.add_to_day(&TenantId::deployment(), month, day, &counters).await {
                tracing::error!(%error, "could not write the refused requests' sums; kept for the next flush");
                crate::sync::lock(&self.refused).restore(day, counters);
            }
        }
    }

    /// Prices `units` for `who`, writes the record, emits the cost metrics; returns the record.
    /// A ledger failure is logged, never raised: the customer's answer matters more than its
    /// bookkeeping, and redoing the work to record it would cost twice.
    pub async fn record(&self, who: Attribution, outcome: Outcome, units: Metered) -> CostRecord {
        let mut record = self.priced(who, outcome, units);
        // The ledger's own writes are part of the request: the record, by its stored size, and
        // its day's totals (one unit: a day item stays under 1 KB).
        record.units.dynamodb_write_milli_units += units::write_milli_units(stored_bytes(&record)) + 1000;
        // So is its metrics line: CloudWatch ingests it like any log line.
        let metrics = crate::metrics::cost_line(&record);
        record.units.log_bytes += metrics.len() as u64 + 1;
        record.components = self.prices.price(&record.units);
        record.cost_nanos = record.components.total();
        println!("{}", crate::metrics::cost_line(&record));
        if let Err(error) = self.ledger.record(&record).await {
            tracing::error!(%error, "could not write the cost record");
        }
        record
    }

    /// `units` priced for `who`.
    fn priced(&self, who: Attribution, outcome: Outcome, units: Metered) -> CostRecord {
        for id in units.models.keys().filter(|id| !self.prices.prices_model(id)) {
            tracing::warn!(model = %id, "no price for this model id; priced at the table's default model lines");
        }
        let components = self.prices.price(&units);
        CostRecord {
            request_id: who.request_id,
            function: who.function,
            item: who.item,
            tenant: who.tenant,
            channel: who.channel,
            conversation: who.conversation,
            at: who.at,
            outcome,
            units,
            cost_nanos: components.total(),
            components,
            price_table: self.prices.id.id.clone(),
        }
    }
}

/// How long cost records are kept (the DynamoDB ledger's TTL): a year and a month's margin.
pub const RECORD_RETENTION_DAYS: i64 = 400;

/// A record's size as the DynamoDB ledger stores it (key, JSON, TTL).
fn stored_bytes(record: &CostRecord) -> u64 {
    let pk = format!("T#{}#COST#{}", record.tenant, record.month());
    let expires = (record.at + chrono::Duration::days(RECORD_RETENTION_DAYS)).timestamp();
    units::ItemSize::keyed(&pk, &format!("R#{}", record.key()))
        .s("data", &serde_json::to_string(record).unwrap_or_default())
        .n("ttl", expires)
        .bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cost: u64, intent: &str, answered: bool) -> CostRecord {
        CostRecord {
            request_id: "r".into(),
            function: Function::Responder,
            item: "m".into(),
            tenant: TenantId::new("demo").unwrap(),
            channel: Some(Channel::Telegram),
            conversation: None,
            at: "2026-11-30T10:00:00Z".parse().unwrap(),
            outcome: Outcome { message: true, answered, intent: Some(intent.into()), ..Outcome::default() },
            units: Metered::default(),
            components: Components { lambda: cost, ..Components::default() },
            cost_nanos: cost,
            price_table: "t".into(),
        }
    }

    #[test]
    fn months_parse_strictly() {
        assert_eq!(Month::parse("2026-02").map(|m| m.days()), Some(28));
        assert_eq!(Month::parse("2024-02").map(|m| m.days()), Some(29));
        assert_eq!(Month::parse("2026-12").map(|m| m.to_string()), Some("2026-12".into()));
        for bad in ["2026-13", "2026-1", "26-01", "2026/01", "", "2026-00", "+026-01"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_replaced_record_moves_the_totals_by_the_difference_only() {
        let first = record(1000, "shipping", false);
        let again = record(1200, "returns", true);
        let d = delta(Some(&first), &again);
        assert_eq!(d["total"], 200);
        assert_eq!(d["c.lambda"], 200);
        assert_eq!((d["i.shipping"], d["i.returns"]), (-1000, 1200));
        assert_eq!(d["answered"], 1);
        assert!(!d.contains_key("messages"), "still one message");
        assert_eq!(delta(Some(&first), &first), BTreeMap::new());
    }
}
