//! Turns the sentiment lexicons (`src/classify/lexicons/*.tsv`) into sorted static arrays, so a
//! cold start reads them in place instead of parsing 19,000 lines into maps (4 ms) on the first
//! message.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new("src/classify/lexicons");
    let mut out = String::new();
    for (name, file) in
        [("VADER_EN", "vader_en.tsv"), ("SENTICON_ES", "senticon_es.tsv"), ("SENTICON_DE", "senticon_de.tsv")]
    {
        let path = dir.join(file);
        println!("cargo::rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let mut entries: Vec<(&str, f32)> = text
            .lines()
            .filter_map(|line| {
                let (word, value) = line.split_once('\t')?;
                Some((word, value.parse().ok()?))
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        writeln!(out, "/// `{file}`, sorted by word.\npub static {name}: &[(&str, f32)] = &[").unwrap();
        for (word, value) in entries {
            writeln!(out, "    ({word:?}, {value:?}),").unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("lexicons.rs");
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("writing {}: {e}", target.display()));
}
