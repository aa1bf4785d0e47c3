use crate::channels::webchat::WebchatError;
use axum::Json;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use switchboard_core::ports::PortError;
use switchboard_engine::pipeline::InboundError;

/// An error answered as `{"error": {"code", "message"}}` with an honest status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What went wrong, for the developer integrating the widget (no personal data).
    pub message: String,
    /// Seconds after which a retry makes sense (503s, 429s).
    pub retry_after: Option<u32>,
    /// What caused it, for the log line only (port errors carry no personal data): the client
    /// never sees it.
    pub cause: Option<String>,
    /// Every problem of a record refused as invalid, by field path (422s).
    pub problems: Vec<switchboard_engine::customers::FieldError>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None, cause: None, problems: Vec::new() }
    }

    /// 409: the same delivery is being handled; the caller's retry will find it done.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self { retry_after: Some(2), ..Self::new(StatusCode::CONFLICT, "in_progress", message) }
    }

    /// 401 for a data route: no key, or none of the tenant's.
    pub fn bad_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "bad_key",
            "send one of the tenant's data keys as `Authorization: Bearer …`",
        )
    }

    /// 422: the record is well-formed JSON but not a valid one; `problems` names every field.
    pub fn invalid(problems: Vec<switchboard_engine::customers::FieldError>) -> Self {
        Self { problems, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record", "the record has problems") }
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 404 for a tenant that does not exist (or has the channel off).
    pub fn unknown_tenant() -> Self {
        Self::new(StatusCode::NOT_FOUND, "unknown_tenant", "no such tenant")
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 403 for a browser call from a site the tenant does not list.
    pub fn origin_not_allowed() -> Self {
        Self::new(StatusCode::FORBIDDEN, "origin_not_allowed", "this site may not use this web chat")
    }

    /// 503, retry soon.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self { retry_after: Some(2), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message) }
    }

    /// The body did not parse as the JSON we expect.
    pub fn malformed(error: serde_json::Error) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_json", format!("body is not valid: {error}"))
    }

    /// The body could not be read (too large, or broken).
    pub fn body(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "body exceeds this route's size limit")
        } else {
            Self::new(rejection.status(), "bad_body", rejection.body_text())
        }
    }

    /// The query string did not parse.
    pub fn query(rejection: QueryRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

impl From<WebchatError> for ApiError {
    fn from(e: WebchatError) -> Self {
        match e {
            WebchatError::Invalid(m) => Self::bad_request(m),
            WebchatError::TooLong { .. } => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "text_too_long", e.to_string()),
            WebchatError::BadSignature => Self::new(StatusCode::UNAUTHORIZED, "bad_identity", e.to_string()),
            WebchatError::Expired => Self::new(StatusCode::UNAUTHORIZED, "identity_expired", e.to_string()),
            WebchatError::Unexpiring => Self::new(StatusCode::UNAUTHORIZED, "identity_unexpiring", e.to_string()),
        }
    }
}

impl From<crate::channels::ChannelError> for ApiError {
    fn from(e: crate::channels::ChannelError) -> Self {
        match e {
            crate::channels::ChannelError::Unauthorized(_) => {
                Self::new(StatusCode::UNAUTHORIZED, "bad_signature", e.to_string())
            }
            crate::channels::ChannelError::Malformed(_) => {
                Self::new(StatusCode::BAD_REQUEST, "malformed_payload", e.to_string())
            }
        }
    }
}

impl From<PortError> for ApiError {
    fn from(e: PortError) -> Self {
        let error = match e {
            PortError::Misconfigured { .. } => Self::misconfigured(),
            PortError::Corrupt { .. } => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error"),
            _ => Self::unavailable("store_unavailable", "storage is unavailable; retry shortly"),
        };
        error.caused_by(&e)
    }
}

impl ApiError {
    /// 500: the deployment is misconfigured. Not a 503: a retry cannot help until the operator
    /// fixes it, and the log line names the resource.
    pub fn misconfigured() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "misconfigured",
            "this service is misconfigured; its operator has been alerted",
        )
    }

    /// Keeps `cause` for the log line.
    pub fn caused_by(self, cause: &dyn std::fmt::Display) -> Self {
        Self { cause: Some(cause.to_string()), ..self }
    }
}

impl From<switchboard_engine::limits::Limited> for ApiError {
    fn from(e: switchboard_engine::limits::Limited) -> Self {
        let code = if e.what == "visitor" { "visitor_rate_limited" } else { "tenant_rate_limited" };
        let seconds = u32::try_from(e.retry_after).unwrap_or(60);
        Self { retry_after: Some(seconds), ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, e.to_string()) }
    }
}

impl From<InboundError> for ApiError {
    fn from(e: InboundError) -> Self {
        match e {
            InboundError::InProgress => {
                Self::new(StatusCode::CONFLICT, "in_progress", "the same message is being processed; retry shortly")
            }
            InboundError::QueueUnavailable(e @ PortError::Misconfigured { .. }) => Self::misconfigured().caused_by(&e),
            InboundError::QueueUnavailable(e) => {
                Self::unavailable("queue_unavailable", "could not queue the message; retry shortly").caused_by(&e)
            }
            InboundError::Store(p) => p.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            let cause = self.cause.as_deref().unwrap_or("-");
            tracing::error!(status = self.status.as_u16(), code = self.code, cause, "request failed");
        } else {
            tracing::info!(status = self.status.as_u16(), code = self.code, "request refused");
        }
        let mut error = json!({"code": self.code, "message": self.message});
        if !self.problems.is_empty() {
            error["problems"] = json!(self.problems);
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
