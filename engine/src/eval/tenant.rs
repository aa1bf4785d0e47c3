//! What a business sees of its own catalogue: cross-validated accuracy on its examples, how much
//! the local tier decides alone, what the rest costs, and which intents to fix first.

use super::metrics::ratio;
use crate::classify::intent::TrainError;
use crate::classify::local::{LocalClassifier, MIN_COVERAGE};
use crate::cost::{PriceTable, nanos, usd};
use crate::tenant::TenantConfig;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use switchboard_core::domain::Language;

/// Folds of the cross-validation.
pub const FOLDS: usize = 5;

/// Characters of a classification call beyond the catalogue and the message: instructions, the
/// tool's JSON schema and framing (the Bedrock adapter's prompt, measured).
const FIXED_PROMPT_CHARS: usize = 1_500;
/// Tokens a tool-use call adds on the model's side (the provider's tool preamble).
const TOOL_PREAMBLE_TOKENS: u64 = 300;
/// Tokens of the classification the model writes back.
const OUTPUT_TOKENS: u64 = 120;

/// The report `switchboard eval --tenant` prints.
#[derive(Debug, Clone, Serialize)]
pub struct TenantReport {
    /// The tenant.
    pub tenant: String,
    /// Example messages in the catalogue, and intents.
    pub examples: usize,
    /// Intents.
    pub intents: usize,
    /// Folds; each example is tested once, by a model trained without it.
    pub folds: usize,
    /// Share of examples whose top intent is right.
    pub accuracy: f64,
    /// The same per language: a language with thin examples shows here first.
    pub accuracy_per_language: BTreeMap<String, f64>,
    /// Per configured language, its examples and what reads its messages beyond the n-gram model:
    /// how far the tenant's examples go in each.
    pub languages: BTreeMap<String, LanguageCoverage>,
    /// Share the local tier decides alone (confidence at or above `classifier.hosted_below`).
    pub decided_locally: f64,
    /// Of those, the share decided right.
    pub decided_locally_accuracy: f64,
    /// Hosted classification calls per 1,000 messages like the examples.
    pub hosted_calls_per_1000: f64,
    /// Estimated tokens one hosted classification uses (catalogue, instructions and answer).
    pub tokens_per_hosted_call: TokenEstimate,
    /// Their cost per 1,000 messages at the price table, in US dollars.
    pub hosted_cost_per_1000_usd: Option<f64>,
    /// The model priced.
    pub priced_model: String,
    /// Per-intent share of its examples recognised.
    pub recall_per_intent: BTreeMap<String, f64>,
    /// The most frequent confusions, worst first, each with what to do.
    pub most_confused: Vec<Confusion>,
}

/// What the local tier has for one of the tenant's languages.
#[derive(Debug, Clone, Serialize)]
pub struct LanguageCoverage {
    /// The tenant's examples in it.
    pub examples: usize,
    /// What decides the intents of its messages the n-gram model is unsure of.
    pub intents_unsure: &'static str,
    /// What finds requests for a person and the sentiment: the learned heads where the encoder
    /// reads the language, else the rules and the lexicons (English, Spanish and German only).
    pub signals: &'static str,
    /// What tells its short messages from the tenant's other languages.
    pub detection: &'static str,
}

/// Tokens of one hosted classification.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct TokenEstimate {
    /// Sent.
    pub input: u64,
    /// Written back.
    pub output: u64,
}

/// One pair of intents the model mixes up.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Confusion {
    /// The intent the examples belong to.
    pub intent: String,
    /// The intent they were taken for.
    pub taken_for: String,
    /// How many examples.
    pub count: usize,
    /// Examples of it, to show the business.
    pub examples: Vec<String>,
    /// What to do: add examples, merge, or split.
    pub hint: String,
}

