//! Token usage read from upstream responses, normalized across API families (SPEC 3).
//!
//! Each family has an accumulator ([`UsageAccumulator`]) that takes either a whole non-streaming
//! response body or a stream's events one by one, and reports a [`UsageReport`]: the usage seen so
//! far, whether the final usage event was seen, and how many output characters were streamed (so a
//! stream cut before its final usage can still be charged for its output, SPEC 2.4).
//! [`StreamUsage`] wires a byte decoder (SSE, or Gemini's streamed JSON array) to an accumulator.
//!
//! Malformed JSON never panics: the event is ignored for usage and counted in
//! [`UsageReport::malformed_events`] so callers can log it.

pub mod anthropic;
pub mod gemini;
pub mod json_array;
pub mod openai_chat;
pub mod openai_responses;
mod stream;

use serde::{Deserialize, Serialize};

pub use stream::{Framing, StreamUsage};

/// Token counts by kind, as priced. `input_tokens` excludes every cache token: each family's
/// accumulator subtracts cached tokens where the provider counts them inside its prompt total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Uncached prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens, reasoning/thinking included.
    pub output_tokens: u64,
    /// Prompt tokens read from a cache.
    pub cache_read_tokens: u64,
    /// Prompt tokens written to a 5-minute cache (Anthropic).
    pub cache_write_5m_tokens: u64,
    /// Prompt tokens written to a 1-hour cache (Anthropic).
    pub cache_write_1h_tokens: u64,
    /// Server-side tool calls billed per call (their tokens are in the counts above).
    #[serde(default, skip_serializing_if = "ToolCalls::is_empty")]
    pub tool_calls: ToolCalls,
}

/// Server-side tool calls a response reports, by kind (priced by [`crate::pricing::ToolFees`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ToolCalls {
    /// Web searches (Anthropic `server_tool_use.web_search_requests`, OpenAI `web_search_call`
    /// output items, Gemini grounding `webSearchQueries`).
    #[serde(default)]
    pub web_search: u64,
    /// Web fetches (Anthropic `server_tool_use.web_fetch_requests`).
    #[serde(default)]
    pub web_fetch: u64,
    /// File searches (OpenAI `file_search_call` output items).
    #[serde(default)]
    pub file_search: u64,
    /// Code executions (Anthropic `server_tool_use.code_execution_requests`, OpenAI
    /// `code_interpreter_call` output items).
    #[serde(default)]
    pub code_execution: u64,
}

impl ToolCalls {
    /// No call of any kind.
    pub fn is_empty(&self) -> bool {
        *self == ToolCalls::default()
    }

    /// The larger count of each kind (a cumulative report never goes down).
    pub fn max(self, other: ToolCalls) -> ToolCalls {
        self.zip(other, u64::max)
    }

    /// What `self` counts beyond `other`, kind by kind (never below zero).
    pub fn saturating_sub(self, other: ToolCalls) -> ToolCalls {
        self.zip(other, u64::saturating_sub)
    }

    fn zip(self, o: ToolCalls, f: impl Fn(u64, u64) -> u64) -> ToolCalls {
        ToolCalls {
            web_search: f(self.web_search, o.web_search),
            web_fetch: f(self.web_fetch, o.web_fetch),
            file_search: f(self.file_search, o.file_search),
            code_execution: f(self.code_execution, o.code_execution),
        }
    }
}

impl Usage {
    /// Every prompt-side token: input plus cache reads and writes. Long-context price tiers are
    /// chosen by this total.
    pub fn prompt_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.cache_read_tokens)
            .saturating_add(self.cache_write_5m_tokens)
            .saturating_add(self.cache_write_1h_tokens)
    }

    /// From a prompt total that INCLUDES its cached part (OpenAI, Gemini): the cached tokens are
    /// cache reads, the rest is input. A cached count above the total is capped at it.
    fn from_inclusive_prompt(prompt: u64, cached: u64, output: u64) -> Usage {
        let cached = cached.min(prompt);
        Usage { input_tokens: prompt - cached, output_tokens: output, cache_read_tokens: cached, ..Usage::default() }
    }

    /// What `self` counts beyond `other`, kind by kind (never below zero): usage reported after a
    /// charge, when a running total grew past it.
    pub fn saturating_sub(&self, other: &Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_sub(other.input_tokens),
            output_tokens: self.output_tokens.saturating_sub(other.output_tokens),
            cache_read_tokens: self.cache_read_tokens.saturating_sub(other.cache_read_tokens),
            cache_write_5m_tokens: self.cache_write_5m_tokens.saturating_sub(other.cache_write_5m_tokens),
            cache_write_1h_tokens: self.cache_write_1h_tokens.saturating_sub(other.cache_write_1h_tokens),
            tool_calls: self.tool_calls.saturating_sub(other.tool_calls),
        }
    }

    /// No token and no tool call of any kind.
    pub fn is_empty(&self) -> bool {
        self.prompt_tokens() == 0 && self.output_tokens == 0 && self.tool_calls.is_empty()
    }
}

