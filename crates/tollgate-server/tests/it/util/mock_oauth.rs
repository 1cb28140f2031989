//! A local mock authorization server speaking each provider's dialect: standard OAuth2 (GitHub,
//! Google, linux.do), OIDC with discovery, WeChat (GET token, `errcode` errors) and DingTalk (JSON
//! token POST, `x-acs-dingtalk-access-token`). A code `code-<subject>` is valid for that subject;
//! any other code is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::json;

pub const CLIENT_ID: &str = "cid";
pub const CLIENT_SECRET: &str = "csecret";

/// The running mock and what it has seen.
#[derive(Clone)]
pub struct MockOAuth {
    pub base: String,
    /// PKCE verifiers received, by subject.
    pub verifiers: Arc<Mutex<HashMap<String, String>>>,
}

type Shared = Arc<Mutex<HashMap<String, String>>>;

fn subject_of_code(code: &str) -> Option<String> {
    code.strip_prefix("code-").map(str::to_owned)
}

fn bearer_subject(headers: &HeaderMap, name: &str) -> Option<String> {
    let v = headers.get(name)?.to_str().ok()?;
    v.trim_start_matches("Bearer ").strip_prefix("at-").map(str::to_owned)
}

async fn token(State(seen): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Response {
    let ok = f.get("grant_type").map(String::as_str) == Some("authorization_code")
        && f.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && f.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
        && f.contains_key("redirect_uri");
    match (ok, f.get("code").and_then(|c| subject_of_code(c))) {
        (true, Some(sub)) => {
            if let Some(v) = f.get("code_verifier") {
                seen.lock().unwrap().insert(sub.clone(), v.clone());
            }
            Json(json!({"access_token": format!("at-{sub}"), "token_type": "bearer"})).into_response()
        }
        _ => (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant", "error_description": "bad code"})))
            .into_response(),
    }
}

async fn userinfo(Path(style): Path<String>, headers: HeaderMap) -> Response {
    let Some(sub) = bearer_subject(&headers, "authorization") else {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_token"}))).into_response();
    };
    let id = sub.parse::<i64>().map_or_else(|_| json!(sub), |n| json!(n));
    let body = match style.as_str() {
        "github" => {
            json!({"id": id, "login": format!("gh{sub}"), "name": null, "email": format!("{sub}@github.example")})
        }
        "linuxdo" => {
            json!({"id": id, "username": format!("ld{sub}"), "name": "L D", "email": format!("{sub}@linux.example")})
        }
        _ => json!({"sub": sub, "email": format!("{sub}@oidc.example"), "email_verified": true, "name": "O I"}),
    };
    Json(body).into_response()
}

async fn discovery(State(base): State<String>) -> Response {
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo/oidc"),
    }))
    .into_response()
}

async fn wechat_token(Query(q): Query<HashMap<String, String>>) -> Response {
    let ok = q.get("appid").map(String::as_str) == Some(CLIENT_ID)
        && q.get("secret").map(String::as_str) == Some(CLIENT_SECRET)
        && q.get("grant_type").map(String::as_str) == Some("authorization_code");
    match (ok, q.get("code").and_then(|c| subject_of_code(c))) {
        (true, Some(sub)) => Json(json!({"access_token": format!("at-{sub}"), "expires_in": 7200, "refresh_token": "r", "openid": format!("o-{sub}"), "scope": "snsapi_login", "unionid": format!("u-{sub}")})).into_response(),
        // WeChat answers errors with HTTP 200 and an errcode.
        _ => Json(json!({"errcode": 40029, "errmsg": "invalid code"})).into_response(),
    }
}

async fn wechat_userinfo(Query(q): Query<HashMap<String, String>>) -> Response {
    let sub = q.get("access_token").and_then(|t| t.strip_prefix("at-")).map(str::to_owned);
    match sub {
        Some(sub) if q.get("openid") == Some(&format!("o-{sub}")) => {
            Json(json!({"openid": format!("o-{sub}"), "nickname": format!("Wx {sub}"), "unionid": format!("u-{sub}")}))
                .into_response()
        }
        _ => Json(json!({"errcode": 40003, "errmsg": "invalid openid"})).into_response(),
    }
}

async fn dingtalk_token(Json(b): Json<serde_json::Value>) -> Response {
    let ok = b["clientId"] == CLIENT_ID && b["clientSecret"] == CLIENT_SECRET && b["grantType"] == "authorization_code";
    match (ok, b["code"].as_str().and_then(subject_of_code)) {
        (true, Some(sub)) => {
            Json(json!({"accessToken": format!("at-{sub}"), "refreshToken": "r", "expireIn": 7200})).into_response()
        }
        _ => (StatusCode::BAD_REQUEST, Json(json!({"code": "invalidAuthCode", "message": "bad code"}))).into_response(),
    }
}

async fn dingtalk_me(headers: HeaderMap) -> Response {
    match bearer_subject(&headers, "x-acs-dingtalk-access-token") {
        Some(sub) => Json(json!({"nick": format!("Ding {sub}"), "unionId": format!("du-{sub}"), "openId": format!("do-{sub}"), "email": format!("{sub}@ding.example")})).into_response(),
        None => (StatusCode::UNAUTHORIZED, Json(json!({"code": "InvalidAuthentication", "message": "no token"}))).into_response(),
    }
}

impl MockOAuth {
    /// Starts the mock on `127.0.0.1:0`.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let verifiers: Shared = Arc::default();
        let app = Router::new()
            .route("/token", post(token))
            .with_state(verifiers.clone())
            .route("/userinfo/{style}", get(userinfo))
            .route("/oidc/.well-known/openid-configuration", get(discovery).with_state(base.clone()))
            .route("/wechat/token", get(wechat_token))
            .route("/wechat/userinfo", get(wechat_userinfo))
            .route("/dingtalk/token", post(dingtalk_token))
            .route("/dingtalk/me", get(dingtalk_me));
        #[allow(clippy::disallowed_methods)] // a test server lives as long as the test
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, verifiers }
    }

    /// The `oauth_<source>` settings value pointing at this mock.
    pub fn config(&self, source: &str) -> serde_json::Value {
        let b = &self.base;
        let std = |style: &str| json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "authorize_url": format!("{b}/authorize"), "token_url": format!("{b}/token"), "userinfo_url": format!("{b}/userinfo/{style}")});
        match source {
            "oidc" => {
                json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "discovery_url": format!("{b}/oidc/.well-known/openid-configuration")})
            }
            "wechat" => {
                json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "authorize_url": format!("{b}/authorize"), "token_url": format!("{b}/wechat/token"), "userinfo_url": format!("{b}/wechat/userinfo")})
            }
            "dingtalk" => {
                json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "authorize_url": format!("{b}/authorize"), "token_url": format!("{b}/dingtalk/token"), "userinfo_url": format!("{b}/dingtalk/me")})
            }
            "github" => std("github"),
            "linuxdo" => std("linuxdo"),
            _ => std("oidc"),
        }
    }

    /// Settings that configure all six OAuth sources against this mock.
    pub fn all_settings(&self) -> String {
        let mut m = serde_json::Map::new();
        for s in ["linuxdo", "oidc", "wechat", "github", "google", "dingtalk"] {
            m.insert(format!("oauth_{s}"), self.config(s));
        }
        // Signup is closed on a fresh install; these flows sign new identities up.
        m.insert("registration_enabled".to_owned(), serde_json::Value::Bool(true));
        serde_json::Value::Object(m).to_string()
    }
}
