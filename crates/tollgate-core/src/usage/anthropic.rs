//! Anthropic Messages usage
//! (<https://docs.anthropic.com/en/api/messages>, <https://docs.anthropic.com/en/docs/build-with-claude/streaming>).
//!
//! `input_tokens` already excludes cache tokens. `cache_creation_input_tokens` is split into 5-minute
//! and 1-hour writes by `cache_creation.{ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}` when
//! present (else it is all 5-minute). Streaming: `message_start` carries input/cache usage in
//! `message.usage`; `message_delta` carries the cumulative `usage.output_tokens`, and some compatible
//! upstreams also send input/cache fields there: a field present and nonzero in a delta overrides.
//! With server-side compaction (`context_management`, beta `compact-2026-01-12`) a request samples
//! more than once and `usage.iterations` lists each pass; the top-level figures are only the last
//! pass, so each kind is charged as the sum over the iterations when that is larger.

use serde::Deserialize;

use super::{UsageAccumulator, UsageReport, chars};

/// Usage accumulator for Anthropic Messages responses.
#[derive(Debug, Clone, Default)]
pub struct AnthropicUsage {
    report: UsageReport,
}

#[derive(Debug, Default, Deserialize)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation: Option<CacheCreation>,
    server_tool_use: Option<ServerToolUse>,
    /// Server-side compaction samples more than once per request; the top-level figures are the
    /// last (`message`) iteration only, while every iteration is billed.
    iterations: Option<Vec<Iteration>>,
}

/// One sampling pass of a request (`compaction`, `message`, …).
#[derive(Debug, Default, Deserialize)]
struct Iteration {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

/// Server tools billed per call (<https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/web-search-tool>).
#[derive(Debug, Default, Deserialize)]
struct ServerToolUse {
    web_search_requests: Option<u64>,
    web_fetch_requests: Option<u64>,
    code_execution_requests: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct CacheCreation {
    ephemeral_5m_input_tokens: Option<u64>,
    ephemeral_1h_input_tokens: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct Message {
    usage: Option<WireUsage>,
}

#[derive(Debug, Default, Deserialize)]
struct Delta {
    text: Option<String>,
    partial_json: Option<String>,
    thinking: Option<String>,
}

/// A stream event's data, or a whole response body (which has a top-level `usage`).
#[derive(Debug, Default, Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<Message>,
    usage: Option<WireUsage>,
    delta: Option<Delta>,
}

/// How a usage object combines with what was seen before.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Merge {
    /// Fields present replace (a body, `message_start`).
    Set,
    /// Fields present and nonzero replace; output tokens (cumulative) replace when present.
    Delta,
}

impl WireUsage {
    /// `(5m, 1h)` cache writes, if the object says anything about cache writes.
    fn cache_writes(&self) -> Option<(u64, u64)> {
        let total = self.cache_creation_input_tokens;
        match &self.cache_creation {
            Some(split) => {
                let w5 = split.ephemeral_5m_input_tokens.unwrap_or(0);
                let w1 = split.ephemeral_1h_input_tokens.unwrap_or(0);
                // Never lose tokens: a total above the split's sum is billed as 5-minute writes.
                let rest = total.unwrap_or(0).saturating_sub(w5.saturating_add(w1));
                Some((w5.saturating_add(rest), w1))
            }
            None => total.map(|t| (t, 0)),
        }
    }
}

impl AnthropicUsage {
    fn merge(&mut self, wire: &WireUsage, how: Merge) {
        let u = &mut self.report.usage;
        let take = |slot: &mut u64, value: Option<u64>| match (how, value) {
            (Merge::Set, Some(v)) => *slot = v,
            (Merge::Delta, Some(v)) if v > 0 => *slot = v,
            _ => {}
        };
        take(&mut u.input_tokens, wire.input_tokens);
        take(&mut u.cache_read_tokens, wire.cache_read_input_tokens);
        if let Some(v) = wire.output_tokens {
            u.output_tokens = v;
        }
        if let Some(tools) = &wire.server_tool_use {
            // Cumulative counts: the larger one wins, so a delta cannot lower them.
            u.tool_calls = u.tool_calls.max(crate::usage::ToolCalls {
                web_search: tools.web_search_requests.unwrap_or(0),
                web_fetch: tools.web_fetch_requests.unwrap_or(0),
                code_execution: tools.code_execution_requests.unwrap_or(0),
                file_search: 0,
            });
        }
        if let Some((w5, w1)) = wire.cache_writes()
            && (how == Merge::Set || w5 > 0 || w1 > 0)
        {
            u.cache_write_5m_tokens = w5;
            u.cache_write_1h_tokens = w1;
        }
        // Every iteration is billed: per kind, their sum when it is above the top-level figure
        // (cache writes of an iteration, unsplit, count as 5-minute writes).
        if let Some(iterations) = wire.iterations.as_deref().filter(|i| !i.is_empty()) {
            let sum = |f: fn(&Iteration) -> Option<u64>| {
                iterations.iter().fold(0u64, |acc, i| acc.saturating_add(f(i).unwrap_or(0)))
            };
            u.input_tokens = u.input_tokens.max(sum(|i| i.input_tokens));
            u.output_tokens = u.output_tokens.max(sum(|i| i.output_tokens));
            u.cache_read_tokens = u.cache_read_tokens.max(sum(|i| i.cache_read_input_tokens));
            let writes = sum(|i| i.cache_creation_input_tokens);
            let counted = u.cache_write_5m_tokens.saturating_add(u.cache_write_1h_tokens);
            u.cache_write_5m_tokens = u.cache_write_5m_tokens.saturating_add(writes.saturating_sub(counted));
        }
    }