/// An **estimate** of the output tokens behind `chars` streamed characters: about four characters
/// per token, rounded up. Used only when a stream was cut before its final usage event; real
/// tokenizers vary (code and non-Latin text use more tokens per character).
pub fn estimate_output_tokens_from_chars(chars: u64) -> u64 {
    chars.div_ceil(4)
}

/// What an accumulator has seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UsageReport {
    /// The usage reported by the upstream so far.
    pub usage: Usage,
    /// The family's final usage was seen (e.g. Anthropic `message_delta`, OpenAI's usage chunk,
    /// Responses' terminal event, Gemini's chunk with a finish reason), or a whole body had usage.
    pub final_seen: bool,
    /// Characters of streamed output: text, tool-input JSON and thinking deltas.
    pub output_chars: u64,
    /// Events (or bodies) that were not valid JSON of the expected shape; ignored for usage.
    pub malformed_events: u64,
    /// Events dropped by the stream decoder for exceeding its size cap (see [`StreamUsage`]).
    pub oversized_events: u64,
}

impl UsageReport {
    /// The usage to charge. With the final usage seen, exactly what the upstream reported.
    /// Otherwise (a cut stream) the input seen so far, and output of at least the estimate from the
    /// streamed characters ([`estimate_output_tokens_from_chars`]), so output is never free.
    pub fn billable(&self) -> Usage {
        let mut usage = self.usage;
        if !self.final_seen {
            let estimate = estimate_output_tokens_from_chars(self.output_chars);
            usage.output_tokens = usage.output_tokens.max(estimate);
        }
        usage
    }
}

/// Reads usage from one response of one API family.
pub trait UsageAccumulator {
    /// A whole non-streaming response body.
    fn observe_body(&mut self, body: &[u8]);
    /// One streamed event: the SSE event name (`"message"` when none) and its data. For Gemini's
    /// JSON-array stream, `data` is one array element.
    fn observe_event(&mut self, event: &str, data: &str);
    /// What was seen so far.
    fn report(&self) -> UsageReport;
}

/// The wire API a response speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiFamily {
    /// Anthropic Messages.
    Anthropic,
    /// OpenAI Chat Completions.
    OpenAiChat,
    /// OpenAI Responses.
    OpenAiResponses,
    /// Google Gemini `generateContent` / `streamGenerateContent` (also Cloud Code `v1internal`).
    Gemini,
}

impl ApiFamily {
    /// A fresh accumulator for this family.
    pub fn accumulator(self) -> Box<dyn UsageAccumulator + Send> {
        self.accumulator_for(1)
    }

    /// A fresh accumulator for a request that asked for `choices` answers (Gemini
    /// `candidateCount`: its stream ends when each has finished; the other families report usage
    /// once for all choices).
    pub fn accumulator_for(self, choices: u64) -> Box<dyn UsageAccumulator + Send> {
        match self {
            ApiFamily::Anthropic => Box::new(anthropic::AnthropicUsage::default()),
            ApiFamily::OpenAiChat => Box::new(openai_chat::OpenAiChatUsage::default()),
            ApiFamily::OpenAiResponses => Box::new(openai_responses::OpenAiResponsesUsage::default()),
            ApiFamily::Gemini => Box::new(gemini::GeminiUsage::for_candidates(choices)),
        }
    }
}

/// Characters in an optional streamed string.
fn chars(s: Option<&str>) -> u64 {
    s.map_or(0, |s| s.chars().count() as u64)
}
