//! Intent accuracy, macro-F1, calibration, speed and size of the local intent model.

use super::metrics::{self, LabelScores};
use super::{Row, mean_us};
use crate::classify::intent::{IntentModel, TrainError, TrainOptions};
use crate::classify::local::LocalClassifier;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;
use switchboard_core::domain::Language;

/// The figures of one intent evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Training examples.
    pub train_examples: usize,
    /// Test examples.
    pub test_examples: usize,
    /// Intents.
    pub intents: usize,
    /// Share of test examples whose top intent is right.
    pub accuracy: f64,
    /// Unweighted mean of the per-intent F1 scores.
    pub macro_f1: f64,
    /// Expected calibration error over 10 confidence bins: how far confidence is from accuracy.
    pub expected_calibration_error: f64,
    /// The learned calibration temperature.
    pub temperature: f32,
    /// Training time in milliseconds (calibration included).
    pub train_ms: f64,
    /// Mean time of the intent model alone per message, in microseconds.
    pub predict_us: f64,
    /// Mean time of every local signal per message (intent, sentiment, urgency, language,
    /// request for a person), in microseconds: the budget is 1,000.
    pub all_local_signals_us: f64,
    /// The stored model's size in bytes.
    pub model_bytes: usize,
    /// Whether the sentence encoder tier was trained (`--no-encoder` turns it off).
    pub encoder: bool,
    /// Share of test messages on which the n-gram model was unsure and the encoder was asked.
    pub encoder_asked: f64,
    /// Per-intent scores, for the intents the test set has.
    #[serde(skip)]
    pub per_intent: BTreeMap<String, LabelScores>,
    /// `(predicted, gold)` for every test row, in order.
    #[serde(skip)]
    pub predictions: Vec<(String, String)>,
}

/// Trains on `train` and measures on `test`.
pub fn evaluate(train: &[Row], test: &[Row], options: TrainOptions) -> Result<EvalReport, TrainError> {
    let pairs: Vec<(&str, &str)> = train.iter().map(|r| (r.text.as_str(), r.label.as_str())).collect();
    let languages = super::TenantLanguages::of(train);
    let options = TrainOptions { heads: options.heads.and(languages.heads()), ..options };
    let started = Instant::now();
    let model = IntentModel::train(&pairs, options)?;
    let train_ms = started.elapsed().as_secs_f64() * 1e3;

    let predict_us = mean_us(test, |r| {
        std::hint::black_box(model.predict(&r.text, languages.of_text(&r.text)));
    });
    let mut asked = 0;
    let scored: Vec<(String, f32)> = test
        .iter()
        .map(|r| {
            let prediction = model.predict(&r.text, languages.of_text(&r.text));
            asked += usize::from(prediction.encoder_used);
            let (i, conf) = prediction.ranked[0];
            (model.labels()[i].clone(), conf)
        })
        .collect();
    let predictions: Vec<(String, String)> =
        scored.iter().zip(test).map(|((p, _), r)| (p.clone(), r.label.clone())).collect();
    let per_intent = metrics::per_label(predictions.iter().map(|(p, g)| (p.as_str(), g.as_str())));
    let calibration: Vec<(f32, bool)> = scored.iter().zip(test).map(|((p, c), r)| (*c, *p == r.label)).collect();
    let correct = calibration.iter().filter(|(_, right)| *right).count();
    let model_bytes = model.to_bytes().len();
    let temperature = model.temperature();
    let encoder = model.heads().any();
    let all_local_signals_us = all_signals_us(model, test);
    Ok(EvalReport {
        train_examples: train.len(),
        test_examples: test.len(),
        intents: pairs.iter().map(|(_, l)| *l).collect::<std::collections::HashSet<_>>().len(),
        accuracy: metrics::ratio(correct, test.len()),
        macro_f1: metrics::macro_f1(&per_intent),
        expected_calibration_error: metrics::ece(&calibration),
        temperature,
        train_ms,
        predict_us,
        all_local_signals_us,
        model_bytes,
        encoder,
        encoder_asked: metrics::ratio(asked, test.len()),
        per_intent,
        predictions,
    })
}

/// What one message costs the local tier in full, with a three-language tenant so the language
/// detector does its real work.
fn all_signals_us(model: IntentModel, test: &[Row]) -> f64 {
    let languages: Vec<Language> = ["en", "es", "de"].iter().filter_map(|c| Language::from_code(c)).collect();
    let local = LocalClassifier::with_intents(model, &[], &languages, 0.3, &[]);
    mean_us(test, |r| {
        std::hint::black_box(local.classify(&r.text));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_accuracy_speed_and_size() {
        let rows = |v: &[(&str, &str)]| v.iter().map(|(t, l)| Row::new(*t, *l)).collect::<Vec<_>>();
        let train = rows(&[
            ("where is my parcel", "track"),
            ("track my order", "track"),
            ("has my package shipped", "track"),
            ("i want a refund", "refund"),
            ("give me my money back", "refund"),
            ("refund my order please", "refund"),
        ]);
        let test = rows(&[("where is my package", "track"), ("i want my money back", "refund")]);
        let report = evaluate(&train, &test, TrainOptions::default()).expect("trains");
        assert_eq!(report.accuracy, 1.0);
        assert_eq!(report.predictions.len(), 2);
        assert!(report.model_bytes > 100);
        assert!(report.predict_us > 0.0 && report.all_local_signals_us > 0.0, "{report:?}");
        assert!(report.encoder, "the encoder tier was trained");
    }
}
