//! Rate limit overrides in the console (docs/rate-limits.md):
//! `GET/PUT /admin/users/{id}/rate-limits` (admins) and `GET/PUT /user/api-keys/{id}/rate-limits`
//! (the key's owner, who may only tighten it; admins, any key). Every change is audited in the
//! same transaction and takes effect in this process at once (others: `--settings-refresh-secs`).

use axum::Json;
use axum::extract::{Path, State};
use jiff::Timestamp;
use serde::Serialize;
use tollgate_core::platform::Platform;
use tollgate_core::rate::{RateKind, RateLimit, RateSubject, parse_limit};
use tollgate_store::{NewAuditEntry, Role};

use crate::console::admin::users::{load_user, parse_id};
use crate::console::body::{JsonObject, Obj};
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::{Admin, Caller};
use crate::console::views::to_json_text;
use crate::state::AppState;

/// One platform's limits; null = unlimited.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitEntry {
    pub platform: Platform,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub concurrency: Option<u64>,
}

impl RateLimitEntry {
    fn new(platform: Platform, l: RateLimit) -> Self {
        Self { platform, rpm: l.rpm, tpm: l.tpm, concurrency: l.concurrency }
    }
}

fn entries(list: &[(Platform, RateLimit)]) -> Vec<RateLimitEntry> {
    list.iter().map(|(p, l)| RateLimitEntry::new(*p, *l)).collect()
}

/// `{"rate_limits":[{"platform","rpm","tpm","concurrency"}]}`; each limit absent or null =
/// unlimited, else a whole number >= 1. Errors name the field (`rate_limits[0].rpm`).
fn parse_body(o: &Obj) -> ConsoleResult<Vec<(Platform, RateLimit)>> {
    let items = o.opt_array("rate_limits")?.ok_or_else(|| ConsoleError::invalid("rate_limits", "is required"))?;
    let mut out: Vec<(Platform, RateLimit)> = Vec::with_capacity(items.len());
    for (i, raw) in items.iter().enumerate() {
        let item = Obj::parse(&format!("rate_limits[{i}]."), raw.get())?;
        let platform: Platform = item.name("platform")?;
        if out.iter().any(|(p, _)| *p == platform) {
            return Err(ConsoleError::invalid(item.field("platform"), format!("{platform} is listed twice")));
        }
        let field = |k: RateKind| -> ConsoleResult<Option<u64>> {
            Ok(item.raw(k.as_str()).map(|raw| parse_limit(&item.field(k.as_str()), raw)).transpose()?.flatten())
        };
        let limit = RateLimit {
            rpm: field(RateKind::Rpm)?,
            tpm: field(RateKind::Tpm)?,
            concurrency: field(RateKind::Concurrency)?,
        };
        out.push((platform, limit));
    }
    Ok(out)
}

/// A user's rate limits: its overrides, its auth source's defaults and the limits in force.
#[derive(Serialize)]
pub struct UserRateLimits {
    pub user_id: i64,
    pub overrides: Vec<RateLimitEntry>,
    pub defaults: Vec<RateLimitEntry>,
    pub effective: Vec<RateLimitEntry>,
}

async fn user_view(state: &AppState, user: &tollgate_store::User) -> ConsoleResult<UserRateLimits> {
    let overrides = state.store.subject_rate_limits(RateSubject::User, user.id).await?;
    let defaults = state.settings.get().rate_defaults_for(user.auth_source);
    let all =
        |f: &dyn Fn(Platform) -> RateLimit| Platform::ALL.iter().map(|p| RateLimitEntry::new(*p, f(*p))).collect();
    Ok(UserRateLimits {
        user_id: user.id,
        overrides: entries(&overrides),
        defaults: all(&|p| defaults.get(p)),
        effective: all(&|p| overrides.iter().find(|(q, _)| *q == p).map_or_else(|| defaults.get(p), |(_, l)| *l)),
    })
}

