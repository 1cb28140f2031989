//! The request log's writer and pruner (docs/request-log.md).
//!
//! A charged request is logged by its usage record, written by the settlement queue. A request
//! that was not charged is sent here: a bounded channel in front of one background task that
//! writes whole batches, so the gateway never waits for the log. When the channel is full (the
//! database is far behind), the row is dropped and counted (`tollgate_request_log_dropped_total`)
//! rather than slowing every request down.

use std::sync::Arc;
use std::time::Duration;

use jiff::{Timestamp, ToSpan};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tollgate_store::{Store, UnbilledRequest};

use crate::settings_cache::SettingsCache;

/// Rows waiting to be written before new ones are dropped.
const QUEUE: usize = 16_384;
/// Most rows written per batch.
const BATCH: usize = 512;
/// How often old rows are pruned (and once shortly after start).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
const FIRST_PRUNE: Duration = Duration::from_secs(30);

/// The sending side: cheap to clone, never blocks.
#[derive(Clone)]
pub struct RequestLog {
    tx: mpsc::Sender<UnbilledRequest>,
}

impl RequestLog {
    /// Starts the writer and the pruner; both stop with `shutdown` (the writer after writing what
    /// it holds).
    pub fn start(
        store: Arc<dyn Store>,
        settings: SettingsCache,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tasks.spawn(write_loop(store.clone(), rx, shutdown.clone()));
        tasks.spawn(prune_loop(store, settings, shutdown));
        Self { tx }
    }

    /// Queues a request that was not charged.
    pub fn unbilled(&self, row: UnbilledRequest) {
        if self.tx.try_send(row).is_err() {
            metrics::counter!("tollgate_request_log_dropped_total").increment(1);
        }
    }
}

async fn write_loop(store: Arc<dyn Store>, mut rx: mpsc::Receiver<UnbilledRequest>, shutdown: CancellationToken) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let first = tokio::select! {
            row = rx.recv() => row,
            () = shutdown.cancelled() => None,
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(row) => batch.push(row),
                Err(_) => break,
            }
        }
        write(&*store, &mut batch).await;
    }
    // Shutdown: what was queued is written before the process ends.
    rx.close();
    while let Some(row) = rx.recv().await {
        batch.push(row);
        if batch.len() == BATCH {
            write(&*store, &mut batch).await;
        }
    }
    write(&*store, &mut batch).await;
}

async fn write(store: &dyn Store, batch: &mut Vec<UnbilledRequest>) {
    if batch.is_empty() {
        return;
    }
    if let Err(e) = store.log_unbilled(batch).await {
        metrics::counter!("tollgate_request_log_dropped_total").increment(batch.len() as u64);
        tracing::warn!(error = %e, rows = batch.len(), "request log rows could not be written");
    }
    batch.clear();
}

async fn prune_loop(store: Arc<dyn Store>, settings: SettingsCache, shutdown: CancellationToken) {
    let mut wait = FIRST_PRUNE;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.cancelled() => return,
        }
        wait = PRUNE_EVERY;
        if let Some(days) = settings.get().request_log_retention_days {
            match prune(&*store, days, Timestamp::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, days, "request log pruned"),
                Err(e) => tracing::warn!(error = %e, "request log pruning failed"),
            }
        }
    }
}

/// Deletes the log rows older than `days` before `now`.
pub async fn prune(store: &dyn Store, days: i64, now: Timestamp) -> Result<u64, tollgate_store::StoreError> {
    // Whole days of 24 hours: retention is a storage bound, not a calendar rule.
    let cutoff = now
        .checked_sub(days.saturating_mul(24).hours())
        .map_err(|e| tollgate_store::StoreError::Invalid(format!("retention cutoff: {e}")))?;
    store.prune_request_log(cutoff).await
}
