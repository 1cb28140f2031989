//! The gateway: a client request through authentication, admission, forwarding and settlement.
//!
//! `router.rs` maps each client route to a [`family::Route`] and calls [`handle`]. Files, in the
//! order a request meets them: `auth` → `family` (inspect the body) → `admission` → `upstream`
//! → `tee` (streams) or the whole-body path here → `settlement`.

pub mod admission;
pub mod auth;
pub mod error;
pub mod family;
pub mod forward_headers;
pub mod journal;
pub mod journal_format;
pub mod journal_tool;
pub mod quota_cache;
pub mod revocation;
pub mod settle_queue;
pub mod settlement;
pub mod tee;
pub mod transform;
pub mod upstream;

use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use tollgate_core::usage::{Framing, StreamUsage};
use tollgate_store::UpstreamProtocol;

use self::error::GatewayError;
use self::family::{Endpoint, Route};
use self::settlement::{Charge, StreamSettler, settle};
use self::transform::{EventRewrite, EventTransform};
use crate::state::AppState;

/// Largest single streamed event the usage meter keeps (bigger ones are skipped for metering).
const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;
/// Largest non-streamed upstream answer read into memory.
const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;

/// Runs one gateway request and renders any failure in the route's native error shape.
pub async fn handle(
    state: AppState,
    route: Route,
    method: Method,
    headers: HeaderMap,
    query_key: Option<String>,
    body: Body,
) -> Response<Body> {
    let platform = route.platform.as_str();
    let shape = route.endpoint.shape();
    let response = match run(&state, &route, method, &headers, query_key.as_deref(), body).await {
        Ok(r) => r,
        Err(e) => e.into_response_as(shape),
    };
    metrics::counter!("tollgate_requests_total", "platform" => platform, "status" => response.status().as_str().to_owned())
        .increment(1);
    response
}

async fn run(
    state: &AppState,
    route: &Route,
    method: Method,
    headers: &HeaderMap,
    query_key: Option<&str>,
    body: Body,
) -> Result<Response<Body>, GatewayError> {
    let started = Instant::now();
    state.settle_queue.check_writable().map_err(|_| GatewayError::BillingUnavailable)?; // journal health (security.md)
    let caller = auth::authenticate(&state.keys, &state.tasks, route, headers, query_key).await?;
    let body = read_body(body, state.config.max_body_bytes).await?;
    let body_len = body.len();
    let inspected = family::inspect(route, body)?;
    // Time-ordered (UUIDv7): the unique index on usage_records.request_id then grows at its right
    // edge instead of touching a random page per settlement, which kept SQLite checkpoints (and
    // PostgreSQL's WAL) small.
    let request_id = uuid::Uuid::now_v7().to_string();
    let admitted = admission::admit_request(state, &caller, route, &inspected, &request_id, body_len).await?;
    let release = || async {
        if admitted.reserved
            && let Err(e) = state.store.release(&request_id).await
        {
            tracing::warn!(error = %e, "could not release a reservation");
        }
    };
    let candidates = match state.upstreams.candidates(route).await {
        Ok(c) => c,
        Err(e) => {
            release().await;
            return Err(e.into());
        }
    };
    let forwarded = upstream::forward(
        &state.http,
        candidates,
        route,
        reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(reqwest::Method::POST),
        headers,
        inspected.upstream_body.clone(),
        &inspected.model,
    )
    .await;
    let answer = match forwarded {
        Ok(a) => a,
        Err(e) => {
            release().await;
            return Err(e);
        }
    };
    let status = answer.response.status();
    let mut out_headers = response_headers(answer.response.headers());
    let clock = state.settings.clock();
    admission::quota_headers(&mut out_headers, admitted.row.as_ref(), &clock);
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        out_headers.insert(HeaderName::from_static("x-tollgate-request-id"), v);
    }
    let v1internal = answer.upstream.protocol == UpstreamProtocol::V1Internal;
    // Never-charged endpoints and upstream errors pass through untouched and uncharged.
    let family = match route.endpoint.family() {
        Some(f) if status.is_success() => f,
        _ => {
            release().await;
            let bytes = read_answer(answer.response).await?;
            let bytes = if v1internal && status.is_success() { unwrap_v1internal_body(bytes) } else { bytes };
            return Ok(respond(status, out_headers, Body::from(bytes)));
        }
    };
    let charge = Charge {
        request_id,
        user_id: caller.user.id,
        api_key_id: Some(caller.key.id),
        multiplier: caller.user.cost_multiplier,
        platform: route.platform,
        model: inspected.model.clone(),
        started,
        upstream_id: Some(answer.upstream.id),
        http_status: status.as_u16(),
        request_bytes: body_len,
        reserved: admitted.reserved,
    };
    let is_event_stream = answer
        .response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let streaming = is_event_stream || route.endpoint == Endpoint::GeminiStream;
    if !streaming {
        let bytes = read_answer(answer.response).await?;
        let bytes = if v1internal { unwrap_v1internal_body(bytes) } else { bytes };
        let mut meter = family.accumulator();
        meter.observe_body(&bytes);
        // The answer is released only once its charge is committed.
        settle(state, &charge, &meter.report(), "ok").await?;
        return Ok(respond(status, out_headers, Body::from(bytes)));
    }
    // v1internal streams are requested as SSE upstream, unwrapped (and re-framed as a JSON array for
    // a client that did not ask for SSE), and metered as the client receives them.
    let framing = match (v1internal, route.alt_sse) {
        (true, true) => Framing::Sse,
        (true, false) => Framing::JsonArray,
        (false, _) if is_event_stream => Framing::Sse,
        (false, _) => inspected.framing,
    };
    let transform = if v1internal && route.alt_sse {
        Some(EventTransform::new(EventRewrite::UnwrapV1Internal))
    } else if v1internal {
        Some(EventTransform::new(EventRewrite::UnwrapV1InternalToArray))
    } else if inspected.injected_include_usage {
        Some(EventTransform::new(EventRewrite::DropUsageOnlyChunk))
    } else {
        None
    };
    let meter = StreamUsage::new(family, framing, MAX_EVENT_BYTES);
    let settler = StreamSettler::new(state.clone(), charge, meter);
    let upstream = answer.response.bytes_stream().boxed();
    let body = if v1internal {
        // Meter what the client sees (unwrapped); the settler's meter is fed the unwrapped bytes.
        tee::metered_body(unwrap_stream(upstream, transform), settler, None)
    } else {
        tee::metered_body(upstream, settler, transform)
    };
    Ok(respond(status, out_headers, body))
}

