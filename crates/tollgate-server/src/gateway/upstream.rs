//! Upstream accounts: which ones serve a route, in what order, and the forwarding itself.
//!
//! Accounts are tried by priority (lower first). The next one is tried only on a connection error
//! or a 5xx answer, both before any byte reached the client. The client's credential is replaced by
//! the account's, in the platform's own header.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use bytes::Bytes;
use tollgate_core::platform::Platform;
use tollgate_store::{Store, StoreError, Upstream, UpstreamProtocol};

use super::error::GatewayError;
use super::family::Route;

/// How long a cached account list is used before it is read again (the bound, documented in
/// docs/quotas.md, for a change made through another gateway process to take effect).
pub const UPSTREAM_CACHE_TTL: Duration = Duration::from_secs(2);

/// When the list was read, and the list.
type Cached = Option<(Instant, Arc<Vec<Upstream>>)>;

/// The account list, cached briefly.
#[derive(Clone)]
pub struct UpstreamCache {
    store: Arc<dyn Store>,
    cached: Arc<RwLock<Cached>>,
}

impl UpstreamCache {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, cached: Arc::new(RwLock::new(None)) }
    }

    /// Forget the cache (after a change through this process's console).
    pub fn invalidate(&self) {
        if let Ok(mut g) = self.cached.write() {
            *g = None;
        }
    }

    async fn all(&self) -> Result<Arc<Vec<Upstream>>, StoreError> {
        if let Ok(g) = self.cached.read()
            && let Some((at, list)) = g.as_ref()
            && at.elapsed() < UPSTREAM_CACHE_TTL
        {
            return Ok(list.clone());
        }
        let list = Arc::new(self.store.list_upstreams().await?);
        if let Ok(mut g) = self.cached.write() {
            *g = Some((Instant::now(), list.clone()));
        }
        Ok(list)
    }

    /// Enabled accounts that can serve `route`, in the order to try them.
    pub async fn candidates(&self, route: &Route) -> Result<Vec<Upstream>, StoreError> {
        let all = self.all().await?;
        let mut out: Vec<Upstream> = all
            .iter()
            .filter(|u| u.enabled && u.platform == route.platform)
            // The v1internal envelope carries Gemini generation and token counting only.
            .filter(|u| u.protocol == UpstreamProtocol::Native || route.endpoint.v1internal_method().is_some())
            .cloned()
            .collect();
        out.sort_by_key(|u| (u.priority, u.id));
        Ok(out)
    }
}

/// A response from the account that answered.
pub struct Answer {
    pub response: reqwest::Response,
    pub upstream: Upstream,
}

/// Headers never forwarded upstream: hop-by-hop ones, the client's credentials, and encodings we
/// could not meter (we ask for identity so usage can be read from a copy of the bytes).
const DROP_REQUEST_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "authorization",
    "x-api-key",
    "x-goog-api-key",
    "accept-encoding",
    "cookie",
];

/// Hop-by-hop response headers, and those that no longer describe the body we send.
pub const DROP_RESPONSE_HEADERS: &[&str] =
    &["connection", "keep-alive", "transfer-encoding", "content-length", "trailer", "upgrade", "proxy-connection"];

/// Sends the request to each candidate in turn until one answers without a 5xx (or none is left).
pub async fn forward(
    http: &reqwest::Client,
    candidates: Vec<Upstream>,
    route: &Route,
    method: reqwest::Method,
    client_headers: &HeaderMap,
    body: Bytes,
    model: &str,
) -> Result<Answer, GatewayError> {
    if candidates.is_empty() {
        return Err(GatewayError::NoUpstream(route.platform.to_string()));
    }
    let last = candidates.len() - 1;
    let mut last_error = String::new();
    for (i, upstream) in candidates.into_iter().enumerate() {
        let started = Instant::now();
        let request = build(http, &upstream, route, method.clone(), client_headers, body.clone(), model);
        let result = match request {
            Ok(r) => r.send().await,
            Err(e) => {
                last_error = e.to_string();
                continue;
            }
        };
        metrics::histogram!("tollgate_upstream_seconds", "platform" => route.platform.as_str())
            .record(started.elapsed().as_secs_f64());
        match result {
            Ok(resp) if resp.status().is_server_error() && i < last => {
                tracing::warn!(upstream = %upstream.name, status = %resp.status(), "upstream 5xx; trying the next account");
                last_error = format!("{} answered {}", upstream.name, resp.status());
            }
            Ok(response) => return Ok(Answer { response, upstream }),
            Err(e) => {
                tracing::warn!(upstream = %upstream.name, error = %e, "upstream unreachable; trying the next account");
                last_error = format!("{}: {}", upstream.name, without_url(&e));
            }
        }
    }
    Err(GatewayError::Upstream(last_error))
}

