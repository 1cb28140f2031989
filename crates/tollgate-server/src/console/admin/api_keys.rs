//! `GET /admin/users/{id}/api-keys`, `PUT /admin/users/{id}/api-keys/{key_id}/quotas`,
//! `POST /admin/users/{id}/api-keys/{key_id}/top-up`: a user's keys with their budgets, as admins
//! see and change them (same shapes and rules as the user's own routes; every change audited).

use axum::Json;
use axum::extract::{Path, State};
use tollgate_core::quota::QuotaOwner;

use super::users::{load_user, parse_id};
use crate::console::body::JsonObject;
use crate::console::error::ConsoleResult;
use crate::console::key_budgets::{set_key_limits, top_up};
use crate::console::session::Admin;
use crate::console::user::api_keys::{ApiKeyList, ApiKeyOut, own_key};
use crate::state::AppState;

/// The user's active keys with their budgets (admin view: window starts included).
pub async fn list_user_keys(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ConsoleResult<Json<ApiKeyList>> {
    let user = load_user(&state, parse_id(&id)?).await?;
    Ok(Json(ApiKeyOut::list(&state, user.id, true).await?))
}

/// Replaces the limits and lifetime budget of one of the user's keys. Returns the key.
pub async fn put_user_key_quotas(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path((id, key_id)): Path<(String, String)>,
    body: JsonObject,
) -> ConsoleResult<Json<ApiKeyOut>> {
    let user = load_user(&state, parse_id(&id)?).await?;
    let key_id = parse_id(&key_id)?;
    set_key_limits(&state, admin.user.id, user.id, key_id, &body.obj).await?;
    Ok(Json(own_key(&state, user.id, key_id, true).await?))
}

/// A one-off allowance for the current window of one of the key's capped rows. Returns the key.
pub async fn top_up_user_key(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path((id, key_id)): Path<(String, String)>,
    body: JsonObject,
) -> ConsoleResult<Json<ApiKeyOut>> {
    let user = load_user(&state, parse_id(&id)?).await?;
    let key_id = parse_id(&key_id)?;
    // The key must be the user's: its row lookup below would otherwise top up another user's key.
    own_key(&state, user.id, key_id, true).await?;
    top_up(&state, admin.user.id, user.id, QuotaOwner::Key(key_id), &body.obj).await?;
    Ok(Json(own_key(&state, user.id, key_id, true).await?))
}
