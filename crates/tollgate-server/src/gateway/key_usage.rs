//! `GET /v1/usage` (also under `/antigravity`): the caller's quota read with the gateway API key
//! itself, for CLI tools and IDE plugins that show the remaining balance. The key goes in any of the
//! platforms' headers (`x-api-key`, `Authorization: Bearer`, `x-goog-api-key`) or `?key=`. The views
//! are the console's (`GET /api/v1/user/platform-quotas`, computed by the same window clock as
//! admission), plus what is left of each limited window. Never charged.

use axum::Json;
use axum::http::HeaderMap;
use serde::Serialize;
use tollgate_core::money::Money;
use tollgate_core::platform::Platform;

use super::auth::{client_key, resolve};
use super::error::{ErrorShape, GatewayError};
use crate::console::views::{QuotaViewOut, quota_views, rfc3339};
use crate::state::AppState;

/// The key that asked.
#[derive(Serialize)]
pub struct KeyOut {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    /// `null`: every platform.
    pub platforms: Option<Vec<Platform>>,
}

/// One platform's view, with the remaining amount of each limited window (`null`: unlimited).
#[derive(Serialize)]
pub struct PlatformUsage {
    #[serde(flatten)]
    pub view: QuotaViewOut,
    pub daily_remaining_usd: Option<Money>,
    pub weekly_remaining_usd: Option<Money>,
    pub monthly_remaining_usd: Option<Money>,
}

#[derive(Serialize)]
pub struct KeyUsageOut {
    pub email: String,
    pub key: KeyOut,
    /// The quota time zone every `*_resets_at` is given in.
    pub timezone: String,
    pub as_of: String,
    pub platform_quotas: Vec<PlatformUsage>,
}

/// The caller's quota views. Errors are OpenAI-shaped (every SDK reads that shape).
pub async fn key_usage(
    state: &AppState,
    headers: &HeaderMap,
    query_key: Option<&str>,
) -> Result<Json<KeyUsageOut>, GatewayError> {
    let secret = [ErrorShape::Anthropic, ErrorShape::Gemini, ErrorShape::OpenAi]
        .into_iter()
        .find_map(|shape| client_key(shape, headers, query_key))
        .ok_or(GatewayError::MissingKey("x-api-key, x-goog-api-key or Authorization: Bearer"))?;
    let caller = resolve(&state.keys, secret).await?;
    // A read made after an answer sees that answer's charge.
    state.ledger.caught_up().await;
    let rows = state.store.list_by_user(caller.user.id).await?;
    let clock = state.settings.clock();
    let now = jiff::Timestamp::now();
    let views = quota_views(&rows, &clock, now, false).map_err(|e| GatewayError::Upstream(e.to_string()))?;
    let allowed = |p: Platform| caller.key.platforms.as_ref().is_none_or(|list| list.contains(&p));
    let left = |limit: Option<Money>, usage: Money| limit.map(|l| l.saturating_sub(usage));
    let platform_quotas = views
        .platform_quotas
        .into_iter()
        .filter(|v| allowed(v.platform))
        .map(|v| PlatformUsage {
            daily_remaining_usd: left(v.daily_limit_usd, v.daily_usage_usd),
            weekly_remaining_usd: left(v.weekly_limit_usd, v.weekly_usage_usd),
            monthly_remaining_usd: left(v.monthly_limit_usd, v.monthly_usage_usd),
            view: v,
        })
        .collect();
    Ok(Json(KeyUsageOut {
        email: caller.user.email.clone(),
        key: KeyOut {
            id: caller.key.id,
            name: caller.key.name.clone(),
            prefix: caller.key.prefix.clone(),
            platforms: caller.key.platforms.clone(),
        },
        timezone: clock.zone.iana_name().unwrap_or("UTC").to_owned(),
        as_of: rfc3339(now, &clock.zone),
        platform_quotas,
    }))
}
