//! `switchboard eval --task clusters`: how well `import history` groups messages into intents,
//! on labelled data with the labels hidden. The grouping threshold is chosen on the validation
//! rows (the one with the best adjusted Rand index), never on the test rows; the test rows are
//! then grouped once and compared with their labels.

use super::Row;
use crate::history::{Embedder, Past, Thresholds, cluster, suggest};
use serde::Serialize;
use std::collections::HashMap;
use switchboard_core::domain::Language;

/// Thresholds tried on the validation rows, by kind of vector.
const EMBEDDED: [f32; 9] = [0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80];
const HASHED: [f32; 8] = [0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50];

/// The measurement.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterReport {
    /// Whether messages were grouped by the encoder's embeddings (else by hashed words).
    pub encoder: bool,
    /// The threshold used on the test rows.
    pub threshold: f32,
    /// Where it came from: `validation` or `default`.
    pub threshold_from: &'static str,
    /// Test messages.
    pub messages: usize,
    /// Distinct labels among them.
    pub labels: usize,
    /// Suggested intents (groups of at least three): what a person reviews.
    pub suggested: usize,
    /// Share of the test messages inside a suggestion.
    pub covered: f64,
    /// Adjusted Rand index against the hidden labels (every message outside a suggestion its
    /// own group): 1 is the labels exactly, 0 chance.
    pub adjusted_rand_index: f64,
    /// Share of messages in their group's most common label.
    pub purity: f64,
    /// The validation sweep: threshold → adjusted Rand index.
    pub sweep: Vec<(f32, f64)>,
}

/// Groups `test` (labels hidden) as `import history` would, in `language`, with the threshold
/// that does best on `validation`; by `embed`'s embeddings when given (as `history::suggest`
/// takes them), else by hashed words.
pub fn evaluate(
    validation: Option<&[Row]>,
    test: &[Row],
    language: Language,
    embed: Option<&Embedder<'_>>,
) -> ClusterReport {
    let encoder = embed.is_some();
    let none = |_: Language, _: &[&str]| None;
    let embed: &Embedder<'_> = match embed {
        Some(e) => e,
        None => &none,
    };
    let defaults = Thresholds::default();
    let (candidates, default): (&[f32], f32) =
        if encoder { (&EMBEDDED, defaults.embedded) } else { (&HASHED, defaults.hashed) };
    let mut sweep = Vec::new();
    if let Some(validation) = validation {
        for &t in candidates {
            sweep.push((t, score(validation, language, embed, t, encoder).0));
        }
    }
    let best = sweep.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|(t, _)| *t);
    let threshold = best.unwrap_or(default);
    let (ari, purity, suggested, covered) = score(test, language, embed, threshold, encoder);
    let mut labels: Vec<&str> = test.iter().map(|r| r.label.as_str()).collect();
    labels.sort_unstable();
    labels.dedup();
    ClusterReport {
        encoder,
        threshold,
        threshold_from: if best.is_some() { "validation" } else { "default" },
        messages: test.len(),
        labels: labels.len(),
        suggested,
        covered,
        adjusted_rand_index: ari,
        purity,
        sweep,
    }
}

/// (ARI, purity, suggestions, covered share) of grouping `rows` at `threshold`.
fn score(rows: &[Row], language: Language, embed: &Embedder, threshold: f32, encoder: bool) -> (f64, f64, usize, f64) {
    let history: Vec<Past> =
        rows.iter().map(|r| Past { text: r.text.clone(), language: Some(language), ..Past::default() }).collect();
    let thresholds = if encoder {
        Thresholds { embedded: threshold, ..Thresholds::default() }
    } else {
        Thresholds { hashed: threshold, ..Thresholds::default() }
    };
    let grouped = suggest(&history, &[language], &|_| Some(language), embed, thresholds);
    // A message outside every suggestion is a group of its own.
    let outside = grouped.suggestions.len();
    let found: Vec<usize> = grouped.assigned.iter().enumerate().map(|(i, g)| g.unwrap_or(outside + i)).collect();
    let truth: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    let (ari, purity) = cluster::agreement(&found, &truth);
    let covered = grouped.assigned.iter().filter(|g| g.is_some()).count() as f64 / rows.len().max(1) as f64;
    (ari, purity, grouped.suggestions.len(), covered)
}

/// Embeddings of texts, computed once per text (a sweep groups the same rows many times).
pub fn memo(
    embed: impl Fn(&[&str]) -> Vec<Vec<f32>>,
    rows: &[&[Row]],
) -> impl Fn(Language, &[&str]) -> Option<Vec<Vec<f32>>> {
    let mut known: HashMap<String, Vec<f32>> = HashMap::new();
    for set in rows {
        let texts: Vec<&str> = set.iter().map(|r| r.text.as_str()).filter(|t| !known.contains_key(*t)).collect();
        for (text, v) in texts.iter().zip(embed(&texts)) {
            known.insert((*text).to_string(), v);
        }
    }
    move |_, texts: &[&str]| texts.iter().map(|t| known.get(*t).cloned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(items: &[(&str, &str)]) -> Vec<Row> {
        items.iter().map(|(t, l)| Row { text: t.to_string(), label: l.to_string(), language: None }).collect()
    }

    #[test]
    fn the_threshold_comes_from_validation_and_the_test_is_scored_against_its_labels() {
        let data = rows(&[
            ("where is my order", "order"),
            ("my order has not arrived", "order"),
            ("order still not here", "order"),
            ("how do i return shoes", "return"),
            ("return the shoes please", "return"),
            ("i want to return shoes", "return"),
        ]);
        let report = evaluate(Some(&data), &data, Language::EN, None);
        assert!(!report.encoder);
        assert_eq!(report.threshold_from, "validation");
        assert_eq!(report.sweep.len(), HASHED.len());
        assert_eq!((report.labels, report.messages), (2, 6));
        assert!(report.adjusted_rand_index > 0.9, "{report:?}");
        assert_eq!(report.suggested, 2);
        let without = evaluate(None, &data, Language::EN, None);
        assert_eq!(without.threshold_from, "default");
    }
}
