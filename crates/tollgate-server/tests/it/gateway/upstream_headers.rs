//! What reaches an upstream: an allow-list of client headers per wire API; and 502s that do not
//! name upstream accounts or Cloud Code projects.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use tollgate_core::platform::Platform;
use tollgate_store::UpstreamProtocol;

use crate::util::test_app::TestApp;

/// An upstream that records the header names of each request and answers 400 (passed through,
/// not charged).
async fn recording_upstream(app: &TestApp) -> (String, Arc<Mutex<Vec<Vec<String>>>>) {
    let seen: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let record = seen.clone();
    let router = Router::new().fallback(move |headers: HeaderMap| {
        let record = record.clone();
        async move {
            let mut names: Vec<String> = headers.keys().map(|k| k.as_str().to_owned()).collect();
            names.sort();
            names.dedup();
            record.lock().unwrap().push(names);
            (StatusCode::BAD_REQUEST, r#"{"error":{"message":"recorded"}}"#)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    app.state.tasks.spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (base, seen)
}

const HOSTILE: &[(&str, &str)] = &[
    ("x-forwarded-for", "6.6.6.6"),
    ("forwarded", "for=6.6.6.6"),
    ("openai-organization", "org-someone-else"),
    ("openai-project", "proj-someone-else"),
    ("x-goog-user-project", "someone-elses-project"),
    ("x-custom-thing", "1"),
    ("cookie", "a=b"),
];

#[tokio::test]
async fn only_the_allow_list_reaches_the_upstream() {
    let app = TestApp::sqlite().await;
    let (base, seen) = recording_upstream(&app).await;
    for p in [Platform::Anthropic, Platform::OpenAi, Platform::Gemini] {
        app.upstream(p, &base, 0, UpstreamProtocol::Native).await;
    }
    let c = app.caller("h@example.com", &[]).await;
    let bearer = format!("Bearer {}", c.secret);
    let common: Vec<(&str, &str)> = [("user-agent", "sdk/1"), ("accept", "application/json")].into();
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a [&'a str]);
    let cases: [Case; 3] = [
        (
            "/v1/messages",
            vec![
                ("x-api-key", &c.secret),
                ("anthropic-version", "2023-06-01"),
                ("anthropic-beta", "b1"),
                ("openai-beta", "x"),
            ],
            &["anthropic-beta", "anthropic-version", "x-api-key"],
        ),
        (
            "/v1/chat/completions",
            vec![("authorization", &bearer), ("openai-beta", "assistants=v2"), ("anthropic-version", "x")],
            &["authorization", "openai-beta"],
        ),
        (
            "/v1beta/models/gemini-2.5-flash:generateContent",
            vec![("x-goog-api-key", &c.secret), ("x-goog-api-client", "genai-js/1")],
            &["x-goog-api-client", "x-goog-api-key"],
        ),
    ];
    for (path, own, expected_own) in cases {
        let mut headers = own.clone();
        headers.extend(common.iter().copied());
        headers.extend(HOSTILE.iter().copied());
        let body = r#"{"model":"m","max_tokens":8,"messages":[],"contents":[]}"#;
        let r = app.post_json(path, &headers, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text());
        let got = seen.lock().unwrap().pop().unwrap();
        let mut expected: Vec<String> =
            ["accept", "accept-encoding", "content-length", "content-type", "host", "user-agent", "x-request-id"]
                .iter()
                .chain(expected_own)
                .map(|s| (*s).to_owned())
                .collect();
        expected.sort();
        assert_eq!(got, expected, "{path}");
    }
    // A header named in Connection is hop-by-hop, even when allowed.
    let headers = [("x-api-key", c.secret.as_str()), ("anthropic-beta", "b1"), ("connection", "anthropic-beta")];
    app.post_json("/v1/messages", &headers, r#"{"model":"m","max_tokens":8,"messages":[]}"#).await;
    let got = seen.lock().unwrap().pop().unwrap();
    assert!(!got.contains(&"anthropic-beta".to_owned()), "{got:?}");
}

#[tokio::test]
async fn bad_gateway_answers_do_not_name_accounts_or_projects() {
    let app = TestApp::sqlite().await;
    // Nothing listens on port 9: every account fails (one of them a Cloud Code one with a project).
    app.upstream(Platform::Antigravity, "http://127.0.0.1:9", 0, UpstreamProtocol::V1Internal).await;
    app.upstream(Platform::Antigravity, "http://127.0.0.1:9", 1, UpstreamProtocol::Native).await;
    let c = app.caller("b@example.com", &[]).await;
    let r = app
        .post_json(
            "/antigravity/v1beta/models/gemini-2.5-pro:generateContent",
            &[("x-goog-api-key", &c.secret)],
            r#"{"contents":[]}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.text());
    let text = r.text();
    assert!(!text.contains("test-project") && !text.contains("mock-"), "{text}");
    assert!(text.contains("upstream unavailable"), "{text}");
}
