//! One function per fuzz target: each feeds hostile bytes to a parser or verifier that reads
//! outside input, and checks what must hold whatever the bytes are — no panic, and, where a
//! proof is involved, that a proof made with the right key verifies and one made with another
//! key does not.
//!
//! Inputs are laid out as the provider sends them: header values one per line, then the body
//! (`corpus/<target>/` holds seeds in that shape, made from `events/` and the test fixtures by
//! `fuzz/seed.py`).

use chrono::Utc;
use std::sync::OnceLock;
use switchboard::channels::{self, ChannelError, email, slack, sns, telegram, twilio, webchat, whatsapp};
use switchboard::helpdesks::callbacks;
use switchboard::tenant::{Secret, TenantConfig, WebchatConfig};

mod routes;
pub use routes::routes;

const KEY: &[u8] = b"fuzz-secret-key";
const OTHER_KEY: &[u8] = b"fuzz-secret-kez";

/// The first `n` lines (as text) and the rest of `data` as the body.
fn lines(data: &[u8], n: usize) -> (Vec<String>, &[u8]) {
    let mut rest = data;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        out.push(String::from_utf8_lossy(&rest[..end]).into_owned());
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    (out, rest)
}

fn unauthorized<T>(r: &Result<T, ChannelError>) -> bool {
    matches!(r, Err(ChannelError::Unauthorized(_)))
}

/// Every text an incoming message carries is bounded and has its id.
fn check_incoming(incoming: &channels::Incoming) {
    assert!(!incoming.provider_message_id.is_empty(), "a message without an id cannot be de-duplicated");
    assert!(incoming.text.chars().count() <= channels::MAX_EMAIL_TEXT_CHARS + 4);
}

/// Twilio: `url \n X-Twilio-Signature \n body` (form or JSON).
pub fn twilio(data: &[u8]) {
    let (header, body) = lines(data, 2);
    let (url, signature) = (&header[0], &header[1]);
    let form = twilio::form(body).unwrap_or_default();
    if let Ok(Some(incoming)) = twilio::parse(&form) {
        check_incoming(&incoming);
    }
    let _ = twilio::verify(KEY, url, &form, body, Some(signature));
    if !url.contains("bodySHA256") {
        let right = twilio::signature(KEY, url, &form);
        assert!(twilio::verify(KEY, url, &form, body, Some(&right)).is_ok(), "our own signature must verify");
        assert!(unauthorized(&twilio::verify(OTHER_KEY, url, &form, body, Some(&right))), "another token verified");
    }
}

/// WhatsApp Cloud API: `X-Hub-Signature-256 \n body`; the first line is also tried as the
/// verification challenge's query string.
pub fn whatsapp(data: &[u8]) {
    let (header, body) = lines(data, 1);
    if let Ok(messages) = whatsapp::parse(body) {
        messages.iter().for_each(check_incoming);
    }
    let _ = whatsapp::verify(KEY, Some(&header[0]), body);
    let right = whatsapp::signature(KEY, body);
    assert!(whatsapp::verify(KEY, Some(&right), body).is_ok());
    assert!(unauthorized(&whatsapp::verify(OTHER_KEY, Some(&right), body)));
    if whatsapp::challenge(&header[0], KEY).is_ok() {
        assert!(header[0].contains("hub.verify_token"), "a challenge answered without the verify token");
    }
}

/// Telegram: `X-Telegram-Bot-Api-Secret-Token \n body`.
pub fn telegram(data: &[u8]) {
    let (header, body) = lines(data, 1);
    if telegram::verify(KEY, Some(&header[0])).is_ok() {
        assert_eq!(header[0].as_bytes(), KEY, "a wrong secret token was accepted");
    }
    if let Ok(Some(incoming)) = telegram::parse(body) {
        check_incoming(&incoming);
    }
}

/// Slack Events API: `X-Slack-Request-Timestamp \n X-Slack-Signature \n body`.
pub fn slack(data: &[u8]) {
    let (header, body) = lines(data, 2);
    let now = Utc::now();
    let _ = slack::verify(KEY, Some(&header[0]), Some(&header[1]), body, now);
    let ts = now.timestamp().to_string();
    let right = slack::signature(KEY, &ts, body);
    assert!(slack::verify(KEY, Some(&ts), Some(&right), body, now).is_ok());
    assert!(unauthorized(&slack::verify(OTHER_KEY, Some(&ts), Some(&right), body, now)));
    assert!(unauthorized(&slack::verify(b"", Some(&ts), Some(&slack::signature(b"", &ts, body)), body, now)));
    let _ = slack::parse(body);
    let _ = slack::plain_text(&String::from_utf8_lossy(body));
}

/// Postmark inbound: `Authorization \n body`.
pub fn postmark(data: &[u8]) {
    let (header, body) = lines(data, 1);
    if email::verify("postmark", KEY, Some(&header[0])).is_ok() {
        assert!(header[0].starts_with("Basic "));
    }
    if let Ok(Some(incoming)) = email::parse(body, "support@shop.example", switchboard::config::POSTMARK_AUTHSERV_ID) {
        check_incoming(&incoming);
        assert_ne!(incoming.address, "support@shop.example", "our own mail must not be answered (loop)");
    }
    let _ = email::strip_quoted(&String::from_utf8_lossy(body));
}

