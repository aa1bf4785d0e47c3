//! Sentiment: how the customer feels, from -1 (furious) to 1 (delighted).
//!
//! Scored like VADER (Hutto & Gilbert, 2014): word valences summed, flipped after a negator,
//! boosted by intensifiers, shouting and exclamation marks, weighted towards what follows "but",
//! then squashed into [-1, 1]. Three lexicons, each for its language: our own customer-service
//! words (all three languages, checked first), VADER's English lexicon (7,200 words), and the
//! ML-SentiCon Spanish and German lexicons as packaged by nlp.js (matched on Snowball stems),
//! turned into sorted static arrays by `build.rs`.
//! `lexicons/README.md` has their sources and licences. Rules and lexicons rather than a trained
//! model because this drives escalation and must be explainable; see docs/design.md, Step 8.

use rust_stemmers::{Algorithm, Stemmer};
use std::sync::LazyLock;
use switchboard_core::domain::{Language, Sentiment};

/// Word valences from -3 to 3.
const VALENCE: &[(&str, f32)] = &[
    // English
    ("angry", -3.0),
    ("furious", -3.0),
    ("terrible", -3.0),
    ("awful", -3.0),
    ("horrible", -3.0),
    ("worst", -3.0),
    ("useless", -2.5),
    ("scam", -3.0),
    ("disgusting", -3.0),
    ("unacceptable", -3.0),
    ("ridiculous", -2.5),
    ("disappointed", -2.0),
    ("disappointing", -2.0),
    ("annoyed", -2.0),
    ("frustrated", -2.0),
    ("frustrating", -2.0),
    ("upset", -2.0),
    ("bad", -1.5),
    ("poor", -1.5),
    ("broken", -1.5),
    ("damaged", -1.5),
    ("wrong", -1.2),
    ("late", -1.0),
    ("never", -0.5),
    ("problem", -1.0),
    ("issue", -0.8),
    ("hate", -3.0),
    ("sucks", -2.5),
    ("rude", -2.5),
    ("waste", -2.0),
    ("complaint", -1.5),
    ("unhappy", -2.0),
    ("sad", -1.5),
    ("fed", -1.0),
    ("good", 1.5),
    ("great", 2.5),
    ("excellent", 3.0),
    ("amazing", 3.0),
    ("awesome", 3.0),
    ("love", 2.5),
    ("perfect", 3.0),
    ("happy", 2.0),
    ("thanks", 1.5),
    ("thank", 1.5),
    ("helpful", 2.0),
    ("nice", 1.5),
    ("fantastic", 3.0),
    ("wonderful", 3.0),
    ("pleased", 2.0),
    // Spanish
    ("enfadado", -3.0),
    ("enojado", -3.0),
    ("furioso", -3.0),
    ("terrible", -3.0),
    ("horrible", -3.0),
    ("pesimo", -3.0),
    ("fatal", -2.5),
    ("inaceptable", -3.0),
    ("estafa", -3.0),
    ("decepcionado", -2.0),
    ("decepcionada", -2.0),
    ("molesto", -2.0),
    ("molesta", -2.0),
    ("harto", -2.0),
    ("harta", -2.0),
    ("mal", -1.5),
    ("malo", -1.5),
    ("roto", -1.5),
    ("rota", -1.5),
    ("danado", -1.5),
    ("problema", -1.0),
    ("queja", -1.5),
    ("tarde", -0.8),
    ("odio", -3.0),
    ("verguenza", -2.5),
    ("bueno", 1.5),
    ("buena", 1.5),
    ("genial", 2.5),
    ("excelente", 3.0),
    ("perfecto", 3.0),
    ("gracias", 1.5),
    ("encanta", 2.5),
    ("feliz", 2.0),
    ("contento", 2.0),
    ("contenta", 2.0),
    ("estupendo", 2.5),
    ("maravilloso", 3.0),
    // German
    ("wutend", -3.0),
    ("verargert", -2.5),
    ("schrecklich", -3.0),
    ("furchtbar", -3.0),
    ("katastrophe", -3.0),
    ("unverschamt", -3.0),
    ("inakzeptabel", -3.0),
    ("betrug", -3.0),
    ("enttauscht", -2.0),
    ("enttauschend", -2.0),
    ("schlecht", -1.5),
    ("kaputt", -1.5),
    ("beschadigt", -1.5),
    ("problem", -1.0),
    ("beschwerde", -1.5),
    ("spat", -0.8),
    ("argerlich", -2.0),
    ("gut", 1.5),
    ("super", 2.5),
    ("toll", 2.5),
    ("ausgezeichnet", 3.0),
    ("perfekt", 3.0),
    ("danke", 1.5),
    ("vielen", 0.5),
    ("zufrieden", 2.0),
    ("freundlich", 1.5),
    ("prima", 2.0),
];

