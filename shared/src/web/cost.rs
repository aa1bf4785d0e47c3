//! Every HTTP request is one Lambda invocation and one API Gateway request: measured here, for
//! the routes and `switchboard serve` alike, and written to the tenant's ledger. Requests for a
//! tenant that does not exist are not recorded: an outsider must not be able to create ledger
//! partitions (or bill anyone) by inventing tenant names.

use super::{Api, RequestId};
use crate::cost::{Attribution, Function, Outcome};
use crate::domain::{Channel, TenantId};
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

pub(super) async fn meter_request(State(api): State<Arc<Api>>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    crate::cost::lambda::invocation_started();
    let (mut parts, body) = request.into_parts();
    let RequestId(request_id) = match RequestId::from_request_parts(&mut parts, &()).await {
        Ok(id) => id,
        Err(never) => match never {},
    };
    // The id the handler sees is the one the record carries.
    parts.extensions.insert(RequestId(request_id.clone()));
    let segments: Vec<&str> = parts.uri.path().trim_start_matches('/').split('/').collect();
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
    let (response, mut units) = crate::meter::measure(async {
        let response = next.run(request).await;
        crate::cost::lambda::bill(started.elapsed());
        response
    })
    .await;
    units.api_requests += crate::cost::units::api_requests(bytes.unwrap_or(0));
    let Some(tenant) = tenant else { return response };
    if !matches!(api.tenants.tenant(&tenant).await, Ok(Some(_))) {
        return response;
    }
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
