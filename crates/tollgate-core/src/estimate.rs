//! An upper bound of a request's cost read from its body, before it is sent (SPEC 2.3, 2.4).
//!
//! Strict mode reserves this bound; a request whose final usage cannot be had (a client gone and
//! the upstream silent, a 2xx without usage) is charged its input part. The rules, and how far
//! above the real cost they land, are in docs/quotas.md ("Strict mode's estimate"):
//!
//! - **Text**: every UTF-8 byte of every JSON string and member name counts as one token (a token
//!   of the providers' tokenizers is at least one byte), plus [`TOKENS_PER_OBJECT`] per JSON
//!   object (message and part framing) and [`BASE_TOKENS`].
//! - **Binary parts** (base64 images, PDFs, audio): an image counts [`IMAGE_TOKENS`] (above every
//!   provider's per-image maximum); any other file one token per decoded byte.
//! - **Tools**: [`TOOLS_TOKENS`] more when the request defines tools (the providers' tool-use
//!   system prompts).
//! - **Context held upstream** (OpenAI `previous_response_id` / `conversation`, Gemini
//!   `cachedContent`): [`HELD_CONTEXT_TOKENS`] more, since the request does not show it.
//! - **Rates**: the model's own; input at the cache-write rate only where the request asks for
//!   cache control (`cache_control`, 1-hour rate when any asks for `"ttl":"1h"`); the long-context
//!   tier when the bound is past its threshold.
//! - **Output**: the request's cap (`max_tokens`, `max_completion_tokens`, `max_output_tokens`,
//!   `maxOutputTokens`), else [`DEFAULT_MAX_OUTPUT_TOKENS`], times the number of choices asked
//!   for (`n`, `candidateCount`).

use serde_json::Value;

use crate::money::{Decimal9, Money};
use crate::pricing::{Price, PricingError, apply_multiplier, cost};
use crate::usage::{ApiFamily, Usage};

/// Tokens every request is assumed to carry beyond its text (message framing, BOS tokens).
pub const BASE_TOKENS: u64 = 32;
/// Tokens per JSON object (role and part markers).
pub const TOKENS_PER_OBJECT: u64 = 4;
/// Tokens of one image (Anthropic caps an image near 1,600, OpenAI's high detail near 1,500 for
/// GPT-4o-class models and ~2,500 for patch-based ones, Gemini 258 per tile).
pub const IMAGE_TOKENS: u64 = 6_000;
/// Tokens of the tool-use system prompt a provider adds when tools are defined.
pub const TOOLS_TOKENS: u64 = 1_024;
/// Tokens assumed for context the upstream holds (`previous_response_id`, `cachedContent`).
pub const HELD_CONTEXT_TOKENS: u64 = 400_000;
/// Output tokens assumed when a request sets no cap (above the largest output limit of current
/// models, so the bound errs high).
pub const DEFAULT_MAX_OUTPUT_TOKENS: u64 = 128_000;

/// Which cache write a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheAsk {
    #[default]
    None,
    FiveMinutes,
    OneHour,
}

/// What the body says about its own cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestBound {
    /// Prompt tokens, at most (held context included).
    pub input_tokens: u64,
    /// Of which held upstream (priced at the cache-read rate for Gemini `cachedContent`).
    pub held_tokens: u64,
    /// The output cap the request set, if any.
    pub max_output_tokens: Option<u64>,
    /// Choices asked for (`n`, `candidateCount`), at least 1.
    pub choices: u64,
    /// Cache writes the request asks for.
    pub cache: CacheAsk,
}

