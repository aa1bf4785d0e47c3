//! `switchboard eval`: the local tier measured, on a tenant's own examples or on labelled CSV
//! files (`text,category` columns, and `language` where a file has it). JSON out.

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use switchboard::Tenant;
use switchboard::classify::{Heads, TrainOptions};
use switchboard::cost::PriceTable;
use switchboard::eval::{self, Row, scope, signals};

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Task {
    /// Intent accuracy; with --oos-label, refusal of out-of-scope messages too.
    Intent,
    /// Sentiment labels and the negative messages that drive escalation.
    Sentiment,
    /// Requests for a person (`human` rows) against near-misses (any other label).
    Escalation,
    /// Language detection (the category is the language code).
    Language,
    /// How `import history` groups messages into intents, the labels hidden: adjusted Rand
    /// index and purity against them, the threshold chosen on --validation.
    Clusters,
}

/// The command line of `switchboard eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// What to measure.
    #[arg(long, value_enum, default_value = "intent")]
    pub task: Task,
    /// Tenant YAML file for the tenant report (default: the built-in demo tenant); used when
    /// no --test file is given.
    #[arg(long)]
    pub tenant: Option<PathBuf>,
    /// Training CSV (intent; escalation: a head trained on it instead of the shipped one;
    /// language: vocabulary).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Validation CSV: thresholds are chosen here, never on the test rows.
    #[arg(long)]
    pub validation: Option<PathBuf>,
    /// Test CSV.
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Use only the first N training examples of each intent (few-shot runs).
    #[arg(long)]
    pub per_intent: Option<usize>,
    /// Rows with this label are out of scope: report in-scope accuracy, out-of-scope recall and
    /// precision at the threshold chosen on validation, and the curve.
    #[arg(long)]
    pub oos_label: Option<String>,
    /// With --oos-label: move every Nth intent out of scope (dropped from training, relabelled in
    /// the test rows), for data sets without out-of-scope rows of their own.
    #[arg(long, requires = "oos_label")]
    pub hold_out_every: Option<usize>,
    /// Measure the n-gram model alone, without the sentence encoder tier.
    #[arg(long)]
    pub no_encoder: bool,
    /// Model whose prices the tenant report uses for hosted classification.
    #[arg(long, default_value = "anthropic.claude-3-haiku-20240307-v1:0")]
    pub model_id: String,
}

