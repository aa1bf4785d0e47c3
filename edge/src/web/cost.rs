//! Every HTTP request is one Lambda invocation and one API Gateway request: measured here, for
//! the routes and `switchboard serve` alike. A request the route accepted — its caller verified
//! — is written to the tenant's ledger. Anything else (refused with 4xx or 5xx, a tenant that
//! does not exist, the public static routes) is counted in the deployment's aggregate
//! ([`switchboard_engine::cost::refused`]): an outsider can send those at will, and must not be able to
//! spend a tenant's budget or create ledger partitions by inventing tenant names.

use super::{Api, RequestId};
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use switchboard_core::domain::{Channel, TenantId};
use switchboard_engine::cost::refused::{Unbilled, UnbilledRequest};
use switchboard_engine::cost::{Attribution, Function, Outcome};

pub(super) async fn meter_request(State(api): State<Arc<Api>>, request: Request, next: Next) -> Response {
    switchboard_engine::cost::lambda::invocation_started();
    let (mut parts, body) = request.into_parts();
    let RequestId(request_id) = match RequestId::from_request_parts(&mut parts, &()).await {
        Ok(id) => id,
        Err(never) => match never {},
    };
    // The id the handler sees is the one the record carries.
    parts.extensions.insert(RequestId(request_id.clone()));
    let segments: Vec<&str> = parts.uri.path().trim_start_matches('/').split('/').collect();
    let public = parts.method == axum::http::Method::OPTIONS || segments.last() == Some(&"widget.js");
    let route = route_of(&segments);
    let function = if parts.method == axum::http::Method::GET && segments.last() == Some(&"messages") {
        Function::Poll
    } else {
        Function::Inbound
    };
    let tenant = match segments.as_slice() {
        ["v1", tenant, ..] => TenantId::new(*tenant).ok(),
        _ => None,
    };
    let path_channel = segments.get(2).and_then(|s| channel_of_route(s));
    // API Gateway meters by the request's size (a missing length: a body-less request).
    let bytes = parts.headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let request = Request::from_parts(parts, body);
    let (response, mut units) = switchboard_engine::cost::lambda::measured(next.run(request)).await;
    units.api_requests += switchboard_engine::cost::units::api_requests(bytes.unwrap_or(0));
    let status = response.status();
    let known = match tenant {
        Some(tenant) if matches!(api.tenants.tenant(&tenant).await, Ok(Some(_))) => Some(tenant),
        _ => None,
    };
    let billed = known.clone().filter(|_| !public && (status.is_success() || status.is_redirection()));
    let Some(tenant) = billed else {
        // Served but unbilled: a public route, or one of no tenant (`/healthz`).
        let served = status.is_success() || status.is_redirection();
        let why = if served { Unbilled::Public } else { Unbilled::Refused(status.as_u16()) };
        let request = UnbilledRequest { request_id, function, route, tenant: known, why, at: api.clock.now() };
        api.costs.unbilled(request, units).await;
        return response;
    };
    let who = Attribution {
        request_id,
        function,
        item: "-".into(),
        tenant,
        channel: units.channel.or(path_channel),
        conversation: None,
        at: api.clock.now(),
    };
    let outcome = Outcome { decision: Some(format!("http_{}", response.status().as_u16())), ..Outcome::default() };
    api.costs.record(who, outcome, units).await;
    response
}

/// A bounded label of the route a request asked for: the path's channel segment (`twilio`,
/// `webchat`, `helpdesk`…) when it is one of ours, else `other` — never the raw path, which an
/// outsider writes.
fn route_of(segments: &[&str]) -> String {
    const KNOWN: [&str; 12] = [
        "webchat",
        "twilio",
        "telegram",
        "slack",
        "email",
        "whatsapp",
        "helpdesk",
        "widget.js",
        "costs",
        "customers",
        "shopify",
        "woocommerce",
    ];
    match segments {
        ["healthz"] => "healthz".into(),
        ["v1", _, kind, ..] if KNOWN.contains(kind) => (*kind).to_string(),
        ["v1", ..] => "v1-other".into(),
        _ => "other".into(),
    }
}

/// The channel a route serves, when the route alone says (a Twilio webhook does not: SMS or
/// WhatsApp is in its body, and the pipeline reports it).
fn channel_of_route(segment: &str) -> Option<Channel> {
    match segment {
        "webchat" => Some(Channel::Webchat),
        "telegram" => Some(Channel::Telegram),
        "slack" => Some(Channel::Slack),
        "email" => Some(Channel::Email),
        "whatsapp" => Some(Channel::WhatsappCloud),
        _ => None,
    }
}
