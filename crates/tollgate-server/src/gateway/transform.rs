//! The two cases where streamed bytes must change on their way to the client, done event by event:
//! dropping the usage-only chunk of an OpenAI Chat stream whose `include_usage` we switched on, and
//! unwrapping Cloud Code `v1internal` events (`{"response": {...}}`) for a native Gemini client.
//! Everything else is passed through untouched, and these too only hold back the bytes of the one
//! event still being received.

use bytes::{Bytes, BytesMut};
use serde_json::value::RawValue;
use tollgate_core::usage::openai_chat::is_usage_only_chunk;

/// A per-event rewrite of an SSE stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventRewrite {
    DropUsageOnlyChunk,
    UnwrapV1Internal,
    /// Unwrap, and re-frame as the JSON array a Gemini client gets without `alt=sse`.
    UnwrapV1InternalToArray,
}

/// Splits bytes into whole raw SSE events (terminated by a blank line) and rewrites each.
#[derive(Debug)]
pub struct EventTransform {
    rewrite: EventRewrite,
    buf: BytesMut,
    /// Array elements written so far (for `UnwrapV1InternalToArray`).
    elements: usize,
}

impl EventTransform {
    pub fn new(rewrite: EventRewrite) -> Self {
        Self { rewrite, buf: BytesMut::new(), elements: 0 }
    }

    /// Whole events completed by `chunk`, rewritten. Bytes of an unfinished event are kept.
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        self.push_inner(chunk)
    }

    fn push_inner(&mut self, chunk: &[u8]) -> Bytes {
        self.buf.extend_from_slice(chunk);
        let mut out = BytesMut::new();
        while let Some(end) = event_end(&self.buf) {
            let event = self.buf.split_to(end);
            self.rewrite_into(&event, &mut out);
        }
        out.freeze()
    }

    /// What is left when the stream ends (an event without its closing blank line), rewritten.
    pub fn finish(&mut self) -> Bytes {
        let rest = self.buf.split();
        let mut out = BytesMut::new();
        if !rest.is_empty() {
            self.rewrite_into(&rest, &mut out);
        }
        if self.rewrite == EventRewrite::UnwrapV1InternalToArray {
            out.extend_from_slice(if self.elements == 0 { b"[]" } else { b"]" });
        }
        out.freeze()
    }

    fn rewrite_into(&mut self, event: &[u8], out: &mut BytesMut) {
        let Ok(text) = std::str::from_utf8(event) else {
            out.extend_from_slice(event);
            return;
        };
        let data = data_of(text);
        match self.rewrite {
            EventRewrite::DropUsageOnlyChunk => {
                if !data.as_deref().is_some_and(is_usage_only_chunk) {
                    out.extend_from_slice(event);
                }
            }
            EventRewrite::UnwrapV1Internal => match data.as_deref().and_then(unwrap_response) {
                Some(inner) => {
                    out.extend_from_slice(b"data: ");
                    out.extend_from_slice(inner.as_bytes());
                    out.extend_from_slice(b"\r\n\r\n");
                }
                None => out.extend_from_slice(event),
            },
            EventRewrite::UnwrapV1InternalToArray => {
                if let Some(inner) = data.as_deref().and_then(unwrap_response) {
                    out.extend_from_slice(if self.elements == 0 { b"[" } else { b",\r\n" });
                    out.extend_from_slice(inner.as_bytes());
                    self.elements += 1;
                }
            }
        }
    }
}

/// The inner object of `{"response": {...}}`, as its exact text.
pub fn unwrap_response(data: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        response: &'a RawValue,
    }
    serde_json::from_str::<Envelope<'_>>(data).ok().map(|e| e.response.get().to_owned())
}

/// The joined `data:` lines of one raw event.
fn data_of(event: &str) -> Option<String> {
    let mut data: Option<String> = None;
    for line in event.split(['\n', '\r']) {
        if let Some(v) = line.strip_prefix("data:") {
            let v = v.strip_prefix(' ').unwrap_or(v);
            match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(v);
                }
                None => data = Some(v.to_owned()),
            }
        }
    }
    data
}

/// The end (exclusive) of the first whole event: after `\n\n`, `\r\n\r\n` or `\r\r`.
fn event_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        match buf[i] {
            b'\n' if buf.get(i + 1) == Some(&b'\n') => return Some(i + 2),
            b'\r'
                if buf.get(i + 1) == Some(&b'\n')
                    && buf.get(i + 2) == Some(&b'\r')
                    && buf.get(i + 3) == Some(&b'\n') =>
            {
                return Some(i + 4);
            }
            b'\r' if buf.get(i + 1) == Some(&b'\r') => return Some(i + 2),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n\
        data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\n\
        data: [DONE]\n\n";

    #[test]
    fn drops_only_the_usage_chunk_at_any_split() {
        let expected = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\ndata: [DONE]\n\n";
        for split in 0..=CHAT.len() {
            let mut t = EventTransform::new(EventRewrite::DropUsageOnlyChunk);
            let mut out = t.push(&CHAT.as_bytes()[..split]).to_vec();
            out.extend_from_slice(&t.push(&CHAT.as_bytes()[split..]));
            out.extend_from_slice(&t.finish());
            assert_eq!(String::from_utf8(out).unwrap(), expected, "split at {split}");
        }
    }

    #[test]
    fn unwraps_v1internal_events() {
        let mut t = EventTransform::new(EventRewrite::UnwrapV1Internal);
        let out = t.push(b"data: {\"response\": {\"candidates\":[]}, \"traceId\":\"x\"}\r\n\r\n");
        assert_eq!(&out[..], b"data: {\"candidates\":[]}\r\n\r\n");
        assert_eq!(unwrap_response(r#"{"candidates":[]}"#), None);
    }

    #[test]
    fn reframes_v1internal_events_as_a_json_array() {
        let mut t = EventTransform::new(EventRewrite::UnwrapV1InternalToArray);
        let mut out = t.push(b"data: {\"response\":{\"a\":1}}\n\ndata: {\"response\":{\"a\":2}}\n").to_vec();
        out.extend_from_slice(&t.push(b"\n"));
        out.extend_from_slice(&t.finish());
        assert_eq!(String::from_utf8(out).unwrap(), "[{\"a\":1},\r\n{\"a\":2}]");
        let mut empty = EventTransform::new(EventRewrite::UnwrapV1InternalToArray);
        assert_eq!(&empty.finish()[..], b"[]");
    }
}
