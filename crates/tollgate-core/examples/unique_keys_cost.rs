//! What the repeated-key check costs per request, against the parse the gateway already does
//! (`serde_json` into a map of raw members), on a chat body and a coding-agent body with tools.
//! `cargo run --release -p tollgate-core --example unique_keys_cost`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use serde_json::value::RawValue;
use tollgate_core::unique_keys::repeated_key;

fn body(turns: usize, tools: usize) -> String {
    let tool = r#"{"name":"read_file","description":"Read a file of the workspace","input_schema":{"type":"object","properties":{"path":{"type":"string"},"offset":{"type":"integer"}},"required":["path"]}}"#;
    let turn = r#"{"role":"user","content":[{"type":"text","text":"Please look at src/main.rs and explain what the handler does when the client hangs up early."}]},{"role":"assistant","content":[{"type":"text","text":"It settles the charge from the usage seen so far."}]}"#;
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
    println!("{label:<44} {:>6} bytes  {:>8.2} µs", body.len(), per.as_secs_f64() * 1e6);
}

fn main() {
    for (name, b) in [("chat turn", body(1, 0)), ("coding agent (40 turns, 20 tools)", body(40, 20))] {
        time(&format!("{name}: parse to raw members (today)"), &b, 20_000, |b| {
            black_box(serde_json::from_slice::<BTreeMap<String, Box<RawValue>>>(b).ok());
        });
        time(&format!("{name}: repeated-key check (added)"), &b, 20_000, |b| {
            black_box(repeated_key(b));
        });
    }
}
