//! The gateway: a client request through authentication, admission, forwarding and settlement.
//!
//! `router.rs` maps each client route to a [`family::Route`] and calls [`handle`]. Files, in the
//! order a request meets them: `auth` → `family` (inspect the body) → `admission` → `upstream`
//! → `tee` (streams) or the whole-body path here → `settlement`.

pub mod admission;
pub mod auth;
pub mod correlation;
pub mod error;
pub mod family;
pub mod forward_headers;
pub mod key_usage;
pub mod premium;
pub mod revocation;
pub mod settlement;
pub mod tee;
pub mod transform;
pub mod upstream;
pub mod v1internal;

use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use tollgate_core::usage::{Framing, StreamUsage};
use tollgate_store::UpstreamProtocol;

use self::correlation::Correlation;
use self::error::GatewayError;
use self::family::{Endpoint, Route};
use self::settlement::{Charge, StreamSettler, settle};
use self::transform::{EventRewrite, EventTransform};
use crate::state::AppState;

/// Largest single streamed event the usage meter keeps (bigger ones are skipped for metering).
const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;
/// Largest non-streamed upstream answer read into memory.
const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;

/// Runs one gateway request and renders any failure in the route's native error shape; the
/// answer carries `x-request-id` and one access-log line is written (docs/observability.md).
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
    let correlation = Correlation::from_headers(&headers);
    let mut access = AccessFields {
        span: state.otlp.as_ref().map(|_| crate::otlp::SpanStart::new(&correlation, route.endpoint.spec().path)),
        ..AccessFields::default()
    };
    let started = Instant::now();
    let mut response =
        match run(&state, &route, &method, &headers, query_key.as_deref(), body, &correlation, &mut access).await {
            Ok(r) => r,
            Err(e) => {
                access.outcome = Some(e.code());
                e.into_response_as(shape)
            }
        };
    let status = response.status();
    metrics::counter!("tollgate_requests_total", "platform" => platform, "status" => status.as_str().to_owned())
        .increment(1);
    // Refused before a request id was drawn (authentication, a bad body): one is drawn now, so
    // every answer and log line has one.
    let request_id = access.request_id.take().unwrap_or_else(new_request_id);
    if let Ok(v) = HeaderValue::from_str(correlation.request_id(&request_id)) {
        response.headers_mut().insert(correlation::REQUEST_ID, v);
    }
    tracing::info!(
        target: "tollgate::access",
        request_id,
        client_request_id = correlation.client_request_id.as_deref(),
        trace_id = correlation.trace.as_ref().map(|t| t.trace_id.as_str()),
        method = method.as_str(),
        platform,
        route = route.endpoint.spec().path,
        model = access.model.as_deref(),
        user_id = access.user_id,
        key_id = access.key_id,
        upstream_id = access.upstream_id,
        status = status.as_u16(),
        head_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    // A charged request is logged (and its span exported) by its settlement; any other one here
    // (docs/request-log.md).
    if !access.charged {
        let outcome = match access.outcome {
            Some(code) => code,
            None if status.is_success() => "not_billed",
            None => "upstream_error",
        };
        if let (Some(otlp), Some(span)) = (&state.otlp, &access.span) {
            otlp.export(
                span,
                crate::otlp::SpanEnd {
                    request_id: request_id.clone(),
                    platform: route.platform,
                    model: access.model.clone(),
                    http_status: status.as_u16(),
                    error: access.outcome.map(str::to_owned),
                    user_id: access.user_id,
                    api_key_id: access.key_id,
                    upstream_id: access.upstream_id,
                    input_tokens: None,
                    output_tokens: None,
                    cache_read_tokens: None,
                    cost_usd: None,
                },
            );
        }
        state.request_log.unbilled(tollgate_store::UnbilledRequest {
            request_id,
            client_request_id: correlation.client_request_id,
            at: jiff::Timestamp::now(),
            user_id: access.user_id,
            api_key_id: access.key_id,
            platform: route.platform,
            route: route.endpoint.spec().path.to_owned(),
            model: access.model,
            outcome: outcome.to_owned(),
            http_status: i64::from(status.as_u16()),
            latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            upstream_id: access.upstream_id,
        });
    }
    response
}

/// What the access-log line tells beyond the route and status, filled in as the request gets
/// that far.
#[derive(Default)]
struct AccessFields {
    request_id: Option<String>,
    user_id: Option<i64>,
    key_id: Option<i64>,
    model: Option<String>,
    upstream_id: Option<i64>,
    /// The error code sent, when the request failed.
    outcome: Option<&'static str>,
    /// Whether the request's usage record logs it (a settlement was committed or, for a stream,
    /// will be).
    charged: bool,
    /// The request's trace span, when spans are exported.
    span: Option<crate::otlp::SpanStart>,
}

