//! The rule signals, measured: sentiment (and the negative messages that drive escalation),
//! requests for a person, and language.

use super::metrics::{self, LabelScores, ratio};
use super::{Row, mean_us};
use crate::classify::encoder::{self, DIM, Encoder};
use crate::classify::handover::HumanRequests;
use crate::classify::language::LanguageDetector;
use crate::classify::sentiment_head::SentimentHead;
use crate::classify::signals;
use crate::classify::text::{fold, words};
use serde::Serialize;
use std::collections::BTreeMap;
use switchboard_core::domain::Language;
use switchboard_core::domain::Sentiment;

/// Precision an escalation signal must keep: below it, agents drown in false alarms.
pub const NEGATIVE_PRECISION_FLOOR: f64 = 0.75;

/// One point of the negative-detection curve.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct NegativePoint {
    /// A message is negative at or below this sentiment score.
    pub at_or_below: f32,
    /// Share of the negative messages found.
    pub recall: f64,
    /// Share of the messages flagged that are negative.
    pub precision: f64,
}

/// The figures of a sentiment evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct SentimentReport {
    /// `learned` (the head over the encoder's embeddings) or `lexicons`.
    pub scorer: &'static str,
    /// Test rows.
    pub test_examples: usize,
    /// Share labelled right (negative / neutral / positive, at the model's own cut-offs).
    pub accuracy: f64,
    /// Unweighted mean F1 over the three labels.
    pub macro_f1: f64,
    /// Per-label scores.
    pub per_label: BTreeMap<String, LabelScores>,
    /// Negative detection at the cut-off chosen on validation (the highest recall that keeps
    /// precision at 0.75 or more there; the best F1 when none does), or at the tenants' default
    /// escalation cut-off (-0.5) when there is no validation file.
    pub negative: NegativePoint,
    /// Where `negative.at_or_below` came from: `validation` or `default`.
    pub negative_cutoff_from: &'static str,
    /// The most negatives found at 75 % precision or more, on the test curve.
    pub negatives_found_at_75_precision: f64,
    /// Test negative detection at cut-offs from -1 to 0 in steps of 0.05.
    pub negative_curve: Vec<NegativePoint>,
    /// The same per language, for rows that name theirs.
    pub per_language: BTreeMap<String, SentimentFigures>,
    /// Mean time per message, in microseconds.
    pub predict_us: f64,
    /// Bytes of the lexicons or the head compiled into the binary.
    pub model_bytes: usize,
    /// The lexicons on the same rows, beside the learned head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lexicons_alone: Option<Box<SentimentReport>>,
}

/// How a test's sentiment is scored.
pub enum SentimentScorer<'a> {
    /// The lexicons alone.
    Lexicons,
    /// The learned head over the multilingual encoder's embeddings.
    Learned(&'a Encoder, &'a SentimentHead),
}

/// Labels every row with a scorer's sentiment; `validation` (when given) chooses the escalation
/// cut-off. With the learned head, the lexicons' figures beside it.
pub fn sentiment(
    validation: Option<&[Row]>,
    test: &[Row],
    default_cutoff: f32,
    scorer: SentimentScorer,
) -> SentimentReport {
    let SentimentScorer::Learned(encoder, head) = scorer else {
        let us = mean_us(test, |r| {
            std::hint::black_box(sentiment_of(&r.text));
        });
        let score = |rows: &[Row]| rows.iter().map(|r| sentiment_of(&r.text)).collect::<Vec<_>>();
        let validation = validation.map(|rows| (rows, score(rows)));
        let validation = validation.as_ref().map(|(rows, scores)| (*rows, scores.as_slice()));
        let bytes = crate::classify::sentiment::lexicon_bytes();
        return sentiment_report("lexicons", validation, test, &score(test), default_cutoff, us, bytes, None);
    };
    let score = |rows: &[Row]| {
        let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
        let embeddings = encoder::embed_examples(encoder, &texts);
        embeddings.chunks_exact(DIM).map(|e| head.sentiment(e)).collect::<Vec<_>>()
    };
    let started = std::time::Instant::now();
    let test_scores = score(test);
    let us = started.elapsed().as_secs_f64() * 1e6 / test.len().max(1) as f64;
    let validation_scores = validation.map(|rows| (rows, score(rows)));
    let lexicons = sentiment(validation, test, default_cutoff, SentimentScorer::Lexicons);
    let bytes = head.to_bytes().len();
    let validation = validation_scores.as_ref().map(|(rows, scores)| (*rows, scores.as_slice()));
    let learned = sentiment_report("learned", validation, test, &test_scores, default_cutoff, us, bytes, None);
    SentimentReport { lexicons_alone: Some(Box::new(lexicons)), ..learned }
}

