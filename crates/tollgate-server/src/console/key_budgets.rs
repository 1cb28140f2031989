//! API keys' own budgets and admin top-ups (issue 15): the JSON shapes and the writes shared by the
//! user's routes (`/user/api-keys…`) and the admin's (`/admin/users/{id}/api-keys…`,
//! `/admin/users/{id}/platform-quotas/top-up`).
//!
//! A key's limits have the user's semantics (unset = unlimited, 0 = disabled, > 0 = cap) per
//! platform and window, plus an optional lifetime budget over all platforms; a request must fit the
//! key's and the user's. Users may set their own keys' limits (a key limit only ever narrows what
//! the user may spend); a top-up — an extra allowance for the current window that ends with it — is
//! an admin action, audited, and leaves the configured limit as it is.

use jiff::Timestamp;
use serde::Serialize;
use tollgate_core::money::Money;
use tollgate_core::platform::Platform;
use tollgate_core::quota::{Limit, LimitValue, QuotaOwner, WindowLimits};
use tollgate_core::window::QuotaWindow;
use tollgate_store::{ApiKey, NewAuditEntry, StoreError};

use super::body::Obj;
use super::error::{ConsoleError, ConsoleResult};
use super::views::{PlatformLimits, QuotaViewOut, quota_view, to_json_text};
use crate::state::AppState;

/// A key's budget as shown with the key.
#[derive(Debug, Serialize)]
pub struct KeyBudgetOut {
    /// `null`: no lifetime budget.
    pub lifetime_limit_usd: Option<Money>,
    /// Everything charged with the key so far.
    pub lifetime_usage_usd: Money,
    pub lifetime_remaining_usd: Option<Money>,
    /// The key's own rows: every platform with a limit or current usage.
    pub platform_quotas: Vec<QuotaViewOut>,
}

/// The key's budget at `now` (its rows as the same window clock as admission sees them).
pub async fn key_budget(state: &AppState, key: &ApiKey, admin: bool) -> ConsoleResult<KeyBudgetOut> {
    let rows = state.store.list_key_quotas(key.id).await?;
    let clock = state.settings.clock();
    let now = Timestamp::now();
    let mut platform_quotas = Vec::new();
    for row in &rows {
        let view = quota_view(row, &clock, now, admin)?;
        if view.is_meaningful() {
            platform_quotas.push(view);
        }
    }
    Ok(KeyBudgetOut {
        lifetime_limit_usd: key.lifetime_limit,
        lifetime_usage_usd: key.lifetime_usage,
        lifetime_remaining_usd: key.lifetime_limit.map(|l| l.saturating_sub(key.lifetime_usage)),
        platform_quotas,
    })
}

/// `quotas` (`[{"platform","five_hour_limit_usd","daily_limit_usd",…}]`, each amount read from its
/// JSON text; absent = none) and `lifetime_limit_usd` (absent or null = no lifetime budget).
pub fn parse_key_limits(o: &Obj) -> ConsoleResult<(Vec<(Platform, WindowLimits)>, LimitValue)> {
    let quotas = match o.opt_array("quotas")? {
        Some(_) => super::admin::quotas::parse_quotas(o)?,
        None => Vec::new(),
    };
    Ok((quotas, o.limit("lifetime_limit_usd")?))
}

#[derive(Serialize)]
struct KeyLimitsAudit {
    api_key_id: i64,
    quotas: Vec<PlatformLimits>,
    lifetime_limit_usd: Option<Money>,
}