/// Applies the v1internal rewrite before metering, so usage is read from plain Gemini output.
fn unwrap_stream(
    upstream: futures_util::stream::BoxStream<'static, Result<Bytes, reqwest::Error>>,
    transform: Option<EventTransform>,
) -> futures_util::stream::BoxStream<'static, Result<Bytes, reqwest::Error>> {
    let Some(t) = transform else { return upstream };
    let t = std::sync::Arc::new(std::sync::Mutex::new(t));
    let tail = t.clone();
    let body = upstream.map(move |r| {
        r.map(|chunk| match t.lock() {
            Ok(mut t) => t.push(&chunk),
            Err(_) => Bytes::new(),
        })
    });
    // What the rewrite holds at the end (a closing `]`, an unterminated event) follows the body.
    let end = futures_util::stream::once(async move {
        Ok(match tail.lock() {
            Ok(mut t) => t.finish(),
            Err(_) => Bytes::new(),
        })
    });
    body.chain(end).boxed()
}

/// A `{"response": …}` body unwrapped; anything else unchanged.
fn unwrap_v1internal_body(bytes: Bytes) -> Bytes {
    std::str::from_utf8(&bytes).ok().and_then(transform::unwrap_response).map(Bytes::from).unwrap_or(bytes)
}

fn respond(status: reqwest::StatusCode, headers: HeaderMap, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    *resp.headers_mut() = headers;
    resp
}

/// Upstream response headers worth passing on.
fn response_headers(upstream: &reqwest::header::HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in upstream {
        if !upstream::DROP_RESPONSE_HEADERS.contains(&name.as_str())
            && let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_ref()), HeaderValue::from_bytes(value.as_bytes()))
        {
            out.append(n, v);
        }
    }
    out
}

/// The client's body, refused past `limit` bytes.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, GatewayError> {
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(GatewayError::BodyTooLarge { limit })
        }
        Err(e) => Err(GatewayError::bad_request(format!("could not read the request body: {e}"))),
    }
}

/// A whole upstream answer.
async fn read_answer(response: reqwest::Response) -> Result<Bytes, GatewayError> {
    let mut stream = response.bytes_stream();
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| GatewayError::Upstream(format!("reading the answer failed: {e}")))?;
        if buf.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(GatewayError::Upstream("answer larger than the gateway accepts".into()));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}
