//! The ledger: every piece of billing state a process holds, behind one handle.
//!
//! - [`PriceBook`]: prices in force (built-in table + overrides) and the models seen unpriced;
//! - [`QuotaCache`]: this process's copies of hot quota rows (soft-mode admission);
//! - [`queue::SettleQueue`] (+ [`journal`]): how a charge is committed and written;
//! - [`Reservation`]: a strict-mode hold that is released unless a settlement takes it over.
//!
//! The gateway commits charges and reads quota rows through it; the console asks it to catch up
//! before a read, to forget a user's rows after a change, and to reload prices after a write. Each
//! invalidation lives here, once.

pub mod journal;
pub mod journal_format;
pub mod journal_tool;
pub mod prices;
pub mod queue;
pub mod quota_cache;
pub mod reservation;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tollgate_core::platform::Platform;
use tollgate_core::quota::{QuotaOwner, QuotaRow};
use tollgate_store::{NewUsageRecord, Store, StoreError};

use self::journal::Journal;
pub use self::prices::PriceBook;
use self::queue::SettleQueue;
pub use self::quota_cache::QuotaCache;
pub use self::reservation::Reservation;
use crate::alerts::AlertSink;
use crate::settings_cache::SettingsCache;

/// The billing state of this process. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    store: Arc<dyn Store>,
    queue: SettleQueue,
    quotas: QuotaCache,
    prices: PriceBook,
    alerts: AlertSink,
}

impl Ledger {
    /// Loads prices, applies what an earlier process left in `journal` (if any), and starts the
    /// settlement worker on `tasks` (it stops once `shutdown` is cancelled and its queue is empty).
    pub async fn start(
        store: Arc<dyn Store>,
        settings: SettingsCache,
        quota_refresh: Duration,
        journal: Option<(Journal, Vec<journal::Leftover>)>,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Result<Self, StoreError> {
        let prices = PriceBook::builtin().map_err(|e| StoreError::Invalid(format!("built-in price table: {e}")))?;
        prices.reload(&*store).await?;
        let quotas = QuotaCache::new(quota_refresh);
        let alerts = AlertSink::start(store.clone(), settings.clone(), quotas.clone(), tasks, shutdown.clone());
        let queue =
            SettleQueue::start(store.clone(), settings, quotas.clone(), alerts.clone(), journal, tasks, shutdown)
                .await?;
        Ok(Self { store, queue, quotas, prices, alerts })
    }

    /// Threshold-alert detection, fed by the settlement worker.
    pub fn alerts(&self) -> &AlertSink {
        &self.alerts
    }

    /// The prices in force.
    pub fn prices(&self) -> &PriceBook {
        &self.prices
    }

    /// Commits one request's charge (journal append or database commit, by `--settlement`) and
    /// counts it in this process's quota copy before returning. Retries live in the queue.
    pub async fn commit(&self, record: NewUsageRecord) -> Result<(), StoreError> {
        self.queue.settle(record).await
    }

    /// This process's settlement journal (`None` in `direct` mode).
    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.queue.journal()
    }

    /// `Err` while the settlement journal cannot be written: billable requests are refused then
    /// (their charges could not be committed), and `/readyz` fails.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        self.queue.check_writable()
    }

    /// Waits until this process's charges committed so far are in the database (a console read
    /// made after an answer then sees that answer's charge).
    pub async fn caught_up(&self) {
        self.queue.caught_up().await;
    }

    /// The (user or key, platform) quota row for soft-mode admission: this process's copy, exact
    /// for its own charges and at most `--quota-refresh-ms` behind other processes.
    pub async fn quota_row(&self, owner: QuotaOwner, platform: Platform) -> Result<Option<QuotaRow>, StoreError> {
        self.quotas.row(&*self.store, owner, platform).await
    }

    /// Forgets this process's copies of a user's rows (their limits or usage changed).
    pub fn invalidate_user(&self, user_id: i64) {
        self.quotas.invalidate(QuotaOwner::User(user_id));
    }

    /// Forgets this process's copies of a key's rows (its limits or top-ups changed).
    pub fn invalidate_key(&self, key_id: i64) {
        self.quotas.invalidate(QuotaOwner::Key(key_id));
    }

    /// Re-reads the price overrides (after a write through this process: the next request is priced
    /// by it; periodically: writes by other processes).
    pub async fn reload_prices(&self) -> Result<(), StoreError> {
        self.prices.reload(&*self.store).await
    }

    /// Housekeeping once a second: idle quota copies dropped, unpriced models written.
    pub async fn tick(&self) {
        self.quotas.prune();
        self.prices.flush_unpriced(&*self.store).await;
    }
}
