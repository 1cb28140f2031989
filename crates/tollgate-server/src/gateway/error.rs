//! Gateway errors, rendered in each API family's own error shape so official SDKs raise their normal
//! exceptions (SPEC 2.2).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tollgate_core::quota::{RejectKind, Rejection};
use tollgate_core::window::WindowClock;
use tollgate_store::StoreError;

/// Which error shape a route answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    Anthropic,
    OpenAi,
    Gemini,
}

/// Everything that can stop a gateway request.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("missing API key: send it in the {0} header")]
    MissingKey(&'static str),
    #[error("invalid API key")]
    InvalidKey,
    #[error("this account is disabled")]
    UserDisabled,
    #[error("this API key may not be used on the {0} platform")]
    PlatformNotAllowed(String),
    #[error("{message}")]
    BadRequest { message: String },
    #[error("request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("model {0:?} has no price configured, and unknown models are rejected")]
    UnknownModel(String),
    #[error("{message}")]
    Quota { rejection: Rejection, message: String },
    /// A rate limit (docs/rate-limits.md): 429 with Retry-After.
    #[error("{}", .0.message())]
    RateLimited(crate::rate_limit::RateRefusal),
    #[error("no such route: {0}")]
    NoRoute(String),
    #[error("no enabled upstream account for the {0} platform")]
    NoUpstream(String),
    #[error("upstream unavailable: {0}")]
    Upstream(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The settlement journal cannot be written: a charge could not be committed (503).
    #[error("the gateway cannot record charges right now (settlement journal unwritable); retry later")]
    BillingUnavailable,
}

impl From<crate::rate_limit::AdmitError> for GatewayError {
    fn from(e: crate::rate_limit::AdmitError) -> Self {
        match e {
            crate::rate_limit::AdmitError::Refused(r) => GatewayError::RateLimited(r),
            crate::rate_limit::AdmitError::Store(e) => GatewayError::Store(e),
        }
    }
}

impl GatewayError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        GatewayError::BadRequest { message: message.into() }
    }

    /// A quota rejection with its message in the quota zone.
    pub fn quota(rejection: Rejection, clock: &WindowClock) -> Self {
        GatewayError::Quota { message: rejection.message(clock), rejection }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::MissingKey(_) | GatewayError::InvalidKey => StatusCode::UNAUTHORIZED,
            GatewayError::UserDisabled | GatewayError::PlatformNotAllowed(_) => StatusCode::FORBIDDEN,
            GatewayError::BadRequest { .. } | GatewayError::UnknownModel(_) => StatusCode::BAD_REQUEST,
            GatewayError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::Quota { rejection, .. } => match rejection.kind {
                RejectKind::Exhausted | RejectKind::Reserved { .. } => StatusCode::TOO_MANY_REQUESTS,
                RejectKind::Disabled | RejectKind::Spent => StatusCode::FORBIDDEN,
            },
            GatewayError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::NoRoute(_) => StatusCode::NOT_FOUND,
            GatewayError::NoUpstream(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Upstream(_) => StatusCode::BAD_GATEWAY,
            GatewayError::BillingUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::MissingKey(_) => "missing_api_key",
            GatewayError::InvalidKey => "invalid_api_key",
            GatewayError::UserDisabled => "account_disabled",
            GatewayError::PlatformNotAllowed(_) => "platform_not_allowed",
            GatewayError::BadRequest { .. } => "invalid_request",
            GatewayError::BodyTooLarge { .. } => "request_too_large",
            GatewayError::UnknownModel(_) => "unknown_model",
            GatewayError::Quota { rejection, .. } => rejection.code(),
            GatewayError::RateLimited(_) => "rate_limit_exceeded",
            GatewayError::NoRoute(_) => "not_found",
            GatewayError::NoUpstream(_) => "no_upstream",
            GatewayError::Upstream(_) => "upstream_unavailable",
            GatewayError::BillingUnavailable => "billing_unavailable",
            GatewayError::Store(_) => "internal_error",
        }
    }

    /// Renders in `shape`, logging server-side failures once, here.
    pub fn into_response_as(self, shape: ErrorShape) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, code = self.code(), "gateway request failed");
        }
        // Internal details stay in the log, and so do upstream failures: their detail can name an
        // upstream account, its host or a Cloud Code project id (docs/security.md).
        let message = match &self {
            GatewayError::Store(_) => "internal error; retry later".to_owned(),
            GatewayError::Upstream(_) => {
                "upstream unavailable: no upstream account could answer; retry later".to_owned()
            }
            other => other.to_string(),
        };
        // A quota refusal names whose limit refused (`user` or `api_key`) and the window
        // (`lifetime` for a key's lifetime budget); the message adds usage, limit and reset time.
        let (window, owner) = match &self {
            GatewayError::Quota { rejection, .. } => {
                let owner = match rejection.owner {
                    tollgate_core::quota::QuotaOwner::User(_) => "user",
                    tollgate_core::quota::QuotaOwner::Key(_) => "api_key",
                };
                (Some(rejection.window_name()), Some(owner))
            }
            _ => (None, None),
        };
        // Which rate limit: `user_rpm`, `key_concurrency`, … (the message says it in words).
        let rate_limit = match &self {
            GatewayError::RateLimited(r) => Some(format!("{}_{}", r.subject.as_str(), r.kind.as_str())),
            _ => None,
        };
        let mut body = match shape {
            ErrorShape::Anthropic => json!({
                "type": "error",
                "error": {"type": anthropic_type(status), "message": message, "code": self.code(), "window": window, "quota_owner": owner},
            }),
            ErrorShape::OpenAi => json!({
                "error": {"message": message, "type": openai_type(&self, status), "param": null, "code": self.code(), "window": window, "quota_owner": owner},
            }),
            ErrorShape::Gemini => json!({
                "error": {
                    "code": status.as_u16(),
                    "message": message,
                    "status": google_status(status),
                    "details": [{
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": self.code(),
                        "domain": "tollgate",
                        "metadata": match (window, &rate_limit) {
                            (Some(w), _) => json!({"window": w, "quota_owner": owner}),
                            (None, Some(r)) => json!({"rate_limit": r}),
                            (None, None) => json!({}),
                        },
                    }],
                },
            }),
        };
        if let (Some(r), ErrorShape::Anthropic | ErrorShape::OpenAi) = (&rate_limit, shape)
            && let Some(e) = body.get_mut("error").and_then(|e| e.as_object_mut())
        {
            e.insert("rate_limit".into(), json!(r));
        }
        let mut resp = (status, axum::Json(body)).into_response();
        let retry_after = match &self {
            GatewayError::Quota { rejection, .. }
                if matches!(rejection.kind, RejectKind::Exhausted | RejectKind::Reserved { .. }) =>
            {
                Some(rejection.retry_after_secs)
            }
            GatewayError::RateLimited(r) => Some(r.retry_after_secs),
            _ => None,
        };
        if let Some(v) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// Anthropic's error `type` for a status.
