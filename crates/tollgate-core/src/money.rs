//! Exact money: an integer count of nano-USD (1e-9 USD).
//!
//! Money never passes through a float: it is parsed from decimal text, stored as `i64`, added with
//! checked arithmetic and printed back as the same decimal text. JSON numbers are read from their raw
//! text (serde_json's `RawValue`), so `10.1` is 10_100_000_000 nanos, never 10.0999999.

use std::fmt;
use std::str::FromStr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Nano-units per whole unit.
pub const NANOS_PER_UNIT: i64 = 1_000_000_000;
const DECIMALS: usize = 9;

/// Why a decimal text is not a valid amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a number")]
    NotANumber,
    #[error("must not be negative")]
    Negative,
    #[error("must have at most 9 decimal places")]
    TooPrecise,
    #[error("is too large")]
    Overflow,
}

/// A non-negative fixed-point decimal with 9 decimal places, held as an integer.
///
/// Used for USD amounts (`Money`) and for other exact ratios such as the per-user cost multiplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decimal9(i64);

/// A USD amount in nano-USD.
pub type Money = Decimal9;

impl Decimal9 {
    pub const ZERO: Self = Self(0);
    pub const ONE: Self = Self(NANOS_PER_UNIT);
    pub const MAX: Self = Self(i64::MAX);

    /// From a raw count of nano-units; negative counts are refused.
    pub fn from_nanos(nanos: i64) -> Result<Self, MoneyError> {
        if nanos < 0 { Err(MoneyError::Negative) } else { Ok(Self(nanos)) }
    }

    /// From whole units (e.g. dollars).
    pub fn from_units(units: i64) -> Result<Self, MoneyError> {
        let n = units.checked_mul(NANOS_PER_UNIT).ok_or(MoneyError::Overflow)?;
        Self::from_nanos(n)
    }

    pub const fn nanos(self) -> i64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// Adds, clamping at the maximum instead of wrapping: a meter that is full stays full.
    pub fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    /// `self - other`, or zero when `other` is larger.
    pub fn saturating_sub(self, other: Self) -> Self {
        Self(self.0.saturating_sub(other.0).max(0))
    }

    /// `self × factor`, rounded up to the nano-unit (a charge is never rounded in the payer's favour
    /// below what was used).
    pub fn mul_ceil(self, factor: Decimal9) -> Option<Self> {
        let product = i128::from(self.0) * i128::from(factor.0);
        let q = product.div_euclid(i128::from(NANOS_PER_UNIT));
        let r = product.rem_euclid(i128::from(NANOS_PER_UNIT));
        let q = if r > 0 { q + 1 } else { q };
        i64::try_from(q).ok().map(Self)
    }

    /// Parses decimal text: digits, an optional point and at most 9 decimals. No sign, exponent,
    /// spaces, `NaN` or `inf`.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        if let Some(rest) = text.strip_prefix('-') {
            // "-0" is still refused: a sign is never valid input for an amount.
            return if is_plain_decimal(rest) { Err(MoneyError::Negative) } else { Err(MoneyError::NotANumber) };
        }
        if !is_plain_decimal(text) {
            // Exponent forms such as 1e3 are valid JSON; accept them when they are exact.
            return parse_exponent(text);
        }
        let (int_part, frac_part) = match text.split_once('.') {
            Some((i, f)) => (i, f),
            None => (text, ""),
        };
        let frac_trimmed = frac_part.trim_end_matches('0');
        if frac_trimmed.len() > DECIMALS {
            return Err(MoneyError::TooPrecise);
        }
        let int_digits = int_part.trim_start_matches('0');
        if int_digits.len() > 10 {
            return Err(MoneyError::Overflow);
        }
        let int: i64 = if int_digits.is_empty() { 0 } else { int_digits.parse().map_err(|_| MoneyError::Overflow)? };
        let mut frac: i64 = 0;
        for (i, c) in frac_trimmed.bytes().enumerate() {
            frac += i64::from(c - b'0') * 10_i64.pow((DECIMALS - 1 - i) as u32);
        }
        int.checked_mul(NANOS_PER_UNIT).and_then(|n| n.checked_add(frac)).map(Self).ok_or(MoneyError::Overflow)
    }

    /// Reads an amount from a JSON value's raw text (a number; strings are refused).
    pub fn from_json_raw(raw: &str) -> Result<Self, MoneyError> {
        let raw = raw.trim();
        match raw.bytes().next() {
            Some(b'-' | b'0'..=b'9') => Self::parse(raw),
            _ => Err(MoneyError::NotANumber),
        }
    }

    /// A float approximation for display-only purposes (metrics gauges). Never use it for arithmetic.
    pub fn to_f64_lossy(self) -> f64 {
        self.0 as f64 / NANOS_PER_UNIT as f64
    }
}

fn is_plain_decimal(s: &str) -> bool {
    let (i, f) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    match f {
        None => !i.is_empty() && digits(i),
        Some(f) => !i.is_empty() && !f.is_empty() && digits(i) && digits(f),
    }
}

/// `1e3`, `1.5E-2`: shift the decimal point by the exponent and parse the plain form.
fn parse_exponent(s: &str) -> Result<Decimal9, MoneyError> {
    let Some(pos) = s.find(['e', 'E']) else {
        return Err(MoneyError::NotANumber);
    };
    let (mantissa, exp) = (&s[..pos], &s[pos + 1..]);
    if !is_plain_decimal(mantissa) {
        return Err(MoneyError::NotANumber);
    }
    let exp_digits = exp.trim_start_matches(['+', '-']);
    if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) || exp.len() > 4 {
        return Err(MoneyError::NotANumber);
    }
    let exp: i32 = exp.parse().map_err(|_| MoneyError::NotANumber)?;
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int_part}{frac_part}");
    let point = int_part.len() as i32 + exp; // position of the decimal point within `digits`
    let plain = if point <= 0 {
        format!("0.{}{}", "0".repeat((-point) as usize), digits)
    } else if point as usize >= digits.len() {
        format!("{}{}", digits, "0".repeat(point as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
    };
    Decimal9::parse(&plain)
}

impl fmt::Display for Decimal9 {
    /// The shortest exact decimal: `10.1`, `0.000000001`, `5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = self.0 / NANOS_PER_UNIT;
        let frac = self.0 % NANOS_PER_UNIT;
        if frac == 0 {
            write!(f, "{int}")
        } else {
            let frac = format!("{frac:09}");
            write!(f, "{int}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl FromStr for Decimal9 {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Decimal9 {
    /// As a JSON number with its exact decimal text.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Decimal9 {
    /// From a JSON number's raw text. Works with `serde_json::from_str`/`from_slice` (not from a
    /// `serde_json::Value`, which has already lost the text).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Decimal9::from_json_raw(raw.get()).map_err(D::Error::custom)
    }
}

#[cfg(test)]
#[path = "money_tests.rs"]
mod tests;
