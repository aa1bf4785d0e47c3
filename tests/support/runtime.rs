//! A loopback Lambda Runtime API, and a built bootstrap started under it as Lambda starts one:
//! `AWS_LAMBDA_RUNTIME_API` and the other reserved variables set, the function's own environment
//! beside them. The bootstrap polls `GET /runtime/invocation/next`, gets the event, and posts its
//! response (or error) back; the test (or the cold-start harness) sees both, with timings.

use crate::stack::Stack;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Notify, mpsc, oneshot};

/// What a bootstrap posted for one invocation.
#[derive(Debug)]
pub struct Invocation {
    /// The response body, or the error body when the function failed.
    pub body: Vec<u8>,
    /// The function reported an error (`/invocation/{id}/error`).
    pub failed: bool,
    /// From handing the event out to the response arriving: the invocation's duration.
    pub duration: Duration,
}

impl Invocation {
    /// The body as JSON; panics with the body when it is not JSON or the function failed.
    pub fn json(&self) -> serde_json::Value {
        assert!(!self.failed, "the function failed: {}", String::from_utf8_lossy(&self.body));
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: the response is not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

struct Pending {
    event: Vec<u8>,
    reply: oneshot::Sender<Invocation>,
}

struct Shared {
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    in_flight: Mutex<HashMap<String, (Instant, oneshot::Sender<Invocation>)>>,
    polls: AtomicUsize,
    first_poll: Mutex<Option<Instant>>,
    polled: Notify,
    init_error: Mutex<Option<String>>,
    ids: AtomicUsize,
    /// The invocation's time, as the function's `Timeout` gives it: each event's deadline.
    timeout_ms: u64,
}

/// The Runtime API on 127.0.0.1 with a random port; one function instance polls it.
pub struct RuntimeApi {
    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<Pending>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Starts the server, for a function with Lambda's longest default here (30 s).
    pub async fn start() -> Self {
        Self::start_for(Duration::from_secs(30)).await
    }

    /// Starts the server for a function whose invocations may take `timeout`.
    pub async fn start_for(timeout: Duration) -> Self {
        crate::audit::capture();
        let (events, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: tokio::sync::Mutex::new(receiver),
            in_flight: Mutex::new(HashMap::new()),
            polls: AtomicUsize::new(0),
            first_poll: Mutex::new(None),
            polled: Notify::new(),
            init_error: Mutex::new(None),
            ids: AtomicUsize::new(0),
            timeout_ms: timeout.as_millis() as u64,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the Runtime API");
        let address = listener.local_addr().expect("address").to_string();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve the Runtime API");
        });
        Self { address, shared, events, server }
    }

    /// Waits until the function has asked for its `n`th event (`n` = 1: its init is done).
    pub async fn polled(&self, n: usize) {
        loop {
            let notified = self.shared.polled.notified();
            if self.shared.polls.load(Ordering::SeqCst) >= n {
                return;
            }
            notified.await;
        }
    }

    /// When the function first asked for an event: the end of its init.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.shared.first_poll.lock().expect("lock")
    }

    /// What the function posted to `/init/error`, if it did.
    pub fn init_error(&self) -> Option<String> {
        self.shared.init_error.lock().expect("lock").clone()
    }

    /// Hands `event` to the function and waits for its response (a minute at most).
    pub async fn invoke(&self, event: impl Into<Vec<u8>>) -> Invocation {
        let (reply, answer) = oneshot::channel();
        self.events.send(Pending { event: event.into(), reply }).expect("the Runtime API runs");
        match tokio::time::timeout(Duration::from_secs(60), answer).await {
            Ok(Ok(invocation)) => invocation,
            Ok(Err(_)) => panic!("the Runtime API dropped the invocation"),
            Err(_) => panic!("the function did not answer within a minute (init error: {:?})", self.init_error()),
        }
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared.polls.fetch_add(1, Ordering::SeqCst);
    shared.first_poll.lock().expect("lock").get_or_insert_with(Instant::now);
    shared.polled.notify_waiters();
    let Some(pending) = shared.events.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let id = format!("00000000-0000-4000-8000-{:012}", shared.ids.fetch_add(1, Ordering::SeqCst) + 1);
    let deadline = chrono::Utc::now().timestamp_millis() + shared.timeout_ms as i64;
    shared.in_flight.lock().expect("lock").insert(id.clone(), (Instant::now(), pending.reply));
    let mut headers = HeaderMap::new();
    let value = |v: &str| HeaderValue::from_str(v).expect("header value");
    headers.insert("lambda-runtime-aws-request-id", value(&id));
    headers.insert("lambda-runtime-deadline-ms", value(&deadline.to_string()));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        value("arn:aws:lambda:us-east-1:000000000000:function:switchboard-local"),
    );
    headers.insert("lambda-runtime-trace-id", value("Root=1-00000000-000000000000000000000000;Sampled=0"));
    headers.insert("content-type", value("application/json"));
    (headers, pending.event).into_response()
}

