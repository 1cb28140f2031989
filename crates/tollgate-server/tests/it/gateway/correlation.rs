//! Issue 16, logs and traces: the client's `x-request-id` and W3C `traceparent` reach the upstream
//! and the answer, never key the settlement, and appear in the JSON access log line that every
//! gateway request (answered or refused) writes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use tollgate_core::platform::Platform;
use tollgate_store::testing::TestDb;

use crate::util::gateway::MODEL;
use crate::util::test_app::{TestApp, journal_dir};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn message_answer() -> String {
    format!(
        r#"{{"id":"msg_1","type":"message","role":"assistant","model":"{MODEL}","content":[{{"type":"text","text":"hi"}}],"stop_reason":"end_turn","usage":{{"input_tokens":100,"output_tokens":50,"cache_read_input_tokens":30,"cache_creation_input_tokens":0}}}}"#
    )
}

type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>)>>>;

/// An Anthropic upstream answering one priced message, recording each request's `x-request-id`
/// and `traceparent`.
async fn recording(app: &TestApp) -> Seen {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let router = Router::new().fallback(move |headers: HeaderMap| {
        let log = log.clone();
        async move {
            let get = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_owned());
            log.lock().unwrap().push((get("x-request-id"), get("traceparent")));
            ([("content-type", "application/json")], message_answer())
        }
    });
    app.scripted(Platform::Anthropic, router).await;
    seen
}

fn body() -> String {
    format!(r#"{{"model":"{MODEL}","max_tokens":8,"messages":[]}}"#)
}

#[tokio::test]
async fn request_ids_and_traces_reach_the_upstream_and_the_answer_but_not_the_settlement() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let seen = recording(&app).await;
    let c = app.caller("trace@example.com", &[]).await;

    // The client's id and trace: passed on, the trace continued under the gateway's own span.
    let h = [("x-api-key", c.secret.as_str()), ("x-request-id", "client-42"), ("traceparent", TRACEPARENT)];
    let r = app.post_json("/v1/messages", &h, &body()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.headers["x-request-id"], "client-42");
    let own = r.headers["x-tollgate-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&own).is_ok(), "{own}");
    let (id, trace) = seen.lock().unwrap().pop().unwrap();
    assert_eq!(id.as_deref(), Some("client-42"));
    let trace = trace.expect("traceparent forwarded");
    let parts: Vec<&str> = trace.split('-').collect();
    assert_eq!((parts[0], parts[1], parts[3]), ("00", TRACE_ID, "01"), "{trace}");
    assert!(parts[2] != "00f067aa0ba902b7" && parts[2].len() == 16, "the gateway's span is the parent: {trace}");
    let one = app.spent(c.user_id, Platform::Anthropic).await;
    assert!(one > 0);

    // The same client id again is a new request, charged again: it never keys the settlement.
    let r = app.post_json("/v1/messages", &h, &body()).await;
    assert_eq!(r.status, 200);
    assert_ne!(r.headers["x-tollgate-request-id"].to_str().unwrap(), own);
    assert_eq!(app.spent(c.user_id, Platform::Anthropic).await, 2 * one);

    // Without them: the gateway's id goes upstream and back; no trace is invented.
    let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &body()).await;
    let own = r.headers["x-tollgate-request-id"].to_str().unwrap();
    assert_eq!(r.headers["x-request-id"].to_str().unwrap(), own);
    assert_eq!(seen.lock().unwrap().pop().unwrap(), (Some(own.to_owned()), None));

    // Malformed ones are ignored, not refused.
    let bad = [("x-api-key", c.secret.as_str()), ("x-request-id", "has space"), ("traceparent", "00-xyz-01")];
    let r = app.post_json("/v1/messages", &bad, &body()).await;
    assert_eq!(r.status, 200);
    let own = r.headers["x-tollgate-request-id"].to_str().unwrap();
    assert_eq!(seen.lock().unwrap().pop().unwrap(), (Some(own.to_owned()), None));

    // A refused request still answers with the client's id.
    let r = app.post_json("/v1/messages", &[("x-api-key", "tg-wrong"), ("x-request-id", "client-43")], &body()).await;
    assert_eq!((r.status.as_u16(), r.headers["x-request-id"].to_str().unwrap()), (401, "client-43"));
}

/// Waits for the access line of the request that carried `client_id`.
fn access_line(lines: &std::sync::mpsc::Receiver<String>, client_id: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        let Ok(line) = lines.recv_timeout(left) else { break };
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if v["target"] == "tollgate::access" && v["client_request_id"] == client_id {
            return v;
        }
    }
    panic!("no access line for {client_id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_writes_one_json_access_line() {
    let db = TestDb::sqlite();
    let app = super::multiprocess::seeded(&db).await;
    let c = app.caller("access@example.com", &[]).await;
    let (_server, base, lines) = super::multiprocess::start_logging(&db, &journal_dir()).await;
    let http = reqwest::Client::new();
    let send = |key: &str, id: &str| {
        http.post(format!("{base}/v1/messages"))
            .header("x-api-key", key)
            .header("x-request-id", id)
            .header("traceparent", TRACEPARENT)
            .header("content-type", "application/json")
            .body(body())
            .send()
    };
    let r = send(&c.secret, "access-ok").await.unwrap();
    assert_eq!(r.status(), 200);
    let own = r.headers()["x-tollgate-request-id"].to_str().unwrap().to_owned();
    let v = access_line(&lines, "access-ok");
    assert_eq!(v["level"], "INFO");
    assert_eq!(v["request_id"], own.as_str());
    assert_eq!(v["trace_id"], TRACE_ID);
    assert_eq!(
        (v["method"].as_str(), v["platform"].as_str(), v["route"].as_str()),
        (Some("POST"), Some("anthropic"), Some("/v1/messages"))
    );
    assert_eq!((v["status"].as_u64(), v["model"].as_str()), (Some(200), Some(MODEL)));
    assert_eq!(v["user_id"].as_i64(), Some(c.user_id));
    assert!(v["key_id"].is_i64() && v["upstream_id"].is_i64(), "{v}");
    assert!(v["head_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{v}");

    // Refused before authentication: the line has the status and ids, no user.
    assert_eq!(send("tg-wrong", "access-401").await.unwrap().status(), 401);
    let v = access_line(&lines, "access-401");
    assert_eq!(v["status"].as_u64(), Some(401));
    assert!(v["user_id"].is_null() && v["model"].is_null(), "{v}");
    assert!(v["request_id"].as_str().is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()), "{v}");
}
