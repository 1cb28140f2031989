//! Threshold alerts (docs/alerts.md): the three settings (`alert_thresholds`, `alert_webhook`,
//! `alert_email`), the "reached" rule, and the text of an alert in each language.
//!
//! Secrets (the webhook's signing secret, the SMTP password) are write-only like OAuth client
//! secrets: reads show `secret_set` / `password_set`, and a write without them keeps the stored one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::FieldError;
use crate::money::Money;

pub const DEFAULT_THRESHOLDS: [i64; 2] = [80, 100];

/// Whether `usage` has reached `threshold` percent of `cap`: `usage * 100 >= threshold * cap`, in
/// integer nano-USD (no float, no rounding).
pub fn reached(usage: Money, cap: Money, threshold: i64) -> bool {
    i128::from(usage.nanos()) * 100 >= i128::from(threshold) * i128::from(cap.nanos())
}

/// `alert_thresholds`: an array of whole percentages 1..=100, stored sorted without duplicates.
pub fn parse_thresholds(key: &str, raw: &str) -> Result<Vec<i64>, FieldError> {
    let items: Vec<Box<RawValue>> =
        serde_json::from_str(raw).map_err(|_| FieldError::new(key, "must be an array of whole percentages"))?;
    if items.len() > 10 {
        return Err(FieldError::new(key, "at most 10 thresholds"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let n: i64 = serde_json::from_str(item.get())
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| FieldError::new(format!("{key}[{i}]"), "must be a whole number from 1 to 100"))?;
        out.push(n);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Reads a JSON object's fields, refusing unknown ones; `Ok(None)` for `{}` or `null`.
fn object(key: &str, raw: &str, fields: &[&str]) -> Result<Option<BTreeMap<String, Box<RawValue>>>, FieldError> {
    if raw.trim() == "null" {
        return Ok(None);
    }
    let map: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(raw).map_err(|_| FieldError::new(key, "must be an object"))?;
    if map.is_empty() {
        return Ok(None);
    }
    if let Some(name) = map.keys().find(|n| !fields.contains(&n.as_str())) {
        return Err(FieldError::new(format!("{key}.{name}"), "unknown field"));
    }
    Ok(Some(map))
}

fn text(key: &str, map: &BTreeMap<String, Box<RawValue>>, name: &str) -> Result<Option<String>, FieldError> {
    let field = format!("{key}.{name}");
    let Some(v) = map.get(name).filter(|v| v.get().trim() != "null") else { return Ok(None) };
    let s: String = serde_json::from_str(v.get()).map_err(|_| FieldError::new(&field, "must be a string"))?;
    let s = s.trim().to_owned();
    if s.is_empty() {
        return Err(FieldError::new(&field, "must not be empty"));
    }
    Ok(Some(s))
}

fn required(key: &str, name: &str, v: Option<String>) -> Result<String, FieldError> {
    v.ok_or_else(|| FieldError::new(format!("{key}.{name}"), "is required"))
}

/// `alert_webhook`: where alerts are POSTed, and the HMAC-SHA256 signing secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertWebhook {
    pub url: String,
    /// Absent on input: keep the stored secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl std::fmt::Debug for AlertWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertWebhook").field("url", &self.url).finish_non_exhaustive()
    }
}

impl AlertWebhook {
    /// `Ok(None)` for `{}` or `null` (not configured).
    pub fn parse(key: &str, raw: &str) -> Result<Option<Self>, FieldError> {
        let Some(map) = object(key, raw, &["url", "secret", "secret_set"])? else { return Ok(None) };
        let url = required(key, "url", text(key, &map, "url")?)?;
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(FieldError::new(format!("{key}.url"), "must be an http(s) URL"));
        }
        Ok(Some(Self { url, secret: text(key, &map, "secret")? }))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The form shown to admins: `secret` replaced by `secret_set`.
    pub fn to_masked_json(&self) -> String {
        serde_json::json!({"url": self.url, "secret_set": self.secret.is_some()}).to_string()
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (a local relay; tests).
    None,
    /// Plain, upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// `alert_email`: the SMTP relay alerts are sent through.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEmail {
    pub smtp_host: String,
    pub smtp_port: u16,
    pub tls: SmtpTls,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Absent on input: keep the stored password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub from: String,
    /// Also send each alert to every active admin.
    #[serde(default)]
    pub notify_admins: bool,
}

impl std::fmt::Debug for AlertEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertEmail")
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl AlertEmail {
    /// `Ok(None)` for `{}` or `null` (not configured).
    pub fn parse(key: &str, raw: &str) -> Result<Option<Self>, FieldError> {
        let fields = ["smtp_host", "smtp_port", "tls", "username", "password", "password_set", "from", "notify_admins"];
        let Some(map) = object(key, raw, &fields)? else { return Ok(None) };
        let smtp_host = required(key, "smtp_host", text(key, &map, "smtp_host")?)?;
        let port_field = format!("{key}.smtp_port");
        let smtp_port = match map.get("smtp_port") {
            None => return Err(FieldError::new(port_field, "is required")),
            Some(v) => serde_json::from_str::<u16>(v.get())
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| FieldError::new(&port_field, "must be a port number 1..65535"))?,
        };
        let tls = match text(key, &map, "tls")?.as_deref() {
            None => return Err(FieldError::new(format!("{key}.tls"), "is required")),
            Some("none") => SmtpTls::None,
            Some("starttls") => SmtpTls::Starttls,
            Some("tls") => SmtpTls::Tls,
            Some(other) => {
                return Err(FieldError::new(
                    format!("{key}.tls"),
                    format!("must be \"none\", \"starttls\" or \"tls\" (got {other:?})"),
                ));
            }
        };
        let from = required(key, "from", text(key, &map, "from")?)?;
        if !from.contains('@') {
            return Err(FieldError::new(format!("{key}.from"), "must be an email address"));
        }
        let notify_admins = match map.get("notify_admins").map(|v| v.get().trim()) {
            None | Some("null") | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(FieldError::new(format!("{key}.notify_admins"), "must be true or false")),
        };
        Ok(Some(Self {
            smtp_host,
            smtp_port,
            tls,
            username: text(key, &map, "username")?,
            password: text(key, &map, "password")?,
            from,
            notify_admins,
        }))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The form shown to admins: `password` replaced by `password_set`.
    pub fn to_masked_json(&self) -> String {
        let mut v = serde_json::to_value(Self { password: None, ..self.clone() }).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("password_set".into(), self.password.is_some().into());
        }
        v.to_string()
    }
}

/// The words of an alert, in `en` or `zh` (anything else reads as `en`).
pub struct AlertText {
    pub subject: String,
    pub body: String,
}

/// The subject and body of an alert email. Amounts are exact decimal USD.
pub fn alert_text(
    language: &str,
    platform: &str,
    window: &str,
    threshold: i64,
    usage: Money,
    limit: Money,
    resets_at: &str,
) -> AlertText {
    if language == "zh" {
        let window = match window {
            "daily" => "每日",
            "weekly" => "每周",
            "monthly" => "每月",
            "five_hour" => "5 小时",
            other => other,
        };
        AlertText {
            subject: format!("[Tollgate] {platform} {window}额度已用 {threshold}%"),
            body: format!(
                "您在 {platform} 的{window}额度已使用 {threshold}%：已用 ${usage}，上限 ${limit}。\n\
                 额度将于 {resets_at} 重置。\n"
            ),
        }
    } else {
        let window = match window {
            "five_hour" => "5-hour",
            other => other,
        };
        AlertText {
            subject: format!("[Tollgate] {threshold}% of your {window} {platform} quota used"),
            body: format!(
                "You have used {threshold}% of your {window} {platform} quota: ${usage} of ${limit}.\n\
                 The quota resets at {resets_at}.\n"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reached_is_exact() {
        let cap = Money::parse("0.03").unwrap();
        assert!(!reached(Money::parse("0.023999999").unwrap(), cap, 80));
        assert!(reached(Money::parse("0.024").unwrap(), cap, 80));
        assert!(reached(Money::parse("0.03").unwrap(), cap, 100));
        assert!(!reached(Money::parse("0.029999999").unwrap(), cap, 100));
        assert!(reached(Money::MAX, Money::MAX, 100));
    }

    #[test]
    fn settings_validate_with_field_paths() {
        assert_eq!(parse_thresholds("t", "[100, 80, 80]").unwrap(), vec![80, 100]);
        assert_eq!(parse_thresholds("t", "[80, 0]").unwrap_err().field, "t[1]");
        assert_eq!(parse_thresholds("t", "[80.5]").unwrap_err().field, "t[0]");
        assert_eq!(parse_thresholds("t", "{}").unwrap_err().field, "t");
        let hook = AlertWebhook::parse("w", r#"{"url":"http://127.0.0.1:1/h","secret":"s3"}"#).unwrap().unwrap();
        assert!(!hook.to_masked_json().contains("s3"));
        assert!(!format!("{hook:?}").contains("s3"));
        assert_eq!(AlertWebhook::parse("w", "{}").unwrap(), None);
        assert_eq!(AlertWebhook::parse("w", r#"{"url":"ftp://x"}"#).unwrap_err().field, "w.url");
        let raw = r#"{"smtp_host":"h","smtp_port":25,"tls":"none","from":"a@b","password":"pw"}"#;
        let mail = AlertEmail::parse("e", raw).unwrap().unwrap();
        assert!(!mail.to_masked_json().contains("pw") && mail.to_masked_json().contains(r#""password_set":true"#));
        assert_eq!(AlertEmail::parse("e", &mail.to_masked_json()).unwrap().unwrap().password, None);
        let bad = [
            (r#"{"smtp_host":"h","smtp_port":0,"tls":"none","from":"a@b"}"#, "e.smtp_port"),
            (r#"{"smtp_host":"h","smtp_port":25,"tls":"ssl","from":"a@b"}"#, "e.tls"),
            (r#"{"smtp_host":"h","smtp_port":25,"tls":"none","from":"ab"}"#, "e.from"),
            (r#"{"smtp_port":25,"tls":"none","from":"a@b"}"#, "e.smtp_host"),
            (r#"{"smtp_host":"h","smtp_port":25,"tls":"none","from":"a@b","x":1}"#, "e.x"),
        ];
        for (raw, field) in bad {
            assert_eq!(AlertEmail::parse("e", raw).unwrap_err().field, field, "{raw}");
        }
    }

    #[test]
    fn text_in_both_languages() {
        let t = alert_text(
            "zh",
            "anthropic",
            "daily",
            80,
            Money::parse("0.024").unwrap(),
            Money::parse("0.03").unwrap(),
            "x",
        );
        assert!(t.subject.contains("每日") && t.body.contains("$0.024"));
        let t = alert_text(
            "en",
            "anthropic",
            "daily",
            80,
            Money::parse("0.024").unwrap(),
            Money::parse("0.03").unwrap(),
            "x",
        );
        assert!(t.subject.contains("80% of your daily anthropic quota"));
    }
}
