//! A loopback stand-in for the helpdesks' APIs (Zendesk, Freshdesk, HubSpot, Slack's Web API, a
//! Slack incoming webhook, a generic webhook): it checks the auth each expects, keeps the tickets it creates,
//! answers lookups like the real API, and can misbehave on purpose (429 with `Retry-After`,
//! 5xx, a create that answers too late, a permanent refusal).

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Call {
    /// Method and path.
    pub method: Method,
    /// Path and query.
    pub uri: String,
    /// Headers.
    pub headers: HeaderMap,
    /// The JSON body (Null when none).
    pub body: Value,
}

/// What to do wrong, counted down per create request.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Creates answered 429 with `Retry-After` of this many seconds.
    pub throttle: Option<(u32, u64)>,
    /// Creates answered 503.
    pub unavailable: u32,
    /// Creates that make the ticket, then answer only after this long (the client times out).
    pub slow: Option<(u32, Duration)>,
    /// Every create refused with 400 while set.
    pub refuse: bool,
    /// Every call refused with 401 while set (the API token revoked or rotated).
    pub unauthorized: bool,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    tickets: Vec<Value>,
    faults: Faults,
    /// Zendesk's `Idempotency-Key` → the ticket its first create made.
    idempotency: std::collections::HashMap<String, usize>,
}

/// The running stand-in.
#[derive(Clone)]
pub struct FakeHelpdesk {
    /// `http://127.0.0.1:port`.
    pub url: String,
    /// The `Authorization` header every API call must carry (None: not checked, for webhooks).
    pub auth: Option<String>,
    inner: Arc<Mutex<Inner>>,
}

impl FakeHelpdesk {
    /// Starts on a random loopback port, requiring `auth` as the `Authorization` header.
    pub async fn start(auth: Option<String>) -> Self {
        crate::audit::capture();
        let inner = Arc::new(Mutex::new(Inner::default()));
        let (state, expected) = (inner.clone(), auth.clone());
        let app = Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (state, expected) = (state.clone(), expected.clone());
            async move { handle(state, expected, method, uri, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, auth, inner }
    }

    /// Sets the faults for the next creates.
    pub fn set_faults(&self, faults: Faults) {
        self.inner.lock().expect("lock").faults = faults;
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().expect("lock").calls.clone()
    }

    /// Every ticket created (the create bodies).
    pub fn tickets(&self) -> Vec<Value> {
        self.inner.lock().expect("lock").tickets.clone()
    }
}

/// Which kind of request, by the helpdesks' paths (a Slack post in a thread is a comment).
fn is_create(method: &Method, path: &str, body: &Value) -> bool {
    method == Method::POST
        && (path.ends_with("/api/v2/tickets.json")
            || path.ends_with("/api/v2/tickets")
            || path.ends_with("/crm/v3/objects/tickets")
            || path.starts_with("/services/")
            || path == "/hook"
            || (path.ends_with("/chat.postMessage") && body["thread_ts"].is_null()))
}

/// Slack's `ts` of the n-th message posted.
pub fn slack_ts(id: u64) -> String {
    format!("1795600{id}.000100")
}

async fn handle(
    state: Arc<Mutex<Inner>>,
    expected: Option<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut sleep = None;
    let response = {
        let mut inner = state.lock().expect("lock");
        inner.calls.push(Call {
            method: method.clone(),
            uri: uri.to_string(),
            headers: headers.clone(),
            body: json_body.clone(),
        });
        let authorized = expected
            .as_deref()
            .is_none_or(|e| headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(e));
        if !authorized || inner.faults.unauthorized {
            return (StatusCode::UNAUTHORIZED, "bad credentials").into_response();
        }
        if is_create(&method, &path, &json_body) {
            let faults = &mut inner.faults;
            if faults.refuse && path.ends_with("/chat.postMessage") {
                // Slack refuses with 200 and the verdict in the body.
                return axum::Json(json!({"ok": false, "error": "not_in_channel"})).into_response();
            }
            if faults.refuse {
                return (StatusCode::BAD_REQUEST, r#"{"error":"RecordInvalid"}"#).into_response();
            }
            if let Some((n, secs)) = faults.throttle.as_mut()
                && *n > 0
            {
                *n -= 1;
                let secs = *secs;
                return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, secs.to_string())], "slow down")
                    .into_response();
            }
            if faults.unavailable > 0 {
                faults.unavailable -= 1;
                return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
            }
            if let Some((n, d)) = faults.slow.as_mut()
                && *n > 0
            {
                *n -= 1;
                sleep = Some(*d);
            }
            // Zendesk keeps the answer of a create per `Idempotency-Key`: a repeat with the same
            // key gets the first ticket back instead of a second one.
            let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
            if let Some(&index) = key.as_ref().and_then(|k| inner.idempotency.get(k)) {
                return (
                    StatusCode::CREATED,
                    [("x-idempotency-lookup", "hit")],
                    axum::Json(json!({"ticket": {"id": index as u64 + 1001}})),
                )
                    .into_response();
            }
            inner.tickets.push(json_body.clone());
            if let Some(key) = key {
                let index = inner.tickets.len() - 1;
                inner.idempotency.insert(key, index);
            }
            let id = inner.tickets.len() as u64 + 1000;
            create_answer(&path, id)
        } else {
            lookup_answer(&inner.tickets, &method, &path, &query, &json_body)
        }
    };
    if let Some(d) = sleep {
        tokio::time::sleep(d).await;
    }
    response
}

