//! The Tollgate server: the gateway routes and billing chain, the console API, the embedded web UI.

pub mod alerts;
pub mod config;
pub mod config_file;
pub mod connection;
pub mod console;
pub mod demo;
pub mod files;
pub mod gateway;
pub mod hardening;
pub mod keys;
pub mod ledger;
pub mod metrics_export;
pub mod mock_upstream;
pub mod otlp;
pub mod rate_limit;
pub mod request_log;
pub mod router;
pub mod secrets;
pub mod security_headers;
pub mod serving;
pub mod settings_cache;
pub mod state;
pub mod ui;

use std::time::Duration;

use crate::state::AppState;

pub use serving::serve;

/// Re-reads what other gateway processes on the same database may have changed: settings and price
/// overrides (quota rows, keys and upstreams have their own short caches). Also runs the database's
/// housekeeping, drops idle quota copies and folds the metrics' samples once a second.
pub fn spawn_refresher(state: &AppState, every: Duration) {
    let st = state.clone();
    state.tasks.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = st.shutdown.cancelled() => break,
            }
            st.ledger.tick().await;
            if let Err(e) = st.store.maintain().await {
                tracing::warn!(error = %e, "database maintenance failed");
            }
            metrics_export::upkeep();
        }
        // What was noted since the last tick.
        st.ledger.tick().await;
    });
    let st = state.clone();
    state.tasks.spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = st.shutdown.cancelled() => break,
            }
            if let Err(e) = st.settings.refresh().await {
                tracing::warn!(error = %e, "settings refresh failed");
            }
            if let Err(e) = st.rate.reload(&st.settings.get()).await {
                tracing::warn!(error = %e, "rate limits refresh failed");
            }
            if let Err(e) = st.ledger.reload_prices().await {
                tracing::warn!(error = %e, "price overrides refresh failed");
            }
        }
    });
}
