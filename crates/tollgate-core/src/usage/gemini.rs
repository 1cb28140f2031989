//! Gemini `GenerateContentResponse` usage
//! (<https://ai.google.dev/api/generate-content#UsageMetadata>).
//!
//! `usageMetadata.promptTokenCount` INCLUDES `cachedContentTokenCount` (normalized input is the
//! difference plus `toolUsePromptTokenCount`; the cached part is a cache read). Output is
//! `candidatesTokenCount + thoughtsTokenCount` (thinking is billed as output). In a stream each
//! chunk's usage is cumulative: the last one seen wins and a chunk without it changes nothing.
//!
//! A stream is SSE with `?alt=sse` (each event's data is one response) or, without it, a JSON array
//! of responses ([`super::json_array::JsonArraySplitter`] yields the elements). Cloud Code's
//! `v1internal` API (used by Antigravity) wraps each response as `{"response": {…}}`; both forms
//! are accepted.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::json_array::JsonArraySplitter;
use super::{Usage, UsageAccumulator, UsageReport, chars};

/// Usage accumulator for Gemini responses.
#[derive(Debug, Clone, Default)]
pub struct GeminiUsage {
    report: UsageReport,
    /// Most grounding search queries seen in one response.
    searches: u64,
    /// Candidates the request asked for (`candidateCount`; 0 is read as 1).
    candidates: u64,
    /// Indices of the candidates that finished so far.
    finished: Vec<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    prompt_token_count: Option<u64>,
    candidates_token_count: Option<u64>,
    cached_content_token_count: Option<u64>,
    thoughts_token_count: Option<u64>,
    tool_use_prompt_token_count: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part {
    text: Option<String>,
    function_call: Option<Box<RawValue>>,
}

#[derive(Debug, Default, Deserialize)]
struct Content {
    parts: Option<Vec<Part>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    /// Which candidate this is, when the request asked for several (absent: the first).
    index: Option<u64>,
    content: Option<Content>,
    finish_reason: Option<String>,
    grounding_metadata: Option<GroundingMetadata>,
}

/// Grounding with Google Search (<https://ai.google.dev/gemini-api/docs/google-search>): each
/// search query the model ran is billed (Gemini 3 bills per query; older models per grounded
/// prompt, which a per-query count never undercuts).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroundingMetadata {
    web_search_queries: Option<Vec<serde::de::IgnoredAny>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
}

/// A `GenerateContentResponse`, or the `v1internal` envelope around one.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk {
    candidates: Option<Vec<Candidate>>,
    usage_metadata: Option<UsageMetadata>,
    prompt_feedback: Option<PromptFeedback>,
    response: Option<Box<Chunk>>,
}

impl UsageMetadata {
    fn normalize(&self) -> Usage {
        let prompt = self.prompt_token_count.unwrap_or(0);
        let cached = self.cached_content_token_count.unwrap_or(0).min(prompt);
        // Tool-use prompt tokens (e.g. search results fed back) are billed as input.
        let input = prompt.saturating_add(self.tool_use_prompt_token_count.unwrap_or(0));
        let output = self.candidates_token_count.unwrap_or(0).saturating_add(self.thoughts_token_count.unwrap_or(0));
        Usage::from_inclusive_prompt(input, cached, output)
    }
}

impl Chunk {
    /// The response itself, unwrapping a `v1internal` envelope.
    fn into_inner(self) -> Chunk {
        match self.response {
            Some(inner) if self.candidates.is_none() && self.usage_metadata.is_none() => *inner,
            _ => self,
        }
    }

    /// Indices of the candidates this chunk finishes.
    fn finishing(&self) -> impl Iterator<Item = u64> + '_ {
        self.candidates
            .iter()
            .flatten()
            .filter(|c| c.finish_reason.as_deref().is_some_and(|r| !r.is_empty()))
            .map(|c| c.index.unwrap_or(0))
    }

    fn blocked(&self) -> bool {
        self.prompt_feedback.as_ref().is_some_and(|f| f.block_reason.is_some())
    }
}

impl GeminiUsage {
    /// An accumulator for a request that asked for `candidates` candidates: the response ends when
    /// each of them has finished (the first to finish is not the end of a stream of several).
    pub fn for_candidates(candidates: u64) -> Self {
        GeminiUsage { candidates, ..Default::default() }
    }
}

impl GeminiUsage {
    /// One response (an SSE event's data, or an element of the JSON-array stream).
    pub fn observe_response(&mut self, bytes: &[u8]) {
        let chunk = match serde_json::from_slice::<Chunk>(bytes) {
            Ok(c) => c.into_inner(),
            Err(_) => {
                self.report.malformed_events += 1;
                return;
            }
        };
        for part in chunk
            .candidates
            .iter()
            .flatten()
            .filter_map(|c| c.content.as_ref())
            .filter_map(|c| c.parts.as_ref())
            .flatten()
        {
            // Thought parts are text too (`"thought": true`); both are billed as output.
            self.report.output_chars += chars(part.text.as_deref());
            self.report.output_chars += chars(part.function_call.as_ref().map(|f| f.get()));
        }
        let searches: u64 = chunk
            .candidates
            .iter()
            .flatten()
            .filter_map(|c| c.grounding_metadata.as_ref())
            .map(|g| g.web_search_queries.as_ref().map_or(0, |q| q.len() as u64))
            .sum();
        // Grounding metadata may come on another chunk than usage: keep the largest count seen.
        self.searches = self.searches.max(searches);
        self.report.usage.tool_calls.web_search = self.searches;
        for index in chunk.finishing() {
            if !self.finished.contains(&index) {
                self.finished.push(index);
            }
        }
        if let Some(meta) = &chunk.usage_metadata {
            self.report.usage = meta.normalize();
            self.report.usage.tool_calls.web_search = self.searches;
            if chunk.blocked() || self.finished.len() as u64 >= self.candidates.max(1) {
                self.report.final_seen = true;
            }
        }
    }
}