/// Cross-validates the tenant's examples and prices the hosted share at `prices` for `model_id`.
pub fn report(
    tenant: &str,
    config: &TenantConfig,
    prices: &PriceTable,
    model_id: &str,
) -> Result<TenantReport, TrainError> {
    let examples = config.examples();
    // Stratified: each intent's examples are spread over the folds round-robin.
    let mut position: BTreeMap<&str, usize> = BTreeMap::new();
    let fold_of: Vec<usize> = examples
        .iter()
        .map(|(_, intent, _)| {
            let n = position.entry(intent.as_str()).or_default();
            *n += 1;
            *n % FOLDS
        })
        .collect();
    let mut outcomes = Vec::with_capacity(examples.len());
    for fold in 0..FOLDS {
        let train: Vec<_> =
            examples.iter().zip(&fold_of).filter(|(_, f)| **f != fold).map(|(e, _)| e.clone()).collect();
        let model = LocalClassifier::train_intents(&train)?;
        for ((text, gold, language), _) in examples.iter().zip(&fold_of).filter(|(_, f)| **f == fold) {
            let p = model.predict(text, Some(*language));
            let (i, confidence) = p.ranked[0];
            let covered = p.covered(MIN_COVERAGE);
            outcomes.push((text.clone(), gold.clone(), model.labels()[i].clone(), confidence, covered, *language));
        }
    }

    let hosted_below = config.classifier.hosted_below;
    let local: Vec<_> = outcomes.iter().filter(|(.., c, covered, _)| *covered && *c >= hosted_below).collect();
    let mut per_language: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (_, gold, predicted, .., language) in &outcomes {
        let counts = per_language.entry(language.code().to_string()).or_default();
        counts.1 += 1;
        counts.0 += usize::from(gold == predicted);
    }
    let hosted_share = 1.0 - ratio(local.len(), outcomes.len());
    let tokens = estimate_tokens(config);
    let hosted_calls_per_1000 = hosted_share * 1000.0;

    let mut recall: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut confused: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (text, gold, predicted, ..) in &outcomes {
        let r = recall.entry(gold.clone()).or_default();
        r.1 += 1;
        if gold == predicted {
            r.0 += 1;
        } else {
            confused.entry((gold.clone(), predicted.clone())).or_default().push(text.clone());
        }
    }
    Ok(TenantReport {
        tenant: tenant.to_string(),
        examples: outcomes.len(),
        intents: config.intents.len(),
        folds: FOLDS,
        accuracy: ratio(outcomes.iter().filter(|(_, g, p, ..)| g == p).count(), outcomes.len()),
        languages: config
            .languages
            .iter()
            .map(|l| {
                let examples = per_language.get(l.code()).map_or(0, |c| c.1);
                (l.code().to_string(), coverage(*l, examples, &config.languages))
            })
            .collect(),
        accuracy_per_language: per_language.into_iter().map(|(l, (hit, n))| (l, ratio(hit, n))).collect(),
        decided_locally: ratio(local.len(), outcomes.len()),
        decided_locally_accuracy: ratio(local.iter().filter(|(_, g, p, ..)| g == p).count(), local.len()),
        hosted_calls_per_1000,
        tokens_per_hosted_call: tokens,
        hosted_cost_per_1000_usd: hosted_call_usd(config, prices, model_id).map(|usd| usd * hosted_calls_per_1000),
        priced_model: model_id.to_string(),
        recall_per_intent: recall.iter().map(|(k, (hit, n))| (k.clone(), ratio(*hit, *n))).collect(),
        most_confused: most_confused(config, &confused),
    })
}

/// What one hosted classification of this catalogue costs at `prices` for `model_id` (its tokens
/// estimated as [`estimate_tokens`] does), in US dollars; `None` when the table has no price for
/// the model.
pub fn hosted_call_usd(config: &TenantConfig, prices: &PriceTable, model_id: &str) -> Option<f64> {
    let tokens = estimate_tokens(config);
    let call_atto = u128::from(tokens.input) * prices.model_token(model_id, "input_token")?
        + u128::from(tokens.output) * prices.model_token(model_id, "output_token")?;
    Some(usd(nanos(call_atto)))
}

