//! Layers every request passes before routing (docs/security.md): who the client is (trusted
//! proxies), console writes only as JSON, and the console's security response headers.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::Response;

use crate::state::AppState;

/// Wraps the whole application (the last layer added runs first).
pub fn wrap(app: Router, state: AppState) -> Router {
    app.layer(from_fn(console_json_only))
        .layer(from_fn(crate::security_headers::add))
        .layer(from_fn_with_state(state, crate::console::client::resolve))
}

async fn console_json_only(req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/api/") {
        crate::console::content_type::require_json(req, next).await
    } else {
        next.run(req).await
    }
}
