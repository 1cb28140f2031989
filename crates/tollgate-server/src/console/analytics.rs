//! The dashboard's charts (docs/request-log.md, "Analytics"): spend, requests and tokens by local
//! day, by model and by key over the last N days — `GET /user/analytics` for the caller's own,
//! `GET /admin/analytics` for every user with the top spenders.

use axum::Json;
use axum::extract::State;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;
use tollgate_core::money::Money;
use tollgate_core::window::WindowClock;
use tollgate_store::UsageTotals;

use crate::console::admin::audit::int_param;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::{Admin, Caller};
use crate::console::user::quotas::UsageQuery;
use crate::state::AppState;

/// Rows of each ranking (models, keys, users).
const TOP: i64 = 20;

/// The last `days` local dates in the quota zone, today included: the first date, today, and the
/// instant the first date starts.
pub fn day_range(days: i64, clock: &WindowClock) -> ConsoleResult<(Date, Date, Timestamp)> {
    let internal = |e: jiff::Error| ConsoleError::Internal(e.to_string());
    let today = Timestamp::now().to_zoned(clock.zone.clone()).date();
    let first = today.checked_sub((days - 1).days()).map_err(internal)?;
    let since = first.to_zoned(clock.zone.clone()).map_err(internal)?.timestamp();
    Ok((first, today, since))
}

#[derive(Debug, Serialize, Default)]
pub struct TotalsOut {
    pub cost_usd: Money,
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_tokens: i64,
}

impl From<UsageTotals> for TotalsOut {
    fn from(t: UsageTotals) -> Self {
        Self {
            cost_usd: t.cost,
            requests: t.requests,
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
            cache_tokens: t.cache_tokens,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DayOut {
    pub date: String,
    #[serde(flatten)]
    pub totals: TotalsOut,
}

#[derive(Debug, Serialize)]
pub struct ModelOut {
    pub platform: String,
    pub model: String,
    #[serde(flatten)]
    pub totals: TotalsOut,
}

#[derive(Debug, Serialize)]
pub struct KeyOut {
    /// Null for charges without a key.
    pub api_key_id: Option<i64>,
    pub key_name: Option<String>,
    pub user_email: Option<String>,
    #[serde(flatten)]
    pub totals: TotalsOut,
}

#[derive(Debug, Serialize)]
pub struct UserOut {
    pub user_id: i64,
    pub email: Option<String>,
    #[serde(flatten)]
    pub totals: TotalsOut,
}

#[derive(Debug, Serialize)]
pub struct AnalyticsOut {
    pub days: i64,
    pub timezone: String,
    pub total: TotalsOut,
    /// One point per local date, oldest first, days without usage included as zeros.
    pub by_day: Vec<DayOut>,
    /// Highest cost first, at most 20.
    pub by_model: Vec<ModelOut>,
    pub by_key: Vec<KeyOut>,
    /// Admin view only: the top spenders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_users: Option<Vec<UserOut>>,
}

async fn analytics(state: &AppState, q: &UsageQuery, user_id: Option<i64>) -> ConsoleResult<Json<AnalyticsOut>> {
    let days = int_param("days", q.days.as_deref(), 30, 1..=366)?;
    let clock = state.settings.clock();
    let (first, today, since) = day_range(days, &clock)?;
    state.ledger.caught_up().await;
    let b = state.store.usage_breakdown(user_id, since, &clock.zone, TOP).await?;
    let mut total = UsageTotals::default();
    let mut by_day = Vec::with_capacity(days as usize);
    let mut stored = b.by_day.into_iter().peekable();
    let mut date = first;
    while date <= today {
        let totals = match stored.peek() {
            Some((d, _)) if *d == date => stored.next().map(|(_, t)| t).unwrap_or_default(),
            _ => UsageTotals::default(),
        };
        total.cost =
            total.cost.checked_add(totals.cost).ok_or_else(|| ConsoleError::Internal("total overflows".into()))?;
        total.requests += totals.requests;
        total.input_tokens += totals.input_tokens;
        total.output_tokens += totals.output_tokens;
        total.cache_tokens += totals.cache_tokens;
        by_day.push(DayOut { date: date.to_string(), totals: totals.into() });
        date = date.tomorrow().map_err(|e| ConsoleError::Internal(e.to_string()))?;
    }
    let timezone = clock.zone.iana_name().unwrap_or(state.settings.default_zone_name()).to_owned();
    Ok(Json(AnalyticsOut {
        days,
        timezone,
        total: total.into(),
        by_day,
        by_model: b
            .by_model
            .into_iter()
            .map(|m| ModelOut { platform: m.platform, model: m.model, totals: m.totals.into() })
            .collect(),
        by_key: b
            .by_key
            .into_iter()
            .map(|k| KeyOut {
                api_key_id: k.api_key_id,
                key_name: k.key_name,
                user_email: k.user_email,
                totals: k.totals.into(),
            })
            .collect(),
        top_users: user_id.is_none().then(|| {
            b.by_user
                .into_iter()
                .map(|u| UserOut { user_id: u.user_id, email: u.email, totals: u.totals.into() })
                .collect()
        }),
    }))
}

/// The caller's own charts.
pub async fn my_analytics(
    State(state): State<AppState>,
    caller: Caller,
    q: UsageQuery,
) -> ConsoleResult<Json<AnalyticsOut>> {
    analytics(&state, &q, Some(caller.user.id)).await
}

/// Every user's charts and the top spenders.
pub async fn admin_analytics(
    State(state): State<AppState>,
    _admin: Admin,
    q: UsageQuery,
) -> ConsoleResult<Json<AnalyticsOut>> {
    analytics(&state, &q, None).await
}
