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

/// 5-hour, daily, weekly and monthly limits of one platform. Serialized as
/// `{"five_hour","daily","weekly","monthly"}`; stored JSON written before the 5-hour window existed
/// reads as `five_hour: null` (unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WindowLimits {
    #[serde(default)]
    pub five_hour: LimitValue,
    pub daily: LimitValue,
    pub weekly: LimitValue,
    pub monthly: LimitValue,
}

impl WindowLimits {
    pub fn get(&self, w: QuotaWindow) -> LimitValue {
        match w {
            QuotaWindow::FiveHour => self.five_hour,
            QuotaWindow::Daily => self.daily,
            QuotaWindow::Weekly => self.weekly,
            QuotaWindow::Monthly => self.monthly,
        }
    }

    pub fn set(&mut self, w: QuotaWindow, v: LimitValue) {
        match w {
            QuotaWindow::FiveHour => self.five_hour = v,
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

/// Whose quota a row is: a user's (table `user_platform_quotas`) or one API key's
/// (`key_platform_quotas`, checked on top of its user's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaOwner {
    User(i64),
    Key(i64),
}

/// A key's optional budget over its whole life, all platforms together (`api_keys.lifetime_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lifetime {
    pub limit: LimitValue,
    pub usage: Money,
}

/// One runtime quota row for one platform: a user's, or an API key's when `key_id` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRow {
    /// The user (for a key's row: the key's owner).
    pub user_id: i64,
    /// Set for an API key's row.
    pub key_id: Option<i64>,
    pub platform: Platform,
    pub limits: WindowLimits,
    /// Indexed by [`QuotaWindow::index`].
    pub usage: [WindowUsage; 4],
    /// An admin's one-off extra allowance for the window stored in `usage` (it ends with that
    /// window), indexed like `usage`.
    pub topup: [Money; 4],
    /// A key's lifetime budget (all platforms; always unlimited for a user's row).
    pub lifetime: Lifetime,
    /// False once an admin removed this platform's limits (soft delete); usage is still metered.
    pub active: bool,
}

impl QuotaRow {
    /// A user's row with no limits and no usage.
    pub fn empty(user_id: i64, platform: Platform) -> Self {
        Self {
            user_id,
            key_id: None,
            platform,
            limits: WindowLimits::default(),
            usage: Default::default(),
            topup: Default::default(),
            lifetime: Lifetime::default(),
            active: true,
        }
    }

    pub fn owner(&self) -> QuotaOwner {
        match self.key_id {
            Some(k) => QuotaOwner::Key(k),
            None => QuotaOwner::User(self.user_id),
        }
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
    pub fn charge(&mut self, cost: Money, rollovers: &[Rollover; 4]) -> Result<(), WindowError> {
        for w in QuotaWindow::ALL {
            let roll = rollovers[w.index()];
            let slot = &mut self.usage[w.index()];
            if roll.is_current(slot.start) {
                slot.usage = slot.usage.saturating_add(cost);
            } else {
                slot.usage = cost;
                slot.start = Some(Timestamp::from_millisecond(roll.new_start.as_millisecond())?);
                // A top-up is for the window it was given in.
                self.topup[w.index()] = Money::ZERO;
            }
        }
        // Only a key has a lifetime budget (its spend is kept on the key: `api_keys.lifetime_*`).
        if self.key_id.is_some() {
            self.lifetime.usage = self.lifetime.usage.saturating_add(cost);
        }
        Ok(())
    }

    /// The top-up that counts in the current window (0 when the stored window has expired).
    pub fn current_topup(&self, clock: &WindowClock, w: QuotaWindow, now: Timestamp) -> Result<Money, WindowError> {
        let current = clock.rollover(w, now)?.is_current(self.usage[w.index()].start);
        Ok(if current { self.topup[w.index()] } else { Money::ZERO })
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
    /// The limit is 0: the platform is off for this user or key. Retrying cannot help (403).
    Disabled,
    /// The window's usage reached its cap (429 until `resets_at`).
    Exhausted,
    /// A key's lifetime budget is used up. Retrying cannot help (403).
    Spent,
    /// Strict mode: usage is under the cap, but this request's upper bound plus what running
    /// requests hold would pass it (`lifetime`: a key's lifetime budget). Retrying when they
    /// finish, or asking for less output, can help (429, `Retry-After` at most
    /// [`RESERVED_RETRY_SECS`]).
    Reserved { lifetime: bool },
}

/// `Retry-After` of a [`RejectKind::Reserved`] refusal: running requests settle within seconds.
pub const RESERVED_RETRY_SECS: u64 = 5;

/// A refusal with everything the error message and `Retry-After` need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RejectKind,
    /// Whose limit refused: the user's or the API key's.
    pub owner: QuotaOwner,
    pub platform: Platform,
    /// The window; for [`RejectKind::Spent`] the key's lifetime budget has none (and no reset):
    /// this is then the shortest window, unused.
    pub window: QuotaWindow,
    pub usage: Money,
    pub limit: Money,
    pub resets_at: Timestamp,
    /// Whole seconds until `resets_at`, rounded up.
    pub retry_after_secs: u64,
}

impl Rejection {
    /// The error code clients see: who (platform = the user's quota, key) and why.
    pub const fn code(&self) -> &'static str {
        match (self.owner, self.kind) {
            (QuotaOwner::User(_), RejectKind::Disabled) => "platform_quota_disabled",
            (QuotaOwner::User(_), _) => "platform_quota_exhausted",
            (QuotaOwner::Key(_), RejectKind::Disabled) => "key_quota_disabled",
            (QuotaOwner::Key(_), RejectKind::Exhausted | RejectKind::Reserved { .. }) => "key_quota_exhausted",
            (QuotaOwner::Key(_), RejectKind::Spent) => "key_budget_spent",
        }
    }

