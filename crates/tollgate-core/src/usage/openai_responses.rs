//! OpenAI Responses usage (<https://platform.openai.com/docs/api-reference/responses-streaming>).
//!
//! `usage.input_tokens` INCLUDES `input_tokens_details.cached_tokens` (normalized input is the
//! difference; the cached part is a cache read); `output_tokens` includes reasoning tokens.
//! Streaming usage arrives in `response.usage` on the terminal events `response.completed`,
//! `response.incomplete` and `response.failed`.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{ToolCalls, Usage, UsageAccumulator, UsageReport, chars};

/// Usage accumulator for Responses API responses.
#[derive(Debug, Clone, Default)]
pub struct OpenAiResponsesUsage {
    report: UsageReport,
}

/// Event types whose string `delta` is model output (text, tool arguments, reasoning).
const OUTPUT_DELTAS: &[&str] = &[
    "response.output_text.delta",
    "response.refusal.delta",
    "response.function_call_arguments.delta",
    "response.custom_tool_call_input.delta",
    "response.reasoning_text.delta",
    "response.reasoning_summary_text.delta",
];

/// Event types that end a response and carry its usage.
const TERMINAL: &[&str] = &["response.completed", "response.incomplete", "response.failed"];

#[derive(Debug, Default, Deserialize)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    input_tokens_details: Option<InputDetails>,
}

#[derive(Debug, Default, Deserialize)]
struct InputDetails {
    cached_tokens: Option<u64>,
}

/// A response object: the non-streaming body, or `response` inside a stream event.
#[derive(Debug, Default, Deserialize)]
struct Response {
    usage: Option<WireUsage>,
    /// Output items; server tool calls among them are billed per call.
    output: Option<Vec<OutputItem>>,
}

#[derive(Debug, Default, Deserialize)]
struct OutputItem {
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl Response {
    /// Server-side tool calls among the output items
    /// (<https://platform.openai.com/docs/guides/tools-web-search>).
    fn tool_calls(&self) -> ToolCalls {
        let mut calls = ToolCalls::default();
        for item in self.output.iter().flatten() {
            match item.kind.as_deref() {
                Some("web_search_call") => calls.web_search += 1,
                Some("file_search_call") => calls.file_search += 1,
                Some("code_interpreter_call") => calls.code_execution += 1,
                _ => {}
            }
        }
        calls
    }

    /// The usage of this response, tool calls included.
    fn usage(&self) -> Option<Usage> {
        let mut usage = self.usage.as_ref()?.normalize();
        usage.tool_calls = self.tool_calls();
        Some(usage)
    }
}

#[derive(Debug, Default, Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Raw, because only some event types have a string delta.
    delta: Option<Box<RawValue>>,
    response: Option<Response>,
}

impl WireUsage {
    fn normalize(&self) -> Usage {
        let cached = self.input_tokens_details.as_ref().and_then(|d| d.cached_tokens);
        Usage::from_inclusive_prompt(
            self.input_tokens.unwrap_or(0),
            cached.unwrap_or(0),
            self.output_tokens.unwrap_or(0),
        )
    }
}

impl UsageAccumulator for OpenAiResponsesUsage {
    fn observe_body(&mut self, body: &[u8]) {
        match serde_json::from_slice::<Response>(body) {
            Ok(response) => {
                if let Some(usage) = response.usage() {
                    self.report.usage = usage;
                    self.report.final_seen = true;
                }
            }
            Err(_) => self.report.malformed_events += 1,
        }
    }

    fn observe_event(&mut self, event: &str, data: &str) {
        let parsed = match serde_json::from_str::<Event>(data) {
            Ok(e) => e,
            Err(_) => {
                self.report.malformed_events += 1;
                return;
            }
        };
        let kind = parsed.kind.as_deref().unwrap_or(event);
        if OUTPUT_DELTAS.contains(&kind)
            && let Some(raw) = &parsed.delta
        {
            match serde_json::from_str::<String>(raw.get()) {
                Ok(text) => self.report.output_chars += chars(Some(&text)),
                Err(_) => self.report.malformed_events += 1,
            }
        }
        // Usage is normally null before the end; take any that is set, and mark the end.
        if let Some(usage) = parsed.response.as_ref().and_then(Response::usage) {
            self.report.usage = usage;
            if TERMINAL.contains(&kind) {
                self.report.final_seen = true;
            }
        }
    }

    fn report(&self) -> UsageReport {
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_subtracts_cached_tokens() {
        let mut acc = OpenAiResponsesUsage::default();
        acc.observe_body(br#"{"id":"resp_1","object":"response","status":"completed","usage":{"input_tokens":5000,"input_tokens_details":{"cached_tokens":4096},"output_tokens":700,"output_tokens_details":{"reasoning_tokens":512},"total_tokens":5700}}"#);
        let r = acc.report();
        assert_eq!(
            r.usage,
            Usage { input_tokens: 904, output_tokens: 700, cache_read_tokens: 4096, ..Usage::default() }
        );
        assert!(r.final_seen);
    }

    #[test]
    fn stream_events() {
        let mut acc = OpenAiResponsesUsage::default();
        acc.observe_event("response.created", r#"{"type":"response.created","response":{"id":"r","usage":null}}"#);
        acc.observe_event("response.output_text.delta", r#"{"type":"response.output_text.delta","delta":"Hi there"}"#);
        acc.observe_event(
            "response.function_call_arguments.delta",
            r#"{"type":"response.function_call_arguments.delta","delta":"{}"}"#,
        );
        acc.observe_event("response.audio.delta", r#"{"type":"response.audio.delta","delta":"AAAA"}"#);
        assert!(!acc.report().final_seen);
        acc.observe_event("response.incomplete", r#"{"type":"response.incomplete","response":{"status":"incomplete","usage":{"input_tokens":10,"output_tokens":4,"input_tokens_details":{"cached_tokens":0}}}}"#);
        let r = acc.report();
        assert_eq!(r.output_chars, 10);
        assert!(r.final_seen);
        assert_eq!(r.usage, Usage { input_tokens: 10, output_tokens: 4, ..Usage::default() });
    }

    #[test]
    fn server_tool_calls_are_counted_from_output_items() {
        let mut acc = OpenAiResponsesUsage::default();
        acc.observe_event("response.completed", r#"{"type":"response.completed","response":{"output":[{"type":"web_search_call","id":"ws_1"},{"type":"web_search_call","id":"ws_2"},{"type":"file_search_call"},{"type":"message"}],"usage":{"input_tokens":10,"output_tokens":4}}}"#);
        let calls = acc.report().usage.tool_calls;
        assert_eq!((calls.web_search, calls.file_search, calls.code_execution), (2, 1, 0));
        let mut body = OpenAiResponsesUsage::default();
        body.observe_body(
            br#"{"output":[{"type":"code_interpreter_call"}],"usage":{"input_tokens":1,"output_tokens":1}}"#,
        );
        assert_eq!(body.report().usage.tool_calls.code_execution, 1);
    }
}
