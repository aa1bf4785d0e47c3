//! The privacy audit. With `SWITCHBOARD_TEST_LOGS` set (the test command sets it), every test
//! process writes its logs there as JSON lines — at debug level, with spans — and so do the
//! Lambda bootstraps the tests start. After the suite, `log-audit` scans every line for what the
//! fixtures hold that is personal or secret: customers' names, phone numbers and e-mail
//! addresses, the texts customers write, and every credential. No tenant turns on logging of
//! personal data in the suite (`logging.include_personal_data`), so none may appear.

use serde_json::Value;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use switchboard::channels::{email, slack, telegram, twilio, whatsapp};
use switchboard::tenant::{DEMO_TENANT_YAML, TenantConfig};

/// Where the logs of a test run go; unset, nothing is captured.
pub const LOG_DIR_VAR: &str = "SWITCHBOARD_TEST_LOGS";

fn log_file(suffix: &str) -> Option<File> {
    let dir = PathBuf::from(std::env::var_os(LOG_DIR_VAR)?);
    std::fs::create_dir_all(&dir).ok()?;
    let exe = std::env::current_exe().ok()?;
    let name = exe.file_stem()?.to_string_lossy().into_owned();
    // Test binaries are `name-<hash>`: the name is enough, the pid tells runs apart.
    let name = name.rsplit_once('-').filter(|(_, h)| h.len() == 16).map_or(name.as_str(), |(n, _)| n).to_string();
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}-{}{suffix}.jsonl", std::process::id())))
        .ok()
}

/// Sends this process's logs to the run's log folder, once; a no-op when another subscriber
/// is installed or no folder is set.
pub fn capture() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Some(file) = log_file("") else { return };
        let filter = tracing_subscriber::EnvFilter::new("info,switchboard=debug,switchboard_tests=debug");
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(Mutex::new(file))
            .try_init();
    });
}

/// Keeps a line a child process (a Lambda bootstrap) wrote, for the audit.
pub fn child_line(line: &str) {
    static FILE: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    if let Some(file) = FILE.get_or_init(|| log_file("-bootstraps").map(Mutex::new)) {
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(file, "{line}");
    }
}

/// One thing that must never be logged, and where the fixtures have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needle {
    /// The text searched for.
    pub text: String,
    /// Only as a whole word (first names: "Ben" is in "Benefits").
    pub word: bool,
    /// What it is: `name`, `phone`, `email`, `text`, `secret`.
    pub kind: &'static str,
    /// Where it comes from.
    pub source: String,
}

/// A forbidden value found in a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The log file.
    pub file: String,
    /// Line number, from 1.
    pub line: usize,
    /// What was found.
    pub needle: Needle,
}

fn needle(text: impl Into<String>, kind: &'static str, source: impl Into<String>) -> Needle {
    Needle { text: text.into(), word: false, kind, source: source.into() }
}

/// Phone numbers appear with and without the `+` (WhatsApp's `wa_id` has none).
fn phone_needles(phone: &str, source: &str) -> Vec<Needle> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    vec![needle(format!("+{digits}"), "phone", source), needle(digits, "phone", source)]
}

/// The demo tenant's customers and credentials.
fn tenant_needles() -> Vec<Needle> {
    let mut config = TenantConfig::from_yaml("demo.yaml", DEMO_TENANT_YAML).expect("the demo tenant parses");
    let mut out = Vec::new();
    for c in &config.customers {
        let source = format!("demo.yaml customer {}", c.id);
        out.push(needle(c.name.clone(), "name", &source));
        if let Some(first) = c.name.split_whitespace().next() {
            out.push(Needle { word: true, ..needle(first, "name", &source) });
        }
        c.phones.iter().for_each(|p| out.extend(phone_needles(p, &source)));
        c.emails.iter().for_each(|e| out.push(needle(e.clone(), "email", &source)));
    }
    for (field, secret) in config.secrets_mut() {
        let value = String::from_utf8_lossy(secret.expose()).into_owned();
        if value.len() >= 8 {
            out.push(needle(value, "secret", format!("demo.yaml {field}")));
        }
    }
    out
}

