//! Scripted upstreams: an axum router written by the test, served on 127.0.0.1 and registered as
//! the first account of a platform, with every query string it received.

use std::sync::{Arc, Mutex};

use axum::Router;
use tollgate_core::platform::Platform;
use tollgate_store::UpstreamProtocol;

use super::test_app::TestApp;

/// The query strings an upstream received, in order (empty string for none).
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    pub fn queries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl TestApp {
    /// Serves `router` and makes it `platform`'s first account (priority 0, before the mocks).
    pub async fn scripted(&self, platform: Platform, router: Router) -> Seen {
        let seen = Seen::default();
        let log = seen.clone();
        let router = router.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                log.0.lock().unwrap().push(req.uri().query().unwrap_or("").to_owned());
                next.run(req)
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        self.state.tasks.spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        self.upstream(platform, &format!("http://{addr}"), 0, UpstreamProtocol::Native).await;
        seen
    }
}

/// An SSE body of `events` (each `(name, data)`; no name for `data:`-only events).
pub fn sse(events: &[(Option<&str>, String)]) -> axum::response::Response {
    let mut text = String::new();
    for (name, data) in events {
        if let Some(n) = name {
            text.push_str(&format!("event: {n}\n"));
        }
        text.push_str(&format!("data: {data}\n\n"));
    }
    axum::response::Response::builder()
        .header("content-type", "text/event-stream")
        .body(axum::body::Body::from(text))
        .unwrap()
}
