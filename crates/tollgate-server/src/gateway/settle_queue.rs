//! Group commit for settlements: one worker per process takes every settlement waiting and writes
//! them in one transaction. Under load this turns N commits into one; alone, a settlement waits for
//! nothing but its own commit. Each caller still gets its own outcome, and its answer is released
//! only after the transaction holding its charge has committed.

use std::sync::Arc;

use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tollgate_store::{NewUsageRecord, SettleOutcome, Store, StoreError};

use super::quota_cache::QuotaCache;
use crate::state::SettingsCache;

/// Most settlements written in one transaction.
const MAX_BATCH: usize = 256;

struct Job {
    record: NewUsageRecord,
    done: oneshot::Sender<Result<SettleOutcome, StoreError>>,
}

/// The queue in front of the settlement worker.
#[derive(Clone)]
pub struct SettleQueue {
    tx: mpsc::Sender<Job>,
}

impl SettleQueue {
    /// Starts the worker on `tasks`; it stops once `shutdown` is cancelled and the queue is empty.
    pub fn start(
        store: Arc<dyn Store>,
        settings: SettingsCache,
        quotas: QuotaCache,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        let (tx, mut rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
        tasks.spawn(async move {
            loop {
                let first = tokio::select! {
                    job = rx.recv() => job,
                    () = shutdown.cancelled() => { rx.close(); rx.recv().await }
                };
                let Some(first) = first else { break };
                let mut jobs = vec![first];
                while jobs.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => break,
                    }
                }
                write(&*store, &settings, &quotas, jobs).await;
            }
        });
        Self { tx }
    }

    /// Settles one request; resolves once its transaction has committed (or failed).
    pub async fn settle(&self, record: NewUsageRecord) -> Result<SettleOutcome, StoreError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job { record, done })
            .await
            .map_err(|_| StoreError::Unavailable("the settlement queue is closed".into()))?;
        wait.await.map_err(|_| StoreError::Unavailable("the settlement worker stopped".into()))?
    }
}

/// Writes a batch; if the batch fails as a whole, each settlement is tried on its own so one bad
/// record cannot fail the others. Each committed charge is applied to this process's quota copies
/// before its caller hears of it, so the caller's next admission already counts it.
async fn write(store: &dyn Store, settings: &SettingsCache, quotas: &QuotaCache, jobs: Vec<Job>) {
    let _gate = quotas.settling().await;
    let clock = settings.clock();
    let now = Timestamp::now();
    let rollovers = clock.rollovers(now).ok();
    let charged = |record: &NewUsageRecord, outcome: &Result<SettleOutcome, StoreError>| {
        if let Ok(SettleOutcome::Charged) = outcome {
            match &rollovers {
                Some(r) => quotas.charged(record.user_id, record.platform, record.cost, r),
                None => quotas.invalidate_user(record.user_id),
            }
        }
    };
    let (records, senders): (Vec<NewUsageRecord>, Vec<_>) = jobs.into_iter().map(|j| (j.record, j.done)).unzip();
    match store.settle_batch(&records, now, &clock).await {
        Ok(outcomes) => {
            for ((record, done), outcome) in records.iter().zip(senders).zip(outcomes) {
                let outcome = Ok(outcome);
                charged(record, &outcome);
                let _ = done.send(outcome);
            }
        }
        Err(e) if records.len() == 1 => {
            if let Some(done) = senders.into_iter().next() {
                let _ = done.send(Err(e));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, size = records.len(), "settlement batch failed; settling one by one");
            for (record, done) in records.iter().zip(senders) {
                let one = store.settle(record, now, &clock).await;
                charged(record, &one);
                let _ = done.send(one);
            }
        }
    }
}
