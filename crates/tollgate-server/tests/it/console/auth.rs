//! `POST /auth/login`, `POST /auth/logout`, `GET /me`, `POST /auth/register`.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Request, StatusCode};

use crate::util::test_app::{TestApp, assert_error, set_cookie_value};

async fn login_me_logout(app: TestApp) {
    let admin = app.admin().await;
    let r = app
        .call("POST", "/api/v1/auth/login", None, Some(r#"{"email":"ADMIN@example.com","password":"admin-pass-123"}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let cookies: Vec<_> = r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let session = cookies.iter().find(|c| c.starts_with("tollgate_session=")).unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Path=/"),
        "{session}"
    );
    let csrf = cookies.iter().find(|c| c.starts_with("tollgate_csrf=")).unwrap();
    assert!(!csrf.contains("HttpOnly"), "{csrf}");
    let j = r.json();
    assert_eq!(j["token"].as_str().unwrap(), set_cookie_value(&r.headers, "tollgate_session").unwrap());
    assert_eq!(j["user"]["email"], "admin@example.com");
    assert_eq!(j["user"]["role"], "admin");
    assert!(j["user"].get("password_hash").is_none());

    let me = app.get_as("/api/v1/me", &admin.token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["id"], admin.id);
    assert_eq!(me.json()["cost_multiplier"], 1);
    assert_eq!(me.json()["auth_source"], "email");
    // Logout by cookie with the CSRF header, as the web console does.
    let r = app.call_cookie("POST", "/api/v1/auth/logout", &admin, Some(&admin.csrf), "{}").await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "{}"));
    assert_eq!(set_cookie_value(&r.headers, "tollgate_session").as_deref(), Some(""));
    assert_error(&app.get_as("/api/v1/me", &admin.token).await, StatusCode::UNAUTHORIZED, "unauthenticated", None);
    assert_error(&app.get("/api/v1/me").await, StatusCode::UNAUTHORIZED, "unauthenticated", None);
}
crate::both_backends!(login_me_and_logout, super::login_me_logout);

