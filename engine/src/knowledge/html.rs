//! A help-centre page's HTML as plain text in sections: each `h1`–`h3` starts a section, block
//! elements become paragraphs, list items lines of their own, scripts and styles nothing.

use ego_tree::iter::Edge;
use scraper::{Html, Node};

/// A part of a page under one heading (`None` for what comes before the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The heading's text.
    pub heading: Option<String>,
    /// Its paragraphs and list items, whitespace collapsed, in order.
    pub paragraphs: Vec<String>,
}

/// Elements that end the text before them and start a new paragraph.
const BLOCKS: [&str; 19] = [
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "pre",
    "blockquote",
    "table",
    "tr",
    "dd",
    "dt",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "figure",
    "figcaption",
    "hr",
];
/// Elements whose text is not content.
const SKIPPED: [&str; 8] = ["script", "style", "noscript", "template", "head", "title", "svg", "iframe"];

/// `html`'s sections, in order; sections without text are left out.
pub fn sections(html: &str) -> Vec<Section> {
    let document = Html::parse_fragment(html);
    let mut out = Vec::new();
    let mut current = Section { heading: None, paragraphs: Vec::new() };
    let mut text = String::new();
    let mut heading: Option<String> = None;
    let mut skipping = 0usize;
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(e) if SKIPPED.contains(&e.name()) => skipping += 1,
                Node::Element(e) if skipping == 0 && is_heading(e.name()) => {
                    flush(&mut text, &mut current.paragraphs);
                    heading = Some(String::new());
                }
                Node::Element(e) if skipping == 0 && BLOCKS.contains(&e.name()) => {
                    flush(&mut text, &mut current.paragraphs);
                    if e.name() == "li" {
                        text.push_str("- ");
                    }
                }
                Node::Element(e) if skipping == 0 && e.name() == "br" => text.push('\n'),
                Node::Element(e) if skipping == 0 && matches!(e.name(), "td" | "th") => text.push(' '),
                Node::Text(t) if skipping == 0 => match heading.as_mut() {
                    Some(h) => h.push_str(t),
                    None => text.push_str(t),
                },
                _ => {}
            },
            Edge::Close(node) => match node.value() {
                Node::Element(e) if SKIPPED.contains(&e.name()) => skipping = skipping.saturating_sub(1),
                Node::Element(e) if skipping == 0 && is_heading(e.name()) => {
                    let title = collapse(&heading.take().unwrap_or_default());
                    let next = Section { heading: (!title.is_empty()).then_some(title), paragraphs: Vec::new() };
                    let done = std::mem::replace(&mut current, next);
                    if !done.paragraphs.is_empty() {
                        out.push(done);
                    }
                }
                Node::Element(e) if skipping == 0 && BLOCKS.contains(&e.name()) => {
                    flush(&mut text, &mut current.paragraphs)
                }
                _ => {}
            },
        }
    }
    flush(&mut text, &mut current.paragraphs);
    if !current.paragraphs.is_empty() {
        out.push(current);
    }
    out
}

fn is_heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3")
}

/// Ends the paragraph being read, if it has any text (a bare list marker is none).
fn flush(text: &mut String, paragraphs: &mut Vec<String>) {
    let paragraph = collapse(text);
    if !paragraph.is_empty() && paragraph != "-" {
        paragraphs.push(paragraph);
    }
    text.clear();
}

/// Whitespace runs as one space, line breaks kept (a `<br>` inside a paragraph), trimmed.
fn collapse(text: &str) -> String {
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_split_and_blocks_become_paragraphs() {
        let html = r#"<p>Returns are free within <b>30&nbsp;days</b>.</p>
            <script>track()</script><style>p{}</style>
            <h2>How do I send an item back?</h2>
            <ol><li>Open <a href="/orders">your orders</a></li><li>Print the label</li></ol>
            <h2>Refunds</h2><div>Refunds take<br>5 days.</div><h3></h3>"#;
        let found = sections(html);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0].heading, None);
        assert_eq!(found[0].paragraphs, ["Returns are free within 30\u{a0}days.".replace('\u{a0}', " ")]);
        assert_eq!(found[1].heading.as_deref(), Some("How do I send an item back?"));
        assert_eq!(found[1].paragraphs, ["- Open your orders", "- Print the label"]);
        assert_eq!(found[2].paragraphs, ["Refunds take\n5 days."]);
    }

    #[test]
    fn nothing_but_markup_is_no_section() {
        assert!(sections("<div><br><img src=x></div><script>x()</script>").is_empty());
        assert!(sections("").is_empty());
    }
}
