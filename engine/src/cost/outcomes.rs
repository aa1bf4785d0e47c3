//! What happened to the bot's answers, from the month's cost records: which resolved a
//! conversation (docs/costs.md, "What counts as a resolution") and what customers rated them.

use super::CostRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// How long after a bot answer the customer may still show it did not resolve their question:
/// Intercom Fin's "assumed resolution" window (docs/costs.md).
const RESOLUTION_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Conversations resolved by the bot, and those whose answer is too recent to tell, from the
/// month's records. An answer (a bot answer with no handoff) resolves unless, within 24 hours
/// after it, the conversation goes to a person or the customer writes again about the same
/// intent; a conversation counts once, if any of its answers resolves.
pub(super) fn resolved(records: &[CostRecord], now: DateTime<Utc>) -> (u64, u64) {
    let mut by_conversation: BTreeMap<&str, Vec<&CostRecord>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.outcome.message || r.outcome.escalated) {
        if let Some(c) = &r.conversation {
            by_conversation.entry(c.as_str()).or_default().push(r);
        }
    }
    let (mut resolved, mut pending) = (0, 0);
    for events in by_conversation.values_mut() {
        events.sort_by_key(|r| r.at);
        let mut verdict = None;
        for (i, answer) in events.iter().enumerate() {
            if !(answer.outcome.message && answer.outcome.answered && !answer.outcome.escalated) {
                continue;
            }
            let until = answer.at + RESOLUTION_WINDOW;
            // A rating of the answer carries its intent but is no question asked again.
            let undone = events[i + 1..].iter().take_while(|later| later.at <= until).any(|later| {
                later.outcome.escalated
                    || (later.outcome.message
                        && later.outcome.rating.is_none()
                        && later.outcome.intent.is_some()
                        && later.outcome.intent == answer.outcome.intent)
            });
            if undone {
                continue;
            }
            if now < until {
                verdict = verdict.or(Some(false));
            } else {
                verdict = Some(true);
                break;
            }
        }
        match verdict {
            Some(true) => resolved += 1,
            Some(false) => pending += 1,
            None => {}
        }
    }
    (resolved, pending)
}

/// Ratings of the bot's answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Satisfaction {
    /// 👍 given.
    pub up: u64,
    /// 👎 given.
    pub down: u64,
    /// The share of ratings that are 👍 (CSAT), when there are any.
    pub csat: Option<f64>,
    /// Per intent of the answer rated (`none`: not recognised): 👍 and 👎.
    pub by_intent: BTreeMap<String, (u64, u64)>,
}

/// The ratings, one per conversation and intent rated (its latest): a visitor who asks and rates
/// again and again moves the figure once.
pub(super) fn satisfaction(records: &[CostRecord]) -> Satisfaction {
    let mut latest: BTreeMap<(Option<&str>, Option<&str>), &CostRecord> = BTreeMap::new();
    for r in records.iter().filter(|r| r.outcome.rating.is_some()) {
        let key = (r.conversation.as_ref().map(|c| c.as_str()), r.outcome.intent.as_deref());
        if latest.get(&key).is_none_or(|kept| kept.at <= r.at) {
            latest.insert(key, r);
        }
    }
    let mut s = Satisfaction::default();
    for r in latest.into_values() {
        let Some(rating) = r.outcome.rating else { continue };
        let counts = s.by_intent.entry(r.outcome.intent.clone().unwrap_or_else(|| "none".into())).or_default();
        match rating {
            switchboard_core::domain::Rating::Up => {
                s.up += 1;
                counts.0 += 1;
            }
            switchboard_core::domain::Rating::Down => {
                s.down += 1;
                counts.1 += 1;
            }
        }
    }
    s.csat = (s.up + s.down > 0).then(|| s.up as f64 / (s.up + s.down) as f64);
    s
}
