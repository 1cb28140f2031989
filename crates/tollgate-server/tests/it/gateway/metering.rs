//! Metering integrity, as a client that tries not to pay would probe it: every answer is charged,
//! at its own model's price, to the nano-USD (hand-computed figures below).

use axum::Router;
use axum::routing::post;
use serde_json::json;
use tollgate_core::platform::Platform;

use crate::util::gateway::{ANTHROPIC_COST_NANOS, MODEL, anthropic_prompt, daily, open_slow_stream};
use crate::util::scripted::sse;
use http::StatusCode;

use crate::util::test_app::TestApp;

fn chat(model: &str) -> String {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}).to_string()
}

async fn chat_as(app: &TestApp, secret: &str, model: &str) -> StatusCode {
    let r =
        app.post_json("/v1/chat/completions", &[("authorization", &format!("Bearer {secret}"))], &chat(model)).await;
    r.status
}

/// A price written through the console prices the very next request; so does its removal.
async fn overrides_apply_to_the_next_request(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    let c = app.caller("next@example.com", &[]).await;
    let put = |body: serde_json::Value| {
        let (app, token) = (&app, admin.token.clone());
        async move {
            let r = app.call("PUT", "/api/v1/admin/pricing/acme-model", Some(&token), Some(&body.to_string())).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        }
    };
    put(json!({"platform": "openai", "input_per_mtok": 2.5, "output_per_mtok": 10})).await;
    assert_eq!(chat_as(&app, &c.secret, "acme-model").await, StatusCode::OK);
    // Mock usage: 100 uncached + 30 cached input, 50 output. Cache reads at the input price (none
    // set): 130 × 2.5 + 50 × 10 = 825 µUSD.
    assert_eq!(app.spent(c.user_id, Platform::OpenAi).await, 825_000);
    put(json!({"platform": "openai", "input_per_mtok": 5, "output_per_mtok": 20})).await;
    assert_eq!(chat_as(&app, &c.secret, "acme-model").await, StatusCode::OK);
    // 130 × 5 + 50 × 20 = 1,650 µUSD more.
    assert_eq!(app.spent(c.user_id, Platform::OpenAi).await, 825_000 + 1_650_000);
    let r = app.call("DELETE", "/api/v1/admin/pricing/acme-model", Some(&admin.token), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(chat_as(&app, &c.secret, "acme-model").await, StatusCode::OK);
    // Back to OpenAI's fallback (gpt-5: 1.25 in, 0.125 cached, 10 out): 125 + 3.75 + 500 µUSD.
    assert_eq!(app.spent(c.user_id, Platform::OpenAi).await, 825_000 + 1_650_000 + 628_750);
    let audit = app.get_as("/api/v1/admin/audit", &admin.token).await.json();
    let actions: Vec<&str> = audit["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"price.update") && actions.contains(&"price.delete"), "{actions:?}");
}
crate::both_backends!(overrides_apply_to_the_next_request, super::overrides_apply_to_the_next_request);

/// `gpt-5.4-pro` is not `gpt-5.4` (12× cheaper): it is charged at its own price. A name that only
/// starts like a known model is unknown: fallback price, listed for the admin, or refused.
async fn variants_are_never_priced_as_a_cheaper_model(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    let c = app.caller("variant@example.com", &[]).await;
    assert_eq!(chat_as(&app, &c.secret, "gpt-5.4-pro").await, StatusCode::OK);
    // gpt-5.4-pro: $30 in (no cached rate: cache reads at 30), $180 out: 3,000 + 900 + 9,000 µUSD.
    assert_eq!(app.spent(c.user_id, Platform::OpenAi).await, 12_900_000);

    assert_eq!(chat_as(&app, &c.secret, "gpt-5.4-ultra").await, StatusCode::OK);
    // Unknown: OpenAI's fallback (gpt-5), 628.75 µUSD.
    assert_eq!(app.spent(c.user_id, Platform::OpenAi).await, 12_900_000 + 628_750);
    app.state.ledger.prices().flush_unpriced(&*app.state.store).await;
    let listed = app.get_as("/api/v1/admin/pricing/unpriced", &admin.token).await.json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0]["model"].as_str(), listed[0]["platform"].as_str()), (Some("gpt-5.4-ultra"), Some("openai")));
    assert_eq!(listed[0]["requests"], 1);

    app.put_settings(&admin, r#"{"unknown_model_pricing":"reject"}"#).await;
    assert_eq!(chat_as(&app, &c.secret, "gpt-5.4-ultra").await, StatusCode::BAD_REQUEST);
    assert_eq!(chat_as(&app, &c.secret, "gpt-5.4-pro").await, StatusCode::OK);
    // Priced by the admin: off the list, and accepted.
    let body = json!({"platform": "openai", "input_per_mtok": 40, "output_per_mtok": 200}).to_string();
    let r = app.call("PUT", "/api/v1/admin/pricing/gpt-5.4-ultra", Some(&admin.token), Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(chat_as(&app, &c.secret, "gpt-5.4-ultra").await, StatusCode::OK);
    app.state.ledger.prices().flush_unpriced(&*app.state.store).await;
    let listed = app.get_as("/api/v1/admin/pricing/unpriced", &admin.token).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 0, "{listed}");
}
crate::both_backends!(
    variants_are_never_priced_as_a_cheaper_model,
    super::variants_are_never_priced_as_a_cheaper_model
);

