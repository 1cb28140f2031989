//! JSON shapes of the console: users, quota views, times. Money is [`Money`], which serializes as
//! an exact JSON number; nothing here goes through `f64` or `serde_json::Value`.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use tollgate_core::money::{Decimal9, Money};
use tollgate_core::platform::{AuthSource, Platform};
use tollgate_core::quota::{QuotaRow, WindowLimits, view};
use tollgate_core::window::{QuotaWindow, WindowClock};
use tollgate_store::{Role, User, UserStatus};

use super::error::ConsoleError;

/// RFC 3339 with the zone's offset, e.g. `2026-11-26T00:00:00+08:00`.
pub fn rfc3339(t: Timestamp, zone: &TimeZone) -> String {
    t.to_zoned(zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// A user as the API shows it (no password hash).
#[derive(Debug, Serialize)]
pub struct UserOut {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub status: UserStatus,
    pub auth_source: AuthSource,
    pub cost_multiplier: Decimal9,
    pub created_at: String,
}

impl UserOut {
    pub fn new(u: &User, zone: &TimeZone) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            role: u.role,
            status: u.status,
            auth_source: u.auth_source,
            cost_multiplier: u.cost_multiplier,
            created_at: rfc3339(u.created_at, zone),
        }
    }
}

/// One platform's four limits (user list, quota PUT bodies, audit records).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PlatformLimits {
    pub platform: Platform,
    pub five_hour_limit_usd: Option<Money>,
    pub daily_limit_usd: Option<Money>,
    pub weekly_limit_usd: Option<Money>,
    pub monthly_limit_usd: Option<Money>,
}

impl PlatformLimits {
    pub fn new(platform: Platform, l: WindowLimits) -> Self {
        Self {
            platform,
            five_hour_limit_usd: l.five_hour,
            daily_limit_usd: l.daily,
            weekly_limit_usd: l.weekly,
            monthly_limit_usd: l.monthly,
        }
    }
}

/// The active limits of a user's rows (platforms with at least one limit).
pub fn active_limits(rows: &[QuotaRow]) -> Vec<PlatformLimits> {
    rows.iter()
        .filter(|r| r.active && !r.limits.is_all_unlimited())
        .map(|r| PlatformLimits::new(r.platform, r.limits))
        .collect()
}

/// One window of a quota view.
#[derive(Debug, Clone)]
pub struct WindowOut {
    pub limit: Option<Money>,
    /// An admin's extra allowance for the current window (0 when none).
    pub topup: Money,
    pub usage: Money,
    /// What is left: limit + top-up - usage, never below 0 (`None`: unlimited; 0 when disabled).
    pub remaining: Option<Money>,
    pub resets_at: Option<String>,
    /// Admin view only: the stored start of the current window.
    pub window_start: Option<Option<String>>,
}

/// A quota view (SPEC 5), flat: `platform`, then for each window `W` (`five_hour`, `daily`,
/// `weekly`, `monthly`) `W_limit_usd`, `W_topup_usd`, `W_usage_usd`, `W_remaining_usd`,
/// `W_resets_at`, and in the admin view `W_window_start`.
#[derive(Debug, Clone)]
pub struct QuotaViewOut {
    pub platform: Platform,
    /// Indexed by [`QuotaWindow::index`].
    pub windows: Vec<WindowOut>,
}

impl QuotaViewOut {
    /// Worth showing: a limit, or usage in a current window (as `tollgate_core::quota::QuotaView`).
    pub fn is_meaningful(&self) -> bool {
        self.windows.iter().any(|w| w.limit.is_some() || !w.usage.is_zero())
    }
}

impl Serialize for QuotaViewOut {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("platform", &self.platform)?;
        for (w, out) in QuotaWindow::ALL.iter().zip(&self.windows) {
            let name = w.as_str();
            map.serialize_entry(&format!("{name}_limit_usd"), &out.limit)?;
            map.serialize_entry(&format!("{name}_topup_usd"), &out.topup)?;
            map.serialize_entry(&format!("{name}_usage_usd"), &out.usage)?;
            map.serialize_entry(&format!("{name}_remaining_usd"), &out.remaining)?;
            map.serialize_entry(&format!("{name}_resets_at"), &out.resets_at)?;
            if let Some(start) = &out.window_start {
                map.serialize_entry(&format!("{name}_window_start"), start)?;
            }
        }
        map.end()
    }
}

/// `{"platform_quotas":[…]}`.
#[derive(Debug, Serialize)]
pub struct QuotaViews {
    pub platform_quotas: Vec<QuotaViewOut>,
}

/// The view of one row at `now`, computed by the same window clock as admission.
pub fn quota_view(
    row: &QuotaRow,
    clock: &WindowClock,
    now: Timestamp,
    admin: bool,
) -> Result<QuotaViewOut, ConsoleError> {
    let v = view(row, clock, now).map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let t = |x: Option<Timestamp>| x.map(|t| rfc3339(t, &clock.zone));
    let windows = v
        .windows
        .iter()
        .map(|w| WindowOut {
            limit: w.limit,
            topup: w.topup,
            usage: w.usage,
            remaining: w.remaining(),
            resets_at: t(w.resets_at),
            window_start: admin.then(|| t(w.window_start)),
        })
        .collect();
    Ok(QuotaViewOut { platform: v.platform, windows })
}

/// Views of every row with a limit or current usage, at `now`, computed by the same window clock
/// as admission.
pub fn quota_views(
    rows: &[QuotaRow],
    clock: &WindowClock,
    now: Timestamp,
    admin: bool,
) -> Result<QuotaViews, ConsoleError> {
    let mut out = Vec::new();
    for row in rows {
        let v = quota_view(row, clock, now, admin)?;
        if v.is_meaningful() {
            out.push(v);
        }
    }
    Ok(QuotaViews { platform_quotas: out })
}

/// Serializes to JSON text for the audit log.
pub fn to_json_text<T: Serialize>(v: &T) -> Option<String> {
    serde_json::to_string(v).ok()
}