/// The SNS fixtures: a test CA and a signing certificate issued by it.
struct SnsFixtures {
    ca: &'static [u8],
    signer: &'static [u8],
    intermediate: &'static [u8],
}

const SNS: SnsFixtures = SnsFixtures {
    ca: include_bytes!("../../tests/fixtures/sns/ca.pem"),
    signer: include_bytes!("../../tests/fixtures/sns/signer.pem"),
    intermediate: include_bytes!("../../tests/fixtures/sns/intermediate.cer"),
};

/// Serves the fixture certificates, or the fuzzer's bytes as the signing certificate.
struct FuzzFetch(Option<Vec<u8>>);

#[async_trait::async_trait]
impl sns::SnsFetch for FuzzFetch {
    async fn get(&self, url: &str) -> Result<Vec<u8>, ChannelError> {
        assert!(
            url.starts_with("https://sns.") || url.contains(".amazontrust.com"),
            "fetched a URL that is neither SNS nor Amazon's trust host: {url}"
        );
        Ok(match (&self.0, url.ends_with(".pem")) {
            (Some(cert), true) => cert.clone(),
            (None, true) => SNS.signer.to_vec(),
            (_, false) => SNS.intermediate.to_vec(),
        })
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime"))
}

/// SES inbound mail through SNS: the envelope (JSON), optionally followed by `0xFF` and the bytes
/// served as the signing certificate.
pub fn sns(data: &[u8]) {
    let (envelope, cert) = match data.iter().position(|&b| b == 0xFF) {
        Some(at) => (&data[..at], Some(data[at + 1..].to_vec())),
        None => (data, None),
    };
    let Ok(envelope) = serde_json::from_slice::<sns::Envelope>(envelope) else { return };
    let _ = envelope.string_to_sign();
    let verifier =
        sns::SnsVerifier::with_roots(SNS.ca, std::sync::Arc::new(FuzzFetch(cert))).expect("the fixture CA parses");
    let now =
        chrono::DateTime::parse_from_rfc3339(&envelope.timestamp).map(|t| t.to_utc()).unwrap_or_else(|_| Utc::now());
    // Nothing here is signed by the fixture key: a message that verifies is a forgery.
    let verdict = runtime().block_on(verifier.verify(&envelope, now));
    assert!(verdict.is_err(), "an unsigned SNS message verified");
    if let Ok(Some(incoming)) = sns::ses_mail(&envelope.message, "support@shop.example") {
        check_incoming(&incoming);
    }
}

/// A raw MIME message, as SES puts it in a notification's `content`.
pub fn mime(data: &[u8]) {
    let notification = serde_json::json!({
        "notificationType": "Received",
        "mail": {"messageId": "fuzz"},
        "receipt": {"dmarcVerdict": {"status": "PASS"}},
        "content": String::from_utf8_lossy(data),
    });
    if let Ok(Some(incoming)) = sns::ses_mail(&notification.to_string(), "support@shop.example") {
        check_incoming(&incoming);
        assert_ne!(incoming.address, "support@shop.example", "our own mail must not be answered (loop)");
    }
}

/// The web chat: a POST body (JSON), and the first line also as a poll cursor.
pub fn webchat(data: &[u8]) {
    let config = WebchatConfig {
        identity_secret: Secret::new(String::from_utf8_lossy(KEY).into_owned()),
        max_message_chars: 2000,
        allowed_origins: vec!["https://shop.example".into(), "http://localhost:*".into()],
        accept_unexpiring_identity: data.first().is_some_and(|b| b % 2 == 0),
    };
    let (first, _) = lines(data, 1);
    let _ = switchboard::domain::TurnCursor::parse(&first[0]);
    let _ = config.allows_origin(&first[0]);
    let Ok(post) = serde_json::from_slice::<webchat::WebchatPost>(data) else { return };
    let claimed = post.identity.clone();
    let now = Utc::now();
    let Ok(verified) = webchat::verify(post, &config, now) else { return };
    assert!(!verified.text.is_empty() && verified.text.chars().count() <= config.max_message_chars);
    if let Some(customer) = &verified.customer {
        let identity = claimed.expect("a customer without an identity");
        let right = match identity.expires {
            Some(expires) => {
                let at = chrono::DateTime::from_timestamp(expires, 0).expect("a verified expiry is a time");
                assert!(at > now, "an expired identity verified");
                webchat::Identity::signed(&config.identity_secret, customer.as_str(), at).signature
            }
            None => webchat::sign_identity(&config.identity_secret, customer.as_str()),
        };
        assert!(identity.signature.trim().eq_ignore_ascii_case(&right), "an identity verified with a wrong signature");
    }
    let tenant = switchboard::domain::TenantId::new("fuzz").expect("a tenant id");
    let conversation = switchboard::domain::ConversationId::generate();
    let message = webchat::normalise(&verified, &tenant, conversation, Utc::now(), "fuzz");
    assert!(!message.provider_message_id.is_empty());
}

fn helpdesk_config<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("the fuzz helpdesk configuration parses")
}

