//! FAQ retrieval: BM25 over the tenant's own entries, per language. The bot answers with an
//! entry's text word for word, or not at all: retrieval never invents.

use crate::classify::text::{fold, words};
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::HashMap;
use switchboard_core::config::FaqEntry;
use switchboard_core::domain::Language;

const K1: f32 = 1.2;
const B: f32 = 0.75;

/// A match: the entry and how well it matched.
#[derive(Debug, Clone, PartialEq)]
pub struct FaqHit<'a> {
    /// The entry.
    pub entry: &'a FaqEntry,
    /// BM25 score.
    pub score: f32,
    /// Share of the query's distinct words that the entry contains, 0..=1.
    pub coverage: f32,
}

struct Doc {
    entry: usize,
    terms: HashMap<String, f32>,
    len: f32,
}

struct LanguageIndex {
    stemmer: Option<Stemmer>,
    docs: Vec<Doc>,
    df: HashMap<String, f32>,
    avg_len: f32,
}

/// The FAQ of one tenant, indexed.
pub struct FaqIndex {
    entries: Vec<FaqEntry>,
    by_language: HashMap<Language, LanguageIndex>,
    min_coverage: f32,
}

impl std::fmt::Debug for FaqIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaqIndex").field("entries", &self.entries.len()).finish()
    }
}

impl FaqIndex {
    /// Indexes `entries`. A hit must contain at least `min_coverage` of the query's words.
    pub fn new(entries: Vec<FaqEntry>, min_coverage: f32) -> Self {
        let mut by_language: HashMap<Language, LanguageIndex> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let index = by_language.entry(e.language).or_insert_with(|| LanguageIndex {
                stemmer: stemmer(e.language),
                docs: Vec::new(),
                df: HashMap::new(),
                avg_len: 0.0,
            });
            // The question counts twice: it is what customers paraphrase.
            let text = format!("{q} {q} {} {}", e.keywords.join(" "), e.answer, q = e.question);
            let mut terms: HashMap<String, f32> = HashMap::new();
            let mut len = 0.0;
            for t in analyse(index.stemmer.as_ref(), e.language, &text) {
                *terms.entry(t).or_default() += 1.0;
                len += 1.0;
            }
            for t in terms.keys() {
                *index.df.entry(t.clone()).or_default() += 1.0;
            }
            index.docs.push(Doc { entry: i, terms, len });
        }
        for index in by_language.values_mut() {
            index.avg_len = index.docs.iter().map(|d| d.len).sum::<f32>() / index.docs.len().max(1) as f32;
        }
        Self { entries, by_language, min_coverage }
    }

    /// The best entry in `language` for `query`, restricted to entries that serve `intent` (or
    /// serve any intent), if one matches well enough to be sent word for word.
    pub fn best(&self, query: &str, language: Language, intent: Option<&str>) -> Option<FaqHit<'_>> {
        self.search(query, language, intent).into_iter().find(|h| h.coverage >= self.min_coverage)
    }

    /// Up to `k` entries sharing at least `min_coverage` of the query's words, best first: the
    /// context a hosted model may answer from when no single entry fits word for word.
    pub fn candidates(
        &self,
        query: &str,
        language: Language,
        intent: Option<&str>,
        k: usize,
        min_coverage: f32,
    ) -> Vec<FaqHit<'_>> {
        self.search(query, language, intent).into_iter().filter(|h| h.coverage >= min_coverage).take(k).collect()
    }

    /// Every entry that shares a word with the query, by BM25 score.
    fn search(&self, query: &str, language: Language, intent: Option<&str>) -> Vec<FaqHit<'_>> {
        let Some(index) = self.by_language.get(&language) else { return Vec::new() };
        let mut q = analyse(index.stemmer.as_ref(), language, query);
        q.sort();
        q.dedup();
        if q.is_empty() {
            return Vec::new();
        }
        let n = index.docs.len() as f32;
        let idf = |t: &str| {
            let df = index.df.get(t).copied().unwrap_or(0.0);
            ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
        };
        let mut hits: Vec<FaqHit<'_>> = index
            .docs
            .iter()
            .filter(|d| {
                let e = &self.entries[d.entry];
                e.intents.is_empty() || intent.is_some_and(|i| e.intents.iter().any(|x| x == i))
            })
            .filter_map(|d| {
                let mut score = 0.0;
                let mut matched = 0.0;
                for t in &q {
                    let Some(&tf) = d.terms.get(t) else { continue };
                    matched += 1.0;
                    score += idf(t) * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * d.len / index.avg_len));
                }
                // Coverage, not score, decides whether to answer: BM25 scores are not comparable
                // across queries, and one shared word ("card") must not pick an answer.
                let coverage = matched / q.len() as f32;
                (score > 0.0).then(|| FaqHit { entry: &self.entries[d.entry], score, coverage })
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits
    }
}

