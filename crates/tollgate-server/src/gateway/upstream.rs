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
    secrets: Arc<crate::secrets::SecretBox>,
}

impl UpstreamCache {
    pub fn new(store: Arc<dyn Store>, secrets: Arc<crate::secrets::SecretBox>) -> Self {
        Self { store, cached: Arc::new(RwLock::new(None)), secrets }
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
        let list = Arc::new(crate::secrets::stored::open_upstreams(&self.secrets, self.store.list_upstreams().await?)?);
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
            .filter(|u| u.protocol == UpstreamProtocol::Native || super::v1internal::method(route.endpoint).is_some())
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

/// Hop-by-hop response headers, and those that no longer describe the body we send.
pub const DROP_RESPONSE_HEADERS: &[&str] =
    &["connection", "keep-alive", "transfer-encoding", "content-length", "trailer", "upgrade", "proxy-connection"];

/// Sends the request to each candidate in turn until one answers without a 5xx (or none is left).
pub async fn forward(
    http: &reqwest::Client,
    candidates: Vec<Upstream>,
    route: &Route,
    method: reqwest::Method,
    sent_headers: &HeaderMap,
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
        let request = build(http, &upstream, route, method.clone(), sent_headers, body.clone(), model);
        let result = match request {
            Ok(r) => r.send().await,
            Err(e) => {
                tracing::error!(upstream = %upstream.name, error = %e, "cannot build the upstream request");
                last_error = "an upstream account is misconfigured".to_owned();
                continue;
            }
        };
        metrics::histogram!("tollgate_upstream_seconds", "platform" => route.platform.as_str())
            .record(started.elapsed().as_secs_f64());
        match result {
            Ok(resp) if resp.status().is_server_error() && i < last => {
                tracing::warn!(upstream = %upstream.name, status = %resp.status(), "upstream 5xx; trying the next account");
                // Client-facing: no account names (they can carry a Cloud Code project id).
                last_error = format!("the upstream answered {}", resp.status());
            }
            Ok(response) => return Ok(Answer { response, upstream }),
            Err(e) => {
                tracing::warn!(upstream = %upstream.name, error = %e, "upstream unreachable; trying the next account");
                last_error = without_url(&e);
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
    sent_headers: &HeaderMap,
    body: Bytes,
    model: &str,
) -> Result<reqwest::RequestBuilder, GatewayError> {
    let v1internal = upstream.protocol == UpstreamProtocol::V1Internal;
    let url = if let (true, Some((method_name, query))) = (v1internal, super::v1internal::method(route.endpoint)) {
        upstream_url(&upstream.base_url, &format!("/v1internal:{method_name}"), query)
    } else {
        upstream_url(&upstream.base_url, &route.upstream_path, route.upstream_query.as_deref())
    }
    .map_err(|e| GatewayError::Upstream(format!("{}: bad base URL: {e}", upstream.name)))?;
    // The client's allowed headers and the correlation headers (`gateway::forward`); the
    // credential and encodings are set below.
    let mut headers = sent_headers.clone();
    headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    let secret = HeaderValue::from_str(upstream.api_key.expose())
        .map_err(|_| GatewayError::Upstream(format!("{}: credential is not a valid header value", upstream.name)))?;
    let (name, value) = credential_header(route, v1internal, secret)?;
    headers.insert(name, value);
    let body = if v1internal { super::v1internal::wrap_request(&body, model, &upstream.name)? } else { body };
    if route.endpoint.has_body() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(http.request(method, url).headers(headers).body(body))
}

thread_local! {
    /// Parsed base URLs: parsing one (its host through IDNA) on every request was a measurable
    /// share of a request's CPU (docs/benchmarks.md).
    static BASES: std::cell::RefCell<std::collections::HashMap<String, reqwest::Url>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// `base` (an account's base URL, perhaps with a path prefix) joined with `path` and `query`: the
/// same URL as parsing `{base without trailing /}{path}?{query}`.
pub(crate) fn upstream_url(base: &str, path: &str, query: Option<&str>) -> Result<reqwest::Url, String> {
    let mut url = BASES.with_borrow_mut(|cache| -> Result<reqwest::Url, String> {
        if let Some(u) = cache.get(base) {
            return Ok(u.clone());
        }
        let parsed = reqwest::Url::parse(base.trim_end_matches('/')).map_err(|e| e.to_string())?;
        if cache.len() >= 256 {
            cache.clear();
        }
        cache.insert(base.to_owned(), parsed.clone());
        Ok(parsed)
    })?;
    let prefix = url.path().trim_end_matches('/');
    let joined = format!("{prefix}{path}");
    url.set_path(&joined);
    url.set_query(query);
    Ok(url)
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

#[cfg(test)]
mod tests {
    use super::upstream_url;

    /// The cached join gives the URL that parsing the concatenation gives.
    #[test]
    fn joined_url_equals_parsing_the_concatenation() {
        let cases = [
            ("http://127.0.0.1:8080", "/v1/messages", None),
            ("http://127.0.0.1:8080/", "/v1/messages", None),
            ("https://proxy.example.com/api/", "/v1beta/models/gemini-2.5-pro:streamGenerateContent", Some("alt=sse")),
            ("https://proxy.example.com/api", "/v1/models/a%20b:countTokens", Some("key=x&alt=sse")),
            ("https://BÜCHER.example/x//", "/v1internal:generateContent", None),
        ];
        for (base, path, query) in cases {
            for _ in 0..2 {
                let joined = upstream_url(base, path, query).expect("joins");
                let concat = match query {
                    Some(q) => format!("{}{path}?{q}", base.trim_end_matches('/')),
                    None => format!("{}{path}", base.trim_end_matches('/')),
                };
                assert_eq!(joined, reqwest::Url::parse(&concat).expect("parses"), "{base} {path}");
            }
        }
        assert!(upstream_url("not a url", "/v1/messages", None).is_err());
    }
}
