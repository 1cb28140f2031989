//! API key → caller, before any of the body is read.
//!
//! Keys are looked up by their SHA-256 and cached for [`KEY_CACHE_TTL`], so the hot path does not
//! read the database. A key revoked or a user disabled through this process stops working at once
//! (the console records it here: [`KeyCache::key_revoked`], [`KeyCache::user_changed`]), streams
//! already running included ([`KeyCache::is_still_valid`], checked per chunk); through another
//! process, new requests stop within [`KEY_CACHE_TTL`] (docs/security.md).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use jiff::Timestamp;
use tollgate_store::{ApiKey, Store, StoreError, User, UserStatus};

use super::error::{ErrorShape, GatewayError};
use super::family::Route;
use crate::keys::hash_secret;

/// How long a key lookup (found or not) is reused.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(2);
/// `last_used_at` is written at most this often per key, off the request path.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// The cache is cleared when it grows past this many keys (a flood of random keys cannot grow it).
const MAX_CACHED: usize = 10_000;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub key: ApiKey,
}

struct Entry {
    fetched: Instant,
    caller: Option<Arc<Caller>>,
}

/// Keys revoked and users disabled through this process since it started.
#[derive(Default)]
struct Revocations {
    /// Bumped on every change, so the per-chunk check costs one atomic load while nothing changed.
    generation: AtomicU64,
    keys: RwLock<HashSet<i64>>,
    users: RwLock<HashSet<i64>>,
}

/// Cached key lookups.
#[derive(Clone)]
pub struct KeyCache {
    store: Arc<dyn Store>,
    entries: Arc<RwLock<HashMap<String, Entry>>>,
    touched: Arc<RwLock<HashMap<i64, Instant>>>,
    revoked: Arc<Revocations>,
}

impl KeyCache {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, entries: Arc::default(), touched: Arc::default(), revoked: Arc::default() }
    }

    /// A key was revoked through this process: refused from the next request, and streams running
    /// on it are cut at their next chunk.
    pub fn key_revoked(&self, key_id: i64) {
        if let Ok(mut k) = self.revoked.keys.write() {
            k.insert(key_id);
        }
        self.revoked.generation.fetch_add(1, Ordering::Release);
        self.invalidate();
    }

    /// A user's status or role changed through this process. A disabled user is refused from the
    /// next request and its running streams are cut; re-enabling lifts that.
    pub fn user_changed(&self, user_id: i64, disabled: bool) {
        if let Ok(mut u) = self.revoked.users.write() {
            if disabled {
                u.insert(user_id);
            } else {
                u.remove(&user_id);
            }
        }
        self.revoked.generation.fetch_add(1, Ordering::Release);
        self.invalidate();
    }

    /// Whether a request of `user_id` with key `key_id` may still be served (cheap: one atomic load
    /// while no key was revoked and no user disabled through this process).
    pub fn is_still_valid(&self, key_id: Option<i64>, user_id: i64) -> bool {
        if self.revoked.generation.load(Ordering::Acquire) == 0 {
            return true;
        }
        let key_ok = key_id.is_none_or(|id| self.revoked.keys.read().map_or(true, |k| !k.contains(&id)));
        key_ok && self.revoked.users.read().map_or(true, |u| !u.contains(&user_id))
    }

    /// Drop every cached lookup (after a key is revoked or a user changed through this process).
    pub fn invalidate(&self) {
        if let Ok(mut m) = self.entries.write() {
            m.clear();
        }
    }

    async fn lookup(&self, secret: &str) -> Result<Option<Arc<Caller>>, StoreError> {
        let hash = hash_secret(secret);
        if let Ok(m) = self.entries.read()
            && let Some(e) = m.get(&hash)
            && e.fetched.elapsed() < KEY_CACHE_TTL
        {
            return Ok(e.caller.clone());
        }
        let caller = match self.store.find_api_key_by_hash(&hash).await? {
            Some(key) => self.store.get_user(key.user_id).await?.map(|user| Arc::new(Caller { user, key })),
            None => None,
        };
        if let Ok(mut m) = self.entries.write() {
            if m.len() >= MAX_CACHED {
                m.clear();
            }
            m.insert(hash, Entry { fetched: Instant::now(), caller: caller.clone() });
        }
        Ok(caller)
    }

    /// Whether `last_used_at` is due for this key (and marks it done).
    fn touch_due(&self, key_id: i64) -> bool {
        let Ok(mut m) = self.touched.write() else { return false };
        let due = m.get(&key_id).is_none_or(|t| t.elapsed() >= TOUCH_EVERY);
        if due {
            if m.len() >= MAX_CACHED {
                m.clear();
            }
            m.insert(key_id, Instant::now());
        }
        due
    }
}

/// The key the client sent, in the headers its SDK uses: `x-api-key` (Anthropic), `x-goog-api-key`
/// or `?key=` (Gemini), or `Authorization: Bearer` (all).
pub fn client_key<'a>(shape: ErrorShape, headers: &'a HeaderMap, query_key: Option<&'a str>) -> Option<&'a str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty());
    let bearer = header("authorization").and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
    });
    match shape {
        ErrorShape::Anthropic => header("x-api-key").or(bearer),
        ErrorShape::OpenAi => bearer,
        ErrorShape::Gemini => header("x-goog-api-key").or(query_key.filter(|k| !k.is_empty())).or(bearer),
    }
}

/// The active caller behind a gateway key secret: 401 for an unknown or revoked key, 403 for a
/// disabled user.
pub async fn resolve(keys: &KeyCache, secret: &str) -> Result<Arc<Caller>, GatewayError> {
    let caller = keys.lookup(secret).await?.ok_or(GatewayError::InvalidKey)?;
    // A lookup that raced with a revocation may have cached the old row: the record decides.
    if !keys.is_still_valid(Some(caller.key.id), caller.user.id) {
        return Err(if keys.is_still_valid(None, caller.user.id) {
            GatewayError::InvalidKey
        } else {
            GatewayError::UserDisabled
        });
    }
    if caller.user.status != UserStatus::Active {
        return Err(GatewayError::UserDisabled);
    }
    Ok(caller)
}

/// Resolves the caller, or the native 401/403.
pub async fn authenticate(
    keys: &KeyCache,
    tasks: &tokio_util::task::TaskTracker,
    route: &Route,
    headers: &HeaderMap,
    query_key: Option<&str>,
) -> Result<Arc<Caller>, GatewayError> {
    let shape = route.endpoint.shape();
    let Some(secret) = client_key(shape, headers, query_key) else {
        return Err(GatewayError::MissingKey(match shape {
            ErrorShape::Anthropic => "x-api-key",
            ErrorShape::OpenAi => "Authorization: Bearer",
            ErrorShape::Gemini => "x-goog-api-key",
        }));
    };
    let caller = resolve(keys, secret).await?;
    if let Some(allowed) = &caller.key.platforms
        && !allowed.contains(&route.platform)
    {
        return Err(GatewayError::PlatformNotAllowed(route.platform.to_string()));
    }
    if keys.touch_due(caller.key.id) {
        let (store, id) = (keys.store.clone(), caller.key.id);
        tasks.spawn(async move {
            if let Err(e) = store.touch_api_key(id, Timestamp::now()).await {
                tracing::warn!(error = %e, "could not record key use");
            }
        });
    }
    Ok(caller)
}