    fn parse(&mut self, bytes: &[u8]) -> Option<Payload> {
        match serde_json::from_slice::<Payload>(bytes) {
            Ok(p) => Some(p),
            Err(_) => {
                self.report.malformed_events += 1;
                None
            }
        }
    }
}

impl UsageAccumulator for AnthropicUsage {
    fn observe_body(&mut self, body: &[u8]) {
        let Some(payload) = self.parse(body) else {
            return;
        };
        if let Some(wire) = &payload.usage {
            self.merge(wire, Merge::Set);
            self.report.final_seen = true;
        }
    }

    fn observe_event(&mut self, event: &str, data: &str) {
        // `ping` and `message_stop` carry nothing we need; skip parsing them.
        if matches!(event, "ping" | "message_stop" | "content_block_stop") {
            return;
        }
        let Some(payload) = self.parse(data.as_bytes()) else {
            return;
        };
        // The data's own `type` is authoritative; the SSE event name is the fallback.
        let kind = payload.kind.as_deref().unwrap_or(event);
        match kind {
            "message_start" => {
                if let Some(wire) = payload.message.as_ref().and_then(|m| m.usage.as_ref()) {
                    self.merge(wire, Merge::Set);
                }
            }
            "content_block_delta" => {
                if let Some(d) = &payload.delta {
                    self.report.output_chars +=
                        chars(d.text.as_deref()) + chars(d.partial_json.as_deref()) + chars(d.thinking.as_deref());
                }
            }
            "message_delta" => {
                if let Some(wire) = &payload.usage {
                    self.merge(wire, Merge::Delta);
                    self.report.final_seen = true;
                }
            }
            _ => {}
        }
    }

    fn report(&self) -> UsageReport {
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::Usage;

    fn usage(input: u64, output: u64, read: u64, w5: u64, w1: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: read,
            cache_write_5m_tokens: w5,
            cache_write_1h_tokens: w1,
            tool_calls: Default::default(),
        }
    }

