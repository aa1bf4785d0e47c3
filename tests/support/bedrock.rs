//! A loopback Bedrock Runtime that speaks the Converse wire format to the real SDK client, with
//! switchable failure modes.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard::adapters::aws::{BedrockModel, BedrockSettings, bedrock_client};

/// What the stand-in answers.
#[derive(Debug, Clone)]
pub enum Mode {
    /// A `tool_use` answer calling the requested tool with this input.
    Tool(Value),
    /// 429 ThrottlingException this many times, then the inner mode.
    ThrottleThen(u32, Box<Mode>),
    /// Always 429 ThrottlingException.
    Throttle,
    /// Always 500 InternalServerException.
    Fail,
    /// Answers after this long.
    Slow(Duration, Box<Mode>),
    /// A plain text answer with no tool call.
    Text(String),
}

#[derive(Debug)]
struct Inner {
    mode: Mode,
    requests: Vec<(String, Value)>,
}

/// The running stand-in.
#[derive(Clone)]
pub struct FakeBedrock {
    /// `http://127.0.0.1:port`.
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeBedrock {
    /// Starts on a random loopback port.
    pub async fn start(mode: Mode) -> Self {
        crate::audit::capture();
        let inner = Arc::new(Mutex::new(Inner { mode, requests: Vec::new() }));
        let app = Router::new().route("/model/{model}/converse", post(converse)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, inner }
    }

    /// Switches the mode.
    pub fn set(&self, mode: Mode) {
        self.inner.lock().expect("lock").mode = mode;
    }

    /// (model id, request body) of every call so far.
    pub fn requests(&self) -> Vec<(String, Value)> {
        self.inner.lock().expect("lock").requests.clone()
    }

    /// The real SDK client, pointed here.
    pub async fn client(&self, timeout: Duration) -> aws_sdk_bedrockruntime::Client {
        let config = aws_config::from_env()
            .endpoint_url(&self.url)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "static"))
            .load()
            .await;
        bedrock_client(&config, &Self::settings(timeout))
    }

    /// Settings naming the test model.
    pub fn settings(timeout: Duration) -> BedrockSettings {
        BedrockSettings { model_id: "test-model".into(), timeout, max_attempts: 3 }
    }

    /// The real SDK-backed model, pointed here.
    pub async fn model(&self, timeout: Duration) -> BedrockModel {
        BedrockModel::new(self.client(timeout).await, "test-model")
    }
}

fn error(status: StatusCode, kind: &'static str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("x-amzn-errortype", HeaderValue::from_static(kind));
    (status, headers, Json(json!({"message": kind}))).into_response()
}

/// Token counts as a tokenizer of about four characters a token would give: the request's
/// system prompt, messages and tool schema in, the tool input out. What the cost benchmark
/// prices, so it grows with what the pipeline actually sends.
fn tokens(value: &Value) -> u64 {
    (value.to_string().len() as u64).div_ceil(4)
}

fn tool_answer(request: &Value, input: &Value) -> Response {
    let name = request.pointer("/toolConfig/toolChoice/tool/name").and_then(Value::as_str).unwrap_or("classify");
    let (input_tokens, output_tokens) = (tokens(request), tokens(input));
    Json(json!({
        "output": {"message": {"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": name, "input": input}}]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens, "totalTokens": input_tokens + output_tokens},
        "metrics": {"latencyMs": 120}
    }))
    .into_response()
}

async fn converse(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(model): Path<String>,
    Json(request): Json<Value>,
) -> Response {
    let mode = {
        let mut inner = inner.lock().expect("lock");
        inner.requests.push((model, request.clone()));
        let mode = inner.mode.clone();
        if let Mode::ThrottleThen(n, next) = &mode {
            inner.mode = if *n <= 1 { (**next).clone() } else { Mode::ThrottleThen(n - 1, next.clone()) };
        }
        mode
    };
    respond(mode, &request).await
}

async fn respond(mode: Mode, request: &Value) -> Response {
    match mode {
        Mode::Tool(input) => tool_answer(request, &input),
        Mode::ThrottleThen(..) | Mode::Throttle => error(StatusCode::TOO_MANY_REQUESTS, "ThrottlingException"),
        Mode::Fail => error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException"),
        Mode::Slow(delay, next) => {
            tokio::time::sleep(delay).await;
            Box::pin(respond(*next, request)).await
        }
        Mode::Text(text) => Json(json!({
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 100, "outputTokens": 10, "totalTokens": 110},
            "metrics": {"latencyMs": 50}
        }))
        .into_response(),
    }
}