fn finish(shared: &Shared, id: &str, body: Bytes, failed: bool) -> StatusCode {
    let Some((started, reply)) = shared.in_flight.lock().expect("lock").remove(id) else {
        return StatusCode::BAD_REQUEST;
    };
    let _ = reply.send(Invocation { body: body.to_vec(), failed, duration: started.elapsed() });
    StatusCode::ACCEPTED
}

async fn response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&shared, &id, body, false)
}

async fn error(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&shared, &id, body, true)
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().expect("lock") = Some(String::from_utf8_lossy(&body).into_owned());
    shared.polled.notify_waiters();
    StatusCode::ACCEPTED
}

/// The directory holding the workspace's built binaries (`target/debug`, or `target/release` for
/// the cold-start harness); `CARGO_TARGET_DIR` is honoured.
pub fn target_dir(profile: &str) -> PathBuf {
    let root = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| FsPath::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    root.join(profile)
}

/// The bootstraps `sam build` made (`infra/.aws-sam/build`, by scripts/deploy-check.sh): the
/// arm64 binaries that ship, instead of the workspace's x86_64 debug builds.
pub const SAM: &str = "sam";

/// `function`'s bootstrap in `sam build`'s output (the two functions of the `inbound` binary share
/// one).
pub fn sam_bootstrap(function: &str) -> PathBuf {
    let built = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("../infra/.aws-sam/build");
    let text = std::fs::read_to_string(built.join("template.yaml"))
        .unwrap_or_else(|e| panic!("no sam build output ({e}): run scripts/deploy-check.sh first"));
    let template: serde_norway::Value = serde_norway::from_str(&text).expect("the built template is YAML");
    let code = template["Resources"][function]["Properties"]["CodeUri"]
        .as_str()
        .unwrap_or_else(|| panic!("{function} has no CodeUri in the built template"));
    built.join(code).join("bootstrap")
}

/// How `binary` is started: itself, or — an arm64 (aarch64) ELF on another machine — under
/// Debian's `qemu-aarch64-static` (no binfmt_misc here), as a Graviton2 (`neoverse-n1`: Lambda's
/// arm64 has its features, not qemu's `max`), with the function's layer at `/opt` as Lambda
/// mounts it. Emulated timings are not performance figures.
fn command_for(binary: &FsPath, function: &str) -> Command {
    if !is_arm64(binary) || cfg!(target_arch = "aarch64") {
        return Command::new(binary);
    }
    let qemu = FsPath::new("/usr/bin/qemu-aarch64-static");
    assert!(
        qemu.exists() && FsPath::new("/lib/ld-linux-aarch64.so.1").exists(),
        "{} is arm64: scripts/arm64.sh install puts Debian's qemu-user-static and libc6:arm64 here",
        binary.display()
    );
    let mut command = Command::new(qemu);
    command.args(["-cpu", "neoverse-n1"]);
    if let Some(root) = layer_root(function) {
        command.arg("-L").arg(root);
    }
    command.arg(binary);
    command
}

/// Whether `binary` is an aarch64 ELF executable.
fn is_arm64(binary: &FsPath) -> bool {
    let mut head = [0u8; 20];
    std::fs::File::open(binary).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head)).is_ok()
        && head[..4] == *b"\x7fELF"
        && u16::from_le_bytes([head[18], head[19]]) == 183 // EM_AARCH64
}

