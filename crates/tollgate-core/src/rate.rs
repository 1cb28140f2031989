//! Rate limits (docs/rate-limits.md): requests per minute, tokens per minute and concurrent requests,
//! per platform, for a user or an API key. The settings layer holds the defaults (system, then one
//! per auth source, patched field by field like the quota defaults); a user's or a key's own
//! override replaces the default of its platform whole.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::FieldError;
use crate::platform::{AuthSource, Platform};

/// The largest limit accepted (a billion per minute is unlimited in practice).
pub const MAX_LIMIT: u64 = 1_000_000_000;

/// The three limits of one platform. `None`: unlimited (or, in a defaults layer, inherited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RateLimit {
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub concurrency: Option<u64>,
}

impl RateLimit {
    pub const fn is_unlimited(&self) -> bool {
        self.rpm.is_none() && self.tpm.is_none() && self.concurrency.is_none()
    }

    pub const fn get(&self, kind: RateKind) -> Option<u64> {
        match kind {
            RateKind::Rpm => self.rpm,
            RateKind::Tpm => self.tpm,
            RateKind::Concurrency => self.concurrency,
        }
    }

    fn set(&mut self, kind: RateKind, v: Option<u64>) {
        match kind {
            RateKind::Rpm => self.rpm = v,
            RateKind::Tpm => self.tpm = v,
            RateKind::Concurrency => self.concurrency = v,
        }
    }

    /// This limit patched by `o` field by field: a number in `o` wins, a null inherits.
    pub fn patched_by(&self, o: &RateLimit) -> RateLimit {
        let mut out = *self;
        for k in RateKind::ALL {
            if let Some(v) = o.get(k) {
                out.set(k, Some(v));
            }
        }
        out
    }

    /// The first field on which `self` is looser than `than` (no limit is looser than any), if any.
    pub fn loosened_field(&self, than: &RateLimit) -> Option<RateKind> {
        RateKind::ALL.into_iter().find(|k| match (self.get(*k), than.get(*k)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(a), Some(b)) => a > b,
        })
    }

    /// Parses `{"rpm","tpm","concurrency"}` (each a whole number >= 1 or null; absent = null) at
    /// `path`. `null` for the whole object means all unlimited.
    pub fn parse(path: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.trim() == "null" {
            return Ok(Self::default());
        }
        let fields: BTreeMap<String, Box<RawValue>> = serde_json::from_str(raw)
            .map_err(|_| FieldError::new(path, "must be an object with rpm, tpm and concurrency"))?;
        let mut out = Self::default();
        for (name, value) in fields {
            let field = format!("{path}.{name}");
            let kind: RateKind = name.parse().map_err(|e: String| FieldError::new(&field, e))?;
            out.set(kind, parse_limit(&field, value.get())?);
        }
        Ok(out)
    }
}

/// One limit value: null, or a whole number from 1 to [`MAX_LIMIT`].
pub fn parse_limit(field: &str, raw: &str) -> Result<Option<u64>, FieldError> {
    let raw = raw.trim();
    if raw == "null" {
        return Ok(None);
    }
    match raw.parse::<u64>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(Some(n)),
        _ => Err(FieldError::new(field, format!("must be a whole number from 1 to {MAX_LIMIT}, or null (got {raw})"))),
    }
}

/// Which of the three limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateKind {
    Rpm,
    Tpm,
    Concurrency,
}

impl RateKind {
    pub const ALL: [RateKind; 3] = [RateKind::Rpm, RateKind::Tpm, RateKind::Concurrency];

    pub const fn as_str(self) -> &'static str {
        match self {
            RateKind::Rpm => "rpm",
            RateKind::Tpm => "tpm",
            RateKind::Concurrency => "concurrency",
        }
    }
}

impl fmt::Display for RateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RateKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        RateKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown rate limit {s:?} (expected rpm, tpm, concurrency)"))
    }
}

/// Whose limit: a user's or an API key's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateSubject {
    User,
    Key,
}

impl RateSubject {
    pub const fn as_str(self) -> &'static str {
        match self {
            RateSubject::User => "user",
            RateSubject::Key => "key",
        }
    }
}

impl std::str::FromStr for RateSubject {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "user" => Ok(RateSubject::User),
            "key" => Ok(RateSubject::Key),
            _ => Err(format!("unknown rate limit subject {s:?}")),
        }
    }
}

