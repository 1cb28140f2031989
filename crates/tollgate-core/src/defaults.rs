//! Default quotas (SPEC 1.3): the system layer, auth-source overrides, and the snapshot copied into a
//! new user's rows at signup.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::error::FieldError;
use crate::money::Money;
use crate::platform::Platform;
use crate::quota::{LimitValue, WindowLimits};
use crate::window::QuotaWindow;

/// A platform → window limits map, as stored in one settings key. A missing platform or field is null.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlatformQuotas(pub BTreeMap<Platform, WindowLimits>);

impl PlatformQuotas {
    /// Parses the JSON text of one settings value, naming the field path (under `key`) of any error:
    /// an unknown platform or window, a negative, non-numeric or too precise amount.
    pub fn parse(key: &str, raw: &str) -> Result<Self, FieldError> {
        let top: BTreeMap<String, Box<RawValue>> =
            serde_json::from_str(raw).map_err(|_| FieldError::new(key, "must be an object of platforms"))?;
        let mut out = BTreeMap::new();
        for (name, value) in top {
            let path = format!("{key}.{name}");
            let platform: Platform = name.parse().map_err(|e| FieldError::new(&path, e))?;
            out.insert(platform, parse_window_limits(&path, value.get())?);
        }
        Ok(Self(out))
    }

    /// The canonical JSON text: every listed platform with all four windows.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }

    pub fn get(&self, p: Platform) -> WindowLimits {
        self.0.get(&p).copied().unwrap_or_default()
    }

    /// This layer patched by `overrides` field by field: a value in `overrides` (a number, 0
    /// included) wins; a null inherits.
    pub fn patched_by(&self, overrides: &PlatformQuotas) -> PlatformQuotas {
        let mut out = self.0.clone();
        for (platform, o) in &overrides.0 {
            let entry = out.entry(*platform).or_default();
            for w in QuotaWindow::ALL {
                if let Some(v) = o.get(w) {
                    entry.set(w, Some(v));
                }
            }
        }
        PlatformQuotas(out)
    }

    /// The rows a new user starts with: only platforms with at least one non-null limit.
    pub fn snapshot(&self) -> Vec<(Platform, WindowLimits)> {
        self.0.iter().filter(|(_, l)| !l.is_all_unlimited()).map(|(p, l)| (*p, *l)).collect()
    }
}

/// `{"five_hour","daily","weekly","monthly"}` (any of them) with each value null or an amount; `null` for the whole object
/// means all unlimited.
pub fn parse_window_limits(path: &str, raw: &str) -> Result<WindowLimits, FieldError> {
    if raw.trim() == "null" {
        return Ok(WindowLimits::default());
    }
    let fields: BTreeMap<String, Box<RawValue>> = serde_json::from_str(raw)
        .map_err(|_| FieldError::new(path, "must be an object with five_hour, daily, weekly and monthly"))?;
    let mut limits = WindowLimits::default();
    for (name, value) in fields {
        let field = format!("{path}.{name}");
        let w: QuotaWindow = name.parse().map_err(|e| FieldError::new(&field, e))?;
        limits.set(w, parse_limit(&field, value.get())?);
    }
    Ok(limits)
}

/// One limit: `null`, or a non-negative amount with at most 9 decimals.
pub fn parse_limit(field: &str, raw: &str) -> Result<LimitValue, FieldError> {
    if raw.trim() == "null" {
        return Ok(None);
    }
    Money::from_json_raw(raw).map(Some).map_err(|e| FieldError::new(field, format!("{e} (got {})", raw.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(s: &str) -> Option<Money> {
        Some(Money::parse(s).unwrap())
    }

    #[test]
    fn parses_and_reports_paths() {
        let q = PlatformQuotas::parse(
            "k",
            r#"{"anthropic":{"daily":10.1,"weekly":50,"monthly":null},"openai":{"daily":0},"gemini":null}"#,
        )
        .unwrap();
        assert_eq!(
            q.get(Platform::Anthropic),
            WindowLimits { five_hour: None, daily: usd("10.1"), weekly: usd("50"), monthly: None }
        );
        assert_eq!(q.get(Platform::OpenAi).daily, usd("0"));
        assert_eq!(q.get(Platform::Antigravity), WindowLimits::default());
        assert_eq!(
            q.to_json(),
            r#"{"anthropic":{"five_hour":null,"daily":10.1,"weekly":50,"monthly":null},"openai":{"five_hour":null,"daily":0,"weekly":null,"monthly":null},"gemini":{"five_hour":null,"daily":null,"weekly":null,"monthly":null}}"#
        );
        let cases = [
            (r#"{"bedrock":{}}"#, "k.bedrock"),
            (r#"{"openai":{"hourly":1}}"#, "k.openai.hourly"),
            (r#"{"openai":{"daily":-1}}"#, "k.openai.daily"),
            (r#"{"openai":{"daily":"5"}}"#, "k.openai.daily"),
            (r#"{"openai":{"daily":true}}"#, "k.openai.daily"),
            (r#"{"openai":{"daily":1e400}}"#, "k.openai.daily"),
            (r#"{"openai":{"daily":0.0000000001}}"#, "k.openai.daily"),
            (r#"{"openai":[1]}"#, "k.openai"),
            (r#"{"openai":5}"#, "k.openai"),
            (r#"[1]"#, "k"),
            (r#"nope"#, "k"),
        ];
        for (raw, field) in cases {
            assert_eq!(PlatformQuotas::parse("k", raw).unwrap_err().field, field, "{raw}");
        }
    }

    #[test]
    fn source_layer_overrides_field_by_field() {
        let system =
            PlatformQuotas::parse("s", r#"{"anthropic":{"daily":10,"weekly":50},"openai":{"daily":5}}"#).unwrap();
        let github = PlatformQuotas::parse(
            "g",
            r#"{"anthropic":{"daily":0,"weekly":null},"gemini":{"monthly":3},"openai":null}"#,
        )
        .unwrap();
        let merged = system.patched_by(&github);
        assert_eq!(
            merged.get(Platform::Anthropic),
            WindowLimits { five_hour: None, daily: usd("0"), weekly: usd("50"), monthly: None }
        );
        assert_eq!(merged.get(Platform::OpenAi).daily, usd("5"));
        assert_eq!(merged.get(Platform::Gemini).monthly, usd("3"));
        let snap = merged.snapshot();
        assert_eq!(
            snap.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            [Platform::Anthropic, Platform::OpenAi, Platform::Gemini]
        );
        // A platform with only nulls gets no row.
        let empty = PlatformQuotas::parse("s", r#"{"antigravity":{"daily":null}}"#).unwrap();
        assert!(empty.snapshot().is_empty());
    }
}