    /// The window's name, `lifetime` for a key's lifetime budget.
    pub const fn window_name(&self) -> &'static str {
        match self.kind {
            RejectKind::Spent | RejectKind::Reserved { lifetime: true } => "lifetime",
            _ => self.window.as_str(),
        }
    }

    /// A human message naming whose limit (the account's or the API key's), the platform, window,
    /// usage, limit and reset time.
    pub fn message(&self, clock: &WindowClock) -> String {
        let resets = self.resets_at.to_zoned(clock.zone.clone());
        let whose = match self.owner {
            QuotaOwner::User(_) => "this account",
            QuotaOwner::Key(_) => "this API key",
        };
        let (owner, of) = match self.owner {
            QuotaOwner::User(_) => ("", ""),
            QuotaOwner::Key(_) => ("API key ", " of this key"),
        };
        match self.kind {
            RejectKind::Disabled => {
                format!("{} is disabled for {whose} by its {} quota (limit 0 USD)", self.platform, self.window)
            }
            RejectKind::Exhausted => format!(
                "{owner}{} {} quota{of} exhausted: used {} USD of {} USD; resets at {}",
                self.platform,
                self.window,
                self.usage,
                self.limit,
                resets.strftime("%Y-%m-%dT%H:%M:%S%:z")
            ),
            RejectKind::Spent => format!(
                "API key lifetime budget spent: used {} USD of {} USD (it does not reset)",
                self.usage, self.limit
            ),
            RejectKind::Reserved { lifetime: false } => format!(
                "{owner}{} {} quota{of}: this request's upper bound does not fit in what is left (strict mode \
                 reserves it): used {} USD of {} USD, and running requests hold part of the rest; retry when \
                 they finish or ask for less output; resets at {}",
                self.platform,
                self.window,
                self.usage,
                self.limit,
                resets.strftime("%Y-%m-%dT%H:%M:%S%:z")
            ),
            RejectKind::Reserved { lifetime: true } => format!(
                "API key lifetime budget: this request's upper bound does not fit in what is left (strict mode \
                 reserves it): used {} USD of {} USD, and running requests hold part of the rest; retry when \
                 they finish or ask for less output",
                self.usage, self.limit
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

/// Checks one row before forwarding: windows in the order 5-hour, daily, weekly, monthly, then a
/// key's lifetime budget; 0 → disabled; usage ≥ cap (+ the window's top-up) → exhausted. No row, a
/// soft-deleted row or all limits null → allowed. A request must pass its user's row and, when it
/// came with an API key that has a row, the key's.
///
/// `pending` is what is already promised but not yet charged plus this request's estimate (strict
/// mode); with `pending` > 0 a window is exhausted when `usage + pending > cap`. Soft mode passes 0.
/// `lifetime_pending` is the same for a key's lifetime budget (holds on every platform).
pub fn admit(
    row: Option<&QuotaRow>,
    clock: &WindowClock,
    now: Timestamp,
    pending: Money,
) -> Result<Admission, WindowError> {
    admit_with_lifetime(row, clock, now, pending, pending)
}

/// [`admit`] with the lifetime budget's own pending amount.
pub fn admit_with_lifetime(
    row: Option<&QuotaRow>,
    clock: &WindowClock,
    now: Timestamp,
    pending: Money,
    lifetime_pending: Money,
) -> Result<Admission, WindowError> {
    let Some(row) = row else {
        return Ok(Admission::Allow);
    };
    let over = |usage: Money, cap: Money, pending: Money| {
        usage >= cap || (!pending.is_zero() && usage.saturating_add(pending) > cap)
    };
    let limits = row.effective_limits();
    for w in QuotaWindow::ALL {
        let cap = match Limit::of(limits.get(w)) {
            Limit::Unlimited => continue,
            Limit::Disabled => Money::ZERO,
            Limit::Cap(c) => c.saturating_add(row.current_topup(clock, w, now)?),
        };
        let usage = row.current_usage(clock, w, now)?;
        let span = clock.current(w, row.usage[w.index()].start, now)?;
        let kind = if cap.is_zero() {
            Some(RejectKind::Disabled)
        } else if usage >= cap {
            Some(RejectKind::Exhausted)
        } else if over(usage, cap, pending) {
            Some(RejectKind::Reserved { lifetime: false })
        } else {
            None
        };
        if let Some(kind) = kind {
            let until_reset = WindowClock::seconds_until(now, span.end);
            return Ok(Admission::Reject(Rejection {
                kind,
                owner: row.owner(),
                platform: row.platform,
                window: w,
                usage,
                limit: cap,
                resets_at: span.end,
                retry_after_secs: match kind {
                    RejectKind::Reserved { .. } => until_reset.min(RESERVED_RETRY_SECS),
                    _ => until_reset,
                },
            }));
        }
    }
    let lifetime = row.lifetime;
    let kind = match Limit::of(lifetime.limit) {
        Limit::Unlimited => None,
        Limit::Disabled => Some(RejectKind::Disabled),
        Limit::Cap(cap) if lifetime.usage >= cap => Some(RejectKind::Spent),
        Limit::Cap(cap) => {
            over(lifetime.usage, cap, lifetime_pending).then_some(RejectKind::Reserved { lifetime: true })
        }
    };
    Ok(match kind {
        None => Admission::Allow,
        Some(kind) => Admission::Reject(Rejection {
            kind,
            owner: row.owner(),
            platform: row.platform,
            window: QuotaWindow::ALL[0],
            usage: lifetime.usage,
            limit: lifetime.limit.unwrap_or(Money::ZERO),
            resets_at: now,
            retry_after_secs: if matches!(kind, RejectKind::Reserved { .. }) { RESERVED_RETRY_SECS } else { 0 },
        }),
    })
}

/// One window of a quota view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowView {
    pub limit: LimitValue,
    /// An admin's extra allowance for the current window (0 when none).
    pub topup: Money,
    /// 0 when the stored window expired.
    pub usage: Money,
    /// Null when unlimited and unused.
    pub resets_at: Option<Timestamp>,
    /// The stored start when it is the current window (admin view), else null.
    pub window_start: Option<Timestamp>,
}

impl WindowView {
    /// What is left: limit + top-up − usage, never below 0 (`None`: unlimited; 0 when disabled).
    pub fn remaining(&self) -> Option<Money> {
        self.limit.map(|l| if l.is_zero() { l } else { l.saturating_add(self.topup).saturating_sub(self.usage) })
    }
}

/// A platform's quota state as users and admins see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaView {
    pub platform: Platform,
    pub windows: [WindowView; 4],
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
    let mut windows =
        [WindowView { limit: None, topup: Money::ZERO, usage: Money::ZERO, resets_at: None, window_start: None }; 4];
    for w in QuotaWindow::ALL {
        let stored = row.usage[w.index()];
        let current = clock.rollover(w, now)?.is_current(stored.start);
        let usage = if current { stored.usage } else { Money::ZERO };
        let limit = limits.get(w);
        let resets_at =
            if limit.is_none() && usage.is_zero() { None } else { Some(clock.current(w, stored.start, now)?.end) };
        let topup = if current { row.topup[w.index()] } else { Money::ZERO };
        windows[w.index()] =
            WindowView { limit, topup, usage, resets_at, window_start: if current { stored.start } else { None } };
    }
    Ok(QuotaView { platform: row.platform, windows })
}

#[cfg(test)]
#[path = "quota_tests.rs"]
mod tests;
