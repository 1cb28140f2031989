//! An incremental, bounded Server-Sent Events decoder.
//!
//! Follows the WHATWG event-stream parsing rules
//! (<https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>):
//! lines end with `\n`, `\r\n` or `\r` (a `\r\n` split across two chunks counts once); a leading
//! UTF-8 BOM is skipped; `:` starts a comment; one space after the field's colon is dropped;
//! `data` lines are joined with `\n`; a blank line dispatches the event; an event with no `data`
//! is not dispatched. `retry` and unknown fields are ignored.
//!
//! Choices of our own, for a gateway that reads usage from a copy of the stream:
//! - **Bounded**: an event whose buffered bytes (its `event`, `data` and current line) exceed
//!   `max_event_bytes` is dropped whole and counted in [`SseDecoder::dropped_events`]; the decoder
//!   skips to the next blank line without buffering. Memory stays O(`max_event_bytes`).
//! - **Invalid UTF-8** is decoded lossily (U+FFFD), line by line. Line terminators are ASCII and
//!   never occur inside a multi-byte sequence, so a character split across chunks is kept whole.
//! - **End of stream**: [`SseDecoder::finish`] dispatches a pending event even without its final
//!   blank line (the spec discards it), so a stream cut right after its last `data:` line still
//!   reports that event.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, or `"message"` when the event had none (as the spec says).
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last event id seen so far in the stream (it persists across events), if any.
    pub id: Option<String>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes an event stream fed in arbitrary chunks.
#[derive(Debug)]
pub struct SseDecoder {
    max_event_bytes: usize,
    line: Vec<u8>,
    event: String,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    /// The previous chunk ended with `\r`: a `\n` starting the next chunk belongs to it.
    pending_cr: bool,
    /// How many leading bytes matched the BOM so far; `None` once the start is decided.
    bom_matched: Option<usize>,
    /// The current event went over the cap: skip to the next blank line.
    overflowed: bool,
    /// Whether the line being skipped (while overflowed) had any byte.
    overflow_line_nonempty: bool,
    dropped: u64,
}

impl SseDecoder {
    /// A decoder that drops any event larger than `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            max_event_bytes,
            line: Vec::new(),
            event: String::new(),
            data: String::new(),
            has_data: false,
            last_id: None,
            pending_cr: false,
            bom_matched: Some(0),
            overflowed: false,
            overflow_line_nonempty: false,
            dropped: 0,
        }
    }

    /// How many events were dropped for exceeding the size cap.
    pub fn dropped_events(&self) -> u64 {
        self.dropped
    }

    /// Feeds a chunk and returns the events it completed, in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        self.feed_with(chunk, |e| out.push(e));
        out
    }

    /// Feeds a chunk, calling `on_event` for each event it completes.
    pub fn feed_with(&mut self, chunk: &[u8], mut on_event: impl FnMut(SseEvent)) {
        let mut rest = self.skip_bom(chunk);
        if self.pending_cr && !rest.is_empty() {
            self.pending_cr = false;
            if let Some(stripped) = rest.strip_prefix(b"\n") {
                rest = stripped;
            }
        }
        while !rest.is_empty() {
            match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                None => {
                    self.push_partial(rest);
                    break;
                }
                Some(pos) => {
                    self.push_partial(&rest[..pos]);
                    let terminator = rest[pos];
                    rest = &rest[pos + 1..];
                    if terminator == b'\r' {
                        if rest.is_empty() {
                            self.pending_cr = true;
                        } else if rest[0] == b'\n' {
                            rest = &rest[1..];
                        }
                    }
                    if let Some(event) = self.end_line() {
                        on_event(event);
                    }
                }
            }
        }
    }

    /// Ends the stream: processes an unterminated last line and dispatches the pending event,
    /// if it has data. The decoder is reset and can be reused for a new stream.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if let Some(held) = self.bom_matched.take() {
            // A stream shorter than a BOM that looked like one: its bytes are content.
            self.push_partial(&BOM[..held]);
        }
        let result = if self.overflowed {
            self.dropped += 1;
            None
        } else {
            if !self.line.is_empty() {
                self.end_line();
            }
            self.dispatch()
        };
        *self = Self { dropped: self.dropped, ..Self::new(self.max_event_bytes) };
        result
    }

    /// Strips a UTF-8 BOM at the very start of the stream, even when split across chunks.
    fn skip_bom<'a>(&mut self, chunk: &'a [u8]) -> &'a [u8] {
        let Some(matched) = self.bom_matched else {
            return chunk;
        };
        let mut n = matched;
        let mut used = 0;
        while n < BOM.len() && used < chunk.len() {
            if chunk[used] != BOM[n] {
                // Not a BOM: replay the bytes held back, then the chunk from where we stopped.
                self.bom_matched = None;
                if n > 0 {
                    let held = &BOM[..n];
                    // The held bytes contain no line terminator, so they only extend the line.
                    self.push_partial(held);
                }
                return &chunk[used..];
            }
            n += 1;
            used += 1;
        }
        self.bom_matched = if n == BOM.len() { None } else { Some(n) };
        &chunk[used..]
    }

    fn buffered(&self) -> usize {
        self.line.len() + self.data.len() + self.event.len()
    }

    fn push_partial(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.overflowed {
            self.overflow_line_nonempty = true;
            return;
        }
        if self.buffered() + bytes.len() > self.max_event_bytes {
            self.start_overflow();
            self.overflow_line_nonempty = true;
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    fn start_overflow(&mut self) {
        self.overflowed = true;
        self.line = Vec::new();
        self.data = String::new();
        self.event = String::new();
        self.has_data = false;
    }

    /// A line ended: interpret it; a blank line dispatches.
    fn end_line(&mut self) -> Option<SseEvent> {
        if self.overflowed {
            let blank = !self.overflow_line_nonempty;
            self.overflow_line_nonempty = false;
            if blank {
                self.overflowed = false;
                self.dropped += 1;
            }
            return None;
        }
        if self.line.is_empty() {
            return self.dispatch();
        }
        let line = std::mem::take(&mut self.line);
        self.process_field(&String::from_utf8_lossy(&line));
        // Reuse the allocation for the next line.
        self.line = line;
        self.line.clear();
        None
    }

    fn process_field(&mut self, line: &str) {
        if line.starts_with(':') {
            return;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
                if self.buffered() > self.max_event_bytes {
                    self.start_overflow();
                }
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            _ => {}
        }
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = std::mem::take(&mut self.event);
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(SseEvent {
            event: if event.is_empty() { "message".to_owned() } else { event },
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
        })
    }
}

#[cfg(test)]
#[path = "sse_tests.rs"]
mod tests;
