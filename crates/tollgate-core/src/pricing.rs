//! Prices per million tokens and the exact cost of a request (SPEC 3).
//!
//! The built-in table is `data/prices.json` (its `source` URLs and `as_of` date are inside, and each
//! model may name its own), compiled in and parsed once. A model is found by name on any platform
//! (Antigravity serves Claude and Gemini models): exact name, then without a date suffix
//! (`claude-sonnet-4-5-20250929`, `gpt-4o-2024-08-06`, `claude-sonnet-4-5@20250929`), then the
//! table's explicit `aliases` (`claude-opus-4-5-thinking` → `claude-opus-4-5`). Nothing else: a
//! name that merely starts like a known model (`gpt-5.4-pro` is not `gpt-5.4`, and costs 12× more)
//! is unknown. A leading `models/` (Gemini) is ignored, and so is case. Only when nothing matches
//! does the platform matter: its fallback price applies, flagged as [`MatchKind::Fallback`] so the
//! caller can reject instead.
//!
//! Cost is exact integer arithmetic: Σ tokens × nano-USD per MTok in `i128`, divided by 10⁶ and
//! rounded **up** once, at the end (SPEC: rounded up to the nano-USD per request).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::money::{Decimal9, Money};
use crate::platform::Platform;
use crate::usage::Usage;

/// Why a price table could not be loaded, or a cost not computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// The cost does not fit the money range (absurd token counts or prices).
    #[error("cost overflows the money range")]
    Overflow,
    /// The price table text is not valid.
    #[error("invalid price table: {0}")]
    InvalidTable(String),
}

/// Prices of one model, in USD (exact, as [`Money`]) per million tokens. The JSON shape is the
/// console API's: `{"platform","input_per_mtok","output_per_mtok","cache_read_per_mtok",
/// "cache_write_5m_per_mtok","cache_write_1h_per_mtok"}`, plus an optional `long_context` tier.
///
/// A cache price left out (`null`) is derived: cache reads at the input price, cache writes at
/// 1.25× (5 min) and 2× (1 h) the input price — Anthropic's multipliers; only Anthropic usage has
/// cache writes, so the choice never affects other families.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    /// The platform whose model this is (informative; lookups go by model name).
    pub platform: Platform,
    /// Uncached input tokens.
    pub input_per_mtok: Money,
    /// Output tokens, reasoning included.
    pub output_per_mtok: Money,
    /// Cache reads; `None`: the input price.
    #[serde(default)]
    pub cache_read_per_mtok: Option<Money>,
    /// 5-minute cache writes; `None`: 1.25× the input price.
    #[serde(default)]
    pub cache_write_5m_per_mtok: Option<Money>,
    /// 1-hour cache writes; `None`: 2× the input price.
    #[serde(default)]
    pub cache_write_1h_per_mtok: Option<Money>,
    /// Prices for requests whose prompt (input + cache tokens) exceeds a threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_context: Option<LongContextPrice>,
    /// Per-call fees of server-side tools (web search, …), on top of their tokens.
    #[serde(default, skip_serializing_if = "ToolFees::is_empty")]
    pub tool_fees: ToolFees,
    /// Media priced above text whose provider rates this price's rates are at least (e.g. an
    /// image model's output price is its image output rate). A request asking for a medium not
    /// listed is refused: its tokens would be charged at the text rate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<Medium>,
    /// Where this price was read (a URL), when the table says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// When this price was checked (`YYYY-MM-DD`), when the table says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

/// Tokens providers price above their text rate: audio in, images or audio out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Medium {
    /// Audio in the prompt (OpenAI `input_audio` parts, Gemini `audio/*` parts).
    AudioInput,
    /// Generated images (Gemini `responseModalities: ["IMAGE"]`, OpenAI `modalities: ["image"]`).
    ImageOutput,
    /// Generated speech (OpenAI `audio` / `modalities: ["audio"]`, Gemini `AUDIO` or `speechConfig`).
    AudioOutput,
}

impl Medium {
    /// The name used in the price table and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            Medium::AudioInput => "audio_input",
            Medium::ImageOutput => "image_output",
            Medium::AudioOutput => "audio_output",
        }
    }
}

/// Per-call tool fees in USD per 1,000 calls; `None`: the tool costs nothing beyond its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolFees {
    /// Web searches: Anthropic `web_search_requests`, OpenAI `web_search_call` items, Gemini
    /// grounding search queries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search_per_1k: Option<Money>,
    /// Anthropic web fetches (`web_fetch_requests`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_fetch_per_1k: Option<Money>,
    /// OpenAI file search calls (`file_search_call` items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_search_per_1k: Option<Money>,
    /// Code execution calls (Anthropic `code_execution_requests`, OpenAI `code_interpreter_call`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_execution_per_1k: Option<Money>,
}

