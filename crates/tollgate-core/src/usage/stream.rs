//! Bytes of a streamed response → usage: a framing decoder feeding a family's accumulator.

use super::json_array::JsonArraySplitter;
use super::{ApiFamily, UsageAccumulator, UsageReport};
use crate::sse::SseDecoder;

/// How a streamed response body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// `text/event-stream` (every family; Gemini with `?alt=sse`).
    Sse,
    /// One JSON array streamed element by element (Gemini `streamGenerateContent` without
    /// `alt=sse`).
    JsonArray,
}

#[derive(Debug)]
enum Decoder {
    Sse(SseDecoder),
    JsonArray(JsonArraySplitter),
}

/// Reads usage from a copy of a streamed response, chunk by chunk, with bounded memory.
pub struct StreamUsage {
    decoder: Decoder,
    accumulator: Box<dyn UsageAccumulator + Send>,
}

impl std::fmt::Debug for StreamUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamUsage").field("decoder", &self.decoder).field("report", &self.report()).finish()
    }
}

impl StreamUsage {
    /// A reader for `family`'s stream framed as `framing`; events (or array elements) larger than
    /// `max_event_bytes` are skipped and counted in [`UsageReport::oversized_events`].
    pub fn new(family: ApiFamily, framing: Framing, max_event_bytes: usize) -> Self {
        Self::for_choices(family, framing, max_event_bytes, 1)
    }

    /// [`Self::new`] for a request that asked for `choices` answers ([`ApiFamily::accumulator_for`]).
    pub fn for_choices(family: ApiFamily, framing: Framing, max_event_bytes: usize, choices: u64) -> Self {
        let decoder = match framing {
            Framing::Sse => Decoder::Sse(SseDecoder::new(max_event_bytes)),
            Framing::JsonArray => Decoder::JsonArray(JsonArraySplitter::new(max_event_bytes)),
        };
        Self { decoder, accumulator: family.accumulator_for(choices) }
    }

    /// Feeds the next chunk of the body, exactly as it came from the upstream.
    pub fn feed(&mut self, chunk: &[u8]) {
        let acc = &mut self.accumulator;
        match &mut self.decoder {
            Decoder::Sse(d) => d.feed_with(chunk, |e| acc.observe_event(&e.event, &e.data)),
            Decoder::JsonArray(s) => s.feed_with(chunk, |e| observe_element(acc.as_mut(), e)),
        }
    }

    /// The body ended (completed, failed or cut): flushes a last unterminated event.
    pub fn finish(&mut self) {
        let acc = &mut self.accumulator;
        match &mut self.decoder {
            Decoder::Sse(d) => {
                if let Some(e) = d.finish() {
                    acc.observe_event(&e.event, &e.data);
                }
            }
            Decoder::JsonArray(s) => s.finish(|e| observe_element(acc.as_mut(), e)),
        }
    }

    /// What was seen so far.
    pub fn report(&self) -> UsageReport {
        let mut report = self.accumulator.report();
        report.oversized_events = match &self.decoder {
            Decoder::Sse(d) => d.dropped_events(),
            Decoder::JsonArray(s) => s.dropped_elements(),
        };
        report
    }
}

fn observe_element(acc: &mut (dyn UsageAccumulator + Send), element: &[u8]) {
    // An element that is not UTF-8 is malformed JSON anyway: the lossy text fails to parse the
    // same way, and is counted by the accumulator.
    acc.observe_event("message", &String::from_utf8_lossy(element));
}
