//! Out of scope: does the local tier say "I don't know" to what no intent covers?
//!
//! A message is refused when its best intent's calibrated probability is below a threshold (or
//! it shares almost no features with any example, as in production). The threshold is chosen on
//! validation rows, never on the test rows: from a file with real out-of-scope rows, or built by
//! holding out whole intents of the training set, so the model meets intents it never saw.

use super::metrics::ratio;
use super::{Row, mean_us};
use crate::classify::intent::{IntentModel, TrainError, TrainOptions};
use crate::classify::local::MIN_COVERAGE;
use serde::Serialize;
use std::collections::BTreeSet;

/// One point of the threshold curve.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct ScopePoint {
    /// Refuse below this confidence.
    pub threshold: f32,
    /// Of the in-scope rows, the share answered with the right intent (a refusal is wrong).
    pub in_scope_accuracy: f64,
    /// Of the out-of-scope rows, the share refused.
    pub oos_recall: f64,
    /// Of the refused rows, the share that were out of scope.
    pub oos_precision: f64,
}

/// Where the validation rows came from.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ValidationSource {
    /// The `--validation` file.
    File,
    /// Intents held out of the training set (named), plus every fifth example of the others.
    HeldOutIntents(Vec<String>),
}

/// The figures of one out-of-scope evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeReport {
    /// The label that marks out-of-scope rows.
    pub oos_label: String,
    /// Training rows (in scope only).
    pub train_examples: usize,
    /// Validation rows the threshold was chosen on.
    pub validation_examples: usize,
    /// How the validation rows were made.
    pub validation: ValidationSource,
    /// Test rows, and how many of them are out of scope.
    pub test_examples: usize,
    /// Out-of-scope test rows.
    pub test_oos_examples: usize,
    /// Intents trained on.
    pub intents: usize,
    /// The threshold chosen on validation, and the test figures at it.
    pub chosen: ScopePoint,
    /// The validation figures at the chosen threshold.
    pub validation_at_chosen: ScopePoint,
    /// Test figures at every threshold from 0 to 1 in steps of 0.05.
    pub curve: Vec<ScopePoint>,
    /// Mean time per message of the intent model, in microseconds.
    pub predict_us: f64,
    /// The stored model's size in bytes.
    pub model_bytes: usize,
}

/// A row as the model saw it.
#[derive(Debug, Clone, Copy)]
struct Scored {
    confidence: f32,
    covered: bool,
    correct: bool,
    oos: bool,
}

/// Trains on the in-scope rows of `train`, chooses the threshold on `validation` (or on intents
/// held out of `train` when `None`) and measures `test`.
pub fn evaluate(
    train: &[Row],
    validation: Option<&[Row]>,
    test: &[Row],
    oos_label: &str,
    options: TrainOptions,
) -> Result<ScopeReport, TrainError> {
    let in_scope: Vec<Row> = train.iter().filter(|r| r.label != oos_label).cloned().collect();
    let languages = super::TenantLanguages::of(&in_scope);
    let options = TrainOptions { heads: options.heads.and(languages.heads()), ..options };
    let model = train_model(&in_scope, options)?;
    let score = |model: &IntentModel, rows: &[Row]| score(model, rows, oos_label, &languages);
    let (validation_scores, source, validation_examples) = match validation {
        Some(rows) => (score(&model, rows), ValidationSource::File, rows.len()),
        None => {
            let (fit, held, names) = hold_out_for_validation(&in_scope, oos_label);
            let validation_model = train_model(&fit, options)?;
            (score(&validation_model, &held), ValidationSource::HeldOutIntents(names), held.len())
        }
    };
    let threshold = choose_threshold(&validation_scores);
    let test_scores = score(&model, test);
    Ok(ScopeReport {
        oos_label: oos_label.to_string(),
        train_examples: in_scope.len(),
        validation_examples,
        validation: source,
        test_examples: test.len(),
        test_oos_examples: test.iter().filter(|r| r.label == oos_label).count(),
        intents: model.labels().len(),
        chosen: point(&test_scores, threshold),
        validation_at_chosen: point(&validation_scores, threshold),
        curve: (0..=20).map(|i| point(&test_scores, i as f32 * 0.05)).collect(),
        predict_us: mean_us(test, |r| {
            std::hint::black_box(model.predict(&r.text, languages.of_text(&r.text)));
        }),
        model_bytes: model.to_bytes().len(),
    })
}