#[allow(clippy::too_many_arguments)]
fn sentiment_report(
    scorer: &'static str,
    validation: Option<(&[Row], &[Sentiment])>,
    test: &[Row],
    test_scores: &[Sentiment],
    default_cutoff: f32,
    predict_us: f64,
    model_bytes: usize,
    lexicons_alone: Option<Box<SentimentReport>>,
) -> SentimentReport {
    let negatives = |rows: &[Row], scores: &[Sentiment]| -> Vec<(f32, bool)> {
        scores.iter().zip(rows).map(|(s, r)| (s.score, r.label == "negative")).collect()
    };
    let per_label =
        metrics::per_label(test_scores.iter().zip(test).map(|(s, r)| (label_name(s.label), r.label.as_str())));
    let correct = test_scores.iter().zip(test).filter(|(s, r)| label_name(s.label) == r.label).count();
    let test_negatives = negatives(test, test_scores);
    let (cutoff, from) = match validation {
        Some((rows, scores)) => (choose_cutoff(&negatives(rows, scores)), "validation"),
        None => (default_cutoff, "default"),
    };
    let mut languages: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in test.iter().enumerate() {
        if let Some(l) = &r.language {
            languages.entry(l.clone()).or_default().push(i);
        }
    }
    let per_language = languages
        .into_iter()
        .map(|(language, rows)| {
            let labels =
                metrics::per_label(rows.iter().map(|&i| (label_name(test_scores[i].label), test[i].label.as_str())));
            let negatives: Vec<(f32, bool)> = rows.iter().map(|&i| test_negatives[i]).collect();
            let figures = SentimentFigures {
                examples: rows.len(),
                macro_f1: metrics::macro_f1(&labels),
                negative: negative_point(&negatives, cutoff),
                negatives_found_at_75_precision: found_at_floor(&negatives),
            };
            (language, figures)
        })
        .collect();
    SentimentReport {
        scorer,
        test_examples: test.len(),
        accuracy: ratio(correct, test.len()),
        macro_f1: metrics::macro_f1(&per_label),
        per_label,
        negative: negative_point(&test_negatives, cutoff),
        negative_cutoff_from: from,
        negatives_found_at_75_precision: found_at_floor(&test_negatives),
        negative_curve: (0..=20).map(|i| negative_point(&test_negatives, -1.0 + i as f32 * 0.05)).collect(),
        per_language,
        predict_us,
        model_bytes,
        lexicons_alone,
    }
}

/// On the test curve (cut-offs −1 to 1 in steps of 0.01), the most negatives found at
/// [`NEGATIVE_PRECISION_FLOOR`] precision or more: a figure of the curve, not a cut-off chosen.
fn found_at_floor(scores: &[(f32, bool)]) -> f64 {
    (0..=200)
        .map(|i| negative_point(scores, -1.0 + i as f32 / 100.0))
        .filter(|p| p.precision >= NEGATIVE_PRECISION_FLOOR)
        .map(|p| p.recall)
        .fold(0.0, f64::max)
}

/// Sentiment figures of one language.
#[derive(Debug, Clone, Serialize)]
pub struct SentimentFigures {
    /// Rows.
    pub examples: usize,
    /// Unweighted mean F1 over the three labels.
    pub macro_f1: f64,
    /// Negative detection at the report's cut-off.
    pub negative: NegativePoint,
    /// The most negatives found at 75 % precision or more, on this language's test curve.
    pub negatives_found_at_75_precision: f64,
}

/// The sentiment as a three-language tenant's classifier scores it (the language guessed first,
/// to pick the lexicon).
fn sentiment_of(text: &str) -> Sentiment {
    static DETECTOR: std::sync::LazyLock<LanguageDetector> = std::sync::LazyLock::new(|| {
        let languages: Vec<Language> = ["en", "es", "de"].iter().filter_map(|c| Language::from_code(c)).collect();
        LanguageDetector::new(&languages, std::iter::empty())
    });
    let folded = fold(text);
    let ws: Vec<&str> = words(&folded).collect();
    crate::classify::sentiment::sentiment(text, &ws, DETECTOR.detect(text, &ws).or_else(|| DETECTOR.guess_unsure(text)))
}

