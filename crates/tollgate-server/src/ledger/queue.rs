//! Settlement commit and group write. A request's charge is committed in one of two ways (setting
//! `--settlement`, docs/quotas.md):
//! - `journal` (default): a line appended to this process's [`Journal`]; the answer is released
//!   at once and the worker writes the line to the database moments later;
//! - `direct`: the answer waits until the worker's database transaction holding the charge has
//!   committed.
//!
//! Either way one worker per process takes every settlement waiting and writes them in one
//! transaction (under load N commits become one), and each charge is applied to this process's
//! quota copies before its answer is released, so the caller's next admission already counts it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tollgate_core::quota::QuotaOwner;
use tollgate_core::window::Rollover;
use tollgate_store::{NewUsageRecord, SettleOutcome, Store, StoreError};

use super::journal::{Journal, Leftover, Line};
use super::quota_cache::QuotaCache;
use crate::alerts::AlertSink;
use crate::settings_cache::SettingsCache;

/// Most settlements written in one transaction.
const MAX_BATCH: usize = 256;
/// Settlements queued for the worker before a committing request waits for room.
const QUEUE: usize = 64 * 1024;
/// How long the worker lets journaled settlements gather before writing them (no answer waits for
/// this write; a console read waits at most this much longer for it).
/// (Measured on PostgreSQL from 0 to 20 ms, docs/benchmarks.md: 2 ms took the most off the
/// streaming p99 without widening the non-streaming one.)
const LINGER: Duration = Duration::from_millis(2);
/// Database writes tried for a direct-mode settlement before its caller is answered with the error.
const DIRECT_ATTEMPTS: u32 = 4;
/// Longest a read waits for this process's journaled charges to be written.
const CATCH_UP_WAIT: Duration = Duration::from_secs(2);

struct Job {
    record: NewUsageRecord,
    meta: Meta,
}

/// What the worker needs beside the record itself.
struct Meta {
    seq: u64,
    at: Timestamp,
    /// The windows the charge counts in (`None` when the clock could not say; the copy is reread).
    rollovers: Option<[Rollover; 4]>,
    commit: Commit,
}

enum Commit {
    /// In the journal, in this segment; the worker must not give up on it.
    Journal(u64),
    /// A caller waiting for the database.
    Direct(oneshot::Sender<Result<(), StoreError>>),
}

/// The queue in front of the settlement worker.
#[derive(Clone)]
pub struct SettleQueue {
    tx: mpsc::Sender<Job>,
    /// For charges that come after the worker stopped (see [`SettleQueue::settle`]).
    store: Arc<dyn Store>,
    journal: Option<Arc<Journal>>,
    quotas: QuotaCache,
    settings: SettingsCache,
    seq: Arc<AtomicU64>,
    /// Jobs handed to the worker, and (watched) jobs it has finished: FIFO, so a reader that saw
    /// `sent = n` is caught up once `done >= n`.
    sent: Arc<AtomicU64>,
    done: watch::Receiver<u64>,
}

