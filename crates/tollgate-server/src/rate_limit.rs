//! Rate limits at admission (docs/rate-limits.md): requests per minute, tokens per minute and
//! concurrent requests, per platform, for the caller's user and key.
//!
//! The limits in force are resolved from a per-process snapshot (settings defaults + the
//! `rate_limits` overrides), rebuilt when this process writes either and on every settings refresh.
//! While no limit exists anywhere, admission costs one atomic load. Counting: PostgreSQL holds
//! the counters every process shares (`tollgate_rate_admit`, one round trip per limited request);
//! SQLite serves one process, which counts in memory with the same semantics.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tollgate_core::platform::{AuthSource, Platform};
use tollgate_core::rate::{PlatformRateLimits, RateKind, RateLimit, RateSubject};
use tollgate_core::settings::Settings;
use tollgate_store::{RateAdmission, Store, StoreError, User};

/// How long a concurrency lease lasts without renewal (a crashed process frees its slots by then).
pub const LEASE_TTL: SignedDuration = SignedDuration::from_secs(90);
/// How often a process renews the leases of its running requests (and prunes old counters).
const RENEW_EVERY: Duration = Duration::from_secs(30);
/// The in-memory counters are pruned of idle subjects past this many entries.
const MAX_MEMORY_SUBJECTS: usize = 100_000;

/// A request refused by a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRefusal {
    pub subject: RateSubject,
    pub platform: Platform,
    pub kind: RateKind,
    pub limit: u64,
    pub retry_after_secs: u64,
}

impl RateRefusal {
    pub fn message(&self) -> String {
        let whose = match self.subject {
            RateSubject::User => "your account's",
            RateSubject::Key => "this API key's",
        };
        let what = match self.kind {
            RateKind::Rpm => format!("{} requests per minute", self.limit),
            RateKind::Tpm => format!("{} tokens per minute", self.limit),
            RateKind::Concurrency => format!("{} concurrent requests", self.limit),
        };
        format!(
            "rate limit reached: {whose} {} {} limit ({what}, {} level); retry after {} s",
            self.platform,
            self.kind,
            self.subject.as_str(),
            self.retry_after_secs
        )
    }
}

/// The limits in force, resolved once per change.
#[derive(Default)]
struct Snapshot {
    /// Per auth source: the system layer patched by the source's.
    defaults: BTreeMap<AuthSource, PlatformRateLimits>,
    overrides: HashMap<(RateSubject, i64, Platform), RateLimit>,
}

#[derive(Default)]
struct MemoryBucket {
    minute: i64,
    requests: u64,
    tokens: u64,
    running: u64,
}

/// Counters of a process that shares them with no one (SQLite).
type Memory = HashMap<(RateSubject, i64, Platform), MemoryBucket>;

struct Inner {
    store: Arc<dyn Store>,
    shared: bool,
    /// Whether any limit exists at all (the hot path's only check while none does).
    any: AtomicBool,
    snapshot: RwLock<Arc<Snapshot>>,
    memory: Mutex<Memory>,
    /// Requests holding shared leases in this process (renewed together).
    live: Mutex<HashSet<String>>,
    tasks: TaskTracker,
}

/// Rate limit admission. Cheap to clone.
#[derive(Clone)]
pub struct RateLimiter(Arc<Inner>);

/// What an admitted, rate-limited request carries: its concurrency lease (released on drop) and
/// whose tokens-per-minute bucket its settlement fills.
pub struct RateTicket {
    pub lease: Option<Lease>,
    pub tpm: Option<TpmTargets>,
}

/// The subjects whose TPM buckets a request's tokens go to.
#[derive(Clone)]
pub struct TpmTargets {
    limiter: RateLimiter,
    platform: Platform,
    subjects: Vec<(RateSubject, i64)>,
}

impl std::fmt::Debug for TpmTargets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TpmTargets").field("platform", &self.platform).field("subjects", &self.subjects).finish()
    }
}

/// A running request's concurrency slots, freed when dropped (answer ended, client gone).
pub struct Lease {
    limiter: RateLimiter,
    request_id: String,
    platform: Platform,
    subjects: Vec<(RateSubject, i64)>,
}

fn minute_of(now: Timestamp) -> i64 {
    now.as_millisecond().div_euclid(60_000)
}

/// Seconds until the next minute bucket starts (at least 1).
fn to_next_minute(now: Timestamp) -> u64 {
    let into = now.as_millisecond().rem_euclid(60_000);
    u64::try_from((60_000 - into + 999) / 1000).unwrap_or(60).max(1)
}

