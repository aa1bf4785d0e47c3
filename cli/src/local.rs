//! `switchboard serve`: the embedded default behind one local HTTP server.

use anyhow::{Context, Result};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use switchboard::Tenant;
use switchboard::channels::webchat::sign_identity;
use switchboard::domain::{CustomerId, TenantId};
use switchboard::embedded::{Embedded, Options};
use switchboard::ports::{CustomerStore, TenantDirectory};

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

pub async fn serve(addr: SocketAddr, tenants: Vec<Tenant>) -> Result<()> {
    let names: Vec<String> = tenants.iter().map(|t| t.id.to_string()).collect();
    let app = Arc::new(Embedded::start(tenants, Options::default()).await?);
    let router = app.router().merge(app.local_helpdesk_routes()).merge(local_routes(app.clone()));
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("Switchboard is listening on {url}  (tenants: {})", names.join(", "));
    println!("  chat page:    {url}/?tenant={}", names.first().map(String::as_str).unwrap_or("demo"));
    println!("  web chat API: POST {url}/v1/{{tenant}}/webchat/messages");
    println!("  escalations:  {url}/local/escalations");
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

/// Routes that exist only in the local server: the chat page and views into the embedded app.
pub fn local_routes(app: Arc<Embedded>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(CHAT_PAGE) }))
        .route("/local/escalations", get(escalations))
        .route("/local/dead-letters", get(|State(app): State<Arc<Embedded>>| async move { Json(app.dead_letters()) }))
        .route("/local/customers/{tenant}", get(customers))
        .route("/local/identity/{tenant}/{customer}", get(identity))
        .with_state(app)
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

async fn customers(State(app): State<Arc<Embedded>>, Path(tenant): Path<String>) -> impl IntoResponse {
    let Ok(id) = TenantId::new(tenant) else { return (StatusCode::NOT_FOUND, Json(json!([]))) };
    let Ok(Some(tenant)) = app.tenants.tenant(&id).await else { return (StatusCode::NOT_FOUND, Json(json!([]))) };
    let list: Vec<Value> =
        tenant.config.customers.iter().map(|c| json!({"id": c.id, "name": c.name, "tier": c.tier})).collect();
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
    let signature = sign_identity(&webchat.identity_secret, cid.as_str());
    (StatusCode::OK, Json(json!({"customer_id": cid, "signature": signature})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_server_binds_only_loopback_unless_asked() {
        let public: std::net::IpAddr = "0.0.0.0".parse().unwrap();
        let error = check_bind(public, false).unwrap_err().to_string();
        assert!(error.contains("--allow-network") && error.contains("sign any"), "{error}");
        assert!(check_bind(public, true).is_ok());
        assert!(check_bind("127.0.0.1".parse().unwrap(), false).is_ok());
        assert!(check_bind("::1".parse().unwrap(), false).is_ok());
    }
}
