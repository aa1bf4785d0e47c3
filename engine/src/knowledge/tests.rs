use super::*;
use std::path::{Path, PathBuf};
use switchboard_core::config::TenantConfig;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/knowledge").join(name)
}

fn languages() -> Vec<Language> {
    ["en", "es", "de"].iter().filter_map(|c| Language::from_code(c)).collect()
}

fn import(name: &str) -> Imported {
    let path = fixture(name);
    let format = Format::detect(&path).unwrap_or_else(|e| panic!("{e}"));
    let articles = read(&path, format).unwrap_or_else(|e| panic!("{e}"));
    entries(&articles, &languages(), &|_| None)
}

fn find<'a>(imported: &'a Imported, id: &str) -> &'a FaqEntry {
    imported.entries.iter().find(|e| e.id == id).unwrap_or_else(|| panic!("no entry {id} in {:?}", ids(imported)))
}

fn ids(imported: &Imported) -> Vec<&str> {
    imported.entries.iter().map(|e| e.id.as_str()).collect()
}

#[test]
fn a_zendesk_export_becomes_one_entry_per_section_with_its_link() {
    let imported = import("zendesk-articles.json");
    assert_eq!(
        ids(&imported),
        [
            "zd-360012345601",
            "zd-360012345601-how-do-i-send-an-item-back",
            "zd-360012345601-when-do-i-get-my-money-back",
            "zd-360012345602"
        ],
        "the draft is left out"
    );
    let intro = find(&imported, "zd-360012345601");
    assert_eq!(intro.question, "Returns and refunds");
    assert_eq!(intro.answer, "You can return anything within 30 days of delivery, free of charge.");
    assert_eq!(intro.language.code(), "en", "from the article's locale, en-us");
    assert_eq!(
        intro.source.as_deref(),
        Some("https://demo-shop.zendesk.com/hc/en-us/articles/360012345601-Returns-and-refunds")
    );
    assert_eq!(intro.keywords, ["returns", "refund"]);
    let how = find(&imported, "zd-360012345601-how-do-i-send-an-item-back");
    assert_eq!(how.question, "How do I send an item back?", "a heading that asks is the question");
    assert_eq!(
        how.answer,
        "- Open your orders and choose Return.\n- Print the label and drop the parcel at any post office."
    );
    assert!(!imported.entries.iter().any(|e| e.answer.contains("track")), "no script text");
    assert_eq!(find(&imported, "zd-360012345602").language.code(), "es");
    assert_eq!(imported.skipped.len(), 1, "{:?}", imported.skipped);
    assert!(imported.skipped[0].why.contains("fr"), "the French article: {:?}", imported.skipped);
}

#[test]
fn an_intercom_export_brings_its_published_translations() {
    let imported = import("intercom-articles.json");
    assert_eq!(ids(&imported), ["ic-9100201", "ic-9100201-de"], "drafts (an article, a translation) are left out");
    let de = find(&imported, "ic-9100201-de");
    assert_eq!(de.language.code(), "de");
    assert_eq!(de.question, "Mit Klarna bezahlen");
    assert_eq!(de.answer, "Wähle an der Kasse Klarna und bezahle innerhalb von 30 Tagen ohne Gebühren.");
    assert_eq!(de.source.as_deref(), Some("https://intercom.help/demo-shop/de/articles/9100201-mit-klarna-bezahlen"));
    assert_eq!(
        find(&imported, "ic-9100201").answer,
        "Choose Klarna at checkout to pay within 30 days, with no fees.\nKlarna checks your details before you order."
    );
}

#[test]
fn a_folder_of_pages_takes_front_matter_titles_and_detected_languages() {
    let imported = import("pages");
    assert_eq!(
        ids(&imported),
        ["page-gutschein", "page-opening-hours", "page-opening-hours-public-holidays", "page-returns-exchanges"]
    );
    let hours = find(&imported, "page-opening-hours");
    assert_eq!(hours.question, "When is customer service open?");
    assert_eq!(hours.source.as_deref(), Some("https://help.demo-shop.example/opening-hours"));
    assert_eq!(hours.keywords, ["hours", "open", "phone"]);
    assert_eq!(
        find(&imported, "page-opening-hours-public-holidays").question,
        "When is customer service open? — Public holidays"
    );
    let voucher = find(&imported, "page-gutschein");
    assert_eq!((voucher.question.as_str(), voucher.language.code()), ("Gutscheine einlösen", "de"), "detected");
    let exchange = find(&imported, "page-returns-exchanges");
    assert_eq!(exchange.question, "Exchanging a size", "the page's h1, taken out of the answer");
    assert!(exchange.answer.starts_with("Need another size?") && !exchange.answer.contains("font-family"));
}

