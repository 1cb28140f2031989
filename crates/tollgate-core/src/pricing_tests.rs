use super::*;
use proptest::prelude::*;

fn money(text: &str) -> Money {
    Money::parse(text).unwrap()
}

fn usage(input: u64, output: u64, read: u64, w5: u64, w1: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: read,
        cache_write_5m_tokens: w5,
        cache_write_1h_tokens: w1,
        tool_calls: Default::default(),
    }
}

fn table() -> &'static PriceTable {
    PriceTable::builtin().unwrap()
}

fn price_of(model: &str) -> &'static Price {
    table().get(model).unwrap()
}

fn flat(input: &str, output: &str) -> Price {
    Price {
        platform: Platform::OpenAi,
        input_per_mtok: money(input),
        output_per_mtok: money(output),
        cache_read_per_mtok: None,
        cache_write_5m_per_mtok: None,
        cache_write_1h_per_mtok: None,
        long_context: None,
        tool_fees: ToolFees::default(),
        covers: Vec::new(),
        source_url: None,
        as_of: None,
    }
}

#[test]
fn builtin_table_parses_and_is_sane() {
    let t = PriceTable::builtin().unwrap();
    assert_eq!(t.as_of(), "2026-12-04");
    assert_eq!(t.source().len(), 3);
    for p in Platform::ALL {
        assert!(t.fallback(*p).is_some(), "{p} has no fallback");
    }
    for (name, price) in t.models() {
        assert!(price.input_per_mtok > Money::ZERO && price.output_per_mtok > price.input_per_mtok, "{name}");
        let expected = match name {
            n if n.starts_with("claude-") => Platform::Anthropic,
            n if n.starts_with("gemini-") => Platform::Gemini,
            _ => Platform::OpenAi,
        };
        assert_eq!(price.platform, expected, "{name}");
        if let Some(lc) = &price.long_context {
            assert!(lc.input_per_mtok > price.input_per_mtok, "{name}");
        }
    }
    // Exact decimal parse of JSON numbers.
    assert_eq!(price_of("gpt-5-nano").cache_read_per_mtok, Some(money("0.005")));
    assert_eq!(price_of("claude-opus-4-1").cache_write_5m_per_mtok, Some(money("18.75")));
}

