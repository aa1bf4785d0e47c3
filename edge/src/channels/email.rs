//! Inbound e-mail through Postmark's inbound webhook: JSON, protected by HTTP Basic auth in the
//! webhook URL (Postmark has no HMAC). Quoted replies are stripped; auto-replies and our own
//! mail are skipped (no loops). Answers go out through Postmark's e-mail API, threaded with
//! `In-Reply-To`/`References` on the customer's `Message-ID`.

use super::{ChannelError, Incoming};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use switchboard_core::domain::AttachmentNote;

/// Checks `Authorization: Basic …` against the configured user and password.
pub fn verify(user: &str, password: &[u8], header: Option<&str>) -> Result<(), ChannelError> {
    let header = header.ok_or(ChannelError::Unauthorized("missing Authorization"))?;
    let encoded = header.strip_prefix("Basic ").ok_or(ChannelError::Unauthorized("Authorization is not Basic"))?;
    let given = STANDARD.decode(encoded.trim()).map_err(|_| ChannelError::Unauthorized("malformed Authorization"))?;
    let mut expected = format!("{user}:").into_bytes();
    expected.extend_from_slice(password);
    if password.is_empty() || !bool::from(given.as_slice().ct_eq(&expected)) {
        return Err(ChannelError::Unauthorized("wrong user or password"));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InboundMail {
    #[serde(rename = "MessageID")]
    message_id: String,
    #[serde(default)]
    from_full: Option<Address>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    from_name: Option<String>,
    #[serde(default)]
    text_body: Option<String>,
    #[serde(default)]
    stripped_text_reply: Option<String>,
    #[serde(default)]
    headers: Vec<Header>,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

/// An attachment of Postmark's inbound JSON; its `Content` is skipped unread.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attachment {
    #[serde(default)]
    name: String,
    #[serde(default)]
    content_length: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Address {
    email: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Header {
    name: String,
    value: String,
}

/// The customer's message in a Postmark inbound webhook, or `None` for auto-replies, mail from
/// `own_address`, and mail with no text.
/// `authserv_id` names the receiver whose verdicts may authenticate the sender
/// ([`POSTMARK_AUTHSERV_ID`] unless the tenant says otherwise).
pub fn parse(body: &[u8], own_address: &str, authserv_id: &str) -> Result<Option<Incoming>, ChannelError> {
    let mail: InboundMail =
        serde_json::from_slice(body).map_err(|e| ChannelError::Malformed(format!("inbound mail: {e}")))?;
    let header = |name: &str| mail.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.trim());
    if header("Auto-Submitted").is_some_and(|v| !v.eq_ignore_ascii_case("no")) || header("X-Autoreply").is_some() {
        return Ok(None);
    }
    let from = mail
        .from_full
        .map(|a| a.email)
        .or(mail.from)
        .map(|f| f.trim().to_lowercase())
        .filter(|f| f.contains('@'))
        .ok_or_else(|| ChannelError::Malformed("no sender address".into()))?;
    if from == own_address.trim().to_lowercase() {
        return Ok(None);
    }
    let text = match mail.stripped_text_reply.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(reply) => reply.to_string(),
        None => strip_quoted(mail.text_body.as_deref().unwrap_or_default()),
    };
    if text.is_empty() {
        return Ok(None);
    }
    let unverified = !authenticated(&mail.headers, &from, authserv_id);
    Ok(Some(Incoming {
        provider_message_id: super::required(&mail.message_id, "MessageID")?,
        address: from,
        recipient: None,
        text: super::cap_email_text(text),
        display_name: mail.from_name.filter(|n| !n.is_empty()),
        thread: header("Message-ID").map(str::to_string),
        attachments: mail.attachments.iter().map(|a| AttachmentNote::new(&a.name, a.content_length)).collect(),
        unverified,
        sent_at: None,
    }))
}

/// Whether the receiving server authenticated `from` for its domain. Anyone can write an
/// `Authentication-Results` or `Received-SPF` header (RFC 8601 §7.1, RFC 7208 §9.1): only one the
/// receiver stamped — `Authentication-Results` naming `authserv_id`, `Received-SPF` naming it as
/// the receiver — counts, and of those only the topmost, since a receiver prepends its own above
/// whatever came with the message. Proof is DMARC passing for the From address's own domain,
/// or SPF passing for an envelope sender in that domain.
fn authenticated(headers: &[Header], from: &str, authserv_id: &str) -> bool {
    let domain = from.rsplit_once('@').map(|(_, d)| d.to_lowercase()).unwrap_or_default();
    let authserv_id = authserv_id.trim().to_lowercase();
    let stamped = |name: &str, by_receiver: &dyn Fn(&str) -> bool| {
        headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.to_lowercase())
            .find(|v| by_receiver(v))
    };
    let results = stamped("Authentication-Results", &|v| {
        // `authserv-id [version]; method=result …`
        v.split(';').next().and_then(|id| id.split_whitespace().next()) == Some(authserv_id.as_str())
    });
    if results.is_some_and(|v| dmarc_passes_for(&v, &domain)) {
        return true;
    }
    let spf = stamped("Received-SPF", &|v| {
        property(v, "receiver=").is_some_and(|r| r.rsplit('@').next() == Some(authserv_id.as_str()))
    });
    spf.is_some_and(|v| {
        v.starts_with("pass")
            && property(&v, "envelope-from=").and_then(|e| e.rsplit_once('@')).is_some_and(|(_, d)| d == domain)
    })
}

/// Whether an `Authentication-Results` value says DMARC passed for `domain`'s From header.
fn dmarc_passes_for(results: &str, domain: &str) -> bool {
    results.split(';').skip(1).any(|clause| {
        let mut words = clause.split_whitespace();
        words.next() == Some("dmarc=pass") && words.any(|w| w.strip_prefix("header.from=") == Some(domain))
    })
}

/// The value of a `key=value` property in a header, without quotes or angle brackets.
fn property<'a>(value: &'a str, key: &str) -> Option<&'a str> {
    value
        .split([';', ' '])
        .find_map(|t| t.trim().strip_prefix(key))
        .map(|v| v.trim_matches(|c| c == '<' || c == '>' || c == '"'))
}

