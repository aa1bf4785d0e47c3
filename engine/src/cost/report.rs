//! What a cost owner reads: the month's spend from the ledger, per component, channel, intent
//! and day, against the budget and beside what the alternatives would have charged. One model,
//! four renderings (JSON, table, CSV, HTML).

use super::budget::{BudgetState, MonthSpend, forecast};
use super::{Components, CostRecord, Function, Month, PriceTable, TableId, usd};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use switchboard_core::config::{BudgetConfig, BudgetCounts, SoftLineStops};
use switchboard_core::domain::{ReviewKind, TenantId};
use switchboard_core::ports::{CostLedger, PortError};

/// Records read to count conversations and resolutions: a month of a small business's traffic.
const MAX_RECORDS: usize = 200_000;

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct CostReport {
    /// The business.
    pub tenant: String,
    /// `YYYY-MM`.
    pub month: String,
    /// `USD`.
    pub currency: String,
    /// The prices used.
    pub price_table: TableId,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// Everything, in nano-dollars (= the sum of `by_component`).
    pub total_nanos: u64,
    /// AWS's part (everything but `channels`).
    pub aws_nanos: u64,
    /// Per component.
    pub by_component: BTreeMap<String, u64>,
    /// Per channel.
    pub by_channel: BTreeMap<String, u64>,
    /// Per intent of the customer messages (`none`: not recognised).
    pub by_intent: BTreeMap<String, u64>,
    /// Per function.
    pub by_function: BTreeMap<String, u64>,
    /// Per day, with its components.
    pub by_day: Vec<Day>,
    /// Customer messages handled.
    pub messages: u64,
    /// Of which the bot answered.
    pub answered: u64,
    /// Of which without the hosted model.
    pub answered_locally: u64,
    /// Of which went to a person.
    pub escalated: u64,
    /// Conversations with at least one message this month.
    pub conversations: u64,
    /// Hosted model calls and tokens.
    pub model_calls: u64,
    /// Tokens.
    pub model_tokens: u64,
    /// Hosted model calls the price table has no price for, per model id: in no total (their
    /// cost is unknown), listed so that nobody mistakes the total for complete.
    pub unpriced_model_calls: BTreeMap<String, u64>,
    /// What 1,000 messages cost, all in.
    pub per_1000_messages_usd: f64,
    /// Conversations resolved by the bot: with an answer after which, for 24 hours, the
    /// customer neither went to a person nor asked about the same intent again (docs/costs.md,
    /// "What counts as a resolution"). Counted once per conversation.
    pub automated_resolutions: u64,
    /// Conversations whose latest bot answer is less than 24 hours old and may still resolve:
    /// not counted yet.
    pub resolutions_pending: u64,
    /// The customers' ratings of the bot's answers (👍/👎), overall and per intent rated.
    pub satisfaction: Satisfaction,
    /// Total cost over automated resolutions.
    pub cost_per_resolution_usd: f64,
    /// The budget.
    pub budget: Budget,
    /// What the bot saved at the tenant's cost of a human-handled conversation.
    pub savings: Option<Savings>,
    /// The published prices of the alternatives for the same month's work.
    pub alternatives: Vec<Alternative>,
    /// The questions that most often went to a person for lack of an answer.
    pub faq_gaps: Vec<Gap>,
    /// The newest pilot decisions kept for review (intents in `shadow` or `assist`): what the
    /// customer wrote and what the bot would have said. Filled by [`CostReport::with_reviews`].
    pub pilot_review: Vec<switchboard_core::domain::ReviewItem>,
    /// The questions handed to a person for want of an answer the bot trusted, grouped by what
    /// they ask, most asked first, with examples: the FAQ entries to write next. Filled by
    /// [`CostReport::with_reviews`] from the newest [`UNANSWERED_READ`].
    pub unanswered: Vec<super::questions::QuestionGroup>,
    /// The tenant's share of the stack's fixed monthly lines (metrics, alarms, dashboard), by
    /// its share of the deployment's messages: not in `total_nanos`, which is the ledger's.
    /// Filled by [`CostReport::with_fixed_share`].
    pub fixed_share: Option<FixedShare>,
    /// The most expensive conversations.
    pub top_conversations: Vec<ConversationCost>,
    /// The newest requests.
    pub requests: Vec<Request>,
}

pub use super::alternatives::{Alternative, alternatives};
pub use super::outcomes::Satisfaction;
use super::outcomes::{resolved, satisfaction};

