//! Knowledge import: a help centre as businesses export it (`sources`) made into FAQ entries —
//! HTML as clean text, long articles split at their headings, each entry's language the one its
//! source declares or the one detected, its URL kept so an answer can cite it — and merged into
//! a tenant file between markers of its own (`tenant_file`), so importing again changes only
//! what the help centre changed.

mod html;
mod sources;
pub mod tenant_file;

pub use sources::{Format, read};

use std::collections::HashSet;
use switchboard_core::config::FaqEntry;
use switchboard_core::domain::Language;

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// The file or folder could not be read.
    #[error("reading {0}")]
    Io(String),
    /// It is not what its format says.
    #[error("not a readable export: {0}")]
    Malformed(String),
    /// No known format (say `--format`).
    #[error("{0}: not a Zendesk or Intercom JSON export, a CSV, or Markdown/HTML pages (say --format)")]
    Unrecognised(String),
}

/// One article as a help centre exports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// Its id in the source, prefixed by the source (`zd-360012`, `page-returns/policy`).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Where customers read it.
    pub url: Option<String>,
    /// The language its source declares (`en-us`, `es`), if any.
    pub locale: Option<String>,
    /// What it says.
    pub body: Body,
    /// Labels the source gives it, as extra words to find it by.
    pub keywords: Vec<String>,
}

/// An article's text as its source gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// HTML (Zendesk, Intercom, pages; Markdown is made HTML first).
    Html(String),
    /// Plain text (a CSV's answer).
    Text(String),
}

/// An article not made into entries, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// The article's id.
    pub article: String,
    /// Why.
    pub why: String,
}

/// What an import made of its articles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Imported {
    /// The entries, in the source's order.
    pub entries: Vec<FaqEntry>,
    /// Articles left out.
    pub skipped: Vec<Skipped>,
}

/// The longest answer kept: four SMS segments. A longer section is cut at a sentence and its
/// link, which the answer carries, gives the rest.
pub const MAX_ANSWER_CHARS: usize = 640;

/// Keywords kept per entry.
const MAX_KEYWORDS: usize = 12;

/// `articles` as FAQ entries in `languages` (the tenant's). An article's language is the one
/// its source declares, else the one its text reads as with certainty, else `detect`'s (the
/// tenant's own detector, which knows its vocabulary); an article in a language the tenant does
/// not speak is skipped, as is one with no text.
pub fn entries(articles: &[Article], languages: &[Language], detect: &dyn Fn(&str) -> Option<Language>) -> Imported {
    let mut out = Imported::default();
    let mut ids = HashSet::new();
    for article in articles {
        let sections = match &article.body {
            Body::Html(html) => html::sections(html),
            Body::Text(text) => vec![html::Section { heading: None, paragraphs: vec![text.trim().to_string()] }],
        };
        let sections: Vec<_> = sections.into_iter().filter(|s| s.paragraphs.iter().any(|p| !p.is_empty())).collect();
        if sections.is_empty() {
            out.skipped.push(Skipped { article: article.id.clone(), why: "no text".into() });
            continue;
        }
        let all_text = sections.iter().flat_map(|s| s.paragraphs.iter()).cloned().collect::<Vec<_>>().join(" ");
        let language = match language_of(article, &all_text, detect) {
            Ok(language) if languages.contains(&language) => language,
            Ok(language) => {
                let why = format!("in {language}, which the tenant does not speak (add it to `languages` first)");
                out.skipped.push(Skipped { article: article.id.clone(), why });
                continue;
            }
            Err(why) => {
                out.skipped.push(Skipped { article: article.id.clone(), why });
                continue;
            }
        };
        for section in sections {
            let question = match section.heading.as_deref() {
                None => article.title.trim().to_string(),
                Some(heading) if heading.ends_with('?') => heading.to_string(),
                Some(heading) => format!("{} — {heading}", article.title.trim()),
            };
            let base = match section.heading.as_deref() {
                None => slug(&article.id),
                Some(heading) => format!("{}-{}", slug(&article.id), slug(heading)),
            };
            let id = unique(base, &mut ids);
            let keywords = article.keywords.iter().take(MAX_KEYWORDS).cloned().collect();
            out.entries.push(FaqEntry {
                id,
                language,
                question,
                answer: bounded(&section.paragraphs.join("\n")),
                keywords,
                intents: Vec::new(),
                source: article.url.clone(),
            });
        }
    }
    out
}

/// The article's declared language, else the one its text reads as.
fn language_of(article: &Article, text: &str, detect: &dyn Fn(&str) -> Option<Language>) -> Result<Language, String> {
    if let Some(locale) = article.locale.as_deref() {
        let code = locale.split(['-', '_']).next().unwrap_or(locale).to_ascii_lowercase();
        return Language::from_code(&code)
            .ok_or_else(|| format!("declared language `{locale}` is not one Switchboard knows"));
    }
    let sample = format!("{} {text}", article.title);
    if let Some(info) = whatlang::detect(&sample)
        && info.is_reliable()
        && let Some(language) = Language::from_detected(info.lang())
    {
        return Ok(language);
    }
    detect(&sample).ok_or_else(|| "its language could not be told (give it a `language`)".into())
}

/// At most [`MAX_ANSWER_CHARS`], cut after the last sentence or line that fits.
fn bounded(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_ANSWER_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(MAX_ANSWER_CHARS - 1).collect();
    let cut = head.rfind(['.', '!', '?', '\n']).filter(|&i| i > MAX_ANSWER_CHARS / 3).map_or(head.len(), |i| i + 1);
    format!("{}…", head[..cut].trim_end())
}

/// Lowercase ASCII letters and digits joined by `-`, at most 60 characters.
fn slug(text: &str) -> String {
    let folded = crate::classify::text::fold(text);
    let words: Vec<&str> = folded.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let mut out = String::new();
    for word in words {
        if out.len() + word.len() + 1 > 60 {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(word);
    }
    if out.is_empty() { "entry".into() } else { out }
}

fn unique(base: String, taken: &mut HashSet<String>) -> String {
    let mut id = base.clone();
    let mut n = 2;
    while !taken.insert(id.clone()) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

#[cfg(test)]
mod tests;
