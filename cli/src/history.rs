//! `switchboard import history`: past conversations grouped into suggested intents — shown as a
//! table, given whole as JSON (every message with the suggestion it went to), or merged into a
//! tenant file as a draft (a diff first; written with --write).

use anyhow::{Context, Result};
use serde_json::json;
use std::path::Path;
use switchboard::Tenant;
use switchboard::config::{IntentConfig, TenantConfig};
use switchboard::domain::Language;
use switchboard::history::{self, Format, Grouped, Suggestion, Thresholds};
use switchboard::knowledge::tenant_file::{self, Item};

/// The exports `--from` names.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum HistoryFormat {
    /// A CSV of customer messages (`message`; `reply`, `tag`/`category`, `resolution`, `language`).
    Csv,
    /// Zendesk's ticket export (the Tickets API's JSON).
    Zendesk,
    /// Freshdesk's ticket list (its API's JSON, with descriptions).
    Freshdesk,
}

impl From<HistoryFormat> for Format {
    fn from(f: HistoryFormat) -> Self {
        match f {
            HistoryFormat::Csv => Format::Csv,
            HistoryFormat::Zendesk => Format::Zendesk,
            HistoryFormat::Freshdesk => Format::Freshdesk,
        }
    }
}

/// What `import history` prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Output {
    /// The suggestions merged into the tenant file as a draft (a diff; --write writes it).
    Yaml,
    /// Everything: the suggestions and every message with the suggestion it went to.
    Json,
    /// One line per suggestion.
    Table,
}

const TOOL: &str = "import history";

/// Reads `source`, groups it for the tenant file at `path`, and prints or merges as `output`.
pub fn import(path: &Path, source: &Path, from: Option<HistoryFormat>, output: Output, write: bool) -> Result<()> {
    let yaml = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    let tenant = Tenant::from_yaml(&name, &yaml)?;
    let format = match from {
        Some(f) => f.into(),
        None => Format::detect(source)?,
    };
    let mut messages = history::read(source, format)?;
    anyhow::ensure!(!messages.is_empty(), "{}: no customer message in it", source.display());
    if messages.len() > history::MAX_MESSAGES {
        eprintln!(
            "{}: {} messages; grouping the last {} (exports list the newest last)",
            source.display(),
            messages.len(),
            history::MAX_MESSAGES
        );
        messages.drain(..messages.len() - history::MAX_MESSAGES);
    }
    let detect = |text: &str| tenant.classifier.classify(text).language;
    let encoder = switchboard::classify::encoder::shared();
    let embed = |language: Language, texts: &[&str]| {
        let reads = switchboard::classify::encoder::reads(language);
        encoder.filter(|_| reads).map(|e| e.embed_batch(texts))
    };
    let grouped = history::suggest(&messages, &tenant.config.languages, &detect, &embed, Thresholds::default());
    eprintln!(
        "{}: {} messages → {} suggested intents covering {:.0} % (grouped by {})",
        source.display(),
        messages.len(),
        grouped.suggestions.len(),
        100.0 * grouped.assigned.iter().filter(|a| a.is_some()).count() as f64 / messages.len() as f64,
        if grouped.suggestions.iter().any(|s| s.from_tag) {
            "the export's tags"
        } else if encoder.is_some() {
            "the sentence encoder (English) and words"
        } else {
            "words (no encoder weights: scripts/fetch-encoder.sh)"
        }
    );
    match output {
        Output::Table => print!("{}", table(&grouped)),
        Output::Json => {
            let names: Vec<&str> = grouped.suggestions.iter().map(|s| s.name.as_str()).collect();
            let each: Vec<_> = messages
                .iter()
                .zip(&grouped.assigned)
                .map(|(m, a)| json!({"text": m.text, "suggestion": a.map(|i| names[i])}))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({"suggestions": grouped.suggestions, "messages": each}))?
            );
        }
        Output::Yaml => merge(path, &yaml, source, &grouped, write)?,
    }
    Ok(())
}

fn table(grouped: &Grouped) -> String {
    let printable = |text: &str| one_line(text).chars().take(60).collect::<String>();
    let mut out = format!(
        "{:<28} {:>5} {:>6} {:>7}  {}\n",
        "suggested intent", "msgs", "share", "people", "most typical message"
    );
    for s in &grouped.suggestions {
        let people = s.handled_by_people.map_or("-".to_string(), |p| format!("{:.0} %", p * 100.0));
        let example = s.examples.first().map(|e| printable(e)).unwrap_or_default();
        out.push_str(&format!("{:<28} {:>5} {:>5.1}% {:>7}  {example}\n", s.name, s.count, s.share * 100.0, people));
    }
    out
}

