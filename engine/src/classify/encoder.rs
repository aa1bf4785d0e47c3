//! The process's sentence encoders — multilingual-e5-small for every language, all-MiniLM-L6-v2
//! for English intents — where their weights are found, when they are mapped, which messages
//! they read (the models themselves are the `switchboard-encoder` crate).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use switchboard_core::domain::Language;
pub use switchboard_encoder::{DIM, Encoder, PackError, pack, pack_minilm};

/// The languages a tenant may configure (`Language`) that the encoder read in training.
/// multilingual-e5-small was trained on XLM-RoBERTa's hundred languages, which include all of
/// these; a language added to `Language` without being added here stays with the n-gram model
/// (and the tenant report says so).
pub const ENCODER_LANGUAGES: [&str; 23] = [
    "en", "es", "de", "fr", "it", "pt", "nl", "pl", "sv", "da", "fi", "cs", "ro", "tr", "ru", "uk", "el", "ar", "he",
    "hi", "ja", "ko", "zh",
];

/// Whether the encoder reads `language`.
pub fn reads(language: Language) -> bool {
    ENCODER_LANGUAGES.contains(&language.code())
}

/// Where a packed weights file is looked for, first found wins: the environment variable, the
/// Lambda layer's `/opt/switchboard/{file}`, and this checkout's `.local/encoder/{file}` (what
/// `scripts/fetch-encoder.sh` writes).
fn weight_paths(variable: &str, file: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::env::var_os(variable).map(Into::into).into_iter().collect();
    paths.push(PathBuf::from("/opt/switchboard").join(file));
    paths.push(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/encoder")).join(file));
    paths
}

/// The multilingual encoder (multilingual-e5-small): `SWITCHBOARD_ENCODER`, else `encoder.bin`.
const MULTILINGUAL: (&str, &str) = ("SWITCHBOARD_ENCODER", "encoder.bin");
/// The English encoder (all-MiniLM-L6-v2): `SWITCHBOARD_ENCODER_EN`, else `encoder-en.bin`.
const ENGLISH: (&str, &str) = ("SWITCHBOARD_ENCODER_EN", "encoder-en.bin");

fn open((variable, file): (&str, &str)) -> Option<Encoder> {
    let path = weight_paths(variable, file).into_iter().find(|p| p.is_file())?;
    match Encoder::open(&path) {
        Ok(encoder) => Some(encoder),
        Err(error) => {
            tracing::error!(path = %path.display(), %error, "encoder weights unreadable; n-gram model only");
            None
        }
    }
}

/// The process's multilingual encoder, mapped on first use (mapping costs microseconds; the
/// pages of the weights are read as a message first needs them); `None` when there is none — the
/// local tier then runs on the n-gram model and the rules, and [`status`] says so in the
/// cold-start log line.
pub fn shared() -> Option<&'static Encoder> {
    static ENCODER: OnceLock<Option<Encoder>> = OnceLock::new();
    ENCODER.get_or_init(|| open(MULTILINGUAL)).as_ref()
}

/// The process's English encoder, as [`shared`].
pub fn english() -> Option<&'static Encoder> {
    static ENCODER: OnceLock<Option<Encoder>> = OnceLock::new();
    ENCODER.get_or_init(|| open(ENGLISH)).as_ref()
}

/// For the cold-start log line: which weights files the encoders would map, without mapping them.
pub fn status() -> String {
    let found = |(variable, file): (&str, &str)| weight_paths(variable, file).into_iter().find(|p| p.is_file());
    match (found(MULTILINGUAL), found(ENGLISH)) {
        (Some(m), Some(e)) => format!("encoder weights at {} and {}", m.display(), e.display()),
        (Some(m), None) => format!("multilingual encoder weights at {}; no English encoder", m.display()),
        (None, Some(e)) => format!("English encoder weights at {}; no multilingual encoder", e.display()),
        (None, None) => "no encoder weights (scripts/fetch-encoder.sh fetches them): n-gram model only".into(),
    }
}

/// The embeddings of `texts`, concatenated in order, computed on every core in batches (one
/// packing of each weight matrix per batch: [`Encoder::embed_batch`]): a tenant's few hundred
/// examples, which a `tenants-put` or a `serve` start waits for.
///
/// Remembered: a process that trains the same tenant again (a reload after its YAML changed,
/// every test that builds the demo tenant) embeds each example once. Bounded, because a process
/// may train many tenants.
pub fn embed_examples(encoder: &Encoder, texts: &[&str]) -> Vec<f32> {
    const LIMIT: usize = 8192;
    // Keyed by the encoder too: the same text has another embedding in each model.
    type Memo = HashMap<(u64, String), Vec<f32>>;
    static MEMO: OnceLock<Mutex<Memo>> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    let model = encoder.fingerprint();
    let mut known: HashMap<&str, Vec<f32>> = HashMap::new();
    {
        let memo = switchboard_core::sync::lock(memo);
        for &text in texts {
            if let Some(hit) = memo.get(&(model, text.to_string())) {
                known.insert(text, hit.clone());
            }
        }
    }
    let mut missing: Vec<&str> = texts.iter().copied().filter(|t| !known.contains_key(t)).collect();
    missing.sort_unstable();
    missing.dedup();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = missing.len().div_ceil(threads).max(1);
    let fresh: Vec<(&str, Vec<f32>)> = std::thread::scope(|scope| {
        let parts: Vec<_> = missing
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().copied().zip(encoder.embed_batch(part)).collect::<Vec<_>>()))
            .collect();
        // A panic in a worker is a bug in the encoder, as it would be on one thread.
        parts.into_iter().flat_map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    {
        let mut memo = switchboard_core::sync::lock(memo);
        if memo.len() + fresh.len() > LIMIT {
            memo.clear();
        }
        memo.extend(fresh.iter().take(LIMIT).map(|(t, e)| ((model, t.to_string()), e.clone())));
    }
    known.extend(fresh);
    texts.iter().flat_map(|t| known[*t].iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memo of example embeddings is per encoder: a text embedded by the English encoder and
    /// then by the multilingual one gets each encoder's own vector (an intent model with both
    /// heads embeds its examples twice, once per encoder).
    #[test]
    fn remembered_embeddings_are_each_encoders_own() {
        let (Some(english), Some(multilingual)) = (english(), shared()) else {
            panic!("encoder weights: scripts/fetch-encoder.sh (scripts/test.sh runs it)");
        };
        assert_ne!(english.fingerprint(), multilingual.fingerprint());
        let text = "the parcel from last week never turned up at my door";
        let first = embed_examples(english, &[text]);
        let second = embed_examples(multilingual, &[text]);
        assert_eq!(first, english.embed(text));
        assert_eq!(second, multilingual.embed(text), "the multilingual encoder's own embedding");
    }
}
