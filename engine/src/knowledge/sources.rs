//! Reading a help centre as businesses export it: Zendesk Guide (the Help Center API's
//! `articles` JSON), Intercom (its Articles API's JSON, translations included), a folder of
//! Markdown or HTML pages (optional front matter: `title`, `url`, `language`), and a CSV of
//! questions and answers (`question,answer`, optional `url`, `language`, `keywords`, `id`).

use super::{Article, Body, KnowledgeError};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Zendesk Guide: `{"articles": [...]}` (one API page), or the list itself.
    Zendesk,
    /// Intercom: `{"type": "list", "data": [...]}`, or the list itself.
    Intercom,
    /// A folder of `.md`, `.markdown`, `.html` and `.htm` pages (or one such file).
    Pages,
    /// A CSV with `question` and `answer` columns.
    Csv,
}

impl Format {
    /// The format of `path`: a folder or page is pages, `.csv` a CSV, and a JSON file is
    /// Zendesk's or Intercom's by its shape.
    pub fn detect(path: &Path) -> Result<Self, KnowledgeError> {
        if path.is_dir() {
            return Ok(Self::Pages);
        }
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("csv") => Ok(Self::Csv),
            Some("md" | "markdown" | "html" | "htm") => Ok(Self::Pages),
            Some("json") => {
                let value: serde_json::Value = serde_json::from_str(&read_text(path)?)
                    .map_err(|e| KnowledgeError::Malformed(format!("{}: {e}", path.display())))?;
                let first = value.get("articles").or(value.get("data")).unwrap_or(&value);
                let first = first.as_array().and_then(|a| a.first()).unwrap_or(first);
                if value.get("articles").is_some() || first.get("html_url").is_some() {
                    Ok(Self::Zendesk)
                } else if value.get("type").and_then(|t| t.as_str()) == Some("list")
                    || first.get("type").and_then(|t| t.as_str()) == Some("article")
                {
                    Ok(Self::Intercom)
                } else {
                    Err(KnowledgeError::Unrecognised(path.display().to_string()))
                }
            }
            _ => Err(KnowledgeError::Unrecognised(path.display().to_string())),
        }
    }
}

/// Every article in `path`, read as `format`; drafts and unpublished articles left out.
pub fn read(path: &Path, format: Format) -> Result<Vec<Article>, KnowledgeError> {
    match format {
        Format::Zendesk => zendesk(&read_text(path)?),
        Format::Intercom => intercom(&read_text(path)?),
        Format::Pages => pages(path),
        Format::Csv => csv(&read_text(path)?),
    }
}

fn read_text(path: &Path) -> Result<String, KnowledgeError> {
    std::fs::read_to_string(path).map_err(|e| KnowledgeError::Io(format!("{}: {e}", path.display())))
}

fn malformed(e: impl std::fmt::Display) -> KnowledgeError {
    KnowledgeError::Malformed(e.to_string())
}

/// A list under `key`, or the document itself when it is the list.
fn listed<T: serde::de::DeserializeOwned>(text: &str, key: &str) -> Result<Vec<T>, KnowledgeError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(malformed)?;
    let list = match value.get(key) {
        Some(list) => list.clone(),
        None => value,
    };
    serde_json::from_value(list).map_err(malformed)
}

#[derive(Deserialize)]
struct ZendeskArticle {
    id: serde_json::Value,
    title: String,
    #[serde(default)]
    body: Option<String>,
    html_url: Option<String>,
    locale: Option<String>,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    label_names: Vec<String>,
}

fn zendesk(text: &str) -> Result<Vec<Article>, KnowledgeError> {
    let articles: Vec<ZendeskArticle> = listed(text, "articles")?;
    Ok(articles
        .into_iter()
        .filter(|a| !a.draft)
        .map(|a| Article {
            id: format!("zd-{}", id_text(&a.id)),
            title: a.title,
            url: a.html_url,
            locale: a.locale,
            body: Body::Html(a.body.unwrap_or_default()),
            keywords: a.label_names,
        })
        .collect())
}

