//! Recorded-format transcripts of each API family → the expected normalized usage, and the
//! property that matters for a tee: however the bytes are split into chunks, the decoded events and
//! the usage are the same.

use proptest::prelude::*;
use tollgate_core::sse::SseDecoder;
use tollgate_core::usage::json_array::JsonArraySplitter;
use tollgate_core::usage::openai_chat::is_usage_only_chunk;
use tollgate_core::usage::{ApiFamily, Framing, StreamUsage, Usage, UsageReport};

const CAP: usize = 64 * 1024;

#[derive(Clone, Copy)]
enum Kind {
    Body,
    Stream(Framing),
}

struct Case {
    name: &'static str,
    bytes: &'static [u8],
    family: ApiFamily,
    kind: Kind,
    usage: Usage,
    final_seen: bool,
    output_chars: u64,
    malformed: u64,
}

fn u(input: u64, output: u64, read: u64, w5: u64, w1: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: read,
        cache_write_5m_tokens: w5,
        cache_write_1h_tokens: w1,
        tool_calls: Default::default(),
    }
}

macro_rules! fixture {
    ($path:literal) => {
        ($path, include_bytes!(concat!("fixtures/", $path)).as_slice())
    };
}

fn cases() -> Vec<Case> {
    use ApiFamily::*;
    const SSE: Kind = Kind::Stream(Framing::Sse);
    let case =
        |(name, bytes): (&'static str, &'static [u8]), family, kind, usage, final_seen, output_chars, malformed| Case {
            name,
            bytes,
            family,
            kind,
            usage,
            final_seen,
            output_chars,
            malformed,
        };
    vec![
        case(fixture!("anthropic/text_with_cache.sse"), Anthropic, SSE, u(25, 15, 12_000, 800, 1_000), true, 48, 0),
        case(fixture!("anthropic/tool_use_thinking.sse"), Anthropic, SSE, u(472, 89, 0, 0, 0), true, 126, 0),
        // Cut inside a data line: the partial JSON is flushed at finish and counted as malformed.
        case(fixture!("anthropic/cut_stream.sse"), Anthropic, SSE, u(1_000, 1, 0, 0, 0), false, 72, 1),
        case(fixture!("anthropic/compat_delta_usage.sse"), Anthropic, SSE, u(3_200, 64, 500, 0, 0), true, 3, 0),
        case(fixture!("anthropic/message.json"), Anthropic, Kind::Body, u(2_095, 503, 0, 0, 2_051), true, 0, 0),
        case(fixture!("openai_chat/include_usage.sse"), OpenAiChat, SSE, u(102, 9, 2_048, 0, 0), true, 31, 0),
        case(fixture!("openai_chat/tool_calls.sse"), OpenAiChat, SSE, u(82, 150, 0, 0, 0), true, 28, 0),
        case(fixture!("openai_chat/completion.json"), OpenAiChat, Kind::Body, u(19, 10, 0, 0, 0), true, 0, 0),
        case(fixture!("openai_responses/text.sse"), OpenAiResponses, SSE, u(512, 240, 1_024, 0, 0), true, 39, 0),
        case(fixture!("openai_responses/incomplete.sse"), OpenAiResponses, SSE, u(300, 256, 0, 0, 0), true, 74, 0),
        case(
            fixture!("openai_responses/response.json"),
            OpenAiResponses,
            Kind::Body,
            u(152, 95, 2_048, 0, 0),
            true,
            0,
            0,
        ),
        case(fixture!("gemini/alt_sse.sse"), Gemini, SSE, u(54, 253, 4_096, 0, 0), true, 80, 0),
        case(
            fixture!("gemini/json_array.json"),
            Gemini,
            Kind::Stream(Framing::JsonArray),
            u(250_000, 952, 0, 0, 0),
            true,
            75,
            0,
        ),
        case(fixture!("gemini/v1internal.sse"), Gemini, SSE, u(800, 150, 0, 0, 0), true, 67, 0),
        case(fixture!("gemini/generate_content.json"), Gemini, Kind::Body, u(176, 102, 1_024, 0, 0), true, 0, 0),
    ]
}

/// Usage from the pieces, fed in order.
fn usage_of(case: &Case, pieces: &[&[u8]]) -> UsageReport {
    match case.kind {
        Kind::Body => {
            let mut acc = case.family.accumulator();
            acc.observe_body(&pieces.concat());
            acc.report()
        }
        Kind::Stream(framing) => {
            let mut s = StreamUsage::new(case.family, framing, CAP);
            for p in pieces {
                s.feed(p);
            }
            s.finish();
            s.report()
        }
    }
}

/// The framing's decoded items (SSE events or array elements), rendered for comparison.
fn events_of(framing: Framing, pieces: &[&[u8]]) -> Vec<String> {
    let mut out = Vec::new();
    match framing {
        Framing::Sse => {
            let mut d = SseDecoder::new(CAP);
            for p in pieces {
                d.feed_with(p, |e| out.push(format!("{}|{:?}|{}", e.event, e.id, e.data)));
            }
            out.extend(d.finish().map(|e| format!("{}|{:?}|{}", e.event, e.id, e.data)));
        }
        Framing::JsonArray => {
            let mut s = JsonArraySplitter::new(CAP);
            for p in pieces {
                s.feed_with(p, |e| out.push(String::from_utf8_lossy(e).into_owned()));
            }
            s.finish(|e| out.push(String::from_utf8_lossy(e).into_owned()));
        }
    }
    out
}