/// A client that hangs up before reading a single event still pays the whole answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hang_up_before_the_first_event_pays_the_full_usage() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let base = app.listen().await;
    let c = app.caller("early@example.com", &[]).await;
    drop(open_slow_stream(&base, &c.secret).await);
    let mut spent = 0;
    for _ in 0..100 {
        spent = app.spent(c.user_id, Platform::Anthropic).await;
        if spent > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(spent, ANTHROPIC_COST_NANOS);
}

/// Field masks never reach the upstream (the usage stays in the answer); an answer without usage
/// is charged an estimate, never 0; background responses are refused.
async fn no_answer_is_recorded_at_zero(app: TestApp) {
    let app = app.with_mocks(false).await;
    let c = app.caller("zero@example.com", &[]).await;
    let gemini = Router::new().route(
        "/v1beta/models/{m}",
        post(|uri: axum::http::Uri| async move {
            let masked = uri.query().is_some_and(|q| q.contains("fields"));
            let mut body =
                json!({"candidates": [{"content": {"parts": [{"text": "hi there"}]}, "finishReason": "STOP"}]});
            if !masked {
                body["usageMetadata"] = json!({"promptTokenCount": 1000, "candidatesTokenCount": 200});
            }
            axum::Json(body)
        }),
    );
    let seen = app.scripted(Platform::Gemini, gemini).await;
    let body = json!({"contents": [{"parts": [{"text": "hi"}]}]}).to_string();
    let uri = format!(
        "/v1beta/models/{MODEL}:generateContent?fields=candidates&%24fields=candidates&alt=proto&key={}",
        c.secret
    );
    let r = app.post_json(&uri, &[], &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(seen.queries(), [""], "only the route's own parameters are forwarded");
    // 1,000 × 3 + 200 × 15 = 6,000 µUSD: the upstream's own usage.
    assert_eq!(app.spent(c.user_id, Platform::Gemini).await, 6_000_000);

    // An OpenAI-compatible upstream that sends no usage at all: charged an estimate, flagged.
    let silent = Router::new().route(
        "/v1/chat/completions",
        post(|| async {
            axum::Json(json!({"choices": [{"message": {"role": "assistant", "content": "x".repeat(400)}}]}))
        }),
    );
    app.scripted(Platform::OpenAi, silent).await;
    assert_eq!(chat_as(&app, &c.secret, MODEL).await, StatusCode::OK);
    let record = app.last_record(c.user_id).await;
    assert!(record.output_estimated);
    assert!(record.usage.input_tokens > 0 && record.usage.output_tokens >= 100, "{record:?}");
    assert!(record.cost.nanos() > 0);

    let background = json!({"model": MODEL, "input": "hi", "background": true}).to_string();
    let r = app.post_json("/v1/responses", &[("authorization", &format!("Bearer {}", c.secret))], &background).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("background"), "{}", r.text());
}
crate::both_backends!(no_answer_is_recorded_at_zero, super::no_answer_is_recorded_at_zero);

