//! Price files an admin imports (SPEC 3): Tollgate's own table format, or LiteLLM's
//! `model_prices_and_context_window.json`. Parsed and validated whole: one bad entry refuses the
//! file, naming the entry and field; nothing is applied before every entry is valid.
//!
//! LiteLLM gives USD **per token** as JSON numbers (often float artefacts such as
//! `3.0000000000000004e-06`); they are read from their text and converted exactly to USD per
//! million tokens, rounded to the nano-USD. Only chat-like models of the providers Tollgate serves
//! are taken (`litellm_provider` anthropic, openai, gemini, vertex_ai-language-models); the others
//! are skipped and counted.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::money::Money;
use crate::platform::Platform;
use crate::pricing::{LongContextPrice, Price, PriceTable, ToolFees, normalize};

/// Why a file could not be imported: which entry, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ImportError {
    /// A path such as `models.gpt-5.input_per_mtok` or `claude-x.input_cost_per_token`.
    pub field: String,
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> ImportError {
    ImportError { field: field.into(), message: message.into() }
}

/// The format a file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportFormat {
    Tollgate,
    Litellm,
}

/// A parsed file: the prices to set, by normalized model name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub format: ImportFormat,
    pub prices: BTreeMap<String, Price>,
    /// LiteLLM entries not taken (other providers, embeddings, images, …).
    pub skipped: usize,
}

/// One model's change against the prices in force.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PriceChange {
    pub model: String,
    /// The price in force before (built-in or override), `None` for a new model.
    pub before: Option<Price>,
    pub after: Price,
}

/// Reads `text` in either format (a top-level `models` object means Tollgate's).
pub fn parse(text: &str) -> Result<Imported, ImportError> {
    let top: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(text).map_err(|e| err("(file)", format!("must be a JSON object: {e}")))?;
    if top.contains_key("models") { parse_tollgate(text) } else { parse_litellm(&top) }
}

/// The changes `imported` makes to `current` (unchanged models left out), by model name.
pub fn diff(current: &PriceTable, imported: &Imported) -> Vec<PriceChange> {
    imported
        .prices
        .iter()
        .filter_map(|(model, after)| {
            let before = current.get(model).cloned();
            (before.as_ref() != Some(after)).then(|| PriceChange { model: model.clone(), before, after: after.clone() })
        })
        .collect()
}

fn parse_tollgate(text: &str) -> Result<Imported, ImportError> {
    #[derive(Deserialize)]
    struct File {
        models: BTreeMap<String, Box<RawValue>>,
    }
    let file: File = serde_json::from_str(text).map_err(|e| err("models", e.to_string()))?;
    let mut prices = BTreeMap::new();
    for (model, raw) in file.models {
        let name = model_name(&model)?;
        let price: Price =
            serde_json::from_str(raw.get()).map_err(|e| err(format!("models.{model}"), e.to_string()))?;
        prices.insert(name, price);
    }
    if prices.is_empty() {
        return Err(err("models", "no model to import"));
    }
    Ok(Imported { format: ImportFormat::Tollgate, prices, skipped: 0 })
}

/// The LiteLLM fields Tollgate reads (every other field is ignored).
#[derive(Deserialize)]
struct LiteEntry {
    litellm_provider: Option<String>,
    mode: Option<String>,
    input_cost_per_token: Option<Box<RawValue>>,
    output_cost_per_token: Option<Box<RawValue>>,
    cache_read_input_token_cost: Option<Box<RawValue>>,
    cache_creation_input_token_cost: Option<Box<RawValue>>,
    /// Despite its name, LiteLLM's 1-hour cache-write price.
    cache_creation_input_token_cost_above_1hr: Option<Box<RawValue>>,
    input_cost_per_token_above_200k_tokens: Option<Box<RawValue>>,
    output_cost_per_token_above_200k_tokens: Option<Box<RawValue>>,
    cache_read_input_token_cost_above_200k_tokens: Option<Box<RawValue>>,
    input_cost_per_token_above_272k_tokens: Option<Box<RawValue>>,
    output_cost_per_token_above_272k_tokens: Option<Box<RawValue>>,
    cache_read_input_token_cost_above_272k_tokens: Option<Box<RawValue>>,
    /// USD per search query (web search tools).
    search_context_cost_per_query: Option<Box<RawValue>>,
}

