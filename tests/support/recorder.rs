//! A recording stand-in between a function and the local AWS servers: every DynamoDB, SQS and
//! SSM call the function makes passes through it, and it notes the operation (`X-Amz-Target`)
//! and what it names (a DynamoDB item's partition key, an SSM parameter, a queue), so a test can
//! compare what the code calls with what the template grants. It can refuse the next calls of
//! one operation, to drive a function down its failure paths.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};

/// One call a function made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `dynamodb`, `sqs` or `ssm`.
    pub service: &'static str,
    /// The operation (`PutItem`, `SendMessage`, `GetParameter`).
    pub operation: String,
    /// What it names: the item's partition key, the parameter's name, the queue's URL.
    pub names: Option<String>,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    /// Refuse this many calls of this operation with a 500.
    refuse: Option<(String, u32)>,
}

/// The recorder's three endpoints, one per service.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Mutex<Inner>>,
    /// `AWS_ENDPOINT_URL_*` variables pointing a function at the recorder.
    pub env: Vec<(String, String)>,
}

#[derive(Clone)]
struct Upstream {
    service: &'static str,
    url: String,
    inner: Arc<Mutex<Inner>>,
    http: reqwest::Client,
}

impl Recorder {
    /// Starts one listener per service, forwarding to the endpoints this process uses.
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let mut env = Vec::new();
        for (service, variable) in [
            ("dynamodb", "AWS_ENDPOINT_URL_DYNAMODB"),
            ("sqs", "AWS_ENDPOINT_URL_SQS"),
            ("ssm", "AWS_ENDPOINT_URL_SSM"),
        ] {
            let url = std::env::var(variable).unwrap_or_else(|_| panic!("{variable} (scripts/local-aws.sh start)"));
            let upstream = Upstream { service, url, inner: inner.clone(), http: reqwest::Client::new() };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let address = listener.local_addr().expect("address");
            let app = axum::Router::new().fallback(forward).with_state(upstream);
            tokio::spawn(async move { axum::serve(listener, app).await });
            env.push((variable.to_string(), format!("http://{address}")));
        }
        Self { inner, env }
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// Refuses the next `times` calls of `operation` with a 500.
    pub fn refuse(&self, operation: &str, times: u32) {
        self.inner.lock().unwrap().refuse = Some((operation.to_string(), times));
    }
}

/// What a call names: an item's `pk`, a parameter's `Name`, a queue's `QueueUrl`.
fn names(service: &str, body: &serde_json::Value) -> Option<String> {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    match service {
        "dynamodb" => ["Key", "Item"].iter().find_map(|k| text(&body[*k]["pk"]["S"])),
        "ssm" => text(&body["Name"]),
        _ => text(&body["QueueUrl"]),
    }
}

async fn forward(State(up): State<Upstream>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let operation = target.rsplit('.').next().unwrap_or_default().to_string();
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let call = Call { service: up.service, operation: operation.clone(), names: names(up.service, &parsed) };
    {
        let mut inner = up.inner.lock().unwrap();
        inner.calls.push(call);
        if let Some((refused, times)) = inner.refuse.as_mut()
            && *refused == operation
            && *times > 0
        {
            *times -= 1;
            return (StatusCode::INTERNAL_SERVER_ERROR, "refused by the recorder").into_response();
        }
    }
    let url = format!("{}{}", up.url.trim_end_matches('/'), uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut request = up.http.request(method, url).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response.bytes().await.unwrap_or_default();
            let mut out = (status, bytes).into_response();
            for (name, value) in &headers {
                if name != "content-length" && name != "transfer-encoding" {
                    out.headers_mut().insert(name, value.clone());
                }
            }
            out
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
