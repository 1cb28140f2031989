//! An incremental splitter for a JSON array streamed in pieces.
//!
//! Gemini's `:streamGenerateContent` without `?alt=sse` answers with one JSON array
//! (`[{…},\r\n{…}]`) written as generation proceeds. The splitter yields each top-level element's
//! bytes as soon as it is complete, whatever the chunk boundaries. It only tracks strings (with
//! escapes) and bracket depth; it does not validate, the element's parser does.
//!
//! A stream that is not an array (e.g. an error object `{"error":…}`) yields its top-level value as
//! one element. Elements above the size cap are dropped and counted; memory stays bounded.

/// Where the splitter is in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outside any array: before `[`, or after the matching `]`.
    TopLevel,
    /// Inside the top-level array, between elements.
    BetweenElements,
    /// Inside an object/array element at `depth`, or a string element when `depth == 0`.
    InElement,
    /// Inside a bare scalar element (number, `true`, `false`, `null`).
    InScalar,
}

/// Splits a streamed JSON array into its elements.
#[derive(Debug)]
pub struct JsonArraySplitter {
    max_element_bytes: usize,
    state: State,
    /// Whether the current element sits in the array (else at top level).
    in_array: bool,
    depth: usize,
    in_string: bool,
    escaped: bool,
    buf: Vec<u8>,
    overflowed: bool,
    dropped: u64,
    arrays_closed: u64,
}

impl JsonArraySplitter {
    /// A splitter that drops any element larger than `max_element_bytes`.
    pub fn new(max_element_bytes: usize) -> Self {
        Self {
            max_element_bytes,
            state: State::TopLevel,
            in_array: false,
            depth: 0,
            in_string: false,
            escaped: false,
            buf: Vec::new(),
            overflowed: false,
            dropped: 0,
            arrays_closed: 0,
        }
    }

    /// How many elements were dropped for exceeding the size cap.
    pub fn dropped_elements(&self) -> u64 {
        self.dropped
    }

    /// Whether a top-level array's closing `]` was seen (the stream ended normally).
    pub fn is_complete(&self) -> bool {
        self.arrays_closed > 0
    }

    /// Feeds a chunk and returns the elements it completed, in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.feed_with(chunk, |e| out.push(e.to_vec()));
        out
    }

    /// Feeds a chunk, calling `on_element` with each element it completes.
    pub fn feed_with(&mut self, chunk: &[u8], mut on_element: impl FnMut(&[u8])) {
        for &b in chunk {
            self.step(b, &mut on_element);
        }
    }

    /// Ends the stream: a bare scalar still open is completed; any other unfinished element is
    /// discarded (it was cut). The splitter is reset for reuse.
    pub fn finish(&mut self, mut on_element: impl FnMut(&[u8])) {
        if self.state == State::InScalar {
            self.complete(&mut on_element);
        }
        *self = Self { dropped: self.dropped, arrays_closed: self.arrays_closed, ..Self::new(self.max_element_bytes) };
    }

    fn step(&mut self, b: u8, on_element: &mut impl FnMut(&[u8])) {
        match self.state {
            State::TopLevel => match b {
                b'[' => self.state = State::BetweenElements,
                b'{' | b'"' => self.begin(b, false),
                _ => {} // whitespace, a BOM, stray bytes
            },
            State::BetweenElements => match b {
                b']' => {
                    self.state = State::TopLevel;
                    self.arrays_closed += 1;
                }
                b',' | b' ' | b'\t' | b'\r' | b'\n' => {}
                _ => self.begin(b, true),
            },
            State::InScalar => match b {
                b',' | b']' | b' ' | b'\t' | b'\r' | b'\n' => {
                    self.complete(on_element);
                    self.step(b, on_element);
                }
                _ => self.push(b),
            },
            State::InElement => {
                self.push(b);
                if self.in_string {
                    if self.escaped {
                        self.escaped = false;
                    } else if b == b'\\' {
                        self.escaped = true;
                    } else if b == b'"' {
                        self.in_string = false;
                        if self.depth == 0 {
                            self.complete(on_element);
                        }
                    }
                    return;
                }
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            self.complete(on_element);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn begin(&mut self, b: u8, in_array: bool) {
        self.in_array = in_array;
        self.buf.clear();
        self.overflowed = false;
        self.push(b);
        match b {
            b'{' | b'[' => {
                self.state = State::InElement;
                self.depth = 1;
            }
            b'"' => {
                self.state = State::InElement;
                self.depth = 0;
                self.in_string = true;
            }
            _ => self.state = State::InScalar,
        }
    }

    fn push(&mut self, b: u8) {
        if self.overflowed {
            return;
        }
        if self.buf.len() >= self.max_element_bytes {
            self.overflowed = true;
            self.buf = Vec::new();
            return;
        }
        self.buf.push(b);
    }

    fn complete(&mut self, on_element: &mut impl FnMut(&[u8])) {
        if self.overflowed {
            self.dropped += 1;
        } else {
            on_element(&self.buf);
        }
        self.buf.clear();
        self.overflowed = false;
        self.in_string = false;
        self.escaped = false;
        self.depth = 0;
        self.state = if self.in_array { State::BetweenElements } else { State::TopLevel };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(pieces: &[&[u8]], cap: usize) -> (Vec<String>, u64, bool) {
        let mut s = JsonArraySplitter::new(cap);
        let mut out = Vec::new();
        for p in pieces {
            s.feed_with(p, |e| out.push(String::from_utf8_lossy(e).into_owned()));
        }
        s.finish(|e| out.push(String::from_utf8_lossy(e).into_owned()));
        (out, s.dropped_elements(), s.is_complete())
    }

    const STREAM: &[u8] = b"[{\"a\":\"x]}\\\"{\"},\r\n{\"b\":[1,{\"c\":\"\\\\\"}]}\n,\"s,]\" , 12 ,true]";

    #[test]
    fn splits_elements_with_tricky_strings() {
        let (els, dropped, complete) = split_all(&[STREAM], 1024);
        assert_eq!(els, vec![r#"{"a":"x]}\"{"}"#, r#"{"b":[1,{"c":"\\"}]}"#, r#""s,]""#, "12", "true"]);
        assert_eq!(dropped, 0);
        assert!(complete);
    }

    #[test]
    fn every_split_point_gives_the_same_elements() {
        let whole = split_all(&[STREAM], 1024);
        for i in 0..=STREAM.len() {
            assert_eq!(split_all(&[&STREAM[..i], &STREAM[i..]], 1024), whole, "split at {i}");
        }
    }

    #[test]
    fn a_bare_object_is_one_element_and_cut_elements_are_discarded() {
        let (els, _, complete) = split_all(&[b"{\"error\":{\"code\":429}}"], 1024);
        assert_eq!(els, vec![r#"{"error":{"code":429}}"#]);
        assert!(!complete);
        let (els, _, complete) = split_all(&[b"[{\"a\":1},{\"b\":"], 1024);
        assert_eq!(els, vec![r#"{"a":1}"#]);
        assert!(!complete);
    }

    #[test]
    fn oversized_elements_are_dropped() {
        let (els, dropped, _) = split_all(&[b"[{\"long\":\"0123456789\"},{\"k\":1}]"], 10);
        assert_eq!(els, vec![r#"{"k":1}"#]);
        assert_eq!(dropped, 1);
    }
}