fn label_name(label: switchboard_core::domain::SentimentLabel) -> &'static str {
    match label {
        switchboard_core::domain::SentimentLabel::Negative => "negative",
        switchboard_core::domain::SentimentLabel::Neutral => "neutral",
        switchboard_core::domain::SentimentLabel::Positive => "positive",
    }
}

fn negative_point(scores: &[(f32, bool)], at_or_below: f32) -> NegativePoint {
    let flagged = scores.iter().filter(|(s, _)| *s <= at_or_below).count();
    let hits = scores.iter().filter(|(s, n)| *s <= at_or_below && *n).count();
    let negatives = scores.iter().filter(|(_, n)| *n).count();
    NegativePoint { at_or_below, recall: ratio(hits, negatives), precision: ratio(hits, flagged) }
}

/// The cut-off (-1 to 0 in steps of 0.01) with the highest recall whose precision stays at or
/// above [`NEGATIVE_PRECISION_FLOOR`]; the best F1 when no cut-off keeps it.
fn choose_cutoff(validation: &[(f32, bool)]) -> f32 {
    let points: Vec<NegativePoint> = (0..=100).map(|i| negative_point(validation, -1.0 + i as f32 / 100.0)).collect();
    let f1 = |p: &NegativePoint| metrics::binary_f1(p.precision, p.recall);
    points
        .iter()
        .filter(|p| p.precision >= NEGATIVE_PRECISION_FLOOR && p.recall > 0.0)
        .max_by(|a, b| a.recall.total_cmp(&b.recall))
        .or_else(|| points.iter().max_by(|a, b| f1(a).total_cmp(&f1(b))))
        .map_or(-0.5, |p| p.at_or_below)
}

/// The figures of the request-for-a-person detector.
#[derive(Debug, Clone, Serialize)]
pub struct HumanRequestReport {
    /// `learned` (the head over the encoder's embeddings) or `rules`.
    pub detector: &'static str,
    /// Test rows; those labelled `human` ask for a person, all others do not.
    pub test_examples: usize,
    /// Rows that ask for a person.
    pub requests: usize,
    /// Share of the requests recognised.
    pub recall: f64,
    /// Share of the other rows flagged anyway.
    pub false_alarm_rate: f64,
    /// Share of the flagged rows that ask for a person.
    pub precision: f64,
    /// The same per language, for rows that name theirs.
    pub per_language: BTreeMap<String, HumanRequestFigures>,
    /// Rows the detector got wrong, so the lexicon can be improved where it fails.
    pub misses: Vec<String>,
    /// Rows it flagged wrongly.
    pub false_alarms: Vec<String>,
    /// Mean time per message, in microseconds.
    pub predict_us: f64,
    /// Bytes of the lexicons compiled into the binary.
    pub model_bytes: usize,
    /// The rule set on the same rows, beside a learned detector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules_alone: Option<Box<HumanRequestReport>>,
}

/// Recall and false alarms of one language.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct HumanRequestFigures {
    /// Rows.
    pub examples: usize,
    /// Share of the requests recognised.
    pub recall: f64,
    /// Share of the other rows flagged.
    pub false_alarm_rate: f64,
}

/// How a test's requests for a person were detected.
pub enum HumanDetector<'a> {
    /// The rule set alone (`signals::wants_human`).
    Rules,
    /// A learned head over the encoder's embeddings (the rules where the row's language is one
    /// the encoder does not read).
    Learned(&'a Encoder, &'a HumanRequests),
}

