//! Shared application state.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use jiff::tz::TimeZone;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tollgate_core::settings::Settings;
use tollgate_core::window::WindowClock;
use tollgate_store::{Store, StoreError};

use crate::config::GatewayConfig;
use crate::config::SettlementMode;
use crate::gateway::auth::KeyCache;
use crate::gateway::journal::Journal;
use crate::gateway::quota_cache::QuotaCache;
use crate::gateway::settle_queue::SettleQueue;
use crate::gateway::upstream::UpstreamCache;
use crate::prices::PriceBook;
use crate::secrets::SecretBox;
use crate::secrets::stored::open_settings;

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: SettingsCache,
    pub config: Arc<GatewayConfig>,
    pub keys: KeyCache,
    pub upstreams: UpstreamCache,
    pub prices: PriceBook,
    /// Upstream HTTP client: connect and idle-read timeouts, no total timeout (streams are long),
    /// no retries.
    pub http: reqwest::Client,
    /// Background work (settlements of streams whose client left) that shutdown waits for.
    pub tasks: TaskTracker,
    /// Cancelled when the server stops accepting requests; background loops end on it.
    pub shutdown: CancellationToken,
    /// Group commit of settlements.
    pub settle_queue: SettleQueue,
    /// This process's copies of hot quota rows (soft-mode admission).
    pub quotas: QuotaCache,
    /// Console-only state: login throttling, the OAuth HTTP client.
    pub console: Arc<crate::console::ConsoleState>,
    /// Encrypts and decrypts the secrets stored in the database.
    pub secrets: Arc<SecretBox>,
}

impl AppState {
    pub async fn new(store: Arc<dyn Store>, config: GatewayConfig) -> Result<Self, StoreError> {
        let secrets = Arc::new(crate::secrets::stored::startup(&*store, &config.key_source()).await?);
        let settings = SettingsCache::load(store.clone(), default_zone(), secrets.clone()).await?;
        let prices = PriceBook::builtin().map_err(|e| StoreError::Invalid(format!("built-in price table: {e}")))?;
        prices
            .set_overrides(store.list_price_overrides().await?)
            .map_err(|e| StoreError::Invalid(format!("price overrides: {e}")))?;
        let http = upstream_client(&config)?;
        let tasks = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let quotas = QuotaCache::new(Duration::from_millis(config.quota_refresh_ms));
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
        let settle_queue =
            SettleQueue::start(store.clone(), settings.clone(), quotas.clone(), journal, &tasks, shutdown.clone())
                .await?;
        Ok(Self {
            keys: KeyCache::new(store.clone()),
            upstreams: UpstreamCache::new(store.clone(), secrets.clone()),
            store,
            settings,
            config: Arc::new(config),
            prices,
            http,
            tasks,
            shutdown,
            settle_queue,
            quotas,
            console: Arc::new(crate::console::ConsoleState::default()),
            secrets,
        })
    }

    /// The same state with an upstream client of its own: each serving thread keeps its upstream
    /// connections, whose I/O then wakes the thread that serves the request.
    pub fn with_own_upstream_client(&self) -> Result<Self, StoreError> {
        Ok(Self { http: upstream_client(&self.config)?, ..self.clone() })
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

/// The settings in force, cached in memory. A write through this process refreshes it at once;
/// writes by other processes on the same database are picked up by [`SettingsCache::refresh`],
/// which the server runs every `settings_refresh_secs`.
#[derive(Clone)]
pub struct SettingsCache {
    store: Arc<dyn Store>,
    /// The settings and the window clock built from them (a zone lookup is not free; do it once).
    current: Arc<RwLock<(Arc<Settings>, WindowClock)>>,
    default_zone: Arc<(String, TimeZone)>,
    secrets: Arc<SecretBox>,
}

impl SettingsCache {
    pub async fn load(
        store: Arc<dyn Store>,
        default_zone: (String, TimeZone),
        secrets: Arc<SecretBox>,
    ) -> Result<Self, StoreError> {
        let settings = Arc::new(Settings::from_stored(&open_settings(&secrets, store.load_settings().await?)?));
        let clock = settings.clock(&default_zone.1);
        Ok(Self {
            store,
            current: Arc::new(RwLock::new((settings, clock))),
            default_zone: Arc::new(default_zone),
            secrets,
        })
    }

    /// A snapshot of the settings.
    pub fn get(&self) -> Arc<Settings> {
        match self.current.read() {
            Ok(g) => g.0.clone(),
            Err(poisoned) => poisoned.into_inner().0.clone(),
        }
    }

    /// Re-reads the settings table.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let fresh = Arc::new(Settings::from_stored(&open_settings(&self.secrets, self.store.load_settings().await?)?));
        let clock = fresh.clock(&self.default_zone.1);
        match self.current.write() {
            Ok(mut g) => *g = (fresh, clock),
            Err(poisoned) => *poisoned.into_inner() = (fresh, clock),
        }
        Ok(())
    }

    /// The window clock in force.
    pub fn clock(&self) -> WindowClock {
        match self.current.read() {
            Ok(g) => g.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    /// The server's default zone name (used when `quota_timezone` is unset).
    pub fn default_zone_name(&self) -> &str {
        &self.default_zone.0
    }
}
