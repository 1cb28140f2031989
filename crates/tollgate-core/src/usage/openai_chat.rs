//! OpenAI Chat Completions usage (<https://platform.openai.com/docs/api-reference/chat/object>).
//!
//! `prompt_tokens` INCLUDES `prompt_tokens_details.cached_tokens`, so the normalized input is
//! `prompt_tokens - cached_tokens` and the cached part is a cache read. `completion_tokens` already
//! includes reasoning tokens. Streaming usage arrives only with `stream_options.include_usage`, on
//! one chunk whose `usage` is set (normally with `choices: []`), just before `data: [DONE]`. When the
//! gateway injected `include_usage` itself, it drops that chunk with [`is_usage_only_chunk`].

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{Usage, UsageAccumulator, UsageReport, chars};

/// Usage accumulator for Chat Completions responses.
#[derive(Debug, Clone, Default)]
pub struct OpenAiChatUsage {
    report: UsageReport,
}

#[derive(Debug, Default, Deserialize)]
struct WireUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Debug, Default, Deserialize)]
struct PromptDetails {
    cached_tokens: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct Function {
    arguments: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ToolCall {
    function: Option<Function>,
}

#[derive(Debug, Default, Deserialize)]
struct Delta {
    content: Option<String>,
    refusal: Option<String>,
    /// Not in OpenAI's own API; compatible upstreams (DeepSeek, vLLM, OpenRouter) stream
    /// reasoning here.
    reasoning_content: Option<String>,
    reasoning: Option<String>,
    tool_calls: Option<Vec<ToolCall>>,
}

#[derive(Debug, Default, Deserialize)]
struct Choice {
    delta: Option<Delta>,
}

/// A chunk (streaming) or a whole completion (non-streaming).
#[derive(Debug, Default, Deserialize)]
struct Chunk {
    choices: Option<Vec<Choice>>,
    usage: Option<WireUsage>,
}

impl WireUsage {
    fn normalize(&self) -> Usage {
        let cached = self.prompt_tokens_details.as_ref().and_then(|d| d.cached_tokens);
        Usage::from_inclusive_prompt(
            self.prompt_tokens.unwrap_or(0),
            cached.unwrap_or(0),
            self.completion_tokens.unwrap_or(0),
        )
    }
}

impl OpenAiChatUsage {
    fn observe(&mut self, bytes: &[u8], streamed: bool) {
        let chunk = match serde_json::from_slice::<Chunk>(bytes) {
            Ok(c) => c,
            Err(_) => {
                self.report.malformed_events += 1;
                return;
            }
        };
        for delta in chunk.choices.iter().flatten().filter_map(|c| c.delta.as_ref()) {
            let tool_args: u64 = delta
                .tool_calls
                .iter()
                .flatten()
                .map(|t| chars(t.function.as_ref().and_then(|f| f.arguments.as_deref())))
                .sum();
            self.report.output_chars += chars(delta.content.as_deref())
                + chars(delta.refusal.as_deref())
                + chars(delta.reasoning_content.as_deref())
                + chars(delta.reasoning.as_deref())
                + tool_args;
        }
        if let Some(wire) = &chunk.usage {
            // The last usage wins: with `stream_options.continuous_usage_stats` (vLLM and other
            // compatible upstreams) every chunk carries the running total. The final usage is the
            // usage-only chunk (`choices: []`) that `include_usage` adds, or a whole body; a
            // running total on a content chunk is not final (`[DONE]` ends the stream then).
            self.report.usage = wire.normalize();
            if !streamed || chunk.choices.as_ref().is_none_or(Vec::is_empty) {
                self.report.final_seen = true;
            }
        }
    }
}

impl UsageAccumulator for OpenAiChatUsage {
    fn observe_body(&mut self, body: &[u8]) {
        self.observe(body, false);
    }

    fn observe_event(&mut self, _event: &str, data: &str) {
        if data.trim() == "[DONE]" {
            // The stream's end: a running total seen so far is the final usage.
            if self.report.usage != Usage::default() {
                self.report.final_seen = true;
            }
            return;
        }
        self.observe(data.as_bytes(), true);
    }

    fn report(&self) -> UsageReport {
        self.report
    }
}

/// Whether a stream chunk's data is the usage-only chunk that `include_usage` adds: `choices` is an
/// empty array and `usage` is not null. The gateway drops it when the client did not ask for it.
pub fn is_usage_only_chunk(data: &str) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        choices: Option<Vec<IgnoredAny>>,
        usage: Option<IgnoredAny>,
    }
    match serde_json::from_str::<Probe>(data) {
        Ok(p) => p.choices.is_some_and(|c| c.is_empty()) && p.usage.is_some(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_subtracts_cached_tokens() {
        let mut acc = OpenAiChatUsage::default();
        acc.observe_body(br#"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920},"completion_tokens_details":{"reasoning_tokens":100}}}"#);
        let r = acc.report();
        assert_eq!(
            r.usage,
            Usage { input_tokens: 86, output_tokens: 300, cache_read_tokens: 1920, ..Usage::default() }
        );
        assert!(r.final_seen);
    }

    #[test]
    fn stream_counts_content_and_tool_arguments() {
        let mut acc = OpenAiChatUsage::default();
        acc.observe_event(
            "message",
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}],"usage":null}"#,
        );
        acc.observe_event("message", r#"{"choices":[{"index":0,"delta":{"content":"Hello"}}],"usage":null}"#);
        acc.observe_event(
            "message",
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}]}}]}"#,
        );
        acc.observe_event("message", "[DONE]");
        let r = acc.report();
        assert_eq!(r.output_chars, 5 + 7);
        assert!(!r.final_seen);
        assert_eq!(r.malformed_events, 0);
        assert_eq!(r.billable().output_tokens, 3);
    }

    #[test]
    fn usage_only_chunk_detection() {
        assert!(is_usage_only_chunk(r#"{"id":"c","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#));
        assert!(!is_usage_only_chunk(r#"{"id":"c","choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":1}}"#));
        assert!(!is_usage_only_chunk(r#"{"id":"c","choices":[],"usage":null}"#));
        assert!(!is_usage_only_chunk(r#"{"id":"c","usage":{"prompt_tokens":1}}"#));
        assert!(!is_usage_only_chunk("[DONE]"));
        assert!(!is_usage_only_chunk("{"));
    }

    #[test]
    fn continuous_usage_takes_the_last_running_total() {
        let mut acc = OpenAiChatUsage::default();
        let chunk = |text: &str, completion: u64| {
            format!(
                r#"{{"choices":[{{"index":0,"delta":{{"content":"{text}"}}}}],"usage":{{"prompt_tokens":40,"completion_tokens":{completion}}}}}"#
            )
        };
        acc.observe_event("message", &chunk("a", 1));
        assert!(!acc.report().final_seen, "a running total on a content chunk is not final");
        acc.observe_event("message", &chunk("b", 2));
        acc.observe_event("message", &chunk("c", 300));
        assert!(!acc.report().final_seen);
        acc.observe_event("message", "[DONE]");
        let r = acc.report();
        assert!(r.final_seen);
        assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (40, 300));
        // The usage-only chunk of include_usage is final at once.
        let mut acc = OpenAiChatUsage::default();
        acc.observe_event("message", &chunk("a", 1));
        acc.observe_event("message", r#"{"choices":[],"usage":{"prompt_tokens":40,"completion_tokens":7}}"#);
        assert!(acc.report().final_seen);
        assert_eq!(acc.report().usage.output_tokens, 7);
    }
}