/// Replaces a key's limits and lifetime budget (one transaction with its audit entry) and makes
/// this process's next admission read them. 404 unless `key_id` is an active key of `user_id`.
pub async fn set_key_limits(state: &AppState, actor_id: i64, user_id: i64, key_id: i64, o: &Obj) -> ConsoleResult<()> {
    let (records, lifetime) = parse_key_limits(o)?;
    let key = state
        .store
        .list_api_keys(user_id)
        .await?
        .into_iter()
        .find(|k| k.id == key_id)
        .ok_or_else(|| ConsoleError::not_found(format!("no API key with id {key_id}")))?;
    let rows = state.store.list_key_quotas(key_id).await?;
    let snapshot = |limits: Vec<PlatformLimits>, lifetime| KeyLimitsAudit {
        api_key_id: key_id,
        quotas: limits,
        lifetime_limit_usd: lifetime,
    };
    let before = snapshot(super::views::active_limits(&rows), key.lifetime_limit);
    let after_limits =
        records.iter().filter(|(_, l)| !l.is_all_unlimited()).map(|(p, l)| PlatformLimits::new(*p, *l)).collect();
    let entry = NewAuditEntry {
        at: Timestamp::now(),
        actor_id: Some(actor_id),
        action: "api_key.quotas.update".into(),
        target_user_id: Some(user_id),
        platform: None,
        before_json: to_json_text(&before),
        after_json: to_json_text(&snapshot(after_limits, lifetime)),
    };
    state.store.set_key_limits_audited(user_id, key_id, &records, lifetime, Some(&entry)).await.map_err(
        |e| match e {
            StoreError::NotFound => ConsoleError::not_found(format!("no API key with id {key_id}")),
            other => other.into(),
        },
    )?;
    state.ledger.invalidate_key(key_id);
    Ok(())
}

#[derive(Serialize)]
struct TopUpAudit {
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key_id: Option<i64>,
    window: QuotaWindow,
    limit_usd: Money,
    topup_usd: Money,
    usage_usd: Money,
}

/// An admin's top-up of `owner`'s current window: `{"platform","window","amount_usd"}`. Only a
/// capped window (limit > 0) can be topped up: an unlimited one needs none, and a disabled one (0)
/// stays off. Audited with the window's top-up before and after.
pub async fn top_up(state: &AppState, actor_id: i64, user_id: i64, owner: QuotaOwner, o: &Obj) -> ConsoleResult<()> {
    let platform: Platform = o.name("platform")?;
    let window: QuotaWindow = o.name("window")?;
    let amount = match o.limit("amount_usd")? {
        Some(a) if !a.is_zero() => a,
        _ => return Err(ConsoleError::invalid(o.field("amount_usd"), "must be an amount above 0")),
    };
    let clock = state.settings.clock();
    let now = Timestamp::now();
    // The top-up joins the window the charges made so far are in.
    state.ledger.caught_up().await;
    let (rows, key_id) = match owner {
        QuotaOwner::User(id) => (state.store.list_by_user(id).await?, None),
        QuotaOwner::Key(id) => (state.store.list_key_quotas(id).await?, Some(id)),
    };
    let no_cap = || {
        ConsoleError::invalid(
            o.field("window"),
            format!("the {platform} {window} window has no limit above 0 to top up (a top-up raises a cap)"),
        )
    };
    let row = rows.into_iter().find(|r| r.platform == platform && r.active).ok_or_else(no_cap)?;
    let Limit::Cap(limit) = Limit::of(row.limits.get(window)) else { return Err(no_cap()) };
    let internal = |e: tollgate_core::window::WindowError| ConsoleError::Internal(e.to_string());
    let topup = row.current_topup(&clock, window, now).map_err(internal)?;
    let usage = row.current_usage(&clock, window, now).map_err(internal)?;
    let audit = |topup| TopUpAudit { api_key_id: key_id, window, limit_usd: limit, topup_usd: topup, usage_usd: usage };
    let entry = NewAuditEntry {
        at: now,
        actor_id: Some(actor_id),
        action: if key_id.is_some() { "api_key.quota.top_up" } else { "user.quota.top_up" }.into(),
        target_user_id: Some(user_id),
        platform: Some(platform.as_str().to_owned()),
        before_json: to_json_text(&audit(topup)),
        after_json: to_json_text(&audit(topup.saturating_add(amount))),
    };
    state.store.top_up_audited(owner, platform, window, amount, now, &clock, Some(&entry)).await.map_err(
        |e| match e {
            StoreError::NotFound => no_cap(),
            other => other.into(),
        },
    )?;
    match owner {
        QuotaOwner::User(id) => state.ledger.invalidate_user(id),
        QuotaOwner::Key(id) => state.ledger.invalidate_key(id),
    }
    Ok(())
}