#[derive(Deserialize)]
struct IntercomArticle {
    id: serde_json::Value,
    title: String,
    #[serde(default)]
    body: Option<String>,
    url: Option<String>,
    state: Option<String>,
    default_locale: Option<String>,
    #[serde(default)]
    translated_content: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct IntercomTranslation {
    title: Option<String>,
    body: Option<String>,
    url: Option<String>,
    state: Option<String>,
}

fn intercom(text: &str) -> Result<Vec<Article>, KnowledgeError> {
    let articles: Vec<IntercomArticle> = listed(text, "data")?;
    let mut out = Vec::new();
    for a in articles {
        let id = format!("ic-{}", id_text(&a.id));
        let default_locale = a.default_locale.clone();
        if a.state.as_deref() != Some("draft") {
            out.push(Article {
                id: id.clone(),
                title: a.title.clone(),
                url: a.url.clone(),
                locale: default_locale.clone(),
                body: Body::Html(a.body.unwrap_or_default()),
                keywords: Vec::new(),
            });
        }
        // Each other language the article is published in is an article of its own.
        for (locale, value) in a.translated_content.into_iter().flatten() {
            if Some(&locale) == default_locale.as_ref() || !value.is_object() {
                continue;
            }
            let Ok(t) = serde_json::from_value::<IntercomTranslation>(value) else { continue };
            let (Some(title), Some(body)) = (t.title, t.body) else { continue };
            if t.state.as_deref() == Some("draft") || body.trim().is_empty() {
                continue;
            }
            out.push(Article {
                id: format!("{id}-{locale}"),
                title,
                url: t.url,
                locale: Some(locale),
                body: Body::Html(body),
                keywords: Vec::new(),
            });
        }
    }
    Ok(out)
}

/// A page's optional front matter.
#[derive(Deserialize, Default)]
struct FrontMatter {
    title: Option<String>,
    #[serde(alias = "source")]
    url: Option<String>,
    #[serde(alias = "locale")]
    language: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
}

fn pages(path: &Path) -> Result<Vec<Article>, KnowledgeError> {
    let mut files = Vec::new();
    if path.is_dir() {
        collect(path, &mut files)?;
    } else {
        files.push(path.to_path_buf());
    }
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = read_text(&file)?;
        let (front, content) = front_matter(&text).map_err(|e| malformed(format!("{}: {e}", file.display())))?;
        let relative = file.strip_prefix(path).unwrap_or(&file).with_extension("");
        let name = relative.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/");
        let is_markdown = matches!(file.extension().and_then(|e| e.to_str()), Some("md" | "markdown"));
        let html = if is_markdown { markdown_html(content) } else { content.to_string() };
        let (title, html) = match front.title {
            Some(title) => (title, html),
            None => split_title(&html, &name),
        };
        out.push(Article {
            id: format!("page-{name}"),
            title,
            url: front.url,
            locale: front.language,
            body: Body::Html(html),
            keywords: front.keywords,
        });
    }
    Ok(out)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), KnowledgeError> {
    let entries = std::fs::read_dir(dir).map_err(|e| KnowledgeError::Io(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry.map_err(|e| KnowledgeError::Io(e.to_string()))?.path();
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        if path.is_dir() {
            collect(&path, out)?;
        } else if matches!(extension.as_deref(), Some("md" | "markdown" | "html" | "htm")) {
            out.push(path);
        }
    }
    Ok(())
}

/// `---`-fenced YAML at the top of a page, and the rest.
fn front_matter(text: &str) -> Result<(FrontMatter, &str), String> {
    let Some(rest) = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n")) else {
        return Ok((FrontMatter::default(), text));
    };
    let Some(end) = rest.find("\n---") else { return Ok((FrontMatter::default(), text)) };
    let front = serde_norway::from_str(&rest[..end]).map_err(|e| format!("front matter: {e}"))?;
    let content = rest[end + 4..].trim_start_matches(['\r', '\n']);
    Ok((front, content))
}

fn markdown_html(markdown: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(markdown));
    html
}

/// The page's first `h1` as its title (taken out of the body), else its file name.
fn split_title(html: &str, name: &str) -> (String, String) {
    let document = scraper::Html::parse_fragment(html);
    let h1 = scraper::Selector::parse("h1").ok().and_then(|s| document.select(&s).next());
    match h1 {
        Some(h1) => {
            let title = h1.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ");
            (title, html.replacen(&h1.html(), "", 1))
        }
        None => (name.rsplit('/').next().unwrap_or(name).replace(['-', '_'], " "), html.to_string()),
    }
}

fn csv(text: &str) -> Result<Vec<Article>, KnowledgeError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().map_err(malformed)?.iter().map(str::to_lowercase).collect();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(question), Some(answer)) = (column("question"), column("answer")) else {
        return Err(KnowledgeError::Malformed("a CSV needs `question` and `answer` columns".into()));
    };
    let (url, language, keywords, id) = (column("url"), column("language"), column("keywords"), column("id"));
    let mut out = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(malformed)?;
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).map(str::trim).filter(|c| !c.is_empty());
        let (Some(q), Some(a)) = (cell(Some(question)), cell(Some(answer))) else { continue };
        out.push(Article {
            id: format!("qa-{}", cell(id).map_or_else(|| (n + 1).to_string(), str::to_string)),
            title: q.to_string(),
            url: cell(url).map(str::to_string),
            locale: cell(language).map(str::to_string),
            body: Body::Text(a.to_string()),
            keywords: cell(keywords)
                .map(|k| k.split(';').map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect())
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

/// An id as text, number or string.
fn id_text(id: &serde_json::Value) -> String {
    match id {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
