//! The console's one error type, rendered as `{"error":{"code","message","field"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tollgate_core::error::FieldError;
use tollgate_store::StoreError;

/// Everything a console handler can fail with. Each variant knows its status and code.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Bad input, with the offending field path when one field is at fault (400).
    #[error("{message}")]
    Invalid { field: Option<String>, message: String },
    /// No valid session or wrong credentials (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Signed in, but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// A cookie-authenticated write without the matching `X-CSRF-Token` (403).
    #[error("missing or wrong X-CSRF-Token header")]
    CsrfFailed,
    /// (404)
    #[error("{0}")]
    NotFound(String),
    /// A uniqueness rule, e.g. an email already registered (409).
    #[error("{message}")]
    Conflict { field: Option<String>, message: String },
    /// A write whose body is not `application/json` (415): a cross-site form cannot send JSON.
    #[error("the request body must be application/json (got {0})")]
    UnsupportedMediaType(String),
    /// Login throttling (429 with `Retry-After`).
    #[error("too many failed attempts; try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// The database is unreachable (503).
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure (500); the detail is logged, not returned.
    #[error("{0}")]
    Internal(String),
}

impl ConsoleError {
    /// Bad input at `field`.
    pub fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        let field = field.into();
        ConsoleError::Invalid { field: (!field.is_empty()).then_some(field), message: message.to_string() }
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        ConsoleError::NotFound(what.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ConsoleError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ConsoleError::Forbidden(_) | ConsoleError::CsrfFailed => StatusCode::FORBIDDEN,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::Conflict { .. } => StatusCode::CONFLICT,
            ConsoleError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ConsoleError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ConsoleError::Invalid { .. } => "invalid_input",
            ConsoleError::Unauthenticated(_) => "unauthenticated",
            ConsoleError::Forbidden(_) => "forbidden",
            ConsoleError::CsrfFailed => "csrf_failed",
            ConsoleError::NotFound(_) => "not_found",
            ConsoleError::Conflict { .. } => "conflict",
            ConsoleError::UnsupportedMediaType(_) => "unsupported_media_type",
            ConsoleError::TooManyRequests { .. } => "too_many_requests",
            ConsoleError::Unavailable(_) => "unavailable",
            ConsoleError::Internal(_) => "internal",
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ConsoleError::Invalid { field, .. } | ConsoleError::Conflict { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ConsoleError::NotFound("not found".into()),
            StoreError::Conflict(m) => ConsoleError::Conflict { field: None, message: m },
            StoreError::Unavailable(m) => ConsoleError::Unavailable(format!("database unavailable: {m}")),
            StoreError::Invalid(m) | StoreError::Other(m) => ConsoleError::Internal(m),
        }
    }
}

impl From<FieldError> for ConsoleError {
    fn from(e: FieldError) -> Self {
        ConsoleError::invalid(e.field, e.message)
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Logged once, here; internal details never reach the client.
        let message = match &self {
            ConsoleError::Internal(detail) => {
                tracing::error!(error = %detail, "console request failed");
                "internal error".to_owned()
            }
            ConsoleError::Unavailable(detail) => {
                tracing::error!(error = %detail, "console request failed");
                "the database is unavailable; try again".to_owned()
            }
            other => other.to_string(),
        };
        let body = Body { error: Inner { code: self.code(), message, field: self.field() } };
        let mut resp = (status, axum::Json(body)).into_response();
        if let ConsoleError::TooManyRequests { retry_after_secs } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// What every console handler returns.
pub type ConsoleResult<T> = Result<T, ConsoleError>;
