//! Admission: 0 → 403 disabled, usage at the cap → 429 with Retry-After, unlimited passes; each in
//! the platform's own error shape.

use tollgate_core::money::Money;
use tollgate_core::platform::Platform;
use tollgate_core::quota::WindowLimits;

use crate::util::gateway::{ANTHROPIC_COST_NANOS, MODEL, OTHER_COST_NANOS, daily};
use crate::util::test_app::TestApp;

async fn limits_are_enforced_in_native_shapes(app: TestApp) {
    let app = app.with_mocks(false).await;
    let msg = format!(r#"{{"model":"{MODEL}","max_tokens":8,"messages":[]}}"#);
    let chat = format!(r#"{{"model":"{MODEL}","messages":[]}}"#);
    let gem = r#"{"contents":[]}"#;

    // Disabled (0): 403, permission error, nothing forwarded or charged.
    let off = app.caller("off@example.com", &daily(Platform::Anthropic, "0")).await;
    let r = app.post_json("/v1/messages", &[("x-api-key", &off.secret)], &msg).await;
    assert_eq!(r.status, 403);
    let j = r.json();
    assert_eq!(j["type"], "error");
    assert_eq!(j["error"]["type"], "permission_error");
    assert_eq!(j["error"]["code"], "platform_quota_disabled");
    assert_eq!(j["error"]["window"], "daily");
    assert!(r.headers.get("retry-after").is_none());
    assert_eq!(app.spent(off.user_id, Platform::Anthropic).await, 0);
    // Other platforms are unaffected (unlimited).
    let r = app.post_json("/v1/chat/completions", &[("authorization", &format!("Bearer {}", off.secret))], &chat).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Exhausted: the first request crosses the cap (soft mode), the next is refused with 429.
    let cap = app.caller("cap@example.com", &daily(Platform::OpenAi, "0.001")).await;
    let auth = format!("Bearer {}", cap.secret);
    let r = app.post_json("/v1/chat/completions", &[("authorization", &auth)], &chat).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["x-tollgate-quota-daily-limit-usd"], "0.001");
    assert_eq!(app.spent(cap.user_id, Platform::OpenAi).await, OTHER_COST_NANOS);
    let r = app.post_json("/v1/chat/completions", &[("authorization", &auth)], &chat).await;
    assert_eq!(r.status, 429);
    let j = r.json();
    assert_eq!(j["error"]["code"], "platform_quota_exhausted");
    assert_eq!(j["error"]["type"], "insufficient_quota");
    let msg_text = j["error"]["message"].as_str().unwrap();
    assert!(msg_text.contains("openai daily quota exhausted: used 0.001059 USD of 0.001 USD"), "{msg_text}");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    let clock = app.state.settings.clock();
    let now = jiff::Timestamp::now();
    let end = clock.current(tollgate_core::window::QuotaWindow::Daily, None, now).unwrap().end;
    let expected = tollgate_core::window::WindowClock::seconds_until(now, end);
    assert!(retry.abs_diff(expected) <= 2, "Retry-After {retry}, expected about {expected}");
    assert_eq!(app.spent(cap.user_id, Platform::OpenAi).await, OTHER_COST_NANOS);

    // Gemini shape, weekly window.
    let week = app
        .caller(
            "week@example.com",
            &[(Platform::Gemini, WindowLimits { weekly: Some(Money::ZERO), ..Default::default() })],
        )
        .await;
    let r = app.post_json("/v1beta/models/x:generateContent", &[("x-goog-api-key", &week.secret)], gem).await;
    assert_eq!(r.status, 403);
    let j = r.json();
    assert_eq!(j["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(j["error"]["code"], 403);
    assert_eq!(j["error"]["details"][0]["reason"], "platform_quota_disabled");
    assert_eq!(j["error"]["details"][0]["metadata"]["window"], "weekly");

    // Antigravity is its own platform: a gemini limit does not apply there.
    let r =
        app.post_json("/antigravity/v1beta/models/x:generateContent", &[("x-goog-api-key", &week.secret)], gem).await;
    assert_eq!(r.status, 200, "{}", r.text());
}
crate::both_backends!(
    limits_are_enforced_in_native_shapes_on_both_backends,
    super::limits_are_enforced_in_native_shapes
);

#[tokio::test]
async fn keys_users_and_platform_restrictions() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let msg = format!(r#"{{"model":"{MODEL}","max_tokens":8,"messages":[]}}"#);
    // No key, a wrong key: 401 in the native shape.
    let r = app.post_json("/v1/messages", &[], &msg).await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["type"].as_str()), (401, Some("authentication_error")));
    let r = app.post_json("/v1/messages", &[("x-api-key", "tg-nope")], &msg).await;
    assert_eq!(r.status, 401);
    let r = app.post_json("/v1/chat/completions", &[("authorization", "Bearer tg-nope")], "{}").await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["code"].as_str()), (401, Some("invalid_api_key")));
    let r = app.post_json("/v1beta/models/m:generateContent?key=tg-nope", &[], "{}").await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["status"].as_str()), (401, Some("UNAUTHENTICATED")));

    // A key restricted to gemini: 403 on anthropic.
    let c = app.caller("r@example.com", &[]).await;
    let secret = tollgate_server::keys::generate_secret();
    let key = tollgate_store::NewApiKey {
        user_id: c.user_id,
        name: "gemini only".into(),
        prefix: tollgate_server::keys::shown_prefix(&secret),
        key_hash: tollgate_server::keys::hash_secret(&secret),
        platforms: Some(vec![Platform::Gemini]),
        limits: Vec::new(),
        lifetime_limit: None,
    };
    app.state.store.create_api_key(&key, jiff::Timestamp::now()).await.unwrap();
    let r = app.post_json("/v1/messages", &[("x-api-key", &secret)], &msg).await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["code"].as_str()), (403, Some("platform_not_allowed")));

    // A disabled user: 403.
    let patch = tollgate_store::UserPatch { status: Some(tollgate_store::UserStatus::Disabled), ..Default::default() };
    app.state.store.update_user(c.user_id, &patch, jiff::Timestamp::now()).await.unwrap();
    app.state.keys.invalidate();
    let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &msg).await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["code"].as_str()), (403, Some("account_disabled")));
}

