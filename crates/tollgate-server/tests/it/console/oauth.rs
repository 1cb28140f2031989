//! OAuth2 / OIDC flows against the local mock authorization server.

use axum::body::Body;
use http::{Request, StatusCode};
use sha2::{Digest, Sha256};

use crate::util::mock_oauth::MockOAuth;
use crate::util::test_app::{Reply, TestApp, set_cookie_value};

/// `start`: the redirect URL's query and the state cookie.
pub async fn start(app: &TestApp, source: &str) -> (reqwest::Url, String) {
    let req = Request::get(format!("/api/v1/auth/oauth/{source}/start"))
        .header("host", "tollgate.test")
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    let location = r.headers["location"].to_str().unwrap().to_owned();
    let cookie = set_cookie_value(&r.headers, "tollgate_oauth").unwrap();
    let setc = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("tollgate_oauth="))
        .unwrap()
        .to_owned();
    assert!(setc.contains("HttpOnly") && setc.contains("Max-Age=600"), "{setc}");
    (reqwest::Url::parse(&location).unwrap(), cookie)
}

pub fn param(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// `callback` with the given query and state cookie.
pub async fn callback(app: &TestApp, source: &str, query: &str, cookie: Option<&str>) -> Reply {
    let mut b = Request::get(format!("/api/v1/auth/oauth/{source}/callback?{query}")).header("host", "tollgate.test");
    if let Some(c) = cookie {
        b = b.header("cookie", format!("tollgate_oauth={c}"));
    }
    app.send(b.body(Body::empty()).unwrap()).await
}

/// The whole flow for `subject`; returns the callback reply.
pub async fn sign_in(app: &TestApp, source: &str, subject: &str) -> Reply {
    let (url, cookie) = start(app, source).await;
    let state = param(&url, "state").unwrap();
    let code_param = if source == "dingtalk" { "authCode" } else { "code" };
    callback(app, source, &format!("{code_param}=code-{subject}&state={state}"), Some(&cookie)).await
}

/// The session token set by a successful callback.
pub fn session_of(r: &Reply) -> String {
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    assert_eq!(r.headers["location"], "/", "{:?}", r.headers);
    set_cookie_value(&r.headers, "tollgate_session").filter(|s| !s.is_empty()).expect("session cookie")
}

async fn flows(app: TestApp) {
    let mock = MockOAuth::start().await;
    let admin = app.admin().await;
    // Not configured: 404; unknown or email source: 404.
    for s in ["github", "email", "myspace"] {
        let r = app.get(&format!("/api/v1/auth/oauth/{s}/start")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{s}");
    }
    app.put_settings(&admin, &mock.all_settings()).await;

    // Authorize URLs carry each provider's parameters.
    let (url, _) = start(&app, "github").await;
    assert!(url.as_str().starts_with(&format!("{}/authorize?", mock.base)));
    assert_eq!(param(&url, "client_id").as_deref(), Some("cid"));
    assert_eq!(param(&url, "redirect_uri").as_deref(), Some("http://tollgate.test/api/v1/auth/oauth/github/callback"));
    assert_eq!(param(&url, "code_challenge_method").as_deref(), Some("S256"));
    let (url, _) = start(&app, "wechat").await;
    assert_eq!((param(&url, "appid").as_deref(), param(&url, "scope").as_deref()), (Some("cid"), Some("snsapi_login")));
    assert_eq!(url.fragment(), Some("wechat_redirect"));
    let (url, _) = start(&app, "dingtalk").await;
    assert_eq!((param(&url, "prompt").as_deref(), param(&url, "code_challenge")), (Some("consent"), None));
    let (url, _) = start(&app, "oidc").await;
    assert!(param(&url, "scope").unwrap().contains("openid"));

    // Every source signs a new user in; the identity is the provider's subject.
    for (source, subject, email) in [
        ("github", "101", "101@github.example"),
        ("google", "g-1", "g-1@oidc.example"),
        ("linuxdo", "202", "202@linux.example"),
        ("oidc", "o-1", "o-1@oidc.example"),
        ("wechat", "w1", "wechat_u-w1@oauth.invalid"),
        ("dingtalk", "d1", "d1@ding.example"),
    ] {
        let r = sign_in(&app, source, subject).await;
        let token = session_of(&r);
        let me = app.get_as("/api/v1/me", &token).await.json();
        assert_eq!((me["email"].as_str(), me["auth_source"].as_str()), (Some(email), Some(source)), "{source}");
    }
    // PKCE: the verifier sent to the token endpoint matches the challenge sent to the browser.
    let (url, cookie) = start(&app, "google").await;
    let r =
        callback(&app, "google", &format!("code=code-pk&state={}", param(&url, "state").unwrap()), Some(&cookie)).await;
    session_of(&r);
    let verifier = mock.verifiers.lock().unwrap()["pk"].clone();
    let expected =
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, Sha256::digest(verifier.as_bytes()));
    assert_eq!(param(&url, "code_challenge"), Some(expected));
    assert_eq!(app.get("/api/v1/meta").await.json()["login"]["oauth"].as_array().unwrap().len(), 6);
}
crate::both_backends!(oauth_flows_for_every_provider, super::flows);

async fn failures(app: TestApp) {
    let mock = MockOAuth::start().await;
    let admin = app.admin().await;
    app.put_settings(&admin, &mock.all_settings()).await;
    let users = app.state.store.count_users().await.unwrap();
    let error_of = |r: &Reply| {
        assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
        assert!(set_cookie_value(&r.headers, "tollgate_session").is_none());
        r.headers["location"].to_str().unwrap().to_owned()
    };
    let (url, cookie) = start(&app, "github").await;
    let st = param(&url, "state").unwrap();
    // State mismatch: wrong state, no cookie, a cookie from another source's start.
    let r = callback(&app, "github", "code=code-1&state=forged", Some(&cookie)).await;
    assert_eq!(error_of(&r), "/login?oauth_error=state_mismatch");
    let r = callback(&app, "github", &format!("code=code-1&state={st}"), None).await;
    assert_eq!(error_of(&r), "/login?oauth_error=state_mismatch");
    let r = callback(&app, "google", &format!("code=code-1&state={st}"), Some(&cookie)).await;
    assert_eq!(error_of(&r), "/login?oauth_error=state_mismatch");
    // The provider reports an error; the token endpoint refuses the code (each dialect).
    let r = callback(&app, "github", &format!("error=access_denied&state={st}"), Some(&cookie)).await;
    assert_eq!(error_of(&r), "/login?oauth_error=denied");
    for source in ["github", "wechat", "dingtalk", "oidc"] {
        let (url, cookie) = start(&app, source).await;
        let code_param = if source == "dingtalk" { "authCode" } else { "code" };
        let r = callback(
            &app,
            source,
            &format!("{code_param}=bogus&state={}", param(&url, "state").unwrap()),
            Some(&cookie),
        )
        .await;
        assert_eq!(error_of(&r), "/login?oauth_error=provider", "{source}");
    }
    assert_eq!(app.state.store.count_users().await.unwrap(), users, "no user created");
    // Closed registration refuses new identities but lets known ones in.
    session_of(&sign_in(&app, "github", "7").await);
    app.put_settings(&admin, r#"{"registration_enabled":false}"#).await;
    assert_eq!(error_of(&sign_in(&app, "github", "8").await), "/login?oauth_error=registration_closed");
    session_of(&sign_in(&app, "github", "7").await);
}
crate::both_backends!(oauth_error_and_state_mismatch_paths, super::failures);