impl ToolFees {
    /// No fee of any kind.
    pub fn is_empty(&self) -> bool {
        *self == ToolFees::default()
    }
}

/// The long-context tier: when a request's prompt tokens (input + cache reads + cache writes)
/// exceed `threshold_tokens`, all of its tokens are priced here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LongContextPrice {
    /// The tier applies when prompt tokens are strictly above this.
    pub threshold_tokens: u64,
    /// As [`Price::input_per_mtok`], in this tier.
    pub input_per_mtok: Money,
    /// As [`Price::output_per_mtok`], in this tier.
    pub output_per_mtok: Money,
    /// As [`Price::cache_read_per_mtok`] (derived from this tier's input when `None`).
    #[serde(default)]
    pub cache_read_per_mtok: Option<Money>,
    /// As [`Price::cache_write_5m_per_mtok`] (derived from this tier's input when `None`).
    #[serde(default)]
    pub cache_write_5m_per_mtok: Option<Money>,
    /// As [`Price::cache_write_1h_per_mtok`] (derived from this tier's input when `None`).
    #[serde(default)]
    pub cache_write_1h_per_mtok: Option<Money>,
}

/// Per-kind rates in nano-USD per million tokens, after tier choice and cache defaults. Held as
/// `i128` so a derived rate cannot overflow; only a cost that is too large is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rates {
    input: i128,
    output: i128,
    cache_read: i128,
    cache_write_5m: i128,
    cache_write_1h: i128,
}

impl Price {
    fn rates_for(&self, usage: &Usage) -> Rates {
        let (input, output, read, w5, w1) = match &self.long_context {
            Some(lc) if usage.prompt_tokens() > lc.threshold_tokens => (
                lc.input_per_mtok,
                lc.output_per_mtok,
                lc.cache_read_per_mtok,
                lc.cache_write_5m_per_mtok,
                lc.cache_write_1h_per_mtok,
            ),
            _ => (
                self.input_per_mtok,
                self.output_per_mtok,
                self.cache_read_per_mtok,
                self.cache_write_5m_per_mtok,
                self.cache_write_1h_per_mtok,
            ),
        };
        let nanos = |m: Money| i128::from(m.nanos());
        let input_nanos = nanos(input);
        // Absent write prices: Anthropic's multipliers, 1.25× (5 min, rounded up) and 2× (1 h).
        Rates {
            input: input_nanos,
            output: nanos(output),
            cache_read: read.map_or(input_nanos, nanos),
            cache_write_5m: w5.map_or((input_nanos * 5 + 3) / 4, nanos),
            cache_write_1h: w1.map_or(input_nanos * 2, nanos),
        }
    }
}

impl Price {
    /// Whether each token rate of this price is at most `other`'s, below and above any
    /// long-context threshold: tokens billed at this price and charged at `other` are never
    /// undercharged (Anthropic's advisor model runs inside a request priced at its executor's rates).
    pub fn never_dearer_than(&self, other: &Price) -> bool {
        // Rates change only past a threshold: compare at 0 and just past each threshold.
        let past = |p: &Price| p.long_context.as_ref().map(|lc| lc.threshold_tokens.saturating_add(1));
        let points = [Some(0), past(self), past(other)];
        points.iter().flatten().map(|&n| Usage { input_tokens: n, ..Usage::default() }).all(|u| {
            let (a, b) = (self.rates_for(&u), other.rates_for(&u));
            a.input <= b.input
                && a.output <= b.output
                && a.cache_read <= b.cache_read
                && a.cache_write_5m <= b.cache_write_5m
                && a.cache_write_1h <= b.cache_write_1h
        })
    }
}

/// The cost of `usage` at `price`, rounded up to the nano-USD.
pub fn cost(usage: &Usage, price: &Price) -> Result<Money, PricingError> {
    let r = price.rates_for(usage);
    let terms = [
        (usage.input_tokens, r.input),
        (usage.output_tokens, r.output),
        (usage.cache_read_tokens, r.cache_read),
        (usage.cache_write_5m_tokens, r.cache_write_5m),
        (usage.cache_write_1h_tokens, r.cache_write_1h),
    ];
    // nano-USD × tokens / MTok; u64 × i64 fits in i128, a sum of five might not: check.
    let mut total: i128 = 0;
    for (tokens, rate) in terms {
        let term = i128::from(tokens).checked_mul(rate).ok_or(PricingError::Overflow)?;
        total = total.checked_add(term).ok_or(PricingError::Overflow)?;
    }
    total = total.checked_add(tool_fee_micro_nanos(usage, &price.tool_fees)?).ok_or(PricingError::Overflow)?;
    let nanos = total.div_euclid(1_000_000) + i128::from(total.rem_euclid(1_000_000) > 0);
    let nanos = i64::try_from(nanos).map_err(|_| PricingError::Overflow)?;
    Money::from_nanos(nanos).map_err(|_| PricingError::Overflow)
}

