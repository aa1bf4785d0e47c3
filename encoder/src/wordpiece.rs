//! BERT's uncased WordPiece tokenizer, as the `tokenizers` library runs it for all-MiniLM-L6-v2
//! (`BertNormalizer` with lowercase and accent stripping, `BertPreTokenizer`, `WordPiece` with
//! `##` continuations, `[CLS] … [SEP]`). Forty lines instead of the `tokenizers` crate and its
//! regex and Unicode tables; `tests` compare it with the library's output.

use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Longest input the model reads, `[CLS]` and `[SEP]` included (the model card's 128; longer
/// messages are cut, as sentence-transformers cuts them).
pub const MAX_TOKENS: usize = 128;
/// A word longer than this is `[UNK]` (the library's `max_input_chars_per_word`).
const MAX_WORD_CHARS: usize = 100;

/// Vocabulary lookups; ids are positions in the vocabulary list.
#[derive(Debug, Clone)]
pub struct WordPiece {
    ids: HashMap<String, u32>,
    cls: u32,
    sep: u32,
    unk: u32,
}

impl WordPiece {
    /// From the vocabulary in id order; `None` when it lacks BERT's special tokens.
    pub fn new(vocab: Vec<String>) -> Option<Self> {
        let ids: HashMap<String, u32> = vocab.into_iter().enumerate().map(|(i, t)| (t, i as u32)).collect();
        let id = |t: &str| ids.get(t).copied();
        Some(Self { cls: id("[CLS]")?, sep: id("[SEP]")?, unk: id("[UNK]")?, ids })
    }

    /// Token ids of `text`, `[CLS]` first and `[SEP]` last, at most [`MAX_TOKENS`].
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = vec![self.cls];
        for word in pre_tokenize(&normalize(text)) {
            self.push_word(&word, &mut out);
            if out.len() >= MAX_TOKENS - 1 {
                out.truncate(MAX_TOKENS - 1);
                break;
            }
        }
        out.push(self.sep);
        out
    }

    /// Greedy longest match from the left; a word with an unmatched rest is one `[UNK]`.
    fn push_word(&self, word: &str, out: &mut Vec<u32>) {
        if word.chars().count() > MAX_WORD_CHARS {
            out.push(self.unk);
            return;
        }
        let start_len = out.len();
        let mut start = 0;
        while start < word.len() {
            let mut end = word.len();
            let found = loop {
                let piece = if start == 0 { word[..end].to_string() } else { format!("##{}", &word[start..end]) };
                if let Some(&id) = self.ids.get(&piece) {
                    break Some((id, end));
                }
                match word[start..end].char_indices().last() {
                    Some((last, _)) if last > 0 => end = start + last,
                    _ => break None,
                }
            };
            match found {
                Some((id, next)) => {
                    out.push(id);
                    start = next;
                }
                None => {
                    out.truncate(start_len);
                    out.push(self.unk);
                    return;
                }
            }
        }
    }
}

/// Drops control characters, spaces out CJK ideographs, lowercases and strips accents.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || (c.is_control() && !c.is_whitespace()) {
            continue;
        }
        if c.is_whitespace() {
            out.push(' ');
        } else if is_cjk(c) {
            out.extend([' ', c, ' ']);
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out.nfd().filter(|c| !is_combining_mark(*c)).collect()
}

/// Splits on whitespace, and every punctuation character is a word of its own.
fn pre_tokenize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for chunk in text.split_whitespace() {
        let mut word = String::new();
        for c in chunk.chars() {
            if is_punctuation(c) {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                words.push(c.to_string());
            } else {
                word.push(c);
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
    }
    words
}

/// BERT's test: ASCII symbols count as punctuation, plus Unicode's punctuation blocks.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c, '¡' | '§' | '«' | '¶' | '·' | '»' | '¿' | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205e}' | '\u{3001}'..='\u{3003}' | '\u{3008}'..='\u{3011}')
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{20000}'..='\u{2a6df}' | '\u{f900}'..='\u{faff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> WordPiece {
        let vocab = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "where", "is", "my", "card", "##s", "?", "un", "##want", "##ed",
            "cafe", ",",
        ];
        WordPiece::new(vocab.iter().map(|s| s.to_string()).collect()).unwrap()
    }

    #[test]
    fn splits_punctuation_continues_words_and_strips_accents() {
        let wp = tiny();
        assert_eq!(wp.encode("Where is my CARDS?"), vec![2, 4, 5, 6, 7, 8, 9, 3]);
        assert_eq!(wp.encode("unwanted, Café"), vec![2, 10, 11, 12, 14, 13, 3]);
    }

    #[test]
    fn unknown_rest_makes_the_whole_word_unknown_and_long_input_is_cut() {
        let wp = tiny();
        assert_eq!(wp.encode("cardz"), vec![2, 1, 3]);
        let long = "card ".repeat(500);
        let ids = wp.encode(&long);
        assert_eq!(ids.len(), MAX_TOKENS);
        assert_eq!(ids.last(), Some(&3));
    }

    #[test]
    fn control_characters_vanish_and_cjk_is_spaced() {
        assert_eq!(pre_tokenize(&normalize("a\u{7}b 中文")), vec!["ab", "中", "文"]);
    }
}
