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

/// One platform's three limits (user list, quota PUT bodies, audit records).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PlatformLimits {
    pub platform: Platform,
    pub daily_limit_usd: Option<Money>,
    pub weekly_limit_usd: Option<Money>,
    pub monthly_limit_usd: Option<Money>,
}

impl PlatformLimits {
    pub fn new(platform: Platform, l: WindowLimits) -> Self {
        Self { platform, daily_limit_usd: l.daily, weekly_limit_usd: l.weekly, monthly_limit_usd: l.monthly }
    }
}

/// The active limits of a user's rows (platforms with at least one limit).
pub fn active_limits(rows: &[QuotaRow]) -> Vec<PlatformLimits> {
    rows.iter()
        .filter(|r| r.active && !r.limits.is_all_unlimited())
        .map(|r| PlatformLimits::new(r.platform, r.limits))
        .collect()
}

/// A quota view (SPEC 5). The admin view adds `W_window_start`; the user view leaves those out.
#[derive(Debug, Serialize)]
pub struct QuotaViewOut {
    pub platform: Platform,
    pub daily_limit_usd: Option<Money>,
    pub daily_usage_usd: Money,
    pub daily_resets_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_window_start: Option<Option<String>>,
    pub weekly_limit_usd: Option<Money>,
    pub weekly_usage_usd: Money,
    pub weekly_resets_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekly_window_start: Option<Option<String>>,
    pub monthly_limit_usd: Option<Money>,
    pub monthly_usage_usd: Money,
    pub monthly_resets_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_window_start: Option<Option<String>>,
}

/// `{"platform_quotas":[…]}`.
#[derive(Debug, Serialize)]
pub struct QuotaViews {
    pub platform_quotas: Vec<QuotaViewOut>,
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
        let v = view(row, clock, now).map_err(|e| ConsoleError::Internal(e.to_string()))?;
        if !v.is_meaningful() {
            continue;
        }
        let w = |q: QuotaWindow| v.windows[q.index()];
        let t = |x: Option<Timestamp>| x.map(|t| rfc3339(t, &clock.zone));
        let start = |q: QuotaWindow| admin.then(|| t(w(q).window_start));
        out.push(QuotaViewOut {
            platform: v.platform,
            daily_limit_usd: w(QuotaWindow::Daily).limit,
            daily_usage_usd: w(QuotaWindow::Daily).usage,
            daily_resets_at: t(w(QuotaWindow::Daily).resets_at),
            daily_window_start: start(QuotaWindow::Daily),
            weekly_limit_usd: w(QuotaWindow::Weekly).limit,
            weekly_usage_usd: w(QuotaWindow::Weekly).usage,
            weekly_resets_at: t(w(QuotaWindow::Weekly).resets_at),
            weekly_window_start: start(QuotaWindow::Weekly),
            monthly_limit_usd: w(QuotaWindow::Monthly).limit,
            monthly_usage_usd: w(QuotaWindow::Monthly).usage,
            monthly_resets_at: t(w(QuotaWindow::Monthly).resets_at),
            monthly_window_start: start(QuotaWindow::Monthly),
        });
    }
    Ok(QuotaViews { platform_quotas: out })
}

/// Serializes to JSON text for the audit log.
pub fn to_json_text<T: Serialize>(v: &T) -> Option<String> {
    serde_json::to_string(v).ok()
}