fn anthropic_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        _ => "api_error",
    }
}

fn openai_type(e: &GatewayError, status: StatusCode) -> &'static str {
    match (e, status.as_u16()) {
        (GatewayError::Quota { rejection, .. }, _)
            if matches!(rejection.kind, RejectKind::Exhausted | RejectKind::Reserved { .. }) =>
        {
            "insufficient_quota"
        }
        (_, 400 | 401 | 404 | 413) => "invalid_request_error",
        (_, 403) => "permission_error",
        (_, 429) => "rate_limit_error",
        _ => "server_error",
    }
}

/// The google.rpc status name for an HTTP status.
fn google_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::money::Money;
    use tollgate_core::platform::Platform;
    use tollgate_core::window::QuotaWindow;

    #[test]
    fn exhausted_is_429_with_retry_after_in_every_shape() {
        let rejection = Rejection {
            kind: RejectKind::Exhausted,
            owner: tollgate_core::quota::QuotaOwner::User(1),
            platform: Platform::Gemini,
            window: QuotaWindow::Weekly,
            usage: Money::ONE,
            limit: Money::ONE,
            resets_at: jiff::Timestamp::UNIX_EPOCH,
            retry_after_secs: 61,
        };
        for shape in [ErrorShape::Anthropic, ErrorShape::OpenAi, ErrorShape::Gemini] {
            let r = GatewayError::quota(rejection, &WindowClock::utc()).into_response_as(shape);
            assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(r.headers()[header::RETRY_AFTER], "61");
        }
    }
}
