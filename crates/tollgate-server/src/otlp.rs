//! OpenTelemetry export of one span per gateway request (docs/observability.md, "Traces"), over
//! OTLP/HTTP with the JSON encoding, to `--otlp-endpoint` (`OTEL_EXPORTER_OTLP_ENDPOINT`).
//!
//! Our own small exporter rather than the opentelemetry SDK: a span here is a handful of fields
//! known at settlement, the JSON encoding is a stable part of the OTLP specification, and the SDK
//! would bring its own runtime, batch processor and global state for what is one POST per batch.
//! Spans follow the GenAI semantic conventions (`gen_ai.*`) plus `tollgate.*` for the cost and
//! the gateway's ids. Like the request log, export never slows a request: a bounded queue in front
//! of one background sender; a full queue or a failed POST drops spans and counts them
//! (`tollgate_otlp_spans_dropped_total`).

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tollgate_core::platform::Platform;

use crate::gateway::correlation::{Correlation, new_span_id, new_trace_id};

/// Spans waiting to be sent before new ones are dropped.
const QUEUE: usize = 8_192;
/// Most spans in one POST.
const BATCH: usize = 512;
/// How long a span may wait for its batch to fill.
const LINGER: Duration = Duration::from_secs(1);
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to export (from the command line / `OTEL_*` environment).
#[derive(Debug, Clone)]
pub struct OtlpConfig {
    /// The collector's base URL; spans go to `{endpoint}/v1/traces`.
    pub endpoint: String,
    /// Extra request headers (`OTEL_EXPORTER_OTLP_HEADERS`: `k1=v1,k2=v2`).
    pub headers: Vec<(String, String)>,
    pub service_name: String,
}

impl OtlpConfig {
    /// `None` without an endpoint; an error names a malformed header list.
    pub fn new(endpoint: Option<&str>, headers: Option<&str>, service_name: &str) -> Result<Option<Self>, String> {
        let Some(endpoint) = endpoint.map(str::trim).filter(|e| !e.is_empty()) else { return Ok(None) };
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(format!("otlp endpoint must be an http:// or https:// URL, not {endpoint:?}"));
        }
        let mut parsed = Vec::new();
        for pair in headers.unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = pair.split_once('=') else {
                return Err(format!("OTEL_EXPORTER_OTLP_HEADERS: {pair:?} is not key=value"));
            };
            parsed.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        Ok(Some(Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            headers: parsed,
            service_name: service_name.to_owned(),
        }))
    }
}

/// The ids and start of a request's span, taken when the request arrives.
#[derive(Debug, Clone)]
pub struct SpanStart {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub start: Timestamp,
    /// The gateway route's path template.
    pub route: &'static str,
}

impl SpanStart {
    /// Continues the client's trace (with the span id already sent upstream as the parent), or
    /// starts a new one.
    pub fn new(correlation: &Correlation, route: &'static str) -> Self {
        let start = Timestamp::now();
        match &correlation.trace {
            Some(t) => Self {
                trace_id: t.trace_id.clone(),
                span_id: t.span_id.clone(),
                parent_span_id: Some(t.parent_id.clone()),
                start,
                route,
            },
            None => Self { trace_id: new_trace_id(), span_id: new_span_id(), parent_span_id: None, start, route },
        }
    }
}

/// What a finished request's span says.
#[derive(Debug, Clone)]
pub struct SpanEnd {
    pub request_id: String,
    pub platform: Platform,
    pub model: Option<String>,
    pub http_status: u16,
    /// The error code, for a request that failed.
    pub error: Option<String>,
    pub user_id: Option<i64>,
    pub api_key_id: Option<i64>,
    pub upstream_id: Option<i64>,
    /// Tokens and cost of a charged request.
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_read_tokens: Option<u64>,
    pub cost_usd: Option<String>,
}

struct Span {
    start: SpanStart,
    end: SpanEnd,
    end_time: Timestamp,
}

/// The sending side: cheap to clone, never blocks.
#[derive(Clone)]
pub struct Otlp {
    tx: mpsc::Sender<Span>,
}

