//! What the logs say about one conversation: JSON lines with request id, tenant and channel,
//! and never the message text, the visitor's address, or the identity signature.

use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};
use switchboard_tests::TestServer;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_ids_and_never_personal_data() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .init();

    let server = TestServer::start().await;
    let text = "My number is +34 600 111 222, I am furious, I want a human NOW";
    let identity = switchboard_tests::signed_identity("demo-identity-secret-change-me", "c-1001");
    let signature = identity["signature"].as_str().unwrap_or_default().to_string();
    let (status, ack) =
        server.post("demo", json!({"visitor_id": "v_secret_visitor", "text": text, "identity": identity})).await;
    assert_eq!(status, 202, "{ack}");
    server.messages_until(ack["conversation_id"].as_str().unwrap(), 2).await;
    server.settle(1).await;
    let (status, _) = server.post("demo", json!({"visitor_id": "v_secret_visitor", "text": "x", "identity": {"customer_id": "c-1001", "expires": identity["expires"], "signature": "00"}})).await;
    assert_eq!(status, 401);

    let raw = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = raw.lines().map(|l| serde_json::from_str(l).expect("every log line is JSON")).collect();
    for forbidden in ["600 111 222", "furious", "v_secret_visitor", &signature, "demo-identity-secret", "Ana"] {
        assert!(!raw.contains(forbidden), "the logs leak `{forbidden}`:\n{raw}");
    }
    let handled = lines.iter().find(|l| l["fields"]["message"] == "message handled").expect("a `message handled` line");
    assert_eq!(handled["fields"]["tenant"], "demo");
    assert_eq!(handled["fields"]["channel"], "webchat");
    assert_eq!(handled["fields"]["decision"], "escalate");
    assert!(handled["fields"]["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    let accepted = lines.iter().find(|l| l["fields"]["message"] == "message accepted").expect("an accepted line");
    assert_eq!(accepted["span"]["tenant"], "demo");
    assert_eq!(accepted["span"]["channel"], "webchat");
    let refused = lines.iter().find(|l| l["fields"]["code"] == "bad_identity").expect("the refusal is logged");
    assert_eq!(refused["fields"]["status"], 401);

    // A tenant that turns on `logging.include_personal_data` gets its customers' texts and
    // addresses in one line per message; the demo tenant's stay out.
    let yaml = format!(
        "{}\nlogging:\n  include_personal_data: true\n",
        switchboard_tests::stack::demo_as(switchboard::tenant::DEMO_TENANT_YAML, "open")
    );
    let open = switchboard::Tenant::from_yaml("open", &yaml).expect("the open tenant compiles");
    let server = TestServer::with_tenants(vec![open]).await;
    let (status, ack) =
        server.post("open", json!({"visitor_id": "v_open_visitor", "text": "When do you open, asks Olga?"})).await;
    assert_eq!(status, 202, "{ack}");
    server.settle(1).await;
    let raw = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = raw.lines().map(|l| serde_json::from_str(l).expect("every log line is JSON")).collect();
    let personal: Vec<&Value> =
        lines.iter().filter(|l| l["fields"]["text"].is_string() || l["fields"]["from"].is_string()).collect();
    assert_eq!(personal.len(), 1, "one line per message, for the tenant that asked: {personal:?}");
    let line = &personal[0]["fields"];
    assert_eq!((line["tenant"].as_str(), line["channel"].as_str()), (Some("open"), Some("webchat")));
    assert_eq!(
        (line["from"].as_str(), line["text"].as_str()),
        (Some("v_open_visitor"), Some("When do you open, asks Olga?"))
    );
    for forbidden in ["600 111 222", "furious", "v_secret_visitor", &signature] {
        assert!(!raw.contains(forbidden), "the demo tenant's logs still leak nothing: `{forbidden}`");
    }
}
