//! Test support: the embedded app behind a real HTTP server on loopback, and a client for it;
//! the local AWS servers; a loopback Bedrock.

pub mod audit;
pub mod aws;
pub mod bedrock;
pub mod helpdesk;
pub mod outage;
pub mod provider;
pub mod recorder;
pub mod runtime;
pub mod stack;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use switchboard::Tenant;
use switchboard::embedded::{Embedded, Options};

/// A running server on 127.0.0.1 with a random port.
pub struct TestServer {
    /// The app behind it, to look inside stores and queues.
    pub app: Arc<Embedded>,
    /// `http://127.0.0.1:port`.
    pub base: String,
    client: reqwest::Client,
    /// The read token of every conversation a POST here started, as its 202 returned it.
    tokens: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

impl TestServer {
    /// Starts the demo tenant on the embedded default.
    pub async fn start() -> Self {
        Self::with_tenants(vec![Tenant::demo().expect("demo tenant compiles")]).await
    }

    /// Starts the given tenants.
    pub async fn with_tenants(tenants: Vec<Tenant>) -> Self {
        audit::capture();
        let options = Options { print_escalations: false, ..Options::default() };
        let app = Arc::new(Embedded::start(tenants, options).await.expect("app starts"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let router = app.router().merge(app.local_helpdesk_routes());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { app, base, client: reqwest::Client::new(), tokens: Default::default() }
    }

    /// POSTs a raw body to the web chat of `tenant`.
    pub async fn post_raw(&self, tenant: &str, body: impl Into<reqwest::Body>) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/v1/{tenant}/webchat/messages", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST reaches the server");
        let status = response.status();
        let ack = response.json().await.unwrap_or(Value::Null);
        if let (Some(conversation), Some(token)) = (ack["conversation_id"].as_str(), ack["token"].as_str()) {
            self.tokens.lock().expect("tokens").insert(conversation.to_string(), token.to_string());
        }
        (status, ack)
    }

    /// POSTs JSON to the web chat of `tenant`.
    pub async fn post(&self, tenant: &str, body: Value) -> (StatusCode, Value) {
        self.post_raw(tenant, body.to_string()).await
    }

    /// GETs a conversation's messages with a raw query string, with the token its POST returned.
    pub async fn get(&self, tenant: &str, conversation: &str, query: &str) -> (StatusCode, Value) {
        let token = self.token(conversation);
        self.get_with_token(tenant, conversation, query, token.as_deref()).await
    }

    /// The read token a POST here returned for `conversation`.
    pub fn token(&self, conversation: &str) -> Option<String> {
        self.tokens.lock().expect("tokens").get(conversation).cloned()
    }

    /// GETs a conversation's messages presenting `token` (none: no `Authorization` header).
    pub async fn get_with_token(
        &self,
        tenant: &str,
        conversation: &str,
        query: &str,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let url = format!("{}/v1/{tenant}/webchat/conversations/{conversation}/messages?{query}", self.base);
        let mut request = self.client.get(url);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.expect("GET reaches the server");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Sends `text` as visitor `visitor` (new conversation unless `conversation` is given) and
    /// returns the conversation id.
    pub async fn say(&self, visitor: &str, conversation: Option<&str>, text: &str) -> String {
        let mut body = json!({"visitor_id": visitor, "client_message_id": uuid_like(), "text": text});
        if let Some(c) = conversation {
            body["conversation_id"] = json!(c);
        }
        let (status, ack) = self.post("demo", body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{ack}");
        ack["conversation_id"].as_str().expect("ack has a conversation id").to_string()
    }

    /// Long-polls until the conversation has at least `count` messages; returns them all.
    pub async fn messages_until(&self, conversation: &str, count: usize) -> Vec<Value> {
        for _ in 0..20 {
            let (status, page) = self.get("demo", conversation, "wait=2").await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let messages = page["messages"].as_array().cloned().unwrap_or_default();
            if messages.len() >= count {
                return messages;
            }
        }
        panic!("conversation {conversation} never reached {count} messages");
    }

    /// Waits until the responder and escalation workers are idle: every accepted message has
    /// been handled (its cost recorded) and every escalation ticketed.
    pub async fn settle(&self, handled: usize) {
        for _ in 0..200 {
            if self.handled() >= handled {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("only {} of {handled} messages were handled", self.handled());
    }

    /// Customer messages the responder has handled (each leaves a cost record).
    pub fn handled(&self) -> usize {
        self.app.ledger.all().iter().filter(|r| r.outcome.message).count()
    }
}

/// A fresh id usable as a client message id.
pub fn uuid_like() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("t_{nanos}_{n}")
}

/// The texts of `messages` with the given role.
pub fn texts(messages: &[Value], role: &str) -> Vec<String> {
    messages.iter().filter(|m| m["role"] == role).map(|m| m["text"].as_str().unwrap_or_default().to_string()).collect()
}

/// Waits for the next minute when fewer than `seconds` are left in this one: the message limits
/// count per minute, so a test that fills one must not straddle two.
pub async fn within_one_minute(seconds: u32) {
    use chrono::Timelike;
    let left = 60 - chrono::Utc::now().second();
    if left < seconds {
        tokio::time::sleep(std::time::Duration::from_secs(u64::from(left + 1))).await;
    }
}

/// A web chat identity as the tenant's site signs it at a page load: `customer` under `secret`,
/// valid for an hour.
pub fn signed_identity(secret: &str, customer: &str) -> Value {
    let expires = chrono::Utc::now() + chrono::Duration::hours(1);
    json!(switchboard::channels::webchat::Identity::signed(
        &switchboard::tenant::Secret::new(secret),
        customer,
        expires
    ))
}