fn create_answer(path: &str, id: u64) -> Response {
    let body = if path.contains("/api/v2/tickets.json") {
        json!({"ticket": {"id": id}})
    } else if path.starts_with("/services/") {
        return (StatusCode::OK, "ok").into_response();
    } else if path.contains("/crm/") {
        json!({"id": id.to_string()})
    } else if path == "/hook" {
        json!({"ticket_id": format!("EXT-{id}")})
    } else if path.ends_with("/chat.postMessage") {
        return axum::Json(json!({"ok": true, "channel": "C0SUPPORT", "ts": slack_ts(id)})).into_response();
    } else {
        json!({"id": id})
    };
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

/// Lookups by the key each adapter files its ticket under; comments and notes accepted.
fn lookup_answer(tickets: &[Value], method: &Method, path: &str, query: &str, body: &Value) -> Response {
    let query = urlencoding_decode(query);
    let id_of = |i: usize| i as u64 + 1001;
    if method == Method::GET && path.ends_with("/api/v2/tickets.json") {
        let key = query.trim_start_matches("external_id=");
        let found: Vec<Value> = tickets
            .iter()
            .enumerate()
            .filter(|(_, t)| t["ticket"]["external_id"] == key)
            .map(|(i, _)| json!({"id": id_of(i)}))
            .collect();
        return axum::Json(json!({ "tickets": found })).into_response();
    }
    if method == Method::GET && path.ends_with("/api/v2/search/tickets") {
        let found: Vec<Value> = tickets
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                t["tags"].as_array().is_some_and(|tags| {
                    tags.iter().any(|g| query.contains(&format!("tag:'{}'", g.as_str().unwrap_or("-"))))
                })
            })
            .map(|(i, _)| json!({"id": id_of(i)}))
            .collect();
        return axum::Json(json!({ "results": found, "total": found.len() })).into_response();
    }
    if path.ends_with("/crm/v3/objects/tickets/search") {
        let filter = &body["filterGroups"][0]["filters"][0];
        let (property, value) = (filter["propertyName"].as_str().unwrap_or_default(), &filter["value"]);
        let found: Vec<Value> = tickets
            .iter()
            .enumerate()
            .filter(|(_, t)| &t["properties"][property] == value)
            .map(|(i, _)| json!({"id": id_of(i).to_string()}))
            .collect();
        return axum::Json(json!({ "results": found, "total": found.len() })).into_response();
    }
    if method == Method::GET && path.ends_with("/conversations.history") {
        // Newest first, with metadata only when asked for.
        let metadata = query.contains("include_all_metadata=true");
        let messages: Vec<Value> = tickets
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, t)| {
                t["channel"].is_string() && query.contains(&format!("channel={}", t["channel"].as_str().unwrap_or("-")))
            })
            .map(|(i, t)| {
                let mut m =
                    json!({"type": "message", "ts": slack_ts(id_of(i)), "text": t["text"], "bot_id": "B0SWITCH"});
                if metadata {
                    m["metadata"] = t["metadata"].clone();
                }
                m
            })
            .collect();
        return axum::Json(json!({"ok": true, "messages": messages, "has_more": false})).into_response();
    }
    (StatusCode::OK, axum::Json(json!({"ok": true}))).into_response()
}

fn urlencoding_decode(s: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(s)
        .map(|pairs| pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))
        .unwrap_or_else(|_| s.to_string())
}