/// The new text of a reply: everything before the quoted original.
pub fn strip_quoted(body: &str) -> String {
    let mut kept = Vec::new();
    for line in body.lines() {
        let t = line.trim();
        let attribution = (t.starts_with("On ") && t.ends_with("wrote:"))
            || (t.starts_with("El ") && t.ends_with("escribió:"))
            || (t.starts_with("Am ") && t.ends_with("schrieb:"))
            || t.starts_with("-----Original Message-----")
            || t == "--";
        if attribution {
            break;
        }
        if !t.starts_with('>') {
            kept.push(line);
        }
    }
    kept.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::config::POSTMARK_AUTHSERV_ID;

    fn h(pairs: &[(&str, &str)]) -> Vec<Header> {
        pairs.iter().map(|(n, v)| Header { name: n.to_string(), value: v.to_string() }).collect()
    }

    #[test]
    fn only_the_receivers_own_topmost_verdict_authenticates_the_from_address() {
        let from = "ana@example.com";
        let id = POSTMARK_AUTHSERV_ID;
        let auth = |pairs: &[(&str, &str)]| authenticated(&h(pairs), from, id);
        let pass = "Pass (sender SPF authorized) identity=mailfrom; envelope-from=<Ana@Example.com>; helo=x; receiver=4f1+x@inbound.postmarkapp.com";
        assert!(auth(&[("Received-SPF", pass)]));
        assert!(auth(&[(
            "Authentication-Results",
            "inbound.postmarkapp.com; spf=none; dmarc=pass header.from=example.com"
        )]));
        assert!(auth(&[(
            "Authentication-Results",
            "Inbound.Postmarkapp.com 1; dmarc=pass (p=none) header.from=Example.com"
        )]));
        assert!(!auth(&[]));
        assert!(
            !auth(&[("Received-SPF", "Pass envelope-from=bounce@mailer.example; receiver=inbound.postmarkapp.com")]),
            "not aligned"
        );
        assert!(!auth(&[("Received-SPF", "SoftFail envelope-from=ana@example.com; receiver=inbound.postmarkapp.com")]));
        assert!(!auth(&[("Received-SPF", "Pass envelope-from=ana@example.com")]), "no receiver named");
        assert!(
            !auth(&[("Received-SPF", "Pass envelope-from=ana@example.com; receiver=mx.evil.example")]),
            "another receiver"
        );
        assert!(
            !auth(&[
                ("Received-SPF", "Fail envelope-from=ana@example.com; receiver=x@inbound.postmarkapp.com"),
                ("Received-SPF", pass)
            ]),
            "a pass below the receiver's verdict came with the message"
        );
        // The reviewer's forgery: a verdict stamped by a host of the sender's choosing.
        assert!(!auth(&[("Authentication-Results", "evil.example; dmarc=pass header.from=example.com")]));
        assert!(!auth(&[(
            "Authentication-Results",
            "inbound.postmarkapp.com.evil.example; dmarc=pass header.from=example.com"
        )]));
        assert!(
            !auth(&[("Authentication-Results", "inbound.postmarkapp.com; dmarc=pass header.from=evil.example")]),
            "another domain"
        );
        assert!(!auth(&[("Authentication-Results", "inbound.postmarkapp.com; dmarc=pass")]), "no domain judged");
        assert!(!auth(&[(
            "Authentication-Results",
            "inbound.postmarkapp.com; dmarc=fail; comment=dmarc=pass header.from=example.com"
        )]));
        assert!(
            !auth(&[
                ("Authentication-Results", "inbound.postmarkapp.com; dmarc=fail header.from=example.com"),
                ("Authentication-Results", "inbound.postmarkapp.com; dmarc=pass header.from=example.com"),
            ]),
            "the receiver's own verdict is the topmost of its stamp"
        );
        // A forged verdict above the receiver's is skipped; the receiver's decides.
        assert!(auth(&[
            ("Authentication-Results", "evil.example; dmarc=fail header.from=example.com"),
            ("Authentication-Results", "inbound.postmarkapp.com; dmarc=pass header.from=example.com"),
        ]));
        assert!(
            authenticated(
                &h(&[("Authentication-Results", "mx.shop.example; dmarc=pass header.from=example.com")]),
                from,
                "mx.shop.example"
            ),
            "a tenant's own receiver, configured"
        );
    }

    #[test]
    fn basic_auth_must_match() {
        let good = format!("Basic {}", STANDARD.encode("postmark:s3cret"));
        assert!(verify("postmark", b"s3cret", Some(&good)).is_ok());
        assert!(verify("postmark", b"other", Some(&good)).is_err());
        assert!(verify("someone", b"s3cret", Some(&good)).is_err());
        assert!(verify("postmark", b"s3cret", Some("Bearer x")).is_err());
        assert!(verify("postmark", b"s3cret", None).is_err());
        assert!(verify("postmark", b"", Some(&format!("Basic {}", STANDARD.encode("postmark:")))).is_err());
    }

    fn mail(extra: serde_json::Value) -> Vec<u8> {
        let mut m = serde_json::json!({
            "MessageID": "a8c1040e-db1c-4e18-ac79-bc5f64c7ce2c", "From": "Ana@Example.com", "FromName": "Ana García",
            "FromFull": {"Email": "Ana@Example.com", "Name": "Ana García", "MailboxHash": ""},
            "Subject": "Re: your order", "TextBody": "Where is my order?\n\nOn Mon, Demo Shop wrote:\n> Thanks for your order",
            "StrippedTextReply": "", "Headers": [{"Name": "Message-ID", "Value": "<CAE=abc@mail.example.com>"}]});
        if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        m.to_string().into_bytes()
    }

    #[test]
    fn parses_replies_and_skips_loops() {
        let m = parse(&mail(serde_json::json!({})), "support@shop.example", POSTMARK_AUTHSERV_ID).unwrap().unwrap();
        assert_eq!(m.address, "ana@example.com");
        assert_eq!(m.text, "Where is my order?");
        assert_eq!(m.thread.as_deref(), Some("<CAE=abc@mail.example.com>"));
        let stripped = parse(
            &mail(serde_json::json!({"StrippedTextReply": "Thanks!"})),
            "support@shop.example",
            POSTMARK_AUTHSERV_ID,
        )
        .unwrap()
        .unwrap();
        assert_eq!(stripped.text, "Thanks!");
        let auto = mail(serde_json::json!({"Headers": [{"Name": "Auto-Submitted", "Value": "auto-replied"}]}));
        assert_eq!(parse(&auto, "support@shop.example", POSTMARK_AUTHSERV_ID).unwrap(), None);
        let own = mail(serde_json::json!({"FromFull": {"Email": "Support@Shop.example"}}));
        assert_eq!(
            parse(&own, "support@shop.example", POSTMARK_AUTHSERV_ID).unwrap(),
            None,
            "our own answer bounced back"
        );
        assert!(parse(b"{}", "x@y", POSTMARK_AUTHSERV_ID).is_err());
    }

    #[test]
    fn quoted_text_is_stripped() {
        assert_eq!(strip_quoted("Hola\n\nEl lun, Demo escribió:\n> antes"), "Hola");
        assert_eq!(strip_quoted("> quoted\nnew text"), "new text");
        assert_eq!(strip_quoted("Danke\nAm Montag schrieb:\nalt"), "Danke");
    }
}
