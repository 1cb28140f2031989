//! `GET/POST /admin/users`, `GET/PATCH /admin/users/{id}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Serialize;
use tollgate_core::money::Decimal9;
use tollgate_core::platform::AuthSource;
use tollgate_store::{NewUser, Role, StoreError, User, UserPatch, UserStatus};

use super::audit::{PageQuery, int_param};
use crate::console::accounts;
use crate::console::admin::audit_log;
use crate::console::auth::{parse_email, parse_new_password};
use crate::console::body::{JsonObject, Obj};
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::Admin;
use crate::console::views::{PlatformLimits, UserOut, active_limits};
use crate::state::AppState;

/// Largest accepted cost multiplier (a typo guard: 1000× is already absurd).
const MAX_MULTIPLIER: i64 = 1000;

#[derive(Serialize)]
pub struct ListedUser {
    #[serde(flatten)]
    pub user: UserOut,
    pub platform_limits: Vec<PlatformLimits>,
}

#[derive(Serialize)]
pub struct UserList {
    pub users: Vec<ListedUser>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// A path id: a positive integer, else 404 (an id that cannot exist is not found).
pub fn parse_id(raw: &str) -> ConsoleResult<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| ConsoleError::not_found("no such id"))
}

/// The user, or 404.
pub async fn load_user(state: &AppState, id: i64) -> ConsoleResult<User> {
    state.store.get_user(id).await?.ok_or_else(|| ConsoleError::not_found(format!("no user with id {id}")))
}

fn role(o: &Obj) -> ConsoleResult<Option<Role>> {
    o.opt_string("role")?
        .map(|s| {
            Role::parse(&s)
                .ok_or_else(|| ConsoleError::invalid("role", format!("unknown role {s:?}; expected admin or user")))
        })
        .transpose()
}

fn status(o: &Obj) -> ConsoleResult<Option<UserStatus>> {
    o.opt_string("status")?
        .map(|s| {
            UserStatus::parse(&s).ok_or_else(|| {
                ConsoleError::invalid("status", format!("unknown status {s:?}; expected active or disabled"))
            })
        })
        .transpose()
}

fn multiplier(o: &Obj) -> ConsoleResult<Option<Decimal9>> {
    let m = o.opt_decimal("cost_multiplier")?;
    if m.is_some_and(|m| m.nanos() > MAX_MULTIPLIER * 1_000_000_000) {
        return Err(ConsoleError::invalid("cost_multiplier", format!("must be at most {MAX_MULTIPLIER}")));
    }
    Ok(m)
}

/// Users whose email or name contains `q`, paged, each with its active limits.
pub async fn list_users(State(state): State<AppState>, _admin: Admin, q: PageQuery) -> ConsoleResult<Json<UserList>> {
    let page = int_param("page", q.page.as_deref(), 1, 1..=1_000_000)?;
    let per_page = int_param("per_page", q.per_page.as_deref(), 20, 1..=200)?;
    let query = q.q.unwrap_or_default();
    if query.chars().count() > 200 {
        return Err(ConsoleError::invalid("q", "must have at most 200 characters"));
    }
    state.ledger.caught_up().await;
    let found = state.store.list_users(&query, page, per_page).await?;
    let zone = state.settings.clock().zone;
    let mut users = Vec::with_capacity(found.users.len());
    for u in &found.users {
        let rows = state.store.list_by_user(u.id).await?;
        users.push(ListedUser { user: UserOut::new(u, &zone), platform_limits: active_limits(&rows) });
    }
    Ok(Json(UserList { users, total: found.total, page, per_page }))
}

