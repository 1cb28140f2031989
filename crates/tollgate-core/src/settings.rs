//! The settings registry: which keys exist, how each value is validated, and the typed view of them.
//!
//! Values are JSON text, stored per key and replaced whole. A change is validated key by key before
//! anything is written ([`validate_changes`]), so one bad key leaves every key as it was.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use serde_json::value::RawValue;

use crate::alerts::{self, AlertEmail, AlertWebhook};
use crate::defaults::PlatformQuotas;
use crate::error::FieldError;
use crate::oauth::{self, OAuthConfig};
use crate::platform::AuthSource;
use crate::rate::{self, DEFAULT_RATE_LIMITS, PlatformRateLimits};
use crate::window::{MonthlyMode, WindowClock};

pub const DEFAULT_PLATFORM_QUOTAS: &str = "default_platform_quotas";
pub const QUOTA_TIMEZONE: &str = "quota_timezone";
pub const MONTHLY_WINDOW: &str = "monthly_window";
pub const QUOTA_ENFORCEMENT: &str = "quota_enforcement";
pub const REGISTRATION_ENABLED: &str = "registration_enabled";
pub const UNKNOWN_MODEL_PRICING: &str = "unknown_model_pricing";
pub const ALERT_THRESHOLDS: &str = "alert_thresholds";
pub const ALERT_WEBHOOK: &str = "alert_webhook";
pub const ALERT_EMAIL: &str = "alert_email";
pub const REQUEST_LOG_RETENTION_DAYS: &str = "request_log_retention_days";

/// The shortest request-log retention: a settlement journal line is replayed within minutes, and
/// a pruned record must never be one a replay could write again (docs/request-log.md).
pub const MIN_RETENTION_DAYS: i64 = 7;
/// The longest retention that is not "forever" (about ten years).
pub const MAX_RETENTION_DAYS: i64 = 3650;

/// How quotas are enforced (setting `quota_enforcement`, SPEC 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Enforcement {
    /// Check at admission; the request that crosses the cap completes and is charged.
    #[default]
    Soft,
    /// Reserve an upper bound of the cost at admission; spend never exceeds a limit.
    Strict,
}

impl Enforcement {
    pub const fn as_str(self) -> &'static str {
        match self {
            Enforcement::Soft => "soft",
            Enforcement::Strict => "strict",
        }
    }
}

/// The kind of value a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    PlatformQuotas,
    RateLimits,
    TimeZone,
    MonthlyWindow,
    Enforcement,
    UnknownModels,
    Bool,
    OAuth(AuthSource),
    AlertThresholds,
    AlertWebhook,
    AlertEmail,
    RetentionDays,
}

/// Every known key with its kind, in display order.
fn registry() -> Vec<(String, Kind)> {
    let mut keys = vec![(DEFAULT_PLATFORM_QUOTAS.to_owned(), Kind::PlatformQuotas)];
    keys.extend(AuthSource::ALL.iter().map(|s| (s.defaults_key(), Kind::PlatformQuotas)));
    keys.push((DEFAULT_RATE_LIMITS.to_owned(), Kind::RateLimits));
    keys.extend(AuthSource::ALL.iter().map(|s| (rate::source_key(*s), Kind::RateLimits)));
    keys.extend([
        (QUOTA_TIMEZONE.to_owned(), Kind::TimeZone),
        (MONTHLY_WINDOW.to_owned(), Kind::MonthlyWindow),
        (QUOTA_ENFORCEMENT.to_owned(), Kind::Enforcement),
        (REGISTRATION_ENABLED.to_owned(), Kind::Bool),
        (UNKNOWN_MODEL_PRICING.to_owned(), Kind::UnknownModels),
        (ALERT_THRESHOLDS.to_owned(), Kind::AlertThresholds),
        (ALERT_WEBHOOK.to_owned(), Kind::AlertWebhook),
        (ALERT_EMAIL.to_owned(), Kind::AlertEmail),
        (REQUEST_LOG_RETENTION_DAYS.to_owned(), Kind::RetentionDays),
    ]);
    keys.extend(oauth::sources().map(|s| (oauth::key(s), Kind::OAuth(s))));
    keys
}

/// The names of every settings key.
pub fn keys() -> Vec<String> {
    registry().into_iter().map(|(k, _)| k).collect()
}

fn kind_of(key: &str) -> Option<Kind> {
    registry().into_iter().find(|(k, _)| k == key).map(|(_, kind)| kind)
}