/// A root whose `opt` is the function's layer (the encoder's, for the responder), as Lambda
/// mounts layers at `/opt`; qemu's `-L` looks there first, the machine's root after.
fn layer_root(function: &str) -> Option<PathBuf> {
    let template =
        std::fs::read_to_string(FsPath::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")).ok()?;
    let template: serde_norway::Value = serde_norway::from_str(&template).ok()?;
    template["Resources"][function]["Properties"]["Layers"].as_sequence().filter(|l| !l.is_empty())?;
    let layer = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("../.local/encoder/layer").canonicalize().ok()?;
    let root = target_dir("tmp").join(format!("lambda-root-{function}"));
    std::fs::create_dir_all(&root).ok()?;
    let opt = root.join("opt");
    if std::fs::read_link(&opt).ok().as_deref() != Some(layer.as_path()) {
        let _ = std::fs::remove_file(&opt);
        std::os::unix::fs::symlink(&layer, &opt).ok()?;
    }
    Some(root)
}

/// A bootstrap running under a [`RuntimeApi`]; killed when dropped. Its stdout and stderr (the
/// JSON logs) are kept.
pub struct Bootstrap {
    child: Child,
    /// Every line the process wrote, stdout and stderr interleaved.
    pub output: Arc<Mutex<Vec<String>>>,
    /// When the process was spawned.
    pub started: Instant,
}

impl Bootstrap {
    /// Starts `binary` as Lambda would: only the given variables, Lambda's reserved ones, and
    /// the local AWS endpoints and credentials of this process (the SDK's standard variables).
    pub fn start(binary: &FsPath, api: &RuntimeApi, function: &str, env: &[(String, String)]) -> Self {
        assert!(
            binary.exists(),
            "{} is not built: run the tests with scripts/test.sh (it builds the functions' bootstraps first)",
            binary.display()
        );
        let mut command = command_for(binary, function);
        command.env_clear();
        // What Lambda would set: credentials and region; and the local endpoints (nothing else of
        // this machine's, such as its CA bundle variables).
        for (name, value) in std::env::vars() {
            let passed = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"];
            if passed.contains(&name.as_str()) || name.starts_with("AWS_ENDPOINT_URL") || name == "PATH" {
                command.env(name, value);
            }
        }
        command
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/30/[$LATEST]local")
            .env("AWS_REGION", std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command.spawn().unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let output = Arc::new(Mutex::new(Vec::new()));
        if let Some(out) = child.stdout.take() {
            keep_lines(out, output.clone());
        }
        if let Some(err) = child.stderr.take() {
            keep_lines(err, output.clone());
        }
        Self { child, output, started }
    }

    /// The process's peak resident memory so far, in kilobytes (`VmHWM`).
    pub fn peak_memory_kb(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        self.output.lock().expect("lock").clone()
    }

    /// Kills the process at once (SIGKILL), wherever it is, as a crashed or timed-out Lambda
    /// instance ends.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("kill the bootstrap");
    }

    /// The process has exited (a failed init, say).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

fn keep_lines(stream: impl tokio::io::AsyncRead + Unpin + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            crate::audit::child_line(&line);
            into.lock().expect("lock").push(line);
        }
    });
}

/// A function's `Timeout` in `infra/template.yaml` (its own, else the template's global one),
/// 30 s for a function the template does not have (the hello-world floor).
pub fn timeout_of(function: &str) -> Duration {
    let path = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let text = std::fs::read_to_string(&path).expect("read infra/template.yaml");
    let template: serde_norway::Value = serde_norway::from_str(&text).expect("the template is YAML");
    let own = &template["Resources"][function]["Properties"]["Timeout"];
    let seconds = own.as_u64().or_else(|| template["Globals"]["Function"]["Timeout"].as_u64());
    Duration::from_secs(seconds.unwrap_or(30))
}

