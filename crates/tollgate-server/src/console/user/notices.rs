//! `GET /user/notices`, `POST /user/notices/{id}/read`, `POST /user/notices/read-all`,
//! `GET/PUT /user/language` (docs/alerts.md).

use axum::Json;
use axum::extract::{Path, State};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::console::admin::users::parse_id;
use crate::console::body::JsonObject;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::Caller;
use crate::console::views::rfc3339;
use crate::state::AppState;

/// Notices listed at most.
const LIST: i64 = 100;
/// The languages a user may choose.
pub const LANGUAGES: [&str; 2] = ["en", "zh"];

#[derive(Serialize)]
pub struct NoticeOut {
    pub id: i64,
    pub kind: String,
    /// For `quota_alert`: platform, window, threshold, usage_usd, limit_usd (decimal strings),
    /// window_start, resets_at, alert_id.
    pub payload: Box<RawValue>,
    pub created_at: String,
    pub read_at: Option<String>,
}

#[derive(Serialize)]
pub struct NoticeList {
    pub notices: Vec<NoticeOut>,
    pub unread: usize,
}

/// The caller's notices, newest first.
pub async fn list_notices(State(state): State<AppState>, caller: Caller) -> ConsoleResult<Json<NoticeList>> {
    // An alert is recorded after its charge is written: catch up so a read after an answer sees it.
    state.ledger.caught_up().await;
    let zone = state.settings.clock().zone;
    let rows = state.store.list_notices(caller.user.id, LIST).await?;
    let mut notices = Vec::with_capacity(rows.len());
    for n in rows {
        let payload = RawValue::from_string(n.payload)
            .map_err(|e| ConsoleError::Internal(format!("stored notice {} is not JSON: {e}", n.id)))?;
        notices.push(NoticeOut {
            id: n.id,
            kind: n.kind,
            payload,
            created_at: rfc3339(n.created_at, &zone),
            read_at: n.read_at.map(|t| rfc3339(t, &zone)),
        });
    }
    let unread = notices.iter().filter(|n| n.read_at.is_none()).count();
    Ok(Json(NoticeList { notices, unread }))
}

/// Marks one of the caller's notices read (404 for another user's).
pub async fn read_notice(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ConsoleResult<Json<serde_json::Value>> {
    let id = parse_id(&id)?;
    state.store.mark_notices_read(caller.user.id, Some(id), Timestamp::now()).await.map_err(|e| match e {
        tollgate_store::StoreError::NotFound => ConsoleError::not_found("no such notice"),
        other => other.into(),
    })?;
    Ok(Json(serde_json::json!({"ok": true})))
}

/// Marks all the caller's notices read.
pub async fn read_all_notices(State(state): State<AppState>, caller: Caller) -> ConsoleResult<Json<serde_json::Value>> {
    state.store.mark_notices_read(caller.user.id, None, Timestamp::now()).await?;
    Ok(Json(serde_json::json!({"ok": true})))
}

#[derive(Serialize)]
pub struct LanguageOut {
    pub language: String,
}

/// The caller's language (emails and the console).
pub async fn get_language(State(state): State<AppState>, caller: Caller) -> ConsoleResult<Json<LanguageOut>> {
    Ok(Json(LanguageOut { language: state.store.language(caller.user.id).await? }))
}

/// `{"language":"en"|"zh"}`: set by the console when the user switches language.
pub async fn put_language(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonObject,
) -> ConsoleResult<Json<LanguageOut>> {
    let language = parse_language(&body)?;
    state.store.set_language(caller.user.id, &language, Timestamp::now()).await?;
    Ok(Json(LanguageOut { language }))
}

/// The `language` field: `en` or `zh`.
pub fn parse_language(body: &JsonObject) -> Result<String, ConsoleError> {
    let language = body.obj.text("language", 8)?;
    if !LANGUAGES.contains(&language.as_str()) {
        return Err(ConsoleError::invalid(body.obj.field("language"), "must be \"en\" or \"zh\""));
    }
    Ok(language)
}
