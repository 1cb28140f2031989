//! Each platform, streaming and not: the client gets the upstream's bytes unchanged, and is charged
//! exactly the hand-computed cost.

use tollgate_core::platform::Platform;

use crate::util::gateway::{ANTHROPIC_COST_NANOS, MODEL, OTHER_COST_NANOS};
use crate::util::test_app::TestApp;

/// What the mock itself answers to `body` on `path` (with the upstream credential), for comparison.
async fn direct(app: &TestApp, path: &str, header: (&str, &str), body: &str) -> Vec<u8> {
    let mock = tollgate_server::mock_upstream::router(false);
    let _ = app;
    let req = http::Request::post(path)
        .header("content-type", "application/json")
        .header(header.0, header.1)
        .body(axum::body::Body::from(body.to_owned()))
        .unwrap();
    let resp = tower::ServiceExt::oneshot(mock, req).await.unwrap();
    http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes().to_vec()
}

struct Case {
    platform: Platform,
    path: &'static str,
    body: String,
    cost: i64,
    /// The header the mock checks, with the upstream credential.
    upstream_auth: (&'static str, &'static str),
}

fn cases(stream: bool) -> Vec<Case> {
    let s = if stream { r#","stream":true"# } else { "" };
    let msg = format!(r#"{{"model":"{MODEL}","max_tokens":64{s},"messages":[{{"role":"user","content":"hi"}}]}}"#);
    let resp = format!(r#"{{"model":"{MODEL}"{s},"input":"hi"}}"#);
    let gem = r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#.to_owned();
    let gem_path = if stream {
        "/v1beta/models/tollgate-test-model:streamGenerateContent?alt=sse"
    } else {
        "/v1beta/models/tollgate-test-model:generateContent"
    };
    let key = ("x-api-key", tollgate_server::mock_upstream::MOCK_KEY);
    let bearer: (&str, &str) = ("authorization", "Bearer mock-upstream-key");
    let goog = ("x-goog-api-key", tollgate_server::mock_upstream::MOCK_KEY);
    vec![
        Case {
            platform: Platform::Anthropic,
            path: "/v1/messages",
            body: msg.clone(),
            cost: ANTHROPIC_COST_NANOS,
            upstream_auth: key,
        },
        Case {
            platform: Platform::OpenAi,
            path: "/v1/responses",
            body: resp,
            cost: OTHER_COST_NANOS,
            upstream_auth: bearer,
        },
        Case {
            platform: Platform::Gemini,
            path: gem_path,
            body: gem.clone(),
            cost: OTHER_COST_NANOS,
            upstream_auth: goog,
        },
        Case {
            platform: Platform::Antigravity,
            path: "/antigravity/v1/messages",
            body: msg,
            cost: ANTHROPIC_COST_NANOS,
            upstream_auth: key,
        },
        Case {
            platform: Platform::Antigravity,
            path: if stream {
                "/antigravity/v1beta/models/tollgate-test-model:streamGenerateContent?alt=sse"
            } else {
                "/antigravity/v1/models/tollgate-test-model:generateContent"
            },
            body: gem,
            cost: OTHER_COST_NANOS,
            upstream_auth: goog,
        },
    ]
}

async fn bytes_unchanged_and_charged_exactly(app: TestApp) {
    let app = app.with_mocks(false).await;
    for stream in [false, true] {
        for (i, case) in cases(stream).into_iter().enumerate() {
            let c = app.caller(&format!("p{i}-{stream}@example.com"), &[]).await;
            let auth = format!("Bearer {}", c.secret);
            let headers: Vec<(&str, &str)> = match case.platform {
                Platform::Gemini | Platform::Antigravity if case.path.contains("models/") => {
                    vec![("x-goog-api-key", &c.secret)]
                }
                Platform::OpenAi => vec![("authorization", &auth)],
                _ => vec![("x-api-key", &c.secret)],
            };
            let r = app.post_json(case.path, &headers, &case.body).await;
            assert_eq!(r.status, 200, "{} {}: {}", case.path, stream, r.text());
            let upstream_path = case.path.strip_prefix("/antigravity").unwrap_or(case.path);
            let expected = direct(&app, upstream_path, case.upstream_auth, &case.body).await;
            assert_eq!(r.text(), String::from_utf8_lossy(&expected), "{} stream={stream}", case.path);
            assert_eq!(app.spent(c.user_id, case.platform).await, case.cost, "{} stream={stream}", case.path);
            assert!(r.headers.contains_key("x-tollgate-request-id"));
        }
    }
}
crate::both_backends!(
    bytes_unchanged_and_charged_exactly_on_every_platform,
    super::bytes_unchanged_and_charged_exactly
);

/// OpenAI Chat streams: `include_usage` is injected, and its usage-only chunk removed again.
#[tokio::test]
async fn chat_stream_drops_the_injected_usage_chunk_only() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let c = app.caller("chat@example.com", &[]).await;
    let auth = format!("Bearer {}", c.secret);
    let body = format!(r#"{{"model":"{MODEL}","stream":true,"messages":[]}}"#);
    let r = app.post_json("/v1/chat/completions", &[("authorization", &auth)], &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(text.contains(r#""usage":null"#), "{text}");
    assert!(!text.contains("prompt_tokens"), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert_eq!(app.spent(c.user_id, Platform::OpenAi).await, OTHER_COST_NANOS);
    // A client that asked for usage itself gets the chunk.
    let body =
        format!(r#"{{"model":"{MODEL}","stream":true,"stream_options":{{"include_usage":true}},"messages":[]}}"#);
    let r = app.post_json("/v1/chat/completions", &[("authorization", &auth)], &body).await;
    assert!(r.text().contains("prompt_tokens"), "{}", r.text());
    // Non-streaming chat.
    let r = app
        .post_json(
            "/v1/chat/completions",
            &[("authorization", &auth)],
            &format!(r#"{{"model":"{MODEL}","messages":[]}}"#),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(app.spent(c.user_id, Platform::OpenAi).await, 3 * OTHER_COST_NANOS);
}

/// Gemini without `alt=sse` streams a JSON array; Cloud Code answers are unwrapped; counting tokens
/// and listing models is free; the user's multiplier applies.
#[tokio::test]
async fn gemini_array_stream_v1internal_free_endpoints_and_multiplier() {
    let app = TestApp::sqlite().await.with_mocks(true).await;
    let c = app.caller("g@example.com", &[]).await;
    let h = [("x-goog-api-key", c.secret.as_str())];
    let body = r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#;
    let r = app.post_json("/v1beta/models/tollgate-test-model:streamGenerateContent", &h, body).await;
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with('['), "{}", r.text());
    assert_eq!(app.spent(c.user_id, Platform::Gemini).await, OTHER_COST_NANOS);
    // Antigravity Gemini goes to the Cloud Code account (priority 0) and comes back unwrapped.
    let r = app.post_json("/antigravity/v1beta/models/tollgate-test-model:generateContent", &h, body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().starts_with(r#"{"candidates""#), "{}", r.text());
    let r =
        app.post_json("/antigravity/v1beta/models/tollgate-test-model:streamGenerateContent?alt=sse", &h, body).await;
    assert!(r.text().starts_with(r#"data: {"candidates""#), "{}", r.text());
    assert_eq!(app.spent(c.user_id, Platform::Antigravity).await, 2 * OTHER_COST_NANOS);
    // ?key= works like the header, and countTokens is never charged.
    let r = app.post_json(&format!("/v1beta/models/tollgate-test-model:countTokens?key={}", c.secret), &[], body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(app.spent(c.user_id, Platform::Gemini).await, OTHER_COST_NANOS);
    let auth = format!("Bearer {}", c.secret);
    let r = app
        .send(http::Request::get("/v1/models").header("authorization", &auth).body(axum::body::Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, 200);
    let r = app
        .post_json(
            "/v1/messages/count_tokens",
            &[("x-api-key", &c.secret)],
            &format!(r#"{{"model":"{MODEL}","messages":[]}}"#),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(app.spent(c.user_id, Platform::Anthropic).await, 0);
    // Multiplier 1.5: 1_059_000 × 1.5.
    let patch = tollgate_store::UserPatch {
        cost_multiplier: Some(tollgate_core::money::Decimal9::parse("1.5").unwrap()),
        ..Default::default()
    };
    app.state.store.update_user(c.user_id, &patch, jiff::Timestamp::now()).await.unwrap();
    app.state.keys.invalidate();
    app.post_json("/v1beta/models/tollgate-test-model:generateContent", &h, body).await;
    assert_eq!(app.spent(c.user_id, Platform::Gemini).await, OTHER_COST_NANOS + 1_588_500);
}