/// The Snowball stemmer of `language`, when there is one.
pub(crate) fn stemmer(language: Language) -> Option<Stemmer> {
    let algorithm = match language.code() {
        "en" => Algorithm::English,
        "es" => Algorithm::Spanish,
        "de" => Algorithm::German,
        "fr" => Algorithm::French,
        "it" => Algorithm::Italian,
        "pt" => Algorithm::Portuguese,
        "nl" => Algorithm::Dutch,
        "sv" => Algorithm::Swedish,
        "da" => Algorithm::Danish,
        "fi" => Algorithm::Finnish,
        "ro" => Algorithm::Romanian,
        "tr" => Algorithm::Turkish,
        "ru" => Algorithm::Russian,
        "el" => Algorithm::Greek,
        "ar" => Algorithm::Arabic,
        _ => return None,
    };
    Some(Stemmer::create(algorithm))
}

/// Words that carry no topic; without dropping them "how do I" would match every FAQ entry.
fn is_stopword(language: Language, w: &str) -> bool {
    const EN: &[&str] = &[
        "a", "an", "the", "i", "me", "my", "you", "your", "we", "our", "it", "is", "are", "was", "be", "do", "does",
        "did", "can", "could", "would", "will", "to", "of", "in", "on", "for", "with", "and", "or", "what", "how",
        "when", "where", "which", "who", "this", "that", "there", "have", "has", "hi", "hello", "please", "thanks",
        "at", "from", "about", "any", "get", "im", "if", "so", "us", "much", "many", "will", "should", "need", "want",
        "like", "know", "yet", "just",
    ];
    const ES: &[&str] = &[
        "el", "la", "los", "las", "un", "una", "de", "del", "y", "o", "en", "a", "al", "que", "mi", "mis", "tu", "su",
        "es", "son", "se", "me", "por", "para", "con", "como", "cuando", "donde", "cual", "hola", "puedo", "lo", "le",
        "favor", "gracias", "hay", "esta", "este", "tienen", "teneis", "sus",
    ];
    const DE: &[&str] = &[
        "der", "die", "das", "ein", "eine", "einen", "und", "oder", "ich", "mein", "meine", "meinen", "sie", "ihr",
        "ist", "sind", "zu", "von", "mit", "fur", "auf", "wie", "wann", "wo", "was", "kann", "konnen", "hallo",
        "bitte", "danke", "es", "den", "dem", "im", "in", "an", "ihre", "ihren", "gibt",
    ];
    let list: &[&str] = match language.code() {
        "en" => EN,
        "es" => ES,
        "de" => DE,
        _ => &[],
    };
    list.contains(&w)
}

/// The words of `text` that say what it is about: folded, stop words dropped, stemmed.
pub(crate) fn analyse(stemmer: Option<&Stemmer>, language: Language, text: &str) -> Vec<String> {
    let folded = fold(text);
    words(&folded)
        .filter(|w| !is_stopword(language, w))
        .map(|w| match stemmer {
            Some(s) => s.stem(w).into_owned(),
            None => w.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, lang: &str, q: &str, a: &str, intents: &[&str]) -> FaqEntry {
        FaqEntry {
            id: id.into(),
            language: Language::from_code(lang).unwrap(),
            question: q.into(),
            answer: a.into(),
            keywords: vec![],
            intents: intents.iter().map(|s| s.to_string()).collect(),
            source: None,
        }
    }

    fn index() -> FaqIndex {
        FaqIndex::new(
            vec![
                entry("ship", "en", "How long does shipping take?", "2 to 4 business days.", &[]),
                entry("pay", "en", "Which payment methods do you accept?", "Cards and PayPal.", &["payments"]),
                entry("envio", "es", "¿Cuánto tarda el envío?", "De 2 a 4 días laborables.", &[]),
            ],
            0.5,
        )
    }

    #[test]
    fn finds_paraphrases_with_stemming() {
        let idx = index();
        assert_eq!(idx.best("how long will shipping take", Language::EN, None).unwrap().entry.id, "ship");
        let es = Language::from_code("es").unwrap();
        assert_eq!(idx.best("cuanto tarda el envio a canarias", es, None).unwrap().entry.id, "envio");
    }

    #[test]
    fn no_match_means_no_answer() {
        let idx = index();
        assert!(idx.best("can I bring my dog to the store", Language::EN, None).is_none());
        assert!(idx.best("how do I", Language::EN, None).is_none());
        assert!(idx.best("shipping", Language::from_code("de").unwrap(), None).is_none());
    }

    #[test]
    fn candidates_are_looser_than_answers_and_ranked() {
        let idx = index();
        assert!(idx.best("how fast do you deliver parcels to Lisbon", Language::EN, None).is_none());
        let c = idx.candidates("how long does shipping to Lisbon take", Language::EN, None, 3, 0.25);
        assert_eq!(c.first().map(|h| h.entry.id.as_str()), Some("ship"));
        assert!(c.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(idx.candidates("dog", Language::EN, None, 3, 0.25).is_empty());
    }

    #[test]
    fn entries_tied_to_intents_answer_only_those_intents() {
        let idx = index();
        assert!(idx.best("payment methods accepted", Language::EN, None).is_none());
        assert_eq!(idx.best("payment methods accepted", Language::EN, Some("payments")).unwrap().entry.id, "pay");
    }
}