/// reqwest's error text without the URL (which could carry a query credential).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    kind.to_owned()
}

fn build(
    http: &reqwest::Client,
    upstream: &Upstream,
    route: &Route,
    method: reqwest::Method,
    client_headers: &HeaderMap,
    body: Bytes,
    model: &str,
) -> Result<reqwest::RequestBuilder, GatewayError> {
    let base = upstream.base_url.trim_end_matches('/');
    let v1internal = upstream.protocol == UpstreamProtocol::V1Internal;
    let url = if let (true, Some(method_name)) = (v1internal, route.endpoint.v1internal_method()) {
        format!("{base}/v1internal:{method_name}")
    } else {
        match &route.upstream_query {
            Some(q) => format!("{base}{}?{q}", route.upstream_path),
            None => format!("{base}{}", route.upstream_path),
        }
    };
    let mut headers = HeaderMap::new();
    for (name, value) in client_headers {
        if !DROP_REQUEST_HEADERS.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    let secret = HeaderValue::from_str(upstream.api_key.expose())
        .map_err(|_| GatewayError::Upstream(format!("{}: credential is not a valid header value", upstream.name)))?;
    let (name, value) = credential_header(route, v1internal, secret)?;
    headers.insert(name, value);
    let body = if v1internal { wrap_v1internal(&body, model, &upstream.name)? } else { body };
    if route.endpoint.has_body() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(http.request(method, url).headers(headers).body(body))
}

/// The platform's own credential header.
fn credential_header(
    route: &Route,
    v1internal: bool,
    secret: HeaderValue,
) -> Result<(HeaderName, HeaderValue), GatewayError> {
    let bearer = |s: &HeaderValue| {
        let text = s.to_str().map_err(|_| GatewayError::Upstream("credential is not text".into()))?;
        HeaderValue::from_str(&format!("Bearer {text}")).map_err(|_| GatewayError::Upstream("bad credential".into()))
    };
    let shape = route.endpoint.shape();
    Ok(match (v1internal, shape, route.platform) {
        // Cloud Code takes an OAuth access token.
        (true, _, _) => (header::AUTHORIZATION, bearer(&secret)?),
        (_, super::error::ErrorShape::Anthropic, _) => (HeaderName::from_static("x-api-key"), secret),
        (_, super::error::ErrorShape::OpenAi, _) | (_, _, Platform::OpenAi) => {
            (header::AUTHORIZATION, bearer(&secret)?)
        }
        (_, super::error::ErrorShape::Gemini, _) => (HeaderName::from_static("x-goog-api-key"), secret),
    })
}

/// `{"model","project","request":{…}}` around the client's body; `project` comes from the
/// account's name when it has the form `name@project` (Cloud Code needs a project id).
fn wrap_v1internal(body: &Bytes, model: &str, upstream_name: &str) -> Result<Bytes, GatewayError> {
    let request = std::str::from_utf8(body).map_err(|_| GatewayError::bad_request("body must be UTF-8 JSON"))?;
    let project = upstream_name.rsplit_once('@').map(|(_, p)| p).unwrap_or("");
    let model = serde_json::to_string(model).map_err(|e| GatewayError::bad_request(e.to_string()))?;
    let project = serde_json::to_string(project).map_err(|e| GatewayError::bad_request(e.to_string()))?;
    Ok(Bytes::from(format!("{{\"model\":{model},\"project\":{project},\"request\":{request}}}")))
}