pub async fn get_user_limits(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ConsoleResult<Json<UserRateLimits>> {
    let user = load_user(&state, parse_id(&id)?).await?;
    Ok(Json(user_view(&state, &user).await?))
}

/// Replaces the user's overrides: listed platforms use exactly these limits (null = unlimited),
/// the others inherit the defaults again.
pub async fn put_user_limits(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    body: JsonObject,
) -> ConsoleResult<Json<UserRateLimits>> {
    let user = load_user(&state, parse_id(&id)?).await?;
    let limits = parse_body(&body.obj)?;
    let before = state.store.subject_rate_limits(RateSubject::User, user.id).await?;
    let now = Timestamp::now();
    let entry = NewAuditEntry {
        at: now,
        actor_id: Some(admin.user.id),
        action: "user.rate_limits.update".into(),
        target_user_id: Some(user.id),
        platform: None,
        before_json: to_json_text(&entries(&before)),
        after_json: to_json_text(&entries(&limits)),
    };
    state.store.replace_rate_limits_audited(RateSubject::User, user.id, &limits, now, Some(&entry)).await?;
    state.rate.reload(&state.settings.get()).await?;
    Ok(Json(user_view(&state, &user).await?))
}

/// A key's own limits (null = no key-level limit; the user's limits still apply).
#[derive(Serialize)]
pub struct KeyRateLimits {
    pub api_key_id: i64,
    pub rate_limits: Vec<RateLimitEntry>,
}

/// The key's owner, if `caller` may see it: its owner, or an admin. 404 otherwise.
async fn key_owner(state: &AppState, caller: &Caller, key_id: i64) -> ConsoleResult<i64> {
    match state.store.api_key_owner(key_id).await? {
        Some(owner) if owner == caller.user.id || caller.user.role == Role::Admin => Ok(owner),
        _ => Err(ConsoleError::not_found(format!("no API key with id {key_id}"))),
    }
}

pub async fn get_key_limits(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ConsoleResult<Json<KeyRateLimits>> {
    let id = parse_id(&id)?;
    key_owner(&state, &caller, id).await?;
    let limits = state.store.subject_rate_limits(RateSubject::Key, id).await?;
    Ok(Json(KeyRateLimits { api_key_id: id, rate_limits: entries(&limits) }))
}

/// Replaces the key's limits. A user who is not an admin may only tighten them: a value above the
/// current one, or removing a limit, is a 403 naming the field.
pub async fn put_key_limits(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonObject,
) -> ConsoleResult<Json<KeyRateLimits>> {
    let id = parse_id(&id)?;
    let owner = key_owner(&state, &caller, id).await?;
    let limits = parse_body(&body.obj)?;
    let before = state.store.subject_rate_limits(RateSubject::Key, id).await?;
    if caller.user.role != Role::Admin {
        for (platform, current) in &before {
            let new = limits.iter().find(|(p, _)| p == platform).map(|(_, l)| *l).unwrap_or_default();
            if let Some(kind) = new.loosened_field(current) {
                let i = limits.iter().position(|(p, _)| p == platform);
                let field = i.map_or_else(|| "rate_limits".to_owned(), |i| format!("rate_limits[{i}].{kind}"));
                return Err(ConsoleError::Forbidden(format!(
                    "{field}: a key's {platform} {kind} limit can only be lowered; ask an admin to raise or remove it"
                )));
            }
        }
    }
    let now = Timestamp::now();
    let entry = NewAuditEntry {
        at: now,
        actor_id: Some(caller.user.id),
        action: "api_key.rate_limits.update".into(),
        target_user_id: Some(owner),
        platform: None,
        before_json: to_json_text(&serde_json::json!({"api_key_id": id, "rate_limits": entries(&before)})),
        after_json: to_json_text(&serde_json::json!({"api_key_id": id, "rate_limits": entries(&limits)})),
    };
    state.store.replace_rate_limits_audited(RateSubject::Key, id, &limits, now, Some(&entry)).await?;
    state.rate.reload(&state.settings.get()).await?;
    Ok(Json(KeyRateLimits { api_key_id: id, rate_limits: entries(&limits) }))
}
