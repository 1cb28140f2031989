//! Login throttling without lock-out: an increasing delay per (account, client address).
//!
//! The first [`FREE_FAILURES`] failures cost nothing; each further one makes the next attempt wait
//! 1 s, 2 s, 4 s … up to [`MAX_DELAY`]. A throttled attempt is answered 429 with `Retry-After` at
//! once (no sleeping on a connection) and before the password is checked, so it teaches nothing.
//! There is no hard lock: once the delay has passed, the right password signs in. Because the key
//! includes the client's address, someone guessing from elsewhere slows only themselves; behind a
//! reverse proxy the address is the proxy's unless `--trusted-proxies` names it
//! (docs/security.md). In memory, per process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed without delay.
pub const FREE_FAILURES: u32 = 3;
/// Longest delay between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(30);
/// Failures are forgotten after this long without a new one.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

/// Beyond this many tracked keys, stale ones are swept on the next failure.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    next_allowed: Instant,
}

/// The delay before the attempt after the `count`-th consecutive failure.
pub fn delay_after(count: u32) -> Duration {
    if count <= FREE_FAILURES {
        return Duration::ZERO;
    }
    let exp = (count - FREE_FAILURES - 1).min(16);
    Duration::from_secs(1u64 << exp).min(MAX_DELAY)
}

/// Failed-login bookkeeping.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    pub fn new() -> Self {
        Self::default()
    }

    fn key(account: &str, address: Option<&str>) -> String {
        format!("{}|{}", account.trim().to_lowercase(), address.unwrap_or(""))
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Failures>) -> R) -> R {
        match self.failures.lock() {
            Ok(mut g) => f(&mut g),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// `Err(whole seconds to wait)` while the delay of this account and address runs.
    pub fn check(&self, account: &str, address: Option<&str>) -> Result<(), u64> {
        let now = Instant::now();
        self.with(|map| match map.get(&Self::key(account, address)) {
            Some(f) if f.next_allowed > now => {
                let wait = f.next_allowed - now;
                Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
            }
            _ => Ok(()),
        })
    }

    /// Counts a failed attempt; returns the delay before the next one.
    pub fn failed(&self, account: &str, address: Option<&str>) -> Duration {
        let now = Instant::now();
        self.with(|map| {
            if map.len() > SWEEP_ABOVE {
                map.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
            }
            let entry =
                map.entry(Self::key(account, address)).or_insert(Failures { count: 0, last: now, next_allowed: now });
            if now.duration_since(entry.last) >= FORGET_AFTER {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
            let delay = delay_after(entry.count);
            entry.next_allowed = now + delay;
            delay
        })
    }

    /// A successful login clears this account and address.
    pub fn succeeded(&self, account: &str, address: Option<&str>) {
        self.with(|map| map.remove(&Self::key(account, address)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let secs: Vec<u64> = (1..=10).map(|n| delay_after(n).as_secs()).collect();
        assert_eq!(secs, [0, 0, 0, 1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(delay_after(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn the_key_is_account_and_address() {
        let t = LoginThrottle::new();
        for _ in 0..5 {
            t.failed("A@x", Some("1.1.1.1"));
        }
        assert!(t.check("a@x", Some("1.1.1.1")).is_err());
        assert!(t.check("a@x", Some("2.2.2.2")).is_ok());
        t.succeeded("a@x", Some("1.1.1.1"));
        assert!(t.check("a@x", Some("1.1.1.1")).is_ok());
    }
}
