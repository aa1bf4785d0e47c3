//! The privacy audit over a test run's logs (`tests/support/audit.rs`): scans every line the
//! suite wrote under `SWITCHBOARD_TEST_LOGS` for the fixtures' personal data and secrets, prints
//! what it scanned, and fails on the first finding.

use anyhow::{Context, bail};
use switchboard_tests::audit;

fn main() -> anyhow::Result<()> {
    let dir =
        std::env::args().nth(1).or_else(|| std::env::var(audit::LOG_DIR_VAR).ok()).context("usage: log-audit DIR")?;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let needles = audit::needles(&root);
    let (mut files, mut lines, mut hits) = (0, 0, Vec::new());
    let mut entries: Vec<_> = std::fs::read_dir(&dir).with_context(|| format!("read {dir}"))?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let text = std::fs::read_to_string(entry.path()).with_context(|| format!("read {:?}", entry.path()))?;
        files += 1;
        lines += text.lines().count();
        hits.extend(audit::scan(&entry.file_name().to_string_lossy(), &text, &needles));
    }
    for hit in hits.iter().take(20) {
        println!(
            "LEAK {}:{}: {} `{}` (from {})",
            hit.file, hit.line, hit.needle.kind, hit.needle.text, hit.needle.source
        );
    }
    println!(
        "log audit: {lines} lines in {files} files scanned for {} values (names, phones, e-mail addresses, texts, secrets): {} found",
        needles.len(),
        hits.len()
    );
    if lines == 0 {
        bail!("no logs were captured in {dir}: the audit would pass on nothing");
    }
    if !hits.is_empty() {
        bail!("personal data or secrets in the logs");
    }
    Ok(())
}
