//! The process's sentence encoder: where its weights are found, when it is loaded, which
//! messages it reads (the model itself is the `switchboard-encoder` crate).

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

/// Whether a tenant writing in `languages` gets an encoder head: only if one of them is read by
/// the encoder — otherwise it would never be asked, and embedding the examples is most of a
/// training.
pub fn reads_any(mut languages: impl Iterator<Item = Language>) -> bool {
    languages.any(reads)
}

/// Where the packed weights are looked for, first found wins: `SWITCHBOARD_ENCODER`, the Lambda
/// layer's `/opt/switchboard/encoder.bin`, and this checkout's `.local/encoder/encoder.bin`
/// (what `scripts/fetch-encoder.sh` writes).
pub fn weight_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::env::var_os("SWITCHBOARD_ENCODER").map(Into::into).into_iter().collect();
    paths.push("/opt/switchboard/encoder.bin".into());
    paths.push(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/encoder/encoder.bin").into());
    paths
}

/// The process's encoder, loaded on first use (not at cold start: most messages never need it)
/// from the first of [`weight_paths`] that exists; `None` when there is none — the local tier then
/// runs on the n-gram model alone, and [`status`] says so in the cold-start log line.
pub fn shared() -> Option<&'static Encoder> {
    static ENCODER: OnceLock<Option<Encoder>> = OnceLock::new();
    ENCODER
        .get_or_init(|| {
            let path = weight_paths().into_iter().find(|p| p.is_file())?;
            match Encoder::open(&path) {
                Ok(encoder) => Some(encoder),
                Err(error) => {
                    tracing::error!(path = %path.display(), %error, "encoder weights unreadable; n-gram model only");
                    None
                }
            }
        })
        .as_ref()
}

/// For the cold-start log line: which weights file the encoder would load, without loading it.
pub fn status() -> String {
    match weight_paths().into_iter().find(|p| p.is_file()) {
        Some(path) => format!("encoder weights at {}", path.display()),
        None => "no encoder weights (scripts/fetch-encoder.sh fetches them): n-gram model only".into(),
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
    static MEMO: OnceLock<Mutex<HashMap<String, Vec<f32>>>> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    let mut known: HashMap<&str, Vec<f32>> = HashMap::new();
    {
        let memo = switchboard_core::sync::lock(memo);
        for &text in texts {
            if let Some(hit) = memo.get(text) {
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
        memo.extend(fresh.iter().take(LIMIT).map(|(t, e)| (t.to_string(), e.clone())));
    }
    known.extend(fresh);
    texts.iter().flat_map(|t| known[*t].iter().copied()).collect()
}
