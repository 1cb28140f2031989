//! Mock upstreams speaking the real wire formats of Anthropic Messages, OpenAI Chat Completions and
//! Responses, Gemini (SSE and JSON-array streams) and Cloud Code `v1internal`. Used by `tollgate
//! demo`, the integration tests and the benchmark.
//!
//! Every answer reports the same usage, [`MOCK_USAGE`], in each family's own accounting, so a test
//! can compute the expected charge by hand. Streams are cut into small chunks that split events.
//! A `User-Agent` ending in `mock=SCRIPT` (the gateway forwards `User-Agent` on every platform, and
//! nothing off its allow-list) scripts failures: `error500`, `cut` (the stream stops before its
//! usage), `slow` (40 ms between chunks), `garbage` (invalid bytes in the stream), `two_candidates`
//! (a Gemini SSE stream whose second candidate finishes 300 ms after the first), `gzip` (an
//! Anthropic answer labelled `Content-Encoding: gzip`).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The credential every mock upstream expects.
pub const MOCK_KEY: &str = "mock-upstream-key";
/// The text every mock answers with.
pub const MOCK_TEXT: &str = "Hello from the Tollgate mock upstream. Quotas are enforced in USD.";

/// Usage reported by every mock answer, normalized: uncached input, output, cache read, cache writes.
pub struct MockUsage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write_5m: u64,
    pub cache_write_1h: u64,
}

/// Anthropic reports all five; OpenAI and Gemini report cache reads only (no writes).
pub const MOCK_USAGE: MockUsage =
    MockUsage { input: 100, output: 50, cache_read: 30, cache_write_5m: 12, cache_write_1h: 8 };

#[derive(Clone, Default)]
struct Mock {
    always_fail: bool,
    /// One chunk per event, as real providers write them (the benchmark), instead of 17-byte
    /// pieces that split events (the tests, which exercise reassembly).
    per_event: bool,
}

/// A running mock upstream.
pub struct MockUpstream {
    pub addr: SocketAddr,
}

impl MockUpstream {
    /// Starts a mock on 127.0.0.1 (a free port) on `tasks`, until `stop` is cancelled. With
    /// `always_fail`, every call is a 500.
    pub async fn start(
        tasks: &tokio_util::task::TaskTracker,
        stop: tokio_util::sync::CancellationToken,
        always_fail: bool,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = router(always_fail);
        // Without TCP_NODELAY, Nagle and delayed ACKs hold back small stream chunks by ~40 ms.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tasks.spawn(async move {
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await {
                tracing::error!(error = %e, "mock upstream stopped");
            }
        });
        Ok(Self { addr })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The mock's routes, streaming in 17-byte pieces.
pub fn router(always_fail: bool) -> Router {
    routes(Mock { always_fail, per_event: false })
}

/// The mock's routes, streaming one event per chunk (for the benchmark).
pub fn router_per_event() -> Router {
    routes(Mock { always_fail: false, per_event: true })
}

fn routes(mock: Mock) -> Router {
    Router::new()
        .route("/v1/messages", post(anthropic))
        .route("/v1/messages/count_tokens", post(|| async { axum::Json(json!({"input_tokens": MOCK_USAGE.input})) }))
        .route("/v1/chat/completions", post(openai_chat))
        .route("/v1/responses", post(openai_responses))
        .route("/v1/models", get(list_models))
        .route("/v1beta/models", get(list_models))
        .route("/v1beta/models/{model_action}", post(gemini).get(get_model))
        .route("/v1/models/{model_action}", post(gemini).get(get_model))
        .route("/{v1internal}", post(v1internal))
        .with_state(mock)
}

/// Which API's model listing a request wants, by the credential header its SDK sends.
fn listing_kind(headers: &HeaderMap, uri: &Uri) -> &'static str {
    if headers.contains_key("x-goog-api-key") || uri.path().starts_with("/v1beta/") {
        "gemini"
    } else if headers.contains_key("x-api-key") {
        "anthropic"
    } else {
        "openai"
    }
}

fn model_object(kind: &str, id: &str) -> Value {
    match kind {
        "gemini" => json!({"name": format!("models/{id}"), "displayName": id, "inputTokenLimit": 1048576,
                           "outputTokenLimit": 65536, "supportedGenerationMethods": ["generateContent", "countTokens"]}),
        "anthropic" => json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-09-29T00:00:00Z"}),
        _ => json!({"id": id, "object": "model", "created": 0, "owned_by": "mock"}),
    }
}