impl RequestBound {
    /// Reads `body` (the client's JSON) of `family`. A body that is not JSON counts its bytes.
    pub fn read(family: ApiFamily, body: &[u8]) -> RequestBound {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return RequestBound { input_tokens: body.len() as u64 + BASE_TOKENS, choices: 1, ..Default::default() };
        };
        let mut walk = Walk::default();
        walk.value(None, &v);
        let field = |path: &str| v.pointer(path).and_then(Value::as_u64);
        let (max_output_tokens, choices) = match family {
            ApiFamily::Anthropic => (field("/max_tokens"), None),
            ApiFamily::OpenAiChat => (field("/max_completion_tokens").or(field("/max_tokens")), field("/n")),
            ApiFamily::OpenAiResponses => (field("/max_output_tokens"), None),
            ApiFamily::Gemini => {
                (field("/generationConfig/maxOutputTokens"), field("/generationConfig/candidateCount"))
            }
        };
        let held = match family {
            ApiFamily::OpenAiResponses => {
                v.get("previous_response_id").is_some_and(|x| !x.is_null())
                    || v.get("conversation").is_some_and(|x| !x.is_null())
            }
            ApiFamily::Gemini => v.get("cachedContent").is_some_and(|x| !x.is_null()),
            ApiFamily::Anthropic | ApiFamily::OpenAiChat => false,
        };
        let held_tokens = if held { HELD_CONTEXT_TOKENS } else { 0 };
        let tools = v.get("tools").is_some_and(|t| t.as_array().is_some_and(|a| !a.is_empty()));
        let input_tokens = BASE_TOKENS
            .saturating_add(walk.tokens)
            .saturating_add(if tools { TOOLS_TOKENS } else { 0 })
            .saturating_add(held_tokens);
        RequestBound {
            input_tokens,
            held_tokens,
            max_output_tokens,
            choices: choices.unwrap_or(1).max(1),
            cache: walk.cache,
        }
    }

    /// The usage this bound stands for: input at the dearest kind the request can be billed at.
    pub fn usage(&self, family: ApiFamily) -> Usage {
        let output = self.max_output_tokens.unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS).saturating_mul(self.choices);
        let mut usage = Usage { output_tokens: output, ..Usage::default() };
        // Gemini bills cached content at its cache-read rate; everything else is plain input or,
        // where the request asks for it, a cache write.
        let (held_as_read, rest) = match family {
            ApiFamily::Gemini => (self.held_tokens, self.input_tokens - self.held_tokens),
            _ => (0, self.input_tokens),
        };
        usage.cache_read_tokens = held_as_read;
        match self.cache {
            CacheAsk::None => usage.input_tokens = rest,
            CacheAsk::FiveMinutes => usage.cache_write_5m_tokens = rest,
            CacheAsk::OneHour => usage.cache_write_1h_tokens = rest,
        }
        usage
    }

    /// The bound priced at `price` times the user's `multiplier`, rounded up.
    pub fn cost(&self, family: ApiFamily, price: &Price, multiplier: Decimal9) -> Result<Money, PricingError> {
        apply_multiplier(cost(&self.usage(family), price)?, multiplier)
    }
}

/// Counts text tokens, binary parts and cache-control asks over a JSON tree.
#[derive(Default)]
struct Walk {
    tokens: u64,
    cache: CacheAsk,
}

impl Walk {
    fn value(&mut self, key: Option<&str>, v: &Value) {
        match v {
            Value::String(s) => self.string(key, s),
            Value::Array(items) => items.iter().for_each(|i| self.value(None, i)),
            Value::Object(map) => {
                self.tokens = self.tokens.saturating_add(TOKENS_PER_OBJECT);
                if let Some(cc) = map.get("cache_control").and_then(Value::as_object) {
                    let one_hour = cc.get("ttl").and_then(Value::as_str) == Some("1h");
                    self.cache = match (self.cache, one_hour) {
                        (_, true) | (CacheAsk::OneHour, _) => CacheAsk::OneHour,
                        _ => CacheAsk::FiveMinutes,
                    };
                }
                for (k, item) in map {
                    self.tokens = self.tokens.saturating_add(k.len() as u64);
                    self.value(Some(k), item);
                }
            }
            Value::Number(n) => self.tokens = self.tokens.saturating_add(n.to_string().len() as u64),
            Value::Bool(_) | Value::Null => self.tokens = self.tokens.saturating_add(1),
        }
    }

