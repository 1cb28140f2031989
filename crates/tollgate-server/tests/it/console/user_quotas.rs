//! `GET /user/platform-quotas`, `GET /user/usage`: a user only ever sees their own data.

use http::StatusCode;
use jiff::Timestamp;
use tollgate_core::money::Money;
use tollgate_core::platform::Platform;

use crate::util::test_app::{TestApp, assert_error};

async fn own_views(app: TestApp) {
    let admin = app.admin().await;
    let alice = app.user(&admin, "alice@example.com").await;
    let bob = app.user(&admin, "bob@example.com").await;
    let put = |id: i64, body: &'static str| {
        let path = format!("/api/v1/admin/users/{id}/platform-quotas");
        let token = admin.token.clone();
        let app = &app;
        async move { app.call("PUT", &path, Some(&token), Some(body)).await }
    };
    put(alice.id, r#"{"quotas":[{"platform":"anthropic","daily_limit_usd":10.1}]}"#).await;
    put(bob.id, r#"{"quotas":[{"platform":"openai","weekly_limit_usd":3}]}"#).await;
    // Usage without a limit shows too.
    let clock = app.state.settings.clock();
    let cost = Money::parse("0.25").unwrap();
    app.state
        .store
        .increment_usage_with_reset(alice.id, Platform::Gemini, cost, Timestamp::now(), &clock)
        .await
        .unwrap();

    let r = app.get_as("/api/v1/user/platform-quotas", &alice.token).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json()["platform_quotas"].clone();
    let platforms: Vec<_> = v.as_array().unwrap().iter().map(|x| x["platform"].as_str().unwrap().to_owned()).collect();
    assert_eq!(platforms, ["anthropic", "gemini"]);
    assert!(r.text().contains(r#""daily_limit_usd":10.1"#));
    assert!(v[0].get("daily_window_start").is_none(), "user view has no window starts");
    assert_eq!(v[1]["daily_usage_usd"].to_string(), "0.25");
    assert!(v[1]["daily_resets_at"].is_string());
    let b = app.get_as("/api/v1/user/platform-quotas", &bob.token).await.json();
    assert_eq!(b["platform_quotas"].as_array().unwrap().len(), 1);
    assert_eq!(b["platform_quotas"][0]["platform"], "openai");
    // A user cannot reach another user's data through admin routes.
    let r = app.get_as(&format!("/api/v1/admin/users/{}/platform-quotas", alice.id), &bob.token).await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden", None);
}
crate::both_backends!(users_see_only_their_own_quotas, super::own_views);

async fn usage(app: TestApp) {
    let admin = app.admin().await;
    app.put_settings(&admin, r#"{"quota_timezone":"Asia/Shanghai"}"#).await;
    let u = app.user(&admin, "u@example.com").await;
    let other = app.user(&admin, "o@example.com").await;
    let now = Timestamp::now().as_millisecond();
    app.db
        .exec(&format!(
            "INSERT INTO usage_records (request_id, user_id, platform, model, cost_nanos, status, created_at_ms) VALUES \
             ('a', {0}, 'openai', 'm', 1500000000, 'ok', {now}), ('b', {0}, 'openai', 'm', 1, 'ok', {now}), \
             ('c', {1}, 'openai', 'm', 7, 'ok', {now})",
            u.id, other.id
        ))
        .await
        .unwrap();
    let r = app.get_as("/api/v1/user/usage?days=7", &u.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!((j["days"].as_i64(), j["timezone"].as_str()), (Some(7), Some("Asia/Shanghai")));
    let series = j["series"].as_array().unwrap();
    assert_eq!(series.len(), 4);
    let openai = series.iter().find(|s| s["platform"] == "openai").unwrap();
    let points = openai["points"].as_array().unwrap();
    assert_eq!(points.len(), 7);
    assert!(points[0]["date"].as_str().unwrap() < points[6]["date"].as_str().unwrap());
    assert_eq!(points[6]["cost_usd"].to_string(), "1.500000001");
    assert_eq!(points[6]["requests"], 2);
    assert_eq!(points[0]["cost_usd"], 0);
    assert_eq!(app.get_as("/api/v1/user/usage", &u.token).await.json()["days"], 30);
    for q in ["days=0", "days=367", "days=abc", "days=1.5"] {
        assert_error(
            &app.get_as(&format!("/api/v1/user/usage?{q}"), &u.token).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some("days"),
        );
    }
}
crate::both_backends!(usage_is_daily_per_platform_in_the_quota_zone, super::usage);
