//! Console writes only as JSON (login CSRF), and the console's security response headers.

use axum::body::Body;
use http::{Request, StatusCode};

use crate::util::test_app::{TestApp, assert_error};

const LOGIN: &str = r#"{"email":"admin@example.com","password":"admin-pass-123"}"#;

fn login_as(content_type: Option<&str>) -> Request<Body> {
    let mut b = Request::post("/api/v1/auth/login");
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    b.body(Body::from(LOGIN)).unwrap()
}

#[tokio::test]
async fn console_writes_accept_only_json() {
    let app = TestApp::sqlite().await;
    let admin = app.admin().await;
    for ct in
        [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data; boundary=x"), None]
    {
        let r = app.send(login_as(ct)).await;
        assert_error(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None);
        assert!(r.headers.get("set-cookie").is_none(), "{ct:?} signed in");
    }
    assert_eq!(app.send(login_as(Some("application/json; charset=utf-8"))).await.status, StatusCode::OK);
    // Other writes too, bearer-authenticated or not.
    let r = app
        .send(
            Request::put("/api/v1/admin/settings")
                .header("authorization", format!("Bearer {}", admin.token))
                .header("content-type", "text/plain")
                .body(Body::from(r#"{"registration_enabled":true}"#))
                .unwrap(),
        )
        .await;
    assert_error(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None);
    assert!(!app.state.settings.get().registration_enabled);
    // A write without a body needs no content type.
    let r = app
        .send(
            Request::post("/api/v1/auth/logout")
                .header("authorization", format!("Bearer {}", admin.token))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn console_and_ui_answers_carry_security_headers() {
    let app = TestApp::sqlite().await;
    for (uri, html) in [("/api/v1/meta", false), ("/api/v1/me", false), ("/", true), ("/admin/users", true)] {
        let r = app.get(uri).await;
        let h = |name: &str| r.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert_eq!(h("x-frame-options"), "DENY", "{uri}");
        assert_eq!(h("x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(h("referrer-policy"), "no-referrer", "{uri}");
        let csp = h("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert_eq!(csp.contains("script-src 'self'"), html, "{uri}: {csp}");
    }
}