impl Otlp {
    pub fn start(config: OtlpConfig, tasks: &TaskTracker, shutdown: CancellationToken) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tasks.spawn(send_loop(config, rx, shutdown));
        Self { tx }
    }

    /// Queues the span of a finished request.
    pub fn export(&self, start: &SpanStart, end: SpanEnd) {
        let span = Span { start: start.clone(), end, end_time: Timestamp::now() };
        if self.tx.try_send(span).is_err() {
            metrics::counter!("tollgate_otlp_spans_dropped_total").increment(1);
        }
    }
}

async fn send_loop(config: OtlpConfig, mut rx: mpsc::Receiver<Span>, shutdown: CancellationToken) {
    let client = match reqwest::Client::builder().timeout(POST_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "OTLP export disabled: no HTTP client");
            return;
        }
    };
    let url = format!("{}/v1/traces", config.endpoint);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let first = tokio::select! {
            s = rx.recv() => s,
            () = shutdown.cancelled() => None,
        };
        let Some(first) = first else { break };
        batch.push(first);
        // Fill the batch for at most LINGER, so a quiet gateway still exports within a second.
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(s)) => batch.push(s),
                Ok(None) | Err(_) => break,
            }
        }
        post(&client, &url, &config, &mut batch).await;
    }
    // Shutdown: what is queued is sent before the process ends.
    rx.close();
    while let Some(s) = rx.recv().await {
        batch.push(s);
        if batch.len() == BATCH {
            post(&client, &url, &config, &mut batch).await;
        }
    }
    post(&client, &url, &config, &mut batch).await;
}

async fn post(client: &reqwest::Client, url: &str, config: &OtlpConfig, batch: &mut Vec<Span>) {
    if batch.is_empty() {
        return;
    }
    let body = encode(&config.service_name, batch);
    let mut req = client.post(url).header("content-type", "application/json").body(body.to_string());
    for (k, v) in &config.headers {
        req = req.header(k, v);
    }
    let failed = match req.send().await {
        Ok(r) if r.status().is_success() => None,
        Ok(r) => Some(format!("collector answered {}", r.status())),
        Err(e) => Some(e.to_string()),
    };
    if let Some(error) = failed {
        metrics::counter!("tollgate_otlp_spans_dropped_total").increment(batch.len() as u64);
        tracing::warn!(%error, spans = batch.len(), "OTLP export failed");
    }
    batch.clear();
}

/// The OTLP/JSON `ExportTraceServiceRequest` of `spans`.
fn encode(service_name: &str, spans: &[Span]) -> Value {
    let spans: Vec<Value> = spans.iter().map(encode_span).collect();
    json!({
        "resourceSpans": [{
            "resource": { "attributes": [attr_str("service.name", service_name)] },
            "scopeSpans": [{
                "scope": { "name": "tollgate", "version": env!("CARGO_PKG_VERSION") },
                "spans": spans,
            }],
        }],
    })
}

fn encode_span(s: &Span) -> Value {
    let e = &s.end;
    // GenAI conventions: operation and provider, the model asked for, tokens used.
    let operation = if s.start.route.contains("embed") { "embeddings" } else { "chat" };
    let mut attrs = vec![
        attr_str("gen_ai.operation.name", operation),
        attr_str("gen_ai.system", e.platform.as_str()),
        attr_str("gen_ai.provider.name", e.platform.as_str()),
        attr_str("http.route", s.start.route),
        attr_int("http.response.status_code", i64::from(e.http_status)),
        attr_str("tollgate.request_id", &e.request_id),
    ];
    let mut push_int = |key: &'static str, v: Option<i64>| {
        if let Some(v) = v {
            attrs.push(attr_int(key, v));
        }
    };
    let tokens = |v: Option<u64>| v.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    push_int("gen_ai.usage.input_tokens", tokens(e.input_tokens));
    push_int("gen_ai.usage.output_tokens", tokens(e.output_tokens));
    push_int("gen_ai.usage.cache_read.input_tokens", tokens(e.cache_read_tokens));
    push_int("tollgate.user_id", e.user_id);
    push_int("tollgate.api_key_id", e.api_key_id);
    push_int("tollgate.upstream_id", e.upstream_id);
    if let Some(m) = &e.model {
        attrs.push(attr_str("gen_ai.request.model", m));
    }
    if let Some(c) = &e.cost_usd {
        // A string: the exact decimal, as in the console (a double would round it).
        attrs.push(attr_str("tollgate.cost_usd", c));
    }
    if let Some(code) = &e.error {
        attrs.push(attr_str("error.type", code));
    }
    let name = match &e.model {
        Some(m) => format!("{operation} {m}"),
        None => operation.to_owned(),
    };
    // Status: ERROR for a server-side failure or a refusal; unset otherwise.
    let status = if e.error.is_some() || e.http_status >= 500 {
        json!({ "code": 2, "message": e.error.clone().unwrap_or_default() })
    } else {
        json!({ "code": 0 })
    };
    let mut span = json!({
        "traceId": s.start.trace_id,
        "spanId": s.start.span_id,
        "name": name,
        "kind": 2,
        "startTimeUnixNano": nanos(s.start.start),
        "endTimeUnixNano": nanos(s.end_time.max(s.start.start)),
        "attributes": attrs,
        "status": status,
    });
    if let (Some(parent), Some(obj)) = (&s.start.parent_span_id, span.as_object_mut()) {
        obj.insert("parentSpanId".to_owned(), json!(parent));
    }
    span
}

