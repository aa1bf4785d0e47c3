//! The HTTP API: the same axum router serves the `inbound` Lambda (through `lambda_http`) and
//! `switchboard serve`, so local runs exercise exactly the production routes.

mod cost;
mod data;
mod error;
mod helpdesk;
mod providers;
mod shops;
mod webchat;
mod widget;

pub use error::ApiError;
pub use webchat::{Api, MAX_WAIT_SECONDS, MessagePage, PageMessage, PostAck};
pub use widget::WIDGET_JS;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::routing::{MethodFilter, MethodRouter, on};
use std::convert::Infallible;
use std::sync::Arc;

/// Largest request body accepted on chat routes. The text limit is smaller (per tenant, in
/// characters); this stops oversize bodies before they are buffered.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The longest a long poll is held in Lambda, where a held poll is a billed instance: long
/// enough for an answer the bot is writing, no longer (docs/design.md, "What a poll costs").
pub const LAMBDA_MAX_HOLD: std::time::Duration = std::time::Duration::from_secs(5);

/// Largest body on the e-mail routes: what API Gateway and Lambda accept (6 MB payloads). Mail
/// carries attachments; only its text and the attachments' names and sizes go further.
pub const MAX_EMAIL_BODY_BYTES: usize = 6 * 1024 * 1024;

/// Largest body on the data routes: a profile with its 100 orders fits many times over.
pub const MAX_DATA_BODY_BYTES: usize = 256 * 1024;

/// One public route. The router is built from [`routes`], and a test compares that list with the
/// SAM template's HTTP API events, so a route cannot be served locally and missing when deployed.
struct Route {
    method: &'static str,
    path: &'static str,
    handler: MethodRouter<Arc<Api>>,
    max_body: usize,
    browser: bool,
}

fn route<H, T>(method: &'static str, path: &'static str, handler: H) -> Route
where
    H: Handler<T, Arc<Api>>,
    T: 'static,
{
    let filter = match method {
        "GET" => MethodFilter::GET,
        "OPTIONS" => MethodFilter::OPTIONS,
        "PUT" => MethodFilter::PUT,
        "DELETE" => MethodFilter::DELETE,
        _ => MethodFilter::POST,
    };
    Route { method, path, handler: on(filter, handler), max_body: MAX_BODY_BYTES, browser: false }
}

impl Route {
    fn max_body(self, max_body: usize) -> Self {
        Self { max_body, ..self }
    }

    /// Called by the widget from the tenant's pages: guarded by the tenant's CORS origins.
    fn for_browsers(self) -> Self {
        Self { browser: true, ..self }
    }
}

fn routes() -> Vec<Route> {
    vec![
        route("POST", "/v1/{tenant}/webchat/messages", webchat::post_message).for_browsers(),
        route("OPTIONS", "/v1/{tenant}/webchat/messages", widget::preflight).for_browsers(),
        route("GET", "/v1/{tenant}/webchat/conversations/{conversation}/messages", webchat::get_messages)
            .for_browsers(),
        route("OPTIONS", "/v1/{tenant}/webchat/conversations/{conversation}/messages", widget::preflight)
            .for_browsers(),
        route("GET", "/v1/{tenant}/widget.js", widget::script),
        route("POST", "/v1/{tenant}/twilio", providers::twilio_webhook),
        route("POST", "/v1/{tenant}/telegram", providers::telegram_webhook),
        route("POST", "/v1/{tenant}/slack", providers::slack_webhook),
        route("POST", "/v1/{tenant}/email", providers::email_webhook).max_body(MAX_EMAIL_BODY_BYTES),
        route("POST", "/v1/{tenant}/email/ses", providers::ses_webhook).max_body(MAX_EMAIL_BODY_BYTES),
        route("GET", "/v1/{tenant}/whatsapp", providers::whatsapp_challenge),
        route("POST", "/v1/{tenant}/whatsapp", providers::whatsapp_webhook),
        route("POST", "/v1/{tenant}/helpdesk/{kind}", helpdesk::callback),
        route("POST", "/v1/{tenant}/shopify", shops::shopify_webhook).max_body(MAX_DATA_BODY_BYTES),
        route("POST", "/v1/{tenant}/woocommerce", shops::woocommerce_webhook).max_body(MAX_DATA_BODY_BYTES),
        route("PUT", "/v1/{tenant}/customers/{id}", data::put_customer).max_body(MAX_DATA_BODY_BYTES),
        route("DELETE", "/v1/{tenant}/customers/{id}", data::delete_customer),
        route("GET", "/v1/{tenant}/customers/{id}/export", data::export_customer),
        route("PUT", "/v1/{tenant}/customers/{id}/orders/{order}", data::put_order).max_body(MAX_DATA_BODY_BYTES),
        route("GET", "/healthz", || async { "ok" }),
    ]
}