/// The tool fees of `usage`, in the unit [`cost`] sums in (nano-USD × 10⁶): a fee per 1,000 calls is
/// `fee × 10⁶ / 1,000 = fee × 1,000` per call, exact.
fn tool_fee_micro_nanos(usage: &Usage, fees: &ToolFees) -> Result<i128, PricingError> {
    let t = &usage.tool_calls;
    let terms = [
        (t.web_search, fees.web_search_per_1k),
        (t.web_fetch, fees.web_fetch_per_1k),
        (t.file_search, fees.file_search_per_1k),
        (t.code_execution, fees.code_execution_per_1k),
    ];
    let mut total: i128 = 0;
    for (calls, fee) in terms {
        let Some(fee) = fee else { continue };
        let term = i128::from(calls).checked_mul(i128::from(fee.nanos()) * 1_000).ok_or(PricingError::Overflow)?;
        total = total.checked_add(term).ok_or(PricingError::Overflow)?;
    }
    Ok(total)
}

/// The tool fees alone of `usage` at `price`, rounded up to the nano-USD (shown in usage records).
pub fn tool_cost(usage: &Usage, price: &Price) -> Result<Money, PricingError> {
    let total = tool_fee_micro_nanos(usage, &price.tool_fees)?;
    let nanos = total.div_euclid(1_000_000) + i128::from(total.rem_euclid(1_000_000) > 0);
    Money::from_nanos(i64::try_from(nanos).map_err(|_| PricingError::Overflow)?).map_err(|_| PricingError::Overflow)
}

/// `cost × multiplier` (the user's cost multiplier), rounded up to the nano-USD.
pub fn apply_multiplier(cost: Money, multiplier: Decimal9) -> Result<Money, PricingError> {
    cost.mul_ceil(multiplier).ok_or(PricingError::Overflow)
}

/// How a model name found its price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchKind {
    /// The name itself is in the table.
    Exact,
    /// The name without its date (or `-latest`) suffix is.
    DateSuffix,
    /// The table's alias list maps the name (or its dateless stem) to a model.
    Alias,
    /// Nothing matched: the platform's fallback price.
    Fallback,
}

/// A price found for a model name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceMatch<'a> {
    /// The table key that matched; `None` for a fallback.
    pub model: Option<&'a str>,
    /// The price to apply.
    pub price: &'a Price,
    /// How the name matched.
    pub kind: MatchKind,
}

/// Model prices plus a fallback price per platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTable {
    models: BTreeMap<String, Price>,
    /// Other names of a model (lowercase alias → lowercase table key).
    aliases: BTreeMap<String, String>,
    fallbacks: BTreeMap<Platform, Price>,
    source: Vec<String>,
    as_of: String,
}

/// The data file's shape.
#[derive(Deserialize)]
struct TableFile {
    as_of: String,
    source: Vec<String>,
    /// Names a model per platform whose price is that platform's fallback.
    fallback: BTreeMap<Platform, String>,
    models: BTreeMap<String, Price>,
    /// Other names of listed models: `{"alias": "model"}`.
    #[serde(default)]
    aliases: BTreeMap<String, String>,
}

const BUILTIN: &str = include_str!("../data/prices.json");

