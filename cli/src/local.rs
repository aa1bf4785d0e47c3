//! `switchboard serve`: the embedded default behind one local HTTP server.

use anyhow::{Context, Result};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use switchboard::adapters::memory::MemoryTenants;
use switchboard::channels::webchat::Identity;
use switchboard::cost::{self, Month, report::CostReport};
use switchboard::domain::{CustomerId, TenantId};
use switchboard::embedded::{Embedded, Options};
use switchboard::ports::CustomerStore;
use switchboard::tenant::TenantDirectory;

const CHAT_PAGE: &str = include_str!("chat.html");

/// Runs until Ctrl-C.
/// Refuses a non-loopback address unless asked for explicitly: the local server's `/local/*`
/// routes sign any customer's identity, show every transcript and let anyone answer as an
/// agent. It is a development tool, never a deployment.
pub fn check_bind(host: std::net::IpAddr, allow_network: bool) -> Result<()> {
    if host.is_loopback() || allow_network {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to serve on {host}: the local server has no authentication and its /local routes sign any \
         customer's identity and show every transcript. Use 127.0.0.1, or pass --allow-network on a network \
         you trust (deploy with SAM for anything public)"
    )
}

/// Serves the tenants in `sources` (`(file name, YAML)`), loaded as the Lambda functions load
/// theirs: through the tenant catalog, API bases off the providers' hosts refused unless
/// `SWITCHBOARD_ALLOWED_ENDPOINTS` lists their origin. There is no Parameter Store locally: a
/// tenant that names an SSM parameter does not load (put the value in the file).
pub async fn serve(
    addr: SocketAddr,
    sources: Vec<(String, String)>,
    customer_files: &[String],
    allow_network: bool,
) -> Result<()> {
    let allowed = std::env::var("SWITCHBOARD_ALLOWED_ENDPOINTS")
        .map(|v| v.split(',').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect())
        .unwrap_or_default();
    let secrets = Arc::new(switchboard::adapters::memory::MemorySecrets::default());
    let tenants = MemoryTenants::from_yaml(&sources, secrets, allowed).await.context("loading the tenants")?;
    let names: Vec<String> = tenants.ids().iter().map(ToString::to_string).collect();
    let ids = tenants.ids();
    let app = Arc::new(Embedded::start_with(tenants, Options::default()).await?);
    for spec in customer_files {
        let (tenant, file) = crate::customers::target(spec, &ids)?;
        let format = crate::customers::format_of(&file, None)?;
        let keep = match app.tenants.tenant(&tenant).await? {
            Some(found) => found.config.data.retention.profile_expiry(chrono::Utc::now()),
            None => None,
        };
        let store = app.customers.as_ref();
        let report = crate::customers::import_file(store, &tenant, keep, &file, format, false, None).await?;
        anyhow::ensure!(report.rejected.is_empty(), "{}: fix the rejected rows before serving", file.display());
    }
    let router = server(app, allow_network);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("Switchboard is listening on {url}  (tenants: {})", names.join(", "));
    println!("  chat page:    {url}/?tenant={}", names.first().map(String::as_str).unwrap_or("demo"));
    println!("  web chat API: POST {url}/v1/{{tenant}}/webchat/messages");
    println!("  escalations:  {url}/local/escalations");
    println!("  local tier:   n-gram model; {}", switchboard::classify::encoder::status());
    println!(
        "  agent reply:  POST {url}/local/conversations/{{tenant}}/{{id}}/agent-reply {{\"text\": …}}; solve: POST …/release"
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Everything `serve` answers. Bound to loopback, it is still reachable from any page the
/// developer's browser opens: a page on `evil.example` whose name is made to resolve to
/// 127.0.0.1 (DNS rebinding) calls it as a same-origin site. Its `Host` header then names that
/// site, so only loopback names are answered unless the network was asked for.
pub fn server(app: Arc<Embedded>, allow_network: bool) -> Router {
    let router = app.router().merge(app.local_helpdesk_routes()).merge(local_routes(app.clone()));
    if allow_network {
        return router;
    }
    router.layer(axum::middleware::from_fn(loopback_host_only))
}

async fn loopback_host_only(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let host = request.headers().get(axum::http::header::HOST).and_then(|h| h.to_str().ok());
    if host.is_some_and(is_loopback_host) {
        return next.run(request).await;
    }
    let message = "this development server answers only a loopback Host (localhost, 127.0.0.1, [::1]); \
                   pass --allow-network to serve other names";
    (StatusCode::MISDIRECTED_REQUEST, Json(json!({"error": {"code": "host_not_allowed", "message": message}})))
        .into_response()
}

/// `localhost`, `*.localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(ip, _)| ip),
        None => {
            Some(host.rsplit_once(':').map_or(
                host,
                |(name, port)| {
                    if port.chars().all(|c| c.is_ascii_digit()) { name } else { host }
                },
            ))
        }
    };
    let Some(name) = name.map(|n| n.trim_end_matches('.').to_ascii_lowercase()) else { return false };
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Routes that exist only in the local server: the chat page and views into the embedded app.
pub fn local_routes(app: Arc<Embedded>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/local/escalations", get(escalations))
        .route("/local/dead-letters", get(|State(app): State<Arc<Embedded>>| async move { Json(app.dead_letters()) }))
        .route("/local/customers/{tenant}", get(customers))
        .route("/local/identity/{tenant}/{customer}", get(identity))
        .route("/local/costs/{tenant}", get(costs_json))
        .route("/costs", get(costs_page))
        .with_state(app)
}

/// `?month=YYYY-MM&limit=N` (this month, 50 requests by default) — and `tenant` for the page.
#[derive(serde::Deserialize)]
struct CostQuery {
    tenant: Option<String>,
    month: Option<String>,
    limit: Option<usize>,
}

/// The report of `tenant` from the embedded ledger, or why not (a bad month is the caller's
/// mistake: 400; an unknown tenant: 404).
async fn report(app: &Embedded, tenant: &str, query: &CostQuery) -> Result<CostReport, (StatusCode, Json<Value>)> {
    let error = |status: StatusCode, code: &str, message: &str| {
        (status, Json(json!({"error": {"code": code, "message": message}})))
    };
    let now = chrono::Utc::now();
    let month = match query.month.as_deref().filter(|m| !m.is_empty()) {
        Some(m) => {
            Month::parse(m).ok_or_else(|| error(StatusCode::BAD_REQUEST, "bad_month", "month must be YYYY-MM"))?
        }
        None => Month::of(now),
    };
    let not_found = || error(StatusCode::NOT_FOUND, "unknown_tenant", "no such tenant");
    let id = TenantId::new(tenant).map_err(|_| not_found())?;
    let config = app.tenants.tenant(&id).await.ok().flatten().ok_or_else(not_found)?;
    let limit = query.limit.unwrap_or(50).min(1000);
    let report = cost::report::build(
        app.ledger.as_ref(),
        &app.costs.prices,
        &id,
        Some(&config.config.budget),
        month,
        now,
        limit,
    )
    .await
    .map_err(|e| error(StatusCode::SERVICE_UNAVAILABLE, "ledger_unavailable", &e.to_string()))?;
    report
        .with_reviews(app.conversations.as_ref(), &id)
        .await
        .map_err(|e| error(StatusCode::SERVICE_UNAVAILABLE, "conversations_unavailable", &e.to_string()))
}

async fn costs_json(
    State(app): State<Arc<Embedded>>,
    Path(tenant): Path<String>,
    Query(query): Query<CostQuery>,
) -> impl IntoResponse {
    match report(&app, &tenant, &query).await {
        Ok(report) => (StatusCode::OK, Json(serde_json::to_value(report).unwrap_or_default())).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The report page with tenant and month pickers (the demo tenant by default).
async fn costs_page(State(app): State<Arc<Embedded>>, Query(query): Query<CostQuery>) -> impl IntoResponse {
    let tenants: Vec<String> = app.tenants.ids().iter().map(ToString::to_string).collect();
    let tenant = query.tenant.clone().or_else(|| tenants.first().cloned()).unwrap_or_default();
    match report(&app, &tenant, &query).await {
        Ok(report) => Html(cost::html::render(&report, Some(&tenants))).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn escalations(State(app): State<Arc<Embedded>>) -> Json<Vec<Value>> {
    Json(
        app.helpdesk
            .tickets()
            .into_iter()
            .map(|(ticket, escalation)| json!({ "ticket": ticket, "escalation": escalation }))
            .collect(),
    )
}

/// Most customers the chat page offers to sign in as.
const SIGN_IN_CHOICES: usize = 50;

async fn customers(State(app): State<Arc<Embedded>>, Path(tenant): Path<String>) -> impl IntoResponse {
    let Ok(id) = TenantId::new(tenant) else { return (StatusCode::NOT_FOUND, Json(json!([]))) };
    let Ok(Some(tenant)) = app.tenants.tenant(&id).await else { return (StatusCode::NOT_FOUND, Json(json!([]))) };
    // The customer store's profiles (the file's seeds and any `--customers` import), not the
    // tenant's configuration, which holds none.
    let list: Vec<Value> = app
        .customers
        .list(&tenant.id, SIGN_IN_CHOICES)
        .iter()
        .map(|c| json!({"id": c.id, "name": c.name, "tier": c.tier}))
        .collect();
    (StatusCode::OK, Json(Value::Array(list)))
}

/// Signs a seeded customer's id the way the tenant's own site would after a login, so a person
/// trying the chat page can be "signed in". Local only: production has no such route.
async fn identity(
    State(app): State<Arc<Embedded>>,
    Path((tenant, customer)): Path<(String, String)>,
) -> impl IntoResponse {
    let not_found =
        || (StatusCode::NOT_FOUND, Json(json!({"error": {"code": "not_found", "message": "no such customer"}})));
    let (Ok(tid), Ok(cid)) = (TenantId::new(tenant), CustomerId::new(customer)) else { return not_found() };
    let Ok(Some(tenant)) = app.tenants.tenant(&tid).await else { return not_found() };
    let Some(webchat) = tenant.config.channels.webchat.as_ref() else { return not_found() };
    if !matches!(app.customers.customer(&tid, &cid).await, Ok(Some(_))) {
        return not_found();
    }
    // As a site would sign at a page load: valid for an hour.
    let identity = Identity::signed(&webchat.identity_secret, cid.as_str(), Utc::now() + chrono::Duration::hours(1));
    (StatusCode::OK, Json(json!(identity)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::Tenant;

    #[test]
    fn the_local_server_binds_only_loopback_unless_asked() {
        let public: std::net::IpAddr = "0.0.0.0".parse().unwrap();
        let error = check_bind(public, false).unwrap_err().to_string();
        assert!(error.contains("--allow-network") && error.contains("sign any"), "{error}");
        assert!(check_bind(public, true).is_ok());
        assert!(check_bind("127.0.0.1".parse().unwrap(), false).is_ok());
        assert!(check_bind("::1".parse().unwrap(), false).is_ok());
    }

    /// DNS rebinding: a page on another site whose name resolves to 127.0.0.1 reaches the
    /// local server as that site, `/local/identity` signs any customer and `/costs` shows every
    /// tenant's. Only loopback Host values are answered unless `--allow-network`.
    #[tokio::test]
    async fn the_local_server_answers_only_loopback_host_names_unless_asked() {
        use tower::ServiceExt;
        let options = Options { print_escalations: false, ..Options::default() };
        let app = Arc::new(Embedded::start(vec![Tenant::demo().unwrap()], options).await.unwrap());
        let status = |router: Router, host: &'static str, path: &'static str| async move {
            let request = axum::http::Request::get(path).header("host", host).body(axum::body::Body::empty()).unwrap();
            router.oneshot(request).await.unwrap().status()
        };
        let guarded = server(app.clone(), false);
        for host in [
            "evil.example",
            "evil.example:3000",
            "127.0.0.1.evil.example",
            "localhost.evil.example:80",
            "10.0.0.5:3000",
        ] {
            for path in ["/local/identity/demo/c-1001", "/costs", "/healthz"] {
                assert_eq!(status(guarded.clone(), host, path).await, StatusCode::MISDIRECTED_REQUEST, "{host}{path}");
            }
        }
        for host in ["localhost:3000", "127.0.0.1:3000", "[::1]:3000", "127.0.0.1", "app.localhost:8080"] {
            assert_eq!(status(guarded.clone(), host, "/local/identity/demo/c-1001").await, StatusCode::OK, "{host}");
        }
        let open = server(app, true);
        assert_eq!(status(open, "shop.lan:3000", "/healthz").await, StatusCode::OK, "--allow-network serves any name");
    }

    async fn get(router: &Router, uri: &str) -> (StatusCode, Value) {
        use tower::ServiceExt;
        let request = axum::http::Request::get(uri).body(axum::body::Body::empty()).unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// The chat page's "signed in as" lists the customer store's profiles: on `serve`'s path
    /// the tenant's configuration holds no customers (they are split off as seeds), and the
    /// list was empty (the browser check failed on 1d3c… with no option to pick).
    #[tokio::test]
    async fn the_sign_in_choices_are_the_stored_customers() {
        let secrets = Arc::new(switchboard::adapters::memory::MemorySecrets::default());
        let sources = vec![("demo.yaml".to_string(), switchboard::tenant::DEMO_TENANT_YAML.to_string())];
        let tenants = MemoryTenants::from_yaml(&sources, secrets, Vec::new()).await.unwrap();
        let options = Options { print_escalations: false, ..Options::default() };
        let app = Arc::new(Embedded::start_with(tenants, options).await.unwrap());
        let router = local_routes(app);
        let (status, list) = get(&router, "/local/customers/demo").await;
        assert_eq!(status, StatusCode::OK);
        let ids: Vec<&str> = list.as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
        assert_eq!(ids, ["c-1001", "c-1002", "c-1003", "c-1004"], "{list}");
    }

    /// A pilot's decisions to review and the questions the bot could not answer reach the
    /// business on the local cost page and its JSON: the customer's words (escaped on the
    /// page), what the bot would have said, what to write next.
    #[tokio::test]
    async fn the_cost_page_lists_the_pilots_decisions_and_the_unanswered_questions() {
        use tower::ServiceExt;
        let mut demo = Tenant::demo().unwrap();
        demo.config.rollout.intents.insert("opening_hours".into(), switchboard::domain::RolloutMode::Shadow);
        demo.config.rollout.review_share = 1.0;
        let options = Options { print_escalations: false, ..Options::default() };
        let app = Arc::new(Embedded::start(vec![demo], options).await.unwrap());
        let router = app.router().merge(local_routes(app.clone()));
        for (visitor, text) in [
            ("v_review", "What are your opening hours? <b>now</b>"),
            ("v_gift", "Do you sell gift cards for weddings?"),
        ] {
            let body = json!({"visitor_id": visitor, "text": text}).to_string();
            let post = axum::http::Request::post("/v1/demo/webchat/messages")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            assert_eq!(router.clone().oneshot(post).await.unwrap().status(), StatusCode::ACCEPTED);
        }
        let mut report = Value::Null;
        for _ in 0..100 {
            let (status, body) = get(&router, "/local/costs/demo").await;
            assert_eq!(status, StatusCode::OK, "{body}");
            report = body;
            if report["messages"] == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let kept = &report["pilot_review"];
        assert_eq!(kept.as_array().map(Vec::len), Some(1), "{kept}");
        let unanswered = &report["unanswered"];
        assert_eq!(unanswered[0]["count"], 1, "{unanswered}");
        assert_eq!(unanswered[0]["examples"][0], "Do you sell gift cards for weddings?");
        assert_eq!(kept[0]["mode"], "shadow", "{kept}");
        assert_eq!(kept[0]["intent"], "opening_hours");
        assert_eq!(kept[0]["decision"], "answer");
        let page =
            router.oneshot(axum::http::Request::get("/costs?tenant=demo").body(axum::body::Body::empty()).unwrap());
        let page = page.await.unwrap();
        let bytes = axum::body::to_bytes(page.into_body(), 1 << 22).await.unwrap();
        let html = String::from_utf8_lossy(&bytes);
        assert!(html.contains("Pilot decisions to review"), "the page has the section");
        assert!(html.contains("opening hours? &lt;b&gt;now&lt;/b&gt;"), "the customer's words, escaped");
        assert!(html.contains("Do you sell gift cards for weddings?"), "what to write next");
    }

    /// The report's JSON on the local server: every field a cost owner's tools read, totals
    /// that add up, and honest errors for a bad month or an unknown tenant.
    #[tokio::test]
    async fn the_cost_report_json_has_every_field_and_adds_up() {
        use tower::ServiceExt;
        let options = Options { print_escalations: false, ..Options::default() };
        let app = Arc::new(Embedded::start(vec![Tenant::demo().unwrap()], options).await.unwrap());
        let router = app.router().merge(local_routes(app.clone()));
        for text in ["What are your opening hours?", "I want to talk to a human"] {
            let body = json!({"visitor_id": format!("v_{}", text.len()), "text": text}).to_string();
            let post = axum::http::Request::post("/v1/demo/webchat/messages")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            assert_eq!(router.clone().oneshot(post).await.unwrap().status(), StatusCode::ACCEPTED);
        }
        let mut report = Value::Null;
        for _ in 0..100 {
            let (status, body) = get(&router, "/local/costs/demo?limit=3").await;
            assert_eq!(status, StatusCode::OK, "{body}");
            report = body;
            if report["messages"] == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        for field in [
            "tenant",
            "month",
            "currency",
            "price_table",
            "total_nanos",
            "by_component",
            "by_channel",
            "by_intent",
            "by_day",
            "messages",
            "conversations",
            "per_1000_messages_usd",
            "automated_resolutions",
            "cost_per_resolution_usd",
            "budget",
            "requests",
        ] {
            assert!(!report[field].is_null(), "{field} missing: {report}");
        }
        for field in ["id", "region", "as_of"] {
            assert!(report["price_table"][field].is_string(), "price_table.{field}");
        }
        for field in ["limit_nanos", "used_nanos", "state", "forecast_nanos"] {
            assert!(!report["budget"][field].is_null(), "budget.{field}");
        }
        assert_eq!(report["messages"], 2);
        assert_eq!(report["conversations"], 2);
        // The answered conversation may still resolve (24 hours have not passed); the escalated
        // one never will.
        assert_eq!(report["automated_resolutions"], 0);
        assert_eq!(report["resolutions_pending"], 1, "the escalated conversation is not a resolution");
        assert_eq!(report["budget"]["limit_nanos"], 25_000_000_000u64);
        assert_eq!(report["budget"]["state"], "ok");
        let sum: u64 = report["by_component"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(report["total_nanos"].as_u64(), Some(sum), "total = sum of the components");
        assert!(sum > 0);
        for c in ["lambda", "api_gateway", "dynamodb", "sqs", "model", "logs"] {
            assert!(report["by_component"][c].is_u64(), "{c} listed");
        }
        let requests = report["requests"].as_array().unwrap();
        assert_eq!(requests.len(), 3, "?limit= holds");
        let at: Vec<&str> = requests.iter().map(|r| r["at"].as_str().unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] >= w[1]), "newest first: {at:?}");
        let (_, all) = get(&router, "/local/costs/demo?limit=100").await;
        let responder: Vec<&Value> =
            all["requests"].as_array().unwrap().iter().filter(|r| r["function"] == "responder").collect();
        assert_eq!(responder.len(), 2);
        for r in &responder {
            // Each handled item is an invocation here, as a batch is in Lambda: $0.20 per million.
            assert!(r["components"]["lambda"].as_u64().unwrap() >= 200, "the invocation fee is charged: {r}");
        }
        for r in requests {
            for field in ["request_id", "function", "channel", "at", "cost_nanos", "components"] {
                assert!(!r[field].is_null(), "request.{field}: {r}");
            }
        }
        let (status, body) = get(&router, "/local/costs/demo?month=2026-13").await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_month")));
        let (status, _) = get(&router, "/local/costs/nobody").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, empty) = get(&router, "/local/costs/demo?month=2020-01").await;
        assert_eq!((status, empty["total_nanos"].as_u64()), (StatusCode::OK, Some(0)), "an empty month is zero");
    }
}
