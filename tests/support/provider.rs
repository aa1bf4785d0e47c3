//! A loopback stand-in for a provider's send API (Twilio, Telegram...): records every request and
//! answers like the provider, optionally rate-limiting first, failing or answering late (after
//! the client's timeout, having accepted the message). It also answers the lookups Twilio
//! (message list), Slack (thread replies with metadata) and Postmark (outbound search) offer,
//! from the messages it accepted.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method.
    pub method: Method,
    /// Path.
    pub path: String,
    /// Headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Vec<u8>,
}

/// What goes wrong with sends (not with lookups).
#[derive(Debug, Clone, Default)]
pub struct SendFaults {
    /// The next this many sends are accepted but answered only after this long.
    pub slow: Option<(u32, std::time::Duration)>,
    /// Sends whose text contains this are refused with 500, this many times.
    pub fail_containing: Option<(String, u32)>,
}

#[derive(Default)]
struct Inner {
    recorded: Vec<Recorded>,
    throttle_first: u32,
    faults: SendFaults,
}

/// The running stand-in.
#[derive(Clone)]
pub struct FakeProvider {
    /// `http://127.0.0.1:port`.
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeProvider {
    /// Starts on a random loopback port; the first `throttle_first` requests get 429 with
    /// `Retry-After: 1`.
    pub async fn start(throttle_first: u32) -> Self {
        crate::audit::capture();
        let inner = Arc::new(Mutex::new(Inner { recorded: Vec::new(), throttle_first, faults: SendFaults::default() }));
        let state = inner.clone();
        let app = Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move {
                let (response, delay) = handle(state, method, uri, headers, body);
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, inner }
    }

    /// Every request so far (throttled ones included).
    pub fn recorded(&self) -> Vec<Recorded> {
        self.inner.lock().expect("lock").recorded.clone()
    }

    /// Sets what goes wrong with the next sends.
    pub fn set_faults(&self, faults: SendFaults) {
        self.inner.lock().expect("lock").faults = faults;
    }

    /// The sends that were accepted (not throttled, not failed), in order.
    pub fn accepted(&self) -> Vec<Recorded> {
        let inner = self.inner.lock().expect("lock");
        inner.recorded.iter().filter(|r| r.method == Method::POST && accepted_marker(r)).cloned().collect()
    }
}

/// Accepted sends carry this header in the record (set by `handle`).
fn accepted_marker(r: &Recorded) -> bool {
    r.headers.contains_key("x-stand-in-accepted")
}

fn text_of(r: &Recorded) -> String {
    if let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&r.body)
        && let Some((_, body)) = form.iter().find(|(k, _)| k == "Body")
    {
        return body.clone();
    }
    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    json["text"]
        .as_str()
        .or(json["TextBody"].as_str())
        .or(json["text"]["body"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn query_of(uri: &Uri) -> Vec<(String, String)> {
    serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default()
}

/// Answers a lookup from the accepted sends, the way each provider does.
fn lookup(inner: &Inner, uri: &Uri) -> Option<Response> {
    let accepted: Vec<&Recorded> =
        inner.recorded.iter().filter(|r| r.method == Method::POST && accepted_marker(r)).collect();
    let query = query_of(uri);
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let json = |v: serde_json::Value| ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response();
    if uri.path().ends_with("/Messages.json") {
        // Twilio: the account's messages, filtered by To and From, newest first.
        let messages: Vec<serde_json::Value> = accepted
            .iter()
            .filter(|r| r.path.ends_with("/Messages.json"))
            .filter_map(|r| serde_urlencoded::from_bytes::<Vec<(String, String)>>(&r.body).ok())
            .filter(|form| form.iter().any(|(k, v)| k == "To" && *v == q("To")))
            .map(|form| {
                let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
                serde_json::json!({"sid": "SM0123456789abcdef", "to": get("To"), "from": get("From"), "body": get("Body"),
                                   "date_created": chrono::Utc::now().to_rfc2822(), "status": "sent"})
            })
            .rev()
            .collect();
        return Some(json(serde_json::json!({"messages": messages, "next_page_uri": null})));
    }
    if uri.path().ends_with("/conversations.replies") || uri.path().ends_with("/conversations.history") {
        let messages: Vec<serde_json::Value> = accepted
            .iter()
            .filter(|r| r.path.ends_with("/chat.postMessage"))
            .filter_map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
            .map(|b| serde_json::json!({"ts": "1795600000.000100", "text": b["text"], "bot_id": "B1", "metadata": b["metadata"]}))
            .collect();
        return Some(json(serde_json::json!({"ok": true, "messages": messages, "has_more": false})));
    }
    if uri.path().ends_with("/messages/outbound") {
        // Postmark: outbound messages by recipient and metadata.
        let wanted: Vec<(String, String)> =
            query.iter().filter_map(|(k, v)| k.strip_prefix("metadata_").map(|k| (k.to_string(), v.clone()))).collect();
        let messages: Vec<serde_json::Value> = accepted
            .iter()
            .filter(|r| r.path.ends_with("/email"))
            .filter_map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
            .filter(|b| b["To"] == q("recipient").as_str())
            .filter(|b| wanted.iter().all(|(k, v)| b["Metadata"][k] == v.as_str()))
            .map(|b| serde_json::json!({"MessageID": "pm-1", "To": [{"Email": b["To"]}], "Metadata": b["Metadata"]}))
            .collect();
        return Some(json(serde_json::json!({"TotalCount": messages.len(), "Messages": messages})));
    }
    None
}

fn handle(
    state: Arc<Mutex<Inner>>,
    method: Method,
    uri: Uri,
    mut headers: HeaderMap,
    body: Bytes,
) -> (Response, Option<std::time::Duration>) {
    let mut inner = state.lock().expect("lock");
    if method == Method::GET
        && let Some(answer) = lookup(&inner, &uri)
    {
        inner.recorded.push(Recorded { method, path: uri.path().to_string(), headers, body: body.to_vec() });
        return (answer, None);
    }
    let mut record = Recorded { method, path: uri.path().to_string(), headers: headers.clone(), body: body.to_vec() };
    if inner.throttle_first > 0 {
        inner.throttle_first -= 1;
        inner.recorded.push(record);
        return ((StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")], "slow down").into_response(), None);
    }
    let text = text_of(&record);
    if let Some((needle, times)) = inner.faults.fail_containing.clone()
        && times > 0
        && text.contains(&needle)
    {
        inner.faults.fail_containing = Some((needle, times - 1));
        inner.recorded.push(record);
        return ((StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(), None);
    }
    let mut delay = None;
    if let Some((n, by)) = inner.faults.slow
        && n > 0
    {
        inner.faults.slow = Some((n - 1, by));
        delay = Some(by);
    }
    headers.insert("x-stand-in-accepted", "1".parse().expect("header"));
    record.headers = headers;
    inner.recorded.push(record);
    if uri.path().contains("/Messages.json") {
        return (
            (
                StatusCode::CREATED,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"sid":"SM0123456789abcdef","status":"queued"}"#,
            )
                .into_response(),
            delay,
        );
    }
    (
        (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"ok":true,"result":{"message_id":1},"ts":"1795600000.000100"}"#,
        )
            .into_response(),
        delay,
    )
}
