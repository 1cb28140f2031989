//! Prometheus metrics at `/metrics`: requests by platform and status, quota rejections by platform
//! and window, settlement and upstream latency.

use std::sync::OnceLock;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Bucket bounds (seconds) of every latency histogram: fine below a millisecond, where settlement
/// lives, and up to the minutes a long generation takes. Histograms rather than summaries: they
/// add up across instances, and a scraper can take the difference of two scrapes (the benchmark
/// does, for the settlement share of its latency run).
pub const BUCKETS: [f64; 28] = [
    0.000_05, 0.000_1, 0.000_15, 0.000_2, 0.000_3, 0.000_4, 0.000_5, 0.000_75, 0.001, 0.001_5, 0.002, 0.003, 0.005,
    0.007_5, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Installs the recorder once per process (tests build many apps in one process).
pub fn install() {
    HANDLE.get_or_init(|| match PrometheusBuilder::new().set_buckets(&BUCKETS).and_then(|b| b.install_recorder()) {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::warn!(error = %e, "metrics recorder not installed");
            None
        }
    });
}

/// Folds the histogram samples recorded since the last call into their buckets. The recorder keeps
/// every raw sample until then, so without this a process nobody scrapes grows by each request's
/// samples forever; [`crate::spawn_refresher`] calls it once a second.
pub fn upkeep() {
    if let Some(h) = HANDLE.get().and_then(Option::as_ref) {
        h.run_upkeep();
    }
}

/// `GET /metrics`.
pub async fn render() -> Response {
    install();
    match HANDLE.get().and_then(Option::as_ref) {
        Some(h) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], h.render()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable").into_response(),
    }
}
