//! `GET/PUT /admin/users/{id}/platform-quotas`, `POST …/reset`, and the audit entries they write.

use http::StatusCode;
use jiff::Timestamp;
use tollgate_core::money::Money;
use tollgate_core::platform::Platform;

use crate::util::test_app::{TestApp, assert_error};

async fn put_get_reset(app: TestApp) {
    let admin = app.admin().await;
    let user = app.user(&admin, "q@example.com").await;
    let path = format!("/api/v1/admin/users/{}/platform-quotas", user.id);
    assert_eq!(app.get_as(&path, &admin.token).await.json(), serde_json::json!({"platform_quotas": []}));

    let body = r#"{"quotas":[{"platform":"anthropic","daily_limit_usd":10.1,"weekly_limit_usd":null,"monthly_limit_usd":0},{"platform":"gemini","weekly_limit_usd":0.000000001}]}"#;
    let r = app.call("PUT", &path, Some(&admin.token), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains(r#""daily_limit_usd":10.1"#), "{}", r.text());
    let v = r.json()["platform_quotas"].clone();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["platform"], "anthropic");
    assert_eq!(v[0]["monthly_limit_usd"], 0);
    assert_eq!(v[0]["daily_usage_usd"], 0);
    assert!(v[0]["daily_resets_at"].as_str().unwrap().ends_with(":00"), "{v}");
    assert_eq!(v[0]["weekly_resets_at"], serde_json::Value::Null, "unlimited and unused");
    assert_eq!(v[0]["daily_window_start"], serde_json::Value::Null);
    assert_eq!(app.get_as(&path, &admin.token).await.json()["platform_quotas"], v);

    // Usage is metered; a reset zeroes it and keeps the window start; PUT keeps usage.
    let clock = app.state.settings.clock();
    let cost = Money::parse("2.5").unwrap();
    app.state
        .store
        .increment_usage_with_reset(user.id, Platform::Anthropic, cost, Timestamp::now(), &clock)
        .await
        .unwrap();
    let v = app.get_as(&path, &admin.token).await.json()["platform_quotas"][0].clone();
    assert_eq!((v["daily_usage_usd"].to_string(), v["monthly_usage_usd"].to_string()), ("2.5".into(), "2.5".into()));
    assert!(v["daily_window_start"].is_string());
    let r = app
        .call("PUT", &path, Some(&admin.token), Some(r#"{"quotas":[{"platform":"anthropic","daily_limit_usd":20}]}"#))
        .await;
    let v = r.json()["platform_quotas"].clone();
    assert_eq!(v.as_array().unwrap().len(), 1, "gemini lost its limits and has no usage");
    assert_eq!((v[0]["daily_limit_usd"].to_string(), v[0]["daily_usage_usd"].to_string()), ("20".into(), "2.5".into()));
    let r = app
        .call(
            "POST",
            &format!("{path}/reset"),
            Some(&admin.token),
            Some(r#"{"platform":"anthropic","window":"daily"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json()["platform_quotas"][0].clone();
    assert_eq!((v["daily_usage_usd"].to_string(), v["weekly_usage_usd"].to_string()), ("0".into(), "2.5".into()));
    assert!(v["daily_window_start"].is_string(), "the boundary does not move");

    // The audit log has both changes and the reset, newest first, with before and after.
    let audit = app.get_as(&format!("/api/v1/admin/audit?user_id={}", user.id), &admin.token).await.json();
    assert_eq!(audit["total"], 3);
    let e = &audit["entries"];
    assert_eq!((e[0]["action"].as_str(), e[0]["platform"].as_str()), (Some("user.quota.reset"), Some("anthropic")));
    assert_eq!(e[0]["before"], serde_json::json!({"window":"daily","usage_usd":2.5}));
    assert_eq!(e[0]["after"], serde_json::json!({"window":"daily","usage_usd":0}));
    assert_eq!((e[0]["actor_id"].as_i64(), e[0]["actor_email"].as_str()), (Some(admin.id), Some("admin@example.com")));
    assert_eq!(e[1]["action"], "user.quotas.update");
    assert_eq!(
        e[1]["after"],
        serde_json::json!([{"platform":"anthropic","five_hour_limit_usd":null,"daily_limit_usd":20,"weekly_limit_usd":null,"monthly_limit_usd":null}])
    );
    assert_eq!(e[2]["before"], serde_json::json!([]));
    // Empty list clears every limit.
    let r = app.call("PUT", &path, Some(&admin.token), Some(r#"{"quotas":[]}"#)).await;
    assert_eq!(r.json()["platform_quotas"][0]["daily_limit_usd"], serde_json::Value::Null);
}
crate::both_backends!(quotas_put_get_reset_and_audit, super::put_get_reset);

async fn validation(app: TestApp) {
    let admin = app.admin().await;
    let user = app.user(&admin, "v@example.com").await;
    let path = format!("/api/v1/admin/users/{}/platform-quotas", user.id);
    app.call("PUT", &path, Some(&admin.token), Some(r#"{"quotas":[{"platform":"openai","daily_limit_usd":1}]}"#)).await;
    let before = app.get_as(&path, &admin.token).await.text();
    let cases = [
        (r#"{"quotas":[{"platform":"openai"},{"platform":"bedrock"}]}"#, "quotas[1].platform"),
        (r#"{"quotas":[{"platform":"openai"},{"platform":"openai"}]}"#, "quotas[1].platform"),
        (r#"{"quotas":[{"daily_limit_usd":1}]}"#, "quotas[0].platform"),
        (r#"{"quotas":[{"platform":"openai","daily_limit_usd":-1}]}"#, "quotas[0].daily_limit_usd"),
        (r#"{"quotas":[{"platform":"openai","weekly_limit_usd":"5"}]}"#, "quotas[0].weekly_limit_usd"),
        (r#"{"quotas":[{"platform":"openai","monthly_limit_usd":1.0000000001}]}"#, "quotas[0].monthly_limit_usd"),
        (r#"{"quotas":[{"platform":"openai","daily_limit_usd":1e400}]}"#, "quotas[0].daily_limit_usd"),
        (r#"{"quotas":[5]}"#, "quotas[0]"),
        (r#"{"quotas":{}}"#, "quotas"),
        (r#"{}"#, "quotas"),
    ];
    for (body, field) in cases {
        let r = app.call("PUT", &path, Some(&admin.token), Some(body)).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_input", Some(field));
        assert_eq!(app.get_as(&path, &admin.token).await.text(), before, "{body} changed something");
    }
    let reset = format!("{path}/reset");
    for (body, field) in [
        (r#"{"platform":"x","window":"daily"}"#, "platform"),
        (r#"{"platform":"openai","window":"hourly"}"#, "window"),
        (r#"{"platform":"openai"}"#, "window"),
    ] {
        assert_error(
            &app.call("POST", &reset, Some(&admin.token), Some(body)).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some(field),
        );
    }
    let r = app.call("POST", &reset, Some(&admin.token), Some(r#"{"platform":"gemini","window":"daily"}"#)).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found", None);
    let body = r#"{"quotas":[]}"#;
    assert_error(
        &app.call("PUT", "/api/v1/admin/users/999/platform-quotas", Some(&admin.token), Some(body)).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &app.get_as("/api/v1/admin/users/999/platform-quotas", &admin.token).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    let r = app
        .call(
            "POST",
            "/api/v1/admin/users/999/platform-quotas/reset",
            Some(&admin.token),
            Some(r#"{"platform":"openai","window":"daily"}"#),
        )
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found", None);
}
crate::both_backends!(quotas_validation_changes_nothing, super::validation);
