//! Past conversations as a draft intent catalogue: the customer messages a business already has
//! (a CSV of messages with, when present, the agent's reply, a tag and who resolved it; Zendesk
//! or Freshdesk ticket exports) grouped by what they ask — by their tag when they have one — and
//! each group a suggested intent: a name, its most representative messages as examples, the
//! most representative agent reply as a draft (for a person to review, never sent as is), its
//! share of the traffic, and whether people usually handled it.

pub mod cluster;
mod sources;

pub use sources::{Format, read};

use std::collections::{BTreeMap, HashMap, HashSet};
use switchboard_core::domain::Language;

/// Why a history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file could not be read.
    #[error("reading {0}")]
    Io(String),
    /// It is not what its format says.
    #[error("not a readable history: {0}")]
    Malformed(String),
}

/// One past customer message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Past {
    /// What the customer wrote.
    pub text: String,
    /// What an agent answered, when the export has it.
    pub reply: Option<String>,
    /// The tag or category a person gave it.
    pub tag: Option<String>,
    /// Whether a person (not a bot or the customer alone) resolved it, when the export says.
    pub handled_by_person: Option<bool>,
    /// Its language, when the export says.
    pub language: Option<Language>,
}

/// A suggested intent.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Suggestion {
    /// A name in the tenant file's form (lowercase, digits, `_`).
    pub name: String,
    /// The language of its messages.
    pub language: Language,
    /// How many messages it holds.
    pub count: usize,
    /// Its share of all messages read.
    pub share: f64,
    /// Its most representative messages, most typical first (at most [`EXAMPLES`]).
    pub examples: Vec<String>,
    /// The agent reply of its most typical message that has one: a draft for a person to
    /// review and make a template of; never sent as is.
    pub draft_reply: Option<String>,
    /// The share of its messages a person resolved, among those whose export says.
    pub handled_by_people: Option<f64>,
    /// Whether people usually handled it (more than half): start it handed over, not answered.
    pub escalation_candidate: bool,
    /// Whether it is a tag of the export rather than a group found by the words.
    pub from_tag: bool,
}

/// What grouping made of a history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Grouped {
    /// The suggested intents, most traffic first.
    pub suggestions: Vec<Suggestion>,
    /// For each message read, in order, the suggestion it was put in (`None`: a group too small
    /// to suggest, or no words to group by).
    pub assigned: Vec<Option<usize>>,
}

/// Sentence embeddings of texts in a language, when the encoder reads it (`None` elsewhere).
pub type Embedder<'a> = dyn Fn(Language, &[&str]) -> Option<Vec<Vec<f32>>> + 'a;

/// A group's messages, and whether it is an export's tag.
type Members = (bool, Vec<usize>);

/// The most messages grouped at once: at 2,048 dimensions a message, more would take gigabytes
/// and long minutes on a small machine; the newest are the ones to go by.
pub const MAX_MESSAGES: usize = 20_000;

/// Examples kept per suggestion.
pub const EXAMPLES: usize = 20;
/// The fewest messages a group needs to be suggested.
pub const MIN_GROUP: usize = 3;

/// How alike a message and a group must be (cosine) to join it, by what the vectors are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// For the sentence encoder's embeddings.
    pub embedded: f32,
    /// For hashed word vectors.
    pub hashed: f32,
}

impl Default for Thresholds {
    /// Chosen on BANKING77's training split (`switchboard eval --task clusters`), measured on
    /// its test split and MASSIVE (docs/benchmarks.md).
    fn default() -> Self {
        Self { embedded: 0.60, hashed: 0.20 }
    }
}

/// Groups `history` into suggested intents. `languages` are the tenant's (a message in none of
/// them is grouped under the first); `detect` tells a message's language when the export does
/// not; `embed` gives sentence embeddings for the languages it reads (`None` elsewhere).
pub fn suggest(
    history: &[Past],
    languages: &[Language],
    detect: &dyn Fn(&str) -> Option<Language>,
    embed: &Embedder<'_>,
    thresholds: Thresholds,
) -> Grouped {
    let fallback = languages.first().copied().unwrap_or(Language::EN);
    let language: Vec<Language> = history
        .iter()
        .map(|m| m.language.or_else(|| detect(&m.text)).filter(|l| languages.contains(l)).unwrap_or(fallback))
        .collect();
    // Group keys: (language, tag or found group).
    let mut keys: Vec<Option<(Language, String, bool)>> = vec![None; history.len()];
    let tagged = history.iter().any(|m| m.tag.is_some());
    let mut by_language: BTreeMap<Language, Vec<usize>> = BTreeMap::new();
    for (i, m) in history.iter().enumerate() {
        match (&m.tag, tagged) {
            (Some(tag), true) => keys[i] = Some((language[i], format!("tag:{}", tag.trim().to_lowercase()), true)),
            _ => by_language.entry(language[i]).or_default().push(i),
        }
    }
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; history.len()];
    for (lang, members) in &by_language {
        let texts: Vec<&str> = members.iter().map(|&i| history[i].text.as_str()).collect();
        let (found, threshold) = match embed(*lang, &texts) {
            Some(embedded) => (embedded, thresholds.embedded),
            None => {
                let stemmer = crate::reply::stemmer(*lang);
                let bags: Vec<Vec<String>> =
                    texts.iter().map(|t| crate::reply::analyse(stemmer.as_ref(), *lang, t)).collect();
                (cluster::hashed(&bags), thresholds.hashed)
            }
        };
        // A message with no word to go by (only stop words, only emoji) joins no group.
        let (with_words, found): (Vec<usize>, Vec<Vec<f32>>) =
            members.iter().zip(found).filter(|(_, v)| v.iter().any(|x| *x != 0.0)).map(|(&i, v)| (i, v)).unzip();
        let groups = cluster::cluster(&found, threshold);
        for ((&i, group), v) in with_words.iter().zip(groups).zip(found) {
            keys[i] = Some((*lang, format!("words:{group}"), false));
            vectors[i] = Some(v);
        }
    }
    build(history, &keys, &vectors)
}