/// A tenant's share of the fixed lines.
#[derive(Debug, Clone, Serialize)]
pub struct FixedShare {
    /// The deployment's fixed lines in the month.
    pub deployment_nanos: u64,
    /// The tenant's messages over the deployment's.
    pub share: f64,
    /// The tenant's part.
    pub nanos: u64,
}

/// One day.
#[derive(Debug, Clone, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Its total.
    pub total_nanos: u64,
    /// Its components.
    pub by_component: BTreeMap<String, u64>,
    /// Messages that day.
    pub messages: u64,
}

/// The budget's state.
#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    /// The limit (0: none).
    pub limit_nanos: u64,
    /// Spent so far.
    pub used_nanos: u64,
    /// The soft line's share.
    pub soft_at: f64,
    /// `ok`, `soft` or `exhausted`.
    pub state: BudgetState,
    /// Spend at month end at the month's pace so far.
    pub forecast_nanos: u64,
    /// Alerts raised this month.
    pub alerts: Vec<Alert>,
    /// What counts toward the limit.
    pub counts: BudgetCounts,
    /// What stops at the soft line.
    pub at_soft_line: SoftLineStops,
    /// The hard cap on paid sends (0: none).
    pub paid_sends_cap_nanos: u64,
    /// The channel providers' fees so far (what the cap is compared with).
    pub channels_nanos: u64,
}

/// An alert raised.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// `soft` or `exhausted`.
    pub threshold: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Savings against people.
#[derive(Debug, Clone, Serialize)]
pub struct Savings {
    /// The tenant's cost of a human-handled conversation.
    pub human_ticket_usd: f64,
    /// Resolutions × that, minus what Switchboard cost.
    pub saved_usd: f64,
}

/// A gap in the FAQ.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    /// The intent (`none`: not recognised).
    pub intent: String,
    /// The language.
    pub language: String,
    /// Messages that went to a person for lack of an answer.
    pub count: u64,
}

/// One conversation's cost.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationCost {
    /// Its id.
    pub conversation: String,
    /// Its cost.
    pub cost_nanos: u64,
    /// Its messages.
    pub messages: u64,
}

/// One request.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    /// The request id.
    pub request_id: String,
    /// The tenant billed.
    pub tenant: String,
    /// The conversation, when there is one.
    pub conversation: Option<String>,
    /// The intent of the customer's message, when it was one.
    pub intent: Option<String>,
    /// The function.
    pub function: Function,
    /// The channel.
    pub channel: Option<String>,
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// Its cost.
    pub cost_nanos: u64,
    /// Its components.
    pub components: Components,
    /// What it was.
    pub decision: Option<String>,
}

