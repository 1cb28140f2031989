//! `tollgate config export`: the stored state as a file that `config apply` takes back unchanged.
//! Written from the JSON the console serves, value by value, so amounts keep their exact digits.
//! Write-only secrets are left out (see the file's header).

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::{ConfigError, key_in_path};
use crate::console::admin::upstreams::{UpstreamOut, all_upstreams};
use crate::state::AppState;

const HEADER: &str = "\
# Tollgate configuration (docs/config-file.md), written by `tollgate config export`.
# Secrets are not exported: upstream `api_key`, OAuth `client_secret`, the alert webhook's `secret`
# and the SMTP `password` keep their stored values when absent. On a new database, give each as
# `api_key = { env = \"VARIABLE\" }`, read from the environment when the file is applied.
";

/// Fields of the console's JSON that are not settings: the masks of write-only secrets, an
/// upstream's id.
const NOT_CONFIG: &[&str] = &["client_secret_set", "secret_set", "password_set", "id", "api_key_masked"];

/// The settings in force, every upstream and every price override, as TOML.
pub async fn export(state: &AppState) -> Result<String, ConfigError> {
    let mut out = String::from(HEADER);
    let in_force = state.settings.get();
    let mut settings = object(&in_force.to_json(state.settings.default_zone_name()))?;
    if in_force.quota_timezone.is_none() {
        // The server's zone (TZ), not a setting: a file that named it would pin it.
        settings.remove(tollgate_core::settings::QUOTA_TIMEZONE);
    }
    let settings = serde_json::to_string(&settings).map_err(|e| ConfigError::new("settings", e))?;
    table(&mut out, "\n[settings]", &settings)?;
    for upstream in all_upstreams(state).await.map_err(|e| ConfigError::new("upstreams", e))? {
        let json =
            serde_json::to_string(&UpstreamOut::from(&upstream)).map_err(|e| ConfigError::new("upstreams", e))?;
        table(&mut out, "\n[[upstreams]]", &json)?;
    }
    let overrides = state.store.list_price_overrides().await.map_err(|e| ConfigError::new("prices", e))?;
    for (model, price) in overrides {
        let json = serde_json::to_string(&price).map_err(|e| ConfigError::new("prices", e))?;
        table(&mut out, &format!("\n[prices.{}]", key_in_path(&model)), &json)?;
    }
    Ok(out)
}

type Object = BTreeMap<String, Box<RawValue>>;

fn object(raw: &str) -> Result<Object, ConfigError> {
    serde_json::from_str(raw).map_err(|e| ConfigError::new("", format!("not an object: {e}")))
}

fn is_object(raw: &str) -> bool {
    raw.trim_start().starts_with('{')
}

/// `header` then the object's values as `key = value` lines; objects inside become tables of
/// their own (`[settings.default_platform_quotas]`). Nulls are left out (TOML has none; absent
/// means the same).
fn table(out: &mut String, header: &str, raw: &str) -> Result<(), ConfigError> {
    let fields = object(raw)?;
    out.push_str(header);
    out.push('\n');
    let mut nested = Vec::new();
    for (key, value) in fields.iter().filter(|(k, _)| !NOT_CONFIG.contains(&k.as_str())) {
        if is_object(value.get()) {
            nested.push((key, value));
        } else if let Some(text) = inline(value.get())? {
            out.push_str(&format!("{} = {text}\n", key_in_path(key)));
        }
    }
    let name = header.trim().trim_start_matches('[').trim_end_matches(']');
    for (key, value) in nested {
        table(out, &format!("[{name}.{}]", key_in_path(key)), value.get())?;
    }
    Ok(())
}

/// A JSON value as a TOML value on one line. A JSON string or number is also valid TOML.
fn inline(raw: &str) -> Result<Option<String>, ConfigError> {
    let raw = raw.trim();
    Ok(match raw.as_bytes().first() {
        Some(b'n') => None,
        Some(b'{') => {
            let mut parts = Vec::new();
            for (k, v) in object(raw)?.iter().filter(|(k, _)| !NOT_CONFIG.contains(&k.as_str())) {
                if let Some(text) = inline(v.get())? {
                    parts.push(format!("{} = {text}", key_in_path(k)));
                }
            }
            Some(if parts.is_empty() { "{}".to_owned() } else { format!("{{ {} }}", parts.join(", ")) })
        }
        Some(b'[') => {
            let items: Vec<Box<RawValue>> =
                serde_json::from_str(raw).map_err(|e| ConfigError::new("", format!("not an array: {e}")))?;
            let mut parts = Vec::new();
            for item in &items {
                parts.push(inline(item.get())?.ok_or_else(|| ConfigError::new("", "an array holds null"))?);
            }
            Some(format!("[{}]", parts.join(", ")))
        }
        _ => Some(raw.to_owned()),
    })
}