const NEGATORS: &[&str] = &[
    "not", "no", "never", "dont", "doesnt", "didnt", "isnt", "wasnt", "cant", "wont", "nothing", "nunca", "nada", "ni",
    "tampoco", "nicht", "kein", "keine", "keinen", "nie", "niemals",
];

const BOOSTERS: &[&str] = &[
    "very",
    "really",
    "so",
    "extremely",
    "totally",
    "absolutely",
    "completely",
    "muy",
    "tan",
    "realmente",
    "totalmente",
    "sehr",
    "total",
    "wirklich",
    "absolut",
    "extrem",
];

/// Words after which what follows weighs more than what came before ("nice, but broken").
const BUT: &[&str] = &["but", "however", "pero", "sino", "aber", "jedoch", "sondern"];

/// Emoji valences, read from the raw text (folding drops them).
const EMOJI: &[(char, f32)] = &[
    ('😡', -3.0),
    ('🤬', -3.5),
    ('😠', -2.5),
    ('👎', -2.0),
    ('😞', -2.0),
    ('😢', -2.0),
    ('😭', -2.0),
    ('💩', -2.0),
    ('🙄', -1.5),
    ('😒', -1.5),
    ('😤', -2.0),
    ('😀', 2.0),
    ('😃', 2.0),
    ('😊', 2.0),
    ('🙂', 1.5),
    ('😍', 3.0),
    ('🥰', 3.0),
    ('👍', 2.0),
    ('🙏', 1.5),
    ('🎉', 2.0),
    ('❤', 2.5),
    ('😂', 1.0),
];

/// SentiCon valences run from -1 to 1; VADER's and ours from -4 to 4 and -3 to 3.
const SENTICON_SCALE: f32 = 3.0;

// Measured valences; a few happen to look like 1/π to clippy.
#[allow(clippy::approx_constant)]
mod lexicons {
    include!(concat!(env!("OUT_DIR"), "/lexicons.rs"));
}
use lexicons::{SENTICON_DE, SENTICON_ES, VADER_EN};

static STEM_ES: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Spanish));
static STEM_DE: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::German));

/// The valence of `word` in a sorted lexicon.
fn look_up(lexicon: &[(&str, f32)], word: &str) -> Option<f32> {
    lexicon.binary_search_by(|(w, _)| (*w).cmp(word)).ok().map(|i| lexicon[i].1)
}

/// Bytes of the sentiment lexicons compiled into the binary.
#[cfg(any(test, feature = "cli"))]
pub fn lexicon_bytes() -> usize {
    let entries = |l: &[(&str, f32)]| l.iter().map(|(w, _)| w.len() + 4).sum::<usize>();
    entries(VADER_EN)
        + entries(SENTICON_ES)
        + entries(SENTICON_DE)
        + entries(VALENCE)
        + [NEGATORS, BOOSTERS, BUT].iter().flat_map(|l| l.iter()).map(|w| w.len()).sum::<usize>()
}

/// The valence of one folded word in `language` (our own words first, in any language).
fn valence(word: &str, language: Option<Language>) -> Option<f32> {
    if let Some(&(_, v)) = VALENCE.iter().find(|(w, _)| *w == word) {
        return Some(v);
    }
    // Only the message's own language: German "die" and "gift", Spanish "sin" are not English.
    match language.map(Language::code) {
        Some("en") => look_up(VADER_EN, word),
        Some("es") => look_up(SENTICON_ES, &STEM_ES.stem(word)).map(|v| v * SENTICON_SCALE),
        Some("de") => look_up(SENTICON_DE, &STEM_DE.stem(word)).map(|v| v * SENTICON_SCALE),
        _ => None,
    }
}

