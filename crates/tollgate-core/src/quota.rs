//! Quota limits, the runtime row, the admission decision (SPEC 2.2) and the quota views (SPEC 5).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::platform::Platform;
use crate::window::{QuotaWindow, Rollover, WindowClock, WindowError};

/// A limit as stored: `None` = unlimited, `Some(0)` = disabled, `Some(n)` = a cap of n nano-USD.
pub type LimitValue = Option<Money>;

/// The meaning of a stored limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Unlimited,
    Disabled,
    Cap(Money),
}

impl Limit {
    pub fn of(value: LimitValue) -> Self {
        match value {
            None => Limit::Unlimited,
            Some(m) if m.is_zero() => Limit::Disabled,
            Some(m) => Limit::Cap(m),
        }
    }
}

/// Daily, weekly and monthly limits of one platform. Serialized as `{"daily","weekly","monthly"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WindowLimits {
    pub daily: LimitValue,
    pub weekly: LimitValue,
    pub monthly: LimitValue,
}

impl WindowLimits {
    pub fn get(&self, w: QuotaWindow) -> LimitValue {
        match w {
            QuotaWindow::Daily => self.daily,
            QuotaWindow::Weekly => self.weekly,
            QuotaWindow::Monthly => self.monthly,
        }
    }

    pub fn set(&mut self, w: QuotaWindow, v: LimitValue) {
        match w {
            QuotaWindow::Daily => self.daily = v,
            QuotaWindow::Weekly => self.weekly = v,
            QuotaWindow::Monthly => self.monthly = v,
        }
    }

    pub fn is_all_unlimited(&self) -> bool {
        QuotaWindow::ALL.iter().all(|w| self.get(*w).is_none())
    }
}

/// Usage metered in one window, under the start of the window it was counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowUsage {
    pub usage: Money,
    pub start: Option<Timestamp>,
}

/// One user's runtime quota row for one platform (table `user_platform_quotas`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRow {
    pub user_id: i64,
    pub platform: Platform,
    pub limits: WindowLimits,
    /// Indexed by [`QuotaWindow::index`].
    pub usage: [WindowUsage; 3],
    /// False once an admin removed this platform's limits (soft delete); usage is still metered.
    pub active: bool,
}

impl QuotaRow {
    /// A row with no limits and no usage.
    pub fn empty(user_id: i64, platform: Platform) -> Self {
        Self { user_id, platform, limits: WindowLimits::default(), usage: Default::default(), active: true }
    }

    /// The limits in force: none for a soft-deleted row.
    pub fn effective_limits(&self) -> WindowLimits {
        if self.active { self.limits } else { WindowLimits::default() }
    }

    /// Adds a settled charge exactly as the database's settlement trigger does (migration 0002): a
    /// window whose stored start is current is added to; any other restarts at this cost under the
    /// new window's start, kept at the millisecond as stored. `rollovers` come from
    /// [`WindowClock::rollovers`] at the settlement's time. Keeps an in-process copy of a row equal to
    /// the stored one.
    pub fn charge(&mut self, cost: Money, rollovers: &[Rollover; 3]) -> Result<(), WindowError> {
        for w in QuotaWindow::ALL {
            let roll = rollovers[w.index()];
            let slot = &mut self.usage[w.index()];
            if roll.is_current(slot.start) {
                slot.usage = slot.usage.saturating_add(cost);
            } else {
                slot.usage = cost;
                slot.start = Some(Timestamp::from_millisecond(roll.new_start.as_millisecond())?);
            }
        }
        Ok(())
    }

    /// The usage that counts in the current window (0 when the stored window has expired).
    pub fn current_usage(&self, clock: &WindowClock, w: QuotaWindow, now: Timestamp) -> Result<Money, WindowError> {
        let u = self.usage[w.index()];
        Ok(if clock.rollover(w, now)?.is_current(u.start) { u.usage } else { Money::ZERO })
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectKind {
    /// The limit is 0: the platform is off for this user. Retrying cannot help (403).
    Disabled,
    /// The window's usage reached its cap (429 until `resets_at`).
    Exhausted,
}

impl RejectKind {
    pub const fn code(self) -> &'static str {
        match self {
            RejectKind::Disabled => "platform_quota_disabled",
            RejectKind::Exhausted => "platform_quota_exhausted",
        }
    }
}

/// A refusal with everything the error message and `Retry-After` need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RejectKind,
    pub platform: Platform,
    pub window: QuotaWindow,
    pub usage: Money,
    pub limit: Money,
    pub resets_at: Timestamp,
    /// Whole seconds until `resets_at`, rounded up.
    pub retry_after_secs: u64,
}