async fn login_errors(app: TestApp) {
    let admin = app.admin().await;
    let cases = [
        (
            r#"{"email":"admin@example.com","password":"wrong-password"}"#,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            None,
        ),
        (r#"{"email":"nobody@example.com","password":"whatever1"}"#, StatusCode::UNAUTHORIZED, "unauthenticated", None),
        (r#"{"password":"x"}"#, StatusCode::BAD_REQUEST, "invalid_input", Some("email")),
        (r#"{"email":"admin@example.com"}"#, StatusCode::BAD_REQUEST, "invalid_input", Some("password")),
        (r#"{"email":5,"password":"x"}"#, StatusCode::BAD_REQUEST, "invalid_input", Some("email")),
        (r#"[1]"#, StatusCode::BAD_REQUEST, "invalid_input", None),
        (r#"{"email":"#, StatusCode::BAD_REQUEST, "invalid_input", None),
    ];
    for (body, status, code, field) in cases {
        let r = app.call("POST", "/api/v1/auth/login", None, Some(body)).await;
        assert_error(&r, status, code, field);
    }
    // A disabled account cannot sign in, and its sessions end.
    let user = app.user(&admin, "d@example.com").await;
    let r = app
        .call(
            "PATCH",
            &format!("/api/v1/admin/users/{}", user.id),
            Some(&admin.token),
            Some(r#"{"status":"disabled"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_error(&app.get_as("/api/v1/me", &user.token).await, StatusCode::UNAUTHORIZED, "unauthenticated", None);
    let r = app
        .call("POST", "/api/v1/auth/login", None, Some(r#"{"email":"d@example.com","password":"user-pass-123"}"#))
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden", None);
}
crate::both_backends!(login_errors_name_the_field, super::login_errors);

fn login_from(addr: &str, email: &str, password: &str) -> Request<Body> {
    let mut req = Request::post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(serde_json::json!({"email": email, "password": password}).to_string()))
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(addr.parse::<SocketAddr>().unwrap()));
    req
}

fn login_via(peer: &str, headers: &[(&str, &str)], password: &str) -> Request<Body> {
    let mut req = login_from(peer, "admin@example.com", password);
    for (k, v) in headers {
        req.headers_mut().insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    req
}

#[tokio::test]
async fn login_slows_guessing_without_locking_the_owner_out() {
    let app = TestApp::sqlite().await;
    app.admin().await;
    // Three free failures, then each failure makes the next attempt from that address wait.
    for _ in 0..4 {
        let r = app.send(login_from("10.0.0.1:1000", "admin@example.com", "wrong")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app.send(login_from("10.0.0.1:1000", "admin@example.com", "admin-pass-123")).await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "too_many_requests", None);
    assert_eq!(r.headers["retry-after"], "1");
    // The owner elsewhere is not slowed by someone guessing.
    let r = app.send(login_from("10.0.0.2:1000", "admin@example.com", "admin-pass-123")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // After the delay the right password passes, even from the guessing address.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = app.send(login_from("10.0.0.1:1000", "admin@example.com", "admin-pass-123")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Five wrong passwords never cost the owner more than a few seconds (no 15-minute lock).
    for _ in 0..5 {
        let r = app.send(login_from("10.0.0.3:1", "admin@example.com", "wrong")).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!(wait <= 2, "{wait}");
            tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = app.send(login_from("10.0.0.3:1", "admin@example.com", "admin-pass-123")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn forwarding_headers_count_only_from_trusted_proxies() {
    let config = tollgate_server::config::GatewayConfig {
        journal_dir: Some(crate::util::test_app::journal_dir()),
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..Default::default()
    };
    let app = TestApp::with_config(tollgate_store::testing::TestDb::sqlite(), config).await;
    app.admin().await;
    // Behind the trusted proxy, each client has its own bucket.
    for _ in 0..4 {
        let r = app.send(login_via("127.0.0.1:5", &[("x-forwarded-for", "198.51.100.1")], "wrong")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app.send(login_via("127.0.0.1:5", &[("x-forwarded-for", "198.51.100.1")], "admin-pass-123")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = app.send(login_via("127.0.0.1:5", &[("x-forwarded-for", "198.51.100.2")], "admin-pass-123")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // A client that is not a trusted proxy cannot pick its bucket by claiming another address.
    for i in 0..4 {
        let xff = format!("192.0.2.{i}");
        let r = app.send(login_via("203.0.113.5:5", &[("x-forwarded-for", &xff)], "wrong")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app.send(login_via("203.0.113.5:5", &[("x-forwarded-for", "192.0.2.77")], "admin-pass-123")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Secure cookies: only when a trusted proxy says the client used HTTPS.
    let secure = |r: &crate::util::test_app::Reply| {
        r.headers.get_all("set-cookie").iter().any(|v| v.to_str().unwrap().contains("; Secure"))
    };
    let r = app.send(login_via("127.0.0.1:5", &[("x-forwarded-proto", "https")], "admin-pass-123")).await;
    assert!(r.status == StatusCode::OK && secure(&r), "{:?}", r.headers);
    let r = app.send(login_via("203.0.113.9:5", &[("x-forwarded-proto", "https")], "admin-pass-123")).await;
    assert!(r.status == StatusCode::OK && !secure(&r), "{:?}", r.headers);
}

async fn register(app: TestApp) {
    let admin = app.admin().await;
    app.put_settings(&admin, r#"{"registration_enabled":true,"default_platform_quotas":{"anthropic":{"daily":10,"weekly":50}},"auth_source_default_email_platform_quotas":{"openai":{"daily":0}}}"#).await;
    let body = r#"{"email":"New@Example.com","password":"new-pass-123","display_name":"Newbie"}"#;
    let r = app.call("POST", "/api/v1/auth/register", None, Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(
        (j["user"]["email"].as_str(), j["user"]["auth_source"].as_str()),
        (Some("new@example.com"), Some("email"))
    );
    let token = j["token"].as_str().unwrap();
    let q = app.get_as("/api/v1/user/platform-quotas", token).await.json();
    let limits: Vec<_> = q["platform_quotas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["platform"].as_str().unwrap().to_owned(),
                v["daily_limit_usd"].to_string(),
                v["weekly_limit_usd"].to_string(),
            )
        })
        .collect();
    assert_eq!(limits, [("anthropic".into(), "10".into(), "50".into()), ("openai".into(), "0".into(), "null".into())]);

    let cases = [
        (body, StatusCode::CONFLICT, "conflict", Some("email")),
        (
            r#"{"email":"not-an-email","password":"new-pass-123"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some("email"),
        ),
        // Lookalikes of an existing address: a trailing dot, an invisible character.
        (r#"{"email":"a@b.c.","password":"new-pass-123"}"#, StatusCode::BAD_REQUEST, "invalid_input", Some("email")),
        (r#"{"email":"a@b..c","password":"new-pass-123"}"#, StatusCode::BAD_REQUEST, "invalid_input", Some("email")),
        (
            r#"{"email":"a\u200b@b.c","password":"new-pass-123"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some("email"),
        ),
        (
            r#"{"email":"a\u202e@b.c","password":"new-pass-123"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some("email"),
        ),
        (r#"{"email":"a@b.c","password":"short"}"#, StatusCode::BAD_REQUEST, "invalid_input", Some("password")),
        (r#"{"email":"a@b.c"}"#, StatusCode::BAD_REQUEST, "invalid_input", Some("password")),
        (
            r#"{"email":"a@b.c","password":"new-pass-123","display_name":7}"#,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some("display_name"),
        ),
    ];
    for (body, status, code, field) in cases {
        assert_error(&app.call("POST", "/api/v1/auth/register", None, Some(body)).await, status, code, field);
    }
    app.put_settings(&admin, r#"{"registration_enabled":false}"#).await;
    let r = app
        .call("POST", "/api/v1/auth/register", None, Some(r#"{"email":"late@example.com","password":"new-pass-123"}"#))
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden", None);
    assert!(app.state.store.find_user_by_email("late@example.com").await.unwrap().is_none());
}
crate::both_backends!(register_snapshots_email_defaults, super::register);
