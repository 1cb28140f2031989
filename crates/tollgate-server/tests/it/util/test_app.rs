//! An in-process Tollgate on a fresh database, driven with `tower::ServiceExt::oneshot`.

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tollgate_server::config::GatewayConfig;
use tollgate_server::state::AppState;
use tollgate_store::testing::TestDb;
use tower::ServiceExt;

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub db: TestDb,
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
    pub async fn on(db: TestDb) -> Self {
        let store = db.open().await.unwrap();
        let state = AppState::new(store, GatewayConfig::default()).await.unwrap();
        let router = tollgate_server::router::app(state.clone());
        Self { state, router, db }
    }

    pub async fn sqlite() -> Self {
        Self::on(TestDb::sqlite()).await
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
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