/// What each provider's sample event carries that is personal, read by the channel's own parser.
fn event_needles(root: &Path) -> Vec<Needle> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root.join("events/inbound")) else { return out };
    for entry in entries.flatten() {
        let source = format!("events/inbound/{}", entry.file_name().to_string_lossy());
        let Ok(event) = std::fs::read_to_string(entry.path()).map(|t| serde_json::from_str::<Value>(&t)) else {
            continue;
        };
        let Ok(event) = event else { continue };
        let raw = event["body"].as_str().unwrap_or_default();
        let body = if event["isBase64Encoded"] == true {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(raw).unwrap_or_default()
        } else {
            raw.as_bytes().to_vec()
        };
        let path = event["rawPath"].as_str().unwrap_or_default();
        let incoming = match path.rsplit('/').next().unwrap_or_default() {
            "twilio" => twilio::form(&body).ok().and_then(|f| twilio::parse(&f).ok().flatten()).into_iter().collect(),
            "whatsapp" => whatsapp::parse(&body).unwrap_or_default(),
            "telegram" => telegram::parse(&body).ok().flatten().into_iter().collect(),
            "slack" => match slack::parse(&body) {
                Ok(slack::SlackRequest::Message(m)) => vec![m],
                _ => vec![],
            },
            "email" => email::parse(&body, "support@shop.example", switchboard::config::POSTMARK_AUTHSERV_ID)
                .ok()
                .flatten()
                .into_iter()
                .collect(),
            _ => vec![],
        };
        for m in incoming {
            let address = m.address.trim_start_matches("whatsapp:").to_string();
            if address.trim_start_matches('+').chars().all(|c| c.is_ascii_digit()) && address.len() > 6 {
                out.extend(phone_needles(&address, &source));
            } else if address.contains('@') {
                out.push(needle(address, "email", &source));
            }
            out.push(needle(m.text, "text", &source));
            out.extend(m.display_name.map(|n| needle(n, "name", &source)));
        }
        if let Ok(post) = serde_json::from_slice::<Value>(&body) {
            for field in ["text", "visitor_id"] {
                out.extend(post[field].as_str().map(|t| needle(t, "text", &source)));
            }
            out.extend(post["identity"]["signature"].as_str().map(|s| needle(s, "secret", &source)));
        }
        for header in ["authorization", "x-twilio-signature", "x-hub-signature-256", "x-slack-signature"] {
            let value = event["headers"][header].as_str().unwrap_or_default();
            let token = value.rsplit(' ').next().unwrap_or_default();
            if token.len() >= 12 {
                out.push(needle(token, "secret", format!("{source} {header}")));
            }
        }
    }
    out
}

/// The texts the integration tests write as customers: every `"text": "…"` in their sources.
fn test_text_needles(root: &Path) -> Vec<Needle> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root.join("tests")) else { return out };
    for entry in entries.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "rs")) {
        let Ok(source) = std::fs::read_to_string(entry.path()) else { continue };
        let name = format!("tests/{}", entry.file_name().to_string_lossy());
        for (at, _) in source.match_indices("\"text\": \"") {
            let rest = &source[at + 9..];
            let Some(end) = rest.find('"') else { continue };
            let text = &rest[..end];
            // Short or templated texts ("hi", "{x}") would match unrelated lines.
            if text.chars().count() >= 12 && !text.contains(['{', '\\']) {
                out.push(needle(text, "text", &name));
            }
        }
    }
    out
}

/// Every value the audit looks for.
pub fn needles(root: &Path) -> Vec<Needle> {
    let mut all = tenant_needles();
    all.extend(event_needles(root));
    all.extend(test_text_needles(root));
    all.sort_by(|a, b| a.text.cmp(&b.text));
    all.dedup_by(|a, b| a.text == b.text);
    all
}

fn found(line: &str, n: &Needle) -> bool {
    if !n.word {
        return line.contains(n.text.as_str());
    }
    line.match_indices(n.text.as_str()).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + n.text.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The forbidden values in `lines` of `file`.
pub fn scan(file: &str, lines: &str, needles: &[Needle]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for (i, line) in lines.lines().enumerate() {
        for n in needles.iter().filter(|n| found(line, n)) {
            hits.push(Hit { file: file.to_string(), line: i + 1, needle: n.clone() });
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn the_needles_hold_what_the_fixtures_hold() {
        let all = needles(&root());
        let has = |kind: &str, text: &str| all.iter().any(|n| n.kind == kind && n.text == text);
        assert!(has("name", "Ana García") && has("name", "Ana"), "customer names");
        assert!(has("phone", "+34600111222") && has("phone", "34600111222"), "phones with and without +");
        assert!(has("email", "ana.garcia@example.com"));
        assert!(has("secret", "demo-identity-secret-change-me") && has("secret", "demo-twilio-auth-token"));
        assert!(all.iter().any(|n| n.kind == "text" && n.source.starts_with("events/inbound/twilio")), "Twilio's text");
        assert!(all.iter().any(|n| n.kind == "text" && n.source.starts_with("tests/")), "the tests' texts");
    }

    #[test]
    fn a_planted_leak_is_found_and_clean_lines_pass() {
        let all = needles(&root());
        let leaky = r#"{"fields":{"message":"sent","to":"+34600111222"}}
{"fields":{"message":"ok","tenant":"demo"}}
{"fields":{"message":"hello Ana"}}
{"fields":{"message":"Banana Analysis"}}"#;
        let hits = scan("x.jsonl", leaky, &all);
        let lines: Vec<usize> = hits.iter().map(|h| h.line).collect();
        assert!(lines.contains(&1) && lines.contains(&3), "{hits:?}");
        assert!(!lines.contains(&2) && !lines.contains(&4), "{hits:?}");
    }
}
