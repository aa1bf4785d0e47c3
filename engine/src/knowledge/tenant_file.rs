//! Imported entries in a tenant file: a block of a top-level list (`faq:`, `intents:`) between
//! two marker comments that name the source. The block is the import's: importing the same
//! source again replaces it (and changes nothing when the source did not change); everything
//! outside it — the person's own entries, comments, the rest of the file — is left exactly as
//! written. An entry moved out of the block is the person's from then on, and the import leaves
//! its id alone.

use switchboard_core::config::FaqEntry;

/// The first line of the block for `label`, written by `tool`.
fn begin(label: &str, tool: &str) -> String {
    format!(
        "# >>> imported from {label} by `switchboard {tool}`; replaced on every import (move an entry above this line to keep your edits)"
    )
}

/// The last line of the block for `label`.
fn end(label: &str) -> String {
    format!("# <<< imported from {label}")
}

/// One list item as YAML lines (without the list's `- ` and indentation), and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Its id (`id` of an FAQ entry, `name` of an intent).
    pub id: String,
    /// Its lines: comments may precede the first field.
    pub lines: Vec<String>,
}

impl Item {
    /// An FAQ entry, its text made [`plain`].
    pub fn faq(entry: &FaqEntry) -> Result<Self, String> {
        let entry = plain_entry(entry);
        let text = serde_norway::to_string(&entry).map_err(|e| format!("writing entry {}: {e}", entry.id))?;
        Ok(Self { id: entry.id.clone(), lines: text.lines().map(str::to_string).collect() })
    }
}