    fn string(&mut self, key: Option<&str>, s: &str) {
        let add = match binary_part(key, s) {
            Some(Binary::Image) => IMAGE_TOKENS,
            // Decoded bytes: three per four base64 characters.
            Some(Binary::File { base64_len }) => (base64_len as u64).div_ceil(4) * 3,
            None => s.len() as u64,
        };
        self.tokens = self.tokens.saturating_add(add);
    }
}

enum Binary {
    Image,
    File { base64_len: usize },
}

/// A base64 payload: a `data:` URL (OpenAI `image_url.url`, `file_data`), or the `data` member of
/// an Anthropic `source` / Gemini `inline_data` (their media type is a sibling we do not see here,
/// so a long `data` string is taken as a file; an image then counts as a file, which errs high).
fn binary_part(key: Option<&str>, s: &str) -> Option<Binary> {
    if let Some(rest) = s.strip_prefix("data:") {
        let (meta, payload) = rest.split_once(',')?;
        return Some(if meta.starts_with("image/") {
            Binary::Image
        } else {
            Binary::File { base64_len: payload.len() }
        });
    }
    (key == Some("data") && s.len() > 1024).then_some(Binary::File { base64_len: s.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_framing() {
        let body = br#"{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"hello"}]}"#;
        let b = RequestBound::read(ApiFamily::Anthropic, body);
        // keys: model(5) max_tokens(10) messages(8) role(4) content(7) = 34; strings: m(1) user(4)
        // hello(5) = 10; number 100 = 3; two objects = 8; base 32.
        assert_eq!(b.input_tokens, 34 + 10 + 3 + 8 + BASE_TOKENS);
        assert_eq!(b.max_output_tokens, Some(100));
        assert_eq!(b.cache, CacheAsk::None);
        assert_eq!(b.usage(ApiFamily::Anthropic).output_tokens, 100);
    }

    #[test]
    fn cache_control_choices_and_held_context() {
        let body = br#"{"system":[{"type":"text","text":"x","cache_control":{"type":"ephemeral","ttl":"1h"}}],"max_tokens":10}"#;
        let b = RequestBound::read(ApiFamily::Anthropic, body);
        assert_eq!(b.cache, CacheAsk::OneHour);
        let u = b.usage(ApiFamily::Anthropic);
        assert_eq!((u.input_tokens, u.cache_write_1h_tokens), (0, b.input_tokens));
        let chat = RequestBound::read(ApiFamily::OpenAiChat, br#"{"n":3,"max_completion_tokens":50}"#);
        assert_eq!(chat.usage(ApiFamily::OpenAiChat).output_tokens, 150);
        let resp = RequestBound::read(ApiFamily::OpenAiResponses, br#"{"previous_response_id":"r","input":"hi"}"#);
        assert!(resp.input_tokens > HELD_CONTEXT_TOKENS);
        assert_eq!(resp.usage(ApiFamily::OpenAiResponses).output_tokens, DEFAULT_MAX_OUTPUT_TOKENS);
        let gem = RequestBound::read(
            ApiFamily::Gemini,
            br#"{"cachedContent":"c/1","generationConfig":{"candidateCount":2,"maxOutputTokens":7}}"#,
        );
        let u = gem.usage(ApiFamily::Gemini);
        assert_eq!((u.cache_read_tokens, u.output_tokens), (HELD_CONTEXT_TOKENS, 14));
    }

    #[test]
    fn images_count_a_fixed_amount_files_their_bytes() {
        let img = format!(r#"{{"image_url":{{"url":"data:image/png;base64,{}"}}}}"#, "A".repeat(400_000));
        let b = RequestBound::read(ApiFamily::OpenAiChat, img.as_bytes());
        assert!(b.input_tokens < IMAGE_TOKENS + 100, "{}", b.input_tokens);
        let pdf = format!(r#"{{"source":{{"data":"{}"}}}}"#, "A".repeat(4_000));
        let b = RequestBound::read(ApiFamily::Anthropic, pdf.as_bytes());
        assert!(b.input_tokens >= 3_000 && b.input_tokens < 3_100, "{}", b.input_tokens);
        assert_eq!(RequestBound::read(ApiFamily::Anthropic, b"not json").input_tokens, 8 + BASE_TOKENS);
    }
}
