//! `GET /meta`: the registries and the login methods on offer.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tollgate_core::platform::{AuthSource, Platform};
use tollgate_core::window::QuotaWindow;

use crate::state::AppState;

/// The login methods on offer.
#[derive(Serialize)]
pub struct LoginMethods {
    pub password: bool,
    pub registration: bool,
    /// Sources whose OAuth client is configured, in registry order.
    pub oauth: Vec<AuthSource>,
}

/// `GET /meta` body.
#[derive(Serialize)]
pub struct Meta {
    pub platforms: &'static [Platform],
    pub windows: [QuotaWindow; 4],
    pub auth_sources: &'static [AuthSource],
    pub login: LoginMethods,
    pub version: &'static str,
}

/// Platforms, windows, auth sources and the enabled login methods (public).
pub async fn meta(State(state): State<AppState>) -> Json<Meta> {
    let settings = state.settings.get();
    Json(Meta {
        platforms: Platform::ALL,
        windows: QuotaWindow::ALL,
        auth_sources: AuthSource::ALL,
        login: LoginMethods {
            password: true,
            registration: settings.registration_enabled,
            oauth: AuthSource::ALL.iter().copied().filter(|s| settings.oauth.contains_key(s)).collect(),
        },
        version: env!("CARGO_PKG_VERSION"),
    })
}
