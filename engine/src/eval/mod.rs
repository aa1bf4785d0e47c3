//! `switchboard eval`: how well the local tier understands, measured on labelled data.
//!
//! One module per task: [`intent`] (accuracy, calibration), [`scope`] (refusing what no intent
//! covers), [`signals`] (sentiment, requests for a person, language). Every report carries its
//! speed and model size, because a figure without its cost is half a figure. Thresholds are
//! always chosen on validation rows and only then applied to the test rows.

pub mod clusters;
pub mod intent;
pub mod scope;
pub mod signals;
pub mod tenant;

mod metrics;

pub use intent::{EvalReport, evaluate};

/// One labelled row: a message, its label (an intent, a sentiment, `human`, a language code) and,
/// where the file says, the message's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The message.
    pub text: String,
    /// The gold label.
    pub label: String,
    /// The message's language code, when the data gives one.
    pub language: Option<String>,
}

impl Row {
    /// A row without a language.
    pub fn new(text: impl Into<String>, label: impl Into<String>) -> Self {
        Self { text: text.into(), label: label.into(), language: None }
    }
}

/// Keeps the first `n` rows of each label, in file order (few-shot runs are reproducible).
pub fn first_per_label(rows: Vec<Row>, n: usize) -> Vec<Row> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    rows.into_iter()
        .filter(|r| {
            let count = seen.entry(r.label.clone()).or_default();
            *count += 1;
            *count <= n
        })
        .collect()
}

/// The languages a business with these training examples would declare, and the detector its
/// classifier would run (with the examples' vocabulary, as in production): the rows' own language
/// codes where the file gives them, otherwise each language the trigram detector reliably finds in
/// at least a tenth of the rows it is sure of. Benchmark files carry no language, and a detector
/// for every language guesses wrong on short messages — "What do I do if my card is stolen?" reads
/// as German to one for English, Spanish and German — while a bank with BANKING77's intents would
/// declare English, and MASSIVE's German half is a German business.
pub(crate) struct TenantLanguages {
    languages: Vec<switchboard_core::domain::Language>,
    detector: crate::classify::LanguageDetector,
}

impl TenantLanguages {
    /// The languages of `train`; English, Spanish and German when none is found.
    pub(crate) fn of(train: &[Row]) -> Self {
        use crate::classify::text::fold;
        use switchboard_core::domain::Language;
        let tagged: Vec<(Language, String)> = train
            .iter()
            .filter_map(|r| {
                let language = match &r.language {
                    Some(code) => Language::from_code(code),
                    None => whatlang::detect(&r.text)
                        .filter(whatlang::Info::is_reliable)
                        .and_then(|info| Language::from_detected(info.lang())),
                }?;
                Some((language, fold(&r.text)))
            })
            .collect();
        let mut counts: std::collections::BTreeMap<Language, usize> = Default::default();
        tagged.iter().for_each(|(l, _)| *counts.entry(*l).or_default() += 1);
        let mut languages: Vec<Language> =
            counts.into_iter().filter(|(_, n)| n * 10 >= tagged.len()).map(|(l, _)| l).collect();
        if languages.is_empty() {
            languages = ["en", "es", "de"].into_iter().filter_map(Language::from_code).collect();
        }
        let samples = tagged.iter().filter(|(l, _)| languages.contains(l)).map(|(l, t)| (*l, t.as_str()));
        let detector = crate::classify::LanguageDetector::new(&languages, samples);
        Self { languages, detector }
    }

    /// The encoder heads the tenant's classifier would train.
    pub(crate) fn heads(&self) -> crate::classify::Heads {
        crate::classify::Heads::for_languages(self.languages.iter().copied())
    }

    /// The language the classifier would pass on for `text` (a guess when unsure, as for the
    /// sentiment lexicon).
    pub(crate) fn of_text(&self, text: &str) -> Option<switchboard_core::domain::Language> {
        let folded = crate::classify::text::fold(text);
        let words: Vec<&str> = crate::classify::text::words(&folded).collect();
        self.detector.detect(text, &words).or_else(|| self.detector.guess_unsure(text))
    }
}

/// Mean wall time per item in microseconds of `f` over `items`.
pub(crate) fn mean_us<T>(items: &[T], mut f: impl FnMut(&T)) -> f64 {
    let started = std::time::Instant::now();
    items.iter().for_each(&mut f);
    started.elapsed().as_secs_f64() * 1e6 / items.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use switchboard_core::domain::Language;

    /// BANKING77's messages are English, as a bank's tenant declaring `languages: [en]` would
    /// get them; a detector for English, Spanish and German guesses German for this one, and
    /// the encoder, which reads English only, was then never asked.
    #[test]
    fn an_english_data_set_is_read_as_an_english_tenant_reads_it() {
        let train = [
            super::Row::new("Could you please tell me what I should do now that somebody has stolen my card?", "lost"),
            super::Row::new(
                "I think that I have lost my card somewhere in the city, and I would like a new one",
                "lost",
            ),
            super::Row::new("card gone", "lost"),
        ];
        let english = super::TenantLanguages::of(&train);
        assert_eq!(english.of_text("What do I do if my card is stolen?"), Some(Language::EN));
        let mixed = [
            ("I lost my card yesterday", "en"),
            ("He perdido mi tarjeta", "es"),
            ("Ich habe meine Karte verloren", "de"),
        ]
        .map(|(text, code)| super::Row { language: Some(code.into()), ..super::Row::new(text, "lost") });
        let mixed = super::TenantLanguages::of(&mixed);
        assert_eq!(mixed.of_text("Ich habe meine Karte verloren, was nun?"), Some(Language::from_code("de").unwrap()));
        assert_eq!(mixed.of_text("tarjeta perdida"), Some(Language::from_code("es").unwrap()));
    }
}