/// Builds the report of `tenant` for `month` from the ledger; `budget` (the tenant's budget
/// settings, nothing else of its configuration) gives the limits and the cost of a
/// human-handled conversation; at most `limit` requests.
pub async fn build(
    ledger: &dyn CostLedger,
    prices: &PriceTable,
    tenant: &TenantId,
    budget: Option<&BudgetConfig>,
    month: Month,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<CostReport, PortError> {
    let days = ledger.days(tenant, month).await?;
    let records = ledger.records(tenant, month, MAX_RECORDS).await?;
    let alerts = ledger.alerts(tenant, month).await?;
    let sum = |name: &str| u64::try_from(days.iter().map(|d| d.get(name)).sum::<i64>()).unwrap_or(0);
    let group = |prefix: &str| {
        let mut all = BTreeMap::new();
        for d in &days {
            for (k, v) in d.group(prefix) {
                *all.entry(k).or_insert(0u64) += u64::try_from(v).unwrap_or(0);
            }
        }
        all.retain(|_, v| *v > 0);
        all
    };
    let mut by_component: BTreeMap<String, u64> = Components::NAMES.iter().map(|n| (n.to_string(), 0)).collect();
    by_component.extend(group("c"));
    let spend = MonthSpend::of(&days);
    let total_nanos = spend.total;
    let messages = sum("messages");

    let (conversations, top) = conversations(&records);
    let (resolutions, resolutions_pending) = resolved(&records, now);
    let settings = budget.cloned().unwrap_or_default();
    let limit_nanos = settings.limit_nanos();
    let used_nanos = spend.counted(settings.counts);
    let budget = Budget {
        limit_nanos,
        used_nanos,
        soft_at: settings.soft_at,
        state: BudgetState::of(used_nanos, limit_nanos, settings.soft_at),
        forecast_nanos: forecast(used_nanos, month, now),
        alerts: alerts.into_iter().map(|(threshold, at)| Alert { threshold, at }).collect(),
        counts: settings.counts,
        at_soft_line: settings.at_soft_line,
        paid_sends_cap_nanos: settings.paid_sends_cap_nanos(),
        channels_nanos: spend.channels,
    };
    let total_usd = usd(total_nanos);
    let savings = Some(settings.human_ticket_usd)
        .filter(|p| *p > 0.0)
        .map(|p| Savings { human_ticket_usd: p, saved_usd: resolutions as f64 * p - total_usd });
    let alternatives = alternatives(resolutions, messages);
    let mut faq_gaps: Vec<Gap> = group("gap")
        .into_iter()
        .filter_map(|(k, count)| {
            let (intent, language) = k.rsplit_once('.')?;
            Some(Gap { intent: intent.to_string(), language: language.to_string(), count })
        })
        .collect();
    faq_gaps.sort_by(|a, b| b.count.cmp(&a.count).then(a.intent.cmp(&b.intent)));
    let by_day = days
        .iter()
        .map(|d| Day {
            day: d.day.map(|d| d.to_string()).unwrap_or_default(),
            total_nanos: u64::try_from(d.get("total")).unwrap_or(0),
            by_component: d.group("c").into_iter().map(|(k, v)| (k, u64::try_from(v).unwrap_or(0))).collect(),
            messages: u64::try_from(d.get("messages")).unwrap_or(0),
        })
        .collect();
    Ok(CostReport {
        tenant: tenant.to_string(),
        month: month.to_string(),
        currency: prices.currency.clone(),
        price_table: prices.id.clone(),
        generated_at: now,
        total_nanos,
        aws_nanos: total_nanos.saturating_sub(by_component.get("channels").copied().unwrap_or(0)),
        by_component,
        by_channel: group("ch"),
        by_intent: group("i"),
        by_function: group("f"),
        by_day,
        messages,
        answered: sum("answered"),
        answered_locally: sum("answered_locally"),
        escalated: sum("escalated"),
        conversations,
        model_calls: sum("model_calls"),
        model_tokens: sum("model_tokens"),
        unpriced_model_calls: group("unpriced"),
        per_1000_messages_usd: if messages > 0 { total_usd * 1000.0 / messages as f64 } else { 0.0 },
        automated_resolutions: resolutions,
        resolutions_pending,
        satisfaction: satisfaction(&records),
        cost_per_resolution_usd: if resolutions > 0 { total_usd / resolutions as f64 } else { 0.0 },
        budget,
        savings,
        alternatives,
        faq_gaps,
        pilot_review: Vec::new(),
        unanswered: Vec::new(),
        fixed_share: None,
        top_conversations: top,
        requests: records
            .iter()
            .take(limit)
            .map(|r| Request {
                request_id: r.request_id.clone(),
                tenant: r.tenant.to_string(),
                conversation: r.conversation.as_ref().map(|c| c.to_string()),
                intent: r.outcome.intent.clone(),
                function: r.function,
                channel: r.channel.map(|c| c.to_string()),
                at: r.at,
                cost_nanos: r.cost_nanos,
                components: r.components,
                decision: r.outcome.decision.clone(),
            })
            .collect(),
    })
}

/// Conversations with at least one customer message, and the ten costliest.
fn conversations(records: &[CostRecord]) -> (u64, Vec<ConversationCost>) {
    #[derive(Default)]
    struct Seen {
        cost: u64,
        messages: u64,
    }
    let mut by_id: BTreeMap<&str, Seen> = BTreeMap::new();
    for r in records {
        let Some(c) = &r.conversation else { continue };
        let seen = by_id.entry(c.as_str()).or_default();
        seen.cost += r.cost_nanos;
        seen.messages += u64::from(r.outcome.message);
    }
    let with_messages: BTreeSet<&str> = by_id.iter().filter(|(_, s)| s.messages > 0).map(|(c, _)| *c).collect();
    let mut top: Vec<ConversationCost> = by_id
        .iter()
        .map(|(c, s)| ConversationCost { conversation: c.to_string(), cost_nanos: s.cost, messages: s.messages })
        .collect();
    top.sort_by_key(|c| std::cmp::Reverse(c.cost_nanos));
    top.truncate(10);
    (with_messages.len() as u64, top)
}

/// Dollars for people: enough places that a single request's cost is not shown as zero.
pub fn dollars(nanos: u64) -> String {
    let d = usd(nanos);
    if d == 0.0 {
        "$0".into()
    } else if d < 0.01 {
        format!("${d:.6}")
    } else {
        format!("${d:.2}")
    }
}

/// Up to `chars` of a customer's words for a terminal: control characters (an escape sequence
/// could rewrite the operator's screen or plant a link) become spaces.
fn printable(text: &str, chars: usize) -> String {
    text.chars().take(chars).map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// A rollout mode's name.
pub(super) fn mode_name(mode: switchboard_core::domain::RolloutMode) -> &'static str {
    match mode {
        switchboard_core::domain::RolloutMode::Shadow => "shadow",
        switchboard_core::domain::RolloutMode::Assist => "assist",
        switchboard_core::domain::RolloutMode::Auto => "auto",
    }
}

/// Pilot decisions a report shows.
pub const REVIEWS_SHOWN: usize = 50;

/// Unanswered questions a report groups (the newest).
pub const UNANSWERED_READ: usize = 500;

impl CostReport {
    /// The report with the tenant's newest pilot decisions to review and its unanswered
    /// questions grouped, from the conversations.
    pub async fn with_reviews(
        mut self,
        conversations: &dyn switchboard_core::ports::ConversationStore,
        tenant: &TenantId,
    ) -> Result<Self, PortError> {
        self.pilot_review = conversations.reviews(tenant, ReviewKind::Pilot, REVIEWS_SHOWN).await?;
        let unanswered = conversations.reviews(tenant, ReviewKind::Unanswered, UNANSWERED_READ).await?;
        self.unanswered = super::questions::group(&unanswered);
        Ok(self)
    }

    /// Adds the tenant's share of the stack's fixed monthly lines, by its share of the
    /// deployment's messages (the tenants' lines of the month: one more query).
    pub async fn with_fixed_share(
        mut self,
        ledger: &dyn CostLedger,
        prices: &PriceTable,
        fixed: super::fixed::FixedMonthly,
    ) -> Result<Self, PortError> {
        let Some(month) = Month::parse(&self.month) else { return Ok(self) };
        let lines = ledger.lines(month).await?;
        let messages = |line: &switchboard_core::ledger::TenantLine| u64::try_from(line.get("messages")).unwrap_or(0);
        let all: u64 = lines.iter().map(messages).sum();
        let mine: u64 =
            lines.iter().filter(|l| l.tenant.as_ref().is_some_and(|t| t.as_str() == self.tenant)).map(messages).sum();
        let deployment_nanos = fixed.nanos(prices);
        self.fixed_share = Some(FixedShare {
            deployment_nanos,
            share: if all > 0 { mine as f64 / all as f64 } else { 0.0 },
            nanos: super::fixed::share(deployment_nanos, mine, all),
        });
        Ok(self)
    }

    /// A plain-text table for a terminal.
    pub fn table(&self) -> String {
        let mut out = format!(
            "Switchboard costs — {} — {} (prices: {}, as of {})\n\n",
            self.tenant, self.month, self.price_table.id, self.price_table.as_of
        );
        let row = |out: &mut String, name: &str, nanos: u64| {
            let share = if self.total_nanos > 0 { nanos as f64 * 100.0 / self.total_nanos as f64 } else { 0.0 };
            out.push_str(&format!("  {name:<24} {:>14} {share:>6.1} %\n", dollars(nanos)));
        };
        out.push_str(&format!("Total {:>33}\n", dollars(self.total_nanos)));
        for (model, calls) in &self.unpriced_model_calls {
            out.push_str(&format!(
                "  + {calls} hosted calls to {model}, which the price table does not price (not in the total)\n"
            ));
        }
        if let Some(f) = &self.fixed_share {
            out.push_str(&format!(
                "  + {} share of the stack's fixed monthly lines ({:.1} % of {}; not in the total)\n",
                dollars(f.nanos),
                f.share * 100.0,
                dollars(f.deployment_nanos)
            ));
        }
        for (title, map) in
            [("By component", &self.by_component), ("By channel", &self.by_channel), ("By intent", &self.by_intent)]
        {
            out.push_str(&format!("\n{title}\n"));
            for (name, nanos) in map.iter().filter(|(_, n)| **n > 0) {
                row(&mut out, name, *nanos);
            }
        }
        if !self.by_day.is_empty() {
            out.push_str("\nBy day                   total   messages\n");
            for d in &self.by_day {
                out.push_str(&format!("  {:<12} {:>14} {:>10}\n", d.day, dollars(d.total_nanos), d.messages));
            }
        }
        out.push_str(&format!(
            "\nMessages {}  answered {} ({} locally)  escalated {}  conversations {}\n",
            self.messages, self.answered, self.answered_locally, self.escalated, self.conversations
        ));
        out.push_str(&format!(
            "Per 1,000 messages ${:.4}   automated resolutions {}   per resolution ${:.4}\n",
            self.per_1000_messages_usd, self.automated_resolutions, self.cost_per_resolution_usd
        ));
        let b = &self.budget;
        if b.limit_nanos > 0 {
            let counts = match b.counts {
                BudgetCounts::All => "AWS and channel fees count",
                BudgetCounts::Aws => "AWS alone counts",
            };
            let soft = match b.at_soft_line {
                SoftLineStops::Generation => "the hosted model stops writing answers",
                SoftLineStops::HostedModel => "the hosted model stops",
                SoftLineStops::Nothing => "only an alert",
            };
            out.push_str(&format!(
                "Budget {} of {} ({}; {counts}; at {:.0} %: {soft}), forecast {} at month end\n",
                dollars(b.used_nanos),
                dollars(b.limit_nanos),
                b.state.as_str(),
                b.soft_at * 100.0,
                dollars(b.forecast_nanos)
            ));
        }
        if b.paid_sends_cap_nanos > 0 {
            let reached = if b.channels_nanos >= b.paid_sends_cap_nanos { "reached: people answer" } else { "open" };
            out.push_str(&format!(
                "Paid sends {} of a {} cap ({reached})\n",
                dollars(b.channels_nanos),
                dollars(b.paid_sends_cap_nanos)
            ));
        }
        if let Some(s) = &self.savings {
            out.push_str(&format!(
                "Saved ${:.2} at ${:.2} per human-handled conversation\n",
                s.saved_usd, s.human_ticket_usd
            ));
        }
        if let Some(csat) = self.satisfaction.csat {
            out.push_str(&format!(
                "Answers rated: {} up, {} down (CSAT {:.0} %)\n",
                self.satisfaction.up,
                self.satisfaction.down,
                csat * 100.0
            ));
            for (intent, (up, down)) in &self.satisfaction.by_intent {
                out.push_str(&format!("  {intent:<24} {up:>5} up {down:>5} down\n"));
            }
        }
        if !self.pilot_review.is_empty() {
            out.push_str("\nPilot decisions to review (newest first; --format html or json shows them whole)\n");
            for r in self.pilot_review.iter().take(10) {
                let text = printable(&r.text, 48);
                let intent = r.intent.as_deref().unwrap_or("-");
                out.push_str(&format!("  {:<6} {intent:<20} {:<20} {text}\n", mode_name(r.mode), r.decision));
            }
        }
        if !self.unanswered.is_empty() {
            out.push_str("\nQuestions the bot could not answer, most asked first (write these next)\n");
            for g in self.unanswered.iter().take(10) {
                let example = g.examples.first().map(|e| printable(e, 56)).unwrap_or_default();
                out.push_str(&format!("  {:>5}  {:<28} {example}\n", g.count, g.words.join(" ")));
            }
        }
        if !self.faq_gaps.is_empty() {
            out.push_str("\nFAQ entries worth writing next (went to a person for lack of an answer)\n");
            for g in self.faq_gaps.iter().take(10) {
                out.push_str(&format!("  {:<24} {:<4} {:>6}\n", g.intent, g.language, g.count));
            }
        }
        out
    }

    /// CSV: one row per request (the ledger's records) with who and what it was for (tenant,
    /// channel, conversation, intent, decision), components in columns: ready for a pivot table.
    pub fn csv(&self) -> String {
        let mut out = format!(
            "request_id,tenant,function,channel,conversation,intent,decision,at,cost_nanos,{}\n",
            Components::NAMES.join(",")
        );
        for r in &self.requests {
            let components: Vec<String> = r.components.named().iter().map(|(_, n)| n.to_string()).collect();
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{}\n",
                csv_field(&r.request_id),
                csv_field(&r.tenant),
                r.function.as_str(),
                r.channel.as_deref().unwrap_or(""),
                csv_field(r.conversation.as_deref().unwrap_or("")),
                csv_field(r.intent.as_deref().unwrap_or("")),
                csv_field(r.decision.as_deref().unwrap_or("")),
                r.at.to_rfc3339(),
                r.cost_nanos,
                components.join(",")
            ));
        }
        out
    }
}

