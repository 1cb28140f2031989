//! `GET /v1/usage`: the caller's quotas read with the gateway key, as the console shows them.

use http::StatusCode;
use tollgate_core::platform::Platform;

use crate::util::gateway::{ANTHROPIC_COST_NANOS, anthropic_prompt, daily};
use crate::util::test_app::TestApp;

async fn usage_is_readable_with_the_key(app: TestApp) {
    let app = app.with_mocks(false).await;
    let c = app.caller("cli@example.com", &daily(Platform::Anthropic, "1.5")).await;
    let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &anthropic_prompt(false, 50)).await;
    assert_eq!(r.status, StatusCode::OK);
    let bearer = format!("Bearer {}", c.secret);
    let mut seen = Vec::new();
    for (uri, headers) in [
        ("/v1/usage".to_owned(), vec![("x-api-key", c.secret.as_str())]),
        ("/v1/usage".to_owned(), vec![("authorization", bearer.as_str())]),
        (format!("/antigravity/v1/usage?key={}", c.secret), vec![]),
    ] {
        let mut req = http::Request::get(&uri);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let r = app.send(req.body(axum::body::Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
        seen.push(r.json());
    }
    let j = &seen[0];
    assert!(seen.iter().all(|s| s["platform_quotas"] == j["platform_quotas"]));
    assert_eq!(j["email"], "cli@example.com");
    let q = &j["platform_quotas"][0];
    assert_eq!(q["platform"], "anthropic");
    // 1.5 USD − 1,152 µUSD spent.
    assert_eq!((q["daily_limit_usd"].to_string(), q["daily_usage_usd"].to_string()), ("1.5".into(), "0.001152".into()));
    assert_eq!(q["daily_remaining_usd"].to_string(), "1.498848");
    assert!(q["weekly_remaining_usd"].is_null(), "unlimited: null");
    assert_eq!(app.spent(c.user_id, Platform::Anthropic).await, ANTHROPIC_COST_NANOS);

    let r = app.get("/v1/usage").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let mut req = http::Request::get("/v1/usage").header("x-api-key", "tg-not-a-key");
    req = req.header("accept", "application/json");
    let r = app.send(req.body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.json()["error"]["message"].is_string());
}
crate::both_backends!(usage_is_readable_with_the_key, super::usage_is_readable_with_the_key);