#[test]
fn lookup_rules() {
    let t = table();
    let found = |platform, model: &str| {
        let m = t.lookup(platform, model).unwrap();
        (m.model, m.kind)
    };
    use MatchKind::*;
    use Platform::*;
    assert_eq!(found(Anthropic, "claude-sonnet-4-5"), (Some("claude-sonnet-4-5"), Exact));
    assert_eq!(found(Anthropic, "claude-sonnet-4-5-20250929"), (Some("claude-sonnet-4-5"), DateSuffix));
    assert_eq!(found(Anthropic, "claude-sonnet-4-5@20250929"), (Some("claude-sonnet-4-5"), DateSuffix));
    assert_eq!(found(Anthropic, "claude-opus-4-20250514"), (Some("claude-opus-4"), DateSuffix));
    assert_eq!(found(Anthropic, "claude-3-5-haiku-latest"), (Some("claude-3-5-haiku"), DateSuffix));
    // Names that look like a cheaper model, or the fallback: priced as the model they are.
    assert_eq!(found(Anthropic, "claude-3-opus-latest"), (Some("claude-3-opus"), DateSuffix));
    assert_eq!(found(OpenAi, "gpt-5.4-pro-latest"), (Some("gpt-5.4-pro"), DateSuffix));
    assert_eq!(found(OpenAi, "chatgpt-4o-latest"), (Some("chatgpt-4o-latest"), Exact));
    assert_eq!(found(OpenAi, "gpt-5-chat-latest"), (Some("gpt-5"), Alias));
    assert_eq!(found(OpenAi, "gpt-4-32k-0613"), (Some("gpt-4-32k"), Alias));
    assert_eq!(found(OpenAi, "GPT-4.5-preview-2025-02-27"), (Some("gpt-4.5-preview"), DateSuffix));
    assert_eq!(found(OpenAi, "-latest"), (None, Fallback));
    assert_eq!(found(OpenAi, "gpt-4o-mini-2024-07-18"), (Some("gpt-4o-mini"), DateSuffix));
    assert_eq!(found(OpenAi, "gpt-4o-2024-05-13"), (Some("gpt-4o-2024-05-13"), Exact));
    assert_eq!(found(OpenAi, "GPT-4o"), (Some("gpt-4o"), Exact));
    assert_eq!(found(OpenAi, "gpt-5-codex"), (Some("gpt-5"), Alias));
    assert_eq!(found(Gemini, "models/gemini-2.5-flash"), (Some("gemini-2.5-flash"), Exact));
    assert_eq!(found(Gemini, "gemini-2.5-flash-preview-09-2025"), (Some("gemini-2.5-flash"), Alias));
    assert_eq!(found(Gemini, "gemini-2.5-flash-lite-preview-06-17"), (Some("gemini-2.5-flash-lite"), Alias));
    assert_eq!(found(Gemini, "gemini-3-pro-preview"), (Some("gemini-3-pro"), Alias));
    // Antigravity serves Claude and Gemini models under their own names.
    assert_eq!(found(Antigravity, "claude-opus-4-5-thinking"), (Some("claude-opus-4-5"), Alias));
    assert_eq!(found(Antigravity, "gemini-3-pro-high"), (Some("gemini-3-pro"), Alias));
    // The platform only picks the fallback; a known name is priced wherever it is called.
    assert_eq!(found(OpenAi, "claude-haiku-4-5"), (Some("claude-haiku-4-5"), Exact));
    // A name that only starts like a known model is unknown: never a cheaper model's price.
    assert_eq!(found(OpenAi, "gpt-4.10"), (None, Fallback));
    assert_eq!(found(OpenAi, "gpt-5.4-pro"), (Some("gpt-5.4-pro"), Exact));
    assert_eq!(found(OpenAi, "gpt-5.4-pro-2026-03-05"), (Some("gpt-5.4-pro"), DateSuffix));
    assert_eq!(found(OpenAi, "gpt-5.4-ultra"), (None, Fallback));
    assert_eq!(found(OpenAi, "o3-deep-research"), (Some("o3-deep-research"), Exact));
    assert_eq!(found(Gemini, "gemini-2.5-flash-image"), (Some("gemini-2.5-flash-image"), Exact));
    assert_eq!(found(Gemini, "gemini-2.5-flash-extra"), (None, Fallback));
    assert_eq!(found(Anthropic, "claude-opus-4-5-20251101-thinking"), (None, Fallback));
    // An alias of a dated name: the stem is looked up too.
    assert_eq!(found(Anthropic, "claude-opus-4-5-thinking@20251101"), (Some("claude-opus-4-5"), Alias));
    let m = t.lookup(Gemini, "mystery-model").unwrap();
    assert_eq!((m.kind, m.price), (Fallback, price_of("gemini-2.5-pro")));
    let m = t.lookup(Antigravity, "mystery-model").unwrap();
    assert_eq!(m.price, price_of("claude-sonnet-4-5"));
}

#[test]
fn date_suffixes() {
    assert_eq!(strip_date_suffix("claude-sonnet-4-5-20250929"), "claude-sonnet-4-5");
    assert_eq!(strip_date_suffix("gpt-5-2025-08-07"), "gpt-5");
    assert_eq!(strip_date_suffix("claude-3-7-sonnet@20250219"), "claude-3-7-sonnet");
    assert_eq!(strip_date_suffix("gpt-4-0613"), "gpt-4-0613");
    assert_eq!(strip_date_suffix("gemini-2.5-pro"), "gemini-2.5-pro");
    assert_eq!(strip_date_suffix("é-2025-08-0é"), "é-2025-08-0é");
    assert_eq!(strip_date_suffix(""), "");
}

#[test]
fn anthropic_cost_with_all_cache_kinds() {
    // 25 × $3 + 15 × $15 + 12,000 × $0.30 + 800 × $3.75 + 1,000 × $6, per MTok
    // = 75 + 225 + 3,600 + 3,000 + 6,000 = 12,900 µ$ = $0.0129.
    let c = cost(&usage(25, 15, 12_000, 800, 1_000), price_of("claude-sonnet-4-5")).unwrap();
    assert_eq!(c, money("0.0129"));
}