#[test]
fn a_csv_of_questions_and_answers_is_read_and_rows_without_an_answer_are_not() {
    let imported = import("faq.csv");
    assert_eq!(ids(&imported), ["qa-1", "qa-2"]);
    let canada = find(&imported, "qa-1");
    assert_eq!(canada.keywords, ["canada", "abroad"]);
    assert_eq!(find(&imported, "qa-2").language.code(), "es");
}

#[test]
fn an_article_in_no_language_the_detector_can_tell_is_skipped_unless_the_tenant_knows() {
    let article = Article {
        id: "qa-1".into(),
        title: "Klarna?".into(),
        url: None,
        locale: None,
        body: Body::Text("Ja.".into()),
        keywords: vec![],
    };
    let unsure = entries(std::slice::from_ref(&article), &languages(), &|_| None);
    assert!(unsure.entries.is_empty() && unsure.skipped[0].why.contains("language"), "{unsure:?}");
    let de = Language::from_code("de");
    let told = entries(&[article], &languages(), &|_| de);
    assert_eq!(told.entries[0].language.code(), "de", "the tenant's own detector decides");
}

#[test]
fn long_sections_are_cut_at_a_sentence() {
    let long = "This sentence is exactly fifty characters long ok. ".repeat(20);
    let cut = bounded(&long);
    assert!(cut.chars().count() <= MAX_ANSWER_CHARS, "{}", cut.chars().count());
    assert!(cut.ends_with("ok.…"), "{cut}");
    assert_eq!(bounded("  short  "), "short");
}

mod tenant_file_merge {
    use super::*;
    use crate::knowledge::tenant_file::{merge, without_block};

    fn demo() -> String {
        switchboard_core::config::DEMO_TENANT_YAML.to_string()
    }

