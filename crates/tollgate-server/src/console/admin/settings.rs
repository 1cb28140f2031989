//! `GET/PUT /admin/settings`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use tollgate_core::oauth::{self, OAuthConfig};
use tollgate_core::settings::validate_changes;
use tollgate_store::NewAuditEntry;

use crate::console::body::JsonObject;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::Admin;
use crate::state::AppState;

/// `{"settings":{…}}` from the settings in force, built as text so amounts stay exact.
fn settings_body(state: &AppState) -> String {
    format!(r#"{{"settings":{}}}"#, state.settings.get().to_json(state.settings.default_zone_name()))
}

fn json(text: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// Every setting with its value (OAuth secrets masked).
pub async fn get_settings(State(state): State<AppState>, _admin: Admin) -> Response {
    json(settings_body(&state))
}

/// Replaces the given keys (null or absent keeps a key). Every key is validated before anything is
/// saved; one invalid key is a 400 naming its field path, with nothing changed.
pub async fn put_settings(
    State(state): State<AppState>,
    Admin(admin): Admin,
    body: JsonObject,
) -> ConsoleResult<Response> {
    let values = prepare_settings(&state, &body.raw)?;
    if !values.is_empty() {
        save_settings(&state, &values, Some(admin.user.id)).await?;
    }
    Ok(json(settings_body(&state)))
}

/// The canonical values to store for a settings object (`{"key": value, …}`; null keeps a key),
/// each validated, write-only secrets left out keeping the stored ones. Writes nothing.
pub(crate) fn prepare_settings(state: &AppState, raw: &str) -> ConsoleResult<Vec<(String, String)>> {
    let mut values = validate_changes(raw)?;
    let current = state.settings.get();
    // The OAuth secret is write-only: a value without one keeps the stored secret.
    for (key, value) in &mut values {
        let Some(source) = oauth::source_of_key(key) else { continue };
        let Some(mut cfg) = OAuthConfig::parse(key, source, value)? else { continue };
        if cfg.client_secret.is_none() {
            let stored = current.oauth.get(&source).and_then(|c| c.client_secret.clone());
            cfg.client_secret =
                Some(stored.ok_or_else(|| ConsoleError::invalid(format!("{key}.client_secret"), "is required"))?);
            *value = cfg.to_json();
        }
    }
    keep_alert_secrets(&mut values, &current)?;
    Ok(values)
}

/// Saves prepared values with one audit entry (`actor`: the admin; `None`: a configuration file)
/// in one transaction, then reloads this process's settings and rate limits.
pub(crate) async fn save_settings(
    state: &AppState,
    values: &[(String, String)],
    actor: Option<i64>,
) -> ConsoleResult<()> {
    let zone = state.settings.default_zone_name();
    let before = state.settings.get().to_json(zone);
    // The settings after the change, computed before writing so the entry commits with it.
    let mut stored = state.store.load_settings().await?;
    stored.extend(values.iter().cloned());
    let after = tollgate_core::settings::Settings::from_stored(&stored).to_json(zone);
    let now = Timestamp::now();
    let entry = NewAuditEntry {
        at: now,
        actor_id: actor,
        action: "settings.update".into(),
        target_user_id: None,
        platform: None,
        before_json: Some(before),
        after_json: Some(after),
    };
    // OAuth client secrets are stored encrypted (docs/security.md).
    let sealed: Vec<(String, String)> =
        values.iter().map(|(k, v)| (k.clone(), crate::secrets::stored::seal_setting(&state.secrets, k, v))).collect();
    state.store.save_settings_audited(&sealed, now, Some(&entry)).await?;
    state.settings.refresh().await?;
    state.rate.reload(&state.settings.get()).await?;
    Ok(())
}

/// The alert webhook's secret and the SMTP password are write-only too (docs/alerts.md): a value
/// without one keeps the stored one. A webhook needs a secret (its body is signed).
fn keep_alert_secrets(
    values: &mut [(String, String)],
    current: &tollgate_core::settings::Settings,
) -> Result<(), ConsoleError> {
    use tollgate_core::alerts::{AlertEmail, AlertWebhook};
    use tollgate_core::settings::{ALERT_EMAIL, ALERT_WEBHOOK};
    for (key, value) in values.iter_mut() {
        if key == ALERT_WEBHOOK {
            let Some(mut hook) = AlertWebhook::parse(key, value)? else { continue };
            if hook.secret.is_none() {
                let stored = current.alert_webhook.as_ref().and_then(|w| w.secret.clone());
                hook.secret =
                    Some(stored.ok_or_else(|| ConsoleError::invalid(format!("{key}.secret"), "is required"))?);
                *value = hook.to_json();
            }
        } else if key == ALERT_EMAIL {
            let Some(mut mail) = AlertEmail::parse(key, value)? else { continue };
            if mail.password.is_none() {
                mail.password = current.alert_email.as_ref().and_then(|m| m.password.clone());
                *value = mail.to_json();
            }
        }
    }
    Ok(())
}
