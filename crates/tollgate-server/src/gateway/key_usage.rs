//! `GET /v1/usage` (also under `/antigravity`): the caller's quota read with the gateway API key
//! itself, for CLI tools and IDE plugins that show the remaining balance. The key goes in any of the
//! platforms' headers (`x-api-key`, `Authorization: Bearer`, `x-goog-api-key`) or `?key=`. The views
//! are the console's (`GET /api/v1/user/platform-quotas`, computed by the same window clock as
//! admission), plus what is left of each limited window. Never charged.

use axum::Json;
use axum::http::HeaderMap;
use serde::Serialize;
use tollgate_core::platform::Platform;

use super::auth::{client_key, resolve};
use super::error::{ErrorShape, GatewayError};
use crate::console::key_budgets::{KeyBudgetOut, key_budget};
use crate::console::views::{QuotaViewOut, quota_views, rfc3339};
use crate::state::AppState;

/// The key that asked, with its own budget (limits, spend and what is left, per platform and
/// window, and its lifetime budget).
#[derive(Serialize)]
pub struct KeyOut {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    /// `null`: every platform.
    pub platforms: Option<Vec<Platform>>,
    #[serde(flatten)]
    pub budget: KeyBudgetOut,
}

#[derive(Serialize)]
pub struct KeyUsageOut {
    pub email: String,
    pub key: KeyOut,
    /// The quota time zone every `*_resets_at` is given in.
    pub timezone: String,
    pub as_of: String,
    /// The user's quota views (with `W_remaining_usd` for each window).
    pub platform_quotas: Vec<QuotaViewOut>,
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
    let platform_quotas = views.platform_quotas.into_iter().filter(|v| allowed(v.platform)).collect();
    // The key as stored now (the caller's copy is cached; its lifetime spend moves).
    let keys = state.store.list_api_keys(caller.user.id).await?;
    let key = keys.iter().find(|k| k.id == caller.key.id).ok_or(GatewayError::InvalidKey)?;
    let mut budget = key_budget(state, key, false).await.map_err(|e| GatewayError::Upstream(e.to_string()))?;
    budget.platform_quotas.retain(|v| allowed(v.platform));
    Ok(Json(KeyUsageOut {
        email: caller.user.email.clone(),
        key: KeyOut {
            id: caller.key.id,
            name: caller.key.name.clone(),
            prefix: caller.key.prefix.clone(),
            platforms: caller.key.platforms.clone(),
            budget,
        },
        timezone: clock.zone.iana_name().unwrap_or("UTC").to_owned(),
        as_of: rfc3339(now, &clock.zone),
        platform_quotas,
    }))
}
