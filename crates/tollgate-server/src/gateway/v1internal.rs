//! Google's Cloud Code `v1internal` envelope, which an antigravity account may speak for Gemini
//! requests (SPEC 4): the request goes to `/v1internal:{method}` wrapped as
//! `{"model","project","request":{…}}`; each response comes back as `{"response":{…}}` and is
//! unwrapped before the client (and the usage meter) sees it. Everything about the envelope is
//! here.

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::error::GatewayError;
use super::family::Endpoint;
use super::transform::{self, EventRewrite, EventTransform};

/// The `v1internal` method serving `endpoint` and its query, if the envelope carries it.
pub fn method(endpoint: Endpoint) -> Option<(&'static str, Option<&'static str>)> {
    match endpoint {
        Endpoint::GeminiGenerate => Some(("generateContent", None)),
        Endpoint::GeminiStream => Some(("streamGenerateContent", Some("alt=sse"))),
        Endpoint::GeminiCountTokens => Some(("countTokens", None)),
        _ => None,
    }
}

/// `{"model","project","request":{…}}` around the client's body; `project` comes from the
/// account's name when it has the form `name@project` (Cloud Code needs a project id).
pub fn wrap_request(body: &Bytes, model: &str, upstream_name: &str) -> Result<Bytes, GatewayError> {
    let request = std::str::from_utf8(body).map_err(|_| GatewayError::bad_request("body must be UTF-8 JSON"))?;
    let project = upstream_name.rsplit_once('@').map(|(_, p)| p).unwrap_or("");
    let model = serde_json::to_string(model).map_err(|e| GatewayError::bad_request(e.to_string()))?;
    let project = serde_json::to_string(project).map_err(|e| GatewayError::bad_request(e.to_string()))?;
    Ok(Bytes::from(format!("{{\"model\":{model},\"project\":{project},\"request\":{request}}}")))
}

/// A whole `{"response": …}` body unwrapped; anything else unchanged.
pub fn unwrap_body(bytes: Bytes) -> Bytes {
    std::str::from_utf8(&bytes).ok().and_then(transform::unwrap_response).map(Bytes::from).unwrap_or(bytes)
}

/// A streamed answer unwrapped event by event: as SSE when the client asked for `alt=sse`, else
/// re-framed as the JSON array a Gemini client gets without it. Usage is metered from the result.
pub fn unwrap_stream(
    upstream: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    client_wants_sse: bool,
) -> BoxStream<'static, Result<Bytes, reqwest::Error>> {
    let rewrite = if client_wants_sse { EventRewrite::UnwrapV1Internal } else { EventRewrite::UnwrapV1InternalToArray };
    let t = std::sync::Arc::new(std::sync::Mutex::new(EventTransform::new(rewrite)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_with_the_accounts_project() {
        let body = Bytes::from_static(br#"{"contents":[]}"#);
        let wrapped = wrap_request(&body, "gemini-3-pro", "cc@my-project").unwrap();
        assert_eq!(&wrapped[..], br#"{"model":"gemini-3-pro","project":"my-project","request":{"contents":[]}}"#);
        assert_eq!(&unwrap_body(Bytes::from_static(br#"{"response":{"a":1}}"#))[..], br#"{"a":1}"#);
        assert_eq!(&unwrap_body(Bytes::from_static(b"not json"))[..], b"not json");
    }
}