/// Measures a request-for-a-person detector on rows labelled `human` (asks for a person) or
/// anything else (does not); with a learned one, the rules alone beside it.
pub fn human_requests(test: &[Row], detector: HumanDetector) -> HumanRequestReport {
    let rules: Vec<bool> = test.iter().map(|r| rules_want_human(&r.text)).collect();
    let HumanDetector::Learned(encoder, head) = detector else {
        let us = mean_us(test, |r| {
            std::hint::black_box(rules_want_human(&r.text));
        });
        return score(test, &rules, "rules", us, signals::lexicon_bytes(), None);
    };
    let texts: Vec<&str> = test.iter().map(|r| r.text.as_str()).collect();
    let started = std::time::Instant::now();
    let embeddings = encoder::embed_examples(encoder, &texts);
    let us = started.elapsed().as_secs_f64() * 1e6 / test.len().max(1) as f64;
    let flagged: Vec<bool> = test
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let read = r.language.as_deref().and_then(Language::from_code).is_none_or(encoder::reads);
            if read { head.probability(&embeddings[i * DIM..(i + 1) * DIM]) >= head.threshold() } else { rules[i] }
        })
        .collect();
    let rules_alone = score(test, &rules, "rules", 0.0, signals::lexicon_bytes(), None);
    let bytes = head.to_bytes().len();
    score(test, &flagged, "learned", us, bytes, Some(Box::new(rules_alone)))
}

fn score(
    test: &[Row],
    flagged: &[bool],
    detector: &'static str,
    predict_us: f64,
    model_bytes: usize,
    rules_alone: Option<Box<HumanRequestReport>>,
) -> HumanRequestReport {
    let figures = |rows: &[(&Row, bool)]| {
        let asks = rows.iter().filter(|(r, _)| r.label == "human").count();
        let hits = rows.iter().filter(|(r, f)| r.label == "human" && *f).count();
        let alarms = rows.iter().filter(|(r, f)| r.label != "human" && *f).count();
        (asks, hits, alarms)
    };
    let all: Vec<(&Row, bool)> = test.iter().zip(flagged.iter().copied()).collect();
    let (asks, hits, alarms) = figures(&all);
    let mut languages: BTreeMap<String, Vec<(&Row, bool)>> = BTreeMap::new();
    for (row, f) in &all {
        if let Some(lang) = &row.language {
            languages.entry(lang.clone()).or_default().push((row, *f));
        }
    }
    let per_language = languages
        .into_iter()
        .map(|(lang, rows)| {
            let (asks, hits, alarms) = figures(&rows);
            let figures = HumanRequestFigures {
                examples: rows.len(),
                recall: ratio(hits, asks),
                false_alarm_rate: ratio(alarms, rows.len() - asks),
            };
            (lang, figures)
        })
        .collect();
    HumanRequestReport {
        detector,
        test_examples: test.len(),
        requests: asks,
        recall: ratio(hits, asks),
        false_alarm_rate: ratio(alarms, test.len() - asks),
        precision: ratio(hits, hits + alarms),
        per_language,
        misses: all.iter().filter(|(r, f)| r.label == "human" && !f).map(|(r, _)| r.text.clone()).collect(),
        false_alarms: all.iter().filter(|(r, f)| r.label != "human" && *f).map(|(r, _)| r.text.clone()).collect(),
        predict_us,
        model_bytes,
        rules_alone,
    }
}

fn rules_want_human(text: &str) -> bool {
    let folded = fold(text);
    let ws: Vec<&str> = words(&folded).collect();
    signals::wants_human(&ws)
}

/// The figures of language detection.
#[derive(Debug, Clone, Serialize)]
pub struct LanguageReport {
    /// Test rows.
    pub test_examples: usize,
    /// The languages detected among (those of the test rows).
    pub languages: Vec<String>,
    /// Share detected right; "don't know" is wrong.
    pub accuracy: f64,
    /// Share the detector declined to name.
    pub unknown: f64,
    /// Per-language scores.
    pub per_language: BTreeMap<String, LabelScores>,
    /// Mean time per message, in microseconds.
    pub predict_us: f64,
    /// Bytes of vocabulary learned from the training rows (the trigram tables are whatlang's).
    pub model_bytes: usize,
}

/// An unknown language code in the data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a language code Switchboard knows")]
pub struct UnknownLanguage(pub String);