/// Scores `raw` (original text) whose folded words are `words`, written in `language` when known.
pub fn sentiment(raw: &str, words: &[&str], language: Option<Language>) -> Sentiment {
    let shouted: Vec<bool> = raw
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().count() > 2 && w.chars().all(|c| !c.is_lowercase()) && w.chars().any(char::is_alphabetic))
        .collect();
    let but = words.iter().rposition(|w| BUT.contains(w));
    let mut total = 0.0f32;
    for (i, w) in words.iter().enumerate() {
        let Some(mut v) = valence(w, language) else { continue };
        let window = &words[i.saturating_sub(3)..i];
        if window.iter().any(|p| BOOSTERS.contains(p)) {
            v *= 1.4;
        }
        if window.iter().any(|p| NEGATORS.contains(p)) {
            v *= -0.74;
        }
        if shouted.get(i).copied().unwrap_or(false) {
            v *= 1.3;
        }
        match but {
            Some(b) if i < b => v *= 0.5,
            Some(b) if i > b => v *= 1.5,
            _ => {}
        }
        total += v;
    }
    total += raw.chars().filter_map(|c| EMOJI.iter().find(|(e, _)| *e == c).map(|(_, v)| v)).sum::<f32>();
    let bangs = raw.matches('!').count().min(3) as f32;
    if total != 0.0 {
        total += total.signum() * 0.3 * bangs;
    }
    Sentiment::from_score(total / (total * total + 15.0).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::text::{fold, words};
    use switchboard_core::domain::SentimentLabel;

    fn score(text: &str, language: &str) -> Sentiment {
        let folded = fold(text);
        let ws: Vec<&str> = words(&folded).collect();
        sentiment(text, &ws, Language::from_code(language))
    }

    #[test]
    fn sentiment_labels_and_orders() {
        let angry = score("This is terrible, I am furious!!", "en");
        let meh = score("Where is my order?", "en");
        let happy = score("Thanks, that was really helpful", "en");
        assert_eq!(angry.label, SentimentLabel::Negative);
        assert_eq!(meh.label, SentimentLabel::Neutral);
        assert_eq!(happy.label, SentimentLabel::Positive);
        assert!(angry.score < -0.5 && happy.score > 0.3);
    }

    #[test]
    fn sentiment_handles_negation_shouting_but_and_other_languages() {
        assert_eq!(score("not good at all", "en").label, SentimentLabel::Negative);
        assert!(score("TERRIBLE service", "en").score < score("terrible service", "en").score);
        assert!(score("nice box but the phone is broken", "en").score < 0.0);
        assert_eq!(score("Estoy muy enfadado, es inaceptable", "es").label, SentimentLabel::Negative);
        assert_eq!(score("Ich bin sehr enttäuscht", "de").label, SentimentLabel::Negative);
        assert_eq!(score("Vielen Dank, super!", "de").label, SentimentLabel::Positive);
        assert_eq!(score("the delivery 😡", "en").label, SentimentLabel::Negative);
    }

    #[test]
    fn the_big_lexicons_hear_words_our_own_list_lacks() {
        // Not in the customer-service list; found by VADER and SentiCon.
        assert!(score("what a pathetic shambles", "en").score < -0.3);
        assert!(score("una experiencia lamentable y triste", "es").score < -0.2);
        assert!(score("ein Ärgernis, einfach katastrophal", "de").score < -0.2);
        // A German article is not the English verb.
        assert_eq!(score("die Lieferung ist da", "de").label, SentimentLabel::Neutral);
    }

    #[test]
    fn the_lexicons_are_whole_and_sorted_for_binary_search() {
        assert!(VADER_EN.len() > 7000 && SENTICON_ES.len() > 7000 && SENTICON_DE.len() > 4000);
        for lexicon in [VADER_EN, SENTICON_ES, SENTICON_DE] {
            assert!(lexicon.windows(2).all(|w| w[0].0 < w[1].0));
        }
        assert_eq!(look_up(VADER_EN, "furious"), Some(-2.7));
        assert_eq!(look_up(VADER_EN, "zzzz"), None);
    }
}
