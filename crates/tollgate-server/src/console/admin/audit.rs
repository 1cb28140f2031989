//! `GET /admin/audit`: who changed which limit or setting, when, before and after.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::Admin;
use crate::console::views::rfc3339;
use crate::state::AppState;

/// Query of `GET /admin/audit` and `GET /admin/users` paging, read as text so a bad number is a 400
/// naming the parameter.
#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    pub page: Option<String>,
    pub per_page: Option<String>,
    pub user_id: Option<String>,
    pub q: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PageQuery {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<PageQuery>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .map_err(|e| ConsoleError::invalid("", format!("bad query string: {e}")))
    }
}

/// Parses an integer query parameter within `range`.
pub fn int_param(
    name: &str,
    v: Option<&str>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> ConsoleResult<i64> {
    let Some(v) = v.filter(|v| !v.is_empty()) else { return Ok(default) };
    let n: i64 = v.trim().parse().map_err(|_| ConsoleError::invalid(name, "must be an integer"))?;
    if !range.contains(&n) {
        return Err(ConsoleError::invalid(name, format!("must be between {} and {}", range.start(), range.end())));
    }
    Ok(n)
}

#[derive(Serialize)]
pub struct EntryOut {
    pub id: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor_email: Option<String>,
    pub action: String,
    pub target_user_id: Option<i64>,
    pub platform: Option<String>,
    /// The stored JSON, passed through as text (exact amounts).
    pub before: Option<Box<RawValue>>,
    pub after: Option<Box<RawValue>>,
}

#[derive(Serialize)]
pub struct AuditOut {
    pub entries: Vec<EntryOut>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

fn raw(text: Option<String>) -> Option<Box<RawValue>> {
    text.and_then(|t| RawValue::from_string(t).ok())
}

/// The audit log, newest first, optionally about one user.
pub async fn list_audit(State(state): State<AppState>, _admin: Admin, q: PageQuery) -> ConsoleResult<Json<AuditOut>> {
    let page = int_param("page", q.page.as_deref(), 1, 1..=1_000_000)?;
    let per_page = int_param("per_page", q.per_page.as_deref(), 20, 1..=200)?;
    let user_id = match q.user_id.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => Some(int_param("user_id", Some(v), 0, 1..=i64::MAX)?),
        None => None,
    };
    let zone = state.settings.clock().zone;
    let found = state.store.list_audit(user_id, page, per_page).await?;
    let entries = found
        .entries
        .into_iter()
        .map(|e| EntryOut {
            id: e.id,
            at: rfc3339(e.at, &zone),
            actor_id: e.actor_id,
            actor_email: e.actor_email,
            action: e.action,
            target_user_id: e.target_user_id,
            platform: e.platform,
            before: raw(e.before_json),
            after: raw(e.after_json),
        })
        .collect();
    Ok(Json(AuditOut { entries, total: found.total, page, per_page }))
}
