//! Measuring the intent model on labelled data: accuracy, macro-F1, calibration error, speed.

use super::intent::{IntentModel, TrainError, TrainOptions};
use serde::Serialize;
use std::collections::HashMap;
use std::time::Instant;

/// The figures of one evaluation run.
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
    /// Mean prediction time in microseconds.
    pub predict_us: f64,
}

/// Trains on `train` and measures on `test` (`(text, intent)` pairs).
pub fn evaluate(
    train: &[(String, String)],
    test: &[(String, String)],
    options: TrainOptions,
) -> Result<EvalReport, TrainError> {
    let started = Instant::now();
    let model = IntentModel::train(train, options)?;
    let train_ms = started.elapsed().as_secs_f64() * 1e3;

    let started = Instant::now();
    let predictions: Vec<(String, f32, &str)> = test
        .iter()
        .map(|(text, gold)| {
            let p = model.predict(text);
            let (i, conf) = p.ranked[0];
            (model.labels()[i].clone(), conf, gold.as_str())
        })
        .collect();
    let predict_us = started.elapsed().as_secs_f64() * 1e6 / test.len().max(1) as f64;

    let correct = predictions.iter().filter(|(p, _, g)| p == g).count();
    Ok(EvalReport {
        train_examples: train.len(),
        test_examples: test.len(),
        intents: model.labels().len(),
        accuracy: correct as f64 / test.len().max(1) as f64,
        macro_f1: macro_f1(&predictions),
        expected_calibration_error: ece(&predictions),
        temperature: model.temperature(),
        train_ms,
        predict_us,
    })
}

fn macro_f1(predictions: &[(String, f32, &str)]) -> f64 {
    let mut tp: HashMap<&str, f64> = HashMap::new();
    let mut fp: HashMap<&str, f64> = HashMap::new();
    let mut fn_: HashMap<&str, f64> = HashMap::new();
    for (p, _, g) in predictions {
        if p == g {
            *tp.entry(g).or_default() += 1.0;
        } else {
            *fp.entry(p.as_str()).or_default() += 1.0;
            *fn_.entry(g).or_default() += 1.0;
        }
    }
    let mut labels: Vec<&str> = predictions.iter().map(|(_, _, g)| *g).collect();
    labels.sort_unstable();
    labels.dedup();
    let f1s: Vec<f64> = labels
        .iter()
        .map(|l| {
            let tp = tp.get(l).copied().unwrap_or(0.0);
            let denom = 2.0 * tp + fp.get(l).copied().unwrap_or(0.0) + fn_.get(l).copied().unwrap_or(0.0);
            if denom == 0.0 { 0.0 } else { 2.0 * tp / denom }
        })
        .collect();
    f1s.iter().sum::<f64>() / f1s.len().max(1) as f64
}

fn ece(predictions: &[(String, f32, &str)]) -> f64 {
    let mut bins = [(0f64, 0f64, 0usize); 10];
    for (p, conf, g) in predictions {
        let b = ((*conf as f64) * 10.0).floor().clamp(0.0, 9.0) as usize;
        bins[b].0 += *conf as f64;
        bins[b].1 += if p == g { 1.0 } else { 0.0 };
        bins[b].2 += 1;
    }
    let n = predictions.len().max(1) as f64;
    bins.iter().filter(|b| b.2 > 0).map(|(c, a, k)| (*k as f64 / n) * ((c / *k as f64) - (a / *k as f64)).abs()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_wrong_predictions_score_as_expected() {
        let preds = vec![("a".to_string(), 1.0, "a"), ("b".to_string(), 1.0, "b")];
        assert!((macro_f1(&preds) - 1.0).abs() < 1e-9);
        assert!(ece(&preds) < 1e-9);
        let wrong = vec![("a".to_string(), 0.95, "b"), ("b".to_string(), 0.95, "a")];
        assert_eq!(macro_f1(&wrong), 0.0);
        assert!((ece(&wrong) - 0.95).abs() < 1e-6);
    }
}
