//! OAuth2 / OpenID Connect client settings: one settings key per external auth source
//! (`oauth_github`, …), validated here like every other setting.
//!
//! A value is `{"client_id","client_secret"?, …endpoint overrides}`; `{}` means "not configured".
//! Every endpoint has a default for the well-known providers, and every one can be overridden (a
//! self-hosted provider, or a local mock authorization server in tests). The generic `oidc` source
//! needs a `discovery_url` or all three of `authorize_url`, `token_url`, `userinfo_url`.
//! The secret is write-only: reads show `client_secret_set` instead, and a write without
//! `client_secret` keeps the stored one (the server fills it in before saving).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::FieldError;
use crate::platform::AuthSource;

/// The settings key of a source's OAuth client, e.g. `oauth_github`.
pub fn key(source: AuthSource) -> String {
    format!("oauth_{}", source.as_str())
}

/// The auth sources that log in through an external provider (all but `email`).
pub fn sources() -> impl Iterator<Item = AuthSource> {
    AuthSource::ALL.iter().copied().filter(|s| *s != AuthSource::Email)
}

/// The source whose OAuth key this is.
pub fn source_of_key(key: &str) -> Option<AuthSource> {
    let name = key.strip_prefix("oauth_")?;
    sources().find(|s| s.as_str() == name)
}

/// One provider's client settings.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OAuthConfig {
    pub client_id: String,
    /// Absent on input: keep the stored secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// OIDC discovery document (`…/.well-known/openid-configuration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_url: Option<String>,
    /// Space-separated scopes; the provider's usual ones when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    /// The callback URL registered at the provider; derived from the request's host when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

impl std::fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .field("discovery_url", &self.discovery_url)
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("userinfo_url", &self.userinfo_url)
            .finish_non_exhaustive()
    }
}

const FIELDS: [&str; 9] = [
    "client_id",
    "client_secret",
    "client_secret_set",
    "discovery_url",
    "authorize_url",
    "token_url",
    "userinfo_url",
    "scopes",
    "redirect_url",
];

impl OAuthConfig {
    /// Parses one settings value; `Ok(None)` for `{}` (not configured). Field paths are under `key`.
    pub fn parse(key: &str, source: AuthSource, raw: &str) -> Result<Option<Self>, FieldError> {
        let map: BTreeMap<String, Box<RawValue>> =
            serde_json::from_str(raw).map_err(|_| FieldError::new(key, "must be an object"))?;
        if map.is_empty() {
            return Ok(None);
        }
        for name in map.keys() {
            if !FIELDS.contains(&name.as_str()) {
                return Err(FieldError::new(format!("{key}.{name}"), "unknown field"));
            }
        }
        let text = |name: &str, url: bool| -> Result<Option<String>, FieldError> {
            let field = format!("{key}.{name}");
            let Some(v) = map.get(name).filter(|v| v.get().trim() != "null") else { return Ok(None) };
            let s: String = serde_json::from_str(v.get()).map_err(|_| FieldError::new(&field, "must be a string"))?;
            let s = s.trim().to_owned();
            if s.is_empty() {
                return Err(FieldError::new(&field, "must not be empty"));
            }
            if url && !(s.starts_with("https://") || s.starts_with("http://")) {
                return Err(FieldError::new(&field, "must be an http(s) URL"));
            }
            Ok(Some(s))
        };
        let cfg = OAuthConfig {
            client_id: text("client_id", false)?
                .ok_or_else(|| FieldError::new(format!("{key}.client_id"), "is required"))?,
            client_secret: text("client_secret", false)?,
            discovery_url: text("discovery_url", true)?,
            authorize_url: text("authorize_url", true)?,
            token_url: text("token_url", true)?,
            userinfo_url: text("userinfo_url", true)?,
            scopes: text("scopes", false)?,
            redirect_url: text("redirect_url", true)?,
        };
        if source == AuthSource::Oidc
            && cfg.discovery_url.is_none()
            && (cfg.authorize_url.is_none() || cfg.token_url.is_none() || cfg.userinfo_url.is_none())
        {
            return Err(FieldError::new(
                format!("{key}.discovery_url"),
                "is required unless authorize_url, token_url and userinfo_url are all given",
            ));
        }
        Ok(Some(cfg))
    }

    /// The stored form (secret included).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The form shown to admins: the secret replaced by `client_secret_set`.
    pub fn to_masked_json(&self) -> String {
        #[derive(Serialize)]
        struct Masked<'a> {
            #[serde(flatten)]
            cfg: &'a OAuthConfig,
            client_secret_set: bool,
        }
        let cfg = OAuthConfig { client_secret: None, ..self.clone() };
        serde_json::to_string(&Masked { cfg: &cfg, client_secret_set: self.client_secret.is_some() })
            .unwrap_or_else(|_| "{}".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_masks_and_names_fields() {
        let raw = r#"{"client_id":"id","client_secret":"s3cret","token_url":"http://127.0.0.1:9/t"}"#;
        let cfg = OAuthConfig::parse("oauth_github", AuthSource::GitHub, raw).unwrap().unwrap();
        assert_eq!(cfg.client_secret.as_deref(), Some("s3cret"));
        assert!(!cfg.to_masked_json().contains("s3cret"));
        assert!(cfg.to_masked_json().contains(r#""client_secret_set":true"#));
        assert!(!format!("{cfg:?}").contains("s3cret"));
        assert_eq!(OAuthConfig::parse("k", AuthSource::GitHub, "{}").unwrap(), None);
        let cases = [
            (r#"{"client_secret":"x"}"#, AuthSource::GitHub, "k.client_id"),
            (r#"{"client_id":5}"#, AuthSource::GitHub, "k.client_id"),
            (r#"{"client_id":"a","token_url":"ftp://x"}"#, AuthSource::GitHub, "k.token_url"),
            (r#"{"client_id":"a","colour":"x"}"#, AuthSource::GitHub, "k.colour"),
            (r#"{"client_id":"a"}"#, AuthSource::Oidc, "k.discovery_url"),
            (r#"[]"#, AuthSource::Oidc, "k"),
        ];
        for (raw, src, field) in cases {
            assert_eq!(OAuthConfig::parse("k", src, raw).unwrap_err().field, field, "{raw}");
        }
        assert_eq!(source_of_key("oauth_dingtalk"), Some(AuthSource::DingTalk));
        assert_eq!(source_of_key("oauth_email"), None);
        assert_eq!(sources().count(), 6);
    }
}
