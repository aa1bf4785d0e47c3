//! BERT's uncased WordPiece tokenizer, as the `tokenizers` library runs it for all-MiniLM-L6-v2
//! (`BertNormalizer` with lowercase and accent stripping, `BertPreTokenizer`, `WordPiece` with
//! `##` continuations, `[CLS] … [SEP]`), over the pieces read in place from the packed file. Forty
//! lines instead of the `tokenizers` crate and its regex and Unicode tables; the encoder's tests
//! compare it with the library's output.

use crate::vocabulary::Vocabulary;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A word longer than this is `[UNK]` (the library's `max_input_chars_per_word`).
const MAX_WORD_CHARS: usize = 100;

impl Vocabulary<'_> {
    /// `[CLS]`, the WordPiece pieces of `text` (cut to the encoder's limit in all), `[SEP]`.
    pub(crate) fn wordpiece(&self, text: &str) -> Vec<u32> {
        let mut pieces = Vec::new();
        for word in pre_tokenize(&normalize(text)) {
            self.push_word(&word, &mut pieces);
            if pieces.len() >= crate::vocabulary::MAX_TOKENS {
                break;
            }
        }
        self.framed(pieces)
    }

    /// Greedy longest match from the left; a word with an unmatched rest is one `[UNK]`.
    fn push_word(&self, word: &str, out: &mut Vec<u32>) {
        if word.chars().count() > MAX_WORD_CHARS {
            out.push(self.unknown());
            return;
        }
        let start_len = out.len();
        let mut start = 0;
        while start < word.len() {
            let mut end = word.len();
            let found = loop {
                let piece = if start == 0 { word[..end].to_string() } else { format!("##{}", &word[start..end]) };
                if let Some(id) = self.lookup(piece.as_bytes()) {
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
                    out.push(self.unknown());
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

    #[test]
    fn control_characters_vanish_punctuation_splits_and_cjk_is_spaced() {
        assert_eq!(pre_tokenize(&normalize("a\u{7}b 中文")), vec!["ab", "中", "文"]);
        assert_eq!(pre_tokenize(&normalize("Où, CAFÉ?")), vec!["ou", ",", "cafe", "?"]);
    }
}
