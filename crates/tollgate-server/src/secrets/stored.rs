//! The stored secrets: upstream `api_key` columns, the `client_secret` of each OAuth setting, and the
//! alert webhook secret and SMTP password (docs/alerts.md).
//! Sealing before writes, opening after reads, and the rewrites (plaintext rows at start, rotation).

use std::collections::BTreeMap;

use jiff::Timestamp;
use tollgate_core::{oauth, settings};
use tollgate_store::{SecretRewrite, Store, StoreError, Upstream};

use super::{SecretBox, SecretError};

const CLIENT_SECRET: &str = "client_secret";

fn upstream_error(u: &Upstream, e: &SecretError) -> StoreError {
    StoreError::Invalid(format!("the API key of upstream {:?} (id {}) {e}", u.name, u.id))
}

/// Upstreams as read from the store, with their API keys decrypted. An error names the upstream.
pub fn open_upstreams(secrets: &SecretBox, stored: Vec<Upstream>) -> Result<Vec<Upstream>, StoreError> {
    stored
        .into_iter()
        .map(|mut u| {
            let plain = secrets.open(u.api_key.expose()).map_err(|e| upstream_error(&u, &e))?;
            u.api_key = plain.into();
            Ok(u)
        })
        .collect()
}

/// The field of a setting that holds a secret: an OAuth `client_secret`, the alert webhook's signing
/// `secret`, the alert SMTP `password`.
fn secret_field(key: &str) -> Option<&'static str> {
    match key {
        settings::ALERT_WEBHOOK => Some("secret"),
        settings::ALERT_EMAIL => Some("password"),
        _ => oauth::source_of_key(key).map(|_| CLIENT_SECRET),
    }
}

/// Applies `f` to the `client_secret` of an OAuth setting's JSON text; other keys pass unchanged.
fn map_client_secret(
    key: &str,
    value: &str,
    f: impl FnOnce(&str) -> Result<String, SecretError>,
) -> Result<String, SecretError> {
    let Some(field) = secret_field(key) else { return Ok(value.to_owned()) };
    let Ok(serde_json::Value::Object(mut obj)) = serde_json::from_str::<serde_json::Value>(value) else {
        return Ok(value.to_owned());
    };
    let Some(serde_json::Value::String(secret)) = obj.get(field) else { return Ok(value.to_owned()) };
    let changed = f(secret)?;
    obj.insert(field.to_owned(), serde_json::Value::String(changed));
    Ok(serde_json::Value::Object(obj).to_string())
}

/// A settings value as it is stored: an OAuth client secret encrypted.
pub fn seal_setting(secrets: &SecretBox, key: &str, value: &str) -> String {
    map_client_secret(key, value, |s| Ok(if SecretBox::is_sealed(s) { s.to_owned() } else { secrets.seal(s) }))
        .unwrap_or_else(|_| value.to_owned())
}