impl PriceTable {
    /// The built-in table, parsed on first use.
    pub fn builtin() -> Result<&'static PriceTable, PricingError> {
        static TABLE: OnceLock<Result<PriceTable, PricingError>> = OnceLock::new();
        TABLE.get_or_init(|| PriceTable::from_json(BUILTIN)).as_ref().map_err(Clone::clone)
    }

    /// Parses a table in the data file's format (JSON numbers are read exactly).
    pub fn from_json(text: &str) -> Result<PriceTable, PricingError> {
        let file: TableFile = serde_json::from_str(text).map_err(|e| PricingError::InvalidTable(e.to_string()))?;
        let models: BTreeMap<String, Price> = file.models.into_iter().map(|(k, v)| (normalize(&k), v)).collect();
        let mut fallbacks = BTreeMap::new();
        for (platform, model) in file.fallback {
            let price = models.get(&normalize(&model)).ok_or_else(|| {
                PricingError::InvalidTable(format!("fallback for {platform} names unknown model {model:?}"))
            })?;
            fallbacks.insert(platform, price.clone());
        }
        let mut aliases = BTreeMap::new();
        for (alias, model) in file.aliases {
            let (alias, model) = (normalize(&alias), normalize(&model));
            if !models.contains_key(&model) {
                return Err(PricingError::InvalidTable(format!("alias {alias:?} names unknown model {model:?}")));
            }
            if models.contains_key(&alias) {
                return Err(PricingError::InvalidTable(format!("alias {alias:?} is also a model of its own")));
            }
            aliases.insert(alias, model);
        }
        Ok(PriceTable { models, aliases, fallbacks, source: file.source, as_of: file.as_of })
    }

    /// A copy with `overrides` added or replacing models of the same (case-insensitive) name.
    pub fn with_overrides(&self, overrides: impl IntoIterator<Item = (String, Price)>) -> PriceTable {
        let mut table = self.clone();
        table.models.extend(overrides.into_iter().map(|(k, v)| (normalize(&k), v)));
        table
    }

    /// A copy whose unknown models on `platform` are priced at `price`.
    pub fn with_fallback(&self, platform: Platform, price: Price) -> PriceTable {
        let mut table = self.clone();
        table.fallbacks.insert(platform, price);
        table
    }

    /// The price of `model` as called on `platform`; `None` only when nothing matches and the
    /// platform has no fallback.
    pub fn lookup(&self, platform: Platform, model: &str) -> Option<PriceMatch<'_>> {
        let name = normalize(model);
        let found = |key: &str, kind| {
            self.models.get_key_value(key).map(|(k, price)| PriceMatch { model: Some(k.as_str()), price, kind })
        };
        if let Some(m) = found(&name, MatchKind::Exact) {
            return Some(m);
        }
        let stem = strip_date_suffix(&name);
        if stem != name
            && let Some(m) = found(stem, MatchKind::DateSuffix)
        {
            return Some(m);
        }
        // An alias names a model of the built-in table; an override of that model applies to it too.
        let alias = self.aliases.get(name.as_str()).or_else(|| self.aliases.get(stem));
        if let Some(m) = alias.and_then(|k| found(k, MatchKind::Alias)) {
            return Some(m);
        }
        self.fallbacks.get(&platform).map(|price| PriceMatch { model: None, price, kind: MatchKind::Fallback })
    }

    /// The price stored under exactly this model name (case-insensitive).
    pub fn get(&self, model: &str) -> Option<&Price> {
        self.models.get(&normalize(model))
    }

    /// Every alias and the model it names.
    pub fn aliases(&self) -> impl Iterator<Item = (&str, &str)> {
        self.aliases.iter().map(|(a, m)| (a.as_str(), m.as_str()))
    }

    /// Every model and its price, by name.
    pub fn models(&self) -> impl Iterator<Item = (&str, &Price)> {
        self.models.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The fallback price for unknown models on `platform`.
    pub fn fallback(&self, platform: Platform) -> Option<&Price> {
        self.fallbacks.get(&platform)
    }

    /// Where the prices come from (the providers' pricing pages).
    pub fn source(&self) -> &[String] {
        &self.source
    }

    /// The date the prices were checked.
    pub fn as_of(&self) -> &str {
        &self.as_of
    }
}

/// Lowercase, trimmed, without a leading `models/` (Gemini resource names).
pub fn normalize(model: &str) -> String {
    let lower = model.trim().to_ascii_lowercase();
    match lower.strip_prefix("models/") {
        Some(rest) => rest.to_owned(),
        None => lower,
    }
}

/// `name` without a trailing `@anything`, `-YYYYMMDD`, `-YYYY-MM-DD` or `-latest` (the moving
/// pointer to a model's newest snapshot: `claude-3-opus-latest` is Claude 3 Opus, priced so, not at
/// the fallback). Four-digit tails (`gpt-4-0613`) are not taken as dates: those snapshots are named
/// in the table's aliases.
fn strip_date_suffix(name: &str) -> &str {
    if let Some((stem, _)) = name.split_once('@') {
        return stem;
    }
    if let Some(stem) = name.strip_suffix("-latest")
        && !stem.is_empty()
    {
        return stem;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((stem, tail)) = name.rsplit_once('-')
        && tail.len() == 8
        && digits(tail)
    {
        return stem;
    }
    // -YYYY-MM-DD: the last 11 bytes.
    if name.len() > 11 && name.is_char_boundary(name.len() - 11) {
        let (stem, tail) = name.split_at(name.len() - 11);
        let b = tail.as_bytes();
        if b[0] == b'-'
            && b[5] == b'-'
            && b[8] == b'-'
            && digits(&tail[1..5])
            && digits(&tail[6..8])
            && digits(&tail[9..])
        {
            return stem;
        }
    }
    name
}

#[cfg(test)]
#[path = "pricing_tests.rs"]
mod tests;
