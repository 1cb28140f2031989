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
