//! How far strict mode's bound (`tollgate_core::estimate`) lands above the real cost of typical
//! requests. Prints one row per (request, model): the bound, the real cost, and their ratio.
//!
//! The real usage is modelled, not measured against a provider: prompt tokens at 4 characters per
//! token for prose and 3.2 for code (the providers' published averages for English), plus the
//! provider's own preamble (350 tokens with tools); output as stated per scenario. Run with
//! `cargo run -p tollgate-core --example strict_bound`.

// A measurement program: a missing price is a bug to stop on.
#![allow(clippy::expect_used)]

use serde_json::json;
use tollgate_core::estimate::RequestBound;
use tollgate_core::money::Decimal9;
use tollgate_core::pricing::{PriceTable, cost};
use tollgate_core::usage::{ApiFamily, Usage};

struct Scenario {
    name: &'static str,
    prose_chars: usize,
    code_chars: usize,
    tools: bool,
    max_tokens: u64,
    output: u64,
}

fn main() {
    let scenarios = [
        Scenario {
            name: "chat turn, answer 60% of cap",
            prose_chars: 600,
            code_chars: 0,
            tools: false,
            max_tokens: 1024,
            output: 600,
        },
        Scenario {
            name: "chat turn, answer hits the cap",
            prose_chars: 600,
            code_chars: 0,
            tools: false,
            max_tokens: 1024,
            output: 1024,
        },
        Scenario {
            name: "long answer (essay), 80% of cap",
            prose_chars: 2_000,
            code_chars: 0,
            tools: false,
            max_tokens: 8192,
            output: 6500,
        },
        Scenario {
            name: "coding agent turn with tools",
            prose_chars: 1_000,
            code_chars: 12_000,
            tools: true,
            max_tokens: 4096,
            output: 1500,
        },
        Scenario {
            name: "RAG: long context, short answer",
            prose_chars: 40_000,
            code_chars: 0,
            tools: false,
            max_tokens: 512,
            output: 300,
        },
    ];
    let table = PriceTable::builtin().expect("built-in table");
    println!("| request | model | bound (USD) | real (USD) | bound / real |");
    println!("|---|---|---|---|---|");
    for s in &scenarios {
        for model in ["claude-sonnet-4-5", "gpt-5.4", "gemini-2.5-flash"] {
            let family = match model {
                m if m.starts_with("claude") => ApiFamily::Anthropic,
                m if m.starts_with("gpt") => ApiFamily::OpenAiChat,
                _ => ApiFamily::Gemini,
            };
            let text = format!(
                "{}{}",
                "Lorem ipsum dolor sit amet. ".repeat(s.prose_chars / 28),
                "fn f(x: u32) -> u32 { x + 1 }\n".repeat(s.code_chars / 30)
            );
            let tools = json!([{"name": "read_file", "description": "Read a file of the repository", "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}]);
            let body = match family {
                ApiFamily::Gemini => {
                    json!({"contents": [{"role": "user", "parts": [{"text": text}]}], "generationConfig": {"maxOutputTokens": s.max_tokens}})
                }
                _ => {
                    let mut b = json!({"model": model, "max_tokens": s.max_tokens, "messages": [{"role": "user", "content": text}]});
                    if s.tools {
                        b["tools"] = tools;
                    }
                    b
                }
            };
            let bytes = serde_json::to_vec(&body).expect("json");
            let price = table.get(model).expect("priced");
            let bound = RequestBound::read(family, &bytes).cost(family, price, Decimal9::ONE).expect("cost");
            let prompt =
                (s.prose_chars as f64 / 4.0 + s.code_chars as f64 / 3.2).ceil() as u64 + if s.tools { 350 } else { 0 };
            let real = cost(&Usage { input_tokens: prompt, output_tokens: s.output, ..Usage::default() }, price)
                .expect("cost");
            let ratio = bound.nanos() as f64 / real.nanos() as f64;
            println!("| {} | {model} | {bound} | {real} | {ratio:.2}× |", s.name);
        }
    }
}