#[test]
fn openai_chat_cost_with_cached_input() {
    // gpt-4o: 102 × $2.50 + 2,048 × $1.25 + 9 × $10 = 255 + 2,560 + 90 = 2,905 µ$.
    let c = cost(&usage(102, 9, 2_048, 0, 0), price_of("gpt-4o")).unwrap();
    assert_eq!(c, money("0.002905"));
}

#[test]
fn openai_responses_cost_with_cached_input() {
    // gpt-5: 512 × $1.25 + 1,024 × $0.125 + 240 × $10 = 640 + 128 + 2,400 = 3,168 µ$.
    let c = cost(&usage(512, 240, 1_024, 0, 0), price_of("gpt-5")).unwrap();
    assert_eq!(c, money("0.003168"));
}

#[test]
fn gemini_cost_with_cached_content() {
    // gemini-2.5-flash: 54 × $0.30 + 4,096 × $0.03 + 253 × $2.50 = 16.2 + 122.88 + 632.5 = 771.58 µ$.
    let c = cost(&usage(54, 253, 4_096, 0, 0), price_of("gemini-2.5-flash")).unwrap();
    assert_eq!(c, money("0.00077158"));
}

#[test]
fn long_context_tier_by_total_prompt_tokens() {
    let pro = price_of("gemini-2.5-pro");
    // 250,000 > 200,000: $2.50 in, $15 out: 625,000 + 14,280 = 639,280 µ$.
    assert_eq!(cost(&usage(250_000, 952, 0, 0, 0), pro).unwrap(), money("0.63928"));
    // Exactly at the threshold stays on the base tier: 200,000 × $1.25 = $0.25.
    assert_eq!(cost(&usage(200_000, 0, 0, 0, 0), pro).unwrap(), money("0.25"));
    assert_eq!(cost(&usage(200_001, 0, 0, 0, 0), pro).unwrap(), money("0.5000025"));
    // Cache tokens count toward the threshold: 150,000 in + 60,000 read = 210,000 > 200,000, so
    // Sonnet 4.5 bills 150,000 × $6 + 60,000 × $0.60 + 1,000 × $22.50 = 900,000 + 36,000 + 22,500.
    let sonnet = price_of("claude-sonnet-4-5");
    assert_eq!(cost(&usage(150_000, 1_000, 60_000, 0, 0), sonnet).unwrap(), money("0.9585"));
    // Below it: 150,000 × $3 + 40,000 × $0.30 + 1,000 × $15 = 450,000 + 12,000 + 15,000.
    assert_eq!(cost(&usage(150_000, 1_000, 40_000, 0, 0), sonnet).unwrap(), money("0.477"));
}

#[test]
fn absent_cache_prices_are_derived_from_input() {
    // $3 input: reads at $3, 5-minute writes at $3.75, 1-hour writes at $6.
    // 1,000 × (3 + 3 + 3.75 + 6) = 15,750 µ$.
    let c = cost(&usage(1_000, 0, 1_000, 1_000, 1_000), &flat("3", "15")).unwrap();
    assert_eq!(c, money("0.01575"));
    // 1.25 × 1 nano/MTok rounds the derived rate up to 2 nanos/MTok.
    assert_eq!(cost(&usage(0, 0, 0, 1_000_000, 0), &flat("0.000000001", "1")).unwrap().nanos(), 2);
}

#[test]
fn rounds_up_once_per_request() {
    let tiny = flat("0.000000001", "0.000000001"); // 1 nano-USD per MTok
    assert_eq!(cost(&usage(1, 0, 0, 0, 0), &tiny).unwrap().nanos(), 1);
    assert_eq!(cost(&usage(1_000_000, 0, 0, 0, 0), &tiny).unwrap().nanos(), 1);
    assert_eq!(cost(&usage(1_000_001, 0, 0, 0, 0), &tiny).unwrap().nanos(), 2);
    // Half a nano of input plus half a nano of output is one nano, not two.
    assert_eq!(cost(&usage(500_000, 500_000, 0, 0, 0), &tiny).unwrap().nanos(), 1);
    assert_eq!(cost(&Usage::default(), &tiny).unwrap(), Money::ZERO);
}

