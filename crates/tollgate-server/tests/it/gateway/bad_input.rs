//! Bad input of every kind: a clear error in the native shape, no panic, no charge.

use tollgate_core::platform::Platform;

use crate::util::gateway::{ANTHROPIC_COST_NANOS, MODEL};
use crate::util::test_app::TestApp;

static DEEP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        r#"{{"model":"m","speed":"fast","messages":[{{"role":"user","content":{}1{}}}],"speed":"standard"}}"#,
        "[".repeat(200),
        "]".repeat(200)
    )
});

#[tokio::test]
async fn malformed_oversized_and_unroutable_requests() {
    let mut app = TestApp::sqlite().await.with_mocks(false).await;
    let c = app.caller("bad@example.com", &[]).await;
    let h = [("x-api-key", c.secret.as_str())];
    for (body, needle) in [
        ("{not json", "JSON object"),
        ("[]", "JSON object"),
        (r#"{"max_tokens":1}"#, "model: is required"),
        (r#"{"model":["x"]}"#, "model: must be a string"),
        (r#"{"model":"m","stream":1}"#, "stream: must be true or false"),
        (r#"{"model":"m","max_tokens":1.5}"#, "max_tokens: must be a whole number"),
        // A repeated name: the upstream might read the other value than the one checked and priced.
        (r#"{"model":"m","tools":[{"type":"web_search_20250305"}],"tools":[]}"#, "tools: given twice"),
        (r#"{"model":"m","messages":[{"role":"user","content":"a","content":"b"}]}"#, "content: given twice"),
        // Nested past what the gateway's own readers take (128 levels): every check would see
        // nothing, while the upstream's parser might read it all (here a repeated `speed`).
        (DEEP.as_str(), "128 levels"),
    ] {
        let r = app.post_json("/v1/messages", &h, body).await;
        assert_eq!(r.status, 400, "{body}");
        let j = r.json();
        assert_eq!(j["error"]["type"], "invalid_request_error");
        assert!(j["error"]["message"].as_str().unwrap().contains(needle), "{body}: {j}");
    }
    let r = app.post_json("/v1beta/models/m:frobnicate", &[("x-goog-api-key", &c.secret)], "{}").await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")));
    // A path model an upstream could decode into another model's path is refused, not forwarded.
    for path in [
        "/v1beta/models/gemini-2.5-flash-lite%2F..%2Fgemini-3-pro:generateContent",
        "/v1beta/models/a%23b:generateContent",
        "/v1beta/models/:generateContent",
    ] {
        let r = app.post_json(path, &[("x-goog-api-key", &c.secret)], r#"{"contents":[]}"#).await;
        assert_eq!(r.status.as_u16(), 400, "{path}: {}", r.text());
        assert!(r.text().contains("plain name"), "{path}: {}", r.text());
    }
    // A generation as a GET would be routed as a model lookup and forwarded uncharged.
    let r = app
        .send(
            http::Request::get("/v1beta/models/gemini-2.5-flash:generateContent")
                .header("x-goog-api-key", &c.secret)
                .body(axum::body::Body::from(r#"{"contents":[]}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text());
    assert!(r.text().contains("must be a POST"), "{}", r.text());
    assert_eq!(app.spent(c.user_id, Platform::Anthropic).await, 0);

    // Oversized body: 413 before anything is forwarded.
    let mut config = (*app.state.config).clone();
    config.max_body_bytes = 1024;
    let mut parts = tollgate_server::state::StateParts::clone(&app.state);
    parts.config = std::sync::Arc::new(config);
    app.state = parts.into();
    app.router = tollgate_server::router::app(app.state.clone());
    let big = format!(r#"{{"model":"{MODEL}","pad":"{}"}}"#, "x".repeat(2048));
    let r = app.post_json("/v1/messages", &h, &big).await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["type"].as_str()), (413, Some("request_too_large")));
}

#[tokio::test]
async fn upstream_errors_pass_through_uncharged_and_garbage_does_not_panic() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let c = app.caller("up@example.com", &[]).await;
    let msg = format!(r#"{{"model":"{MODEL}","max_tokens":8,"stream":true,"messages":[]}}"#);
    // The only account answers 500: the client gets that answer, and is not charged.
    let r =
        app.post_json("/v1/messages", &[("x-api-key", &c.secret), ("user-agent", "test mock=error500")], &msg).await;
    assert_eq!(r.status, 500);
    assert!(r.text().contains("mock failure"));
    assert_eq!(app.spent(c.user_id, Platform::Anthropic).await, 0);
    // An answer in an encoding the meter cannot read is not passed on (it would be metered as
    // garbage): 502, uncharged.
    let whole = format!(r#"{{"model":"{MODEL}","max_tokens":8,"messages":[]}}"#);
    let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret), ("user-agent", "test mock=gzip")], &whole).await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["code"].as_str()), (502, Some("upstream_unavailable")));
    assert_eq!(app.spent(c.user_id, Platform::Anthropic).await, 0);
    // Invalid bytes inside a stream are passed on and skipped by the meter; usage still counts.
    let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret), ("user-agent", "test mock=garbage")], &msg).await;
    assert_eq!(r.status, 200);
    assert_eq!(app.spent(c.user_id, Platform::Anthropic).await, ANTHROPIC_COST_NANOS);
    // No account at all for a platform: 503 in its shape, nothing charged.
    let none = TestApp::sqlite().await;
    let c = none.caller("none@example.com", &[]).await;
    let r = none.post_json("/v1/messages", &[("x-api-key", &c.secret)], &msg).await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["code"].as_str()), (503, Some("no_upstream")));
}

