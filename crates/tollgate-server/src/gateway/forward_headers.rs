//! Which client headers reach an upstream: an allow-list per wire API (docs/security.md,
//! "Upstream requests"), never a deny-list, so a header a client invents — or one that picks who
//! pays upstream (`OpenAI-Organization`, `OpenAI-Project`, `x-goog-user-project`) or reveals the
//! client (`X-Forwarded-For`, `Forwarded`) — is not forwarded. The credential, `Accept-Encoding`
//! and `Content-Type` are then set by the gateway itself.

use axum::http::{HeaderMap, HeaderName, header};

use super::error::ErrorShape;

/// Client headers forwarded on the Anthropic Messages API.
pub const ANTHROPIC: &[&str] = &["anthropic-version", "anthropic-beta", "content-type", "accept", "user-agent"];
/// Client headers forwarded on the OpenAI APIs.
pub const OPENAI: &[&str] = &["openai-beta", "content-type", "accept", "user-agent"];
/// Client headers forwarded on the Gemini API (and the Cloud Code envelope).
pub const GEMINI: &[&str] = &["x-goog-api-client", "content-type", "accept", "user-agent"];

/// The allow-list of a wire API.
pub fn allowed(shape: ErrorShape) -> &'static [&'static str] {
    match shape {
        ErrorShape::Anthropic => ANTHROPIC,
        ErrorShape::OpenAi => OPENAI,
        ErrorShape::Gemini => GEMINI,
    }
}

/// The client headers to forward: those on the allow-list, minus any the client's `Connection`
/// header names (hop-by-hop by declaration).
pub fn forwarded(shape: ErrorShape, client: &HeaderMap) -> HeaderMap {
    let hop_by_hop: Vec<String> = client
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    let mut out = HeaderMap::new();
    for name in allowed(shape) {
        if hop_by_hop.iter().any(|h| h == name) {
            continue;
        }
        let name = HeaderName::from_static(name);
        for value in client.get_all(&name) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_allow_list_passes() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "x"),
            ("x-forwarded-for", "1.2.3.4"),
            ("forwarded", "for=1.2.3.4"),
            ("openai-organization", "org-victim"),
            ("x-custom", "1"),
            ("connection", "keep-alive, Anthropic-Beta"),
        ] {
            h.append(HeaderName::from_static(k), v.parse().unwrap());
        }
        let out = forwarded(ErrorShape::Anthropic, &h);
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["anthropic-version"]);
        assert!(forwarded(ErrorShape::OpenAi, &h).is_empty());
    }
}
