//! Shared application state.

use std::sync::Arc;
use std::time::Duration;

use jiff::tz::TimeZone;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tollgate_store::{Store, StoreError};

use crate::config::GatewayConfig;
use crate::config::SettlementMode;
use crate::gateway::auth::KeyCache;
use crate::gateway::upstream::UpstreamCache;
use crate::ledger::Ledger;
use crate::ledger::journal::Journal;
use crate::secrets::SecretBox;
pub use crate::settings_cache::SettingsCache;

/// Everything a handler needs. One reference count to clone: axum clones the state for every
/// extractor and middleware of every request, and cloning each part instead (some thirty shared
/// counters, touched from both cores) was ~7 % of the gateway's CPU at full load (perf, 2026-12-05).
#[derive(Clone)]
pub struct AppState(Arc<StateParts>);

impl std::ops::Deref for AppState {
    type Target = StateParts;
    fn deref(&self) -> &StateParts {
        &self.0
    }
}

impl From<StateParts> for AppState {
    fn from(parts: StateParts) -> Self {
        Self(Arc::new(parts))
    }
}

/// The parts of [`AppState`].
#[derive(Clone)]
pub struct StateParts {
    pub store: Arc<dyn Store>,
    pub settings: SettingsCache,
    pub config: Arc<GatewayConfig>,
    pub keys: KeyCache,
    pub upstreams: UpstreamCache,
    /// Billing state: prices, quota copies, the settlement queue.
    pub ledger: Ledger,
    /// Upstream HTTP client: connect and idle-read timeouts, no total timeout (streams are long),
    /// no retries.
    pub http: reqwest::Client,
    /// Background work (settlements of streams whose client left) that shutdown waits for.
    pub tasks: TaskTracker,
    /// Cancelled when the server stops accepting requests; background loops end on it.
    pub shutdown: CancellationToken,
    /// Console-only state: login throttling, the OAuth HTTP client.
    pub console: Arc<crate::console::ConsoleState>,
    /// Encrypts and decrypts the secrets stored in the database.
    pub secrets: Arc<SecretBox>,
    /// Rate limits (docs/rate-limits.md).
    pub rate: crate::rate_limit::RateLimiter,
    /// The request log's writer of requests that were not charged (docs/request-log.md).
    pub request_log: crate::request_log::RequestLog,
    /// The span exporter, when `--otlp-endpoint` is set (docs/observability.md).
    pub otlp: Option<crate::otlp::Otlp>,
}

impl AppState {
    pub async fn new(store: Arc<dyn Store>, config: GatewayConfig) -> Result<Self, StoreError> {
        let secrets = Arc::new(crate::secrets::stored::startup(&*store, &config.key_source()).await?);
        let settings = SettingsCache::load(store.clone(), default_zone(), secrets.clone()).await?;
        let http = upstream_client(&config)?;
        let tasks = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let journal = match (config.settlement, &config.journal_dir) {
            (SettlementMode::Direct, _) => None,
            (SettlementMode::Journal, Some(dir)) => Some(
                Journal::open(dir)
                    .map_err(|e| StoreError::Unavailable(format!("settlement journal {}: {e}", dir.display())))?,
            ),
            (SettlementMode::Journal, None) => {
                return Err(StoreError::Invalid("journal settlement needs a journal directory".into()));
            }
        };
        let quota_refresh = Duration::from_millis(config.quota_refresh_ms);
        let ledger =
            Ledger::start(store.clone(), settings.clone(), quota_refresh, journal, &tasks, shutdown.clone()).await?;
        crate::alerts::delivery::start(
            store.clone(),
            settings.clone(),
            Duration::from_millis(config.alert_retry_base_ms),
            ledger.alerts().delivery_wake(),
            &tasks,
            shutdown.clone(),
        );
        let rate =
            crate::rate_limit::RateLimiter::start(store.clone(), &settings.get(), &tasks, shutdown.clone()).await?;
        let request_log =
            crate::request_log::RequestLog::start(store.clone(), settings.clone(), &tasks, shutdown.clone());
        let otlp = crate::otlp::OtlpConfig::new(
            config.otlp_endpoint.as_deref(),
            config.otlp_headers.as_deref(),
            &config.otel_service_name,
        )
        .map_err(StoreError::Invalid)?
        .map(|c| crate::otlp::Otlp::start(c, &tasks, shutdown.clone()));
        Ok(Self(Arc::new(StateParts {
            rate,
            request_log,
            otlp,
            keys: KeyCache::new(store.clone()),
            upstreams: UpstreamCache::new(store.clone(), secrets.clone()),
            store,
            settings,
            config: Arc::new(config),
            ledger,
            http,
            tasks,
            shutdown,
            console: Arc::new(crate::console::ConsoleState::default()),
            secrets,
        })))
    }

    /// The same state with an upstream client of its own: each serving thread keeps its upstream
    /// connections, whose I/O then wakes the thread that serves the request.
    pub fn with_own_upstream_client(&self) -> Result<Self, StoreError> {
        Ok(Self(Arc::new(StateParts { http: upstream_client(&self.config)?, ..StateParts::clone(&self.0) })))
    }
}

/// The client for upstream calls: connect and idle-read timeouts, no total timeout (streams are
/// long), no retries.
fn upstream_client(config: &GatewayConfig) -> Result<reqwest::Client, StoreError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(config.connect_timeout_secs))
        .read_timeout(Duration::from_secs(config.read_timeout_secs))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        // An upstream's redirect is passed to the client, never followed: following it would
        // resend the body (and our credential) somewhere else, and the redirect layer was a
        // measurable share of each request's CPU.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| StoreError::Other(format!("HTTP client: {e}")))
}

/// The server's own zone: the system zone when it has an IANA name, else UTC.
pub fn default_zone() -> (String, TimeZone) {
    match TimeZone::try_system() {
        Ok(tz) => match tz.iana_name() {
            Some(name) => (name.to_owned(), tz.clone()),
            None => ("UTC".to_owned(), TimeZone::UTC),
        },
        Err(_) => ("UTC".to_owned(), TimeZone::UTC),
    }
}
