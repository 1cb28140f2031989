//! One request followed across client, gateway, upstream and logs (docs/observability.md):
//! the client's `x-request-id` and W3C `traceparent` are accepted when well-formed, passed
//! upstream and written into the access log. They never replace the gateway's own request id,
//! which keys the settlement (a client choosing it could collide with another request's charge).
//! A malformed value is ignored rather than refused: it is a correlation aid, not part of the API.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// Longest client request id kept (longer ones are ignored).
const MAX_REQUEST_ID: usize = 200;

/// A W3C trace context: the trace, and this hop's span in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// The caller's span (16 hex digits): the parent of the gateway's span.
    pub parent_id: String,
    /// The gateway's own span id for this request (16 hex digits), sent upstream as its parent.
    pub span_id: String,
    pub flags: u8,
}

impl TraceContext {
    /// Parses a `traceparent` value (version 00, or a later version's first four fields).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace_id, parent_id, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let rest = parts.next();
        let hex =
            |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let valid = hex(version, 2)
            && version != "ff"
            && (version != "00" || rest.is_none())
            && hex(trace_id, 32)
            && trace_id.bytes().any(|b| b != b'0')
            && hex(parent_id, 16)
            && parent_id.bytes().any(|b| b != b'0')
            && hex(flags, 2);
        if !valid {
            return None;
        }
        Some(Self {
            trace_id: trace_id.to_owned(),
            parent_id: parent_id.to_owned(),
            span_id: new_span_id(),
            flags: u8::from_str_radix(flags, 16).ok()?,
        })
    }

    /// The `traceparent` sent upstream: the same trace, with the gateway's span as the parent.
    pub fn upstream_value(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.span_id, self.flags)
    }
}

/// A random, non-zero span id.
pub fn new_span_id() -> String {
    let id = loop {
        let id = rand::random::<u64>();
        if id != 0 {
            break id;
        }
    };
    format!("{id:016x}")
}

/// A random, non-zero trace id (a request that came without a trace starts one when traces are
/// exported).
pub fn new_trace_id() -> String {
    let id = loop {
        let id = rand::random::<u128>();
        if id != 0 {
            break id;
        }
    };
    format!("{id:032x}")
}

/// What the client sent to correlate this request.
#[derive(Debug, Clone, Default)]
pub struct Correlation {
    /// The client's `x-request-id`, when printable ASCII and at most 200 bytes.
    pub client_request_id: Option<String>,
    pub trace: Option<TraceContext>,
}

impl Correlation {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let client_request_id = headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= MAX_REQUEST_ID && v.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned);
        let trace = headers.get(TRACEPARENT).and_then(|v| v.to_str().ok()).and_then(TraceContext::parse);
        Self { client_request_id, trace }
    }

    /// The id the answer and the upstream carry as `x-request-id`: the client's, else the gateway's.
    pub fn request_id<'a>(&'a self, gateway_id: &'a str) -> &'a str {
        self.client_request_id.as_deref().unwrap_or(gateway_id)
    }

    /// Adds `x-request-id` and (when the client is in a trace) `traceparent` to the upstream request.
    pub fn apply_upstream(&self, gateway_id: &str, headers: &mut HeaderMap) {
        if let Ok(v) = HeaderValue::from_str(self.request_id(gateway_id)) {
            headers.insert(REQUEST_ID, v);
        }
        if let Some(v) = self.trace.as_ref().and_then(|t| HeaderValue::from_str(&t.upstream_value()).ok()) {
            headers.insert(TRACEPARENT, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_continued_with_the_gateways_span() {
        let t = TraceContext::parse(TP).unwrap();
        assert_eq!(
            (t.trace_id.as_str(), t.parent_id.as_str(), t.flags),
            ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1)
        );
        let up = t.upstream_value();
        assert!(up.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && up.ends_with("-01"), "{up}");
        assert_ne!(&up[36..52], "00f067aa0ba902b7", "the gateway's span is the upstream's parent");
        assert_eq!(TraceContext::parse(&up).unwrap().trace_id, t.trace_id);
        // A later version may carry more fields; its first four are read.
        assert!(TraceContext::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra").is_some());
    }

    #[test]
    fn malformed_traceparents_are_ignored() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_clients_request_id_is_kept_only_when_printable_and_short() {
        let with = |v: &[u8]| {
            let mut h = HeaderMap::new();
            h.insert(REQUEST_ID, HeaderValue::from_bytes(v).unwrap());
            Correlation::from_headers(&h).client_request_id
        };
        assert_eq!(with(b"req-123").as_deref(), Some("req-123"));
        assert_eq!(with(b"has space"), None);
        assert_eq!(with(&[b'a'; 201]), None);
        assert_eq!(with(b"caf\xc3\xa9"), None);
        let c = Correlation::default();
        assert_eq!(c.request_id("gw-1"), "gw-1");
        let mut h = HeaderMap::new();
        c.apply_upstream("gw-1", &mut h);
        assert_eq!((h[REQUEST_ID].to_str().unwrap(), h.get(TRACEPARENT)), ("gw-1", None));
    }
}
