//! `switchboard customers import`: a shop's customer file into a tenant's customer store —
//! the deployment's table (`--features aws`) or, for `serve --customers`, the embedded default's.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use switchboard::customers::import::{self, Format, Report};
use switchboard::domain::TenantId;
use switchboard::ports::{CustomerStore, KeepUntil};

/// The file formats on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FileFormat {
    /// CSV with the documented header.
    Csv,
    /// JSON Lines, one customer per line.
    Jsonl,
}

/// The format asked for, or the one the file name says.
pub fn format_of(path: &Path, asked: Option<FileFormat>) -> Result<Format> {
    match asked {
        Some(FileFormat::Csv) => Ok(Format::Csv),
        Some(FileFormat::Jsonl) => Ok(Format::JsonLines),
        None => Format::of_path(path)
            .with_context(|| format!("{}: say --format csv or jsonl (the name does not)", path.display())),
    }
}

/// Imports `path` into `tenant` in `store`, with a progress bar on a terminal, and prints the
/// report; every rejected row goes to `rejects` (JSON Lines) when given.
pub async fn import_file(
    store: &dyn CustomerStore,
    tenant: &TenantId,
    keep: KeepUntil,
    path: &Path,
    format: Format,
    dry_run: bool,
    rejects: Option<&PathBuf>,
) -> Result<Report> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(size).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let reader = bar.wrap_read(file);
    let mut progress = |rows: u64| bar.set_message(format!("{rows} rows"));
    let report =
        import::import(store, tenant, keep, reader, format, dry_run, &mut progress).await.with_context(|| {
            format!("importing {} into tenant {tenant} (running it again resumes safely)", path.display())
        })?;
    bar.finish_and_clear();
    print_report(&report, path);
    if let Some(out) = rejects {
        let lines: Vec<String> = report.rejected.iter().filter_map(|r| serde_json::to_string(r).ok()).collect();
        std::fs::write(out, lines.join("\n") + "\n").with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(report)
}

/// How many rejections the summary shows; `--rejects` has them all.
const SHOWN: usize = 20;

fn print_report(report: &Report, path: &Path) {
    let verb = if report.dry_run { "would store" } else { "stored" };
    eprintln!(
        "{}: {} rows read; {verb} {} customers ({} orders); {} rejected",
        path.display(),
        report.rows,
        report.stored,
        report.orders,
        report.rejected.len()
    );
    for rejected in report.rejected.iter().take(SHOWN) {
        let problems: Vec<String> = rejected.problems.iter().map(ToString::to_string).collect();
        eprintln!("  line {}: {}", rejected.line, problems.join("; "));
    }
    if report.rejected.len() > SHOWN {
        eprintln!("  … and {} more (--rejects FILE lists every one)", report.rejected.len() - SHOWN);
    }
}

/// `serve --customers [TENANT=]FILE`: which tenant a file is for (the only tenant when it says
/// none).
pub fn target(spec: &str, tenants: &[TenantId]) -> Result<(TenantId, PathBuf)> {
    if let Some((tenant, file)) = spec.split_once('=') {
        let id = TenantId::new(tenant).map_err(|e| anyhow::anyhow!("--customers {spec}: {e}"))?;
        anyhow::ensure!(tenants.contains(&id), "--customers {spec}: no tenant {id} is loaded");
        return Ok((id, PathBuf::from(file)));
    }
    match tenants {
        [only] => Ok((only.clone(), PathBuf::from(spec))),
        _ => anyhow::bail!("--customers {spec}: several tenants are loaded; write TENANT=FILE"),
    }
}