impl UsageAccumulator for GeminiUsage {
    /// A whole body: one response, or (a buffered `streamGenerateContent` without `alt=sse`) an
    /// array of them. Only usage is taken from a body: output characters are not counted.
    fn observe_body(&mut self, body: &[u8]) {
        let chars_before = self.report.output_chars;
        let mut splitter = JsonArraySplitter::new(body.len());
        let mut seen = false;
        let mut each = |element: &[u8]| {
            seen = true;
            self.observe_response(element);
        };
        splitter.feed_with(body, &mut each);
        splitter.finish(&mut each);
        if !seen {
            self.report.malformed_events += 1;
        }
        self.report.output_chars = chars_before;
        if self.report.usage != Usage::default() {
            self.report.final_seen = true;
        }
    }

    fn observe_event(&mut self, _event: &str, data: &str) {
        self.observe_response(data.as_bytes());
    }

    fn report(&self) -> UsageReport {
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_of_several_candidates_ends_when_each_has_finished() {
        let mut acc = GeminiUsage::for_candidates(2);
        acc.observe_event("message", r#"{"candidates":[{"index":0,"content":{"parts":[{"text":"a"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1000,"candidatesTokenCount":5}}"#);
        assert!(!acc.report().final_seen, "one of two candidates finished");
        acc.observe_event("message", r#"{"candidates":[{"index":1,"content":{"parts":[{"text":"b"}]},"finishReason":"MAX_TOKENS"}],"usageMetadata":{"promptTokenCount":1000,"candidatesTokenCount":40000}}"#);
        let r = acc.report();
        assert!(r.final_seen);
        assert_eq!(r.usage.output_tokens, 40000);
        // The same finished candidate twice is not two.
        let mut acc = GeminiUsage::for_candidates(2);
        for _ in 0..2 {
            acc.observe_event(
                "message",
                r#"{"candidates":[{"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1}}"#,
            );
        }
        assert!(!acc.report().final_seen);
    }

    const FINAL: &str = r#"{"candidates":[{"content":{"parts":[{"text":"!"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1200,"candidatesTokenCount":50,"totalTokenCount":1450,"cachedContentTokenCount":1000,"thoughtsTokenCount":200,"toolUsePromptTokenCount":30},"modelVersion":"gemini-2.5-pro"}"#;

    #[test]
    fn normalizes_cached_thoughts_and_tool_use() {
        let mut acc = GeminiUsage::default();
        acc.observe_event("message", FINAL);
        let r = acc.report();
        assert_eq!(
            r.usage,
            Usage { input_tokens: 230, output_tokens: 250, cache_read_tokens: 1000, ..Usage::default() }
        );
        assert!(r.final_seen);
        assert_eq!(r.output_chars, 1);
    }

    #[test]
    fn last_usage_wins_and_chunks_without_usage_change_nothing() {
        let mut acc = GeminiUsage::default();
        acc.observe_event("message", r#"{"candidates":[{"content":{"parts":[{"text":"Hel","thought":true}]}}],"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9}}"#);
        acc.observe_event(
            "message",
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}}}]}}]}"#,
        );
        let r = acc.report();
        assert_eq!(r.usage, Usage { input_tokens: 9, ..Usage::default() });
        assert!(!r.final_seen);
        assert_eq!(r.output_chars, 3 + r#"{"name":"f","args":{}}"#.len() as u64);
    }

    #[test]
    fn v1internal_envelope_is_unwrapped() {
        let mut acc = GeminiUsage::default();
        acc.observe_event("message", &format!(r#"{{"response":{FINAL},"traceId":"abc"}}"#));
        assert_eq!(acc.report().usage.cache_read_tokens, 1000);
        assert!(acc.report().final_seen);
    }

    #[test]
    fn bodies_single_array_and_garbage() {
        let mut acc = GeminiUsage::default();
        acc.observe_body(FINAL.as_bytes());
        assert_eq!(acc.report().usage.output_tokens, 250);
        let mut acc = GeminiUsage::default();
        acc.observe_body(format!("[{FINAL}]").as_bytes());
        assert_eq!(acc.report().usage.output_tokens, 250);
        assert_eq!(acc.report().output_chars, 0);
        let mut acc = GeminiUsage::default();
        acc.observe_body(b"<html>bad gateway</html>");
        assert_eq!(acc.report().malformed_events, 1);
        assert!(!acc.report().final_seen);
    }

    #[test]
    fn grounding_queries_are_counted_as_web_searches() {
        let mut acc = GeminiUsage::default();
        acc.observe_event("message", r#"{"candidates":[{"content":{"parts":[{"text":"a"}]}}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":1}}"#);
        acc.observe_event("message", r#"{"candidates":[{"content":{"parts":[{"text":"b"}]},"finishReason":"STOP","groundingMetadata":{"webSearchQueries":["q1","q2"]}}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5}}"#);
        let r = acc.report();
        assert!(r.final_seen);
        assert_eq!((r.usage.output_tokens, r.usage.tool_calls.web_search), (5, 2));
    }
}