/// A CSV field, quoted when it must be; a leading formula character is neutralised so a
/// spreadsheet never runs a request id an outsider chose.
pub(super) fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("req-1"), "req-1");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    }

    #[test]
    fn dollars_keep_small_amounts_visible() {
        assert_eq!(dollars(0), "$0");
        assert_eq!(dollars(1_250), "$0.000001");
        assert_eq!(dollars(12_345_678_901), "$12.35");
    }

    #[test]
    fn a_customers_words_reach_a_terminal_without_control_characters() {
        let hostile = "hi\u{1b}]8;;https://evil.example\u{7}click\u{1b}[2J\r\nthere";
        let shown = printable(hostile, 100);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.starts_with("hi ") && shown.ends_with("there"));
        assert_eq!(printable("ábcdé", 3), "ábc", "by characters, not bytes");
    }

    /// What counts as a resolution (docs/costs.md): a bot answer not undone within 24 hours by
    /// a handoff or the same intent asked again; once per conversation; too recent is pending.
    #[test]
    fn a_resolution_is_an_answer_not_undone_within_a_day() {
        use switchboard_core::domain::ConversationId;
        use switchboard_core::ledger::Outcome;
        let t0 = DateTime::parse_from_rfc3339("2026-11-02T10:00:00Z").map(|d| d.with_timezone(&Utc)).unwrap();
        let now = t0 + chrono::TimeDelta::days(10);
        let record = |conversation: &str, hours: i64, intent: &str, answered: bool, escalated: bool| CostRecord {
            request_id: format!("r-{conversation}-{hours}"),
            function: Function::Responder,
            item: format!("m-{hours}"),
            tenant: TenantId::new("demo").unwrap(),
            channel: None,
            conversation: ConversationId::new(conversation).ok(),
            at: t0 + chrono::TimeDelta::hours(hours),
            outcome: Outcome { message: true, answered, escalated, intent: Some(intent.into()), ..Outcome::default() },
            units: Default::default(),
            components: Default::default(),
            cost_nanos: 1,
            price_table: "t".into(),
            unpriced: Vec::new(),
        };
        let answer = |c: &str, h: i64, i: &str| record(c, h, i, true, false);
        let records = vec![
            answer("c_alone", 0, "hours"),
            answer("c_asked_again", 0, "order"),
            answer("c_asked_again", 1, "order"),
            answer("c_handed_over", 0, "order"),
            record("c_handed_over", 2, "other", false, true),
            answer("c_moved_on", 0, "hours"),
            answer("c_moved_on", 2, "shipping"),
            answer("c_came_back_later", 0, "order"),
            answer("c_came_back_later", 30, "order"),
            record("c_never_answered", 0, "order", false, true),
            answer("c_recent", 24 * 10 - 1, "hours"),
        ];
        // alone: resolved; asked again: its second answer, not asked again, resolves it; handed
        // over: not; moved on: resolved; came back after 30 h: resolved; never answered: not;
        // recent: pending.
        assert_eq!(resolved(&records, now), (4, 1));
        let strict = vec![answer("c_1", 0, "order"), answer("c_1", 1, "order"), record("c_1", 3, "order", false, true)];
        assert_eq!(resolved(&strict, now), (0, 0), "every answer undone within a day");

        let rated = |hours: i64, intent: &str, rating| {
            let mut r = record("c_rated", hours, intent, false, false);
            r.outcome.rating = Some(rating);
            r
        };
        // A 👍 on an answer is not the same question asked again: the answer still resolves.
        let mut thumb = record("c_thanked", 1, "hours", false, false);
        thumb.outcome.rating = Some(switchboard_core::domain::Rating::Up);
        assert_eq!(resolved(&[answer("c_thanked", 0, "hours"), thumb], now), (1, 0), "a rating undoes nothing");
        use switchboard_core::domain::Rating::{Down, Up};
        let mut elsewhere = rated(2, "hours", Up);
        elsewhere.conversation = ConversationId::new("c_other").ok();
        let ratings = vec![
            rated(1, "hours", Down),
            elsewhere,
            rated(2, "hours", Up),
            rated(3, "order", Down),
            answer("c_x", 0, "hours"),
        ];
        let s = satisfaction(&ratings);
        assert_eq!((s.up, s.down), (2, 1), "one conversation's latest rating of an intent counts, once");
        assert!((s.csat.unwrap_or_default() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.by_intent.get("hours"), Some(&(2, 0)));
        assert_eq!(s.by_intent.get("order"), Some(&(0, 1)));
        assert_eq!(satisfaction(&[]).csat, None, "no ratings, no CSAT");
    }
}
