//! What the encoder tier costs: opening the packed weights (once per process, on the first
//! message the n-gram model is unsure of), embedding one message, and embedding a tenant's
//! examples in a batch. Needs the weights (`scripts/fetch-encoder.sh`).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use switchboard_encoder::Encoder;

fn weights() -> std::path::PathBuf {
    std::env::var_os("SWITCHBOARD_ENCODER")
        .map(Into::into)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/encoder/encoder.bin").into())
}

fn encoder(c: &mut Criterion) {
    let path = weights();
    c.bench_function("encoder open (map the packed file, check its layout)", |b| {
        b.iter(|| black_box(Encoder::open(black_box(&path)).expect("run scripts/fetch-encoder.sh")))
    });
    let encoder = Encoder::open(&path).expect("packed");
    for (name, text) in [
        ("embed short (4 words)", "where is my card"),
        (
            "embed typical (16 words)",
            "Hi, I ordered a wool sweater last week and it still has not arrived. Where is it?",
        ),
    ] {
        c.bench_function(name, |b| b.iter(|| black_box(encoder.embed(black_box(text)))));
    }
    // A tenant's training examples: 32 short messages one by one, and as one batch (what
    // training does: each weight matrix packed once for all of them).
    let examples: Vec<String> = (0..32).map(|i| format!("where is my order number {i}, it has not arrived")).collect();
    let examples: Vec<&str> = examples.iter().map(String::as_str).collect();
    c.bench_function("embed 32 examples one by one", |b| {
        b.iter(|| examples.iter().map(|t| encoder.embed(black_box(t))).collect::<Vec<_>>())
    });
    c.bench_function("embed 32 examples as one batch", |b| b.iter(|| encoder.embed_batch(black_box(&examples))));
}

criterion_group!(benches, encoder);
criterion_main!(benches);
