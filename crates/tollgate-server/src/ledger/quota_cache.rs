//! An in-process copy of each hot quota row, so soft-mode admission (SPEC 2.3) does not read the
//! database on every request.
//!
//! Why it stays exact for this process: every charge of this process is applied to the copy (with
//! [`QuotaRow::charge`], the trigger's own rule) before the request's answer is released, and is
//! kept as *pending* until the settlement worker has written it to the database; a reload adds the
//! pending charges to the row it reads. A quota change made through this process's console
//! invalidates the user's copies. A reload never overlaps a commit of this process (the worker holds
//! [`QuotaCache::settling`] from its write until the charges are no longer pending), so a row read
//! from the database is never missing, nor double-counting, a charge that the copy applies. What other
//! processes on the same database do (their settlements, their console writes) is seen when a copy is
//! reloaded, at most `ttl` later: the bound `docs/quotas.md` states. Strict mode does not use the
//! copy: its reservation reads the row under lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tollgate_core::money::Money;
use tollgate_core::platform::Platform;
use tollgate_core::quota::{Limit, QuotaOwner, QuotaRow};
use tollgate_core::window::{QuotaWindow, Rollover};
use tollgate_store::{NewUsageRecord, Store, StoreError};

/// A user's row or an API key's row (checked on top of its user's), of one platform.
type Key = (QuotaOwner, Platform);

/// The rows a settled record is counted in: its user's and, when it came with one, its key's.
fn owners(record: &NewUsageRecord) -> impl Iterator<Item = Key> {
    let key = record.api_key_id.map(|k| (QuotaOwner::Key(k), record.platform));
    std::iter::once((QuotaOwner::User(record.user_id), record.platform)).chain(key)
}

async fn read(store: &dyn Store, (owner, platform): Key) -> Result<Option<QuotaRow>, StoreError> {
    match owner {
        QuotaOwner::User(id) => store.get_by_user_platform(id, platform).await,
        QuotaOwner::Key(id) => store.get_key_quota(id, platform).await,
    }
}

struct Entry {
    row: Option<QuotaRow>,
    /// Until when `row` may be used without a reload; `None`: reload first.
    fresh_until: Option<Instant>,
    /// Bumped when the copy is invalidated: a reload that raced an invalidation (its read may
    /// predate the change) is not kept. Charges cannot race a reload (see `gate`).
    version: u64,
    /// Last use, for [`QuotaCache::prune`].
    touched: Instant,
    /// A request is rereading this row.
    loading: bool,
    /// Charges applied to `row` that the database does not hold yet, by settlement sequence number.
    pending: Vec<Pending>,
}

struct Pending {
    seq: u64,
    cost: Money,
    rollovers: [Rollover; 4],
}

impl Entry {
    fn new() -> Self {
        Self { row: None, fresh_until: None, version: 0, touched: Instant::now(), loading: false, pending: Vec::new() }
    }

    /// A row read from the database, with the charges it does not hold yet. (A pending charge made
    /// just before a window rolled over is added to the new window: for the milliseconds until it is
    /// written, the copy errs high, never low.)
    fn with_pending(&self, mut row: Option<QuotaRow>) -> (Option<QuotaRow>, bool) {
        let mut exact = true;
        if let Some(r) = row.as_mut() {
            for p in &self.pending {
                exact &= r.charge(p.cost, &p.rollovers).is_ok();
            }
        }
        (row, exact)
    }
}

/// Cheap to clone; all clones share one map.
#[derive(Clone)]
pub struct QuotaCache {
    ttl: Duration,
    map: Arc<Mutex<HashMap<Key, Entry>>>,
    /// Held for writing while this process's settlements commit and are applied; reloads read
    /// under it.
    gate: Arc<tokio::sync::RwLock<()>>,
}

