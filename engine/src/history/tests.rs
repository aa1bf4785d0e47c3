use super::*;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/history").join(name)
}

fn load(name: &str) -> Vec<Past> {
    let path = fixture(name);
    let format = Format::detect(&path).unwrap_or_else(|e| panic!("{e}"));
    read(&path, format).unwrap_or_else(|e| panic!("{e}"))
}

fn languages() -> Vec<Language> {
    ["en", "es", "de"].iter().filter_map(|c| Language::from_code(c)).collect()
}

/// Grouped by words only (no encoder): what a machine without the encoder's weights does.
fn by_words(history: &[Past]) -> Grouped {
    suggest(history, &languages(), &|_| None, &|_, _| None, Thresholds::default())
}

#[test]
fn the_exports_are_read_as_customer_messages() {
    let csv = load("messages.csv");
    assert_eq!(csv.len(), 17);
    assert_eq!(csv[0].handled_by_person, Some(true));
    assert_eq!(csv[3].handled_by_person, Some(false), "bot");
    assert_eq!(csv[12].handled_by_person, None, "not said");
    assert_eq!(csv[14].language.map(|l| l.code()), Some("es"));
    let zendesk = load("zendesk-tickets.json");
    assert_eq!(zendesk.len(), 2, "a ticket with neither description nor subject is no message");
    assert!(zendesk[0].text.contains("has not arrived"));
    assert_eq!(zendesk[1].text, "Return", "the subject when the description is empty");
    let freshdesk = load("freshdesk-tickets.json");
    assert_eq!(
        freshdesk.iter().map(|p| p.text.as_str()).collect::<Vec<_>>(),
        ["The mug arrived broken, I want my money back.", "Opening hours"]
    );
    assert!(read(&fixture("README.md"), Format::Csv).is_err(), "no message column");
}

#[test]
fn messages_asking_the_same_become_one_suggested_intent_with_a_draft_reply() {
    let grouped = by_words(&load("messages.csv"));
    let names: Vec<&str> = grouped.suggestions.iter().map(|s| s.name.as_str()).collect();
    assert!(grouped.suggestions.len() >= 2, "{names:?}");
    let order = grouped.suggestions.iter().find(|s| s.name.contains("order")).expect("an order group");
    assert_eq!(order.language.code(), "en");
    assert!(order.count >= 4, "{:#?}", grouped.suggestions);
    assert!(order.examples.iter().any(|e| e.contains("Where is my order")));
    assert!(order.draft_reply.as_deref().is_some_and(|r| r.contains("tracking")), "{:?}", order.draft_reply);
    assert!(order.handled_by_people.is_some_and(|p| p > 0.5), "{:?}", order.handled_by_people);
    assert!(order.escalation_candidate, "people handled most");
    let returns = grouped.suggestions.iter().find(|s| s.name.contains("return")).expect("a returns group");
    assert!(returns.count >= 4 && !returns.escalation_candidate, "{returns:#?}");
    let spanish = grouped.suggestions.iter().find(|s| s.language.code() == "es").expect("a Spanish group");
    assert_eq!(spanish.count, 3, "languages are grouped apart");
    assert!((grouped.suggestions.iter().map(|s| s.share).sum::<f64>()) <= 1.0);
    assert_eq!(grouped.assigned.len(), 17);
    assert!(grouped.assigned.iter().any(Option::is_none), "one-off questions are left out");
    for (i, s) in grouped.suggestions.iter().enumerate() {
        assert_eq!(grouped.assigned.iter().filter(|a| **a == Some(i)).count(), s.count, "{}", s.name);
        assert!(s.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{}", s.name);
    }
}

#[test]
fn tags_make_the_groups_when_the_export_has_them() {
    let grouped = by_words(&load("tagged.csv"));
    let names: Vec<(&str, usize, bool)> =
        grouped.suggestions.iter().map(|s| (s.name.as_str(), s.count, s.from_tag)).collect();
    assert_eq!(names, [("order_status", 3, true), ("returns", 3, true)], "a one-message tag is not suggested");
    assert_eq!(grouped.assigned[6], None);
}

#[test]
fn embeddings_are_used_where_given() {
    // A stand-in encoder: every English message about orders points one way, the rest another.
    let embed = |lang: Language, texts: &[&str]| {
        (lang.code() == "en").then(|| {
            texts
                .iter()
                .map(|t| if t.to_lowercase().contains("order") { vec![1.0, 0.0] } else { vec![0.0, 1.0] })
                .collect()
        })
    };
    let history = load("messages.csv");
    let grouped = suggest(&history, &languages(), &|_| None, &embed, Thresholds::default());
    let english: Vec<usize> =
        grouped.suggestions.iter().filter(|s| s.language.code() == "en").map(|s| s.count).collect();
    let about_orders = history
        .iter()
        .filter(|m| m.language.map(|l| l.code()) == Some("en") && m.text.to_lowercase().contains("order"))
        .count();
    let english_total = history.iter().filter(|m| m.language.map(|l| l.code()) == Some("en")).count();
    let mut expected = vec![about_orders, english_total - about_orders];
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(english, expected, "two directions, two groups: {:#?}", grouped.suggestions);
}

/// A tag that looks like a group number (`#0`) is its own group, never merged with the
/// messages grouped by their words.
#[test]
fn a_tag_never_merges_with_a_group_found_by_words() {
    let past = |text: &str, tag: Option<&str>| Past {
        text: text.into(),
        tag: tag.map(str::to_string),
        language: Language::from_code("en"),
        ..Past::default()
    };
    let history = [
        past("gift card balance", Some("#0")),
        past("gift card expired", Some("#0")),
        past("gift card lost", Some("#0")),
        past("where is my order", None),
        past("where is my order now", None),
        past("my order has not arrived", None),
    ];
    let grouped = by_words(&history);
    let tagged: Vec<(bool, usize)> = grouped.suggestions.iter().map(|s| (s.from_tag, s.count)).collect();
    assert!(tagged.contains(&(true, 3)), "{:#?}", grouped.suggestions);
    assert!(grouped.suggestions.iter().all(|s| s.count <= 3), "no group of both: {:#?}", grouped.suggestions);
}

#[test]
fn a_tag_keeps_its_whole_name() {
    let past = |text: &str| Past {
        text: text.into(),
        tag: Some("balance_not_updated_after_bank_transfer".into()),
        language: Language::from_code("en"),
        ..Past::default()
    };
    let grouped =
        by_words(&[past("my balance did not change"), past("transfer not in balance"), past("balance still old")]);
    assert_eq!(grouped.suggestions[0].name, "balance_not_updated_after_bank_transfer");
}