/// Moves every `n`-th intent (in sorted order) of `rows` out of scope: its rows are dropped from
/// training and relabelled `oos_label` in the test rows. For measuring refusal on a data set that
/// has no out-of-scope rows of its own. Returns the intents moved.
pub fn hold_out_intents(train: &mut Vec<Row>, test: &mut [Row], every: usize, oos_label: &str) -> Vec<String> {
    let labels: BTreeSet<String> = train.iter().map(|r| r.label.clone()).collect();
    let held: BTreeSet<String> =
        labels.into_iter().enumerate().filter(|(i, _)| i % every.max(2) == 0).map(|(_, l)| l).collect();
    train.retain(|r| !held.contains(&r.label));
    for row in test.iter_mut().filter(|r| held.contains(&r.label)) {
        row.label = oos_label.to_string();
    }
    held.into_iter().collect()
}

/// Splits in-scope training rows into a fitting part and validation rows: every fifth intent
/// becomes out of scope (offset from [`hold_out_intents`]'s choice, so a test built with it and
/// this validation never share an intent), and every fifth example of the rest stays in scope.
fn hold_out_for_validation(rows: &[Row], oos_label: &str) -> (Vec<Row>, Vec<Row>, Vec<String>) {
    let labels: BTreeSet<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    let held: BTreeSet<&str> = labels.into_iter().enumerate().filter(|(i, _)| i % 5 == 2).map(|(_, l)| l).collect();
    let (mut fit, mut validation) = (Vec::new(), Vec::new());
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for row in rows {
        if held.contains(row.label.as_str()) {
            validation.push(Row { label: oos_label.to_string(), ..row.clone() });
            continue;
        }
        let n = seen.entry(row.label.as_str()).or_default();
        *n += 1;
        if n.is_multiple_of(5) { validation.push(row.clone()) } else { fit.push(row.clone()) }
    }
    (fit, validation, held.into_iter().map(str::to_string).collect())
}

fn train_model(rows: &[Row], options: TrainOptions) -> Result<IntentModel, TrainError> {
    let pairs: Vec<(&str, &str)> = rows.iter().map(|r| (r.text.as_str(), r.label.as_str())).collect();
    IntentModel::train(&pairs, options)
}

fn score(model: &IntentModel, rows: &[Row], oos_label: &str, languages: &super::TenantLanguages) -> Vec<Scored> {
    rows.iter()
        .map(|r| {
            let p = model.predict(&r.text, languages.of_text(&r.text));
            let (i, confidence) = p.ranked[0];
            Scored {
                confidence,
                covered: p.covered(MIN_COVERAGE),
                correct: model.labels()[i] == r.label,
                oos: r.label == oos_label,
            }
        })
        .collect()
}

fn point(scores: &[Scored], threshold: f32) -> ScopePoint {
    let refused = |s: &Scored| !s.covered || s.confidence < threshold;
    let in_scope = scores.iter().filter(|s| !s.oos).count();
    let oos = scores.len() - in_scope;
    let answered_right = scores.iter().filter(|s| !s.oos && !refused(s) && s.correct).count();
    let refused_oos = scores.iter().filter(|s| s.oos && refused(s)).count();
    let refused_all = scores.iter().filter(|s| refused(s)).count();
    ScopePoint {
        threshold,
        in_scope_accuracy: ratio(answered_right, in_scope),
        oos_recall: ratio(refused_oos, oos),
        oos_precision: ratio(refused_oos, refused_all),
    }
}