    #[test]
    fn body_with_cache_split() {
        let mut acc = AnthropicUsage::default();
        acc.observe_body(br#"{"type":"message","usage":{"input_tokens":12,"cache_creation_input_tokens":300,"cache_read_input_tokens":40,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200},"output_tokens":7}}"#);
        let r = acc.report();
        assert_eq!(r.usage, usage(12, 7, 40, 100, 200));
        assert!(r.final_seen);
    }

    #[test]
    fn every_compaction_iteration_is_charged() {
        // The documented shape: the top level is the last (message) pass only.
        let body = br#"{"usage":{"input_tokens":23000,"output_tokens":1000,"cache_read_input_tokens":10,"iterations":[{"type":"compaction","input_tokens":180000,"output_tokens":3500,"cache_read_input_tokens":40,"cache_creation_input_tokens":7},{"type":"message","input_tokens":23000,"output_tokens":1000,"cache_read_input_tokens":10}]}}"#;
        let mut acc = AnthropicUsage::default();
        acc.observe_body(body);
        assert_eq!(acc.report().usage, usage(203_000, 4_500, 50, 7, 0));
        // Streamed: the iterations come with the final message_delta.
        let mut acc = AnthropicUsage::default();
        acc.observe_event(
            "message_start",
            r#"{"type":"message_start","message":{"usage":{"input_tokens":23000,"output_tokens":1}}}"#,
        );
        acc.observe_event("message_delta", r#"{"type":"message_delta","usage":{"output_tokens":1000,"iterations":[{"type":"compaction","input_tokens":180000,"output_tokens":3500},{"type":"message","input_tokens":23000,"output_tokens":1000}]}}"#);
        assert_eq!(acc.report().usage, usage(203_000, 4_500, 0, 0, 0));
    }

    #[test]
    fn cache_creation_without_split_is_all_five_minute() {
        let mut acc = AnthropicUsage::default();
        acc.observe_body(br#"{"usage":{"input_tokens":1,"cache_creation_input_tokens":50,"output_tokens":2}}"#);
        assert_eq!(acc.report().usage, usage(1, 2, 0, 50, 0));
        // A total larger than its split keeps the remainder as 5-minute writes.
        let mut acc = AnthropicUsage::default();
        acc.observe_body(
            br#"{"usage":{"cache_creation_input_tokens":50,"cache_creation":{"ephemeral_1h_input_tokens":20}}}"#,
        );
        assert_eq!(acc.report().usage, usage(0, 0, 0, 30, 20));
    }

    #[test]
    fn delta_overrides_only_nonzero_fields() {
        let mut acc = AnthropicUsage::default();
        acc.observe_event("message_start", r#"{"type":"message_start","message":{"usage":{"input_tokens":10,"cache_read_input_tokens":5,"cache_creation_input_tokens":8,"output_tokens":1}}}"#);
        assert!(!acc.report().final_seen);
        acc.observe_event("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":0,"cache_read_input_tokens":6,"cache_creation_input_tokens":0,"output_tokens":42}}"#);
        let r = acc.report();
        assert_eq!(r.usage, usage(10, 42, 6, 8, 0));
        assert!(r.final_seen);
    }

    #[test]
    fn counts_text_tool_and_thinking_deltas() {
        let mut acc = AnthropicUsage::default();
        acc.observe_event(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"héllo"}}"#,
        );
        acc.observe_event(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"abcdef"}}"#,
        );
        acc.observe_event(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hi"}}"#,
        );
        acc.observe_event(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
        );
        acc.observe_event("message", "{not json");
        let r = acc.report();
        assert_eq!(r.output_chars, 5 + 2 + 5);
        assert_eq!(r.malformed_events, 1);
        assert_eq!(r.billable().output_tokens, 3);
    }

    #[test]
    fn server_tool_use_is_counted_and_never_lowered() {
        let mut acc = AnthropicUsage::default();
        acc.observe_event(
            "message_start",
            r#"{"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}"#,
        );
        acc.observe_event("message_delta", r#"{"type":"message_delta","usage":{"output_tokens":5,"server_tool_use":{"web_search_requests":2,"web_fetch_requests":1}}}"#);
        acc.observe_event(
            "message_delta",
            r#"{"type":"message_delta","usage":{"output_tokens":9,"server_tool_use":{"web_search_requests":1}}}"#,
        );
        let calls = acc.report().usage.tool_calls;
        assert_eq!((calls.web_search, calls.web_fetch), (2, 1));
        let mut body = AnthropicUsage::default();
        body.observe_body(
            br#"{"usage":{"input_tokens":1,"output_tokens":1,"server_tool_use":{"web_search_requests":3}}}"#,
        );
        assert_eq!(body.report().usage.tool_calls.web_search, 3);
    }
}