#[test]
fn overflow_is_an_error() {
    let max = Price { input_per_mtok: Money::MAX, output_per_mtok: Money::MAX, ..flat("1", "1") };
    let huge = usage(u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX);
    assert_eq!(cost(&huge, &max), Err(PricingError::Overflow));
    assert_eq!(cost(&usage(u64::MAX, 0, 0, 0, 0), &flat("1000", "1")), Err(PricingError::Overflow));
    assert_eq!(cost(&usage(0, 0, 1, 0, 0), &max).map(Money::nanos), Ok(i64::MAX / 1_000_000 + 1));
    // A derived rate above the money range is fine while the cost fits.
    assert!(cost(&usage(0, 0, 0, 1, 0), &max).is_ok());
    assert_eq!(apply_multiplier(Money::MAX, money("2")), Err(PricingError::Overflow));
}

#[test]
fn multiplier_rounds_up() {
    assert_eq!(apply_multiplier(money("0.0129"), money("1.5")), Ok(money("0.01935")));
    assert_eq!(apply_multiplier(money("0.000000001"), money("0.5")), Ok(money("0.000000001")));
    assert_eq!(apply_multiplier(money("0.000000003"), money("0.333333333")), Ok(money("0.000000001")));
    assert_eq!(apply_multiplier(money("7"), Decimal9::ONE), Ok(money("7")));
    assert_eq!(apply_multiplier(money("7"), Decimal9::ZERO), Ok(Money::ZERO));
}

