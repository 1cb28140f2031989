//! Every route, in one place.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};

use crate::console::error::ConsoleError;
use crate::console::{admin, auth, meta, oauth, openapi, user};
use crate::state::AppState;
use crate::ui;

/// The console API, mounted at `/api/v1`. Keep `console/openapi.json` in step with this list.
pub fn console_routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::openapi))
        .route("/meta", get(meta::meta))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/register", post(auth::register))
        .route("/auth/oauth/{source}/start", get(oauth::start))
        .route("/auth/oauth/{source}/callback", get(oauth::callback))
        .route("/me", get(auth::me))
        .route("/admin/settings", get(admin::settings::get_settings).put(admin::settings::put_settings))
        .route("/admin/users", get(admin::users::list_users).post(admin::users::create_user))
        .route("/admin/users/{id}", get(admin::users::get_user).patch(admin::users::update_user))
        .route("/admin/users/{id}/platform-quotas", get(admin::quotas::get_quotas).put(admin::quotas::put_quotas))
        .route("/admin/users/{id}/platform-quotas/reset", post(admin::quotas::reset_quota))
        .route("/admin/audit", get(admin::audit::list_audit))
        .route("/admin/upstreams", get(admin::upstreams::list_upstreams).post(admin::upstreams::create_upstream))
        .route(
            "/admin/upstreams/{id}",
            axum::routing::patch(admin::upstreams::update_upstream).delete(admin::upstreams::delete_upstream),
        )
        .route("/admin/pricing", get(admin::pricing::get_pricing))
        .route("/admin/pricing/{*model}", put(admin::pricing::put_price).delete(admin::pricing::delete_price))
        .route("/user/platform-quotas", get(user::quotas::my_quotas))
        .route("/user/usage", get(user::quotas::my_usage))
        .route("/user/api-keys", get(user::api_keys::list_keys).post(user::api_keys::create_key))
        .route("/user/api-keys/{id}", axum::routing::delete(user::api_keys::revoke_key))
        // An unknown API path is a JSON 404, never the web console's index.html.
        .fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
}

async fn api_not_found() -> ConsoleError {
    ConsoleError::not_found("no such API route")
}

async fn api_method_not_allowed() -> impl IntoResponse {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(
            serde_json::json!({"error":{"code":"method_not_allowed","message":"method not allowed on this route"}}),
        ),
    )
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .nest("/api/v1", console_routes())
        .fallback(ui::serve_ui)
        .with_state(state)
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can reach its database.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}
