//! `GET/POST /user/api-keys`, `DELETE /user/api-keys/{id}`. The secret is shown once, in the POST
//! response; only its SHA-256 is stored.

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
}

impl ApiKeyOut {
    fn new(k: &ApiKey, zone: &jiff::tz::TimeZone, secret: Option<String>) -> Self {
        Self {
            id: k.id,
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            platforms: k.platforms.clone(),
            created_at: rfc3339(k.created_at, zone),
            last_used_at: k.last_used_at.map(|t| rfc3339(t, zone)),
            secret,
        }
    }
}

#[derive(Serialize)]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKeyOut>,
}

/// The user's active keys.
pub async fn list_keys(State(state): State<AppState>, caller: Caller) -> ConsoleResult<Json<ApiKeyList>> {
    let zone = state.settings.clock().zone;
    let keys = state.store.list_api_keys(caller.user.id).await?;
    Ok(Json(ApiKeyList { api_keys: keys.iter().map(|k| ApiKeyOut::new(k, &zone, None)).collect() }))
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
    };
    let key = state.store.create_api_key(&new, Timestamp::now()).await?;
    Ok((StatusCode::CREATED, Json(ApiKeyOut::new(&key, &state.settings.clock().zone, Some(secret)))))
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
    audit(&state, caller.user.id, "api_key.revoke", Some(caller.user.id), None::<&serde_json::Value>, Some(&revoked))
        .await;
    Ok(StatusCode::NO_CONTENT)
}