/// Tokens of one classification call for this catalogue, at four characters a token.
fn estimate_tokens(config: &TenantConfig) -> TokenEstimate {
    let catalogue: usize = config.intents.iter().map(|i| i.name.len() + i.description.len() + 4).sum();
    let examples = config.examples();
    let message = examples.iter().map(|(t, ..)| t.len()).sum::<usize>() / examples.len().max(1);
    let input = ((FIXED_PROMPT_CHARS + catalogue + message) / 4) as u64 + TOOL_PREAMBLE_TOKENS;
    TokenEstimate { input, output: OUTPUT_TOKENS }
}

/// The five most frequent confusions, with a hint each.
fn most_confused(config: &TenantConfig, confused: &BTreeMap<(String, String), Vec<String>>) -> Vec<Confusion> {
    let mut pairs: Vec<(&(String, String), &Vec<String>)> = confused.iter().collect();
    pairs.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    let spread =
        |intent: &str| confused.keys().filter(|(g, _)| g == intent).map(|(_, p)| p).collect::<BTreeSet<_>>().len();
    let count_of = |intent: &str| {
        config.intents.iter().find(|i| i.name == intent).map_or(0, |i| i.examples.values().map(Vec::len).sum())
    };
    pairs
        .into_iter()
        .take(5)
        .map(|((gold, predicted), texts)| {
            let both_ways = confused.contains_key(&(predicted.clone(), gold.clone()));
            let few = count_of(gold) < 8 * config.languages.len().max(1);
            let hint = if few {
                format!(
                    "add examples to `{gold}` ({} now; 8 to 10 per language, in the words customers use)",
                    count_of(gold)
                )
            } else if both_ways {
                format!(
                    "`{gold}` and `{predicted}` are taken for each other: merge them if one answer serves both, \
                     or add examples that say what differs"
                )
            } else if spread(gold) >= 3 {
                format!(
                    "`{gold}` is taken for {} different intents: its examples may be several requests in one; split it",
                    spread(gold)
                )
            } else {
                format!("add examples to `{gold}` with the words that set it apart from `{predicted}`")
            };
            Confusion {
                intent: gold.clone(),
                taken_for: predicted.clone(),
                count: texts.len(),
                examples: texts.iter().take(3).cloned().collect(),
                hint,
            }
        })
        .collect()
}

