//! The HTTP API: the same axum router serves the `inbound` Lambda (through `lambda_http`) and
//! `switchboard serve`, so local runs exercise exactly the production routes.

mod error;
mod helpdesk;
mod providers;
mod webchat;

pub use error::ApiError;
pub use webchat::{MessagePage, PageMessage, PostAck, WebchatApi};

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::{get, post};
use std::convert::Infallible;
use std::sync::Arc;

/// Largest request body accepted. The text limit is smaller (per tenant, in characters); this
/// stops oversize bodies before they are buffered.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The inbound routes.
pub fn router(api: Arc<WebchatApi>) -> Router {
    Router::new()
        .route("/v1/{tenant}/webchat/messages", post(webchat::post_message))
        .route("/v1/{tenant}/webchat/conversations/{conversation}/messages", get(webchat::get_messages))
        .route("/v1/{tenant}/twilio", post(providers::twilio_webhook))
        .route("/v1/{tenant}/telegram", post(providers::telegram_webhook))
        .route("/v1/{tenant}/slack", post(providers::slack_webhook))
        .route("/v1/{tenant}/email", post(providers::email_webhook))
        .route("/v1/{tenant}/email/ses", post(providers::ses_webhook))
        .route("/v1/{tenant}/whatsapp", get(providers::whatsapp_challenge).post(providers::whatsapp_webhook))
        .route("/v1/{tenant}/helpdesk/{kind}", post(helpdesk::callback))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
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
