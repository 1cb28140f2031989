//! `GET /admin/alerts` (recent threshold alerts with the state of each delivery) and
//! `PUT /admin/users/{id}/language` (docs/alerts.md).

use axum::Json;
use axum::extract::{Path, State};
use jiff::Timestamp;
use serde::Serialize;
use tollgate_store::DeliveryState;

use crate::console::admin::users::{load_user, parse_id};
use crate::console::body::JsonObject;
use crate::console::error::ConsoleResult;
use crate::console::session::Admin;
use crate::console::user::notices::{LanguageOut, parse_language};
use crate::console::views::rfc3339;
use crate::state::AppState;

/// Alerts listed at most.
const LIST: i64 = 200;

#[derive(Serialize)]
pub struct DeliveryOut {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    /// `pending` (waiting for its next attempt), `delivered` or `dead` (given up).
    pub state: &'static str,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub last_error: Option<String>,
}

#[derive(Serialize)]
pub struct AlertOut {
    pub id: i64,
    pub user_id: i64,
    pub user_email: String,
    pub platform: String,
    pub window: String,
    pub threshold: i64,
    pub usage_usd: String,
    pub limit_usd: String,
    pub window_start: String,
    pub resets_at: Option<String>,
    pub created_at: String,
    pub deliveries: Vec<DeliveryOut>,
}

#[derive(Serialize)]
pub struct AlertList {
    pub alerts: Vec<AlertOut>,
}

fn delivery(d: &DeliveryState, zone: &jiff::tz::TimeZone) -> DeliveryOut {
    let state = if d.delivered_at.is_some() {
        "delivered"
    } else if d.dead_at.is_some() {
        "dead"
    } else {
        "pending"
    };
    DeliveryOut {
        id: d.id,
        channel: d.channel.clone(),
        recipient: d.recipient.clone(),
        state,
        attempts: d.attempts,
        next_attempt_at: (state == "pending").then(|| rfc3339(d.next_attempt_at, zone)),
        delivered_at: d.delivered_at.map(|t| rfc3339(t, zone)),
        last_error: d.last_error.clone(),
    }
}

/// The newest alerts first.
pub async fn list_alerts(State(state): State<AppState>, _admin: Admin) -> ConsoleResult<Json<AlertList>> {
    state.ledger.caught_up().await;
    let zone = state.settings.clock().zone;
    let rows = state.store.list_alerts(LIST).await?;
    let alerts = rows
        .iter()
        .map(|a| AlertOut {
            id: a.id,
            user_id: a.user_id,
            user_email: a.user_email.clone(),
            platform: a.alert.platform.as_str().to_owned(),
            window: a.alert.window.as_str().to_owned(),
            threshold: a.alert.threshold,
            usage_usd: a.alert.usage.to_string(),
            limit_usd: a.alert.limit.to_string(),
            window_start: rfc3339(a.alert.window_start, &zone),
            resets_at: a.alert.resets_at.map(|t| rfc3339(t, &zone)),
            created_at: rfc3339(a.alert.created_at, &zone),
            deliveries: a.deliveries.iter().map(|d| delivery(d, &zone)).collect(),
        })
        .collect();
    Ok(Json(AlertList { alerts }))
}

/// Sets a user's language (`{"language":"en"|"zh"}`).
pub async fn put_user_language(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
    body: JsonObject,
) -> ConsoleResult<Json<LanguageOut>> {
    let user = load_user(&state, parse_id(&id)?).await?;
    let language = parse_language(&body)?;
    state.store.set_language(user.id, &language, Timestamp::now()).await?;
    Ok(Json(LanguageOut { language }))
}