/// The gateway's own request id: time-ordered (UUIDv7), so the unique index on
/// `usage_records.request_id` grows at its right edge instead of touching a random page per
/// settlement, which kept SQLite checkpoints (and PostgreSQL's WAL) small.
fn new_request_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A request that passed authentication, inspection and admission.
struct Prepared {
    caller: std::sync::Arc<auth::Caller>,
    inspected: family::Inspected,
    request_id: String,
    admitted: admission::Admitted,
    /// Rate limits that apply to this request (docs/rate-limits.md): its concurrency lease and TPM
    /// buckets. `None` when none applies.
    rate: Option<crate::rate_limit::RateTicket>,
    started: Instant,
}

#[allow(clippy::too_many_arguments)] // the request's parts, each used once
async fn run(
    state: &AppState,
    route: &Route,
    method: &Method,
    headers: &HeaderMap,
    query_key: Option<&str>,
    body: Body,
    correlation: &Correlation,
    access: &mut AccessFields,
) -> Result<Response<Body>, GatewayError> {
    let mut prepared = prepare(state, route, headers, query_key, body, access).await?;
    let lease = prepared.rate.as_mut().and_then(|t| t.lease.take());
    let answered = match forward(state, route, method, headers, &prepared, correlation).await {
        Ok(answer) => {
            access.upstream_id = Some(answer.upstream.id);
            let charged = route.endpoint.family().is_some() && answer.response.status().is_success();
            let client_request_id = correlation.client_request_id.clone();
            let span = access.span.clone();
            let answered = answer_client(state, route, &mut prepared, answer, client_request_id, span).await;
            access.charged = charged && answered.is_ok();
            answered
        }
        Err(e) => Err(e),
    };
    // A strict-mode hold that no settlement took over (no account, an upstream error, a
    // never-charged endpoint) is released before the client hears back.
    if let Some(hold) = prepared.admitted.hold.take() {
        hold.release().await;
    }
    // A concurrency slot is held until the answer is sent or the client hangs up.
    match (answered, lease) {
        (Ok(response), Some(lease)) => Ok(response.map(|b| crate::rate_limit::hold_until_sent(b, lease))),
        (answered, _) => answered,
    }
}

/// Authentication, the body, and admission: everything before a byte goes upstream.
async fn prepare(
    state: &AppState,
    route: &Route,
    headers: &HeaderMap,
    query_key: Option<&str>,
    body: Body,
    access: &mut AccessFields,
) -> Result<Prepared, GatewayError> {
    let started = Instant::now();
    // A journal that cannot be written refuses billable work (docs/security.md).
    state.ledger.check_writable().map_err(|_| GatewayError::BillingUnavailable)?;
    let caller = auth::authenticate(&state.keys, &state.tasks, route, headers, query_key).await?;
    (access.user_id, access.key_id) = (Some(caller.user.id), Some(caller.key.id));
    let body = read_body(body, state.config.max_body_bytes).await?;
    let inspected = family::inspect(route, body)?;
    access.model = Some(inspected.model.clone());
    let request_id = new_request_id();
    access.request_id = Some(request_id.clone());
    // Rate limits apply to billable requests, before the quota (a refused request takes no hold).
    let rate = match route.endpoint.family() {
        Some(_) => state.rate.admit(&caller.user, caller.key.id, route.platform, &request_id).await?,
        None => None,
    };
    let admitted = admission::admit_request(state, &caller, route, &inspected, &request_id).await?;
    Ok(Prepared { caller, inspected, request_id, admitted, rate, started })
}

/// The request sent to the route's accounts in turn (`upstream::forward`).
async fn forward(
    state: &AppState,
    route: &Route,
    method: &Method,
    headers: &HeaderMap,
    prepared: &Prepared,
    correlation: &Correlation,
) -> Result<upstream::Answer, GatewayError> {
    let candidates = state.upstreams.candidates(route).await?;
    let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(reqwest::Method::POST);
    let body = prepared.inspected.upstream_body.clone();
    // The client's headers that may pass (an allow-list), and the correlation headers.
    let mut sent = forward_headers::forwarded(route.endpoint.shape(), headers);
    correlation.apply_upstream(&prepared.request_id, &mut sent);
    upstream::forward(&state.http, candidates, route, method, &sent, body, &prepared.inspected.model).await
}

