//! Language detection limited to the tenant's languages.

use super::text::words;
use std::collections::{HashMap, HashSet};
use switchboard_core::domain::Language;

/// Detects which of a tenant's languages a message is in.
///
/// Trigram statistics (whatlang) are reliable on sentences but not on the two-word messages
/// customers often send ("hola", "danke!"), so when they are unsure we look the words up in the
/// vocabulary of the tenant's own examples and FAQ in each language.
#[derive(Debug, Clone)]
pub struct LanguageDetector {
    languages: Vec<Language>,
    detector: whatlang::Detector,
    vocabulary: HashMap<String, HashSet<Language>>,
}

impl LanguageDetector {
    /// A detector for `languages`, with `samples` of folded text in each to learn vocabulary from.
    pub fn new<'a>(languages: &[Language], samples: impl IntoIterator<Item = (Language, &'a str)>) -> Self {
        let allow = languages.iter().map(|l| l.detector_lang()).collect();
        let mut vocabulary: HashMap<String, HashSet<Language>> = HashMap::new();
        for (lang, folded) in samples {
            for w in words(folded) {
                vocabulary.entry(w.to_string()).or_default().insert(lang);
            }
        }
        Self { languages: languages.to_vec(), detector: whatlang::Detector::with_allowlist(allow), vocabulary }
    }

    /// The trigram detector's best guess even when it is unsure, for when [`Self::detect`] said
    /// `None`: good enough to pick a sentiment lexicon, not to pick the reply language.
    pub fn guess_unsure(&self, raw: &str) -> Option<Language> {
        self.detector.detect(raw).and_then(|info| Language::from_detected(info.lang()))
    }

    /// The language of `raw` (original text) whose folded words are `folded_words`, or `None`
    /// when the text does not say enough.
    pub fn detect(&self, raw: &str, folded_words: &[&str]) -> Option<Language> {
        if self.languages.len() == 1 {
            return self.languages.first().copied();
        }
        if let Some(info) = self.detector.detect(raw)
            && info.is_reliable()
            && let Some(lang) = Language::from_detected(info.lang())
        {
            return Some(lang);
        }
        // Words that belong to exactly one language are evidence; shared ones ("ok", "no") are not.
        let mut votes: HashMap<Language, u32> = HashMap::new();
        for w in folded_words {
            if let Some(langs) = self.vocabulary.get(*w)
                && langs.len() == 1
                && let Some(lang) = langs.iter().next()
            {
                *votes.entry(*lang).or_default() += 1;
            }
        }
        let mut ranked: Vec<(Language, u32)> = votes.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        match ranked.as_slice() {
            [(lang, _)] => Some(*lang),
            [(lang, a), (_, b), ..] if a > b => Some(*lang),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::text::fold;

    fn detector() -> LanguageDetector {
        let en = Language::from_code("en").unwrap();
        let es = Language::from_code("es").unwrap();
        let de = Language::from_code("de").unwrap();
        LanguageDetector::new(
            &[en, es, de],
            [(en, "hello where is my order"), (es, "hola donde esta mi pedido"), (de, "hallo wo ist meine bestellung")],
        )
    }

    fn detect(d: &LanguageDetector, text: &str) -> Option<&'static str> {
        let folded = fold(text);
        let ws: Vec<&str> = words(&folded).collect();
        d.detect(text, &ws).map(|l| l.code())
    }

    #[test]
    fn detects_sentences_and_short_greetings() {
        let d = detector();
        assert_eq!(detect(&d, "Hello, I would like to know where my order is, please"), Some("en"));
        assert_eq!(detect(&d, "Hola, quisiera saber dónde está mi pedido por favor"), Some("es"));
        assert_eq!(detect(&d, "Hallo, ich möchte wissen, wo meine Bestellung ist"), Some("de"));
        assert_eq!(detect(&d, "hola"), Some("es"));
        assert_eq!(detect(&d, "ok"), None);
    }
}