/// `text` safe to write into a tenant file: every character YAML reads as a line break but a
/// line of this file is not (a carriage return, NEL, U+2028, U+2029) and every other control
/// character becomes a space — so text from outside (a help centre, a customer's message) can
/// never end its scalar and start a key of its own. Newlines stay when `lines` (an answer's
/// list items); otherwise they become spaces too.
pub fn plain(text: &str, lines: bool) -> String {
    text.chars()
        .map(|c| match c {
            '\n' if lines => '\n',
            '\u{2028}' | '\u{2029}' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// The entry with every text field [`plain`].
pub fn plain_entry(entry: &FaqEntry) -> FaqEntry {
    FaqEntry {
        id: plain(&entry.id, false),
        question: plain(&entry.question, false),
        answer: plain(&entry.answer, true),
        keywords: entry.keywords.iter().map(|k| plain(k, false)).collect(),
        source: entry.source.as_deref().map(|s| plain(s, false)),
        ..entry.clone()
    }
}

/// What merging did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The new file.
    pub yaml: String,
    /// Ids of imported entries left out because the file has an entry of that id outside the
    /// block (the person's, kept).
    pub kept_yours: Vec<String>,
}

/// `yaml` with FAQ `entries` as the imported block for `label`, replacing the block the last
/// import of that label wrote. `own_ids` are the ids of the entries outside the block (read from
/// [`without_block`]'s file): imported entries with those ids are left out.
pub fn merge(yaml: &str, label: &str, entries: &[FaqEntry], own_ids: &[String]) -> Result<Merged, String> {
    let items = entries.iter().map(Item::faq).collect::<Result<Vec<_>, _>>()?;
    merge_list(yaml, "faq", "import knowledge", label, &items, own_ids)
}

/// `yaml` with `items` as the block for `label` in its top-level list `key`, written by `tool`
/// (see [`merge`]).
pub fn merge_list(
    yaml: &str,
    key: &str,
    tool: &str,
    label: &str,
    items: &[Item],
    own_ids: &[String],
) -> Result<Merged, String> {
    let (kept_yours, entries): (Vec<&Item>, Vec<&Item>) = items.iter().partition(|e| own_ids.contains(&e.id));
    let kept_yours = kept_yours.into_iter().map(|e| e.id.clone()).collect();
    let mut lines: Vec<String> = yaml.lines().map(str::to_string).collect();
    let opening = format!("{key}:");
    let faq = match lines.iter().position(|l| top_level_key(l) == Some(key)) {
        Some(at) => {
            let value = lines[at][opening.len()..].trim();
            match value {
                "" => at,
                "[]" => {
                    lines[at] = opening.clone();
                    at
                }
                _ if value.starts_with('#') => at,
                _ => return Err(format!("`{key}:` is written inline; write it as a block list (`- …` lines) first")),
            }
        }
        None if entries.is_empty() => return Ok(Merged { yaml: yaml.to_string(), kept_yours }),
        None => {
            while lines.last().is_some_and(|l| l.trim().is_empty()) {
                lines.pop();
            }
            lines.push(String::new());
            lines.push(opening.clone());
            lines.len() - 1
        }
    };
    let block_end = (faq + 1..lines.len()).find(|&i| top_level_key(&lines[i]).is_some()).unwrap_or(lines.len());
    let indent = lines[faq + 1..block_end]
        .iter()
        .find_map(|l| l.trim_start().starts_with("- ").then(|| l.len() - l.trim_start().len()))
        .unwrap_or(2);
    let (begin, end) = (begin(label, tool), end(label));
    let old = (faq + 1..block_end)
        .find(|&i| lines[i].trim() == begin)
        .and_then(|b| (b..block_end).find(|&i| lines[i].trim() == end).map(|e| (b, e)));
    let mut block = Vec::new();
    if !entries.is_empty() {
        let pad = " ".repeat(indent);
        block.push(format!("{pad}{begin}"));
        for entry in entries {
            // Comments before the first field sit at the item's own indentation.
            let comments = entry.lines.iter().take_while(|l| l.starts_with('#')).count();
            for (i, line) in entry.lines.iter().enumerate() {
                let lead = if i < comments {
                    ""
                } else if i == comments {
                    "- "
                } else {
                    "  "
                };
                block.push(format!("{pad}{lead}{line}"));
            }
        }
        block.push(format!("{pad}{end}"));
    }
    match old {
        Some((b, e)) => {
            lines.splice(b..=e, block);
        }
        None => {
            // After the list's last entry, before the blank lines and comments that lead into
            // the next key.
            let mut at = block_end;
            // After the list's last entry, before the blank lines and comments that lead into
            // the next key — but never back inside another source's block.
            while at > faq + 1
                && (lines[at - 1].trim().is_empty() || lines[at - 1].starts_with('#'))
                && !lines[at - 1].trim_start().starts_with("# <<< imported from")
            {
                at -= 1;
            }
            lines.splice(at..at, block);
        }
    }
    // A list left with no entry at all is an empty list, not a null.
    let block_end = (faq + 1..lines.len()).find(|&i| top_level_key(&lines[i]).is_some()).unwrap_or(lines.len());
    if !lines[faq + 1..block_end].iter().any(|l| l.trim_start().starts_with("- ")) {
        lines[faq] = format!("{key}: []");
    }
    let mut yaml_out = lines.join("\n");
    yaml_out.push('\n');
    Ok(Merged { yaml: yaml_out, kept_yours })
}

/// `yaml` with `parent.key` set to `value` (one line of YAML, e.g. a flow map `{a: 1}`):
/// the key's old lines (and anything nested under them) are replaced, every other line of the
/// file is left as it is; `parent:` is added at the end when the file has none.
pub fn set_child(yaml: &str, parent: &str, key: &str, value: &str) -> Result<String, String> {
    let mut lines: Vec<String> = yaml.lines().map(str::to_string).collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let Some(start) = lines.iter().position(|l| top_level_key(l) == Some(parent)) else {
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        lines.extend([String::new(), format!("{parent}:"), format!("  {key}: {value}")]);
        return Ok(lines.join("\n") + "\n");
    };
    if !lines[start][parent.len() + 1..].trim().is_empty() && !lines[start][parent.len() + 1..].trim().starts_with('#')
    {
        return Err(format!("`{parent}:` is written inline; write it as a block (one key a line) first"));
    }
    let end = (start + 1..lines.len()).find(|&i| top_level_key(&lines[i]).is_some()).unwrap_or(lines.len());
    let child = lines[start + 1..end]
        .iter()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map_or(2, |l| indent(l));
    let is_key = |l: &str| indent(l) == child && l.trim_start().split_once(':').map(|(k, _)| k.trim()) == Some(key);
    let new = format!("{}{key}: {value}", " ".repeat(child));
    match (start + 1..end).find(|&i| is_key(&lines[i])) {
        Some(at) => {
            // The key's own line and every deeper line (or blank) under it.
            let mut stop = at + 1;
            while stop < end && (lines[stop].trim().is_empty() || indent(&lines[stop]) > child) {
                stop += 1;
            }
            while stop > at + 1 && lines[stop - 1].trim().is_empty() {
                stop -= 1;
            }
            lines.splice(at..stop, [new]);
        }
        None => {
            let mut at = end;
            while at > start + 1 && (lines[at - 1].trim().is_empty() || lines[at - 1].starts_with('#')) {
                at -= 1;
            }
            lines.insert(at, new);
        }
    }
    Ok(lines.join("\n") + "\n")
}

/// `yaml` without the FAQ block for `label` (to read the ids of the person's own entries).
pub fn without_block(yaml: &str, label: &str) -> Result<String, String> {
    merge(yaml, label, &[], &[]).map(|m| m.yaml)
}

/// `yaml` without the block for `label` in the list `key`, written by `tool`.
pub fn without_list_block(yaml: &str, key: &str, tool: &str, label: &str) -> Result<String, String> {
    merge_list(yaml, key, tool, label, &[], &[]).map(|m| m.yaml)
}

/// The key a top-level mapping line starts, if it is one.
fn top_level_key(line: &str) -> Option<&str> {
    let first = line.chars().next()?;
    if first.is_whitespace() || first == '#' || first == '-' {
        return None;
    }
    line.split_once(':').map(|(key, _)| key.trim().trim_matches(['"', '\'']))
}

/// A unified diff of `before` and `after`, as `diff -u` shows it.
pub fn diff(before: &str, after: &str, name: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(2)
        .header(name, &format!("{name} (imported)"))
        .to_string()
}
