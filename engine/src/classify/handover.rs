//! Requests for a person, learned: a logistic head over the encoder's embedding, trained on our
//! own labelled messages (`data/eval/human_requests_dev.csv`: rounds 1–11 in English, Spanish,
//! German, French and Italian), which reads any language the encoder reads — the rule set (`signals::wants_human`)
//! broke on every new phrasing and had to be written per language (docs/design.md, "Step 15").
//!
//! The trained head ships inside the binary (`human_head.bin`, 3 KB), made by `switchboard
//! train-signals` and checked by a test that trains it again from the CSV and gets the same
//! bytes. Where the process has no encoder weights, or the language is one the encoder does not
//! read, the rules decide as before.

use super::encoder::{self, Encoder};
use super::signals;
use switchboard_core::domain::Language;
use switchboard_encoder::Head;
use switchboard_encoder::bytes::Reader;

/// The shipped head and its threshold.
const SHIPPED: &[u8] = include_bytes!("human_head.bin");
const MAGIC: &[u8] = b"SBHH1";

/// The learned detector: flags a message whose probability of asking for a person is at least
/// `threshold` (chosen by cross-validation on the training rows: the highest recall with at most
/// 2 % false alarms there).
#[derive(Debug, Clone, PartialEq)]
pub struct HumanRequests {
    head: Head,
    threshold: f32,
}

impl HumanRequests {
    /// The detector that ships in the binary.
    pub fn shipped() -> &'static HumanRequests {
        static SHIPPED_HEAD: std::sync::OnceLock<HumanRequests> = std::sync::OnceLock::new();
        SHIPPED_HEAD.get_or_init(|| {
            HumanRequests::read(SHIPPED).expect("human_head.bin is written by `switchboard train-signals`")
        })
    }

    /// Trains on labelled messages (`true`: asks for a person), embedded by `encoder`.
    pub fn train(encoder: &Encoder, rows: &[(&str, bool)]) -> Self {
        let texts: Vec<&str> = rows.iter().map(|(t, _)| *t).collect();
        let embeddings = encoder::embed_examples(encoder, &texts);
        let labels: Vec<usize> = rows.iter().map(|(_, h)| usize::from(*h)).collect();
        // The regularisation with the best cross-validated recall at the false-alarm limit; the
        // first of a tie (the strongest).
        let (c, threshold, _) = STRENGTHS
            .iter()
            .map(|&c| {
                let (threshold, recall) = cross_validate(&embeddings, &labels, c);
                tracing::info!(c, threshold, recall, "request-for-a-person head, cross-validated");
                (c, threshold, recall)
            })
            .fold((STRENGTHS[0], 0.5, -1.0), |best, next| if next.2 > best.2 { next } else { best });
        Self { head: Head::train_with(&embeddings, &labels, 2, c), threshold }
    }

    /// The probability that a message with this embedding asks for a person.
    pub fn probability(&self, embedding: &[f32]) -> f32 {
        self.head.probabilities(embedding)[1]
    }

    /// The threshold at and above which a message is flagged.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The file `human_head.bin`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&self.threshold.to_le_bytes());
        self.head.write(&mut out);
        out
    }

    /// Reads [`Self::to_bytes`].
    pub fn read(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        (r.take(MAGIC.len())? == MAGIC).then_some(())?;
        let threshold = r.f32().filter(|t| (0.0..=1.0).contains(t))?;
        let head = Head::read(&mut r, 2)?;
        r.is_empty().then_some(Self { head, threshold })
    }
}

/// Folds of the cross-validation that chooses the threshold.
const FOLDS: usize = 4;
/// The share of other messages the threshold may flag on the training rows' cross-validation.
const FALSE_ALARMS: f64 = 0.02;

/// Inverse L2 strengths tried (scikit-learn's `C`).
const STRENGTHS: [f32; 3] = [10.0, 100.0, 1000.0];

