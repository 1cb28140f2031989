//! `GET/POST /admin/users`, `GET/PATCH /admin/users/{id}`.

use http::StatusCode;

use crate::util::test_app::{TestApp, assert_error};

async fn create_list_get_patch(app: TestApp) {
    let admin = app.admin().await;
    app.put_settings(&admin, r#"{"default_platform_quotas":{"anthropic":{"daily":10}},"auth_source_default_github_platform_quotas":{"anthropic":{"daily":2}}}"#).await;
    let body =
        r#"{"email":"gh@example.com","display_name":"GH","role":"user","auth_source":"github","cost_multiplier":1.25}"#;
    let r = app.call("POST", "/api/v1/admin/users", Some(&admin.token), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let u = r.json();
    assert_eq!((u["auth_source"].as_str(), u["cost_multiplier"].to_string()), (Some("github"), "1.25".to_owned()));
    let id = u["id"].as_i64().unwrap();
    let body = r#"{"email":"bare@example.com","password":"pass-word-1","apply_default_quotas":false}"#;
    assert_eq!(
        app.call("POST", "/api/v1/admin/users", Some(&admin.token), Some(body)).await.status,
        StatusCode::CREATED
    );

    let list = app.get_as("/api/v1/admin/users?q=EXAMPLE&page=1&per_page=2", &admin.token).await.json();
    assert_eq!((list["total"].as_i64(), list["page"].as_i64(), list["per_page"].as_i64()), (Some(3), Some(1), Some(2)));
    let gh = &list["users"][1];
    assert_eq!(gh["email"], "gh@example.com");
    assert_eq!(
        gh["platform_limits"],
        serde_json::json!([{"platform":"anthropic","five_hour_limit_usd":null,"daily_limit_usd":2,"weekly_limit_usd":null,"monthly_limit_usd":null}])
    );
    let list = app.get_as("/api/v1/admin/users?q=bare", &admin.token).await.json();
    assert_eq!(list["users"][0]["platform_limits"], serde_json::json!([]));

    assert_eq!(app.get_as(&format!("/api/v1/admin/users/{id}"), &admin.token).await.json(), u);
    let r = app
        .call(
            "PATCH",
            &format!("/api/v1/admin/users/{id}"),
            Some(&admin.token),
            Some(r#"{"role":"admin","display_name":"Boss","cost_multiplier":0,"password":"new-password-1"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!((r.json()["role"].as_str(), r.json()["display_name"].as_str()), (Some("admin"), Some("Boss")));
    assert_eq!(r.json()["cost_multiplier"], 0);
    app.login("gh@example.com", "new-password-1").await;
}
crate::both_backends!(users_create_list_get_patch, super::create_list_get_patch);

async fn validation(app: TestApp) {
    let admin = app.admin().await;
    let cases = [
        (r#"{"password":"12345678"}"#, StatusCode::BAD_REQUEST, "invalid_input", Some("email")),
        (r#"{"email":"nope","password":"12345678"}"#, StatusCode::BAD_REQUEST, "invalid_input", Some("email")),
        (r#"{"email":"a@b.c"}"#, StatusCode::BAD_REQUEST, "invalid_input", Some("password")),
        (r#"{"email":"a@b.c","password":"1234"}"#, StatusCode::BAD_REQUEST, "invalid_input", Some("password")),
        (
            r#"{"email":"a@b.c","password":"12345678","role":"root"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some("role"),
        ),
        (
            r#"{"email":"a@b.c","password":"12345678","auth_source":"myspace"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some("auth_source"),
        ),
        (
            r#"{"email":"a@b.c","password":"12345678","cost_multiplier":-1}"#,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some("cost_multiplier"),
        ),
        (
            r#"{"email":"a@b.c","password":"12345678","cost_multiplier":"2"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some("cost_multiplier"),
        ),
        (
            r#"{"email":"a@b.c","password":"12345678","apply_default_quotas":1}"#,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some("apply_default_quotas"),
        ),
        (r#"{"email":"admin@example.com","password":"12345678"}"#, StatusCode::CONFLICT, "conflict", Some("email")),
    ];
    for (body, status, code, field) in cases {
        assert_error(
            &app.call("POST", "/api/v1/admin/users", Some(&admin.token), Some(body)).await,
            status,
            code,
            field,
        );
    }
    assert_eq!(app.state.store.count_users().await.unwrap(), 1);
    let me = format!("/api/v1/admin/users/{}", admin.id);
    for (body, field) in [
        (r#"{"status":"gone"}"#, "status"),
        (r#"{"role":"user"}"#, "role"),
        (r#"{"status":"disabled"}"#, "status"),
        (r#"{"password":"x"}"#, "password"),
        (r#"{"cost_multiplier":1001}"#, "cost_multiplier"),
    ] {
        assert_error(
            &app.call("PATCH", &me, Some(&admin.token), Some(body)).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some(field),
        );
    }
    for path in ["/api/v1/admin/users/999", "/api/v1/admin/users/abc", "/api/v1/admin/users/-1"] {
        assert_error(&app.get_as(path, &admin.token).await, StatusCode::NOT_FOUND, "not_found", None);
        assert_error(
            &app.call("PATCH", path, Some(&admin.token), Some("{}")).await,
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        );
    }
    for q in ["page=0", "per_page=500", "page=x"] {
        let r = app.get_as(&format!("/api/v1/admin/users?{q}"), &admin.token).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
    }
}
crate::both_backends!(users_validation, super::validation);