/// A platform → limits map, as stored in one settings key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlatformRateLimits(pub BTreeMap<Platform, RateLimit>);

impl PlatformRateLimits {
    /// Parses one settings value, naming the field path under `key` of any error.
    pub fn parse(key: &str, raw: &str) -> Result<Self, FieldError> {
        let top: BTreeMap<String, Box<RawValue>> =
            serde_json::from_str(raw).map_err(|_| FieldError::new(key, "must be an object of platforms"))?;
        let mut out = BTreeMap::new();
        for (name, value) in top {
            let path = format!("{key}.{name}");
            let platform: Platform = name.parse().map_err(|e| FieldError::new(&path, e))?;
            out.insert(platform, RateLimit::parse(&path, value.get())?);
        }
        Ok(Self(out))
    }

    /// The canonical JSON text: every listed platform with its three fields.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }

    pub fn get(&self, p: Platform) -> RateLimit {
        self.0.get(&p).copied().unwrap_or_default()
    }

    /// This layer patched by `overrides` field by field.
    pub fn patched_by(&self, overrides: &PlatformRateLimits) -> PlatformRateLimits {
        let mut out = self.0.clone();
        for (p, o) in &overrides.0 {
            let e = out.entry(*p).or_default();
            *e = e.patched_by(o);
        }
        PlatformRateLimits(out)
    }

    /// Whether any platform has a limit.
    pub fn any(&self) -> bool {
        self.0.values().any(|l| !l.is_unlimited())
    }
}

/// The system default key.
pub const DEFAULT_RATE_LIMITS: &str = "default_rate_limits";

/// The auth source's default key (`auth_source_default_<source>_rate_limits`).
pub fn source_key(source: AuthSource) -> String {
    format!("auth_source_default_{}_rate_limits", source.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_the_field() {
        let l = PlatformRateLimits::parse("k", r#"{"anthropic":{"rpm":60,"tpm":null},"openai":null}"#).unwrap();
        assert_eq!(l.get(Platform::Anthropic), RateLimit { rpm: Some(60), tpm: None, concurrency: None });
        assert!(l.get(Platform::OpenAi).is_unlimited());
        assert_eq!(
            l.to_json(),
            r#"{"anthropic":{"rpm":60,"tpm":null,"concurrency":null},"openai":{"rpm":null,"tpm":null,"concurrency":null}}"#
        );
        for (raw, field) in [
            (r#"{"anthropic":{"rpm":0}}"#, "k.anthropic.rpm"),
            (r#"{"anthropic":{"rpm":1.5}}"#, "k.anthropic.rpm"),
            (r#"{"anthropic":{"tpm":-3}}"#, "k.anthropic.tpm"),
            (r#"{"anthropic":{"concurrency":"2"}}"#, "k.anthropic.concurrency"),
            (r#"{"anthropic":{"rpm":1000000001}}"#, "k.anthropic.rpm"),
            (r#"{"anthropic":{"rph":1}}"#, "k.anthropic.rph"),
            (r#"{"bedrock":{}}"#, "k.bedrock"),
            (r#"{"gemini":7}"#, "k.gemini"),
            ("[]", "k"),
        ] {
            assert_eq!(PlatformRateLimits::parse("k", raw).unwrap_err().field, field, "{raw}");
        }
    }

    #[test]
    fn layers_patch_field_by_field() {
        let sys = PlatformRateLimits::parse("", r#"{"openai":{"rpm":10,"tpm":1000}}"#).unwrap();
        let src = PlatformRateLimits::parse("", r#"{"openai":{"rpm":20},"gemini":{"concurrency":2}}"#).unwrap();
        let l = sys.patched_by(&src);
        assert_eq!(l.get(Platform::OpenAi), RateLimit { rpm: Some(20), tpm: Some(1000), concurrency: None });
        assert_eq!(l.get(Platform::Gemini).concurrency, Some(2));
    }

    #[test]
    fn tighter() {
        let cur = RateLimit { rpm: Some(10), tpm: None, concurrency: Some(2) };
        assert_eq!(RateLimit { rpm: Some(5), tpm: Some(9), concurrency: Some(2) }.loosened_field(&cur), None);
        assert_eq!(RateLimit { rpm: Some(11), ..cur }.loosened_field(&cur), Some(RateKind::Rpm));
        assert_eq!(RateLimit { concurrency: None, ..cur }.loosened_field(&cur), Some(RateKind::Concurrency));
    }
}