#[test]
fn fixtures_give_the_expected_usage() {
    for case in cases() {
        let r = usage_of(&case, &[case.bytes]);
        assert_eq!(r.usage, case.usage, "{}", case.name);
        assert_eq!(r.final_seen, case.final_seen, "{}", case.name);
        assert_eq!(r.output_chars, case.output_chars, "{}", case.name);
        assert_eq!(r.malformed_events, case.malformed, "{}", case.name);
        assert_eq!(r.oversized_events, 0, "{}", case.name);
        if case.final_seen {
            assert_eq!(r.billable(), case.usage, "{}", case.name);
        }
    }
}

#[test]
fn a_cut_stream_bills_estimated_output() {
    let cut = cases().into_iter().find(|c| c.name == "anthropic/cut_stream.sse");
    let Some(cut) = cut else { panic!("fixture missing") };
    let r = usage_of(&cut, &[cut.bytes]);
    // 72 streamed characters → ceil(72 / 4) = 18 tokens, above the 1 reported at message_start.
    assert_eq!(r.billable(), u(1_000, 18, 0, 0, 0));
}

#[test]
fn chat_streams_have_exactly_one_usage_only_chunk() {
    for case in cases().iter().filter(|c| c.name.starts_with("openai_chat/") && c.name.ends_with(".sse")) {
        let mut d = SseDecoder::new(CAP);
        let events = d.feed(case.bytes);
        let usage_only: Vec<_> = events.iter().filter(|e| is_usage_only_chunk(&e.data)).collect();
        assert_eq!(usage_only.len(), 1, "{}", case.name);
        // It is the last chunk before [DONE].
        assert_eq!(
            events.len() - 2,
            events.iter().position(|e| is_usage_only_chunk(&e.data)).unwrap_or(0),
            "{}",
            case.name
        );
    }
}

#[test]
fn streams_have_several_events() {
    for case in cases() {
        if let Kind::Stream(framing) = case.kind {
            assert!(events_of(framing, &[case.bytes]).len() >= 2, "{}", case.name);
        }
    }
}

#[test]
fn every_byte_split_gives_the_same_usage_and_events() {
    for case in cases() {
        let whole = usage_of(&case, &[case.bytes]);
        let Kind::Stream(framing) = case.kind else {
            continue;
        };
        let events = events_of(framing, &[case.bytes]);
        for i in 0..=case.bytes.len() {
            let pieces = [&case.bytes[..i], &case.bytes[i..]];
            assert_eq!(usage_of(&case, &pieces), whole, "{} split at {i}", case.name);
            assert_eq!(events_of(framing, &pieces), events, "{} split at {i}", case.name);
        }
        let bytes: Vec<&[u8]> = case.bytes.chunks(1).collect();
        assert_eq!(usage_of(&case, &bytes), whole, "{} byte by byte", case.name);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_multi_split_gives_the_same_usage_and_events(
        index in 0usize..64,
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..12),
    ) {
        let all = cases();
        let case = &all[index % all.len()];
        let Kind::Stream(framing) = case.kind else { return Ok(()) };
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(case.bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for p in points {
            pieces.push(&case.bytes[start..p]);
            start = p;
        }
        pieces.push(&case.bytes[start..]);
        prop_assert_eq!(usage_of(case, &pieces), usage_of(case, &[case.bytes]));
        prop_assert_eq!(events_of(framing, &pieces), events_of(framing, &[case.bytes]));
    }
}

#[test]
fn fixture_usage_priced_end_to_end() {
    use tollgate_core::money::Money;
    use tollgate_core::platform::Platform;
    use tollgate_core::pricing::{PriceTable, cost};
    let Ok(table) = PriceTable::builtin() else { panic!("built-in prices") };
    let expectations = [
        // 25 × $3 + 15 × $15 + 12,000 × $0.30 + 800 × $3.75 + 1,000 × $6 (per MTok)
        ("anthropic/text_with_cache.sse", Platform::Anthropic, "claude-sonnet-4-5-20250929", "0.0129"),
        // Cut stream, billed on its estimate: 1,000 × $1 + 18 × $5
        ("anthropic/cut_stream.sse", Platform::Anthropic, "claude-haiku-4-5-20251001", "0.00109"),
        // 102 × $2.50 + 2,048 × $1.25 + 9 × $10
        ("openai_chat/include_usage.sse", Platform::OpenAi, "gpt-4o-2024-08-06", "0.002905"),
        // Long-context tier (250,000 > 200,000): 250,000 × $2.50 + 952 × $15
        ("gemini/json_array.json", Platform::Gemini, "gemini-2.5-pro", "0.63928"),
        // Antigravity, Gemini 3 Pro: 800 × $2 + 150 × $12
        ("gemini/v1internal.sse", Platform::Antigravity, "gemini-3-pro-preview", "0.0034"),
    ];
    let all = cases();
    for (name, platform, model, expected) in expectations {
        let Some(case) = all.iter().find(|c| c.name == name) else { panic!("no fixture {name}") };
        let billable = usage_of(case, &[case.bytes]).billable();
        let Some(found) = table.lookup(platform, model) else { panic!("no price for {model}") };
        let Ok(expected) = Money::parse(expected) else { panic!("bad amount {expected}") };
        assert_eq!(cost(&billable, found.price), Ok(expected), "{name}");
    }
}