impl RateLimiter {
    /// Loads the overrides and starts the lease renewal (shared counters only).
    pub async fn start(
        store: Arc<dyn Store>,
        settings: &Settings,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Result<Self, StoreError> {
        let limiter = Self(Arc::new(Inner {
            shared: store.shares_rate_counters(),
            store,
            any: AtomicBool::new(false),
            snapshot: RwLock::default(),
            memory: Mutex::default(),
            live: Mutex::default(),
            tasks: tasks.clone(),
        }));
        limiter.reload(settings).await?;
        if limiter.0.shared {
            let l = limiter.clone();
            tasks.spawn(async move {
                let mut tick = tokio::time::interval(RENEW_EVERY);
                tick.tick().await;
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        () = shutdown.cancelled() => break,
                    }
                    l.renew().await;
                }
            });
        }
        Ok(limiter)
    }

    /// Rebuilds the limits in force from `settings` and the stored overrides.
    pub async fn reload(&self, settings: &Settings) -> Result<(), StoreError> {
        let rows = self.0.store.list_rate_limits().await?;
        let mut snap = Snapshot::default();
        let mut any = false;
        for src in AuthSource::ALL {
            let d = settings.rate_defaults_for(*src);
            any |= d.any();
            snap.defaults.insert(*src, d);
        }
        for r in rows {
            any |= !r.limit.is_unlimited();
            snap.overrides.insert((r.subject, r.subject_id, r.platform), r.limit);
        }
        match self.0.snapshot.write() {
            Ok(mut g) => *g = Arc::new(snap),
            Err(p) => *p.into_inner() = Arc::new(snap),
        }
        self.0.any.store(any, Ordering::Release);
        Ok(())
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        match self.0.snapshot.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// A user's limits on `platform`: its override, else its auth source's defaults.
    pub fn user_limit(&self, user: &User, platform: Platform) -> RateLimit {
        let snap = self.snapshot();
        Self::user_limit_in(&snap, user, platform)
    }

    fn user_limit_in(snap: &Snapshot, user: &User, platform: Platform) -> RateLimit {
        match snap.overrides.get(&(RateSubject::User, user.id, platform)) {
            Some(l) => *l,
            None => snap.defaults.get(&user.auth_source).map(|d| d.get(platform)).unwrap_or_default(),
        }
    }

    /// Admits a request of `user` with key `key_id` on `platform`, or names the limit reached.
    /// `None` when no limit applies (nothing to carry, nothing to settle).
    pub async fn admit(
        &self,
        user: &User,
        key_id: i64,
        platform: Platform,
        request_id: &str,
    ) -> Result<Option<RateTicket>, AdmitError> {
        if !self.0.any.load(Ordering::Acquire) {
            return Ok(None);
        }
        let mut subjects = Vec::with_capacity(2);
        {
            let snap = self.snapshot();
            let user_limit = Self::user_limit_in(&snap, user, platform);
            if !user_limit.is_unlimited() {
                subjects.push((RateSubject::User, user.id, user_limit));
            }
            if let Some(l) = snap.overrides.get(&(RateSubject::Key, key_id, platform)).filter(|l| !l.is_unlimited()) {
                subjects.push((RateSubject::Key, key_id, *l));
            }
        }
        if subjects.is_empty() {
            return Ok(None);
        }
        let now = Timestamp::now();
        let refused = if self.0.shared {
            let lease_until = now.checked_add(LEASE_TTL).unwrap_or(now);
            let a = RateAdmission { request_id, platform, now, lease_until, subjects: &subjects };
            self.0.store.rate_admit(&a).await?
        } else {
            self.admit_in_memory(platform, now, &subjects)
        };
        if let Some((subject, kind)) = refused {
            let limit = subjects.iter().find(|s| s.0 == subject).and_then(|s| s.2.get(kind)).unwrap_or(0);
            let retry_after_secs = match kind {
                RateKind::Concurrency => 1,
                RateKind::Rpm | RateKind::Tpm => to_next_minute(now),
            };
            metrics::counter!("tollgate_rate_limited_total", "platform" => platform.as_str(), "limit" => kind.as_str())
                .increment(1);
            return Err(AdmitError::Refused(RateRefusal { subject, platform, kind, limit, retry_after_secs }));
        }
        let with = |k: RateKind| -> Vec<(RateSubject, i64)> {
            subjects.iter().filter(|s| s.2.get(k).is_some()).map(|s| (s.0, s.1)).collect()
        };
        let (leased, tpm) = (with(RateKind::Concurrency), with(RateKind::Tpm));
        let lease = (!leased.is_empty()).then(|| {
            if self.0.shared
                && let Ok(mut live) = self.0.live.lock()
            {
                live.insert(request_id.to_owned());
            }
            Lease { limiter: self.clone(), request_id: request_id.to_owned(), platform, subjects: leased }
        });
        let tpm = (!tpm.is_empty()).then(|| TpmTargets { limiter: self.clone(), platform, subjects: tpm });
        Ok(Some(RateTicket { lease, tpm }))
    }

    /// The in-memory twin of `tollgate_rate_admit`: check every subject, then count all.
    fn admit_in_memory(
        &self,
        platform: Platform,
        now: Timestamp,
        subjects: &[(RateSubject, i64, RateLimit)],
    ) -> Option<(RateSubject, RateKind)> {
        let minute = minute_of(now);
        let Ok(mut mem) = self.0.memory.lock() else { return None };
        if mem.len() > MAX_MEMORY_SUBJECTS {
            mem.retain(|_, b| b.running > 0 || b.minute >= minute);
        }
        for (subject, id, limit) in subjects {
            let b = mem.entry((*subject, *id, platform)).or_default();
            if b.minute != minute {
                (b.minute, b.requests, b.tokens) = (minute, 0, 0);
            }
            for kind in RateKind::ALL {
                let used = match kind {
                    RateKind::Rpm => b.requests,
                    RateKind::Tpm => b.tokens,
                    RateKind::Concurrency => b.running,
                };
                if limit.get(kind).is_some_and(|l| used >= l) {
                    return Some((*subject, kind));
                }
            }
        }
        for (subject, id, limit) in subjects {
            let b = mem.entry((*subject, *id, platform)).or_default();
            if limit.rpm.is_some() {
                b.requests += 1;
            }
            if limit.concurrency.is_some() {
                b.running += 1;
            }
        }
        None
    }

    /// Adds a settled request's tokens to its subjects' current minute buckets.
    pub async fn add_tokens(&self, t: &TpmTargets, tokens: u64) {
        let now = Timestamp::now();
        let minute = minute_of(now);
        if self.0.shared {
            for (subject, id) in &t.subjects {
                if let Err(e) = self.0.store.rate_add_tokens(*subject, *id, t.platform, minute, tokens).await {
                    tracing::warn!(error = %e, "could not count tokens for a rate limit");
                }
            }
            return;
        }
        let Ok(mut mem) = self.0.memory.lock() else { return };
        for (subject, id) in &t.subjects {
            let b = mem.entry((*subject, *id, t.platform)).or_default();
            if b.minute != minute {
                (b.minute, b.requests, b.tokens) = (minute, 0, 0);
            }
            b.tokens = b.tokens.saturating_add(tokens);
        }
    }

    /// Renews the leases of this process's running requests; prunes old counters.
    async fn renew(&self) {
        let now = Timestamp::now();
        let ids: Vec<String> = self.0.live.lock().map(|l| l.iter().cloned().collect()).unwrap_or_default();
        if !ids.is_empty()
            && let Err(e) = self.0.store.rate_renew(&ids, now.checked_add(LEASE_TTL).unwrap_or(now)).await
        {
            tracing::warn!(error = %e, "could not renew rate limit leases");
        }
        if let Err(e) = self.0.store.rate_prune(now).await {
            tracing::warn!(error = %e, "could not prune rate limit counters");
        }
    }
}

