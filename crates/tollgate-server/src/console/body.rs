//! Request bodies, read as raw JSON text so amounts stay exact and every error names its field.
//!
//! [`JsonObject`] is the extractor: a body that is not a JSON object is rejected with
//! `invalid_input` (never axum's plain-text rejections). Handlers then read fields one by one with
//! typed getters that name the field path (`quotas[1].platform`) in their errors.

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::value::RawValue;
use tollgate_core::defaults::parse_limit;
use tollgate_core::money::Decimal9;
use tollgate_core::quota::LimitValue;

use super::error::ConsoleError;

/// A JSON object's fields as raw text, with the path prefix used in error fields.
#[derive(Debug)]
pub struct Obj {
    prefix: String,
    map: BTreeMap<String, Box<RawValue>>,
}

/// The request body as a JSON object. An empty body reads as `{}`.
#[derive(Debug)]
pub struct JsonObject {
    /// The body text, for validators that take raw JSON (settings).
    pub raw: String,
    pub obj: Obj,
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ConsoleError::invalid("", format!("cannot read the body: {e}")))?;
        let raw = String::from_utf8(bytes.to_vec()).map_err(|_| ConsoleError::invalid("", "body must be UTF-8"))?;
        let text = if raw.trim().is_empty() { "{}" } else { raw.as_str() };
        let obj = Obj::parse("", text)?;
        Ok(JsonObject { raw: text.to_owned(), obj })
    }
}

fn json_kind(raw: &str) -> &'static str {
    match raw.trim().bytes().next() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

impl Obj {
    /// Parses `raw` as an object whose fields are reported under `prefix` (`""` or `quotas[0].`).
    pub fn parse(prefix: &str, raw: &str) -> Result<Self, ConsoleError> {
        let map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(raw).map_err(|_| {
            let at = prefix.trim_end_matches('.');
            if at.is_empty() {
                ConsoleError::invalid("", "body must be a JSON object")
            } else {
                ConsoleError::invalid(at, format!("must be an object, not {}", json_kind(raw)))
            }
        })?;
        Ok(Self { prefix: prefix.to_owned(), map })
    }

    /// The full path of a field.
    pub fn field(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The raw text of a field; `None` when absent or null.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(|v| v.get()).filter(|v| v.trim() != "null")
    }

    /// An error naming the first field not in `known` (a configuration file's typo must not be
    /// ignored silently).
    pub fn reject_unknown(&self, known: &[&str]) -> Result<(), ConsoleError> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(ConsoleError::invalid(
                self.field(k),
                format!("unknown field; expected one of {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    /// Whether the field is present (null included).
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub fn opt_string(&self, name: &str) -> Result<Option<String>, ConsoleError> {
        self.raw(name)
            .map(|raw| {
                serde_json::from_str::<String>(raw).map_err(|_| {
                    ConsoleError::invalid(self.field(name), format!("must be a string, not {}", json_kind(raw)))
                })
            })
            .transpose()
    }

    /// A trimmed string of 1..=`max` characters.
    pub fn opt_text(&self, name: &str, max: usize) -> Result<Option<String>, ConsoleError> {
        let Some(s) = self.opt_string(name)? else { return Ok(None) };
        let s = s.trim().to_owned();
        if s.is_empty() {
            return Err(ConsoleError::invalid(self.field(name), "must not be empty"));
        }
        if s.chars().count() > max {
            return Err(ConsoleError::invalid(self.field(name), format!("must have at most {max} characters")));
        }
        if s.chars().any(char::is_control) {
            return Err(ConsoleError::invalid(self.field(name), "must not contain control characters"));
        }
        Ok(Some(s))
    }

    pub fn text(&self, name: &str, max: usize) -> Result<String, ConsoleError> {
        self.opt_text(name, max)?.ok_or_else(|| ConsoleError::invalid(self.field(name), "is required"))
    }

    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, ConsoleError> {
        match self.raw(name).map(str::trim) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => {
                Err(ConsoleError::invalid(self.field(name), format!("must be true or false, not {}", json_kind(other))))
            }
        }
    }

    /// An integer (no fraction, no exponent) within `range`.
    pub fn opt_i64(&self, name: &str, range: std::ops::RangeInclusive<i64>) -> Result<Option<i64>, ConsoleError> {
        let Some(raw) = self.raw(name) else { return Ok(None) };
        let n: i64 = raw.trim().parse().map_err(|_| ConsoleError::invalid(self.field(name), "must be an integer"))?;
        if !range.contains(&n) {
            return Err(ConsoleError::invalid(
                self.field(name),
                format!("must be between {} and {}", range.start(), range.end()),
            ));
        }
        Ok(Some(n))
    }

    /// A non-negative exact decimal (money, multipliers).
    pub fn opt_decimal(&self, name: &str) -> Result<Option<Decimal9>, ConsoleError> {
        self.raw(name)
            .map(|raw| {
                Decimal9::from_json_raw(raw)
                    .map_err(|e| ConsoleError::invalid(self.field(name), format!("{e} (got {})", raw.trim())))
            })
            .transpose()
    }

    pub fn decimal(&self, name: &str) -> Result<Decimal9, ConsoleError> {
        self.opt_decimal(name)?.ok_or_else(|| ConsoleError::invalid(self.field(name), "is required"))
    }

    /// A quota limit: absent or null = unlimited, else a non-negative amount.
    pub fn limit(&self, name: &str) -> Result<LimitValue, ConsoleError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(raw) => Ok(parse_limit(&self.field(name), raw.get())?),
        }
    }

    /// A name from a registry (platform, window, role…), parsed by `FromStr`.
    pub fn opt_name<T: FromStr>(&self, name: &str) -> Result<Option<T>, ConsoleError>
    where
        T::Err: std::fmt::Display,
    {
        let Some(s) = self.opt_string(name)? else { return Ok(None) };
        s.parse().map(Some).map_err(|e| ConsoleError::invalid(self.field(name), e))
    }

    pub fn name<T: FromStr>(&self, name: &str) -> Result<T, ConsoleError>
    where
        T::Err: std::fmt::Display,
    {
        self.opt_name(name)?.ok_or_else(|| ConsoleError::invalid(self.field(name), "is required"))
    }

    /// The raw items of an array field; `None` when absent or null.
    pub fn opt_array(&self, name: &str) -> Result<Option<Vec<Box<RawValue>>>, ConsoleError> {
        self.raw(name)
            .map(|raw| {
                serde_json::from_str::<Vec<Box<RawValue>>>(raw).map_err(|_| {
                    ConsoleError::invalid(self.field(name), format!("must be an array, not {}", json_kind(raw)))
                })
            })
            .transpose()
    }
}