impl QuotaCache {
    /// `ttl` zero turns the copy off: every admission reads the database.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, map: Arc::default(), gate: Arc::default() }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        // The map holds no invariant a panicking holder could break half-way.
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The row for admission. A fresh copy is used as is. A stale one (older than `ttl`, but still
    /// exact for this process's own charges) is reread by one request while the others keep using it;
    /// a copy that was never loaded or was invalidated is read first.
    pub async fn row(
        &self,
        store: &dyn Store,
        owner: QuotaOwner,
        platform: Platform,
    ) -> Result<Option<QuotaRow>, StoreError> {
        let key = (owner, platform);
        if self.ttl.is_zero() {
            // No copy kept, but this process's charges not yet written still count.
            let _no_commit_in_flight = self.gate.read().await;
            let row = read(store, key).await?;
            return Ok(match self.lock().get(&key) {
                Some(entry) => entry.with_pending(row).0,
                None => row,
            });
        }
        if let Some(row) = self.usable(key, false) {
            return Ok(row);
        }
        let _no_commit_in_flight = self.gate.read().await;
        // Check again: another request may have reloaded while this one waited.
        if let Some(row) = self.usable(key, true) {
            return Ok(row);
        }
        let version = self.lock().get(&key).map_or(0, |e| e.version);
        let result = read(store, key).await;
        let mut map = self.lock();
        let entry = map.entry(key).or_insert_with(Entry::new);
        entry.loading = false;
        let (row, exact) = entry.with_pending(result?);
        if entry.version == version && exact {
            entry.row = row.clone();
            entry.fresh_until = Some(Instant::now() + self.ttl);
        }
        Ok(row)
    }

    /// The copy if this request may use it without reading; otherwise marks it as being reloaded
    /// (when `claim`) and returns `None`.
    fn usable(&self, key: Key, claim: bool) -> Option<Option<QuotaRow>> {
        let mut map = self.lock();
        let entry = map.entry(key).or_insert_with(Entry::new);
        let now = Instant::now();
        entry.touched = now;
        match entry.fresh_until {
            Some(t) if now < t => Some(entry.row.clone()),
            Some(_) if entry.loading => Some(entry.row.clone()),
            _ => {
                if claim {
                    entry.loading = true;
                }
                None
            }
        }
    }

    /// Held by the settlement worker from writing a batch until its charges are no longer pending.
    pub async fn settling(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.gate.write().await
    }

    /// Applies a charge of this process, committed (to the journal) or about to be (to the
    /// database), under the rollovers it is charged under; it stays pending until [`Self::written`]
    /// or [`Self::dropped`]. A copy that cannot take it exactly is dropped instead. The charge
    /// counts in the user's row and in the key's (a key's lifetime budget spans platforms: its copy
    /// for another platform sees this charge at its next reload, at most `ttl` later).
    pub fn charged(&self, seq: u64, record: &NewUsageRecord, rollovers: &[Rollover; 4]) {
        let mut map = self.lock();
        for key in owners(record) {
            let entry = map.entry(key).or_insert_with(Entry::new);
            entry.touched = Instant::now();
            entry.pending.push(Pending { seq, cost: record.cost, rollovers: *rollovers });
            let applied = match entry.row.as_mut() {
                Some(row) => row.charge(record.cost, rollovers).is_ok(),
                // No row: the trigger will create one with this usage and no limits, which admits
                // exactly as no row does; the next reload brings it in.
                None => true,
            };
            if !applied {
                entry.fresh_until = None;
            }
        }
    }

    /// The database now holds charge `seq` (called under [`Self::settling`]).
    pub fn written(&self, seq: u64, record: &NewUsageRecord) {
        let mut map = self.lock();
        for key in owners(record) {
            if let Some(entry) = map.get_mut(&key) {
                entry.pending.retain(|p| p.seq != seq);
            }
        }
    }

    /// Charge `seq` will not be written (the database refused it): the copies, which count it, are
    /// reread.
    pub fn dropped(&self, seq: u64, record: &NewUsageRecord) {
        let mut map = self.lock();
        for key in owners(record) {
            if let Some(entry) = map.get_mut(&key) {
                entry.pending.retain(|p| p.seq != seq);
                entry.version += 1;
                entry.fresh_until = None;
            }
        }
    }

    /// Whether (user, platform) may have a capped window, for alert detection (docs/alerts.md):
    /// `false` only when this process holds a loaded copy without one; unknown reads as `true`.
    pub fn may_have_cap(&self, user_id: i64, platform: Platform) -> bool {
        match self.lock().get(&(QuotaOwner::User(user_id), platform)) {
            Some(Entry { fresh_until: Some(_), row, .. }) => row.as_ref().is_some_and(|r| {
                let limits = r.effective_limits();
                QuotaWindow::ALL.iter().any(|w| matches!(Limit::of(limits.get(*w)), Limit::Cap(_)))
            }),
            _ => true,
        }
    }

    /// Forgets the copies of one owner's rows (their limits, usage or top-ups were changed through
    /// this process).
    pub fn invalidate(&self, owner: QuotaOwner) {
        for (key, entry) in self.lock().iter_mut() {
            if key.0 == owner {
                entry.version += 1;
                entry.fresh_until = None;
            }
        }
    }

    /// Drops copies unused for a minute, so the map holds only active callers. (A reload in flight
    /// is far younger than that, so its version check is never lost; a copy with pending charges is
    /// kept until they are written.)
    pub fn prune(&self) {
        let idle = Duration::from_secs(60);
        self.lock().retain(|_, e| e.touched.elapsed() < idle || !e.pending.is_empty());
    }
}
