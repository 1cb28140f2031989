//! Issue 16, traces: `tollgate serve` with `OTEL_EXPORTER_OTLP_ENDPOINT` exports one span per
//! gateway request (charged, streamed, refused) to a collector stub started here, over OTLP/HTTP
//! JSON, with the GenAI attributes, the exact cost, the client's trace continued, and the
//! configured headers and service name.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::Value;
use tollgate_store::testing::TestDb;

use crate::gateway::multiprocess::{seeded, start};
use crate::util::gateway::{MODEL, anthropic_prompt};
use crate::util::test_app::journal_dir;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

type Received = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A collector answering `POST /v1/traces`, keeping each body and its `x-collector-key` header;
/// served on `app`'s task tracker.
async fn collector(app: &crate::util::test_app::TestApp) -> (String, Received) {
    let received: Received = Arc::default();
    let keep = received.clone();
    let router = Router::new().route(
        "/v1/traces",
        post(move |headers: HeaderMap, body: String| {
            let keep = keep.clone();
            async move {
                let key = headers.get("x-collector-key").map(|v| v.to_str().unwrap().to_owned());
                keep.lock().unwrap().push((key, serde_json::from_str(&body).unwrap()));
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    app.state.tasks.spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, received)
}

fn attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    let attrs = span["attributes"].as_array()?;
    attrs.iter().find(|a| a["key"] == key).map(|a| &a["value"])
}

/// The span whose `tollgate.request_id` is `id`, once the collector has it.
async fn span_of(received: &Received, id: &str) -> Value {
    for _ in 0..200 {
        for (key, body) in received.lock().unwrap().iter() {
            assert_eq!(key.as_deref(), Some("k-123"), "the configured header is sent");
            let resource = &body["resourceSpans"][0];
            assert_eq!(resource["resource"]["attributes"][0]["value"]["stringValue"], "tollgate-it");
            for s in resource["scopeSpans"][0]["spans"].as_array().unwrap() {
                if attr(s, "tollgate.request_id").and_then(|v| v["stringValue"].as_str()) == Some(id) {
                    return s.clone();
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no span for {id}: {:?}", received.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_exports_a_genai_span() {
    let db = TestDb::sqlite();
    let app = seeded(&db).await;
    let c = app.caller("otlp@example.com", &[]).await;
    let (url, received) = collector(&app).await;
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", url.as_str()),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=k-123"),
        ("OTEL_SERVICE_NAME", "tollgate-it"),
    ];
    let (_server, base) = start(&db, &journal_dir(), &env).await;
    let http = reqwest::Client::new();
    let send = |key: &str, body: String, traced: bool| {
        let mut r = http.post(format!("{base}/v1/messages")).header("x-api-key", key).body(body);
        if traced {
            r = r.header("traceparent", TRACEPARENT);
        }
        r.header("content-type", "application/json").send()
    };
    let id = |r: &reqwest::Response| r.headers()["x-tollgate-request-id"].to_str().unwrap().to_owned();

    // A whole answer in the client's trace: a child of the client's span, with tokens and cost.
    let r = send(&c.secret, anthropic_prompt(false, 50), true).await.unwrap();
    assert_eq!(r.status(), 200);
    let s = span_of(&received, &id(&r)).await;
    assert_eq!((s["traceId"].as_str(), s["parentSpanId"].as_str()), (Some(TRACE_ID), Some("00f067aa0ba902b7")));
    assert!(s["spanId"].as_str().is_some_and(|v| v.len() == 16 && v != "00f067aa0ba902b7"), "{s}");
    assert_eq!(s["name"], format!("chat {MODEL}"));
    assert_eq!(s["kind"], 2);
    assert_eq!(attr(&s, "gen_ai.system").unwrap()["stringValue"], "anthropic");
    assert_eq!(attr(&s, "gen_ai.request.model").unwrap()["stringValue"], MODEL);
    assert_eq!(attr(&s, "gen_ai.usage.input_tokens").unwrap()["intValue"], "100");
    assert_eq!(attr(&s, "gen_ai.usage.output_tokens").unwrap()["intValue"], "50");
    // The mock's usage at the test price, exact (docs/request-log.md has the same figure).
    assert_eq!(attr(&s, "tollgate.cost_usd").unwrap()["stringValue"], "0.001152");
    assert_eq!(attr(&s, "tollgate.user_id").unwrap()["intValue"], c.user_id.to_string());
    assert_eq!(s["status"]["code"], 0);
    let (start, end): (u128, u128) = (
        s["startTimeUnixNano"].as_str().unwrap().parse().unwrap(),
        s["endTimeUnixNano"].as_str().unwrap().parse().unwrap(),
    );
    assert!(start > 1_700_000_000_000_000_000 && end >= start, "{s}");

    // A stream, without a trace: a new root span, exported when its settlement is written.
    let r = send(&c.secret, anthropic_prompt(true, 50), false).await.unwrap();
    let stream_id = id(&r);
    assert_eq!(r.status(), 200);
    let _ = r.text().await.unwrap();
    let s = span_of(&received, &stream_id).await;
    assert!(s.get("parentSpanId").is_none(), "{s}");
    assert!(s["traceId"].as_str().is_some_and(|t| t.len() == 32 && t != TRACE_ID), "{s}");
    assert_eq!(attr(&s, "tollgate.cost_usd").unwrap()["stringValue"], "0.001152");

    // Refused: a span with the error and no usage.
    let r = send("tg-wrong", anthropic_prompt(false, 5), true).await.unwrap();
    assert_eq!(r.status(), 401);
    let refused = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let s = span_of(&received, &refused).await;
    assert_eq!(attr(&s, "error.type").unwrap()["stringValue"], "invalid_api_key");
    assert_eq!(attr(&s, "http.response.status_code").unwrap()["intValue"], "401");
    assert_eq!(s["status"]["code"], 2);
    assert!(attr(&s, "gen_ai.usage.input_tokens").is_none() && attr(&s, "tollgate.cost_usd").is_none());
}