fn parse_string(key: &str, raw: &str) -> Result<String, FieldError> {
    serde_json::from_str::<String>(raw).map_err(|_| FieldError::new(key, "must be a string"))
}

/// Validates one value and returns its canonical JSON text.
pub fn validate(key: &str, raw: &str) -> Result<String, FieldError> {
    let Some(kind) = kind_of(key) else {
        return Err(FieldError::new(key, "unknown setting"));
    };
    match kind {
        Kind::PlatformQuotas => Ok(PlatformQuotas::parse(key, raw)?.to_json()),
        Kind::RateLimits => Ok(PlatformRateLimits::parse(key, raw)?.to_json()),
        Kind::TimeZone => {
            let name = parse_string(key, raw)?;
            TimeZone::get(&name)
                .map_err(|_| FieldError::new(key, format!("{name:?} is not an IANA time zone name")))?;
            Ok(serde_json::Value::String(name).to_string())
        }
        Kind::MonthlyWindow => {
            let s = parse_string(key, raw)?;
            s.parse::<MonthlyMode>().map_err(|e| FieldError::new(key, e))?;
            Ok(serde_json::Value::String(s).to_string())
        }
        Kind::Enforcement => {
            let s = parse_string(key, raw)?;
            match s.as_str() {
                "soft" | "strict" => Ok(serde_json::Value::String(s).to_string()),
                _ => Err(FieldError::new(key, format!("must be \"soft\" or \"strict\" (got {s:?})"))),
            }
        }
        Kind::UnknownModels => {
            let s = parse_string(key, raw)?;
            match s.as_str() {
                "fallback" | "reject" => Ok(serde_json::Value::String(s).to_string()),
                _ => Err(FieldError::new(key, format!("must be \"fallback\" or \"reject\" (got {s:?})"))),
            }
        }
        Kind::Bool => match raw.trim() {
            "true" | "false" => Ok(raw.trim().to_owned()),
            _ => Err(FieldError::new(key, "must be true or false")),
        },
        Kind::OAuth(source) => {
            Ok(OAuthConfig::parse(key, source, raw)?.map(|c| c.to_json()).unwrap_or_else(|| "{}".to_owned()))
        }
        Kind::AlertThresholds => Ok(serde_json::json!(alerts::parse_thresholds(key, raw)?).to_string()),
        Kind::AlertWebhook => {
            Ok(AlertWebhook::parse(key, raw)?.map(|c| c.to_json()).unwrap_or_else(|| "{}".to_owned()))
        }
        Kind::AlertEmail => Ok(AlertEmail::parse(key, raw)?.map(|c| c.to_json()).unwrap_or_else(|| "{}".to_owned())),
        Kind::RetentionDays => Ok(parse_retention(key, raw)?.map_or_else(|| "null".to_owned(), |d| d.to_string())),
    }
}

/// `request_log_retention_days`: `null` (kept forever, the default), or whole days in
/// [`MIN_RETENTION_DAYS`]..=[`MAX_RETENTION_DAYS`]. `0` also means forever: a PUT leaves keys
/// sent as null unchanged, so 0 is how an admin goes back to keeping everything.
fn parse_retention(key: &str, raw: &str) -> Result<Option<i64>, FieldError> {
    let value: Option<serde_json::Value> =
        serde_json::from_str(raw).map_err(|_| FieldError::new(key, "must be null or a whole number of days"))?;
    let Some(value) = value else { return Ok(None) };
    match value.as_i64() {
        Some(0) => Ok(None),
        Some(d) if (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&d) => Ok(Some(d)),
        _ => Err(FieldError::new(
            key,
            format!("must be 0 or null (keep forever) or whole days from {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS}"),
        )),
    }
}

/// Validates a `PUT /admin/settings` body: a JSON object of key → value. Keys whose value is null
/// are left as they are. Returns the canonical values to store, or the first error; nothing is
/// stored by this function, so a caller that stores the result in one transaction is all-or-nothing.
pub fn validate_changes(body: &str) -> Result<Vec<(String, String)>, FieldError> {
    let map: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(body).map_err(|e| FieldError::new("", format!("body must be a JSON object: {e}")))?;
    let mut out = Vec::new();
    for (key, value) in &map {
        if value.get().trim() == "null" {
            continue;
        }
        out.push((key.clone(), validate(key, value.get())?));
    }
    Ok(out)
}

