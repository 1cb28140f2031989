//! Response headers that keep the console from being framed, sniffed or leaking its URLs
//! (docs/security.md). Gateway routes (the providers' wire APIs) are left as the upstream answers.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy of the console's pages: everything from this origin only; inline styles are allowed
/// because Vue sets `style` attributes on elements (no inline script); the favicon is a `data:` URL.
pub const UI_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The policy of API answers: nothing may load from them, nothing may frame them.
pub const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Whether `path` is one of the providers' wire APIs.
pub fn is_gateway_path(path: &str) -> bool {
    let p = path.strip_prefix("/antigravity").unwrap_or(path);
    p.starts_with("/v1/") || p.starts_with("/v1beta/") || p == "/v1" || p == "/v1beta"
}

/// Middleware: sets the headers on every console and UI response.
pub async fn add(req: Request, next: Next) -> Response {
    if is_gateway_path(req.uri().path()) {
        return next.run(req).await;
    }
    let mut resp = next.run(req).await;
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let policy = if html { UI_POLICY } else { API_POLICY };
    let h = resp.headers_mut();
    let set: [(HeaderName, &'static str); 4] = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, policy),
    ];
    for (name, value) in set {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    resp
}