/// Helpdesk callbacks: a selector byte (which helpdesk), then `signature \n timestamp \n body`.
pub fn helpdesk(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else { return };
    let (header, body) = lines(rest, 2);
    let (signature, timestamp) = (Some(header[0].as_str()), Some(header[1].as_str()));
    let now = Utc::now();
    let secret = String::from_utf8_lossy(KEY).into_owned();
    match which % 5 {
        0 => {
            let c =
                helpdesk_config(serde_json::json!({"api_base": "https://x.zendesk.com", "email": "bot@shop.example",
                "api_token": "t", "webhook_secret": secret}));
            let _ = callbacks::zendesk(&c, signature, timestamp, body, now);
            let ts = now.to_rfc3339();
            let right = callbacks::zendesk_signature(KEY, &ts, body);
            assert!(!unauthorized(&callbacks::zendesk(&c, Some(&right), Some(&ts), body, now)));
            let wrong = callbacks::zendesk_signature(OTHER_KEY, &ts, body);
            assert!(unauthorized(&callbacks::zendesk(&c, Some(&wrong), Some(&ts), body, now)));
        }
        1 => {
            let c = helpdesk_config(serde_json::json!({"api_base": "https://x.freshdesk.com", "api_key": "k",
                "callback_secret": secret}));
            let _ = callbacks::freshdesk(&c, signature, body);
            assert!(!unauthorized(&callbacks::freshdesk(&c, Some(&secret), body)));
            assert!(unauthorized(&callbacks::freshdesk(&c, Some("fuzz-secret-kez"), body)));
        }
        2 => {
            let c: switchboard::tenant::HubspotConfig = helpdesk_config(serde_json::json!({"access_token": "t",
                "client_secret": secret, "callback_url": "https://api.example/v1/fuzz/helpdesk/hubspot"}));
            let _ = callbacks::hubspot(&c, signature, timestamp, body, now);
            let ts = now.timestamp_millis().to_string();
            let right = callbacks::hubspot_signature(KEY, "POST", &c.callback_url, body, &ts);
            assert!(!unauthorized(&callbacks::hubspot(&c, Some(&right), Some(&ts), body, now)));
        }
        3 => {
            let c = helpdesk_config(serde_json::json!({"url": "https://hooks.example/x", "secret": secret}));
            let _ = callbacks::webhook(&c, signature, timestamp, body, now);
            let right = switchboard::helpdesks::webhook::sign(KEY, now.timestamp(), body);
            let ts = now.timestamp().to_string();
            assert!(!unauthorized(&callbacks::webhook(&c, Some(&right), Some(&ts), body, now)));
            let wrong = switchboard::helpdesks::webhook::sign(OTHER_KEY, now.timestamp(), body);
            assert!(unauthorized(&callbacks::webhook(&c, Some(&wrong), Some(&ts), body, now)));
        }
        _ => {
            let c =
                helpdesk_config(serde_json::json!({"channel": "C1", "bot_token": "xoxb", "signing_secret": secret}));
            let _ = callbacks::slack(&c, timestamp, signature, body, now);
            let ts = now.timestamp().to_string();
            let right = slack::signature(KEY, &ts, body);
            assert!(!unauthorized(&callbacks::slack(&c, Some(&ts), Some(&right), body, now)));
        }
    }
}

/// A tenant's YAML: parsed, checked, and every reply template compiled.
pub fn tenant_yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = TenantConfig::from_yaml("fuzz.yaml", text) else { return };
    let _ = config.problems();
    let mut templates = switchboard::reply::Templates::default();
    for intent in &config.intents {
        for (lang, source) in &intent.reply {
            let _ = templates.add(format!("{}.{lang}", intent.name), source.clone());
        }
    }
}

/// SQS records as Lambda delivers them, decoded into the messages and escalation queues' items.
pub fn sqs_records(data: &[u8]) {
    use switchboard::domain::{EscalationJob, Work};
    fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(item: &T) {
        let text = serde_json::to_string(item).expect("an item serialises");
        let again: T = serde_json::from_str(&text).expect("what we serialise we read back");
        assert_eq!(&again, item, "an item changed on its way through the queue");
    }
    if let Ok(event) = serde_json::from_slice::<aws_lambda_events::event::sqs::SqsEvent>(data) {
        for record in &event.records {
            if let Ok(work) = switchboard::lambda::parse_body::<Work>(record) {
                round_trip(&work);
            }
            if let Ok(job) = switchboard::lambda::parse_body::<EscalationJob>(record) {
                round_trip(&job);
            }
        }
    }
    if let Ok(work) = serde_json::from_slice::<Work>(data) {
        round_trip(&work);
    }
    if let Ok(job) = serde_json::from_slice::<EscalationJob>(data) {
        round_trip(&job);
    }
}
