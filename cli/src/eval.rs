//! `switchboard eval`: accuracy, macro-F1, calibration and speed of the intent model.

use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::Path;
use switchboard::Tenant;
use switchboard::classify::TrainOptions;
use switchboard::classify::eval::{EvalReport, evaluate};

/// Cross-validates on the tenant's own examples (5 folds).
pub fn tenant(tenant: &Tenant) -> Result<()> {
    let examples: Vec<(String, String)> = tenant
        .config
        .intents
        .iter()
        .flat_map(|i| i.examples.values().flatten().map(move |e| (e.clone(), i.name.clone())))
        .collect();
    let folds = 5;
    let mut reports = Vec::new();
    for k in 0..folds {
        let (test, train): (Vec<_>, Vec<_>) = examples.iter().cloned().enumerate().partition(|(i, _)| i % folds == k);
        let strip = |v: Vec<(usize, (String, String))>| v.into_iter().map(|(_, e)| e).collect::<Vec<_>>();
        reports.push(evaluate(&strip(train), &strip(test), TrainOptions::default())?);
    }
    let mean = |f: fn(&EvalReport) -> f64| reports.iter().map(f).sum::<f64>() / reports.len() as f64;
    let out = serde_json::json!({
        "tenant": tenant.id,
        "examples": examples.len(),
        "folds": folds,
        "accuracy": mean(|r| r.accuracy),
        "macro_f1": mean(|r| r.macro_f1),
        "expected_calibration_error": mean(|r| r.expected_calibration_error),
        "train_ms": mean(|r| r.train_ms),
        "predict_us": mean(|r| r.predict_us),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// Trains on one CSV and tests on another.
pub fn dataset(train: &Path, test: &Path, per_intent: Option<usize>) -> Result<()> {
    let mut train = read_csv(train)?;
    if let Some(n) = per_intent {
        let mut seen: HashMap<String, usize> = HashMap::new();
        train.retain(|(_, label)| {
            let count = seen.entry(label.clone()).or_default();
            *count += 1;
            *count <= n
        });
    }
    let test = read_csv(test)?;
    let report = evaluate(&train, &test, TrainOptions::default())?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn read_csv(path: &Path) -> Result<Vec<(String, String)>> {
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(text), Some(label)) = (column("text"), column("category")) else {
        bail!("{} needs `text` and `category` columns", path.display());
    };
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{} row {}", path.display(), n + 2))?;
        match (record.get(text), record.get(label)) {
            (Some(t), Some(l)) => rows.push((t.to_string(), l.to_string())),
            _ => bail!("{} row {} is missing a column", path.display(), n + 2),
        }
    }
    Ok(rows)
}