/// The settings table with every OAuth client secret decrypted. An error names the setting.
pub fn open_settings(
    secrets: &SecretBox,
    stored: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, StoreError> {
    stored
        .into_iter()
        .map(|(k, v)| {
            let plain = map_client_secret(&k, &v, |s| secrets.open(s))
                .map_err(|e| StoreError::Invalid(format!("the secret in setting {k} {e}")))?;
            Ok((k, plain))
        })
        .collect()
}

/// Whether any stored secret is encrypted (then a key must be given, never generated).
pub async fn any_sealed(store: &dyn Store) -> Result<bool, StoreError> {
    if store.list_upstreams().await?.iter().any(|u| SecretBox::is_sealed(u.api_key.expose())) {
        return Ok(true);
    }
    Ok(store.load_settings().await?.values().any(|v| v.contains(super::PREFIX)))
}

/// Every stored secret read with `old` and written with `new`: all of them (`rotate`), or only the
/// plaintext ones (`!rotate`: upgrading an older database; the encrypted ones are still checked
/// against `old`, so a wrong key is reported at start, naming the secret).
pub async fn plan(
    store: &dyn Store,
    old: &SecretBox,
    new: &SecretBox,
    rotate: bool,
) -> Result<SecretRewrite, StoreError> {
    let mut rewrite = SecretRewrite::default();
    for u in store.list_upstreams().await? {
        let stored = u.api_key.expose();
        let plain = old.open(stored).map_err(|e| upstream_error(&u, &e))?;
        if rotate || !SecretBox::is_sealed(stored) {
            rewrite.upstream_keys.push((u.id, stored.to_owned(), new.seal(&plain)));
        }
    }
    for (key, stored) in store.load_settings().await? {
        let mut was_plain = false;
        let resealed = map_client_secret(&key, &stored, |s| {
            was_plain = !SecretBox::is_sealed(s);
            old.open(s).map(|plain| new.seal(&plain))
        })
        .map_err(|e| StoreError::Invalid(format!("the secret in setting {key} {e}")))?;
        if resealed != stored && (rotate || was_plain) {
            rewrite.settings.push((key, stored, resealed));
        }
    }
    Ok(rewrite)
}

/// Encrypts the plaintext secrets of an older database (one transaction); returns how many.
pub async fn seal_plaintext(store: &dyn Store, secrets: &SecretBox) -> Result<usize, StoreError> {
    let rewrite = plan(store, secrets, secrets, false).await?;
    if !rewrite.is_empty() {
        store.rewrite_secrets(&rewrite, Timestamp::now()).await?;
    }
    Ok(rewrite.upstream_keys.len() + rewrite.settings.len())
}

/// `tollgate secret-key rotate`: every secret re-encrypted from `old` to `new` in one transaction.
pub async fn rotate(store: &dyn Store, old: &SecretBox, new: &SecretBox) -> Result<(usize, usize), StoreError> {
    let rewrite = plan(store, old, new, true).await?;
    store.rewrite_secrets(&rewrite, Timestamp::now()).await?;
    Ok((rewrite.upstream_keys.len(), rewrite.settings.len()))
}

/// At start: the key in force (generated on a fresh install when none is given), after checking it
/// opens every stored secret and encrypting the plaintext ones.
pub async fn startup(store: &dyn Store, source: &super::key::KeySource) -> Result<SecretBox, StoreError> {
    use super::key::Resolved;
    let invalid = |e: anyhow::Error| StoreError::Invalid(format!("{e:#}"));
    let missing = "the database holds encrypted secrets but no secret key is configured: set TOLLGATE_SECRET_KEY \
         or --secret-key-file to the key that encrypted them (docs/security.md)";
    let secrets = match source.resolve().map_err(invalid)? {
        Some(Resolved::Key(k)) => k,
        Some(Resolved::Generate(path)) => {
            if any_sealed(store).await? {
                return Err(StoreError::Invalid(format!("{missing} (no key file at {})", path.display())));
            }
            let k = super::key::generate_file(&path).map_err(invalid)?;
            if store.backend() == "postgres" {
                tracing::warn!(
                    "PostgreSQL: every gateway instance on this database must use this same key \
                     (set TOLLGATE_SECRET_KEY or --secret-key-file on each; docs/postgres.md)"
                );
            }
            tracing::warn!(
                path = %path.display(),
                "generated a new secret key for upstream API keys and OAuth client secrets (mode 0600); back it up: \
                 without it they cannot be read"
            );
            k
        }
        None if any_sealed(store).await? => return Err(StoreError::Invalid(missing.to_owned())),
        None => {
            return Err(StoreError::Invalid(
                "no secret key configured: set TOLLGATE_SECRET_KEY or --secret-key-file".to_owned(),
            ));
        }
    };
    let n = seal_plaintext(store, &secrets).await?;
    if n > 0 {
        tracing::info!(count = n, "encrypted plaintext secrets left by an older version");
    }
    Ok(secrets)
}