fn parse_litellm(top: &BTreeMap<String, Box<RawValue>>) -> Result<Imported, ImportError> {
    let mut prices = BTreeMap::new();
    let mut skipped = 0;
    for (key, raw) in top {
        if key == "sample_spec" {
            continue;
        }
        let Ok(entry) = serde_json::from_str::<LiteEntry>(raw.get()) else {
            skipped += 1;
            continue;
        };
        let platform = match entry.litellm_provider.as_deref() {
            Some("anthropic") => Platform::Anthropic,
            Some("openai") => Platform::OpenAi,
            Some("gemini" | "vertex_ai-language-models") => Platform::Gemini,
            _ => {
                skipped += 1;
                continue;
            }
        };
        if !matches!(entry.mode.as_deref(), None | Some("chat" | "responses" | "completion")) {
            skipped += 1;
            continue;
        }
        let (Some(input), Some(output)) = (&entry.input_cost_per_token, &entry.output_cost_per_token) else {
            skipped += 1;
            continue;
        };
        let name = key.strip_prefix("gemini/").unwrap_or(key);
        let model = model_name(name)?;
        let f = |field: &str| format!("{key}.{field}");
        let rate = |raw: Option<&RawValue>, field: &str| -> Result<Option<Money>, ImportError> {
            raw.map(|r| per_token_to_per_mtok(r.get()).map_err(|m| err(f(field), m))).transpose()
        };
        let tier = |threshold: u64,
                    input: Option<&RawValue>,
                    output: Option<&RawValue>,
                    read: Option<&RawValue>,
                    suffix: &str|
         -> Result<Option<LongContextPrice>, ImportError> {
            let i = rate(input, &format!("input_cost_per_token_above_{suffix}"))?;
            let o = rate(output, &format!("output_cost_per_token_above_{suffix}"))?;
            let (Some(i), Some(o)) = (i, o) else { return Ok(None) };
            Ok(Some(LongContextPrice {
                threshold_tokens: threshold,
                input_per_mtok: i,
                output_per_mtok: o,
                cache_read_per_mtok: rate(read, &format!("cache_read_input_token_cost_above_{suffix}"))?,
                cache_write_5m_per_mtok: None,
                cache_write_1h_per_mtok: None,
            }))
        };
        let long_context = match tier(
            200_000,
            entry.input_cost_per_token_above_200k_tokens.as_deref(),
            entry.output_cost_per_token_above_200k_tokens.as_deref(),
            entry.cache_read_input_token_cost_above_200k_tokens.as_deref(),
            "200k_tokens",
        )? {
            Some(t) => Some(t),
            None => tier(
                272_000,
                entry.input_cost_per_token_above_272k_tokens.as_deref(),
                entry.output_cost_per_token_above_272k_tokens.as_deref(),
                entry.cache_read_input_token_cost_above_272k_tokens.as_deref(),
                "272k_tokens",
            )?,
        };
        // A per-query price × 1,000 is the per-1,000-calls fee.
        let web_search_per_1k = match &entry.search_context_cost_per_query {
            Some(r) => Some(decimal_scaled(r.get(), 3).map_err(|m| err(f("search_context_cost_per_query"), m))?),
            None => None,
        };
        let price = Price {
            platform,
            input_per_mtok: rate(Some(input), "input_cost_per_token")?.unwrap_or_default(),
            output_per_mtok: rate(Some(output), "output_cost_per_token")?.unwrap_or_default(),
            cache_read_per_mtok: rate(entry.cache_read_input_token_cost.as_deref(), "cache_read_input_token_cost")?,
            cache_write_5m_per_mtok: rate(
                entry.cache_creation_input_token_cost.as_deref(),
                "cache_creation_input_token_cost",
            )?,
            cache_write_1h_per_mtok: rate(
                entry.cache_creation_input_token_cost_above_1hr.as_deref(),
                "cache_creation_input_token_cost_above_1hr",
            )?,
            long_context,
            tool_fees: ToolFees { web_search_per_1k, ..ToolFees::default() },
            // Whether a model's rates cover its audio or image tokens is the operator's call.
            covers: Vec::new(),
            source_url: Some(
                "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json".to_owned(),
            ),
            as_of: None,
        };
        prices.insert(model, price);
    }
    if prices.is_empty() {
        return Err(err("(file)", "no model of a platform Tollgate serves (anthropic, openai, gemini)"));
    }
    Ok(Imported { format: ImportFormat::Litellm, prices, skipped })
}

fn model_name(raw: &str) -> Result<String, ImportError> {
    let m = raw.trim();
    if m.is_empty() || m.chars().count() > 200 || m.chars().any(char::is_control) {
        return Err(err(raw, "model name must be 1 to 200 printable characters"));
    }
    Ok(normalize(m))
}

/// USD per token (a JSON number's text) → USD per million tokens, rounded to the nano-USD.
pub fn per_token_to_per_mtok(text: &str) -> Result<Money, String> {
    decimal_scaled(text, 6)
}

