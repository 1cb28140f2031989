//! What the gateway's whole-body checks cost per request, against the parse it already does
//! (`serde_json` into a map of raw members): the repeated-member check (docs/security.md) and the
//! checks of options priced above the standard rate (`gateway/premium.rs`: tiers, media, advisor
//! models). The worst case of the latter is a body with `\u` escapes (as Python's `json.dumps`
//! writes any non-ASCII text): a byte scan cannot rule out audio there, so it is read whole.
//! `cargo run --release -p tollgate-server --example request_checks_cost`
#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use serde_json::value::RawValue;
use tollgate_core::usage::ApiFamily;
use tollgate_server::gateway::premium;

fn anthropic(turns: usize, tools: usize, text: &str) -> String {
    let tool = r#"{"name":"read_file","description":"Read a file of the workspace","input_schema":{"type":"object","properties":{"path":{"type":"string"},"offset":{"type":"integer"}},"required":["path"]}}"#;
    let turn = format!(
        r#"{{"role":"user","content":[{{"type":"text","text":"{text}"}}]}},{{"role":"assistant","content":[{{"type":"text","text":"It settles the charge from the usage seen so far."}}]}}"#
    );
    format!(
        r#"{{"model":"claude-sonnet-4-5","max_tokens":4096,"stream":true,"tools":[{}],"messages":[{}]}}"#,
        vec![tool; tools].join(","),
        vec![turn; turns].join(",")
    )
}

fn time(label: &str, body: &str, n: u32, f: impl Fn(&[u8])) {
    let start = Instant::now();
    for _ in 0..n {
        f(black_box(body.as_bytes()));
    }
    let per = start.elapsed() / n;
    println!("{label:<58} {:>6} bytes  {:>8.2} µs", body.len(), per.as_secs_f64() * 1e6);
}

fn main() {
    let plain = "Please look at src/main.rs and explain what the handler does when the client hangs up early.";
    let escaped = r"\u8bf7\u770b\u4e00\u4e0b src/main.rs\uff0c\u89e3\u91ca\u5ba2\u6237\u7aef\u63d0\u524d\u65ad\u5f00\u65f6\u5904\u7406\u7a0b\u5e8f\u505a\u4ec0\u4e48\u3002";
    for (name, b) in [
        ("chat turn", anthropic(1, 0, plain)),
        ("coding agent (40 turns, 20 tools)", anthropic(40, 20, plain)),
        ("coding agent, \\u-escaped text (worst case)", anthropic(40, 20, escaped)),
    ] {
        type Fields = BTreeMap<String, Box<RawValue>>;
        time(&format!("{name}: parse to raw members (today)"), &b, 20_000, |b| {
            black_box(serde_json::from_slice::<Fields>(b).ok());
        });
        time(&format!("{name}: repeated-member check"), &b, 20_000, |b| {
            black_box(tollgate_core::unique_keys::check(b).is_ok());
        });
        let fields: Fields = serde_json::from_str(&b).expect("the example body is JSON");
        time(&format!("{name}: priced-option checks"), &b, 20_000, |b| {
            let _ = black_box(premium::check_tier(ApiFamily::Anthropic, &fields, &Vec::new()));
            let _ = black_box(premium::media_asked(ApiFamily::Anthropic, &fields, &Vec::new(), b));
            let _ = black_box(premium::advisor_models(ApiFamily::Anthropic, &fields));
        });
        time(&format!("{name}: same, as an OpenAI chat body"), &b, 20_000, |b| {
            let _ = black_box(premium::check_tier(ApiFamily::OpenAiChat, &fields, &Vec::new()));
            let _ = black_box(premium::media_asked(ApiFamily::OpenAiChat, &fields, &Vec::new(), b));
        });
    }
}
