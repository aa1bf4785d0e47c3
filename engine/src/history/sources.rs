//! Reading past conversations as businesses export them: a CSV of customer messages (a
//! `message` column — or `customer_message`, `text`, `question`, `body`, `description` — and,
//! optionally, the agent's `reply`, a `tag` or `category`, the `resolution` and the
//! `language`), Zendesk's ticket export (the Tickets API's `tickets`) and Freshdesk's (its API's
//! ticket list, with descriptions).

use super::{HistoryError, Past};
use serde::Deserialize;
use std::path::Path;
use switchboard_core::domain::Language;

/// The formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A CSV of customer messages.
    Csv,
    /// Zendesk: `{"tickets": [...]}`, the ticket's `description` its first message.
    Zendesk,
    /// Freshdesk: a list of tickets, `description_text` the first message.
    Freshdesk,
}

impl Format {
    /// The format of `path`: `.csv` a CSV; a JSON file Zendesk's (an object with `tickets`) or
    /// Freshdesk's (a list).
    pub fn detect(path: &Path) -> Result<Self, HistoryError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Ok(Self::Csv),
            Some("json") => {
                let text = read_text(path)?;
                match text.trim_start().chars().next() {
                    Some('[') => Ok(Self::Freshdesk),
                    Some('{') => Ok(Self::Zendesk),
                    _ => Err(HistoryError::Malformed(format!("{}: not JSON", path.display()))),
                }
            }
            _ => Err(HistoryError::Malformed(format!("{}: a .csv or .json export (or say --from)", path.display()))),
        }
    }
}

/// The customer messages of `path` in `format`, in file order; rows without a message left out.
pub fn read(path: &Path, format: Format) -> Result<Vec<Past>, HistoryError> {
    let text = read_text(path)?;
    match format {
        Format::Csv => csv(&text),
        Format::Zendesk => zendesk(&text),
        Format::Freshdesk => freshdesk(&text),
    }
}

fn read_text(path: &Path) -> Result<String, HistoryError> {
    std::fs::read_to_string(path).map_err(|e| HistoryError::Io(format!("{}: {e}", path.display())))
}

fn malformed(e: impl std::fmt::Display) -> HistoryError {
    HistoryError::Malformed(e.to_string())
}

/// The longest message kept: a ticket's description may be a whole e-mail thread; what it asks
/// is at its start.
const MAX_MESSAGE_CHARS: usize = 1_000;

fn bounded(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(MAX_MESSAGE_CHARS).collect())
}

fn csv(text: &str) -> Result<Vec<Past>, HistoryError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().map_err(malformed)?.iter().map(str::to_lowercase).collect();
    let column = |names: &[&str]| names.iter().find_map(|n| headers.iter().position(|h| h == n));
    let Some(message) = column(&["message", "customer_message", "text", "question", "body", "description"]) else {
        return Err(HistoryError::Malformed("a CSV needs a `message` (or `text`) column".into()));
    };
    let reply = column(&["reply", "agent_reply", "answer", "response"]);
    let tag = column(&["tag", "category", "intent", "label"]);
    let resolution = column(&["resolution", "resolved_by", "handled_by", "outcome"]);
    let language = column(&["language", "lang", "locale"]);
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(malformed)?;
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).map(str::trim).filter(|c| !c.is_empty());
        let Some(text) = cell(Some(message)).and_then(bounded) else { continue };
        out.push(Past {
            text,
            reply: cell(reply).and_then(bounded),
            tag: cell(tag).map(str::to_string),
            handled_by_person: cell(resolution).and_then(handled),
            language: cell(language).and_then(language_of),
        });
    }
    Ok(out)
}

/// Who resolved it, from a resolution's words.
fn handled(resolution: &str) -> Option<bool> {
    let r = resolution.to_lowercase();
    if ["agent", "human", "person", "escalat", "staff", "team"].iter().any(|w| r.contains(w)) {
        Some(true)
    } else if ["bot", "automat", "self", "faq", "deflect"].iter().any(|w| r.contains(w)) {
        Some(false)
    } else {
        None
    }
}

fn language_of(code: &str) -> Option<Language> {
    Language::from_code(&code.split(['-', '_']).next().unwrap_or(code).to_ascii_lowercase())
}

#[derive(Deserialize)]
struct ZendeskTickets {
    tickets: Vec<ZendeskTicket>,
}

#[derive(Deserialize)]
struct ZendeskTicket {
    subject: Option<String>,
    description: Option<String>,
}

fn zendesk(text: &str) -> Result<Vec<Past>, HistoryError> {
    let export: ZendeskTickets = serde_json::from_str(text).map_err(malformed)?;
    Ok(export
        .tickets
        .into_iter()
        .filter_map(|t| {
            // Tickets are a helpdesk's: people handled every one; the export says nothing else.
            let text = t.description.as_deref().and_then(bounded).or_else(|| t.subject.as_deref().and_then(bounded))?;
            Some(Past { text, ..Past::default() })
        })
        .collect())
}

#[derive(Deserialize)]
struct FreshdeskTicket {
    subject: Option<String>,
    description_text: Option<String>,
}

fn freshdesk(text: &str) -> Result<Vec<Past>, HistoryError> {
    let tickets: Vec<FreshdeskTicket> = serde_json::from_str(text).map_err(malformed)?;
    Ok(tickets
        .into_iter()
        .filter_map(|t| {
            let text =
                t.description_text.as_deref().and_then(bounded).or_else(|| t.subject.as_deref().and_then(bounded))?;
            Some(Past { text, ..Past::default() })
        })
        .collect())
}