/// The suggestions from each message's group key.
fn build(history: &[Past], keys: &[Option<(Language, String, bool)>], vectors: &[Option<Vec<f32>>]) -> Grouped {
    let mut groups: BTreeMap<(Language, String), Members> = BTreeMap::new();
    for (i, key) in keys.iter().enumerate() {
        if let Some((lang, name, from_tag)) = key {
            groups.entry((*lang, name.clone())).or_insert((*from_tag, Vec::new())).1.push(i);
        }
    }
    let mut ranked: Vec<((Language, String), Members)> =
        groups.into_iter().filter(|(_, (_, members))| members.len() >= MIN_GROUP).collect();
    ranked.sort_by(|a, b| b.1.1.len().cmp(&a.1.1.len()).then(a.1.1[0].cmp(&b.1.1[0])));
    let total = history.len().max(1) as f64;
    let mut names = HashSet::new();
    let mut assigned = vec![None; history.len()];
    let mut suggestions = Vec::new();
    for (index, ((language, key), (from_tag, members))) in ranked.into_iter().enumerate() {
        let typical = most_typical(&members, vectors);
        let examples = distinct(typical.iter().map(|&i| history[i].text.trim()), EXAMPLES);
        let draft_reply = typical.iter().find_map(|&i| history[i].reply.clone().filter(|r| !r.trim().is_empty()));
        let said: Vec<bool> = members.iter().filter_map(|&i| history[i].handled_by_person).collect();
        let handled_by_people =
            (!said.is_empty()).then(|| said.iter().filter(|h| **h).count() as f64 / said.len() as f64);
        let base =
            if from_tag { slug(key.trim_start_matches("tag:")) } else { words_name(&members, history, language) };
        let name = unique(base, &mut names);
        for &i in &members {
            assigned[i] = Some(index);
        }
        suggestions.push(Suggestion {
            name,
            language,
            count: members.len(),
            share: members.len() as f64 / total,
            examples,
            draft_reply,
            handled_by_people,
            escalation_candidate: handled_by_people.is_some_and(|s| s > 0.5),
            from_tag,
        });
    }
    Grouped { suggestions, assigned }
}

/// `members` ordered from the closest to their group's centre to the farthest (as read, when
/// they have no vectors: a tag's group).
fn most_typical(members: &[usize], vectors: &[Option<Vec<f32>>]) -> Vec<usize> {
    let dim = members.iter().find_map(|&i| vectors[i].as_ref().map(Vec::len)).unwrap_or(0);
    if dim == 0 {
        return members.to_vec();
    }
    let mut centre = vec![0.0f32; dim];
    for v in members.iter().filter_map(|&i| vectors[i].as_ref()) {
        centre.iter_mut().zip(v).for_each(|(c, x)| *c += x);
    }
    let mut scored: Vec<(usize, f32)> = members
        .iter()
        .map(|&i| (i, vectors[i].as_ref().map_or(0.0, |v| v.iter().zip(&centre).map(|(a, b)| a * b).sum())))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.into_iter().map(|(i, _)| i).collect()
}

fn distinct<'a>(texts: impl Iterator<Item = &'a str>, limit: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for text in texts {
        if out.len() == limit {
            break;
        }
        if !text.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(text)) {
            out.push(text.to_string());
        }
    }
    out
}

/// A name from the words the group's messages share most.
fn words_name(members: &[usize], history: &[Past], language: Language) -> String {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for &i in members {
        // Unstemmed, so the name reads as words ("delivery", not "deliveri").
        let analysed: HashSet<String> = crate::reply::analyse(None, language, &history[i].text).into_iter().collect();
        for word in analysed.into_iter().filter(|w| w.chars().count() > 2) {
            *counts.entry(word).or_default() += 1;
        }
    }
    let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let words: Vec<String> = ranked.into_iter().take(2).map(|(w, _)| w).collect();
    slug(&words.join(" "))
}

/// Lowercase letters and digits joined by `_`, starting with a letter, at most 64 characters: a
/// tag keeps all its words (`balance_not_updated_after_bank_transfer` is the export's own name,
/// and the forecast matches it to the tag), whole words only.
fn slug(text: &str) -> String {
    let folded = crate::classify::text::fold(text);
    let mut name = String::new();
    for word in folded.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if name.len() + word.len() + 1 > 64 {
            break;
        }
        if !name.is_empty() {
            name.push('_');
        }
        name.push_str(word);
    }
    match name.chars().next() {
        Some(c) if c.is_ascii_lowercase() => name,
        Some(_) => format!("intent_{name}"),
        None => "intent".into(),
    }
}

fn unique(base: String, taken: &mut HashSet<String>) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

#[cfg(test)]
mod tests;