/// The suggestions as a block of the tenant file's `intents:`.
fn merge(path: &Path, yaml: &str, source: &Path, grouped: &Grouped, write: bool) -> Result<()> {
    let name = path.display().to_string();
    let label = source.file_name().map(|n| n.to_string_lossy().to_string()).context("name a file")?;
    let without = tenant_file::without_list_block(yaml, "intents", TOOL, &label).map_err(anyhow::Error::msg)?;
    let own: Vec<String> = TenantConfig::from_yaml("tenant", &without)?.intents.into_iter().map(|i| i.name).collect();
    let items = grouped.suggestions.iter().map(item).collect::<Result<Vec<_>>>()?;
    let merged = tenant_file::merge_list(yaml, "intents", TOOL, &label, &items, &own).map_err(anyhow::Error::msg)?;
    // What the file now says is exactly what was suggested: no reply live, no example changed.
    let written = TenantConfig::from_yaml("tenant", &merged.yaml)?;
    for s in grouped.suggestions.iter().filter(|s| !merged.kept_yours.contains(&s.name)) {
        let intent = written.intents.iter().find(|i| i.name == s.name);
        let same = intent.is_some_and(|i| i.reply.is_empty() && i.examples.get(&s.language) == Some(&examples(s)));
        anyhow::ensure!(same, "the merged file does not say what was suggested for `{}`; nothing written", s.name);
    }
    for kept in &merged.kept_yours {
        eprintln!("  kept yours: the file already has an intent `{kept}` outside the imported block");
    }
    Tenant::from_yaml(&name, &merged.yaml).context("the merged file would not load; nothing written")?;
    let new: Vec<&Suggestion> = grouped.suggestions.iter().filter(|s| !merged.kept_yours.contains(&s.name)).collect();
    if !new.is_empty() {
        let modes: Vec<String> = new.iter().map(|s| format!("{}: shadow", s.name)).collect();
        eprintln!("start them in shadow until reviewed: rollout: {{intents: {{{}}}}}", modes.join(", "));
        let people: Vec<&str> = new.iter().filter(|s| s.escalation_candidate).map(|s| s.name.as_str()).collect();
        if !people.is_empty() {
            eprintln!("people usually handled these: consider policy.escalate_intents: [{}]", people.join(", "));
        }
    }
    crate::knowledge::show_or_write(path, yaml, &merged.yaml, write, "review each suggested intent")
}

/// Text from outside as one plain line for the tenant file: nothing in it can break out of its
/// YAML scalar or comment line, and no e-mail address or long number (a phone, a card, an
/// account) of the customer who wrote it is copied into a file that lives in git and in the
/// tenant item, beyond retention and erasure.
fn one_line(text: &str) -> String {
    let words: Vec<String> = tenant_file::plain(text, false).split_whitespace().map(redact).collect();
    words.join(" ")
}

/// A word, or `[email]` / `[number]` in place of an address or six digits or more.
fn redact(word: &str) -> String {
    let digits = word.chars().filter(char::is_ascii_digit).count();
    if word.contains('@') && word.contains('.') {
        "[email]".into()
    } else if digits >= 6 && word.chars().all(|c| c.is_ascii_digit() || "+-().,/".contains(c)) {
        "[number]".into()
    } else {
        word.to_string()
    }
}

/// A suggestion's examples as the tenant file gets them.
fn examples(s: &Suggestion) -> Vec<String> {
    s.examples.iter().map(|e| one_line(e)).filter(|e| !e.is_empty()).collect()
}

