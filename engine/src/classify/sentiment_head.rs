//! Sentiment, learned: a three-way logistic head (negative, neutral, positive) over the
//! multilingual encoder's embedding, trained on customer-service messages of our own
//! (`data/eval/sentiment_dev.csv`, English, Spanish and German; the tweet sets may only be used
//! to evaluate), calibrated by temperature. Its score is P(positive) − P(negative): because the
//! probabilities are calibrated, a tenant's "negative at or below −0.5" means the same in every
//! language, which the lexicons' sums of word valences did not (docs/design.md, "Step 15").
//!
//! Ships inside the binary (`sentiment_head.bin`, made by `switchboard train-signals`, checked by
//! a test that trains it again); where there is no encoder, or the language is one it does not
//! read, the lexicons score as before.

use super::encoder::{self, Encoder};
use super::sentiment as lexicons;
use switchboard_core::domain::{Language, Sentiment, SentimentLabel};
use switchboard_encoder::Head;
use switchboard_encoder::bytes::Reader;

const SHIPPED: &[u8] = include_bytes!("sentiment_head.bin");
const MAGIC: &[u8] = b"SBSH1";
/// The head's labels, in index order.
pub const LABELS: [&str; 3] = ["negative", "neutral", "positive"];

/// The learned sentiment model.
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentHead(Head);

impl SentimentHead {
    /// The head that ships in the binary.
    pub fn shipped() -> &'static SentimentHead {
        static SHIPPED_HEAD: std::sync::OnceLock<SentimentHead> = std::sync::OnceLock::new();
        SHIPPED_HEAD.get_or_init(|| {
            SentimentHead::read(SHIPPED).expect("sentiment_head.bin is written by `switchboard train-signals`")
        })
    }

    /// Trains on labelled messages (labels from [`LABELS`]; other rows are skipped).
    pub fn train(encoder: &Encoder, rows: &[(&str, &str)]) -> Self {
        let rows: Vec<(&str, usize)> =
            rows.iter().filter_map(|(t, l)| Some((*t, LABELS.iter().position(|x| x == l)?))).collect();
        let texts: Vec<&str> = rows.iter().map(|(t, _)| *t).collect();
        let labels: Vec<usize> = rows.iter().map(|(_, l)| *l).collect();
        Self(Head::train(&encoder::embed_examples(encoder, &texts), &labels, LABELS.len()))
    }

    /// The sentiment of a message with this embedding.
    pub fn sentiment(&self, embedding: &[f32]) -> Sentiment {
        let p = self.0.probabilities(embedding);
        let best = (0..LABELS.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(1);
        let label = [SentimentLabel::Negative, SentimentLabel::Neutral, SentimentLabel::Positive][best];
        Sentiment { label, score: (p[2] - p[0]).clamp(-1.0, 1.0) }
    }

    /// The file `sentiment_head.bin`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        self.0.write(&mut out);
        out
    }

    /// Reads [`Self::to_bytes`].
    pub fn read(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        (r.take(MAGIC.len())? == MAGIC).then_some(())?;
        let head = Head::read(&mut r, LABELS.len())?;
        r.is_empty().then_some(Self(head))
    }
}

/// A message's sentiment: the learned head where the encoder reads its language and `embedding`
/// gives its embedding, else the lexicons over its words.
pub fn sentiment(
    raw: &str,
    words: &[&str],
    language: Option<Language>,
    embedding: impl FnOnce() -> Option<std::sync::Arc<Vec<f32>>>,
) -> Sentiment {
    match language.is_none_or(encoder::reads).then(embedding).flatten() {
        Some(e) => SentimentHead::shipped().sentiment(&e),
        None => lexicons::sentiment(raw, words, language),
    }
}

#[cfg(all(test, feature = "cli"))]
mod tests {
    use super::*;

    /// The head in the binary is what the development rows train today.
    #[test]
    fn the_shipped_head_is_what_the_development_rows_train() {
        let encoder = encoder::shared().expect("encoder weights: scripts/fetch-encoder.sh");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/eval/sentiment_dev.csv");
        let mut reader = csv::Reader::from_path(path).expect("the development rows");
        let rows: Vec<(String, String)> =
            reader.records().map(|r| r.expect("a row")).map(|r| (r[0].to_string(), r[1].to_string())).collect();
        let labelled: Vec<(&str, &str)> = rows.iter().map(|(t, l)| (t.as_str(), l.as_str())).collect();
        let trained = SentimentHead::train(encoder, &labelled);
        assert_eq!(trained.to_bytes(), SHIPPED, "run `switchboard train-signals` and commit sentiment_head.bin");
    }

    #[test]
    fn it_reads_anger_and_thanks_in_a_language_it_was_not_trained_on() {
        let it = Language::from_code("it");
        let embed = |text: &str| encoder::shared().map(|e| std::sync::Arc::new(e.embed(text)));
        let angry = "sono furioso, il pacco è arrivato distrutto per la terza volta";
        let pleased = "grazie mille, tutto perfetto e consegna velocissima";
        let (a, p) = (sentiment(angry, &[], it, || embed(angry)), sentiment(pleased, &[], it, || embed(pleased)));
        assert_eq!((a.label, p.label), (SentimentLabel::Negative, SentimentLabel::Positive), "{a:?} {p:?}");
        assert!(a.score < -0.5 && p.score > 0.5, "{a:?} {p:?}");
        // No encoder: the lexicons.
        let words = ["this", "is", "terrible"];
        assert_eq!(sentiment("this is terrible", &words, Some(Language::EN), || None).label, SentimentLabel::Negative);
    }

    #[test]
    fn damaged_files_are_refused() {
        assert!(SentimentHead::read(&SHIPPED[..SHIPPED.len() - 1]).is_none());
        assert!(SentimentHead::read(b"SBSH1").is_none());
    }
}