impl Rejection {
    /// A human message naming the platform, window, usage, limit and reset time.
    pub fn message(&self, clock: &WindowClock) -> String {
        let resets = self.resets_at.to_zoned(clock.zone.clone());
        match self.kind {
            RejectKind::Disabled => {
                format!("{} is disabled for this account by its {} quota (limit 0 USD)", self.platform, self.window)
            }
            RejectKind::Exhausted => format!(
                "{} {} quota exhausted: used {} USD of {} USD; resets at {}",
                self.platform,
                self.window,
                self.usage,
                self.limit,
                resets.strftime("%Y-%m-%dT%H:%M:%S%:z")
            ),
        }
    }
}

/// The admission decision (SPEC 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allow,
    Reject(Rejection),
}

/// Checks one row before forwarding: windows in the order daily, weekly, monthly; 0 → disabled;
/// usage ≥ cap → exhausted. No row, a soft-deleted row or all limits null → allowed.
///
/// `pending` is what is already promised but not yet charged plus this request's estimate (strict
/// mode); with `pending` > 0 a window is exhausted when `usage + pending > cap`. Soft mode passes 0.
pub fn admit(
    row: Option<&QuotaRow>,
    clock: &WindowClock,
    now: Timestamp,
    pending: Money,
) -> Result<Admission, WindowError> {
    let Some(row) = row else {
        return Ok(Admission::Allow);
    };
    let limits = row.effective_limits();
    for w in QuotaWindow::ALL {
        let cap = match Limit::of(limits.get(w)) {
            Limit::Unlimited => continue,
            Limit::Disabled => Money::ZERO,
            Limit::Cap(c) => c,
        };
        let usage = row.current_usage(clock, w, now)?;
        let span = clock.current(w, row.usage[w.index()].start, now)?;
        let kind = if cap.is_zero() {
            Some(RejectKind::Disabled)
        } else if usage >= cap || (!pending.is_zero() && usage.saturating_add(pending) > cap) {
            Some(RejectKind::Exhausted)
        } else {
            None
        };
        if let Some(kind) = kind {
            return Ok(Admission::Reject(Rejection {
                kind,
                platform: row.platform,
                window: w,
                usage,
                limit: cap,
                resets_at: span.end,
                retry_after_secs: WindowClock::seconds_until(now, span.end),
            }));
        }
    }
    Ok(Admission::Allow)
}

/// One window of a quota view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowView {
    pub limit: LimitValue,
    /// 0 when the stored window expired.
    pub usage: Money,
    /// Null when unlimited and unused.
    pub resets_at: Option<Timestamp>,
    /// The stored start when it is the current window (admin view), else null.
    pub window_start: Option<Timestamp>,
}

/// A platform's quota state as users and admins see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaView {
    pub platform: Platform,
    pub windows: [WindowView; 3],
}

impl QuotaView {
    /// Whether the view is worth showing: a limit, or usage in a current window.
    pub fn is_meaningful(&self) -> bool {
        self.windows.iter().any(|w| w.limit.is_some() || !w.usage.is_zero())
    }
}

/// Builds the view of a row at `now`, with windows computed by the same [`WindowClock`] as admission.
pub fn view(row: &QuotaRow, clock: &WindowClock, now: Timestamp) -> Result<QuotaView, WindowError> {
    let limits = row.effective_limits();
    let mut windows = [WindowView { limit: None, usage: Money::ZERO, resets_at: None, window_start: None }; 3];
    for w in QuotaWindow::ALL {
        let stored = row.usage[w.index()];
        let current = clock.rollover(w, now)?.is_current(stored.start);
        let usage = if current { stored.usage } else { Money::ZERO };
        let limit = limits.get(w);
        let resets_at =
            if limit.is_none() && usage.is_zero() { None } else { Some(clock.current(w, stored.start, now)?.end) };
        windows[w.index()] =
            WindowView { limit, usage, resets_at, window_start: if current { stored.start } else { None } };
    }
    Ok(QuotaView { platform: row.platform, windows })
}

#[cfg(test)]
#[path = "quota_tests.rs"]
mod tests;
