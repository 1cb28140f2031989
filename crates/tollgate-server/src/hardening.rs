//! Layers every request passes before routing (docs/security.md): who the client is (trusted
//! proxies), and the console's content-type and response-header rules.

use axum::Router;

use crate::state::AppState;

/// Wraps the whole application.
pub fn wrap(app: Router, state: AppState) -> Router {
    app.layer(axum::middleware::from_fn_with_state(state, crate::console::client::resolve))
}
