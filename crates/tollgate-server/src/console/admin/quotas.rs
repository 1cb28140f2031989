//! `GET/PUT /admin/users/{id}/platform-quotas`, `POST /admin/users/{id}/platform-quotas/reset` and
//! `…/top-up`.
//! Every change and reset is written to the audit log with the state before and after.

use axum::Json;
use axum::extract::{Path, State};
use jiff::Timestamp;
use serde::Serialize;
use tollgate_core::platform::Platform;
use tollgate_core::quota::WindowLimits;
use tollgate_core::window::QuotaWindow;
use tollgate_store::{NewAuditEntry, StoreError};

use super::users::{load_user, parse_id};
use crate::console::body::{JsonObject, Obj};
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::Admin;
use crate::console::views::{QuotaViews, active_limits, quota_views, to_json_text};
use crate::state::AppState;

/// The admin view of a user's rows.
async fn admin_views(state: &AppState, user_id: i64) -> ConsoleResult<QuotaViews> {
    // Reads after an answer see its charge (the journal's database write trails the answer).
    state.ledger.caught_up().await;
    let rows = state.store.list_by_user(user_id).await?;
    quota_views(&rows, &state.settings.clock(), Timestamp::now(), true)
}

/// The user's quota rows, admin view.
pub async fn get_quotas(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ConsoleResult<Json<QuotaViews>> {
    let user = load_user(&state, parse_id(&id)?).await?;
    Ok(Json(admin_views(&state, user.id).await?))
}

/// `{"quotas":[{"platform","daily_limit_usd",…}]}`, each amount read from its JSON text.
pub fn parse_quotas(o: &Obj) -> ConsoleResult<Vec<(Platform, WindowLimits)>> {
    let items = o.opt_array("quotas")?.ok_or_else(|| ConsoleError::invalid("quotas", "is required"))?;
    let mut out: Vec<(Platform, WindowLimits)> = Vec::with_capacity(items.len());
    for (i, raw) in items.iter().enumerate() {
        let item = Obj::parse(&format!("quotas[{i}]."), raw.get())?;
        let platform: Platform = item.name("platform")?;
        if out.iter().any(|(p, _)| *p == platform) {
            return Err(ConsoleError::invalid(item.field("platform"), format!("{platform} is listed twice")));
        }
        let mut limits = WindowLimits::default();
        for w in QuotaWindow::ALL {
            limits.set(w, item.limit(&format!("{w}_limit_usd"))?);
        }
        out.push((platform, limits));
    }
    Ok(out)
}

/// Replaces the user's limits (SPEC 1.4): listed platforms are set, others lose their limits;
/// usage and window starts are kept. Returns the admin view.
pub async fn put_quotas(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    body: JsonObject,
) -> ConsoleResult<Json<QuotaViews>> {
    let user = load_user(&state, parse_id(&id)?).await?;
    let records = parse_quotas(&body.obj)?;
    let before = active_limits(&state.store.list_by_user(user.id).await?);
    let after: Vec<_> = records
        .iter()
        .filter(|(_, l)| !l.is_all_unlimited())
        .map(|(p, l)| crate::console::views::PlatformLimits::new(*p, *l))
        .collect();
    let entry = NewAuditEntry {
        at: Timestamp::now(),
        actor_id: Some(admin.user.id),
        action: "user.quotas.update".into(),
        target_user_id: Some(user.id),
        platform: None,
        before_json: to_json_text(&before),
        after_json: to_json_text(&after),
    };
    // The change and its audit entry commit together.
    state.store.upsert_for_user_audited(user.id, &records, Some(&entry)).await.map_err(|e| match e {
        StoreError::NotFound => ConsoleError::not_found(format!("no user with id {}", user.id)),
        other => other.into(),
    })?;
    state.ledger.invalidate_user(user.id);
    let rows = state.store.list_by_user(user.id).await?;
    Ok(Json(quota_views(&rows, &state.settings.clock(), Timestamp::now(), true)?))
}

#[derive(Serialize)]
struct WindowUsageAudit {
    window: QuotaWindow,
    usage_usd: tollgate_core::money::Money,
}

/// Zeroes one window's usage now, without moving its boundary. 404 when the user has no row for
/// that platform. Returns the admin view.
pub async fn reset_quota(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    body: JsonObject,
) -> ConsoleResult<Json<QuotaViews>> {
    let user = load_user(&state, parse_id(&id)?).await?;
    let platform: Platform = body.obj.name("platform")?;
    let window: QuotaWindow = body.obj.name("window")?;
    let now = Timestamp::now();
    let clock = state.settings.clock();
    // A reset clears the charges made before it, including those still being written.
    state.ledger.caught_up().await;
    let row = state.store.list_by_user(user.id).await?.into_iter().find(|r| r.platform == platform);
    let usage_before = match &row {
        Some(r) => r.current_usage(&clock, window, now).map_err(|e| ConsoleError::Internal(e.to_string()))?,
        None => return Err(ConsoleError::not_found(format!("user {} has no {platform} quota row", user.id))),
    };
    let entry = NewAuditEntry {
        at: now,
        actor_id: Some(admin.user.id),
        action: "user.quota.reset".into(),
        target_user_id: Some(user.id),
        platform: Some(platform.as_str().to_owned()),
        before_json: to_json_text(&WindowUsageAudit { window, usage_usd: usage_before }),
        after_json: to_json_text(&WindowUsageAudit { window, usage_usd: tollgate_core::money::Money::ZERO }),
    };
    state.store.reset_window_audited(user.id, platform, window, now, Some(&entry)).await.map_err(|e| match e {
        StoreError::NotFound => ConsoleError::not_found(format!("user {} has no {platform} quota row", user.id)),
        other => other.into(),
    })?;
    state.ledger.invalidate_user(user.id);
    Ok(Json(admin_views(&state, user.id).await?))
}

/// Adds a one-off allowance to the current window of one of the user's capped rows
/// (`{"platform","window","amount_usd"}`); the limit is not changed and the top-up ends with the
/// window. Audited. Returns the admin view.
pub async fn top_up_quota(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    body: JsonObject,
) -> ConsoleResult<Json<QuotaViews>> {
    let user = load_user(&state, parse_id(&id)?).await?;
    let owner = tollgate_core::quota::QuotaOwner::User(user.id);
    crate::console::key_budgets::top_up(&state, admin.user.id, user.id, owner, &body.obj).await?;
    Ok(Json(admin_views(&state, user.id).await?))
}