#[tokio::test]
async fn unknown_models_use_the_fallback_price_or_are_refused() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let c = app.caller("unknown@example.com", &[]).await;
    let body = r#"{"model":"no-such-model-9","max_tokens":8,"messages":[]}"#;
    // Default: priced at anthropic's fallback (never free).
    let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], body).await;
    assert_eq!(r.status, 200);
    assert!(app.spent(c.user_id, Platform::Anthropic).await > 0);
    let before = app.spent(c.user_id, Platform::Anthropic).await;
    let changes = tollgate_core::settings::validate_changes(r#"{"unknown_model_pricing":"reject"}"#).unwrap();
    app.state.store.save_settings(&changes, jiff::Timestamp::now()).await.unwrap();
    app.state.settings.refresh().await.unwrap();
    let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], body).await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["code"].as_str()), (400, Some("unknown_model")));
    assert_eq!(app.spent(c.user_id, Platform::Anthropic).await, before);
    // A known model still passes.
    let known = format!(r#"{{"model":"{MODEL}","max_tokens":8,"messages":[]}}"#);
    assert_eq!(app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &known).await.status, 200);
}

#[tokio::test]
async fn unknown_paths_get_native_404s_and_the_console_keeps_its_pages() {
    let app = TestApp::sqlite().await;
    let r = app.post_json("/v1/embeddings", &[], "{}").await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["code"].as_str()), (404, Some("not_found")));
    let r = app.post_json("/v1/messages/batches", &[], "{}").await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["type"].as_str()), (404, Some("not_found_error")));
    let r = app.get("/v1beta/tunedModels").await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["status"].as_str()), (404, Some("NOT_FOUND")));
    let r = app.get("/v1/messages").await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["type"].as_str()), (405, Some("invalid_request_error")));
    let r = app.post_json("/api/v1/nope", &[], "{}").await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["code"].as_str()), (404, Some("not_found")));
    let r = app.get("/admin/settings").await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<!doctype html"));
}

#[tokio::test]
async fn model_listings_follow_the_sdk_credential_header_and_are_free() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let c = app.caller("models@example.com", &[]).await;
    let get = |uri: &str, h: (&str, String)| {
        http::Request::get(uri).header(h.0, h.1).body(axum::body::Body::empty()).unwrap()
    };
    let r = app.send(get("/v1/models", ("authorization", format!("Bearer {}", c.secret)))).await;
    assert_eq!(r.json()["object"], "list");
    let r = app.send(get("/v1/models", ("x-api-key", c.secret.clone()))).await;
    assert_eq!(r.json()["has_more"], false);
    let r = app.send(get("/v1/models", ("x-goog-api-key", c.secret.clone()))).await;
    assert!(r.json()["models"].is_array(), "{}", r.text());
    let r = app.send(get("/v1beta/models/gemini-2.5-pro", ("x-goog-api-key", c.secret.clone()))).await;
    assert_eq!(r.json()["name"], "models/gemini-2.5-pro");
    let r = app.send(get("/v1/models/gpt-5", ("authorization", format!("Bearer {}", c.secret)))).await;
    assert_eq!(r.json()["id"], "gpt-5");
    let r = app.send(get("/antigravity/v1beta/models", ("x-goog-api-key", c.secret.clone()))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    for p in Platform::ALL {
        assert_eq!(app.spent(c.user_id, *p).await, 0);
    }
}