async fn list_models(headers: HeaderMap, uri: Uri) -> Response {
    let kind = listing_kind(&headers, &uri);
    let ids: &[&str] = match kind {
        "gemini" => &["gemini-2.5-pro", "gemini-2.5-flash"],
        "anthropic" => &["claude-sonnet-4-5", "claude-opus-4-1"],
        _ => &["gpt-5", "gpt-5-mini"],
    };
    let models: Vec<Value> = ids.iter().map(|id| model_object(kind, id)).collect();
    axum::Json(match kind {
        "gemini" => json!({"models": models}),
        "anthropic" => json!({"data": models, "has_more": false, "first_id": ids[0], "last_id": ids[ids.len() - 1]}),
        _ => json!({"object": "list", "data": models}),
    })
    .into_response()
}

async fn get_model(Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    axum::Json(model_object(listing_kind(&headers, &uri), &id)).into_response()
}

fn script(headers: &HeaderMap) -> &str {
    let agent = headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    agent.rsplit_once("mock=").map_or("", |(_, s)| s.trim())
}

/// Checks the credential header the gateway must have put in place of the client's.
fn refuse(mock: &Mock, headers: &HeaderMap, name: &str, bearer: bool) -> Option<Response> {
    if mock.always_fail || script(headers) == "error500" {
        return Some(
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"error":{"message":"mock failure"}})))
                .into_response(),
        );
    }
    let sent = headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ok = if bearer { sent == format!("Bearer {MOCK_KEY}") } else { sent == MOCK_KEY };
    (!ok).then(|| {
        (StatusCode::UNAUTHORIZED, axum::Json(json!({"error":{"message":"mock: wrong upstream credential"}})))
            .into_response()
    })
}