#[test]
fn price_json_shape() {
    let json = serde_json::to_string(price_of("gpt-4o")).unwrap();
    assert_eq!(
        json,
        r#"{"platform":"openai","input_per_mtok":2.5,"output_per_mtok":10,"cache_read_per_mtok":1.25,"cache_write_5m_per_mtok":null,"cache_write_1h_per_mtok":null,"tool_fees":{"web_search_per_1k":10,"file_search_per_1k":2.5},"source_url":"https://developers.openai.com/api/docs/pricing","as_of":"2026-11-25"}"#
    );
    // Every model says where and when its price was read.
    for (model, price) in table().models() {
        assert!(price.source_url.as_deref().is_some_and(|u| u.starts_with("https://")), "{model}");
        assert!(price.as_of.as_deref().is_some_and(|d| d.len() == 10), "{model}");
    }
    // Cache fields are optional on input.
    let p: Price = serde_json::from_str(r#"{"platform":"gemini","input_per_mtok":0.1,"output_per_mtok":0.4}"#).unwrap();
    assert_eq!(p.cache_read_per_mtok, None);
    let pro = price_of("gemini-2.5-pro");
    let back: Price = serde_json::from_str(&serde_json::to_string(pro).unwrap()).unwrap();
    assert_eq!(&back, pro);
}

#[test]
fn overrides_and_fallbacks() {
    let base = table();
    let custom =
        base.with_overrides([("GPT-4o".to_owned(), flat("1", "2")), ("my-finetune".to_owned(), flat("0.5", "1"))]);
    assert_eq!(custom.lookup(Platform::OpenAi, "gpt-4o-2024-08-06").unwrap().price, &flat("1", "2"));
    assert_eq!(custom.lookup(Platform::OpenAi, "my-finetune").unwrap().kind, MatchKind::Exact);
    assert_eq!(base.get("gpt-4o").unwrap().input_per_mtok, money("2.5"), "the built-in table is untouched");
    let zero = flat("0", "0");
    let free = base.with_fallback(Platform::OpenAi, zero.clone());
    assert_eq!(free.lookup(Platform::OpenAi, "unknown").unwrap().price, &zero);
}

#[test]
fn invalid_tables_are_errors() {
    assert!(matches!(PriceTable::from_json("{"), Err(PricingError::InvalidTable(_))));
    let bad_fallback = r#"{"as_of":"x","source":[],"fallback":{"openai":"nope"},"models":{}}"#;
    assert!(matches!(PriceTable::from_json(bad_fallback), Err(PricingError::InvalidTable(_))));
    let inexact = r#"{"as_of":"x","source":[],"fallback":{},"models":{"m":{"platform":"openai","input_per_mtok":0.0000000001,"output_per_mtok":1}}}"#;
    assert!(matches!(PriceTable::from_json(inexact), Err(PricingError::InvalidTable(_))));
}

proptest! {
    #[test]
    fn cost_is_monotone_and_never_panics(
        a in any::<[u32; 5]>(),
        extra in 0u64..1_000_000,
        model in proptest::sample::select(vec!["claude-sonnet-4-5", "gpt-5", "gemini-2.5-pro", "o1-pro"]),
    ) {
        let price = price_of(model);
        let u = usage(a[0].into(), a[1].into(), a[2].into(), a[3].into(), a[4].into());
        let more = Usage { output_tokens: u.output_tokens + extra, ..u };
        let (c1, c2) = (cost(&u, price).unwrap(), cost(&more, price).unwrap());
        prop_assert!(c2 >= c1);
        // Exactly: the sum of the exact per-kind costs, rounded up once.
        let r = price.rates_for(&u);
        let exact: i128 = [(u.input_tokens, r.input), (u.output_tokens, r.output), (u.cache_read_tokens, r.cache_read),
            (u.cache_write_5m_tokens, r.cache_write_5m), (u.cache_write_1h_tokens, r.cache_write_1h)]
            .iter().map(|(t, p)| i128::from(*t) * p).sum();
        prop_assert_eq!(i128::from(c1.nanos()), (exact + 999_999) / 1_000_000);
    }
}

#[test]
fn tool_fees_are_priced_per_call() {
    use crate::usage::ToolCalls;
    let t = table();
    let price = t.get("claude-sonnet-4-5").unwrap().clone();
    let usage = Usage {
        input_tokens: 1_000,
        tool_calls: ToolCalls { web_search: 3, ..ToolCalls::default() },
        ..Usage::default()
    };
    // 1,000 × $3/MTok = $0.003, plus 3 searches × $10/1,000 = $0.03.
    assert_eq!(cost(&usage, &price).unwrap(), money("0.033"));
    assert_eq!(tool_cost(&usage, &price).unwrap(), money("0.03"));
    let gpt = t.get("gpt-5.4").unwrap().clone();
    let calls =
        Usage { tool_calls: ToolCalls { file_search: 1, web_search: 1, ..ToolCalls::default() }, ..Usage::default() };
    assert_eq!(cost(&calls, &gpt).unwrap(), money("0.0125"));
}

#[test]
fn the_table_names_its_newest_models() {
    let t = table();
    for m in [
        "claude-fable-5",
        "claude-fable-5-1",
        "claude-opus-5-5",
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
        "gpt-5.4-pro",
        "gpt-5.5-pro",
        "gemini-3.1-pro-preview",
        "gemini-3.1-flash-lite",
        "gemini-3-flash-preview",
        "gemini-3.5-flash",
    ] {
        let found = t.lookup(Platform::Anthropic, m).unwrap();
        assert_ne!(found.kind, MatchKind::Fallback, "{m}");
    }
    assert!(t.get("claude-haiku-5-5").unwrap().long_context.is_some());
    assert_eq!(
        t.get("gpt-5.4-pro").unwrap().source_url.as_deref(),
        Some("https://developers.openai.com/api/docs/pricing")
    );
}

#[test]
fn a_price_is_never_dearer_than_another_only_at_every_rate_and_threshold() {
    let table = PriceTable::builtin().unwrap();
    let (haiku, opus, sonnet) = (
        table.get("claude-haiku-4-5").unwrap(),
        table.get("claude-opus-4-6").unwrap(),
        table.get("claude-sonnet-4-5").unwrap(),
    );
    assert!(haiku.never_dearer_than(sonnet) && haiku.never_dearer_than(opus));
    assert!(!opus.never_dearer_than(haiku));
    assert!(sonnet.never_dearer_than(sonnet));
    // Same short-context rates, but a long-context tier (past 200K) the other lacks: dearer there.
    let flat = Price { long_context: None, ..sonnet.clone() };
    assert!(flat.never_dearer_than(sonnet));
    assert!(sonnet.long_context.is_some() && !sonnet.never_dearer_than(&flat));
}
