//! `GET /admin/audit`.

use http::StatusCode;

use crate::util::test_app::{TestApp, assert_error};

async fn audit(app: TestApp) {
    let admin = app.admin().await;
    app.put_settings(&admin, r#"{"default_platform_quotas":{"openai":{"daily":1}}}"#).await;
    app.put_settings(&admin, r#"{"monthly_window":"rolling_30d"}"#).await;
    let j = app.get_as("/api/v1/admin/audit?page=1&per_page=1", &admin.token).await.json();
    assert_eq!(j["total"], 2);
    assert_eq!(j["entries"].as_array().unwrap().len(), 1);
    let e = &j["entries"][0];
    assert_eq!(e["action"], "settings.update");
    assert_eq!(
        (e["before"]["monthly_window"].as_str(), e["after"]["monthly_window"].as_str()),
        (Some("calendar"), Some("rolling_30d"))
    );
    assert!(e["at"].is_string());
    for q in ["page=0", "per_page=0", "user_id=x"] {
        let r = app.get_as(&format!("/api/v1/admin/audit?{q}"), &admin.token).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
    }
    assert_error(
        &app.get_as("/api/v1/admin/audit?per_page=201", &admin.token).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
        Some("per_page"),
    );
}
crate::both_backends!(audit_lists_settings_changes, super::audit);

/// The actions of the audit log, newest first.
async fn actions(app: &TestApp, token: &str) -> Vec<serde_json::Value> {
    app.get_as("/api/v1/admin/audit?per_page=50", token).await.json()["entries"].as_array().unwrap().clone()
}

async fn sensitive_changes_are_audited(app: TestApp) {
    let admin = app.admin().await;
    let body = r#"{"platform":"openai","name":"acct","base_url":"https://x.example","api_key":"sk-aaaa-1234"}"#;
    let r = app.call("POST", "/api/v1/admin/upstreams", Some(&admin.token), Some(body)).await;
    let up = r.json()["id"].as_i64().unwrap();
    let uri = format!("/api/v1/admin/upstreams/{up}");
    app.call("PATCH", &uri, Some(&admin.token), Some(r#"{"enabled":false}"#)).await;
    app.call("DELETE", &uri, Some(&admin.token), None).await;
    let user = app.user(&admin, "u@example.com").await;
    let uuri = format!("/api/v1/admin/users/{}", user.id);
    let r = app.call("PATCH", &uuri, Some(&admin.token), Some(r#"{"cost_multiplier":0,"role":"admin"}"#)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    app.call("PATCH", &uuri, Some(&admin.token), Some(r#"{"display_name":"only a name"}"#)).await;
    let key = app.call("POST", "/api/v1/user/api-keys", Some(&user.token), Some(r#"{"name":"k"}"#)).await.json();
    let kid = key["id"].as_i64().unwrap();
    app.call("DELETE", &format!("/api/v1/user/api-keys/{kid}"), Some(&user.token), None).await;

    let entries = actions(&app, &admin.token).await;
    let names: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(names, ["api_key.revoke", "user.update", "upstream.delete", "upstream.update", "upstream.create"]);
    let user_change = &entries[1];
    assert_eq!(user_change["target_user_id"], user.id);
    assert_eq!(
        (user_change["before"]["cost_multiplier"].as_i64(), user_change["after"]["cost_multiplier"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(user_change["after"]["role"], "admin");
    assert_eq!(entries[3]["before"]["enabled"], true);
    assert_eq!(entries[3]["after"]["enabled"], false);
    assert_eq!(entries[0]["after"]["api_key_id"], kid);
    assert_eq!(entries[0]["actor_id"], user.id);
    assert!(!serde_json::to_string(&entries).unwrap().contains("sk-aaaa-1234"), "a credential reached the audit log");
}
crate::both_backends!(upstream_user_and_key_changes_are_audited, super::sensitive_changes_are_audited);