impl TpmTargets {
    pub async fn add(&self, tokens: u64) {
        self.limiter.add_tokens(self, tokens).await;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let inner = &self.limiter.0;
        if !inner.shared {
            if let Ok(mut mem) = inner.memory.lock() {
                for (subject, id) in &self.subjects {
                    if let Some(b) = mem.get_mut(&(*subject, *id, self.platform)) {
                        b.running = b.running.saturating_sub(1);
                    }
                }
            }
            return;
        }
        if let Ok(mut live) = inner.live.lock() {
            live.remove(&self.request_id);
        }
        let (store, id) = (inner.store.clone(), std::mem::take(&mut self.request_id));
        inner.tasks.spawn(async move {
            if let Err(e) = store.rate_release(&id).await {
                tracing::warn!(request_id = %id, error = %e, "could not release a rate limit lease (it expires)");
            }
        });
    }
}

/// Why admission failed: a limit, or the store.
#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    #[error("{}", .0.message())]
    Refused(RateRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A response body that keeps `lease` until the body is done or dropped (client gone).
pub fn hold_until_sent(body: Body, lease: Lease) -> Body {
    Body::new(Leased { inner: body, _lease: lease })
}

struct Leased {
    inner: Body,
    _lease: Lease,
}

impl http_body::Body for Leased {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_the_rest_of_the_minute() {
        let t = Timestamp::from_millisecond(60_000 * 100 + 59_500).unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(to_next_minute(t), 1);
        let t = Timestamp::from_millisecond(60_000 * 100).unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(to_next_minute(t), 60);
        let t = Timestamp::from_millisecond(60_000 * 100 + 12_300).unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(to_next_minute(t), 48);
    }
}