/// Soft mode admits from this process's copy of the quota row (docs/quotas.md): its own charges
/// count at once (the 429 above), a change through its own console at once, and a change made by
/// another process on the same database within `quota_refresh_ms` (1 s by default).
async fn quota_copy_follows_changes_within_its_bound(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    let msg = format!(r#"{{"model":"{MODEL}","max_tokens":8,"messages":[]}}"#);
    let c = app.caller("copy@example.com", &daily(Platform::Anthropic, "100")).await;
    let headers = [("x-api-key", c.secret.as_str())];
    let send = || app.post_json("/v1/messages", &headers, &msg);
    assert_eq!(send().await.status, 200);
    let mut answered = 1;

    // Through this process's console: the next request already sees it.
    let path = format!("/api/v1/admin/users/{}/platform-quotas", c.user_id);
    let off = r#"{"quotas":[{"platform":"anthropic","daily_limit_usd":0}]}"#;
    assert_eq!(app.call("PUT", &path, Some(&admin.token), Some(off)).await.status, 200);
    assert_eq!(send().await.status, 403);
    let on = r#"{"quotas":[{"platform":"anthropic","daily_limit_usd":100}]}"#;
    assert_eq!(app.call("PUT", &path, Some(&admin.token), Some(on)).await.status, 200);
    assert_eq!(send().await.status, 200);
    answered += 1;

    // Written straight into the database, as another gateway process would: seen within the bound.
    let bound = std::time::Duration::from_millis(app.state.config.quota_refresh_ms);
    app.state.store.upsert_for_user(c.user_id, &daily(Platform::Anthropic, "0")).await.unwrap();
    let written = std::time::Instant::now();
    loop {
        let status = send().await.status;
        if status == 403 {
            break;
        }
        assert_eq!(status, 200);
        answered += 1;
        assert!(written.elapsed() < bound * 2, "the change was not seen within {bound:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Every answered request was charged exactly once, refused ones not at all.
    assert_eq!(app.spent(c.user_id, Platform::Anthropic).await, answered * ANTHROPIC_COST_NANOS);
}
crate::both_backends!(
    quota_copy_follows_changes_within_its_bound_on_both_backends,
    super::quota_copy_follows_changes_within_its_bound
);

/// With no quota copy (`--quota-refresh-ms 0`), admission reads the database, and this process's
/// journaled charges that are not written yet still count: the request right after the one that
/// crossed the cap is refused, every time.
async fn charges_not_yet_written_count_without_a_copy(app: TestApp) {
    let config = tollgate_server::config::GatewayConfig {
        quota_refresh_ms: 0,
        journal_dir: Some(crate::util::test_app::journal_dir()),
        ..Default::default()
    };
    let app = TestApp::with_config(app.db.clone(), config).await.with_mocks(false).await;
    let msg = format!(r#"{{"model":"{MODEL}","max_tokens":8,"messages":[]}}"#);
    for i in 0..20 {
        let c = app.caller(&format!("nocopy{i}@example.com"), &daily(Platform::Anthropic, "0.000001")).await;
        let first = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &msg).await;
        assert_eq!(first.status, 200, "{}", first.text());
        let next = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &msg).await;
        assert_eq!(next.status, 429, "attempt {i}: {}", next.text());
    }
}
crate::both_backends!(pending_charges_count_without_a_quota_copy, super::charges_not_yet_written_count_without_a_copy);

/// Strict mode's bound covers what a request can cost beyond its visible text: server-side tool
/// fees (bounded by `max_uses`, else by the output cap) and content the upstream holds by reference
/// (a file id or URI). Without them a request could be admitted near a cap and charged many times
/// what was left.
async fn strict_bounds_server_tools_and_files_by_reference(app: TestApp) {
    use tollgate_core::settings::validate_changes;
    let app = app.with_mocks(false).await;
    let mut price = crate::util::gateway::test_price(Platform::Anthropic);
    price.tool_fees.web_search_per_1k = Some(Money::parse("10").unwrap()); // $0.01 a search
    app.state.ledger.prices().set_overrides(vec![(MODEL.to_owned(), price)]).unwrap();
    let changes = validate_changes(r#"{"quota_enforcement":"strict"}"#).unwrap();
    app.state.store.save_settings(&changes, jiff::Timestamp::now()).await.unwrap();
    app.state.settings.refresh().await.unwrap();
    let caller = app.caller("strict-tools@example.com", &daily(Platform::Anthropic, "0.1")).await;
    let send = |tools: &str, content: &str| {
        let body = format!(
            r#"{{"model":"{MODEL}","max_tokens":50,"tools":[{tools}],"messages":[{{"role":"user","content":{content}}}]}}"#
        );
        let (app, secret) = (&app, caller.secret.clone());
        async move { app.post_json("/v1/messages", &[("x-api-key", &secret)], &body).await.status.as_u16() }
    };
    let function = r#"{"name":"lookup","input_schema":{"type":"object"}}"#;
    let search_3 = r#"{"type":"web_search_20250305","name":"web_search","max_uses":3}"#;
    // A client tool: its results come back in a later request; the bound fits.
    assert_eq!(send(function, r#""hi""#).await, 200);
    // A server-side search brings results into the prompt (up to a context window) plus its fees.
    assert_eq!(send(search_3, r#""hi""#).await, 429);
    // A document by file id: up to a whole context window of input, far over the cap.
    let file = r#"[{"type":"document","source":{"type":"file","file_id":"file_1"}}]"#;
    assert_eq!(send(function, file).await, 429);
    assert!(app.spent(caller.user_id, Platform::Anthropic).await <= 100_000_000);
    // With room for a context window (1M tokens at $3) the search with 3 uses (~$3.04) is admitted;
    // without max_uses its fees are bounded by the output cap (50 searches at $0.01: ~$3.51 > $3.20).
    let roomy = app.caller("strict-roomy@example.com", &daily(Platform::Anthropic, "3.2")).await;
    let search = r#"{"type":"web_search_20250305","name":"web_search"}"#;
    for (tools, expected) in [(search_3, 200), (search, 429)] {
        let body = format!(
            r#"{{"model":"{MODEL}","max_tokens":50,"tools":[{tools}],"messages":[{{"role":"user","content":"hi"}}]}}"#
        );
        let r = app.post_json("/v1/messages", &[("x-api-key", &roomy.secret)], &body).await;
        assert_eq!(r.status.as_u16(), expected, "{tools}: {}", r.text());
    }
}
crate::both_backends!(strict_bounds_server_tools_and_files, super::strict_bounds_server_tools_and_files_by_reference);
