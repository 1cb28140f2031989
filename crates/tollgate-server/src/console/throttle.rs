//! Login throttling: failed attempts per account and per client address within a sliding window.
//!
//! In memory, per process: several gateway processes each allow the limit, which still bounds
//! guessing to a few attempts per minute. A throttled attempt is refused before the password is
//! checked, so it teaches an attacker nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits of the throttle.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleLimits {
    pub per_account: usize,
    pub per_address: usize,
    pub window: Duration,
}

impl Default for ThrottleLimits {
    /// 5 failures per account and 20 per address in 15 minutes (an address may be a shared NAT).
    fn default() -> Self {
        Self { per_account: 5, per_address: 20, window: Duration::from_secs(15 * 60) }
    }
}

/// Failed-login bookkeeping.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    limits: ThrottleLimits,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Beyond this many tracked keys, stale ones are swept on the next failure.
const SWEEP_ABOVE: usize = 10_000;

impl LoginThrottle {
    pub fn new(limits: ThrottleLimits) -> Self {
        Self { limits, failures: Mutex::new(HashMap::new()) }
    }

    fn keys(account: &str, address: Option<&str>) -> [(String, bool); 2] {
        [(format!("acct:{}", account.trim().to_lowercase()), true), (format!("addr:{}", address.unwrap_or("")), false)]
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, VecDeque<Instant>>) -> R) -> R {
        match self.failures.lock() {
            Ok(mut g) => f(&mut g),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// `Err(seconds until an attempt is allowed)` when the account or the address is throttled.
    pub fn check(&self, account: &str, address: Option<&str>) -> Result<(), u64> {
        let now = Instant::now();
        let ThrottleLimits { per_account, per_address, window } = self.limits;
        self.with(|map| {
            for (key, is_account) in Self::keys(account, address) {
                if !is_account && address.is_none() {
                    continue;
                }
                let max = if is_account { per_account } else { per_address };
                if let Some(q) = map.get_mut(&key) {
                    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
                        q.pop_front();
                    }
                    if q.len() >= max {
                        let oldest = q.front().copied().unwrap_or(now);
                        let wait = window.saturating_sub(now.duration_since(oldest));
                        return Err(wait.as_secs() + 1);
                    }
                }
            }
            Ok(())
        })
    }

    /// Counts a failed attempt against the account and the address.
    pub fn failed(&self, account: &str, address: Option<&str>) {
        let now = Instant::now();
        let window = self.limits.window;
        self.with(|map| {
            if map.len() > SWEEP_ABOVE {
                map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
            }
            for (key, is_account) in Self::keys(account, address) {
                if is_account || address.is_some() {
                    map.entry(key).or_default().push_back(now);
                }
            }
        });
    }

    /// A successful login clears the account's failures (not the address's).
    pub fn succeeded(&self, account: &str) {
        let [(key, _), _] = Self::keys(account, None);
        self.with(|map| map.remove(&key));
    }
}