/// One suggestion as an intent, its draft reply a comment: never live until a person makes it
/// the intent's `reply`.
fn item(s: &Suggestion) -> Result<Item> {
    let people = s.handled_by_people.map_or(String::new(), |p| format!("; people handled {:.0} %", p * 100.0));
    let intent = IntentConfig {
        name: s.name.clone(),
        description: format!(
            "Suggested from {} past messages ({:.1} % of them){people}. Review the name, the examples and this description.",
            s.count,
            s.share * 100.0
        ),
        examples: [(s.language, examples(s))].into_iter().collect(),
        reply: Default::default(),
    };
    let text = serde_norway::to_string(&intent).with_context(|| format!("writing intent {}", s.name))?;
    let mut lines = Vec::new();
    if let Some(reply) = &s.draft_reply {
        let one_line = one_line(reply);
        lines.push(format!(
            "# draft reply from a past agent answer: review it, then add it as `reply: {{{}: …}}`",
            s.language
        ));
        lines.push(format!("#   {one_line}"));
    }
    lines.extend(text.lines().map(str::to_string).filter(|l| l != "reply: {}"));
    Ok(Item { id: s.name.clone(), lines })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn addresses_and_long_numbers_stay_out_of_the_tenant_file() {
        assert_eq!(
            one_line("mail me at ana@example.com or call +34 600111222, order DS-20417, card 4111-1111-1111-1111"),
            "mail me at [email] or call +34 [number] order DS-20417, card [number]"
        );
        assert_eq!(one_line("two\nlines\u{1b}[2J"), "two lines [2J", "one line, no control characters");
    }

    /// A customer's message that tries to write YAML — a line break YAML knows and the merge
    /// did not (U+2028, a bare carriage return), then a key — stays one example's text: no
    /// reply becomes live, and the file's intents are exactly the suggestion.
    #[test]
    fn a_message_cannot_write_keys_into_the_tenant_file() {
        for sneaky in
            ["zq xv\u{2028}reply: {en: 'Refunds: evil.example'}", "zq xv\rreply: {en: 'Refunds: evil.example'}"]
        {
            let suggestion = Suggestion {
                name: "zq_xv".into(),
                language: Language::EN,
                count: 3,
                share: 0.5,
                examples: vec![format!("zq\n{sneaky}"), "zq xv".into()],
                draft_reply: Some(format!("hello\u{85}{sneaky}\u{9c}")),
                handled_by_people: None,
                escalation_candidate: false,
                from_tag: false,
            };
            let grouped = Grouped { suggestions: vec![suggestion], assigned: vec![Some(0)] };
            let items = grouped.suggestions.iter().map(item).collect::<Result<Vec<_>>>().unwrap();
            let merged =
                tenant_file::merge_list(switchboard::tenant::DEMO_TENANT_YAML, "intents", TOOL, "x.csv", &items, &[])
                    .unwrap();
            let config = TenantConfig::from_yaml("t", &merged.yaml).unwrap();
            let intent = config.intents.iter().find(|i| i.name == "zq_xv").unwrap();
            assert!(intent.reply.is_empty(), "no live reply: {:?}", intent.reply);
            let examples = &intent.examples.get(&Language::EN).cloned().unwrap_or_default();
            assert_eq!(examples.len(), 2, "{examples:?}");
            assert!(examples[0].contains("reply: {en:"), "the text stays text: {examples:?}");
            assert!(!merged.yaml.contains('\u{2028}') && !merged.yaml.contains('\r'));
        }
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/history").join(name)
    }

    /// The draft reaches the tenant file as intents a person reviews: shown first, then
    /// written, then the same import changes nothing; the draft replies are comments (never
    /// sent); the file still loads and its new intents are classified.
    #[test]
    fn suggested_intents_are_merged_as_a_draft_once() {
        let (dir, file) = crate::knowledge::scratch_tenant("history");
        import(&file, &fixture("tagged.csv"), None, Output::Yaml, false).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), switchboard::tenant::DEMO_TENANT_YAML, "shown only");
        import(&file, &fixture("messages.csv"), None, Output::Yaml, true).unwrap();
        let written = std::fs::read_to_string(&file).unwrap();
        let tenant = Tenant::from_yaml("acme.yaml", &written).unwrap();
        let added: Vec<&str> = tenant
            .config
            .intents
            .iter()
            .filter(|i| i.description.starts_with("Suggested from"))
            .map(|i| i.name.as_str())
            .collect();
        assert!(!added.is_empty(), "{written}");
        assert!(tenant.config.intents.iter().all(|i| i.reply.is_empty() || !i.description.starts_with("Suggested")));
        assert!(written.contains("# draft reply from a past agent answer"), "the draft is a comment");
        import(&file, &fixture("messages.csv"), Some(HistoryFormat::Csv), Output::Yaml, true).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), written, "the same import again changes nothing");
        import(&file, &fixture("messages.csv"), None, Output::Json, false).unwrap();
        import(&file, &fixture("zendesk-tickets.json"), None, Output::Table, false).unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }
}
