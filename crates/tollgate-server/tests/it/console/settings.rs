//! `GET/PUT /admin/settings`.

use http::StatusCode;

use crate::util::test_app::{TestApp, assert_error};

async fn get_and_put(app: TestApp) {
    let admin = app.admin().await;
    let r = app.get_as("/api/v1/admin/settings", &admin.token).await;
    assert_eq!(r.status, StatusCode::OK);
    let s = &r.json()["settings"];
    assert_eq!(s["default_platform_quotas"], serde_json::json!({}));
    assert_eq!(s["auth_source_default_dingtalk_platform_quotas"], serde_json::json!({}));
    assert_eq!((s["monthly_window"].as_str(), s["quota_enforcement"].as_str()), (Some("calendar"), Some("soft")));
    assert_eq!(s["registration_enabled"], false, "signup is closed on a fresh install");
    assert_eq!(s["oauth_github"], serde_json::Value::Null);

    let body = r#"{"default_platform_quotas":{"gemini":{"monthly":10.1},"anthropic":{"daily":0.000000001}},"quota_timezone":"Etc/UTC","monthly_window":"rolling_30d","quota_enforcement":"strict","registration_enabled":false,"oauth_google":{"client_id":"gid","client_secret":"gsecret"}}"#;
    let r = app.call("PUT", "/api/v1/admin/settings", Some(&admin.token), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Exact amounts, as text.
    assert!(
        r.text().contains(r#""gemini":{"five_hour":null,"daily":null,"weekly":null,"monthly":10.1}"#),
        "{}",
        r.text()
    );
    assert!(r.text().contains(r#""daily":0.000000001"#), "{}", r.text());
    assert!(!r.text().contains("gsecret"), "secret leaked: {}", r.text());
    let s = r.json()["settings"].clone();
    assert_eq!(s["quota_timezone"], "Etc/UTC");
    assert_eq!(s["oauth_google"]["client_secret_set"], true);
    assert_eq!(app.get_as("/api/v1/admin/settings", &admin.token).await.json()["settings"], s);
    // Writing the masked value back keeps the secret.
    let r = app
        .call(
            "PUT",
            "/api/v1/admin/settings",
            Some(&admin.token),
            Some(r#"{"oauth_google":{"client_id":"gid2","client_secret_set":true}}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        app.state.settings.get().oauth[&tollgate_core::platform::AuthSource::Google].client_secret.as_deref(),
        Some("gsecret")
    );
    // `UTC` is accepted too; `{}` removes an OAuth client.
    app.put_settings(&admin, r#"{"quota_timezone":"UTC","oauth_google":{}}"#).await;
    assert!(app.state.settings.get().oauth.is_empty());
}
crate::both_backends!(settings_round_trip, super::get_and_put);

async fn all_or_nothing(app: TestApp) {
    let admin = app.admin().await;
    app.put_settings(&admin, r#"{"default_platform_quotas":{"openai":{"daily":5}}}"#).await;
    let before = app.get_as("/api/v1/admin/settings", &admin.token).await.text();
    let cases = [
        (
            r#"{"default_platform_quotas":{"openai":{"daily":1}},"auth_source_default_github_platform_quotas":{"openai":{"weekly":-1}}}"#,
            "auth_source_default_github_platform_quotas.openai.weekly",
        ),
        (r#"{"default_platform_quotas":{"openai":{"daily":"1"}}}"#, "default_platform_quotas.openai.daily"),
        (r#"{"default_platform_quotas":{"openai":{"daily":1.0000000001}}}"#, "default_platform_quotas.openai.daily"),
        (r#"{"default_platform_quotas":{"bedrock":{"daily":1}}}"#, "default_platform_quotas.bedrock"),
        (r#"{"default_platform_quotas":{"openai":{"hourly":1}}}"#, "default_platform_quotas.openai.hourly"),
        (r#"{"quota_timezone":"Mars/Olympus"}"#, "quota_timezone"),
        (r#"{"monthly_window":"yearly"}"#, "monthly_window"),
        (r#"{"quota_enforcement":"hard"}"#, "quota_enforcement"),
        (r#"{"registration_enabled":"yes"}"#, "registration_enabled"),
        (r#"{"oauth_github":{"client_id":"x"}}"#, "oauth_github.client_secret"),
        (r#"{"oauth_oidc":{"client_id":"x","client_secret":"y"}}"#, "oauth_oidc.discovery_url"),
        (r#"{"oauth_google":{"client_id":"x","client_secret":"y","token_url":"nope"}}"#, "oauth_google.token_url"),
        (r#"{"what":1}"#, "what"),
    ];
    for (body, field) in cases {
        let r = app.call("PUT", "/api/v1/admin/settings", Some(&admin.token), Some(body)).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_input", Some(field));
        assert_eq!(app.get_as("/api/v1/admin/settings", &admin.token).await.text(), before, "{body}");
    }
    let r = app.call("PUT", "/api/v1/admin/settings", Some(&admin.token), Some("[1]")).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_input", None);
}
crate::both_backends!(settings_put_is_all_or_nothing, super::all_or_nothing);

async fn defaults_do_not_touch_existing_users(app: TestApp) {
    let admin = app.admin().await;
    app.put_settings(&admin, r#"{"default_platform_quotas":{"anthropic":{"daily":10}}}"#).await;
    let user = app.user(&admin, "old@example.com").await;
    app.put_settings(&admin, r#"{"default_platform_quotas":{"openai":{"daily":3}},"auth_source_default_email_platform_quotas":{"anthropic":{"daily":0}}}"#).await;
    let q = app.get_as("/api/v1/user/platform-quotas", &user.token).await.json();
    let got: Vec<_> = q["platform_quotas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["platform"].clone(), v["daily_limit_usd"].clone()))
        .collect();
    assert_eq!(got, [(serde_json::json!("anthropic"), serde_json::json!(10))]);
}
crate::both_backends!(changing_defaults_leaves_existing_users_untouched, super::defaults_do_not_touch_existing_users);
