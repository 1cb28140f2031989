//! The console API (`/api/v1`): sessions, settings, users and their quotas, keys, upstreams, pricing.

pub mod accounts;
pub mod admin;
pub mod analytics;
pub mod auth;
pub mod body;
pub mod client;
pub mod content_type;
pub mod error;
pub mod key_budgets;
pub mod meta;
pub mod oauth;
pub mod openapi;
pub mod rate_limits;
pub mod request_log;
pub mod session;
pub mod throttle;
pub mod user;
pub mod views;

use std::time::Duration;

/// State only the console uses.
pub struct ConsoleState {
    pub throttle: throttle::LoginThrottle,
    /// For OAuth token and user-info calls. Never retries (a code can be exchanged once).
    pub http: reqwest::Client,
}

impl ConsoleState {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { throttle: throttle::LoginThrottle::new(), http }
    }
}

impl Default for ConsoleState {
    fn default() -> Self {
        Self::new()
    }
}
