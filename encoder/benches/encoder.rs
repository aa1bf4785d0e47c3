//! What the encoder tier costs, for each of the two encoders: opening the packed weights (once
//! per process, on the first message that needs them), embedding one message, and embedding a
//! tenant's examples in a batch. Needs the weights (`scripts/fetch-encoder.sh`).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use switchboard_encoder::Encoder;

fn path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/encoder")).join(name)
}

fn encoder(c: &mut Criterion) {
    for (model, file) in [("e5", "encoder.bin"), ("minilm", "encoder-en.bin")] {
        let path = path(file);
        c.bench_function(&format!("{model}: open (map the packed file, check its layout)"), |b| {
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
            c.bench_function(&format!("{model}: {name}"), |b| b.iter(|| black_box(encoder.embed(black_box(text)))));
        }
        // A tenant's training examples: 32 short messages as one batch (what training does: each
        // weight read once for all of them).
        let examples: Vec<String> =
            (0..32).map(|i| format!("where is my order number {i}, it has not arrived")).collect();
        let examples: Vec<&str> = examples.iter().map(String::as_str).collect();
        c.bench_function(&format!("{model}: embed 32 examples as one batch"), |b| {
            b.iter(|| encoder.embed_batch(black_box(&examples)))
        });
    }
}

criterion_group!(benches, encoder);
criterion_main!(benches);