/// The typed settings in force. Built from stored text; a stored value that no longer validates
/// (written by a newer version, or by hand) falls back to the default for that key.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub system_quotas: PlatformQuotas,
    pub source_quotas: BTreeMap<AuthSource, PlatformQuotas>,
    /// Rate limit defaults (docs/rate-limits.md): the system layer and the auth-source layers.
    pub system_rate_limits: PlatformRateLimits,
    pub source_rate_limits: BTreeMap<AuthSource, PlatformRateLimits>,
    /// `None`: the server's default zone.
    pub quota_timezone: Option<String>,
    pub monthly_window: MonthlyMode,
    pub enforcement: Enforcement,
    pub registration_enabled: bool,
    /// A model with no price of its own: refused (400) instead of priced at the platform's fallback.
    pub reject_unknown_models: bool,
    /// Configured OAuth clients; a source is offered for login only when present here.
    pub oauth: BTreeMap<AuthSource, OAuthConfig>,
    /// Percentages of a capped window at which an alert is sent (docs/alerts.md); empty: none.
    pub alert_thresholds: Vec<i64>,
    /// Where alerts are POSTed; only with a secret (the body is signed with it).
    pub alert_webhook: Option<AlertWebhook>,
    /// The SMTP relay alert emails go through.
    pub alert_email: Option<AlertEmail>,
    /// Days the request log keeps (`None`: forever); older rows are pruned in the background.
    pub request_log_retention_days: Option<i64>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            system_quotas: PlatformQuotas::default(),
            source_quotas: BTreeMap::new(),
            system_rate_limits: PlatformRateLimits::default(),
            source_rate_limits: BTreeMap::new(),
            quota_timezone: None,
            monthly_window: MonthlyMode::Calendar,
            enforcement: Enforcement::Soft,
            // Closed by default (docs/security.md): a fresh install admits no one until an admin
            // opens signup, so no account exists before the default quotas have been set.
            registration_enabled: false,
            reject_unknown_models: false,
            oauth: BTreeMap::new(),
            alert_thresholds: alerts::DEFAULT_THRESHOLDS.to_vec(),
            alert_webhook: None,
            alert_email: None,
            request_log_retention_days: None,
        }
    }
}

impl Settings {
    /// From stored key → JSON text.
    pub fn from_stored(stored: &BTreeMap<String, String>) -> Self {
        let mut s = Settings::default();
        let get = |k: &str| stored.get(k).map(String::as_str);
        if let Some(q) = get(DEFAULT_PLATFORM_QUOTAS).and_then(|raw| PlatformQuotas::parse("", raw).ok()) {
            s.system_quotas = q;
        }
        for src in AuthSource::ALL {
            let key = src.defaults_key();
            // An empty override layer inherits everything, the same as no layer.
            if let Some(q) = get(&key).and_then(|raw| PlatformQuotas::parse("", raw).ok()).filter(|q| !q.0.is_empty()) {
                s.source_quotas.insert(*src, q);
            }
        }
        if let Some(l) = get(DEFAULT_RATE_LIMITS).and_then(|raw| PlatformRateLimits::parse("", raw).ok()) {
            s.system_rate_limits = l;
        }
        for src in AuthSource::ALL {
            if let Some(l) = get(&rate::source_key(*src))
                .and_then(|raw| PlatformRateLimits::parse("", raw).ok())
                .filter(|l| !l.0.is_empty())
            {
                s.source_rate_limits.insert(*src, l);
            }
        }
        let string = |k: &str| get(k).and_then(|raw| serde_json::from_str::<String>(raw).ok());
        s.quota_timezone = string(QUOTA_TIMEZONE).filter(|z| TimeZone::get(z).is_ok());
        s.monthly_window = string(MONTHLY_WINDOW).and_then(|m| m.parse().ok()).unwrap_or_default();
        s.enforcement = match string(QUOTA_ENFORCEMENT).as_deref() {
            Some("strict") => Enforcement::Strict,
            _ => Enforcement::Soft,
        };
        s.registration_enabled = get(REGISTRATION_ENABLED).map(str::trim) == Some("true");
        s.reject_unknown_models = string(UNKNOWN_MODEL_PRICING).as_deref() == Some("reject");
        for src in oauth::sources() {
            let key = oauth::key(src);
            // A client without a secret cannot log anyone in: treat it as not configured.
            if let Some(cfg) = get(&key)
                .and_then(|raw| OAuthConfig::parse(&key, src, raw).ok().flatten())
                .filter(|c| c.client_secret.is_some())
            {
                s.oauth.insert(src, cfg);
            }
        }
        if let Some(t) = get(ALERT_THRESHOLDS).and_then(|raw| alerts::parse_thresholds("", raw).ok()) {
            s.alert_thresholds = t;
        }
        // A webhook without a secret cannot be signed: treat it as not configured.
        s.alert_webhook = get(ALERT_WEBHOOK)
            .and_then(|raw| AlertWebhook::parse("", raw).ok().flatten())
            .filter(|w| w.secret.is_some());
        s.alert_email = get(ALERT_EMAIL).and_then(|raw| AlertEmail::parse("", raw).ok().flatten());
        s.request_log_retention_days =
            get(REQUEST_LOG_RETENTION_DAYS).and_then(|raw| parse_retention("", raw).ok().flatten());
        s
    }