/// OTLP/JSON carries 64-bit integers as decimal strings.
fn nanos(t: Timestamp) -> String {
    t.as_nanosecond().to_string()
}

fn attr_str(key: &str, value: &str) -> Value {
    json!({ "key": key, "value": { "stringValue": value } })
}

fn attr_int(key: &str, value: i64) -> Value {
    json!({ "key": key, "value": { "intValue": value.to_string() } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reads_endpoint_and_headers() {
        assert!(OtlpConfig::new(None, None, "t").unwrap().is_none());
        assert!(OtlpConfig::new(Some("  "), None, "t").unwrap().is_none());
        let c = OtlpConfig::new(Some("http://c:4318/"), Some("a=1, b = x=y"), "svc").unwrap().unwrap();
        assert_eq!(c.endpoint, "http://c:4318");
        assert_eq!(c.headers, vec![("a".to_owned(), "1".to_owned()), ("b".to_owned(), "x=y".to_owned())]);
        assert!(OtlpConfig::new(Some("c:4318"), None, "t").unwrap_err().contains("http"));
        assert!(OtlpConfig::new(Some("http://c"), Some("novalue"), "t").unwrap_err().contains("novalue"));
    }

    #[test]
    fn a_span_carries_the_genai_attributes_and_its_parent() {
        let start = SpanStart {
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: "1111111111111111".into(),
            parent_span_id: Some("00f067aa0ba902b7".into()),
            start: Timestamp::from_second(1_800_000_000).unwrap(),
            route: "/v1/messages",
        };
        let end = SpanEnd {
            request_id: "r1".into(),
            platform: Platform::Anthropic,
            model: Some("claude-x".into()),
            http_status: 200,
            error: None,
            user_id: Some(7),
            api_key_id: Some(9),
            upstream_id: None,
            input_tokens: Some(100),
            output_tokens: Some(50),
            cache_read_tokens: None,
            cost_usd: Some("0.00105".into()),
        };
        let span = Span { start, end, end_time: Timestamp::from_second(1_800_000_001).unwrap() };
        let v = encode("tollgate", std::slice::from_ref(&span));
        let s = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(s["parentSpanId"], "00f067aa0ba902b7");
        assert_eq!(s["name"], "chat claude-x");
        assert_eq!(s["startTimeUnixNano"], "1800000000000000000");
        assert_eq!(s["endTimeUnixNano"], "1800000001000000000");
        let attr =
            |k: &str| s["attributes"].as_array().unwrap().iter().find(|a| a["key"] == k).map(|a| a["value"].clone());
        assert_eq!(attr("gen_ai.usage.input_tokens").unwrap()["intValue"], "100");
        assert_eq!(attr("tollgate.cost_usd").unwrap()["stringValue"], "0.00105");
        assert_eq!(attr("gen_ai.system").unwrap()["stringValue"], "anthropic");
        assert!(attr("tollgate.upstream_id").is_none());
        assert_eq!(s["status"]["code"], 0);
    }
}