fn body_json(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn model_of(v: &Value) -> String {
    v.get("model").and_then(Value::as_str).unwrap_or("mock-model").to_owned()
}

/// The text in pieces of a few characters.
fn pieces() -> Vec<String> {
    let chars: Vec<char> = MOCK_TEXT.chars().collect();
    chars.chunks(9).map(|c| c.iter().collect()).collect()
}

/// An SSE response from whole events, re-cut into 17-byte chunks so events straddle chunks (or one
/// chunk per event for the benchmark).
fn sse(mock: &Mock, events: Vec<String>, headers: &HeaderMap) -> Response {
    let mode = script(headers).to_owned();
    let mut chunks: Vec<Bytes> = if mock.per_event {
        events.into_iter().map(Bytes::from).collect()
    } else {
        let mut text = events.concat();
        if mode == "cut" {
            // Stop after half the stream: before any final usage.
            text.truncate(text.len() / 2);
        }
        text.as_bytes().chunks(17).map(Bytes::copy_from_slice).collect()
    };
    if mode == "garbage" {
        chunks.insert(1, Bytes::from_static(b"\xff\xfe data: {not json\n\n"));
    }
    let delay = if mode == "slow" { Duration::from_millis(40) } else { Duration::ZERO };
    let stream = futures_util::stream::unfold(chunks.into_iter(), move |mut it| async move {
        let chunk = it.next()?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Some((Ok::<_, std::io::Error>(chunk), it))
    });
    ([(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")], Body::from_stream(stream))
        .into_response()
}

fn event(name: Option<&str>, data: &Value) -> String {
    match name {
        Some(n) => format!("event: {n}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

async fn anthropic(State(mock): State<Mock>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = refuse(&mock, &headers, "x-api-key", false) {
        return r;
    }
    let req = body_json(&body);
    let model = model_of(&req);
    let u = &MOCK_USAGE;
    let usage = json!({
        "input_tokens": u.input, "output_tokens": u.output,
        "cache_creation_input_tokens": u.cache_write_5m + u.cache_write_1h, "cache_read_input_tokens": u.cache_read,
        "cache_creation": {"ephemeral_5m_input_tokens": u.cache_write_5m, "ephemeral_1h_input_tokens": u.cache_write_1h},
    });
    if req.get("stream").and_then(Value::as_bool) != Some(true) {
        if script(&headers) == "slow" {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let mut resp = axum::Json(json!({
            "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": MOCK_TEXT}], "stop_reason": "end_turn", "stop_sequence": null, "usage": usage,
        }))
        .into_response();
        if script(&headers) == "gzip" {
            // Labelled only: what an upstream that ignores `Accept-Encoding: identity` would send,
            // behind a first `identity` line.
            resp.headers_mut().insert(header::CONTENT_ENCODING, header::HeaderValue::from_static("identity"));
            resp.headers_mut().append(header::CONTENT_ENCODING, header::HeaderValue::from_static("gzip"));
        }
        return resp;
    }
    let mut start_usage = usage.clone();
    start_usage["output_tokens"] = json!(1);
    let mut events = vec![
        event(
            Some("message_start"),
            &json!({"type":"message_start","message":{"id":"msg_mock","type":"message","role":"assistant","model":model,"content":[],"stop_reason":null,"stop_sequence":null,"usage":start_usage}}),
        ),
        event(
            Some("content_block_start"),
            &json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
        ),
        event(Some("ping"), &json!({"type":"ping"})),
    ];
    for p in pieces() {
        events.push(event(
            Some("content_block_delta"),
            &json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":p}}),
        ));
    }
    events.push(event(Some("content_block_stop"), &json!({"type":"content_block_stop","index":0})));
    events.push(event(Some("message_delta"), &json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":u.output}})));
    events.push(event(Some("message_stop"), &json!({"type":"message_stop"})));
    sse(&mock, events, &headers)
}

async fn openai_chat(State(mock): State<Mock>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = refuse(&mock, &headers, "authorization", true) {
        return r;
    }
    let req = body_json(&body);
    let model = model_of(&req);
    let u = &MOCK_USAGE;
    let usage = json!({
        "prompt_tokens": u.input + u.cache_read, "completion_tokens": u.output, "total_tokens": u.input + u.cache_read + u.output,
        "prompt_tokens_details": {"cached_tokens": u.cache_read}, "completion_tokens_details": {"reasoning_tokens": 10},
    });
    if req.get("stream").and_then(Value::as_bool) != Some(true) {
        return axum::Json(json!({
            "id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": MOCK_TEXT}, "finish_reason": "stop"}],
            "usage": usage,
        }))
        .into_response();
    }
    let include_usage = req.pointer("/stream_options/include_usage").and_then(Value::as_bool) == Some(true);
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({"id":"chatcmpl-mock","object":"chat.completion.chunk","created":0,"model":model,"choices":[{"index":0,"delta":delta,"finish_reason":finish}]});
        if include_usage {
            c["usage"] = Value::Null;
        }
        event(None, &c)
    };
    let mut events = vec![chunk(json!({"role":"assistant","content":""}), Value::Null)];
    for p in pieces() {
        events.push(chunk(json!({"content": p}), Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    if include_usage {
        events.push(event(None, &json!({"id":"chatcmpl-mock","object":"chat.completion.chunk","created":0,"model":model,"choices":[],"usage":usage})));
    }
    events.push("data: [DONE]\n\n".to_owned());
    sse(&mock, events, &headers)
}

async fn openai_responses(State(mock): State<Mock>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = refuse(&mock, &headers, "authorization", true) {
        return r;
    }
    let req = body_json(&body);
    let model = model_of(&req);
    let u = &MOCK_USAGE;
    let response = json!({
        "id": "resp_mock", "object": "response", "created_at": 0, "status": "completed", "model": model,
        "output": [{"type": "message", "id": "msg_mock", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": MOCK_TEXT, "annotations": []}]}],
        "usage": {"input_tokens": u.input + u.cache_read, "input_tokens_details": {"cached_tokens": u.cache_read},
                  "output_tokens": u.output, "output_tokens_details": {"reasoning_tokens": 10},
                  "total_tokens": u.input + u.cache_read + u.output},
    });
    if req.get("stream").and_then(Value::as_bool) != Some(true) {
        return axum::Json(response).into_response();
    }
    let mut created = response.clone();
    created["status"] = json!("in_progress");
    created["output"] = json!([]);
    created["usage"] = Value::Null;
    // The full event sequence: the SDKs' stream helpers need the item and part events around the
    // text deltas.
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq
    };
    let item = |status: &str, text: &str| {
        let content =
            if text.is_empty() { json!([]) } else { json!([{"type":"output_text","text":text,"annotations":[]}]) };
        json!({"type":"message","id":"msg_mock","status":status,"role":"assistant","content":content})
    };
    let part = |text: &str| json!({"type":"output_text","text":text,"annotations":[]});
    let mut events = vec![
        event(
            Some("response.created"),
            &json!({"type":"response.created","sequence_number":next(),"response":created}),
        ),
        event(
            Some("response.output_item.added"),
            &json!({"type":"response.output_item.added","sequence_number":next(),"output_index":0,"item":item("in_progress","")}),
        ),
        event(
            Some("response.content_part.added"),
            &json!({"type":"response.content_part.added","sequence_number":next(),"item_id":"msg_mock","output_index":0,"content_index":0,"part":part("")}),
        ),
    ];
    for p in pieces() {
        events.push(event(
            Some("response.output_text.delta"),
            &json!({"type":"response.output_text.delta","sequence_number":next(),"item_id":"msg_mock","output_index":0,"content_index":0,"delta":p,"logprobs":[]}),
        ));
    }
    events.push(event(
        Some("response.output_text.done"),
        &json!({"type":"response.output_text.done","sequence_number":next(),"item_id":"msg_mock","output_index":0,"content_index":0,"text":MOCK_TEXT,"logprobs":[]}),
    ));
    events.push(event(
        Some("response.content_part.done"),
        &json!({"type":"response.content_part.done","sequence_number":next(),"item_id":"msg_mock","output_index":0,"content_index":0,"part":part(MOCK_TEXT)}),
    ));
    events.push(event(
        Some("response.output_item.done"),
        &json!({"type":"response.output_item.done","sequence_number":next(),"output_index":0,"item":item("completed",MOCK_TEXT)}),
    ));
    events.push(event(
        Some("response.completed"),
        &json!({"type":"response.completed","sequence_number":next(),"response":response}),
    ));
    sse(&mock, events, &headers)
}

fn gemini_chunk(text: &str, last: bool, model: &str) -> Value {
    let u = &MOCK_USAGE;
    let mut c = json!({
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}],
        "usageMetadata": {"promptTokenCount": u.input + u.cache_read, "cachedContentTokenCount": u.cache_read,
                          "candidatesTokenCount": if last { u.output - 10 } else { 1 }, "thoughtsTokenCount": 10,
                          "totalTokenCount": u.input + u.cache_read + u.output},
        "modelVersion": model,
    });
    if last {
        c["candidates"][0]["finishReason"] = json!("STOP");
    }
    c
}

async fn gemini(State(mock): State<Mock>, Path(model_action): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(r) = refuse(&mock, &headers, "x-goog-api-key", false) {
        return r;
    }
    let (model, action) = model_action.rsplit_once(':').unwrap_or((&model_action, ""));
    gemini_answer(&mock, model, action, uri.query().unwrap_or("").contains("alt=sse"), &headers, false)
}

fn gemini_answer(mock: &Mock, model: &str, action: &str, alt_sse: bool, headers: &HeaderMap, wrap: bool) -> Response {
    let wrapped = |v: Value| if wrap { json!({"response": v, "traceId": "mock"}) } else { v };
    match action {
        "countTokens" => axum::Json(json!({"totalTokens": MOCK_USAGE.input})).into_response(),
        "generateContent" => axum::Json(wrapped(gemini_chunk(MOCK_TEXT, true, model))).into_response(),
        "streamGenerateContent" if script(headers) == "two_candidates" => two_candidates(model),
        "streamGenerateContent" => {
            let parts = pieces();
            let n = parts.len();
            let chunks: Vec<Value> =
                parts.iter().enumerate().map(|(i, p)| wrapped(gemini_chunk(p, i + 1 == n, model))).collect();
            if alt_sse {
                return sse(mock, chunks.iter().map(|c| format!("data: {c}\r\n\r\n")).collect(), headers);
            }
            let items: Vec<String> = chunks.iter().map(Value::to_string).collect();
            let array = format!("[{}]", items.join(",\r\n"));
            let mut resp = sse(mock, vec![array], headers);
            resp.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
            resp
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error":{"code":404,"message":"unknown method","status":"NOT_FOUND"}})),
        )
            .into_response(),
    }
}

/// Two candidates (SSE): the first finishes at once with little usage, the second 300 ms later
/// with the whole usage ([`MOCK_USAGE`]), as a stream with `candidateCount: 2` may.
fn two_candidates(model: &str) -> Response {
    let u = &MOCK_USAGE;
    let usage = |out: u64| {
        json!({"promptTokenCount": u.input + u.cache_read, "cachedContentTokenCount": u.cache_read,
                                  "candidatesTokenCount": out, "thoughtsTokenCount": 10})
    };
    let first = json!({"candidates": [{"index": 0, "content": {"parts": [{"text": "one"}], "role": "model"},
                       "finishReason": "STOP"}], "usageMetadata": usage(5), "modelVersion": model});
    let second = json!({"candidates": [{"index": 1, "content": {"parts": [{"text": "two"}], "role": "model"},
                        "finishReason": "MAX_TOKENS"}], "usageMetadata": usage(u.output - 10), "modelVersion": model});
    let events = vec![format!("data: {first}\r\n\r\n"), format!("data: {second}\r\n\r\n")];
    let stream = futures_util::stream::unfold(events.into_iter().enumerate(), |mut it| async move {
        let (i, e) = it.next()?;
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Some((Ok::<_, std::io::Error>(Bytes::from(e)), it))
    });
    ([(header::CONTENT_TYPE, "text/event-stream")], Body::from_stream(stream)).into_response()
}

/// Cloud Code: `POST /v1internal:{method}` with `{"model","project","request"}`, answers wrapped.
async fn v1internal(
    State(mock): State<Mock>,
    Path(segment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = refuse(&mock, &headers, "authorization", true) {
        return r;
    }
    let Some(action) = segment.strip_prefix("v1internal:") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let req = body_json(&body);
    if req.get("request").is_none() {
        return (StatusCode::BAD_REQUEST, "mock: missing request envelope").into_response();
    }
    gemini_answer(&mock, &model_of(&req), action, uri.query().unwrap_or("").contains("alt=sse"), &headers, true)
}