/// Cross-validated on the training rows with inverse L2 strength `c`: the lowest threshold whose
/// false alarms stay at or under [`FALSE_ALARMS`], and the recall there.
fn cross_validate(embeddings: &[f32], labels: &[usize], c: f32) -> (f32, f64) {
    let dim = encoder::DIM;
    let mut scored: Vec<(f32, bool)> = Vec::with_capacity(labels.len());
    for fold in 0..FOLDS {
        let (train, test): (Vec<usize>, Vec<usize>) = (0..labels.len()).partition(|i| i % FOLDS != fold);
        let rows =
            |idx: &[usize]| idx.iter().flat_map(|&i| embeddings[i * dim..(i + 1) * dim].to_vec()).collect::<Vec<_>>();
        let head = Head::train_with(&rows(&train), &train.iter().map(|&i| labels[i]).collect::<Vec<_>>(), 2, c);
        scored
            .extend(test.iter().map(|&i| (head.probabilities(&embeddings[i * dim..(i + 1) * dim])[1], labels[i] == 1)));
    }
    let others = scored.iter().filter(|(_, h)| !h).count().max(1);
    let allowed = (FALSE_ALARMS * others as f64).floor() as usize;
    // The others' probabilities from the highest: the threshold sits just above the
    // (allowed + 1)-th highest, so at most `allowed` of them reach it.
    let mut other_scores: Vec<f32> = scored.iter().filter(|(_, h)| !h).map(|(p, _)| *p).collect();
    other_scores.sort_by(|a, b| b.total_cmp(a));
    let threshold = other_scores.get(allowed).map_or(0.5, |p| (p + 1e-4).min(1.0));
    let requests = scored.iter().filter(|(_, h)| *h).count().max(1);
    let found = scored.iter().filter(|(p, h)| *h && *p >= threshold).count();
    (threshold, found as f64 / requests as f64)
}

/// Whether a message asks for a person: the learned head where the encoder reads the message's
/// language and `embedding` gives its embedding, else the rules over its words.
pub fn wants_human(
    words: &[&str],
    language: Option<Language>,
    embedding: impl FnOnce() -> Option<std::sync::Arc<Vec<f32>>>,
) -> bool {
    let learned = language.is_none_or(encoder::reads).then(embedding).flatten();
    match learned {
        Some(e) => {
            let detector = HumanRequests::shipped();
            detector.probability(&e) >= detector.threshold()
        }
        None => signals::wants_human(words),
    }
}

#[cfg(all(test, feature = "cli"))]
mod tests {
    use super::*;

    fn development_rows() -> Vec<(String, bool)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/eval/human_requests_dev.csv");
        let mut reader = csv::Reader::from_path(path).expect("the development rows");
        reader
            .records()
            .map(|r| {
                let r = r.expect("a row");
                (r[0].to_string(), &r[1] == "human")
            })
            .collect()
    }

    /// The head in the binary is exactly what `switchboard train-signals` makes from the
    /// development rows today: it cannot drift from its data, and training is deterministic.
    #[test]
    fn the_shipped_head_is_what_the_development_rows_train() {
        let encoder = encoder::shared().expect("encoder weights: scripts/fetch-encoder.sh");
        let rows = development_rows();
        let labelled: Vec<(&str, bool)> = rows.iter().map(|(t, h)| (t.as_str(), *h)).collect();
        let trained = HumanRequests::train(encoder, &labelled);
        assert_eq!(trained.to_bytes(), SHIPPED, "run `switchboard train-signals` and commit human_head.bin");
        assert!(trained.threshold() > 0.5 && trained.threshold() < 1.0);
        assert_eq!(HumanRequests::read(&trained.to_bytes()), Some(trained));
    }

    #[test]
    fn it_reads_requests_in_a_language_it_was_not_trained_on_and_falls_back_to_the_rules() {
        // Portuguese: in neither the rules nor the training rows (rounds 1–11).
        let pt = Language::from_code("pt");
        let embed = |text: &str| encoder::shared().map(|e| std::sync::Arc::new(e.embed(text)));
        let ask = "quero falar com uma pessoa, não com um robô";
        assert!(wants_human(&[], pt, || embed(ask)), "Portuguese request");
        assert!(!wants_human(&[], pt, || embed("a que horas a loja fecha no sábado?")), "Portuguese question");
        // No encoder: the rules read the words.
        assert!(wants_human(&["talk", "to", "a", "human"], Some(Language::EN), || None));
        assert!(!wants_human(&["where", "is", "my", "order"], Some(Language::EN), || None));
    }

    #[test]
    fn damaged_files_are_refused() {
        assert!(HumanRequests::read(&SHIPPED[..SHIPPED.len() - 1]).is_none());
        assert!(HumanRequests::read(b"SBHH1").is_none());
        let mut wrong_threshold = SHIPPED.to_vec();
        wrong_threshold[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&2.0f32.to_le_bytes());
        assert!(HumanRequests::read(&wrong_threshold).is_none());
    }
}
