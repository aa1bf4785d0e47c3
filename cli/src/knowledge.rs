//! `switchboard import knowledge`: a help centre's export merged into a tenant file as FAQ
//! entries, the change shown as a diff before anything is written.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::Path;
use switchboard::Tenant;
use switchboard::config::{FaqEntry, TenantConfig};
use switchboard::knowledge::{self, Format, tenant_file};

/// The formats `--format` names.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KnowledgeFormat {
    /// Zendesk Guide: the Help Center API's articles JSON.
    Zendesk,
    /// Intercom: the Articles API's JSON.
    Intercom,
    /// A folder of Markdown or HTML pages.
    Pages,
    /// A CSV with `question` and `answer` columns.
    Csv,
}

impl From<KnowledgeFormat> for Format {
    fn from(f: KnowledgeFormat) -> Self {
        match f {
            KnowledgeFormat::Zendesk => Format::Zendesk,
            KnowledgeFormat::Intercom => Format::Intercom,
            KnowledgeFormat::Pages => Format::Pages,
            KnowledgeFormat::Csv => Format::Csv,
        }
    }
}

/// Reads `source`, merges its entries into the tenant file at `path`, prints the diff, and
/// writes the file when `write` (only if it still loads as a tenant).
pub fn import(path: &Path, source: &Path, format: Option<KnowledgeFormat>, write: bool) -> Result<()> {
    let yaml = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    let tenant = Tenant::from_yaml(&name, &yaml)?;
    let format = match format {
        Some(f) => f.into(),
        None => Format::detect(source)?,
    };
    let articles = knowledge::read(source, format)?;
    let detect = |text: &str| tenant.classifier.classify(text).language;
    let imported = knowledge::entries(&articles, &tenant.config.languages, &detect);

    let label = source
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .with_context(|| format!("{}: name a file or folder", source.display()))?;
    let without = tenant_file::without_block(&yaml, &label).map_err(anyhow::Error::msg)?;
    let own = faq(&without)?;
    let own_ids: Vec<String> = own.keys().cloned().collect();
    let merged = tenant_file::merge(&yaml, &label, &imported.entries, &own_ids).map_err(anyhow::Error::msg)?;
    Tenant::from_yaml(&name, &merged.yaml).context("the merged file would not load; nothing written")?;
    // What the file now says is exactly what was imported: no field added, none changed.
    let written = faq(&merged.yaml)?;
    for entry in imported.entries.iter().filter(|e| !merged.kept_yours.contains(&e.id)) {
        let expected = tenant_file::plain_entry(entry);
        anyhow::ensure!(
            written.get(&expected.id) == Some(&expected),
            "the merged file does not say what was imported for `{}`; nothing written",
            expected.id
        );
    }

    let before: BTreeMap<String, FaqEntry> = faq(&yaml)?.into_iter().filter(|(id, _)| !own.contains_key(id)).collect();
    let after: BTreeMap<String, FaqEntry> =
        faq(&merged.yaml)?.into_iter().filter(|(id, _)| !own.contains_key(id)).collect();
    let added = after.keys().filter(|id| !before.contains_key(*id)).count();
    let removed = before.keys().filter(|id| !after.contains_key(*id)).count();
    let changed = after.iter().filter(|(id, e)| before.get(*id).is_some_and(|b| b != *e)).count();
    eprintln!(
        "{}: {} articles → {} entries ({added} new, {changed} changed, {removed} gone from the source)",
        source.display(),
        articles.len(),
        imported.entries.len()
    );
    for skipped in &imported.skipped {
        eprintln!("  skipped {}: {}", skipped.article, skipped.why);
    }
    for id in &merged.kept_yours {
        eprintln!("  kept yours: {id} is in the file outside the imported block");
    }
    show_or_write(path, &yaml, &merged.yaml, write, "review the entries")
}

/// Prints the change from `before` to `after` of the tenant file at `path` as a diff, and with
/// `write` replaces the file (a temporary file renamed over it: never half-written).
pub fn show_or_write(path: &Path, before: &str, after: &str, write: bool, then: &str) -> Result<()> {
    let name = path.display().to_string();
    if after == before {
        eprintln!("{name}: no change");
        return Ok(());
    }
    print!("{}", tenant_file::diff(before, after, &name));
    if write {
        let temporary = path.with_extension("yaml.importing");
        std::fs::write(&temporary, after).with_context(|| format!("writing {}", temporary.display()))?;
        std::fs::rename(&temporary, path).with_context(|| format!("replacing {}", path.display()))?;
        eprintln!("{name}: written; {then}, then `tenants-put` it");
    } else {
        eprintln!("{name}: not written; run again with --write to save this change");
    }
    Ok(())
}

/// A copy of the demo tenant file in a folder of its own, for a test to import into.
#[cfg(test)]
pub fn scratch_tenant(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("switchboard-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("acme.yaml");
    std::fs::write(&file, switchboard::tenant::DEMO_TENANT_YAML).unwrap_or_else(|e| panic!("{e}"));
    (dir, file)
}

/// The FAQ entries of a tenant file, by id.
fn faq(yaml: &str) -> Result<BTreeMap<String, FaqEntry>> {
    let config = TenantConfig::from_yaml("tenant", yaml)?;
    Ok(config.faq.into_iter().map(|e| (e.id.clone(), e)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/knowledge").join(name)
    }

    /// The command as a business runs it: first the diff and nothing written, then written,
    /// then the same import again changes nothing; the file loads as a tenant throughout.
    #[test]
    fn an_import_is_shown_then_written_once_and_the_file_still_loads() {
        let (dir, file) = scratch_tenant("knowledge");
        import(&file, &fixture("zendesk-articles.json"), None, false).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), switchboard::tenant::DEMO_TENANT_YAML, "shown only");
        import(&file, &fixture("zendesk-articles.json"), None, true).unwrap();
        let written = std::fs::read_to_string(&file).unwrap();
        let tenant = Tenant::from_yaml("acme.yaml", &written).unwrap();
        let reply = tenant.replies.draft(None, "how do I send an item back", switchboard::domain::Language::EN, None);
        let reply = reply.map(|r| r.text).unwrap_or_default();
        assert!(reply.contains("Print the label") && reply.ends_with("360012345601-Returns-and-refunds"), "{reply}");
        import(&file, &fixture("zendesk-articles.json"), Some(KnowledgeFormat::Zendesk), true).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), written, "the same import again changes nothing");
        assert!(import(&file, &fixture("zendesk-articles.json"), Some(KnowledgeFormat::Csv), false).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
