//! `GET /meta`.

use http::StatusCode;

use crate::util::test_app::TestApp;

async fn meta(app: TestApp) {
    let r = app.get("/api/v1/meta").await;
    assert_eq!(r.status, StatusCode::OK);
    let j = r.json();
    assert_eq!(j["platforms"], serde_json::json!(["anthropic", "openai", "gemini", "antigravity"]));
    assert_eq!(j["windows"], serde_json::json!(["five_hour", "daily", "weekly", "monthly"]));
    assert_eq!(
        j["auth_sources"],
        serde_json::json!(["email", "linuxdo", "oidc", "wechat", "github", "google", "dingtalk"])
    );
    assert_eq!(j["login"], serde_json::json!({"password": true, "registration": false, "oauth": []}));
    assert!(j["version"].is_string());
    let admin = app.admin().await;
    app.put_settings(&admin, r#"{"registration_enabled":true}"#).await;
    assert_eq!(app.get("/api/v1/meta").await.json()["login"]["registration"], true);
    app.put_settings(&admin, r#"{"registration_enabled":false,"oauth_github":{"client_id":"a","client_secret":"b"},"oauth_wechat":{"client_id":"w","client_secret":"s"}}"#).await;
    let j = app.get("/api/v1/meta").await.json();
    assert_eq!(j["login"], serde_json::json!({"password": true, "registration": false, "oauth": ["wechat", "github"]}));
}
crate::both_backends!(meta_lists_registries_and_login_methods, super::meta);
