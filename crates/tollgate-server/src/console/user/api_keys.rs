//! `GET/POST /user/api-keys`, `DELETE /user/api-keys/{id}`, `PUT /user/api-keys/{id}/quotas`. The
//! secret is shown once, in the POST response; only its SHA-256 is stored. Each key is listed with
//! its own budget (limits, spend, what is left: `console::key_budgets`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Serialize;
use tollgate_core::platform::Platform;
use tollgate_store::{ApiKey, NewApiKey, StoreError};

use crate::console::admin::users::parse_id;
use crate::console::body::{JsonObject, Obj};
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::key_budgets::{KeyBudgetOut, key_budget, parse_key_limits, set_key_limits};
use crate::console::session::Caller;
use crate::console::views::rfc3339;
use crate::keys;
use crate::state::AppState;

/// Most keys one user may hold (a guard against runaway scripts).
const MAX_KEYS: usize = 100;

#[derive(Serialize)]
pub struct ApiKeyOut {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub platforms: Option<Vec<Platform>>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(flatten)]
    pub budget: KeyBudgetOut,
}

impl ApiKeyOut {
    /// The key with its budget as of now.
    pub async fn load(state: &AppState, k: &ApiKey, secret: Option<String>, admin: bool) -> ConsoleResult<Self> {
        let zone = state.settings.clock().zone;
        Ok(Self {
            id: k.id,
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            platforms: k.platforms.clone(),
            created_at: rfc3339(k.created_at, &zone),
            last_used_at: k.last_used_at.map(|t| rfc3339(t, &zone)),
            secret,
            budget: key_budget(state, k, admin).await?,
        })
    }

    /// Every active key of `user_id`, oldest first, with their budgets. Reads after an answer see
    /// its charge.
    pub async fn list(state: &AppState, user_id: i64, admin: bool) -> ConsoleResult<ApiKeyList> {
        state.ledger.caught_up().await;
        let mut api_keys = Vec::new();
        for k in state.store.list_api_keys(user_id).await? {
            api_keys.push(Self::load(state, &k, None, admin).await?);
        }
        Ok(ApiKeyList { api_keys })
    }
}

#[derive(Serialize)]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKeyOut>,
}

/// The user's active keys.
pub async fn list_keys(State(state): State<AppState>, caller: Caller) -> ConsoleResult<Json<ApiKeyList>> {
    Ok(Json(ApiKeyOut::list(&state, caller.user.id, false).await?))
}

/// `platforms`: absent or null = every platform; else a non-empty list of distinct known names.
fn platforms(o: &Obj) -> ConsoleResult<Option<Vec<Platform>>> {
    let Some(items) = o.opt_array("platforms")? else { return Ok(None) };
    if items.is_empty() {
        return Err(ConsoleError::invalid("platforms", "must list at least one platform, or be left out for all"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, raw) in items.iter().enumerate() {
        let field = format!("platforms[{i}]");
        let name: String =
            serde_json::from_str(raw.get()).map_err(|_| ConsoleError::invalid(&field, "must be a platform name"))?;
        let p: Platform = name.parse().map_err(|e| ConsoleError::invalid(&field, e))?;
        if out.contains(&p) {
            return Err(ConsoleError::invalid(&field, format!("{p} is listed twice")));
        }
        out.push(p);
    }
    Ok(Some(out))
}

/// Creates a key; the response (201) is the only time the secret is shown.
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonObject,
) -> ConsoleResult<(StatusCode, Json<ApiKeyOut>)> {
    let o = &body.obj;
    let name = o.text("name", 100)?;
    let platforms = platforms(o)?;
    let (limits, lifetime_limit) = parse_key_limits(o)?;
    if state.store.list_api_keys(caller.user.id).await?.len() >= MAX_KEYS {
        return Err(ConsoleError::Conflict { field: None, message: format!("at most {MAX_KEYS} keys per user") });
    }
    let secret = keys::generate_secret();
    let new = NewApiKey {
        user_id: caller.user.id,
        name,
        prefix: keys::shown_prefix(&secret),
        key_hash: keys::hash_secret(&secret),
        platforms,
        limits,
        lifetime_limit,
    };
    let key = state.store.create_api_key(&new, Timestamp::now()).await?;
    Ok((StatusCode::CREATED, Json(ApiKeyOut::load(&state, &key, Some(secret), false).await?)))
}

/// Replaces the limits of one of the user's keys: `{"quotas":[…], "lifetime_limit_usd"}` (the
/// admin quota body's shape; platforms left out lose their key limits). Returns the key.
pub async fn put_key_quotas(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonObject,
) -> ConsoleResult<Json<ApiKeyOut>> {
    let id = parse_id(&id)?;
    set_key_limits(&state, caller.user.id, caller.user.id, id, &body.obj).await?;
    Ok(Json(own_key(&state, caller.user.id, id, false).await?))
}

/// One active key of `user_id` with its budget; 404 otherwise.
pub async fn own_key(state: &AppState, user_id: i64, id: i64, admin: bool) -> ConsoleResult<ApiKeyOut> {
    let key = state
        .store
        .list_api_keys(user_id)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| ConsoleError::not_found(format!("no API key with id {id}")))?;
    ApiKeyOut::load(state, &key, None, admin).await
}

/// Revokes one of the user's keys. 204; 404 for a key that is not the user's (or already revoked).
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ConsoleResult<StatusCode> {
    let id = parse_id(&id)?;
    state.store.revoke_api_key(caller.user.id, id, Timestamp::now()).await.map_err(|e| match e {
        StoreError::NotFound => ConsoleError::not_found(format!("no API key with id {id}")),
        other => other.into(),
    })?;
    state.keys.key_revoked(id);
    let revoked = serde_json::json!({ "api_key_id": id, "revoked": true });
    let audit = crate::console::admin::audit_log::record;
    audit(
        &state,
        Some(caller.user.id),
        "api_key.revoke",
        Some(caller.user.id),
        None::<&serde_json::Value>,
        Some(&revoked),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