/// The upstream's answer to the client: passed through (never-charged endpoints, upstream
/// errors), or charged — whole, or as a metered stream.
async fn answer_client(
    state: &AppState,
    route: &Route,
    prepared: &mut Prepared,
    answer: upstream::Answer,
    client_request_id: Option<String>,
    span: Option<crate::otlp::SpanStart>,
) -> Result<Response<Body>, GatewayError> {
    let ttfb_ms = i64::try_from(prepared.started.elapsed().as_millis()).ok();
    let status = answer.response.status();
    let mut out_headers = response_headers(answer.response.headers());
    let clock = state.settings.clock();
    admission::quota_headers(&mut out_headers, &prepared.admitted, &clock);
    if let Ok(v) = HeaderValue::from_str(&prepared.request_id) {
        out_headers.insert(HeaderName::from_static("x-tollgate-request-id"), v);
    }
    let v1internal = answer.upstream.protocol == UpstreamProtocol::V1Internal;
    // Never-charged endpoints and upstream errors pass through untouched and uncharged.
    let family = match route.endpoint.family() {
        Some(f) if status.is_success() => f,
        _ => {
            let bytes = read_answer(answer.response).await?;
            let bytes = if v1internal && status.is_success() { v1internal::unwrap_body(bytes) } else { bytes };
            return Ok(respond(status, out_headers, Body::from(bytes)));
        }
    };
    // The meter reads plain bytes (the upstream is asked for `Accept-Encoding: identity`): an answer
    // in another encoding could not be metered, and is not passed on.
    // Every header line and every listed coding counts (`identity, gzip`, or a second line).
    if let Some(encoding) = answer
        .response
        .headers()
        .get_all(axum::http::header::CONTENT_ENCODING)
        .iter()
        .find(|v| v.as_bytes().split(|b| *b == b',').any(|c| !c.trim_ascii().eq_ignore_ascii_case(b"identity")))
    {
        return Err(GatewayError::Upstream(format!(
            "the upstream answered in content-encoding {:?}, which cannot be metered",
            String::from_utf8_lossy(encoding.as_bytes())
        )));
    }
    // From here the request is settled: its record takes over the strict-mode hold.
    let reserved = prepared.admitted.hold.take().map(crate::ledger::Reservation::into_settled).is_some();
    let charge = Charge {
        request_id: prepared.request_id.clone(),
        user_id: prepared.caller.user.id,
        api_key_id: Some(prepared.caller.key.id),
        multiplier: prepared.caller.user.cost_multiplier,
        platform: route.platform,
        model: prepared.inspected.model.clone(),
        started: prepared.started,
        upstream_id: Some(answer.upstream.id),
        http_status: status.as_u16(),
        family,
        request: prepared.inspected.upstream_body.clone(),
        reserved,
        web_search_requested: prepared.inspected.web_search_requested,
        tpm: prepared.rate.as_ref().and_then(|t| t.tpm.clone()),
        ttfb_ms,
        client_request_id,
        span,
    };
    let is_event_stream = answer
        .response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    if !(is_event_stream || route.endpoint == Endpoint::GeminiStream) {
        let body = answer_whole(state, &charge, answer.response, v1internal).await?;
        return Ok(respond(status, out_headers, body));
    }
    let framing = match (v1internal, route.alt_sse) {
        (true, true) => Framing::Sse,
        (true, false) => Framing::JsonArray,
        (false, _) if is_event_stream => Framing::Sse,
        (false, _) => prepared.inspected.framing,
    };
    let upstream = answer.response.bytes_stream().boxed();
    let meter = StreamUsage::for_choices(family, framing, MAX_EVENT_BYTES, prepared.inspected.choices);
    let settler = StreamSettler::new(state.clone(), charge, meter);
    let body = if v1internal {
        // Unwrapped before metering: the meter reads plain Gemini output, as the client does.
        tee::metered_body(v1internal::unwrap_stream(upstream, route.alt_sse), settler, None)
    } else {
        let drop_usage = prepared.inspected.injected_include_usage;
        tee::metered_body(upstream, settler, drop_usage.then(|| EventTransform::new(EventRewrite::DropUsageOnlyChunk)))
    };
    Ok(respond(status, out_headers, body))
}

/// A whole answer, released only once its charge is committed.
async fn answer_whole(
    state: &AppState,
    charge: &Charge,
    response: reqwest::Response,
    v1internal: bool,
) -> Result<Body, GatewayError> {
    let bytes = read_answer(response).await?;
    let bytes = if v1internal { v1internal::unwrap_body(bytes) } else { bytes };
    let mut meter = charge.family.accumulator();
    meter.observe_body(&bytes);
    let mut report = meter.report();
    if !report.final_seen {
        // A 2xx without readable usage is charged an estimate: its text as output.
        report.output_chars = report.output_chars.max(bytes.len() as u64);
    }
    settle(state, charge, &report, "ok").await?;
    Ok(Body::from(bytes))
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
