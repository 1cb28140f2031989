//! `GET /user/platform-quotas`, `GET /user/usage?days=N`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tollgate_core::money::Money;
use tollgate_core::platform::Platform;

use crate::console::admin::audit::int_param;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::Caller;
use crate::console::views::{QuotaViews, quota_views};
use crate::state::AppState;

/// The user's quota rows, user view.
pub async fn my_quotas(State(state): State<AppState>, caller: Caller) -> ConsoleResult<Json<QuotaViews>> {
    // Reads after an answer see its charge (the journal's database write trails the answer).
    state.ledger.caught_up().await;
    let rows = state.store.list_by_user(caller.user.id).await?;
    Ok(Json(quota_views(&rows, &state.settings.clock(), Timestamp::now(), false)?))
}

/// `?days=N`, read as text so a bad value is a 400 naming `days`.
#[derive(Debug, Deserialize, Default)]
pub struct UsageQuery {
    pub days: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for UsageQuery {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<UsageQuery>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .map_err(|e| ConsoleError::invalid("", format!("bad query string: {e}")))
    }
}

#[derive(Serialize)]
pub struct Point {
    pub date: String,
    pub cost_usd: Money,
    pub requests: i64,
}

#[derive(Serialize)]
pub struct Series {
    pub platform: Platform,
    pub points: Vec<Point>,
}

#[derive(Serialize)]
pub struct UsageOut {
    pub days: i64,
    pub timezone: String,
    pub series: Vec<Series>,
}

/// Daily spend per platform for the last `days` local days (today included), oldest first, with
/// zero days, one series per platform.
pub async fn my_usage(State(state): State<AppState>, caller: Caller, q: UsageQuery) -> ConsoleResult<Json<UsageOut>> {
    let days = int_param("days", q.days.as_deref(), 30, 1..=366)?;
    let clock = state.settings.clock();
    let internal = |e: jiff::Error| ConsoleError::Internal(e.to_string());
    let (first, today, since) = crate::console::analytics::day_range(days, &clock)?;
    state.ledger.caught_up().await;
    let spend = state.store.daily_spend(caller.user.id, since, &clock.zone).await?;
    let by_key: BTreeMap<_, _> = spend.iter().map(|d| ((d.platform, d.date), (d.cost, d.requests))).collect();
    let mut series = Vec::with_capacity(Platform::ALL.len());
    for p in Platform::ALL {
        let mut points = Vec::with_capacity(days as usize);
        let mut date = first;
        while date <= today {
            let (cost, requests) = by_key.get(&(*p, date)).copied().unwrap_or((Money::ZERO, 0));
            points.push(Point { date: date.to_string(), cost_usd: cost, requests });
            date = date.tomorrow().map_err(internal)?;
        }
        series.push(Series { platform: *p, points });
    }
    let timezone = clock.zone.iana_name().unwrap_or(state.settings.default_zone_name()).to_owned();
    Ok(Json(UsageOut { days, timezone, series }))
}