/// What reads one of the tenant's `languages` (docs/design.md, "Step 15").
fn coverage(language: Language, examples: usize, languages: &[Language]) -> LanguageCoverage {
    let read = crate::classify::encoder::reads(language);
    let intents_unsure = match (examples, language == Language::EN, read) {
        (0, ..) => "nothing: no examples in this language, so its messages go to the hosted model",
        (_, true, _) => "the English encoder (all-MiniLM-L6-v2)",
        (_, false, true) => "the multilingual encoder (multilingual-e5-small)",
        (_, false, false) => "the n-gram model alone: the encoder does not read this language",
    };
    let signals = if read {
        "learned heads over the multilingual encoder"
    } else {
        "the rules and lexicons (written for English, Spanish and German)"
    };
    let distinct: std::collections::BTreeSet<&Language> = languages.iter().collect();
    let detection = if distinct.len() == 1 {
        "nothing needed: the tenant's only language"
    } else if languages.iter().all(|l| crate::classify::language::modelled(*l)) {
        "trigrams when sure, then character n-gram models (lingua, at 0.6 confidence), then the tenant's examples' words; a short message none of them is sure of (\"ok\") keeps the conversation's language"
    } else if crate::classify::language::modelled(language) {
        "trigrams and the tenant's examples' words: another of the tenant's languages has no n-gram model, so short messages may go undetected and keep the conversation's language"
    } else {
        "trigrams and the tenant's examples' words: this language has no n-gram model, so short messages may go undetected and keep the conversation's language"
    };
    LanguageCoverage { examples, intents_unsure, signals, detection }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::DEMO_TENANT_YAML;

    #[test]
    fn the_demo_tenant_report_adds_up() {
        let config = TenantConfig::from_yaml("demo", DEMO_TENANT_YAML).expect("demo parses");
        let prices = PriceTable::default_table();
        let r = report("demo", &config, &prices, "anthropic.claude-3-haiku-20240307-v1:0").expect("trains");
        assert_eq!(r.examples, config.examples().len());
        assert!(r.accuracy > 0.5 && r.accuracy <= 1.0, "{}", r.accuracy);
        assert!((r.hosted_calls_per_1000 - (1.0 - r.decided_locally) * 1000.0).abs() < 1e-6);
        assert!(r.tokens_per_hosted_call.input > 400, "{:?}", r.tokens_per_hosted_call);
        assert!(r.hosted_cost_per_1000_usd.is_some_and(|usd| usd >= 0.0));
        assert_eq!(r.recall_per_intent.len(), config.intents.len());
        assert_eq!(r.accuracy_per_language.keys().map(String::as_str).collect::<Vec<_>>(), ["de", "en", "es"]);
        assert_eq!(r.languages["en"].intents_unsure, "the English encoder (all-MiniLM-L6-v2)");
        assert_eq!(r.languages["de"].intents_unsure, "the multilingual encoder (multilingual-e5-small)");
        assert!(r.languages.values().all(|l| l.examples > 0 && l.signals.starts_with("learned")), "{:?}", r.languages);
        assert!(r.languages.values().all(|l| l.detection.contains("character n-gram models")), "{:?}", r.languages);
        let (lo, hi) = r.accuracy_per_language.values().fold((1.0f64, 0.0f64), |(lo, hi), a| (lo.min(*a), hi.max(*a)));
        assert!(lo <= r.accuracy && r.accuracy <= hi, "the overall figure lies among the languages'");
        assert!(r.most_confused.iter().all(|c| c.intent != c.taken_for && c.count > 0 && !c.hint.is_empty()));
        // A dearer model costs more for the same calls; a model without a price has no figure.
        let dear = report("demo", &config, &prices, "eu.anthropic.claude-3-5-haiku-20241022-v1:0").expect("trains");
        if r.hosted_calls_per_1000 > 0.0 {
            assert!(dear.hosted_cost_per_1000_usd > r.hosted_cost_per_1000_usd);
        }
        let unknown = report("demo", &config, &prices, "some.unpriced-model").expect("trains");
        assert_eq!(unknown.hosted_cost_per_1000_usd, None);
    }

    #[test]
    fn confusions_get_the_hint_that_fits() {
        let config = TenantConfig::from_yaml("demo", DEMO_TENANT_YAML).expect("demo parses");
        let a = config.intents[0].name.clone();
        let b = config.intents[1].name.clone();
        let mut confused = BTreeMap::new();
        confused.insert((a.clone(), b.clone()), vec!["x".to_string(), "y".to_string()]);
        confused.insert((b.clone(), a.clone()), vec!["z".to_string()]);
        // Few examples: the first fix is more of them.
        let mut poor = config.clone();
        for intent in &mut poor.intents {
            for examples in intent.examples.values_mut() {
                examples.truncate(2);
            }
        }
        let found = most_confused(&poor, &confused);
        assert_eq!(found[0].count, 2);
        assert!(found[0].hint.starts_with("add examples"), "{}", found[0].hint);
        // Enough examples and still mixed up both ways: merge or tell apart.
        let mut rich = config.clone();
        for intent in &mut rich.intents {
            for examples in intent.examples.values_mut() {
                examples.extend((0..10).map(|i| format!("example {i}")));
            }
        }
        assert!(
            most_confused(&rich, &confused)[0].hint.contains("merge"),
            "{}",
            most_confused(&rich, &confused)[0].hint
        );
    }

    #[test]
    fn the_report_says_which_languages_short_messages_may_go_undetected_in() {
        let l = |c| Language::from_code(c).expect("known");
        let mixed = [l("en"), l("pl")];
        assert!(coverage(l("pl"), 5, &mixed).detection.contains("this language has no n-gram model"));
        assert!(coverage(l("en"), 5, &mixed).detection.contains("another of the tenant's languages"));
        assert!(coverage(l("en"), 5, &[l("en"), l("pt")]).detection.contains("character n-gram models"));
        assert!(coverage(l("pl"), 5, &[l("pl")]).detection.starts_with("nothing needed"));
    }
}
