//! The cost ledger's types: what one request cost in one function ([`CostRecord`]), a day's
//! totals, the month they fall in. Plain data, below the ports that store them; pricing and
//! reporting are `cost`'s.

use crate::domain::{Channel, ConversationId, Language, TenantId};
use crate::meter::Metered;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a request cost, per component, in nano-dollars (10⁻⁹ USD).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Components {
    /// Lambda duration and invocations.
    pub lambda: u64,
    /// API Gateway requests.
    pub api_gateway: u64,
    /// DynamoDB reads and writes.
    pub dynamodb: u64,
    /// SQS requests.
    pub sqs: u64,
    /// Hosted model tokens.
    pub model: u64,
    /// CloudWatch Logs ingestion.
    pub logs: u64,
    /// SSM calls.
    pub ssm: u64,
    /// What the channel providers bill (SMS segments, WhatsApp, e-mail): not AWS.
    pub channels: u64,
}

impl Components {
    /// Every component's name and amount, in report order.
    pub fn named(&self) -> [(&'static str, u64); 8] {
        [
            ("lambda", self.lambda),
            ("api_gateway", self.api_gateway),
            ("dynamodb", self.dynamodb),
            ("sqs", self.sqs),
            ("model", self.model),
            ("logs", self.logs),
            ("ssm", self.ssm),
            ("channels", self.channels),
        ]
    }

    /// Names of the components, in report order.
    pub const NAMES: [&'static str; 8] =
        ["lambda", "api_gateway", "dynamodb", "sqs", "model", "logs", "ssm", "channels"];

    /// The sum.
    pub fn total(&self) -> u64 {
        self.named().iter().map(|(_, n)| n).sum()
    }

    /// AWS's part (everything but the channel providers).
    pub fn aws(&self) -> u64 {
        self.total() - self.channels
    }

    /// The component called `name`, for adding up stored totals.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut u64> {
        Some(match name {
            "lambda" => &mut self.lambda,
            "api_gateway" => &mut self.api_gateway,
            "dynamodb" => &mut self.dynamodb,
            "sqs" => &mut self.sqs,
            "model" => &mut self.model,
            "logs" => &mut self.logs,
            "ssm" => &mut self.ssm,
            "channels" => &mut self.channels,
            _ => return None,
        })
    }
}

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
    /// The customer's rating of the bot's answer, when this message was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<crate::domain::Rating>,
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
    /// Hosted models the table has no price for: their calls are in `units`, their cost in no
    /// component (unknown, never guessed); reports show them apart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
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
        for model in &self.unpriced {
            add(format!("unpriced.{model}"), self.units.models.get(model).map_or(0, |m| u64::from(m.calls)));
        }
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

/// What a tenant's record moves in its line of the deployment's month, from the `delta` it moved
/// its own day by: its total, messages, components, channels and unpriced model calls. One small
/// item per tenant and month (never one item every tenant writes to): the deployment-wide budget
/// and the report across tenants read the month's lines in one query.
pub fn tenant_line(delta: &BTreeMap<String, i64>) -> BTreeMap<String, i64> {
    delta
        .iter()
        .filter(|(name, _)| {
            *name == "total"
                || *name == "messages"
                || ["c.", "ch.", "unpriced."].iter().any(|prefix| name.starts_with(prefix))
        })
        .map(|(name, n)| (name.clone(), *n))
        .collect()
}

/// A tenant's line of a month (see [`tenant_line`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantLine {
    /// The tenant.
    pub tenant: Option<TenantId>,
    /// Its counters.
    pub counters: BTreeMap<String, i64>,
}

impl TenantLine {
    /// A counter (0 when absent).
    pub fn get(&self, name: &str) -> i64 {
        self.counters.get(name).copied().unwrap_or(0)
    }
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
            unpriced: Vec::new(),
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
        let line = tenant_line(&d);
        assert_eq!((line["total"], line["c.lambda"]), (200, 200));
        assert!(!line.contains_key("i.shipping"), "intents stay in the tenant's partition");
        assert_eq!(tenant_line(&BTreeMap::new()), BTreeMap::new());
    }
}