/// A function of `infra/template.yaml` as Lambda would start it: its binary (the
/// `BuildProperties.Binary` cargo-lambda builds) and its environment (the globals and its own
/// variables), each `!Ref` resolved through `refs` (logical id or parameter → local value) or to the
/// parameter's default.
pub fn from_template(function: &str, refs: &HashMap<&str, String>) -> (String, Vec<(String, String)>) {
    let path = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let text = std::fs::read_to_string(&path).expect("read infra/template.yaml");
    let template: serde_norway::Value = serde_norway::from_str(&text).expect("the template is YAML");
    let resource = &template["Resources"][function];
    let binary = resource["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .unwrap_or_else(|| panic!("{function} has no BuildProperties.Binary"))
        .to_string();
    let mut env = Vec::new();
    for variables in [
        &template["Globals"]["Function"]["Environment"]["Variables"],
        &resource["Properties"]["Environment"]["Variables"],
    ] {
        for (name, value) in variables.as_mapping().into_iter().flatten() {
            let name = name.as_str().expect("a variable name").to_string();
            let value = match value {
                serde_norway::Value::String(s) => s.clone(),
                serde_norway::Value::Number(n) => n.to_string(),
                serde_norway::Value::Tagged(tagged) if tagged.tag == "Ref" => {
                    let target = tagged.value.as_str().expect("a !Ref names one thing");
                    // A parameter with a default deploys with it unless a test stands in for it.
                    let default = &template["Parameters"][target]["Default"];
                    let default = default.as_u64().map(|n| n.to_string()).or(default.as_str().map(str::to_string));
                    refs.get(target).cloned().or(default).unwrap_or_else(|| {
                        panic!("{function}.{name} is !Ref {target}, which the test does not stand in for")
                    })
                }
                other => panic!("{function}.{name}: the test cannot resolve {other:?}"),
            };
            env.retain(|(n, _): &(String, String)| *n != name);
            env.push((name, value));
        }
    }
    (binary, env)
}

/// One function instance: its Runtime API and its process.
pub struct Function {
    /// Its Runtime API.
    pub api: RuntimeApi,
    /// Its process.
    pub process: Bootstrap,
}

impl Function {
    /// Starts the template's `function` (built in the `profile` directory of target/) against the
    /// stack's table, queues and parameters, and waits for its init to finish (its first poll for an
    /// event).
    pub async fn start(s: &Stack, function: &str, profile: &str) -> Function {
        Self::start_with(s, function, profile, &[]).await
    }

    /// The same, with `extra` variables over the template's (a recorder's endpoints).
    pub async fn start_with(s: &Stack, function: &str, profile: &str, extra: &[(String, String)]) -> Function {
        let refs = HashMap::from([
            ("Table", s.aws.table.clone()),
            ("LogLevel", "info".to_string()),
            ("MessagesQueue", s.messages.url.clone()),
            ("MessagesDeadLetterQueue", s.messages.dlq_url.clone()),
            ("EscalationsQueue", s.escalations.url.clone()),
            ("EscalationsDeadLetterQueue", s.escalations.dlq_url.clone()),
            ("DeploymentKeyParameter", format!("/switchboard/{}/deployment-key", s.aws.table)),
            ("BedrockModelId", String::new()),
        ]);
        let (binary, mut env) = from_template(function, &refs);
        // The providers' and helpdesks' stand-ins listen on loopback: the operator's setting.
        env.push(("SWITCHBOARD_ALLOWED_ENDPOINTS".into(), "http://127.0.0.1:*".into()));
        env.extend(extra.iter().cloned());
        let path = if profile == SAM { sam_bootstrap(function) } else { target_dir(profile).join(&binary) };
        if profile == SAM {
            assert!(is_arm64(&path), "{} is not an arm64 bootstrap: what ships is arm64", path.display());
        }
        Self::launch(&path, function, &env).await
    }

    /// Starts `binary` as `function` with `env`, and waits for its init to finish. Each event's
    /// deadline is the function's `Timeout` in the template, as Lambda sets it (the responder
    /// stops starting records the time left cannot cover, so a shorter deadline here would cut
    /// batches the real one does not).
    pub async fn launch(binary: &FsPath, function: &str, env: &[(String, String)]) -> Function {
        let api = RuntimeApi::start_for(timeout_of(function)).await;
        let mut process = Bootstrap::start(binary, &api, function, env);
        let ready = tokio::time::timeout(Duration::from_secs(30), async {
            tokio::select! {
                _ = api.polled(1) => true,
                _ = async { while !process.exited() { tokio::time::sleep(Duration::from_millis(20)).await } } => false,
            }
        });
        if !matches!(ready.await, Ok(true)) {
            let binary = binary.display();
            panic!("{function} ({binary}) did not start: {:?}\n{}", api.init_error(), process.lines().join("\n"));
        }
        Function { api, process }
    }

    /// Invokes an HTTP function with an API Gateway (payload v2) event; returns the status and
    /// the JSON body.
    pub async fn http(&self, event: &Value) -> (u16, Value) {
        let response = self.api.invoke(serde_json::to_vec(event).expect("event")).await.json();
        let status = response["statusCode"].as_u64().expect("a statusCode") as u16;
        let body = response["body"].as_str().unwrap_or_default();
        (status, serde_json::from_str(body).unwrap_or(Value::String(body.to_string())))
    }

    /// Delivers what the queue holds to an SQS-triggered function, as the event source mapping
    /// does; returns how many messages it handled.
    pub async fn drain(&self, s: &Stack, url: &str) -> usize {
        s.aws
            .deliver(url, |event| async move {
                let response = self.api.invoke(serde_json::to_vec(&event).expect("event")).await.json();
                serde_json::from_value(response).expect("an SqsBatchResponse")
            })
            .await
            .len()
    }
}

/// A file of `events/`, as JSON; a Telegram message in it dated now (the samples were recorded
/// on 2026-11-25, and a message dated more than 7 days back is a replay).
pub fn event(path: &str) -> Value {
    let file = format!("{}/../events/{path}", env!("CARGO_MANIFEST_DIR"));
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read the event")).expect("the event is JSON");
    let body = event["body"].as_str().and_then(|b| serde_json::from_str::<Value>(b).ok());
    if let Some(mut body) = body.filter(|b| b["message"]["date"].is_i64()) {
        body["message"]["date"] = json!(chrono::Utc::now().timestamp());
        event["body"] = json!(body.to_string());
    }
    event
}

/// The GET event of `events/`, for `conversation` with its read token.
pub fn poll(conversation: &str, token: &str) -> Value {
    let mut get = event("inbound/webchat-get.json");
    let path = format!("/v1/demo/webchat/conversations/{conversation}/messages");
    get["rawPath"] = json!(path);
    get["requestContext"]["http"]["path"] = json!(path);
    get["headers"]["authorization"] = json!(format!("Bearer {token}"));
    get
}
