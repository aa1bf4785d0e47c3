//! A loopback stand-in for a provider's send API (Twilio, Telegram...): records every request and
//! answers like the provider, optionally rate-limiting first.

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

#[derive(Default)]
struct Inner {
    recorded: Vec<Recorded>,
    throttle_first: u32,
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
        let inner = Arc::new(Mutex::new(Inner { recorded: Vec::new(), throttle_first }));
        let state = inner.clone();
        let app = Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move { handle(state, method, uri, headers, body) }
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
}

fn handle(state: Arc<Mutex<Inner>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let mut inner = state.lock().expect("lock");
    inner.recorded.push(Recorded { method, path: uri.path().to_string(), headers, body: body.to_vec() });
    if inner.throttle_first > 0 {
        inner.throttle_first -= 1;
        return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")], "slow down").into_response();
    }
    if uri.path().contains("/Messages.json") {
        return (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"sid":"SM0123456789abcdef","status":"queued"}"#,
        )
            .into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], r#"{"ok":true,"result":{"message_id":1}}"#).into_response()
}