/// Creates a user. With `apply_default_quotas` (default true) it snapshots the defaults of its
/// `auth_source` in the same transaction. 201.
pub async fn create_user(
    State(state): State<AppState>,
    _admin: Admin,
    body: JsonObject,
) -> ConsoleResult<(StatusCode, Json<UserOut>)> {
    let o = &body.obj;
    let email = parse_email(o)?;
    let password = parse_new_password(o, "password")?;
    let source: AuthSource = o.opt_name("auth_source")?.unwrap_or(AuthSource::Email);
    if source == AuthSource::Email && password.is_none() {
        return Err(ConsoleError::invalid("password", "is required for an email account"));
    }
    let mut new = NewUser::new(&email, source);
    new.display_name = o.opt_text("display_name", 100)?.unwrap_or_default();
    new.role = role(o)?.unwrap_or(Role::User);
    new.cost_multiplier = multiplier(o)?.unwrap_or(Decimal9::ONE);
    let apply = o.opt_bool("apply_default_quotas")?.unwrap_or(true);
    new.password_hash = match password.as_deref() {
        Some(p) => Some(accounts::hash_password(p).await?),
        None => None,
    };
    let settings = state.settings.get();
    let user = accounts::create_user(&*state.store, &settings, &new, apply).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            ConsoleError::Conflict { field: Some("email".into()), message: "this email is already registered".into() }
        }
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(UserOut::new(&user, &state.settings.clock().zone))))
}

/// One user.
pub async fn get_user(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ConsoleResult<Json<UserOut>> {
    let user = load_user(&state, parse_id(&id)?).await?;
    Ok(Json(UserOut::new(&user, &state.settings.clock().zone)))
}

/// Changes display name, role, status, cost multiplier or password. Disabling a user or changing
/// its password ends its sessions. Admins cannot demote or disable themselves (no lock-out).
pub async fn update_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    body: JsonObject,
) -> ConsoleResult<Json<UserOut>> {
    let id = parse_id(&id)?;
    let o = &body.obj;
    let new_password = parse_new_password(o, "password")?;
    let mut patch = UserPatch {
        display_name: if o.has("display_name") {
            Some(o.opt_string("display_name")?.map(|s| s.trim().to_owned()).unwrap_or_default())
        } else {
            None
        },
        password_hash: None,
        role: role(o)?,
        status: status(o)?,
        cost_multiplier: multiplier(o)?,
    };
    if patch.display_name.as_ref().is_some_and(|n| n.chars().count() > 100) {
        return Err(ConsoleError::invalid("display_name", "must have at most 100 characters"));
    }
    if id == admin.user.id && patch.role == Some(Role::User) {
        return Err(ConsoleError::invalid("role", "you cannot remove your own admin role"));
    }
    if id == admin.user.id && patch.status == Some(UserStatus::Disabled) {
        return Err(ConsoleError::invalid("status", "you cannot disable your own account"));
    }
    // Hashed once the request is known to be valid.
    if let Some(p) = new_password {
        patch.password_hash = Some(accounts::hash_password(&p).await?);
    }
    let before = state.store.get_user(id).await?;
    let user = state.store.update_user(id, &patch, Timestamp::now()).await.map_err(|e| match e {
        StoreError::NotFound => ConsoleError::not_found(format!("no user with id {id}")),
        other => other.into(),
    })?;
    if patch.password_hash.is_some() || patch.status == Some(UserStatus::Disabled) {
        state.store.delete_user_sessions(id).await?;
    }
    // Role, status and cost multiplier decide what the account may do and spend: audited.
    if let Some(before) = before {
        let (b, a) = (audit_log::UserAccess::from(&before), audit_log::UserAccess::from(&user));
        if b != a {
            audit_log::record(&state, Some(admin.user.id), "user.update", Some(id), Some(&b), Some(&a)).await;
        }
    }
    // The gateway sees the change on the next request (and cuts a disabled user's streams).
    if let Some(status) = patch.status {
        state.keys.user_changed(id, status == UserStatus::Disabled);
    } else if patch.role.is_some() || patch.cost_multiplier.is_some() {
        state.keys.invalidate();
    }
    Ok(Json(UserOut::new(&user, &state.settings.clock().zone)))
}