impl SettleQueue {
    /// Applies what an earlier process left in `journal` (if any), then starts the worker on
    /// `tasks`; it stops once `shutdown` is cancelled and the queue is empty.
    pub async fn start(
        store: Arc<dyn Store>,
        settings: SettingsCache,
        quotas: QuotaCache,
        alerts: AlertSink,
        journal: Option<(Journal, Vec<Leftover>)>,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Result<Self, StoreError> {
        let journal = match journal {
            Some((journal, leftovers)) => {
                replay(&*store, &settings, &journal, leftovers).await?;
                Some(Arc::new(journal))
            }
            None => None,
        };
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        let (done_tx, done) = watch::channel(0u64);
        let worker = Worker {
            store: store.clone(),
            settings: settings.clone(),
            quotas: quotas.clone(),
            journal: journal.clone(),
            alerts,
        };
        let stop = shutdown.clone();
        // A journaled charge is already committed, so its write can wait for others to join it: at
        // 1,000 requests/s this makes ~300 database transactions a second instead of ~1,000. In
        // direct mode the answer waits for the write, so nothing lingers.
        let linger = journal.is_some();
        tasks.spawn(async move {
            let mut finished = 0u64;
            loop {
                let first = tokio::select! {
                    job = rx.recv() => job,
                    () = stop.cancelled() => { rx.close(); rx.recv().await }
                };
                let Some(first) = first else { break };
                if linger {
                    // Shutdown cuts the wait short: its `cancelled()` is ready at once.
                    tokio::select! {
                        () = tokio::time::sleep(LINGER) => {}
                        () = stop.cancelled() => {}
                    }
                }
                let mut jobs = vec![first];
                while jobs.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => break,
                    }
                }
                finished += jobs.len() as u64;
                worker.write(jobs, &stop).await;
                let _ = done_tx.send(finished);
            }
            if let Some(j) = &worker.journal {
                j.close();
            }
        });
        Ok(Self { tx, store, journal, quotas, settings, seq: Arc::default(), sent: Arc::default(), done })
    }

    /// This process's journal (`journal` mode).
    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.journal.as_ref()
    }

    /// `Err` while the journal cannot be written (disk full, I/O error): billable requests are then
    /// refused, since their charges could not be committed. Each call while unwritable tries a
    /// harmless write, so the gateway recovers as soon as the disk does.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        match &self.journal {
            Some(j) if j.is_unwritable() && !j.probe() => {
                Err(StoreError::Unavailable("the settlement journal cannot be written".into()))
            }
            _ => Ok(()),
        }
    }

    /// Commits one request's charge (see the module comment for the two modes) and applies it to
    /// this process's quota copy.
    pub async fn settle(&self, record: NewUsageRecord) -> Result<(), StoreError> {
        let at = Timestamp::now();
        if self.tx.is_closed() {
            // The worker has stopped (shutdown), but a stream whose client left while the server
            // stopped is still being settled: its charge goes straight to the database.
            return self.write_now(&record, at).await;
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let rollovers = self.settings.clock().rollovers(at).ok();
        let (commit, wait) = match &self.journal {
            Some(journal) => {
                // A few microseconds of blocking write: cheaper than a hop to a blocking thread.
                let segment = journal
                    .append(&Line::new(at, &record))
                    .map_err(|e| StoreError::Unavailable(format!("settlement journal: {e}")))?;
                (Commit::Journal(segment), None)
            }
            None => {
                let (done, wait) = oneshot::channel();
                (Commit::Direct(done), Some(wait))
            }
        };
        match &rollovers {
            Some(r) => self.quotas.charged(seq, &record, r),
            None => {
                self.quotas.invalidate(QuotaOwner::User(record.user_id));
                if let Some(key) = record.api_key_id {
                    self.quotas.invalidate(QuotaOwner::Key(key));
                }
            }
        }
        let job = Job { record, meta: Meta { seq, at, rollovers, commit } };
        if let Err(mpsc::error::SendError(job)) = self.tx.send(job).await {
            // The worker stopped between the check above and now (shutdown): write the charge
            // straight to the database (idempotent: a journaled line replayed at the next start is
            // skipped). If even that fails, a journaled charge is still applied at the next start.
            self.quotas.dropped(seq, &job.record);
            let written = self.write_now(&job.record, at).await;
            return match (written, wait) {
                (Ok(()), _) | (Err(_), None) => Ok(()),
                (Err(e), Some(_)) => Err(e),
            };
        }
        self.sent.fetch_add(1, Ordering::Release);
        match wait {
            None => Ok(()),
            Some(wait) => wait.await.map_err(|_| StoreError::Unavailable("the settlement worker stopped".into()))?,
        }
    }

    /// One charge written to the database by the caller (the worker has stopped). Idempotent.
    async fn write_now(&self, record: &NewUsageRecord, at: Timestamp) -> Result<(), StoreError> {
        self.store.settle(record, at, &self.settings.clock()).await.map(|_| ())
    }

    /// Waits until every settlement handed to the worker before this call is in the database, so
    /// that a read made after an answer sees that answer's charge (in `journal` mode the write is
    /// a moment behind the answer).
    pub async fn caught_up(&self) {
        let target = self.sent.load(Ordering::Acquire);
        let mut done = self.done.clone();
        // An error means the worker has stopped: nothing more will be written by this process. A
        // database that cannot take the writes (the worker retries) does not hold a read for long.
        let _ = tokio::time::timeout(CATCH_UP_WAIT, done.wait_for(|d| *d >= target)).await;
    }
}

/// Applies the lines an earlier process left in the journal, oldest first, before this process
/// serves (idempotent: lines it had already written are skipped by request id).
async fn replay(
    store: &dyn Store,
    settings: &SettingsCache,
    journal: &Journal,
    leftovers: Vec<Leftover>,
) -> Result<(), StoreError> {
    let clock = settings.clock();
    for leftover in leftovers {
        let count = leftover.lines.len();
        for (at, record) in leftover.lines {
            match store.settle(&record, at, &clock).await {
                Ok(_) => {}
                Err(StoreError::Invalid(e)) => journal.reject(&Line::new(at, &record), &e),
                Err(e) => return Err(e),
            }
        }
        tracing::info!(
            segment = leftover.segment,
            settlements = count,
            "applied a settlement journal segment left by an earlier process"
        );
        journal.remove_segment(leftover.segment);
    }
    Ok(())
}

struct Worker {
    store: Arc<dyn Store>,
    settings: SettingsCache,
    quotas: QuotaCache,
    journal: Option<Arc<Journal>>,
    /// Told of each charge once it is in the database (threshold alerts, docs/alerts.md).
    alerts: AlertSink,
}

