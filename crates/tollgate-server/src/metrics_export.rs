//! Prometheus metrics at `/metrics`: requests by platform and status, quota rejections by platform
//! and window, settlement and upstream latency.

use std::sync::OnceLock;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::config::GatewayConfig;
use crate::console::client::{ClientIp, ViaProxy};
use crate::state::AppState;

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

/// `GET /metrics` on the main listener: see [`allowed`].
pub async fn render(State(state): State<AppState>, req: Request) -> Response {
    if let Err(status) = allowed(&state.config, &req) {
        return status.into_response();
    }
    render_text().await
}

/// Who may read the metrics (they show spend per platform) on the main listener:
/// - with `--metrics-listen`: nobody (they are served there instead; 404);
/// - with `--metrics-token`: a request with `Authorization: Bearer TOKEN` (else 401);
/// - otherwise: loopback clients that came through no proxy (else 404), so a reverse proxy on the
///   same host does not publish them.
pub fn allowed(config: &GatewayConfig, req: &Request) -> Result<(), StatusCode> {
    if config.metrics_listen.is_some() {
        return Err(StatusCode::NOT_FOUND);
    }
    if let Some(token) = &config.metrics_token {
        return if bearer_matches(req, token.expose()) { Ok(()) } else { Err(StatusCode::UNAUTHORIZED) };
    }
    let ip = req.extensions().get::<ClientIp>().and_then(|c| c.0);
    let via_proxy = req.extensions().get::<ViaProxy>().is_some_and(|v| v.0);
    if ip.is_some_and(|ip| ip.is_loopback() || ip.to_canonical().is_loopback()) && !via_proxy {
        Ok(())
    } else {
        Err(StatusCode::NOT_FOUND)
    }
}

fn bearer_matches(req: &Request, token: &str) -> bool {
    let Some(given) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
    else {
        return false;
    };
    // Compare digests: equal-length, so the comparison time does not depend on where they differ.
    use sha2::Digest as _;
    let (a, b) = (sha2::Sha256::digest(given.as_bytes()), sha2::Sha256::digest(token.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The metrics listener of `--metrics-listen`: `/metrics` only (the token, if set, still applies).
pub fn separate_app(state: AppState) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(state): State<AppState>, req: Request| async move {
                if let Some(token) = &state.config.metrics_token
                    && !bearer_matches(&req, token.expose())
                {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                render_text().await
            }),
        )
        .with_state(state)
}

/// The metrics text.
pub async fn render_text() -> Response {
    install();
    match HANDLE.get().and_then(Option::as_ref) {
        Some(h) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], h.render()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable").into_response(),
    }
}