/// `(method, path)` of every public route, in the router's path syntax.
pub fn route_table() -> Vec<(&'static str, &'static str)> {
    routes().into_iter().map(|r| (r.method, r.path)).collect()
}

/// The inbound routes, each request measured and priced into the cost ledger.
pub fn router(api: Arc<Api>) -> Router {
    let cors = axum::middleware::from_fn_with_state(api.clone(), widget::cors);
    routes()
        .into_iter()
        .fold(Router::new(), |router, r| {
            let handler = r.handler.layer(DefaultBodyLimit::max(r.max_body));
            router.route(r.path, if r.browser { handler.layer(cors.clone()) } else { handler })
        })
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(axum::middleware::from_fn_with_state(api.clone(), cost::meter_request))
        .with_state(api)
}

/// The id of the HTTP request, for logs and usage records. The Lambda entry point inserts API
/// Gateway's request id as an extension; elsewhere `x-request-id` or a fresh id is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(id) = parts.extensions.get::<RequestId>() {
            return Ok(id.clone());
        }
        let header =
            parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).filter(|v| {
                !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        Ok(RequestId(header.map(str::to_string).unwrap_or_else(|| uuid::Uuid::new_v4().to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use std::collections::BTreeSet;

    const TEMPLATE: &str = include_str!("../../../infra/template.yaml");

    /// `(METHOD, path)` of every HTTP API event in the SAM template.
    fn deployed() -> BTreeSet<(String, String)> {
        let template: serde_norway::Value = serde_norway::from_str(TEMPLATE).expect("the template is YAML");
        let mut found = BTreeSet::new();
        let resources = template["Resources"].as_mapping().expect("Resources");
        for resource in resources.values() {
            let Some(events) = resource["Properties"]["Events"].as_mapping() else { continue };
            for event in events.values() {
                if event["Type"].as_str() == Some("HttpApi") {
                    let p = &event["Properties"];
                    let method = p["Method"].as_str().expect("Method").to_uppercase();
                    found.insert((method, p["Path"].as_str().expect("Path").to_string()));
                }
            }
        }
        found
    }

    #[test]
    fn every_route_the_router_serves_is_deployed_and_nothing_else() {
        let served: BTreeSet<(String, String)> =
            route_table().into_iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        let deployed = deployed();
        let missing: Vec<_> = served.difference(&deployed).collect();
        let extra: Vec<_> = deployed.difference(&served).collect();
        assert!(missing.is_empty(), "served but not in infra/template.yaml: {missing:?}");
        assert!(extra.is_empty(), "in infra/template.yaml but not served: {extra:?}");
    }

    /// Abuse costs the attacker: the public web chat routes have their own, lower throttles than
    /// the provider webhooks, the inbound function gets the per-tenant limits, and long polls run in a function of their own whose reserved
    /// concurrency is all they can take; the responder and escalation functions have theirs.
    #[test]
    fn web_chat_routes_are_throttled_apart_and_polls_cannot_take_other_functions_capacity() {
        let template: serde_norway::Value = serde_norway::from_str(TEMPLATE).expect("the template is YAML");
        let r = &template["Resources"];
        let routes = &r["HttpApi"]["Properties"]["RouteSettings"];
        for key in
            ["POST /v1/{tenant}/webchat/messages", "GET /v1/{tenant}/webchat/conversations/{conversation}/messages"]
        {
            assert!(!routes[key]["ThrottlingRateLimit"].is_null(), "{key} has its own rate limit");
        }
        let parameter = |name: &str| template["Parameters"][name]["Default"].as_u64().unwrap();
        let named = |v: &serde_norway::Value| serde_norway::to_string(v).unwrap_or_default();
        let default_route = &r["HttpApi"]["Properties"]["DefaultRouteSettings"];
        assert!(named(&default_route["ThrottlingRateLimit"]).contains("WebhookRateLimit"));
        let (webchat_rate, default_rate) = (parameter("WebchatRateLimit"), parameter("WebhookRateLimit"));
        assert!(webchat_rate < default_rate, "web chat {webchat_rate}/s below the webhooks' {default_rate}/s");
        // The route throttles are every tenant's together: the inbound function gets the
        // per-tenant and per-visitor limits that make one tenant's flood its own.
        let env = &r["InboundFunction"]["Properties"]["Environment"]["Variables"];
        for (variable, parameter_name) in [
            ("SWITCHBOARD_TENANT_MESSAGES_PER_MINUTE", "TenantMessagesPerMinute"),
            ("SWITCHBOARD_VISITOR_MESSAGES_PER_MINUTE", "VisitorMessagesPerMinute"),
        ] {
            assert!(named(&env[variable]).contains(parameter_name), "{variable}");
            assert!(parameter(parameter_name) > 0, "{parameter_name} is on by default");
        }
        let events = |f: &str| r[f]["Properties"]["Events"].as_mapping().map(|m| m.len()).unwrap_or(0);
        assert_eq!(events("PollFunction"), 1, "the poll function serves the long poll alone");
        assert_eq!(
            r["PollFunction"]["Properties"]["Events"]["GetMessages"]["Properties"]["Method"].as_str(),
            Some("GET")
        );
        // Reservation is the operator's choice (a new account cannot create the stack with one);
        // the queues' consumers are bounded by their event sources without it.
        for f in ["InboundFunction", "PollFunction"] {
            assert!(
                !r[f]["Properties"]["ReservedConcurrentExecutions"].is_null(),
                "{f} can be given reserved concurrency"
            );
        }
        for (f, event) in [("ResponderFunction", "Messages"), ("EscalationFunction", "Escalations")] {
            let scaling = &r[f]["Properties"]["Events"][event]["Properties"]["ScalingConfig"]["MaximumConcurrency"];
            assert!(!scaling.is_null(), "{f}'s queue runs at most a set number of instances");
        }
    }

    /// Posts `text` on a fresh embedded app whose polls hold at most 10 s, waits for its answer,
    /// and returns the router, the conversation, its token and the cursor after the answer.
    async fn answered(text: &str) -> (Router, String, String, String) {
        use tower::ServiceExt;
        let options = crate::embedded::Options {
            print_escalations: false,
            max_hold: std::time::Duration::from_secs(10),
            ..crate::embedded::Options::default()
        };
        let app = crate::embedded::Embedded::start(vec![switchboard_engine::tenant::Tenant::demo().unwrap()], options)
            .await
            .unwrap();
        let router = app.router();
        let post = axum::http::Request::post("/v1/demo/webchat/messages")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(serde_json::json!({"visitor_id": "v_hold", "text": text}).to_string()))
            .unwrap();
        let response = router.clone().oneshot(post).await.unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let ack: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let (conversation, token) = (ack["conversation_id"].as_str().unwrap(), ack["token"].as_str().unwrap());
        for _ in 0..50 {
            let (_, page) = poll(&router, conversation, token, "wait=1").await;
            if page["messages"].as_array().map(Vec::len) == Some(2) {
                let cursor = page["cursor"].as_str().unwrap().to_string();
                return (router, conversation.to_string(), token.to_string(), cursor);
            }
        }
        panic!("{text:?} was not answered");
    }

    async fn poll(router: &Router, conversation: &str, token: &str, query: &str) -> (StatusCode, serde_json::Value) {
        use tower::ServiceExt;
        let get = axum::http::Request::get(format!("/v1/demo/webchat/conversations/{conversation}/messages?{query}"))
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let response = router.clone().oneshot(get).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// A long poll is held at most the API's `max_hold`, whatever `wait` asks (virtual time:
    /// the clock is paused and advanced by the runtime, so nothing here depends on real timing).
    #[tokio::test(start_paused = true)]
    async fn a_long_poll_is_held_at_most_max_hold() {
        let (router, conversation, token, cursor) = answered("Hello").await;
        let start = tokio::time::Instant::now();
        let (status, _) = poll(&router, &conversation, &token, &format!("wait=20&after={cursor}")).await;
        assert_eq!(status, StatusCode::OK);
        let held = start.elapsed();
        assert!(held >= std::time::Duration::from_secs(10) && held < std::time::Duration::from_secs(11), "{held:?}");
    }

    /// Held polls fill the poll function's reserved concurrency for every tenant: one
    /// conversation may hold one poll at a time, a second at once is answered with `wait` as 0
    /// (the reviewer held four at once, each 5 s). Virtual time, as above.
    #[tokio::test(start_paused = true)]
    async fn one_conversation_holds_one_poll_at_a_time() {
        let (router, conversation, token, cursor) = answered("Hello").await;
        let query = format!("wait=20&after={cursor}");
        let start = tokio::time::Instant::now();
        let timed = |router: Router| {
            let (conversation, token, query) = (conversation.clone(), token.clone(), query.clone());
            async move {
                let (status, _) = poll(&router, &conversation, &token, &query).await;
                assert_eq!(status, StatusCode::OK);
                start.elapsed()
            }
        };
        let tasks: Vec<_> = (0..4).map(|_| tokio::spawn(timed(router.clone()))).collect();
        let mut held = Vec::new();
        for task in tasks {
            held.push(task.await.unwrap());
        }
        let long = held.iter().filter(|d| **d >= std::time::Duration::from_secs(10)).count();
        let short = held.iter().filter(|d| **d < std::time::Duration::from_secs(1)).count();
        assert_eq!((long, short), (1, 3), "{held:?}");
        // Once it is answered, the next poll may be held again.
        let again = tokio::time::Instant::now();
        poll(&router, &conversation, &token, &query).await;
        assert!(again.elapsed() >= std::time::Duration::from_secs(10), "{:?}", again.elapsed());
    }

    /// A held poll is a billed instance: while a person owns the conversation (their answer
    /// takes minutes) a poll is not held at all, whatever `wait` asks.
    #[tokio::test(start_paused = true)]
    async fn a_poll_is_not_held_while_a_person_owns_the_conversation() {
        let (router, conversation, token, cursor) = answered("I want to talk to a human").await;
        let (_, page) = poll(&router, &conversation, &token, "wait=0").await;
        assert_eq!(page["state"], "human", "{page}");
        let start = tokio::time::Instant::now();
        let (status, page) = poll(&router, &conversation, &token, &format!("wait=20&after={cursor}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page["messages"].as_array().unwrap().is_empty(), "{page}");
        assert!(start.elapsed() < std::time::Duration::from_secs(1), "held {:?}", start.elapsed());
    }

    async fn send(router: &Router, request: axum::http::Request<axum::body::Body>) -> axum::response::Response {
        use tower::ServiceExt;
        router.clone().oneshot(request).await.unwrap()
    }

    async fn demo_router() -> (crate::embedded::Embedded, Router) {
        let options = crate::embedded::Options { print_escalations: false, ..crate::embedded::Options::default() };
        let app = crate::embedded::Embedded::start(vec![switchboard_engine::tenant::Tenant::demo().unwrap()], options)
            .await
            .unwrap();
        let router = app.router();
        (app, router)
    }

    fn post_from(origin: Option<&str>) -> axum::http::Request<axum::body::Body> {
        let mut post = axum::http::Request::post("/v1/demo/webchat/messages")
            .header("content-type", "application/json")
            .header("host", "api.example");
        if let Some(origin) = origin {
            post = post.header("origin", origin);
        }
        post.body(axum::body::Body::from(r#"{"visitor_id": "v_cors", "text": "What are your opening hours?"}"#))
            .unwrap()
    }

    /// A visitor past their limit gets 429 with `Retry-After` (the seconds left in the minute)
    /// and a code saying which limit; nothing of the refused message is stored.
    #[tokio::test]
    async fn a_message_over_a_limit_is_answered_429_with_when_to_retry() {
        let limits = switchboard_engine::limits::LimitSettings {
            tenant_messages_per_minute: 100,
            visitor_messages_per_minute: 2,
            data_writes_per_minute: 0,
        };
        // A minute's tenth second, held still: the three posts fall in one minute.
        use chrono::DurationRound;
        let minute = chrono::Utc::now().duration_trunc(chrono::TimeDelta::minutes(1)).unwrap();
        let clock = Arc::new(switchboard_engine::memory::ManualClock::new(minute + chrono::TimeDelta::seconds(10)));
        let options =
            crate::embedded::Options { print_escalations: false, limits, clock, ..crate::embedded::Options::default() };
        let app = crate::embedded::Embedded::start(vec![switchboard_engine::tenant::Tenant::demo().unwrap()], options)
            .await
            .unwrap();
        let router = app.router();
        let mut statuses = Vec::new();
        for _ in 0..2 {
            statuses.push(send(&router, post_from(None)).await.status());
        }
        let stored = app.idempotency.len();
        let refused = send(&router, post_from(None)).await;
        assert_eq!(
            (statuses.as_slice(), refused.status()),
            (&[StatusCode::ACCEPTED; 2][..], StatusCode::TOO_MANY_REQUESTS)
        );
        assert_eq!(refused.headers()["retry-after"], "50", "the seconds left in the minute");
        let body = axum::body::to_bytes(refused.into_body(), 1 << 16).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("visitor_rate_limited"));
        assert_eq!(app.idempotency.len(), stored, "nothing of the refused message is stored");
    }

    /// The demo tenant lists `http://localhost:*`: its pages may chat, and get CORS headers for
    /// their origin alone; another site is refused before anything is stored; callers that are
    /// not cross-site browsers (no Origin, or the API's own origin) are served as before.
    #[tokio::test]
    async fn web_chat_calls_for_browsers_are_allowed_only_from_the_tenants_sites() {
        let (app, router) = demo_router().await;
        let allowed = send(&router, post_from(Some("http://localhost:8080"))).await;
        assert_eq!(allowed.status(), StatusCode::ACCEPTED);
        assert_eq!(allowed.headers()["access-control-allow-origin"], "http://localhost:8080");
        assert_eq!(allowed.headers()["vary"], "origin");

        let before = app.idempotency.len();
        for origin in ["https://evil.example", "http://localhost.evil.example:80", "http://localhost", "null"] {
            let refused = send(&router, post_from(Some(origin))).await;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{origin}");
            assert!(refused.headers().get("access-control-allow-origin").is_none(), "{origin}");
            let body = axum::body::to_bytes(refused.into_body(), 1 << 16).await.unwrap();
            assert!(String::from_utf8_lossy(&body).contains("origin_not_allowed"), "{origin}");
        }
        assert_eq!(app.idempotency.len(), before, "a refused origin stores nothing");

        for origin in [None, Some("https://api.example")] {
            let response = send(&router, post_from(origin)).await;
            assert_eq!(response.status(), StatusCode::ACCEPTED, "{origin:?}");
            assert!(response.headers().get("access-control-allow-origin").is_none(), "{origin:?}");
        }
    }

    /// The browser's preflight: answered for a listed origin with the methods and headers the
    /// widget uses; refused for others; 404 for a tenant that does not exist.
    #[tokio::test]
    async fn preflights_are_answered_for_the_tenants_sites_only() {
        let (_app, router) = demo_router().await;
        let preflight = |path: &str, origin: &str| {
            axum::http::Request::builder()
                .method("OPTIONS")
                .uri(path)
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .body(axum::body::Body::empty())
                .unwrap()
        };
        for path in ["/v1/demo/webchat/messages", "/v1/demo/webchat/conversations/c_0123/messages"] {
            let ok = send(&router, preflight(path, "http://localhost:5173")).await;
            assert_eq!(ok.status(), StatusCode::NO_CONTENT, "{path}");
            let h = ok.headers();
            assert_eq!(h["access-control-allow-origin"], "http://localhost:5173");
            assert_eq!(h["access-control-allow-methods"], "GET, POST");
            assert_eq!(h["access-control-allow-headers"], "authorization, content-type");
            assert_eq!(h["access-control-max-age"], "600");
            let refused = send(&router, preflight(path, "https://evil.example")).await;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN);
            assert!(refused.headers().get("access-control-allow-origin").is_none());
        }
        let unknown = send(&router, preflight("/v1/nobody/webchat/messages", "http://localhost:5173")).await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    }

    /// The widget script: JavaScript with no-sniff, for known tenants only.
    #[tokio::test]
    async fn the_widget_script_is_served_for_known_tenants() {
        let (_app, router) = demo_router().await;
        let get = |path: &str| axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
        let ok = send(&router, get("/v1/demo/widget.js")).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()["content-type"], "text/javascript; charset=utf-8");
        assert_eq!(ok.headers()["x-content-type-options"], "nosniff");
        let body = axum::body::to_bytes(ok.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], WIDGET_JS.as_bytes());
        // Strict CSP forbids these; the widget must not need them.
        for forbidden in ["eval(", "innerHTML", "new Function", "setAttribute(\"style\"", "document.write"] {
            assert!(!WIDGET_JS.contains(forbidden), "the widget uses {forbidden}");
        }
        assert_eq!(send(&router, get("/v1/nobody/widget.js")).await.status(), StatusCode::NOT_FOUND);
    }

    /// A tenant's origins are checked when its YAML is loaded.
    #[test]
    fn allowed_origins_must_be_origins() {
        let yaml = switchboard_engine::tenant::DEMO_TENANT_YAML.replace(
            r#"allowed_origins: ["http://localhost:*"]"#,
            r#"allowed_origins: ["https://shop.example/path", "*"]"#,
        );
        let error = switchboard_engine::tenant::Tenant::from_yaml("t", &yaml).map(|_| ()).expect_err("refused");
        let text = error.to_string();
        assert!(text.contains("allowed_origins[0]") && text.contains("allowed_origins[1]"), "{text}");
    }
}
