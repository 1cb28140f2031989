use super::*;
use proptest::prelude::*;

fn ev(event: &str, data: &str, id: Option<&str>) -> SseEvent {
    SseEvent { event: event.to_owned(), data: data.to_owned(), id: id.map(str::to_owned) }
}

/// Feeds the pieces one by one, then finishes.
fn decode_pieces(pieces: &[&[u8]], cap: usize) -> (Vec<SseEvent>, u64) {
    let mut d = SseDecoder::new(cap);
    let mut out = Vec::new();
    for p in pieces {
        out.extend(d.feed(p));
    }
    out.extend(d.finish());
    (out, d.dropped_events())
}

fn decode(bytes: &[u8]) -> Vec<SseEvent> {
    decode_pieces(&[bytes], 1 << 20).0
}

#[test]
fn fields_comments_and_dispatch() {
    let stream = b": ping\n\nevent: message_start\ndata: {\"a\":1}\n\ndata:no-space\ndata:  two spaces\n\nid: 7\ndata\n\nevent: only-event\n\n";
    assert_eq!(
        decode(stream),
        vec![
            ev("message_start", "{\"a\":1}", None),
            ev("message", "no-space\n two spaces", None),
            ev("message", "", Some("7")),
        ]
    );
}

#[test]
fn id_persists_and_nul_ids_are_ignored() {
    let stream = b"id: a\ndata: 1\n\ndata: 2\n\nid: b\0c\ndata: 3\n\nid\ndata: 4\n\n";
    assert_eq!(
        decode(stream),
        vec![
            ev("message", "1", Some("a")),
            ev("message", "2", Some("a")),
            ev("message", "3", Some("a")),
            ev("message", "4", Some(""))
        ]
    );
}

#[test]
fn all_line_endings() {
    let expected = vec![ev("x", "1\n2", None), ev("message", "3", None)];
    assert_eq!(decode(b"event: x\ndata: 1\ndata: 2\n\ndata: 3\n\n"), expected);
    assert_eq!(decode(b"event: x\r\ndata: 1\r\ndata: 2\r\n\r\ndata: 3\r\n\r\n"), expected);
    assert_eq!(decode(b"event: x\rdata: 1\rdata: 2\r\rdata: 3\r\r"), expected);
    assert_eq!(decode(b"event: x\rdata: 1\r\ndata: 2\n\r\ndata: 3\n\r"), expected);
}

#[test]
fn crlf_split_across_chunks_counts_once() {
    let (events, _) = decode_pieces(&[b"data: 1\r", b"\ndata: 2\r", b"\n\r", b"\n"], 1024);
    assert_eq!(events, vec![ev("message", "1\n2", None)]);
    // A lone \r at a chunk end followed by a non-\n byte is still a line end.
    let (events, _) = decode_pieces(&[b"data: 1\r", b"\r"], 1024);
    assert_eq!(events, vec![ev("message", "1", None)]);
}

#[test]
fn bom_is_skipped_only_at_the_start() {
    assert_eq!(decode(b"\xEF\xBB\xBFdata: a\n\n"), vec![ev("message", "a", None)]);
    let (events, _) = decode_pieces(&[b"\xEF", b"\xBB", b"\xBFdata: a\n\n"], 1024);
    assert_eq!(events, vec![ev("message", "a", None)]);
    // A BOM later in the stream is content; a near-BOM at the start is content too.
    let later = decode(b"data: a\n\n\xEF\xBB\xBFdata: b\n\n");
    assert_eq!(later, vec![ev("message", "a", None)]);
    let near = decode(b"\xEF\xBBdata: a\n\n");
    assert_eq!(near.len(), 0, "the mangled field name is unknown, so nothing is dispatched");
    let (held, _) = decode_pieces(&[b"\xEF\xBB"], 1024);
    assert!(held.is_empty());
}

#[test]
fn finish_dispatches_an_unterminated_event() {
    let (events, _) = decode_pieces(&[b"data: [DONE]"], 1024);
    assert_eq!(events, vec![ev("message", "[DONE]", None)]);
    let (events, _) = decode_pieces(&[b"data: x\n"], 1024);
    assert_eq!(events, vec![ev("message", "x", None)]);
    let (events, _) = decode_pieces(&[b"event: e\n"], 1024);
    assert!(events.is_empty());
}

#[test]
fn oversized_events_are_dropped_and_counted() {
    let big = "x".repeat(100);
    let stream =
        format!("data: small\n\ndata: {big}\n\ndata: a\ndata: {big}\ndata: b\n\n: {big}\ndata: c\n\ndata: after\n\n");
    let (events, dropped) = decode_pieces(&[stream.as_bytes()], 50);
    assert_eq!(events, vec![ev("message", "small", None), ev("message", "after", None)]);
    assert_eq!(dropped, 3);
    // Many small data lines that add up past the cap.
    let many = "data: 0123456789\n".repeat(10) + "\ndata: ok\n\n";
    let (events, dropped) = decode_pieces(&[many.as_bytes()], 50);
    assert_eq!(events, vec![ev("message", "ok", None)]);
    assert_eq!(dropped, 1);
    // Cut while oversized.
    let (events, dropped) = decode_pieces(&[format!("data: {big}").as_bytes()], 50);
    assert!(events.is_empty());
    assert_eq!(dropped, 1);
}

#[test]
fn invalid_utf8_is_replaced() {
    assert_eq!(decode(b"data: a\xFFb\n\n"), vec![ev("message", "a\u{FFFD}b", None)]);
    // A multi-byte character split across chunks survives.
    let (events, _) = decode_pieces(&[b"data: \xE4\xBD", b"\xA0\n\n"], 1024);
    assert_eq!(events, vec![ev("message", "你", None)]);
}

#[test]
fn decoder_is_reusable_after_finish() {
    let mut d = SseDecoder::new(1024);
    assert_eq!(d.feed(b"id: 1\ndata: a\n\n").len(), 1);
    assert_eq!(d.finish(), None);
    assert_eq!(d.feed(b"data: b\n\n"), vec![ev("message", "b", None)]);
}

const SAMPLE: &[u8] = b"\xEF\xBB\xBF: hi\r\nevent: a\r\ndata: 1\r\ndata:2\r\n\r\nid: z\rdata: \xE4\xBD\xA0\r\rdata: big big big big big big big big big\n\ndata: end";

proptest! {
    #[test]
    fn any_split_gives_the_same_events(cuts in proptest::collection::vec(0..=SAMPLE.len(), 0..8)) {
        let whole = decode_pieces(&[SAMPLE], 40);
        let mut cuts = cuts;
        cuts.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for c in cuts {
            pieces.push(&SAMPLE[start..c]);
            start = c;
        }
        pieces.push(&SAMPLE[start..]);
        prop_assert_eq!(decode_pieces(&pieces, 40), whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8), cap in 0usize..64) {
        let mut d = SseDecoder::new(cap);
        for c in &chunks {
            for e in d.feed(c) {
                prop_assert!(e.data.len() <= cap);
            }
        }
        let _ = d.finish();
    }
}

#[test]
fn every_single_split_of_the_sample() {
    let whole = decode_pieces(&[SAMPLE], 40);
    assert_eq!(whole.0.len(), 3);
    assert_eq!(whole.1, 1);
    for i in 0..=SAMPLE.len() {
        assert_eq!(decode_pieces(&[&SAMPLE[..i], &SAMPLE[i..]], 40), whole, "split at {i}");
    }
    let bytes: Vec<&[u8]> = SAMPLE.chunks(1).collect();
    assert_eq!(decode_pieces(&bytes, 40), whole);
}
