//! Every route: 401 without a session, 403 for a user on admin routes, CSRF for cookie writes.

use http::StatusCode;

use crate::util::test_app::{TestApp, assert_error};

/// (method, path, body) of every route that needs a session; admin routes first.
pub const ADMIN_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/admin/settings", ""),
    ("PUT", "/api/v1/admin/settings", "{}"),
    ("GET", "/api/v1/admin/users", ""),
    ("POST", "/api/v1/admin/users", r#"{"email":"x@example.com","password":"12345678"}"#),
    ("GET", "/api/v1/admin/users/1", ""),
    ("PATCH", "/api/v1/admin/users/1", "{}"),
    ("GET", "/api/v1/admin/users/1/platform-quotas", ""),
    ("PUT", "/api/v1/admin/users/1/platform-quotas", r#"{"quotas":[]}"#),
    ("POST", "/api/v1/admin/users/1/platform-quotas/reset", r#"{"platform":"openai","window":"daily"}"#),
    (
        "POST",
        "/api/v1/admin/users/1/platform-quotas/top-up",
        r#"{"platform":"openai","window":"daily","amount_usd":1}"#,
    ),
    ("GET", "/api/v1/admin/users/1/api-keys", ""),
    ("PUT", "/api/v1/admin/users/1/api-keys/1/quotas", r#"{"quotas":[]}"#),
    ("POST", "/api/v1/admin/users/1/api-keys/1/top-up", r#"{"platform":"openai","window":"daily","amount_usd":1}"#),
    ("GET", "/api/v1/admin/users/1/rate-limits", ""),
    ("PUT", "/api/v1/admin/users/1/rate-limits", r#"{"rate_limits":[]}"#),
    ("GET", "/api/v1/admin/audit", ""),
    ("GET", "/api/v1/admin/alerts", ""),
    ("GET", "/api/v1/admin/request-log", ""),
    ("GET", "/api/v1/admin/request-log.csv", ""),
    ("GET", "/api/v1/admin/analytics", ""),
    ("PUT", "/api/v1/admin/users/1/language", r#"{"language":"en"}"#),
    ("GET", "/api/v1/admin/upstreams", ""),
    ("POST", "/api/v1/admin/upstreams", "{}"),
    ("PATCH", "/api/v1/admin/upstreams/1", "{}"),
    ("DELETE", "/api/v1/admin/upstreams/1", ""),
    ("GET", "/api/v1/admin/pricing", ""),
    ("GET", "/api/v1/admin/pricing/unpriced", ""),
    ("POST", "/api/v1/admin/pricing/import", r#"{"file":"{}"}"#),
    ("PUT", "/api/v1/admin/pricing/a%2Fb", "{}"),
    ("DELETE", "/api/v1/admin/pricing/a%2Fb", ""),
];

pub const USER_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/me", ""),
    ("POST", "/api/v1/auth/logout", "{}"),
    ("GET", "/api/v1/user/platform-quotas", ""),
    ("GET", "/api/v1/user/usage", ""),
    ("GET", "/api/v1/user/request-log", ""),
    ("GET", "/api/v1/user/request-log.csv", ""),
    ("GET", "/api/v1/user/analytics", ""),
    ("GET", "/api/v1/user/api-keys", ""),
    ("POST", "/api/v1/user/api-keys", r#"{"name":"k"}"#),
    ("DELETE", "/api/v1/user/api-keys/1", ""),
    ("PUT", "/api/v1/user/api-keys/1/quotas", r#"{"quotas":[]}"#),
    ("GET", "/api/v1/user/notices", ""),
    ("POST", "/api/v1/user/notices/1/read", ""),
    ("POST", "/api/v1/user/notices/read-all", ""),
    ("GET", "/api/v1/user/language", ""),
    ("PUT", "/api/v1/user/language", r#"{"language":"zh"}"#),
    ("GET", "/api/v1/user/api-keys/1/rate-limits", ""),
    ("PUT", "/api/v1/user/api-keys/1/rate-limits", r#"{"rate_limits":[]}"#),
];

async fn sessions_and_roles(app: TestApp) {
    let admin = app.admin().await;
    let user = app.user(&admin, "u@example.com").await;
    for (method, path, body) in ADMIN_ROUTES.iter().chain(USER_ROUTES) {
        let r = app.call(method, path, None, Some(body)).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated", None);
        let r = app.call(method, path, Some("not-a-token"), Some(body)).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthenticated", None);
    }
    for (method, path, body) in ADMIN_ROUTES {
        let r = app.call(method, path, Some(&user.token), Some(body)).await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden", None);
    }
}
crate::both_backends!(sessions_and_roles_are_enforced, super::sessions_and_roles);

async fn csrf(app: TestApp) {
    let admin = app.admin().await;
    let user = app.user(&admin, "c@example.com").await;
    let body = r#"{"name":"cookie key"}"#;
    // Cookie without the header, or with a wrong one: 403, nothing created.
    let r = app.call_cookie("POST", "/api/v1/user/api-keys", &user, None, body).await;
    assert_error(&r, StatusCode::FORBIDDEN, "csrf_failed", None);
    let r = app.call_cookie("POST", "/api/v1/user/api-keys", &user, Some("wrong"), body).await;
    assert_error(&r, StatusCode::FORBIDDEN, "csrf_failed", None);
    // Another session's CSRF token does not work either.
    let other = app.login("c@example.com", "user-pass-123").await;
    let r = app.call_cookie("POST", "/api/v1/user/api-keys", &user, Some(&other.csrf), body).await;
    assert_error(&r, StatusCode::FORBIDDEN, "csrf_failed", None);
    assert_eq!(app.get_as("/api/v1/user/api-keys", &user.token).await.json()["api_keys"].as_array().unwrap().len(), 0);
    // Reads need no header; writes with the right header work; bearer writes need none.
    let r = app.call_cookie("GET", "/api/v1/user/api-keys", &user, None, "").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.call_cookie("POST", "/api/v1/user/api-keys", &user, Some(&user.csrf), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = app.call("POST", "/api/v1/user/api-keys", Some(&user.token), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // Admin writes by cookie too.
    let r = app.call_cookie("PUT", "/api/v1/admin/settings", &admin, None, "{}").await;
    assert_error(&r, StatusCode::FORBIDDEN, "csrf_failed", None);
    let r = app.call_cookie("PUT", "/api/v1/admin/settings", &admin, Some(&admin.csrf), "{}").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}
crate::both_backends!(csrf_is_required_for_cookie_writes, super::csrf);

#[tokio::test]
async fn unknown_api_paths_are_json_404() {
    let app = TestApp::sqlite().await;
    let r = app.get("/api/v1/nope").await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found", None);
    let r = app.call("DELETE", "/api/v1/meta", None, None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");
}