    fn faq_ids(yaml: &str) -> Vec<String> {
        let config = TenantConfig::from_yaml("t", yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        config.faq.into_iter().map(|e| e.id).collect()
    }

    #[test]
    fn an_import_is_a_block_of_its_own_replaced_by_the_next_and_the_rest_untouched() {
        let original = demo();
        let imported = import("zendesk-articles.json").entries;
        let once = merge(&original, "zendesk-articles.json", &imported, &[]).unwrap_or_else(|e| panic!("{e}"));
        let ids = faq_ids(&once.yaml);
        assert_eq!(ids.len(), faq_ids(&original).len() + imported.len());
        assert!(ids.contains(&"zd-360012345601".to_string()));
        let again = merge(&once.yaml, "zendesk-articles.json", &imported, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.yaml, once.yaml, "importing the same source again changes nothing");

        let fewer = &imported[..1];
        let changed = merge(&once.yaml, "zendesk-articles.json", fewer, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(faq_ids(&changed.yaml).len(), faq_ids(&original).len() + 1, "articles gone from the source go");
        let other = merge(&changed.yaml, "faq.csv", &import("faq.csv").entries, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(faq_ids(&other.yaml).len(), faq_ids(&original).len() + 3, "another source's block beside it");

        let emptied = merge(&other.yaml, "zendesk-articles.json", &[], &[]).unwrap_or_else(|e| panic!("{e}"));
        let emptied = merge(&emptied.yaml, "faq.csv", &[], &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(emptied.yaml.trim_end(), original.trim_end(), "removing every block gives the file back");
    }

    #[test]
    fn an_entry_moved_out_of_the_block_is_the_persons_and_not_imported_again() {
        let imported = import("faq.csv").entries;
        let own_ids = vec!["qa-1".to_string()];
        let merged = merge(&demo(), "faq.csv", &imported, &own_ids).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(merged.kept_yours, ["qa-1"]);
        assert!(!merged.yaml.contains("id: qa-1"));
        let without = without_block(&merged.yaml, "faq.csv").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(without.trim_end(), demo().trim_end());
    }

    /// A list written at the left margin (as many YAML writers do): a second source's block
    /// goes after the first's, never inside it, so importing the first again keeps the second.
    #[test]
    fn blocks_of_two_sources_stay_apart_in_a_list_at_the_margin() {
        let yaml = demo();
        let lines: Vec<String> = yaml
            .lines()
            .map(|l| match l.strip_prefix("  - ").or(l.strip_prefix("    ")) {
                Some(rest) if l.starts_with("  - ") => format!("- {rest}"),
                Some(rest) => format!("  {rest}"),
                None => l.to_string(),
            })
            .collect();
        let start = lines.iter().position(|l| l == "faq:").unwrap_or_else(|| panic!("a faq"));
        let end = (start + 1..lines.len())
            .find(|&i| lines[i].chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
            .unwrap_or(lines.len());
        let at_margin: String = demo()
            .lines()
            .enumerate()
            .map(|(i, l)| if i > start && i < end { lines[i].clone() } else { l.to_string() })
            .collect::<Vec<_>>()
            .join("\n");
        let own = faq_ids(&at_margin).len();
        let csv = import("faq.csv").entries;
        let zendesk = import("zendesk-articles.json").entries;
        let first = merge(&at_margin, "faq.csv", &csv, &[]).unwrap_or_else(|e| panic!("{e}"));
        let both = merge(&first.yaml, "zendesk-articles.json", &zendesk, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(faq_ids(&both.yaml).len(), own + csv.len() + zendesk.len());
        let again = merge(&both.yaml, "faq.csv", &csv[..1], &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(faq_ids(&again.yaml).len(), own + 1 + zendesk.len(), "the other source's block is intact");
    }

    #[test]
    fn a_file_without_faq_gets_one() {
        let yaml = demo();
        let lines: Vec<&str> = yaml.lines().collect();
        let start = lines.iter().position(|l| *l == "faq:").unwrap_or_else(|| panic!("the demo has a faq"));
        let end = (start + 1..lines.len())
            .find(|&i| lines[i].chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
            .unwrap_or(lines.len());
        let bare = [&lines[..start], &lines[end..]].concat().join("\n");
        assert!(faq_ids(&bare).is_empty(), "the fixture has no FAQ");
        let merged = merge(&bare, "faq.csv", &import("faq.csv").entries, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(faq_ids(&merged.yaml), ["qa-1", "qa-2"]);
    }
}

mod set_child {
    use crate::knowledge::tenant_file::set_child;
    use switchboard_core::config::TenantConfig;

    #[test]
    fn a_key_is_set_replaced_or_added_and_nothing_else_moves() {
        let demo = switchboard_core::config::DEMO_TENANT_YAML;
        let set = set_child(demo, "rollout", "intents", "{opening_hours: auto, shipping: shadow}").unwrap();
        let config = TenantConfig::from_yaml("t", &set).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.rollout.intents.len(), 2);
        let changed: Vec<(&str, &str)> = demo.lines().zip(set.lines()).filter(|(a, b)| a != b).collect();
        assert_eq!(changed.len(), 1, "one line changed: {changed:?}");
        let again = set_child(&set, "rollout", "intents", "{opening_hours: auto, shipping: shadow}").unwrap();
        assert_eq!(again, set, "idempotent");
        let added = set_child(demo, "policy", "intent_min_confidence", "{order_status: 0.7}").unwrap();
        let config = TenantConfig::from_yaml("t", &added).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.policy.intent_min_confidence.get("order_status"), Some(&0.7));
        assert_eq!(added.lines().count(), demo.lines().count() + 1, "one line added");
        let nested = "id: x\nrollout:\n  default: auto\n  intents:\n    a: shadow\n    b: assist\n\nfaq: []\n";
        let replaced = set_child(nested, "rollout", "intents", "{a: auto}").unwrap();
        assert_eq!(replaced, "id: x\nrollout:\n  default: auto\n  intents: {a: auto}\n\nfaq: []\n");
        let none = set_child("id: x\n", "policy", "intent_min_confidence", "{a: 0.5}").unwrap();
        assert_eq!(none, "id: x\n\npolicy:\n  intent_min_confidence: {a: 0.5}\n");
    }
}