    /// The defaults a new user from `source` starts with: the system layer patched by the source's.
    pub fn defaults_for(&self, source: AuthSource) -> PlatformQuotas {
        match self.source_quotas.get(&source) {
            Some(o) => self.system_quotas.patched_by(o),
            None => self.system_quotas.clone(),
        }
    }

    /// The rate limit defaults of a user from `source`: the system layer patched by the source's.
    pub fn rate_defaults_for(&self, source: AuthSource) -> PlatformRateLimits {
        match self.source_rate_limits.get(&source) {
            Some(o) => self.system_rate_limits.patched_by(o),
            None => self.system_rate_limits.clone(),
        }
    }

    /// The zone in force: the setting, else `server_default`.
    pub fn zone_name<'a>(&'a self, server_default: &'a str) -> &'a str {
        self.quota_timezone.as_deref().unwrap_or(server_default)
    }

    /// The window clock for these settings.
    pub fn clock(&self, server_default_zone: &TimeZone) -> WindowClock {
        let zone = self
            .quota_timezone
            .as_deref()
            .and_then(|z| TimeZone::get(z).ok())
            .unwrap_or_else(|| server_default_zone.clone());
        WindowClock::new(zone, self.monthly_window)
    }

    /// Every key with its value, as the text of one JSON object (for `GET /admin/settings`). Built
    /// from text, not `serde_json::Value`, so amounts never pass through a float.
    pub fn to_json(&self, server_default_zone: &str) -> String {
        let string = |v: &str| serde_json::Value::String(v.to_owned()).to_string();
        let mut fields = vec![(DEFAULT_PLATFORM_QUOTAS.to_owned(), self.system_quotas.to_json())];
        for src in AuthSource::ALL {
            let v = self.source_quotas.get(src).map(PlatformQuotas::to_json).unwrap_or_else(|| "{}".to_owned());
            fields.push((src.defaults_key(), v));
        }
        fields.push((DEFAULT_RATE_LIMITS.to_owned(), self.system_rate_limits.to_json()));
        for src in AuthSource::ALL {
            let v =
                self.source_rate_limits.get(src).map(PlatformRateLimits::to_json).unwrap_or_else(|| "{}".to_owned());
            fields.push((rate::source_key(*src), v));
        }
        fields.push((QUOTA_TIMEZONE.to_owned(), string(self.zone_name(server_default_zone))));
        fields.push((MONTHLY_WINDOW.to_owned(), string(self.monthly_window.as_str())));
        fields.push((QUOTA_ENFORCEMENT.to_owned(), string(self.enforcement.as_str())));
        fields.push((REGISTRATION_ENABLED.to_owned(), self.registration_enabled.to_string()));
        let unknown = if self.reject_unknown_models { "reject" } else { "fallback" };
        fields.push((UNKNOWN_MODEL_PRICING.to_owned(), string(unknown)));
        for src in oauth::sources() {
            let v = self.oauth.get(&src).map(OAuthConfig::to_masked_json).unwrap_or_else(|| "null".to_owned());
            fields.push((oauth::key(src), v));
        }
        fields.push((ALERT_THRESHOLDS.to_owned(), serde_json::json!(self.alert_thresholds).to_string()));
        let hook = self.alert_webhook.as_ref().map(AlertWebhook::to_masked_json);
        fields.push((ALERT_WEBHOOK.to_owned(), hook.unwrap_or_else(|| "{}".to_owned())));
        let mail = self.alert_email.as_ref().map(AlertEmail::to_masked_json);
        fields.push((ALERT_EMAIL.to_owned(), mail.unwrap_or_else(|| "{}".to_owned())));
        let retention = self.request_log_retention_days.map_or_else(|| "null".to_owned(), |d| d.to_string());
        fields.push((REQUEST_LOG_RETENTION_DAYS.to_owned(), retention));
        let body: Vec<String> = fields.into_iter().map(|(k, v)| format!("{}:{v}", string(&k))).collect();
        format!("{{{}}}", body.join(","))
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
