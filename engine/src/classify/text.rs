//! Text folding shared by the classifiers and FAQ retrieval, so both see words the same way.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lowercases, strips accents (`envío` → `envio`, `Rückgabe` → `ruckgabe`) and turns everything
/// that is not a letter or digit into single spaces. Customers type accents inconsistently; the
/// models should not care.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else if c == '\'' || c == '’' {
            // "don't" stays one word: negations matter to sentiment.
        } else {
            pending_space = true;
        }
    }
    out
}

/// The words of folded text.
pub fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded.split(' ').filter(|w| !w.is_empty())
}

/// True when `words` contains `phrase` (already folded, space-separated) as consecutive words.
pub fn contains_phrase(words: &[&str], phrase: &str) -> bool {
    phrase_starts(words, phrase).next().is_some()
}

/// Where `phrase` (folded, space-separated) starts in `words`, as word indices.
pub fn phrase_starts<'a>(words: &'a [&str], phrase: &'a str) -> impl Iterator<Item = usize> + 'a {
    let parts: Vec<&str> = phrase.split(' ').collect();
    let width = parts.len().max(1);
    words.windows(width).enumerate().filter(move |(_, w)| !parts.is_empty() && *w == parts.as_slice()).map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_and_punctuation() {
        assert_eq!(fold("¿Dónde está mi PEDIDO?"), "donde esta mi pedido");
        assert_eq!(fold("Rückgabe -- bitte!!"), "ruckgabe bitte");
        assert_eq!(fold("I don't   like it"), "i dont like it");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn finds_phrases_on_word_boundaries() {
        let folded = fold("Can I talk to a real person?");
        let w: Vec<&str> = words(&folded).collect();
        assert!(contains_phrase(&w, "real person"));
        assert!(!contains_phrase(&w, "real persons"));
        assert!(!contains_phrase(&w, "al person"));
    }
}