/// Runs the evaluation the arguments ask for and prints its JSON report.
pub fn run(args: &EvalArgs, load_tenant: impl Fn(Option<&PathBuf>) -> Result<Tenant>) -> Result<()> {
    let report = evaluate(args, load_tenant)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn evaluate(args: &EvalArgs, load_tenant: impl Fn(Option<&PathBuf>) -> Result<Tenant>) -> Result<Value> {
    let Some(test_path) = &args.test else {
        if args.task != Task::Intent || args.train.is_some() || args.validation.is_some() {
            bail!("--test is required, except for the tenant report (`switchboard eval [--tenant FILE]`)");
        }
        let tenant = load_tenant(args.tenant.as_ref())?;
        let report =
            eval::tenant::report(tenant.id.as_str(), &tenant.config, &PriceTable::default_table(), &args.model_id)?;
        return with_task("tenant", serde_json::to_value(report)?);
    };
    let mut test = read_csv(test_path)?;
    let validation = args.validation.as_deref().map(read_csv).transpose()?;
    let unused = |flag: &str, given: bool| {
        if given { bail!("{flag} is not used by --task {:?}", args.task) } else { Ok(()) }
    };
    let value = match args.task {
        Task::Intent => {
            let Some(train_path) = &args.train else { bail!("--task intent needs --train") };
            let mut train = read_csv(train_path)?;
            let heads = if args.no_encoder { Heads::NONE } else { Heads::ALL };
            let options = TrainOptions { heads, ..TrainOptions::default() };
            if let Some(n) = args.per_intent {
                train = eval::first_per_label(train, n);
            }
            match &args.oos_label {
                Some(label) => {
                    let held = match args.hold_out_every {
                        Some(every) => scope::hold_out_intents(&mut train, &mut test, every, label),
                        None => Vec::new(),
                    };
                    let report = scope::evaluate(&train, validation.as_deref(), &test, label, options)?;
                    let mut value = serde_json::to_value(report)?;
                    value["test_intents_held_out"] = json!(held);
                    value
                }
                None => {
                    unused("--validation (thresholds need --oos-label)", validation.is_some())?;
                    serde_json::to_value(eval::evaluate(&train, &test, options)?)?
                }
            }
        }
        Task::Sentiment => {
            unused("--train (the sentiment lexicons are built in)", args.train.is_some())?;
            let default = switchboard::tenant::DEFAULT_NEGATIVE_SENTIMENT_AT_OR_BELOW;
            let scorer = match (!args.no_encoder).then(switchboard::classify::encoder::shared).flatten() {
                Some(encoder) => signals::SentimentScorer::Learned(
                    encoder,
                    switchboard::classify::sentiment_head::SentimentHead::shipped(),
                ),
                None => signals::SentimentScorer::Lexicons,
            };
            serde_json::to_value(signals::sentiment(validation.as_deref(), &test, default, scorer))?
        }
        Task::Escalation => {
            unused("--validation (the threshold is chosen by cross-validation on --train)", validation.is_some())?;
            let encoder = (!args.no_encoder).then(switchboard::classify::encoder::shared).flatten();
            let report = match (encoder, &args.train) {
                (None, _) => signals::human_requests(&test, signals::HumanDetector::Rules),
                (Some(encoder), None) => {
                    let head = switchboard::classify::handover::HumanRequests::shipped();
                    signals::human_requests(&test, signals::HumanDetector::Learned(encoder, head))
                }
                (Some(encoder), Some(train)) => {
                    let rows = read_csv(train)?;
                    let labelled: Vec<(&str, bool)> =
                        rows.iter().map(|r| (r.text.as_str(), r.label == "human")).collect();
                    let head = switchboard::classify::handover::HumanRequests::train(encoder, &labelled);
                    signals::human_requests(&test, signals::HumanDetector::Learned(encoder, &head))
                }
            };
            serde_json::to_value(report)?
        }
        Task::Clusters => {
            unused("--train", args.train.is_some())?;
            let language = test
                .first()
                .and_then(|r| r.language.as_deref())
                .and_then(switchboard::domain::Language::from_code)
                .unwrap_or(switchboard::domain::Language::EN);
            let encoder = (!args.no_encoder && language == switchboard::domain::Language::EN)
                .then(switchboard::classify::encoder::shared)
                .flatten();
            let sets: Vec<&[Row]> = [Some(test.as_slice()), validation.as_deref()].into_iter().flatten().collect();
            let report = match encoder {
                Some(encoder) => {
                    let embed = eval::clusters::memo(|texts| encoder.embed_batch(texts), &sets);
                    eval::clusters::evaluate(validation.as_deref(), &test, language, Some(&embed))
                }
                None => eval::clusters::evaluate(validation.as_deref(), &test, language, None),
            };
            serde_json::to_value(report)?
        }
        Task::Language => {
            unused("--validation", validation.is_some())?;
            // Rows with a `language` column (the request and sentiment sets) are labelled by it.
            let by_language = |rows: Vec<Row>| -> Vec<Row> {
                rows.into_iter().map(|r| Row { label: r.language.clone().unwrap_or(r.label), ..r }).collect()
            };
            let train = args.train.as_deref().map(read_csv).transpose()?.map(by_language).unwrap_or_default();
            serde_json::to_value(signals::language(&train, &by_language(test))?)?
        }
    };
    let name = match args.task {
        Task::Intent if args.oos_label.is_some() => "intent+out_of_scope",
        Task::Intent => "intent",
        Task::Sentiment => "sentiment",
        Task::Escalation => "escalation",
        Task::Language => "language",
        Task::Clusters => "clusters",
    };
    with_task(name, value)
}

fn with_task(task: &str, mut report: Value) -> Result<Value> {
    let Value::Object(fields) = &mut report else { bail!("a report is a JSON object") };
    fields.insert("task".into(), json!(task));
    Ok(report)
}

/// Reads `text,category[,language]` rows.
fn read_csv(path: &Path) -> Result<Vec<Row>> {
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let headers = reader.headers().with_context(|| format!("reading the header of {}", path.display()))?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(text), Some(label)) = (column("text"), column("category")) else {
        bail!("{} needs `text` and `category` columns", path.display());
    };
    let language = column("language");
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{} row {}", path.display(), n + 2))?;
        let (Some(t), Some(l)) = (record.get(text), record.get(label)) else {
            bail!("{} row {} is missing a column", path.display(), n + 2);
        };
        let language = language.and_then(|i| record.get(i)).filter(|l| !l.is_empty()).map(str::to_string);
        rows.push(Row { text: t.to_string(), label: l.to_string(), language });
    }
    if rows.is_empty() {
        bail!("{} has no rows", path.display());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(name: &str, rows: &[(&str, &str)]) -> PathBuf {
        let path = std::env::temp_dir().join(format!("switchboard-eval-{}-{name}.csv", std::process::id()));
        let mut writer = csv::Writer::from_path(&path).expect("temp file");
        writer.write_record(["text", "category"]).expect("header");
        rows.iter().for_each(|(t, c)| writer.write_record([t, c]).expect("row"));
        writer.flush().expect("flush");
        path
    }

    fn args(task: Task) -> EvalArgs {
        EvalArgs {
            task,
            tenant: None,
            train: None,
            validation: None,
            test: None,
            per_intent: None,
            oos_label: None,
            hold_out_every: None,
            no_encoder: false,
            model_id: "anthropic.claude-3-haiku-20240307-v1:0".into(),
        }
    }

    fn run_args(a: &EvalArgs) -> Result<Value> {
        evaluate(a, |_| Ok(Tenant::demo()?))
    }

    const TRAIN: &[(&str, &str)] = &[
        ("where is my parcel", "track"),
        ("track my order", "track"),
        ("has my package shipped", "track"),
        ("i want a refund", "refund"),
        ("give me my money back", "refund"),
        ("refund my order please", "refund"),
        ("when do you open", "hours"),
        ("what are your opening hours", "hours"),
        ("are you open on sunday", "hours"),
    ];

    #[test]
    fn every_task_reports_its_figures_with_speed_and_size() {
        let train = csv("train", TRAIN);
        let test =
            csv("test", &[("where is my package", "track"), ("sing me a song", "oos"), ("refund please", "refund")]);
        let validation = csv("validation", &[("track my parcel", "track"), ("tell me a joke", "oos")]);

        let mut a = args(Task::Intent);
        (a.train, a.test) = (Some(train.clone()), Some(test.clone()));
        a.oos_label = Some("oos".into());
        a.validation = Some(validation.clone());
        let scope = run_args(&a).expect("intent with out of scope");
        assert_eq!(scope["task"], "intent+out_of_scope");
        assert_eq!(scope["validation"], "file");
        assert_eq!(scope["test_oos_examples"], 1);
        assert!(scope["predict_us"].as_f64().is_some() && scope["model_bytes"].as_u64() > Some(0));

        a.oos_label = None;
        a.validation = None;
        a.per_intent = Some(2);
        let intent = run_args(&a).expect("intent");
        assert_eq!(intent["train_examples"], 6, "two per intent");
        assert!(intent["all_local_signals_us"].as_f64().is_some());

        let sentiment_test = csv("sentiment", &[("this is terrible", "negative"), ("thanks, great", "positive")]);
        let mut s = args(Task::Sentiment);
        s.test = Some(sentiment_test.clone());
        s.validation = Some(sentiment_test);
        let sentiment = run_args(&s).expect("sentiment");
        assert_eq!(sentiment["negative_cutoff_from"], "validation");
        assert!(sentiment["model_bytes"].as_u64() > Some(1000));

        let mut e = args(Task::Escalation);
        e.test = Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/eval/human_requests_test.csv")));
        let escalation = run_args(&e).expect("escalation");
        assert!(escalation["per_language"]["es"]["examples"].as_u64() > Some(5));
        assert!(escalation["recall"].as_f64() > Some(0.5), "{escalation}");

        let mut l = args(Task::Language);
        l.test = Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/eval/languages_test.csv")));
        let language = run_args(&l).expect("language");
        assert_eq!(language["languages"], json!(["de", "en", "es"]));
        // A file with a `language` column is labelled by it.
        l.test = Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/eval/sentiment_test.csv")));
        let language = run_args(&l).expect("language by column");
        assert_eq!(language["languages"], json!(["de", "en", "es", "fr"]));
        assert!(language["accuracy"].as_f64() > Some(0.9), "{language}");
    }

    #[test]
    fn the_tenant_report_is_the_default() {
        let report = run_args(&args(Task::Intent)).expect("tenant report");
        assert_eq!(report["task"], "tenant");
        assert_eq!(report["tenant"], "demo");
        assert!(report["hosted_cost_per_1000_usd"].as_f64().is_some());
    }

    #[test]
    fn misuse_gets_a_clear_error() {
        let test = csv("misuse", &[("hello", "neutral")]);
        let mut s = args(Task::Sentiment);
        s.test = Some(test.clone());
        s.train = Some(test.clone());
        assert!(run_args(&s).unwrap_err().to_string().contains("--train"));
        assert!(run_args(&args(Task::Sentiment)).unwrap_err().to_string().contains("--test is required"));
        let mut i = args(Task::Intent);
        i.test = Some(test.clone());
        assert!(run_args(&i).unwrap_err().to_string().contains("--train"));
        let no_columns = std::env::temp_dir().join(format!("switchboard-eval-{}-bad.csv", std::process::id()));
        std::fs::write(&no_columns, "message,label\nhi,x\n").expect("write");
        let mut l = args(Task::Language);
        l.test = Some(no_columns);
        assert!(run_args(&l).unwrap_err().to_string().contains("`text` and `category`"));
        let mut unknown = args(Task::Language);
        unknown.test = Some(csv("klingon", &[("nuqneH", "tlh")]));
        assert!(run_args(&unknown).unwrap_err().to_string().contains("tlh"));
    }
}
