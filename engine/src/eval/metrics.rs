//! The scores every task shares: per-label precision/recall/F1, macro-F1, calibration error.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Precision, recall and F1 of one label.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct LabelScores {
    /// Of the rows predicted as this label, the share that are.
    pub precision: f64,
    /// Of the rows that are this label, the share predicted so.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
    /// Rows with this gold label.
    pub support: usize,
}

/// Share of `part` in `whole`, 0 when `whole` is empty.
pub fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

/// Scores of a binary detector from its counts.
pub fn binary(true_pos: usize, predicted: usize, actual: usize) -> LabelScores {
    let (precision, recall) = (ratio(true_pos, predicted), ratio(true_pos, actual));
    LabelScores { precision, recall, f1: binary_f1(precision, recall), support: actual }
}

/// Harmonic mean of precision and recall.
pub fn binary_f1(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) }
}

/// Per-label scores over `(predicted, gold)` pairs, for every gold label.
pub fn per_label<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, LabelScores> {
    let mut tp: HashMap<&str, usize> = HashMap::new();
    let mut predicted: HashMap<&str, usize> = HashMap::new();
    let mut actual: HashMap<&str, usize> = HashMap::new();
    for (p, g) in pairs {
        *predicted.entry(p).or_default() += 1;
        *actual.entry(g).or_default() += 1;
        if p == g {
            *tp.entry(g).or_default() += 1;
        }
    }
    actual
        .iter()
        .map(|(label, &n)| {
            let hit = tp.get(label).copied().unwrap_or(0);
            (label.to_string(), binary(hit, predicted.get(label).copied().unwrap_or(0), n))
        })
        .collect()
}

/// Unweighted mean F1 over the gold labels.
pub fn macro_f1(scores: &BTreeMap<String, LabelScores>) -> f64 {
    scores.values().map(|s| s.f1).sum::<f64>() / scores.len().max(1) as f64
}

/// Expected calibration error over 10 confidence bins: how far confidence is from accuracy.
pub fn ece(predictions: &[(f32, bool)]) -> f64 {
    let mut bins = [(0f64, 0f64, 0usize); 10];
    for (conf, right) in predictions {
        let b = ((*conf as f64) * 10.0).floor().clamp(0.0, 9.0) as usize;
        bins[b].0 += *conf as f64;
        bins[b].1 += if *right { 1.0 } else { 0.0 };
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
        let perfect = per_label([("a", "a"), ("b", "b")]);
        assert!((macro_f1(&perfect) - 1.0).abs() < 1e-9);
        assert!(ece(&[(1.0, true), (1.0, true)]) < 1e-9);
        let wrong = per_label([("a", "b"), ("b", "a")]);
        assert_eq!(macro_f1(&wrong), 0.0);
        assert!((ece(&[(0.95, false), (0.95, false)]) - 0.95).abs() < 1e-6);
    }

    #[test]
    fn binary_scores_from_counts() {
        let s = binary(3, 4, 6);
        assert!((s.precision - 0.75).abs() < 1e-9 && (s.recall - 0.5).abs() < 1e-9);
        assert!((s.f1 - 0.6).abs() < 1e-9);
        assert_eq!(binary(0, 0, 5).f1, 0.0);
    }
}