/// With usage in every chunk (vLLM's `continuous_usage_stats`), the last running total is charged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuous_usage_is_charged_at_its_last_total() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let c = app.caller("running@example.com", &[]).await;
    let upstream = Router::new().route(
        "/v1/chat/completions",
        post(|| async {
            let mut events: Vec<(Option<&str>, String)> = (1..=300)
                .map(|n| {
                    let chunk = json!({"choices": [{"index": 0, "delta": {"content": "a"}}],
                        "usage": {"prompt_tokens": 40, "completion_tokens": n}});
                    (None, chunk.to_string())
                })
                .collect();
            events.push((
                None,
                json!({"choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 300}}).to_string(),
            ));
            events.push((None, "[DONE]".to_owned()));
            sse(&events)
        }),
    );
    app.scripted(Platform::OpenAi, upstream).await;
    let body = json!({"model": MODEL, "stream": true, "stream_options": {"include_usage": true, "continuous_usage_stats": true},
        "messages": [{"role": "user", "content": "count"}]})
    .to_string();
    let r = app.post_json("/v1/chat/completions", &[("authorization", &format!("Bearer {}", c.secret))], &body).await;
    assert_eq!(r.status, StatusCode::OK);
    // 40 × 3 + 300 × 15 = 4,620 µUSD (not 40 × 3 + 1 × 15).
    assert_eq!(app.spent(c.user_id, Platform::OpenAi).await, 4_620_000);
}

/// Server-side tool calls are charged per call and shown in the usage record.
async fn tool_calls_are_charged(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    let c = app.caller("tools@example.com", &[]).await;
    let priced = json!({"platform": "anthropic", "input_per_mtok": 3, "output_per_mtok": 15,
        "tool_fees": {"web_search_per_1k": 10, "file_search_per_1k": 2.5}});
    let r =
        app.call("PUT", &format!("/api/v1/admin/pricing/{MODEL}"), Some(&admin.token), Some(&priced.to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let upstreams = [
        (
            Platform::Anthropic,
            Router::new().route(
                "/v1/messages",
                post(|| async {
                    axum::Json(json!({"type": "message", "content": [{"type": "text", "text": "found"}],
                        "usage": {"input_tokens": 100, "output_tokens": 50, "server_tool_use": {"web_search_requests": 2}}}))
                }),
            ),
        ),
        (
            Platform::OpenAi,
            Router::new().route(
                "/v1/responses",
                post(|| async {
                    axum::Json(json!({"object": "response", "output": [{"type": "web_search_call"}, {"type": "file_search_call"},
                        {"type": "message"}], "usage": {"input_tokens": 100, "output_tokens": 50}}))
                }),
            ),
        ),
        (
            Platform::Gemini,
            Router::new().route(
                "/v1beta/models/{m}",
                post(|| async {
                    axum::Json(json!({"candidates": [{"content": {"parts": [{"text": "found"}]}, "finishReason": "STOP",
                        "groundingMetadata": {"webSearchQueries": ["a", "b", "c"]}}],
                        "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 50}}))
                }),
            ),
        ),
    ];
    for (platform, router) in upstreams {
        app.scripted(platform, router).await;
    }
    let auth = [("x-api-key", c.secret.as_str())];
    let r = app.post_json("/v1/messages", &auth, &anthropic_prompt(false, 100)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let record = app.last_record(c.user_id).await;
    // 100 × 3 + 50 × 15 = 1,050 µUSD of tokens + 2 searches × $0.01.
    assert_eq!((record.usage.tool_calls.web_search, record.tool_cost.nanos()), (2, 20_000_000));
    assert_eq!(record.cost.nanos(), 21_050_000);

    let bearer = format!("Bearer {}", c.secret);
    let r = app
        .post_json("/v1/responses", &[("authorization", &bearer)], &json!({"model": MODEL, "input": "x"}).to_string())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let record = app.last_record(c.user_id).await;
    // 1,050 µUSD + one search ($0.01) + one file search ($0.0025).
    assert_eq!((record.tool_cost.nanos(), record.cost.nanos()), (12_500_000, 13_550_000));

    let uri = format!("/v1beta/models/{MODEL}:generateContent?key={}", c.secret);
    let r = app.post_json(&uri, &[], &json!({"contents": []}).to_string()).await;
    assert_eq!(r.status, StatusCode::OK);
    let record = app.last_record(c.user_id).await;
    assert_eq!((record.usage.tool_calls.web_search, record.cost.nanos()), (3, 31_050_000));
}
crate::both_backends!(tool_calls_are_charged, super::tool_calls_are_charged);

/// Strict mode's bound is tight enough to use: a small request fits in $0.01 (the old bound, every
/// byte at the 1-hour cache-write rate plus 2,048 tokens, refused it), and `n` multiplies output.
async fn strict_bound_is_usable_and_counts_choices(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    app.put_settings(&admin, r#"{"quota_enforcement":"strict"}"#).await;
    let c = app.caller("strict@example.com", &daily(Platform::Anthropic, "0.01")).await;
    let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &anthropic_prompt(false, 200)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(app.spent(c.user_id, Platform::Anthropic).await, ANTHROPIC_COST_NANOS);

    let o = app.caller("choices@example.com", &daily(Platform::OpenAi, "0.01")).await;
    let bearer = format!("Bearer {}", o.secret);
    let one = json!({"model": MODEL, "max_completion_tokens": 100, "messages": [{"role": "user", "content": "hi"}]});
    let r = app.post_json("/v1/chat/completions", &[("authorization", &bearer)], &one.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // 100 choices × 100 tokens × $15/MTok = $0.15 of output alone: refused before forwarding.
    let many = json!({"model": MODEL, "n": 100, "max_completion_tokens": 100, "messages": [{"role": "user", "content": "hi"}]});
    let r = app.post_json("/v1/chat/completions", &[("authorization", &bearer)], &many.to_string()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
}
crate::both_backends!(strict_bound_is_usable_and_counts_choices, super::strict_bound_is_usable_and_counts_choices);

/// A strict-mode hold of a request that failed upstream is released before the client hears
/// back: the next request has the whole allowance again.
async fn a_failed_request_releases_its_hold(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    app.put_settings(&admin, r#"{"quota_enforcement":"strict"}"#).await;
    let c = app.caller("hold@example.com", &daily(Platform::Anthropic, "0.01")).await;
    let failing = Router::new().route("/v1/messages", post(|| async { (StatusCode::BAD_REQUEST, "no") }));
    app.scripted(Platform::Anthropic, failing).await;
    // The bound of this request is about $0.007 of the $0.01: two could not be held at once.
    for _ in 0..3 {
        let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &anthropic_prompt(false, 300)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    }
    assert_eq!(app.spent(c.user_id, Platform::Anthropic).await, 0);
}
crate::both_backends!(a_failed_request_releases_its_hold, super::a_failed_request_releases_its_hold);

/// OpenAI Chat search models run one web search per request, which their usage does not count.
async fn chat_web_search_is_charged_per_request(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    let c = app.caller("chat-search@example.com", &[]).await;
    let priced = json!({"platform": "openai", "input_per_mtok": 3, "output_per_mtok": 15, "tool_fees": {"web_search_per_1k": 25}});
    let r =
        app.call("PUT", &format!("/api/v1/admin/pricing/{MODEL}"), Some(&admin.token), Some(&priced.to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = json!({"model": MODEL, "web_search_options": {}, "messages": [{"role": "user", "content": "news?"}]});
    let r = app
        .post_json("/v1/chat/completions", &[("authorization", &format!("Bearer {}", c.secret))], &body.to_string())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let record = app.last_record(c.user_id).await;
    // 130 input × 3 (no cached rate) + 50 × 15 = 1,140 µUSD, plus one search at $25 per 1,000.
    assert_eq!(
        (record.usage.tool_calls.web_search, record.tool_cost.nanos(), record.cost.nanos()),
        (1, 25_000_000, 26_140_000)
    );
}
crate::both_backends!(chat_web_search_is_charged_per_request, super::chat_web_search_is_charged_per_request);