impl Worker {
    /// Writes `jobs` in runs that share their quota windows' rule (a run crossing midnight would
    /// charge all of it to one day). Rolling windows change their rule once a second, not every
    /// millisecond (`WindowClock::rollover`), so a busy second still makes few runs.
    async fn write(&self, jobs: Vec<Job>, stop: &CancellationToken) {
        let mut jobs = jobs.into_iter().peekable();
        while let Some(first) = jobs.next() {
            let mut run = vec![first];
            while let Some(next) = jobs.next_if(|j| j.meta.rollovers == run[0].meta.rollovers) {
                run.push(next);
            }
            self.write_run(run, stop).await;
        }
    }

    async fn write_run(&self, run: Vec<Job>, stop: &CancellationToken) {
        let clock = self.settings.clock();
        let (records, metas): (Vec<NewUsageRecord>, Vec<Meta>) = run.into_iter().map(|j| (j.record, j.meta)).unzip();
        let at = metas.first().map_or_else(Timestamp::now, |m| m.at);
        let batch = {
            let _gate = self.quotas.settling().await;
            let result = self.store.settle_batch(&records, at, &clock).await;
            metrics::counter!("tollgate_settlement_writes_total").increment(1);
            if let Ok(outcomes) = &result {
                for ((record, meta), outcome) in records.iter().zip(&metas).zip(outcomes) {
                    self.written(record, meta, *outcome);
                }
            }
            result
        };
        match batch {
            Ok(_) => metas.into_iter().for_each(|meta| self.finish(meta, Ok(()))),
            Err(e) => {
                if records.len() > 1 {
                    tracing::warn!(error = %e, size = records.len(), "settlement batch failed; settling one by one");
                }
                for (record, meta) in records.into_iter().zip(metas) {
                    self.write_one(record, meta, stop).await;
                }
            }
        }
    }

    /// One settlement on its own, so that one bad record cannot fail the others. A journal line is
    /// retried until the database takes it (or shutdown leaves it for the next start).
    async fn write_one(&self, record: NewUsageRecord, meta: Meta, stop: &CancellationToken) {
        let clock = self.settings.clock();
        let mut delay = Duration::from_millis(50);
        let mut attempt = 1;
        loop {
            let result = {
                let _gate = self.quotas.settling().await;
                let result = self.store.settle(&record, meta.at, &clock).await;
                metrics::counter!("tollgate_settlement_writes_total").increment(1);
                if let Ok(outcome) = result {
                    self.written(&record, &meta, outcome);
                }
                result
            };
            match (result, &meta.commit) {
                (Ok(_), _) => return self.finish(meta, Ok(())),
                (Err(StoreError::Invalid(e)), Commit::Journal(_)) => {
                    tracing::error!(request_id = %record.request_id, error = %e, "settlement refused by the database; kept in rejected.jsonl");
                    if let Some(j) = &self.journal {
                        j.reject(&Line::new(meta.at, &record), &e);
                    }
                    self.quotas.dropped(meta.seq, &record);
                    return self.finish(meta, Ok(()));
                }
                (Err(e), Commit::Journal(_)) if !stop.is_cancelled() => {
                    tracing::warn!(request_id = %record.request_id, error = %e, "writing a journaled settlement failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                // Shutting down with the database unreachable: the line stays in the journal.
                (Err(_), Commit::Journal(_)) => return,
                // A caller waits: retried a few times (a settlement is idempotent per request id),
                // then the caller's answer is withheld.
                (Err(e), Commit::Direct(_)) if attempt < DIRECT_ATTEMPTS && !matches!(e, StoreError::Invalid(_)) => {
                    tracing::warn!(request_id = %record.request_id, attempt, error = %e, "settlement failed; retrying");
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                (Err(e), Commit::Direct(_)) => {
                    self.quotas.dropped(meta.seq, &record);
                    return self.finish(meta, Err(e));
                }
            }
        }
    }

    /// The database holds the charge (or already held it: a retried request id, which the copy
    /// counted twice and rereads).
    fn written(&self, record: &NewUsageRecord, meta: &Meta, outcome: SettleOutcome) {
        match outcome {
            SettleOutcome::Charged => {
                self.quotas.written(meta.seq, record);
                self.alerts.charged(record.user_id, record.platform);
            }
            SettleOutcome::AlreadySettled => self.quotas.dropped(meta.seq, record),
        }
        metrics::counter!("tollgate_settlements_written_total").increment(1);
        metrics::histogram!("tollgate_settlement_write_lag_seconds")
            .record(Timestamp::now().duration_since(meta.at).as_secs_f64().max(0.0));
    }

    /// Tells the job's committer how it ended: a journal line is applied, a direct caller answered.
    fn finish(&self, meta: Meta, result: Result<(), StoreError>) {
        match meta.commit {
            Commit::Journal(segment) => {
                if let Some(j) = &self.journal {
                    j.applied(segment);
                }
            }
            Commit::Direct(done) => {
                let _ = done.send(result);
            }
        }
    }
}
