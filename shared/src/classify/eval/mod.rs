//! `switchboard eval`: how well the local tier understands, measured on labelled data.
//!
//! One module per task: [`intent`] (accuracy, calibration), [`scope`] (refusing what no intent
//! covers), [`signals`] (sentiment, requests for a person, language). Every report carries its
//! speed and model size, because a figure without its cost is half a figure. Thresholds are
//! always chosen on validation rows and only then applied to the test rows.

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

/// The language a deployment for English, Spanish and German customers would detect in `text`
/// (benchmark rows carry no language; the encoder is asked only for English messages).
pub(crate) fn language_of(text: &str) -> Option<crate::domain::Language> {
    use crate::classify::LanguageDetector;
    use crate::domain::Language;
    static DETECTOR: std::sync::OnceLock<LanguageDetector> = std::sync::OnceLock::new();
    let detector = DETECTOR.get_or_init(|| {
        let languages: Vec<Language> = ["en", "es", "de"].into_iter().filter_map(Language::from_code).collect();
        LanguageDetector::new(&languages, [])
    });
    let folded = crate::classify::text::fold(text);
    let words: Vec<&str> = crate::classify::text::words(&folded).collect();
    detector.detect(text, &words).or_else(|| detector.guess_unsure(text))
}

/// Mean wall time per item in microseconds of `f` over `items`.
pub(crate) fn mean_us<T>(items: &[T], mut f: impl FnMut(&T)) -> f64 {
    let started = std::time::Instant::now();
    items.iter().for_each(&mut f);
    started.elapsed().as_secs_f64() * 1e6 / items.len().max(1) as f64
}
