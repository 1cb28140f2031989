//! Console writes accept only `application/json`. A cross-site HTML form can send `text/plain`,
//! `application/x-www-form-urlencoded` or `multipart/form-data` without a CORS preflight, but not
//! JSON: refusing everything else closes login CSRF (signing a victim into the attacker's account)
//! and any other form-borne write.

use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;

use super::error::ConsoleError;

/// Whether `value` is `application/json`, parameters (`; charset=utf-8`) allowed.
pub fn is_json(value: &str) -> bool {
    value.split(';').next().is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Middleware for `/api/v1`: a POST, PUT, PATCH or DELETE with a body must declare JSON (415).
pub async fn require_json(req: Request, next: Next) -> Response {
    let writes = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    let has_body = req.body().size_hint().exact() != Some(0);
    if writes && has_body {
        let declared =
            req.headers().get(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if !declared.as_deref().is_some_and(is_json) {
            let got = declared.unwrap_or_else(|| "no Content-Type".to_owned());
            return ConsoleError::UnsupportedMediaType(got).into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_essence() {
        assert!(super::is_json("application/json"));
        assert!(super::is_json("Application/JSON; charset=utf-8"));
        assert!(!super::is_json("text/plain"));
        assert!(!super::is_json("application/jsonx"));
    }
}
