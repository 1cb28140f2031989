//! An in-process Tollgate on a fresh database, driven with `tower::ServiceExt::oneshot`.

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tollgate_server::config::GatewayConfig;
use tollgate_server::state::AppState;
use tollgate_store::testing::TestDb;
use tower::ServiceExt;

/// The secret key of test apps (every app on one database must share it).
pub const TEST_SECRET_KEY: &str = "dGVzdC1zZWNyZXQta2V5LTMyLWJ5dGVzLWxvbmctISE=";

/// A fresh journal folder for one app (left in the temp dir; a few empty files).
pub fn journal_dir() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tollgate-it-journal-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub db: TestDb,
    journal: Option<std::path::PathBuf>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(dir) = &self.journal {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A response with its body read.
pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl TestApp {
    /// Settlement through a journal of its own (the default mode).
    pub async fn on(db: TestDb) -> Self {
        Self::with_config(db, GatewayConfig { journal_dir: Some(journal_dir()), ..GatewayConfig::default() }).await
    }

    pub async fn with_config(db: TestDb, mut config: GatewayConfig) -> Self {
        if config.secret_key.is_none() && config.secret_key_file.is_none() && config.generated_key_file.is_none() {
            config.secret_key = Some(TEST_SECRET_KEY.into());
        }
        let store = db.open().await.unwrap();
        let journal = config.journal_dir.clone();
        let state = AppState::new(store, config).await.unwrap();
        let router = tollgate_server::router::app(state.clone());
        Self { state, router, db, journal }
    }

    /// Stops the app as a shutdown does: its settlement worker writes what is queued and lets go
    /// of its journal.
    pub async fn stop(self) {
        self.state.shutdown.cancel();
        self.state.tasks.close();
        self.state.tasks.wait().await;
    }

    pub async fn sqlite() -> Self {
        Self::on(TestDb::sqlite()).await
    }

    /// Sends one request; a console answer that disagrees with `openapi.json` fails the test
    /// (`util::contract`).
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let (parts, body) = req.into_parts();
        let sent = body.collect().await.unwrap().to_bytes();
        let (method, uri) = (parts.method.to_string(), parts.uri.to_string());
        let resp = self.router.clone().oneshot(Request::from_parts(parts, Body::from(sent.clone()))).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let content_type = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let disagreements = super::contract::check(&method, &uri, &sent, status.as_u16(), content_type, &body);
        assert!(disagreements.is_empty(), "the console API disagrees with openapi.json:\n{}", disagreements.join("\n"));
        Reply { status, headers, body }
    }

    /// Serves the app on a real 127.0.0.1 listener (for streaming and disconnect tests).
    pub async fn listen(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = self.router.clone();
        self.state.tasks.spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        format!("http://{addr}")
    }

    pub async fn post_json(&self, uri: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut req = Request::post(uri).header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(body.to_owned())).unwrap()).await
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Request::get(uri).body(Body::empty()).unwrap()).await
    }
}

/// Runs `f` against a fresh app on SQLite, and on PostgreSQL when the test database is configured.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $f:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $f($crate::util::test_app::TestApp::sqlite().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match tollgate_store::testing::TestDb::postgres(concat!("it_", stringify!($name))).await {
                    Some(db) => $f($crate::util::test_app::TestApp::on(db).await).await,
                    None => eprintln!("skipped: TOLLGATE_TEST_PG_URL is not set"),
                }
            }
        }
    };
}

/// A signed-in console account.
#[derive(Debug, Clone)]
pub struct Login {
    pub id: i64,
    pub token: String,
    pub csrf: String,
    pub session_cookie: String,
}

/// The `name=value` of a `Set-Cookie` header for `name`.
pub fn set_cookie_value(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").split_once('=').unwrap().1.to_owned())
}

impl TestApp {
    /// A JSON request with an optional bearer token.
    pub async fn call(&self, method: &str, uri: &str, token: Option<&str>, body: Option<&str>) -> Reply {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        self.send(b.body(Body::from(body.unwrap_or("").to_owned())).unwrap()).await
    }

    /// A request authenticated by the session cookie, with an optional CSRF header.
    pub async fn call_cookie(&self, method: &str, uri: &str, login: &Login, csrf: Option<&str>, body: &str) -> Reply {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header("cookie", format!("tollgate_session={}; tollgate_csrf={}", login.session_cookie, login.csrf))
            .header("content-type", "application/json");
        if let Some(c) = csrf {
            b = b.header("x-csrf-token", c);
        }
        self.send(b.body(Body::from(body.to_owned())).unwrap()).await
    }

    pub async fn get_as(&self, uri: &str, token: &str) -> Reply {
        self.call("GET", uri, Some(token), None).await
    }

    /// Signs in with a password.
    pub async fn login(&self, email: &str, password: &str) -> Login {
        let body = serde_json::json!({"email": email, "password": password}).to_string();
        let r = self.call("POST", "/api/v1/auth/login", None, Some(&body)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let j = r.json();
        Login {
            id: j["user"]["id"].as_i64().unwrap(),
            token: j["token"].as_str().unwrap().to_owned(),
            csrf: set_cookie_value(&r.headers, "tollgate_csrf").unwrap(),
            session_cookie: set_cookie_value(&r.headers, "tollgate_session").unwrap(),
        }
    }

    /// An admin account (created like `tollgate admin create`), signed in.
    pub async fn admin(&self) -> Login {
        tollgate_server::console::accounts::create_admin(&*self.state.store, "admin@example.com", "admin-pass-123")
            .await
            .unwrap();
        self.login("admin@example.com", "admin-pass-123").await
    }

    /// A user created by the admin API (email source, default quotas applied), signed in.
    pub async fn user(&self, admin: &Login, email: &str) -> Login {
        let body = serde_json::json!({"email": email, "password": "user-pass-123", "display_name": "U"}).to_string();
        let r = self.call("POST", "/api/v1/admin/users", Some(&admin.token), Some(&body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        self.login(email, "user-pass-123").await
    }

    /// Writes settings through the API.
    pub async fn put_settings(&self, admin: &Login, body: &str) {
        let r = self.call("PUT", "/api/v1/admin/settings", Some(&admin.token), Some(body)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
}

/// Asserts a console error: status, code and field.
#[track_caller]
pub fn assert_error(r: &Reply, status: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.text());
    let j = r.json();
    assert_eq!(j["error"]["code"], code, "{}", r.text());
    assert_eq!(j["error"]["field"].as_str(), field, "{}", r.text());
    assert!(j["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.text());
}