/// `text × 10^shift` as money, rounded half up to the nano-unit. `text` is a non-negative JSON
/// number (exponent allowed).
fn decimal_scaled(text: &str, shift: i32) -> Result<Money, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err("must not be negative".into());
    }
    let (mantissa, exp) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().map_err(|_| "must be a number".to_owned())?),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return Err("must be a number".into());
    }
    let digits: String = format!("{int}{frac}").trim_start_matches('0').to_owned();
    // value = digits × 10^(exp - frac.len()); in nano-units: × 10^(9 + shift).
    let power = exp.saturating_sub(frac.len() as i32).saturating_add(9 + shift);
    if digits.is_empty() {
        return Ok(Money::ZERO);
    }
    if digits.len() as i32 + power > 19 {
        return Err("is too large".into());
    }
    let nanos: i128 = if power >= 0 {
        let d: i128 = digits.parse().map_err(|_| "is too large".to_owned())?;
        d.checked_mul(10_i128.pow(power as u32)).ok_or_else(|| "is too large".to_owned())?
    } else {
        let drop = (-power) as usize;
        if drop > digits.len() {
            // Below half a nano-unit unless the first dropped digit position is reached.
            0
        } else {
            let (keep, rest) = digits.split_at(digits.len() - drop);
            let kept: i128 = if keep.is_empty() { 0 } else { keep.parse().map_err(|_| "is too large".to_owned())? };
            kept + i128::from(rest.as_bytes().first().is_some_and(|b| *b >= b'5'))
        }
    };
    let nanos = i64::try_from(nanos).map_err(|_| "is too large".to_owned())?;
    Money::from_nanos(nanos).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn per_token_text_is_converted_exactly() {
        assert_eq!(per_token_to_per_mtok("3e-06"), Ok(money("3")));
        assert_eq!(per_token_to_per_mtok("3.0000000000000004e-06"), Ok(money("3")));
        assert_eq!(per_token_to_per_mtok("1.25e-07"), Ok(money("0.125")));
        assert_eq!(per_token_to_per_mtok("0.000015"), Ok(money("15")));
        assert_eq!(per_token_to_per_mtok("0"), Ok(Money::ZERO));
        assert_eq!(per_token_to_per_mtok("1.5E-10"), Ok(money("0.00015")));
        assert!(per_token_to_per_mtok("-1e-6").is_err());
        assert!(per_token_to_per_mtok("abc").is_err());
        assert!(per_token_to_per_mtok("1e30").is_err());
        assert_eq!(decimal_scaled("0.01", 3), Ok(money("10")));
    }

    #[test]
    fn litellm_entries_of_served_providers_are_taken() {
        let text = r#"{
            "sample_spec": {"input_cost_per_token": 0},
            "claude-x-1": {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 3e-06,
                "output_cost_per_token": 1.5e-05, "cache_read_input_token_cost": 3e-07,
                "cache_creation_input_token_cost": 3.75e-06, "cache_creation_input_token_cost_above_1hr": 6e-06,
                "search_context_cost_per_query": 0.01},
            "gemini/gemini-x": {"litellm_provider": "gemini", "mode": "chat", "input_cost_per_token": 2e-06,
                "output_cost_per_token": 1.2e-05, "input_cost_per_token_above_200k_tokens": 4e-06,
                "output_cost_per_token_above_200k_tokens": 1.8e-05},
            "text-embedding-x": {"litellm_provider": "openai", "mode": "embedding", "input_cost_per_token": 1e-07,
                "output_cost_per_token": 0},
            "mistral-x": {"litellm_provider": "mistral", "mode": "chat", "input_cost_per_token": 1e-06,
                "output_cost_per_token": 1e-06}
        }"#;
        let imported = parse(text).unwrap();
        assert_eq!(imported.format, ImportFormat::Litellm);
        assert_eq!(imported.skipped, 2);
        let claude = &imported.prices["claude-x-1"];
        assert_eq!((claude.input_per_mtok, claude.output_per_mtok), (money("3"), money("15")));
        assert_eq!(claude.cache_write_1h_per_mtok, Some(money("6")));
        assert_eq!(claude.tool_fees.web_search_per_1k, Some(money("10")));
        let gem = &imported.prices["gemini-x"];
        assert_eq!(gem.platform, Platform::Gemini);
        assert_eq!(
            gem.long_context.as_ref().map(|l| (l.threshold_tokens, l.input_per_mtok)),
            Some((200_000, money("4")))
        );
    }

    #[test]
    fn a_bad_entry_refuses_the_file_naming_it() {
        let e = parse(r#"{"models":{"m1":{"platform":"openai","input_per_mtok":1,"output_per_mtok":2},"m2":{"platform":"openai","input_per_mtok":-1,"output_per_mtok":2}}}"#).unwrap_err();
        assert!(e.field.contains("m2"), "{e}");
        let e =
            parse(r#"{"x":{"litellm_provider":"openai","input_cost_per_token":"cheap","output_cost_per_token":1e-6}}"#)
                .unwrap_err();
        assert!(e.to_string().contains("x"), "{e}");
        assert!(parse("[]").is_err());
        assert!(parse(r#"{"models":{}}"#).is_err());
    }

    #[test]
    fn diff_leaves_out_unchanged_models() {
        let table = PriceTable::builtin().unwrap();
        let same = table.get("gpt-5").unwrap().clone();
        let mut cheaper = same.clone();
        cheaper.input_per_mtok = money("0.5");
        let imported = Imported {
            format: ImportFormat::Tollgate,
            prices: [
                ("gpt-5".to_owned(), cheaper.clone()),
                ("gpt-5-mini".to_owned(), table.get("gpt-5-mini").unwrap().clone()),
                ("brand-new".to_owned(), same.clone()),
            ]
            .into(),
            skipped: 0,
        };
        let changes = diff(table, &imported);
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].model, "brand-new");
        assert!(changes[0].before.is_none());
        assert_eq!(changes[1].after, cheaper);
    }
}
