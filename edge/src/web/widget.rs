//! What a business pastes into its site: `GET /v1/{tenant}/widget.js`, one self-contained script
//! (no third-party code, no inline styles or `eval`, so it runs under a strict
//! Content-Security-Policy), and the CORS rules that let pages on the tenant's own sites, and no
//! others, call the web chat routes from a browser.

use super::ApiError;
use super::webchat::Api;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The widget's source (`edge/src/web/widget.js`).
pub const WIDGET_JS: &str = include_str!("widget.js");

/// How long a browser may reuse a preflight answer: a tenant's origin change reaches browsers
/// within ten minutes.
const PREFLIGHT_MAX_AGE: &str = "600";

/// `GET /v1/{tenant}/widget.js`. Unknown tenants (and tenants without web chat) get 404, like
/// every other route of theirs.
pub(super) async fn script(State(api): State<Arc<Api>>, Path(tenant): Path<String>) -> Result<Response, ApiError> {
    let tenant = api.tenant(&tenant).await?;
    tenant.config.channels.webchat.as_ref().ok_or_else(ApiError::unknown_tenant)?;
    let headers = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=300"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Pages that isolate themselves (COEP) may still load it.
        (header::HeaderName::from_static("cross-origin-resource-policy"), "cross-origin"),
    ];
    Ok((headers, WIDGET_JS).into_response())
}

/// `OPTIONS` on the web chat routes: the browser's preflight. [`cors`] answers it.
pub(super) async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// CORS for the web chat routes. A request without `Origin`, or from the API's own origin, is not
/// a cross-site browser call and passes untouched. Otherwise the origin must be one the tenant
/// lists (`channels.webchat.allowed_origins`): then the response (and the preflight) carries the
/// CORS headers for that origin alone; if not, the request is refused with 403 before it does
/// anything, so another site's page cannot chat on the business's account even with requests
/// a browser sends without a preflight.
pub(super) async fn cors(State(api): State<Arc<Api>>, request: Request, next: Next) -> Response {
    let Some(origin) = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string) else {
        return next.run(request).await;
    };
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if origin.split_once("://").is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)) {
        return next.run(request).await;
    }
    // Every route this guards is /v1/{tenant}/...
    let tenant = request.uri().path().split('/').nth(2).unwrap_or_default().to_string();
    let tenant = match api.tenant(&tenant).await {
        Ok(tenant) => tenant,
        Err(error) => return error.into_response(),
    };
    if !tenant.config.channels.webchat.as_ref().is_some_and(|w| w.allows_origin(&origin)) {
        tracing::info!(tenant = %tenant.id, "web chat call from an origin the tenant does not list; refused");
        return ApiError::origin_not_allowed().into_response();
    }
    let preflight = request.method() == Method::OPTIONS;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(origin) = HeaderValue::from_str(&origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    headers.insert(header::VARY, HeaderValue::from_static("origin"));
    if preflight {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type"));
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(PREFLIGHT_MAX_AGE));
    } else {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("retry-after"));
    }
    response
}
