//! Language detection limited to the tenant's languages.

use super::text::words;
use std::collections::{HashMap, HashSet};
use switchboard_core::domain::Language;

// Read by the tenant report, which only the CLI builds.
#[cfg(any(test, feature = "cli"))]
pub use models::modelled;

/// The n-gram models' least confidence in their best language for it to be named; below it the
/// message says too little ("ok", "si", "hello"), and `None` lets the reply keep the
/// conversation's language, where a wrong guess would switch it. Chosen on validation rows (en,
/// es, de, fr, it: no Portuguese or Dutch among them): the lowest value naming each of those
/// languages with at least 99 % precision (docs/design.md, "Step 15").
const MIN_CONFIDENCE: f64 = 0.6;

/// Detects which of a tenant's languages a message is in.
///
/// Three readers, surest first. Trigram statistics (whatlang) are right on sentences when they
/// say they are sure, but unsure on half of the short messages customers send ("hola",
/// "danke!", "wecke mich um fünf"). Then, where every tenant language has one, the character
/// n-gram models (1–5 grams, lingua), which read short text far better than trigrams, when they
/// are confident. Then the vocabulary of the tenant's own examples and FAQ in each language: a
/// word only one language uses is evidence where the models are unsure (single greetings:
/// "hello" looks Spanish to them) or absent. Models before vocabulary: on validation a single
/// Spanish word outvoted the models on Italian and Portuguese messages.
#[derive(Debug, Clone)]
pub struct LanguageDetector {
    languages: Vec<Language>,
    detector: whatlang::Detector,
    models: Option<models::Models>,
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
        let models = models::Models::new(languages);
        Self { languages: languages.to_vec(), detector: whatlang::Detector::with_allowlist(allow), vocabulary, models }
    }

    /// The best guess even when unsure, for when [`Self::detect`] said `None`: good enough to
    /// pick a sentiment lexicon, not to pick the reply language.
    pub fn guess_unsure(&self, raw: &str) -> Option<Language> {
        let trigrams = || self.detector.detect(raw).and_then(|info| Language::from_detected(info.lang()));
        match &self.models {
            Some(models) => models.best(raw).map(|(language, _)| language).or_else(trigrams),
            None => trigrams(),
        }
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
        self.by_models(raw).or_else(|| self.by_vocabulary(folded_words))
    }

    /// Words that belong to exactly one language are evidence; shared ones ("ok", "no") are not.
    fn by_vocabulary(&self, folded_words: &[&str]) -> Option<Language> {
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

    fn by_models(&self, raw: &str) -> Option<Language> {
        let (language, confidence) = self.models.as_ref()?.best(raw)?;
        (confidence >= MIN_CONFIDENCE).then_some(language)
    }
}

/// lingua's models (Apache-2.0, from crates.io).
mod models {
    use std::sync::Arc;
    use switchboard_core::domain::Language;

    /// The languages whose models are built in: the Western European languages of the shops we
    /// serve first. Each costs 4–6 MB of binary, so not every language is here; a tenant with
    /// any other language keeps the trigrams and its vocabulary (docs/design.md, "Step 15").
    const MODELLED: &[(&str, lingua::Language)] = &[
        ("en", lingua::Language::English),
        ("es", lingua::Language::Spanish),
        ("de", lingua::Language::German),
        ("fr", lingua::Language::French),
        ("it", lingua::Language::Italian),
        ("pt", lingua::Language::Portuguese),
        ("nl", lingua::Language::Dutch),
    ];

    /// Whether `language` has a built-in model.
    #[cfg(any(test, feature = "cli"))]
    pub fn modelled(language: Language) -> bool {
        MODELLED.iter().any(|(code, _)| *code == language.code())
    }

    /// The models of a tenant's languages, shared by clones of its classifier (read-only).
    #[derive(Clone)]
    pub(super) struct Models(Arc<lingua::LanguageDetector>);

    impl Models {
        /// Models for `languages` if every one has a model (they cannot name a language they
        /// lack) and there are two to choose between.
        pub(super) fn new(languages: &[Language]) -> Option<Self> {
            let to_lingua = |l: &Language| MODELLED.iter().find(|(code, _)| *code == l.code()).map(|(_, m)| *m);
            let mut modelled: Vec<lingua::Language> = languages.iter().map(to_lingua).collect::<Option<_>>()?;
            modelled.sort();
            modelled.dedup();
            (modelled.len() > 1)
                .then(|| Self(Arc::new(lingua::LanguageDetectorBuilder::from_languages(&modelled).build())))
        }

        /// The likeliest language and its probability among the tenant's.
        pub(super) fn best(&self, raw: &str) -> Option<(Language, f64)> {
            // Text with no letters scores every language 0.0, in no particular order: no answer.
            let (best, confidence) = self.0.compute_language_confidence_values(raw).into_iter().next()?;
            if confidence <= 0.0 {
                return None;
            }
            let code = MODELLED.iter().find(|(_, m)| *m == best).map(|(code, _)| *code)?;
            Some((Language::from_code(code)?, confidence))
        }
    }

    impl std::fmt::Debug for Models {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Models(lingua)")
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

    /// Short messages with no word from the tenant's examples: the trigrams decline them, the
    /// n-gram models name them.
    #[test]
    fn the_models_read_short_messages_without_the_tenants_words() {
        let d = detector();
        assert!(d.models.is_some());
        assert_eq!(detect(&d, "wecke mich um fünf uhr"), Some("de"));
        assert_eq!(detect(&d, "necesito ayuda urgente"), Some("es"));
        assert_eq!(detect(&d, "what time do you close"), Some("en"));
        // Too short for the models, and a word of the tenant's English examples: the vocabulary.
        assert_eq!(detect(&d, "hello"), Some("en"));
        // Nothing to go on: no guess, so the reply keeps the conversation's language.
        assert_eq!(detect(&d, "12345 ??"), None);
    }

    /// Text with no letters gives lingua nothing: it then lists every language at 0.0 in a
    /// per-process random order, which must not become a guess (it picked the encoder, so an
    /// order number's intent changed from one cold start to the next).
    #[test]
    fn no_letters_no_guess() {
        let d = detector();
        for text in ["12345", "👍", "??", "#4471-22"] {
            assert_eq!(d.guess_unsure(text), None, "{text}");
            assert_eq!(detect(&d, text), None, "{text}");
        }
    }

    /// Languages without a model (Polish) keep the trigrams and the vocabulary, for the whole
    /// tenant: the models cannot name a language they do not have.
    #[test]
    fn a_tenant_with_a_language_without_a_model_keeps_the_trigrams_and_its_words() {
        let en = Language::EN;
        let pl = Language::from_code("pl").unwrap();
        assert!(!modelled(pl) && modelled(en));
        let d = LanguageDetector::new(&[en, pl], [(en, "where is my order"), (pl, "gdzie jest moje zamowienie")]);
        assert!(d.models.is_none());
        assert_eq!(detect(&d, "Dzień dobry, chciałbym zapytać, gdzie jest moje zamówienie"), Some("pl"));
        assert_eq!(detect(&d, "zamowienie"), Some("pl"));
        assert_eq!(detect(&d, "order"), Some("en"));
    }
}