/// Detects the language of each test row among the languages the test rows use, with the
/// vocabulary of `train` rows (labelled with their language) as a tenant's examples would give.
pub fn language(train: &[Row], test: &[Row]) -> Result<LanguageReport, UnknownLanguage> {
    let code = |c: &str| Language::from_code(c).ok_or_else(|| UnknownLanguage(c.to_string()));
    let mut languages: Vec<Language> = test.iter().map(|r| code(&r.label)).collect::<Result<_, _>>()?;
    languages.sort();
    languages.dedup();
    let samples: Vec<(Language, String)> =
        train.iter().map(|r| Ok((code(&r.label)?, fold(&r.text)))).collect::<Result<_, UnknownLanguage>>()?;
    let detector = LanguageDetector::new(&languages, samples.iter().map(|(l, t)| (*l, t.as_str())));
    let detect = |text: &str| {
        let folded = fold(text);
        let ws: Vec<&str> = words(&folded).collect();
        detector.detect(text, &ws)
    };
    let predicted: Vec<String> =
        test.iter().map(|r| detect(&r.text).map_or_else(|| "unknown".to_string(), |l| l.code().to_string())).collect();
    let per_language = metrics::per_label(predicted.iter().zip(test).map(|(p, r)| (p.as_str(), r.label.as_str())));
    let correct = predicted.iter().zip(test).filter(|(p, r)| **p == r.label).count();
    Ok(LanguageReport {
        test_examples: test.len(),
        languages: languages.iter().map(|l| l.code().to_string()).collect(),
        accuracy: ratio(correct, test.len()),
        unknown: ratio(predicted.iter().filter(|p| *p == "unknown").count(), test.len()),
        per_language,
        predict_us: mean_us(test, |r| {
            std::hint::black_box(detect(&r.text));
        }),
        model_bytes: samples.iter().map(|(_, t)| t.len()).sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(v: &[(&str, &str)]) -> Vec<Row> {
        v.iter().map(|(t, l)| Row::new(*t, *l)).collect()
    }

    #[test]
    fn sentiment_scores_labels_and_finds_negatives() {
        let test = rows(&[
            ("This is terrible, I am furious", "negative"),
            ("Where is my order?", "neutral"),
            ("Thanks, that was really helpful", "positive"),
            ("awful, the worst service ever", "negative"),
        ]);
        let report = sentiment(None, &test, -0.5, SentimentScorer::Lexicons);
        assert_eq!(report.accuracy, 1.0);
        assert_eq!(report.negative_cutoff_from, "default");
        assert_eq!((report.negative.recall, report.negative.precision), (1.0, 1.0));
        assert_eq!(report.negative_curve.len(), 21);
        assert!(report.model_bytes > 1000);
    }

    #[test]
    fn the_negative_cutoff_comes_from_validation() {
        // Mildly negative validation rows: only a cut-off near zero finds them.
        let validation = rows(&[("the parcel is late", "negative"), ("a bit of a problem here", "negative")]);
        let test = rows(&[("terrible", "negative"), ("fine", "neutral")]);
        let report = sentiment(Some(&validation), &test, -0.5, SentimentScorer::Lexicons);
        assert_eq!(report.negative_cutoff_from, "validation");
        assert!(report.negative.at_or_below > -0.5, "{}", report.negative.at_or_below);
        let same = sentiment(Some(&validation), &rows(&[("great", "positive")]), -0.5, SentimentScorer::Lexicons);
        assert_eq!(same.negative.at_or_below, report.negative.at_or_below);
    }

    #[test]
    fn human_requests_count_recall_and_false_alarms_per_language() {
        let mut test = rows(&[
            ("can I talk to a person", "human"),
            ("quiero hablar con un agente", "human"),
            ("where is my order", "other"),
            ("is a person allowed to return two items", "other"),
        ]);
        for (row, lang) in test.iter_mut().zip(["en", "es", "en", "en"]) {
            row.language = Some(lang.to_string());
        }
        let report = human_requests(&test, HumanDetector::Rules);
        assert_eq!(report.requests, 2);
        assert_eq!(report.recall, 1.0);
        assert_eq!(report.per_language["es"].recall, 1.0);
        assert_eq!(report.per_language["en"].examples, 3);
        assert_eq!(report.false_alarm_rate, report.false_alarms.len() as f64 / 2.0);
    }

    #[test]
    fn language_detection_is_scored_and_unknown_codes_refused() {
        let test = rows(&[
            ("Hello, I ordered a blue jacket last week and it has still not arrived", "en"),
            ("Hola, pedí una chaqueta azul la semana pasada y todavía no ha llegado", "es"),
        ]);
        let report = language(&[], &test).expect("known codes");
        assert_eq!(report.accuracy, 1.0);
        assert_eq!(report.languages, vec!["en".to_string(), "es".to_string()]);
        assert_eq!(language(&[], &rows(&[("x", "klingon")])).unwrap_err(), UnknownLanguage("klingon".into()));
    }
}