/// The threshold (0 to 1 in steps of 0.01) with the best sum of in-scope accuracy and
/// out-of-scope recall on `validation`: both kinds of mistake weigh the same. Ties go to the
/// lower threshold, which refuses less.
fn choose_threshold(validation: &[Scored]) -> f32 {
    let mut best = (f64::MIN, 0.0);
    for i in 0..=100 {
        let t = i as f32 / 100.0;
        let p = point(validation, t);
        let value = p.in_scope_accuracy + p.oos_recall;
        if value > best.0 + 1e-12 {
            best = (value, t);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(v: &[(&str, &str)]) -> Vec<Row> {
        v.iter().map(|(t, l)| Row::new(*t, *l)).collect()
    }

    fn train() -> Vec<Row> {
        rows(&[
            ("where is my parcel", "track"),
            ("track my order", "track"),
            ("has my package shipped yet", "track"),
            ("when will my parcel arrive", "track"),
            ("i want a refund", "refund"),
            ("give me my money back", "refund"),
            ("refund my order please", "refund"),
            ("can i get a refund for this", "refund"),
            ("what are your opening hours", "hours"),
            ("when do you open", "hours"),
            ("are you open on sunday", "hours"),
            ("what time do you close", "hours"),
        ])
    }

    #[test]
    fn the_threshold_comes_from_validation_and_never_from_the_test_rows() {
        let validation = rows(&[
            ("where is my package", "track"),
            ("i would like a refund", "refund"),
            ("what is the capital of peru", "oos"),
            ("sing me a song", "oos"),
        ]);
        let easy = rows(&[("track my parcel please", "track")]);
        let hard = rows(&[("tell me a joke", "oos"), ("who won the match", "oos"), ("refund please", "refund")]);
        let a = evaluate(&train(), Some(&validation), &easy, "oos", TrainOptions::default()).expect("trains");
        let b = evaluate(&train(), Some(&validation), &hard, "oos", TrainOptions::default()).expect("trains");
        assert_eq!(a.chosen.threshold, b.chosen.threshold, "the test rows moved the threshold");
        assert_eq!(a.validation_at_chosen, b.validation_at_chosen);
        // Validation decides: with nothing to refuse it refuses nothing, with nothing but
        // out-of-scope rows it refuses them all.
        let none_oos = rows(&[("where is my package", "track"), ("i would like a refund", "refund")]);
        let all_oos = rows(&[("what is the capital of peru", "oos"), ("sing me a song", "oos")]);
        let low = evaluate(&train(), Some(&none_oos), &hard, "oos", TrainOptions::default()).expect("trains");
        let high = evaluate(&train(), Some(&all_oos), &hard, "oos", TrainOptions::default()).expect("trains");
        assert_eq!(low.chosen.threshold, 0.0);
        assert!(high.chosen.threshold > low.chosen.threshold);
        assert_eq!(high.validation_at_chosen.oos_recall, 1.0);
        assert_eq!(low.validation_at_chosen.in_scope_accuracy, 1.0);
        assert_eq!(b.test_oos_examples, 2);
        assert_eq!(b.curve.len(), 21);
    }

    #[test]
    fn out_of_scope_rows_are_never_trained_on() {
        let mut with_oos = train();
        with_oos.extend(rows(&[("what is the weather", "oos"), ("tell me the weather", "oos")]));
        let test = rows(&[("what is the weather", "oos")]);
        let report = evaluate(&with_oos, None, &test, "oos", TrainOptions::default()).expect("trains");
        assert_eq!(report.intents, 3);
        assert_eq!(report.train_examples, 12);
        assert!(matches!(report.validation, ValidationSource::HeldOutIntents(ref held) if held.len() == 1));
    }

    #[test]
    fn holding_out_intents_moves_them_out_of_scope_in_both_sets() {
        let mut train = train();
        let mut test = rows(&[("where is it", "track"), ("money back", "refund"), ("open today", "hours")]);
        let held = hold_out_intents(&mut train, &mut test, 3, "oos");
        assert_eq!(held, vec!["hours".to_string()]);
        assert!(train.iter().all(|r| r.label != "hours"));
        assert_eq!(test.iter().filter(|r| r.label == "oos").count(), 1);
    }

    #[test]
    fn points_count_refusals_as_wrong_in_scope_and_right_out_of_scope() {
        let s = |confidence, correct, oos| Scored { confidence, covered: true, correct, oos };
        let scores = [s(0.9, true, false), s(0.4, true, false), s(0.3, false, true), s(0.8, false, true)];
        let p = point(&scores, 0.5);
        assert_eq!((p.in_scope_accuracy, p.oos_recall, p.oos_precision), (0.5, 0.5, 0.5));
        assert_eq!(choose_threshold(&scores), 0.31);
    }
}
