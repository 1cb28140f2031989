//! What the gateway reads from, and changes in, a client request of each API family.
//!
//! Only `model`, `stream`, the output cap and the options priced above the standard rate
//! (`premium.rs`) are read; the body is forwarded as the client sent it,
//! except for OpenAI Chat streams, where `stream_options.include_usage` is switched on so the
//! upstream reports usage (SPEC 3).

use std::collections::BTreeMap;

use serde_json::value::RawValue;
use tollgate_core::estimate::{GEMINI_CANDIDATES, GEMINI_CONFIG};
use tollgate_core::platform::Platform;
use tollgate_core::pricing::Medium;
use tollgate_core::unique_keys::Refusal;
use tollgate_core::usage::{ApiFamily, Framing};

use super::error::{ErrorShape, GatewayError};
use super::premium;

/// A client-facing endpoint. Everything that differs between endpoints is in its row of
/// [`ENDPOINTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    AnthropicMessages,
    AnthropicCountTokens,
    OpenAiChat,
    OpenAiResponses,
    OpenAiModels,
    AnthropicModels,
    GeminiModels,
    GeminiGenerate,
    GeminiStream,
    GeminiCountTokens,
}

/// Query parameters an endpoint forwards upstream: a name, and for some the only value allowed.
type Query = &'static [(&'static str, Option<&'static str>)];

/// One endpoint's facts: its client route, its dialect, the platform it bills, what of its query
/// goes upstream, and how its answer's usage is read.
#[derive(Debug)]
pub struct EndpointSpec {
    pub endpoint: Endpoint,
    /// The client's method and path (as routed in `router.rs`; also under `/antigravity` where the
    /// platform has it).
    pub method: &'static str,
    pub path: &'static str,
    /// The platform billed without the `/antigravity` prefix.
    pub platform: Platform,
    /// The dialect of its errors.
    pub shape: ErrorShape,
    /// Whether the client sends a JSON body.
    pub has_body: bool,
    /// The query parameters forwarded upstream; every other one is dropped. A field mask
    /// (`fields=`, `$fields=`) or another encoding (`alt=proto`) could remove or hide the usage an
    /// answer is charged by, and the client's `key` is its Tollgate credential.
    pub query: Query,
    /// How usage is read from its answers; `None`: never charged.
    pub usage: Option<ApiFamily>,
}

const fn row(
    endpoint: Endpoint,
    method: &'static str,
    path: &'static str,
    platform: Platform,
    shape: ErrorShape,
    query: Query,
    usage: Option<ApiFamily>,
) -> EndpointSpec {
    let has_body = matches!(method.as_bytes(), b"POST");
    EndpointSpec { endpoint, method, path, platform, shape, has_body, query, usage }
}

use ApiFamily as F;
use ErrorShape as S;
use Platform as P;

/// Every endpoint, in the order of [`Endpoint`].
pub const ENDPOINTS: [EndpointSpec; 10] = [
    // Claude Code calls `/v1/messages?beta=true`.
    row(
        Endpoint::AnthropicMessages,
        "POST",
        "/v1/messages",
        P::Anthropic,
        S::Anthropic,
        &[("beta", None)],
        Some(F::Anthropic),
    ),
    row(
        Endpoint::AnthropicCountTokens,
        "POST",
        "/v1/messages/count_tokens",
        P::Anthropic,
        S::Anthropic,
        &[("beta", None)],
        None,
    ),
    row(Endpoint::OpenAiChat, "POST", "/v1/chat/completions", P::OpenAi, S::OpenAi, &[], Some(F::OpenAiChat)),
    row(Endpoint::OpenAiResponses, "POST", "/v1/responses", P::OpenAi, S::OpenAi, &[], Some(F::OpenAiResponses)),
    row(Endpoint::OpenAiModels, "GET", "/v1/models", P::OpenAi, S::OpenAi, &[], None),
    row(
        Endpoint::AnthropicModels,
        "GET",
        "/v1/models",
        P::Anthropic,
        S::Anthropic,
        &[("limit", None), ("after_id", None), ("before_id", None)],
        None,
    ),
    row(
        Endpoint::GeminiModels,
        "GET",
        "/v1beta/models",
        P::Gemini,
        S::Gemini,
        &[("pageSize", None), ("pageToken", None)],
        None,
    ),
    row(
        Endpoint::GeminiGenerate,
        "POST",
        "/v1beta/models/{model}:generateContent",
        P::Gemini,
        S::Gemini,
        &[("alt", Some("sse"))],
        Some(F::Gemini),
    ),
    row(
        Endpoint::GeminiStream,
        "POST",
        "/v1beta/models/{model}:streamGenerateContent",
        P::Gemini,
        S::Gemini,
        &[("alt", Some("sse"))],
        Some(F::Gemini),
    ),
    row(
        Endpoint::GeminiCountTokens,
        "POST",
        "/v1beta/models/{model}:countTokens",
        P::Gemini,
        S::Gemini,
        &[("alt", Some("sse"))],
        None,
    ),
];

impl Endpoint {
    /// This endpoint's row of [`ENDPOINTS`].
    pub fn spec(self) -> &'static EndpointSpec {
        &ENDPOINTS[self as usize]
    }

    pub fn shape(self) -> ErrorShape {
        self.spec().shape
    }

    /// The usage family of a billable endpoint; `None` for endpoints that are never charged.
    pub fn family(self) -> Option<ApiFamily> {
        self.spec().usage
    }

    /// Whether the client request carries a JSON body (model listings are GETs).
    pub fn has_body(self) -> bool {
        self.spec().has_body
    }

    /// The query parameters forwarded upstream (see [`EndpointSpec::query`]).
    pub fn forwarded_query(self) -> Query {
        self.spec().query
    }
}

/// A routed client request: which platform it bills, and where it goes upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub platform: Platform,
    pub endpoint: Endpoint,
    /// The path sent upstream: the client's path without the `/antigravity` prefix.
    pub upstream_path: String,
    /// The client's query string without its `key` parameter.
    pub upstream_query: Option<String>,
    /// Gemini: the model named in the path.
    pub path_model: Option<String>,
    /// Gemini `:streamGenerateContent`: whether the client asked for SSE (`alt=sse`) rather than a
    /// streamed JSON array.
    pub alt_sse: bool,
}

/// What the gateway needs to know about a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub model: String,
    pub stream: bool,
    /// How a streamed answer is framed.
    pub framing: Framing,
    /// The body to send upstream (the client's, or with `include_usage` switched on).
    pub upstream_body: bytes::Bytes,
    /// Whether we switched `include_usage` on (and so must drop the usage-only chunk again).
    pub injected_include_usage: bool,
    /// OpenAI Chat `web_search_options`: the search model runs a web search its usage does not
    /// count, charged as one search call.
    pub web_search_requested: bool,
    /// Media priced above text that the request asks for, with the field asking (admission
    /// lets them pass where the model's price covers them; `premium.rs`).
    pub media: Vec<(Medium, &'static str)>,
    /// Gemini `candidateCount` (any spelling; at least 1): a stream ends when each has finished.
    pub choices: u64,
    /// Models named by Anthropic advisor tools (`premium.rs`).
    pub advisors: Vec<String>,
}

/// A JSON object's members, each kept as its raw text.
pub(super) type Fields = BTreeMap<String, Box<RawValue>>;

/// A Gemini body's generation configs, in every spelling it has (`generationConfig`,
/// `generation_config`), each parsed once.
pub(super) type GeminiConfigs = Vec<(&'static str, Fields)>;

fn parse_object(body: &[u8]) -> Result<Fields, GatewayError> {
    let fields = serde_json::from_slice(body)
        .map_err(|e| GatewayError::bad_request(format!("request body must be a JSON object: {e}")))?;
    // What is checked and priced here must be what the upstream runs (tollgate_core::unique_keys).
    match tollgate_core::unique_keys::check(body) {
        Ok(()) => {}
        Err(Refusal::Repeated(name)) => {
            return Err(GatewayError::bad_request(format!(
                "{name}: given twice in one object (the upstream might read the other value)"
            )));
        }
        Err(Refusal::Unreadable(why)) => {
            return Err(GatewayError::bad_request(format!(
                "request body cannot be checked ({why}); bodies may nest at most 128 levels deep"
            )));
        }
    }
    Ok(fields)
}

fn string_field(f: &Fields, name: &str) -> Result<Option<String>, GatewayError> {
    match f.get(name).map(|v| v.get()) {
        None | Some("null") => Ok(None),
        Some(raw) => serde_json::from_str::<String>(raw)
            .map(Some)
            .map_err(|_| GatewayError::bad_request(format!("{name}: must be a string"))),
    }
}

fn bool_field(f: &Fields, name: &str) -> Result<bool, GatewayError> {
    match f.get(name).map(|v| v.get().trim()) {
        None | Some("null") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(GatewayError::bad_request(format!("{name}: must be true or false"))),
    }
}

fn count_field(f: &Fields, name: &str) -> Result<Option<u64>, GatewayError> {
    match f.get(name).map(|v| v.get().trim()) {
        None | Some("null") => Ok(None),
        Some(raw) => raw
            .parse::<u64>()
            .map(Some)
            .map_err(|_| GatewayError::bad_request(format!("{name}: must be a whole number"))),
    }
}

/// A Gemini body's generation configs; one that is not an object is a 400 naming it.
pub(super) fn gemini_configs(f: &Fields) -> Result<GeminiConfigs, GatewayError> {
    let mut configs = Vec::new();
    for name in GEMINI_CONFIG {
        match f.get(name).map(|v| v.get().trim()) {
            None | Some("null") => {}
            Some(raw) => configs.push((
                name,
                serde_json::from_str(raw)
                    .map_err(|_| GatewayError::bad_request(format!("{name}: must be an object")))?,
            )),
        }
    }
    Ok(configs)
}

/// The candidates a Gemini request asks for, read as strict mode's bound reads them
/// (`tollgate_core::estimate::whole_number`: either spelling, a number, a float or a string,
/// escapes decoded): the meter must wait for as many as the hold was sized for. At least 1.
fn gemini_candidates(configs: &GeminiConfigs) -> u64 {
    configs
        .iter()
        .flat_map(|(_, cfg)| GEMINI_CANDIDATES.iter().filter_map(|n| cfg.get(*n)))
        .filter_map(|raw| serde_json::from_str::<serde_json::Value>(raw.get()).ok())
        .filter_map(|v| tollgate_core::estimate::whole_number(&v))
        .max()
        .unwrap_or(1)
        .max(1)
}

/// Reads the request body of `route`. Malformed input is a 400 naming the field.
pub fn inspect(route: &Route, body: bytes::Bytes) -> Result<Inspected, GatewayError> {
    let mut out = Inspected {
        model: route.path_model.clone().unwrap_or_default(),
        stream: false,
        framing: Framing::Sse,
        upstream_body: body.clone(),
        injected_include_usage: false,
        web_search_requested: false,
        media: Vec::new(),
        choices: 1,
        advisors: Vec::new(),
    };
    if !route.endpoint.has_body() {
        // A lookup's body (a GET may carry one) is not forwarded: it is not what the route prices.
        out.upstream_body = bytes::Bytes::new();
        return Ok(out);
    }
    let f = parse_object(&body)?;
    let gemini = matches!(route.endpoint.shape(), ErrorShape::Gemini);
    let configs = if gemini { gemini_configs(&f)? } else { Vec::new() };
    if let Some(family) = route.endpoint.family() {
        premium::check_tier(family, &f, &configs)?;
        out.media = premium::media_asked(family, &f, &configs, &body)?;
        out.advisors = premium::advisor_models(family, &f)?;
    }
    match route.endpoint {
        Endpoint::AnthropicMessages | Endpoint::AnthropicCountTokens => {
            out.model = string_field(&f, "model")?.ok_or_else(|| GatewayError::bad_request("model: is required"))?;
            out.stream = bool_field(&f, "stream")?;
            // The caps are read again for strict mode's bound (tollgate_core::estimate); checked here.
            count_field(&f, "max_tokens")?;
        }
        Endpoint::OpenAiChat => {
            out.model = string_field(&f, "model")?.ok_or_else(|| GatewayError::bad_request("model: is required"))?;
            out.stream = bool_field(&f, "stream")?;
            count_field(&f, "max_completion_tokens")?;
            count_field(&f, "max_tokens")?;
            out.web_search_requested = f.get("web_search_options").is_some_and(|v| v.get().trim() != "null");
            if out.stream
                && let Some(changed) = with_include_usage(&f)?
            {
                out.upstream_body = changed;
                out.injected_include_usage = true;
            }
        }
        Endpoint::OpenAiResponses => {
            out.model = string_field(&f, "model")?.ok_or_else(|| GatewayError::bad_request("model: is required"))?;
            out.stream = bool_field(&f, "stream")?;
            // A background response is answered with its id only; its usage comes later to a
            // `GET /v1/responses/{id}` this gateway does not serve, so it could never be charged.
            if bool_field(&f, "background")? {
                return Err(GatewayError::bad_request(
                    "background: background responses are not supported by this gateway; send the request without it",
                ));
            }
            count_field(&f, "max_output_tokens")?;
        }
        Endpoint::GeminiGenerate | Endpoint::GeminiStream | Endpoint::GeminiCountTokens => {
            out.stream = route.endpoint == Endpoint::GeminiStream;
            out.framing = if route.alt_sse { Framing::Sse } else { Framing::JsonArray };
            if let Some((_, cfg)) = configs.iter().find(|(name, _)| *name == "generationConfig") {
                count_field(cfg, "maxOutputTokens")?;
            }
            out.choices = gemini_candidates(&configs);
        }
        Endpoint::OpenAiModels | Endpoint::AnthropicModels | Endpoint::GeminiModels => {}
    }
    if out.model.is_empty() && route.endpoint.family().is_some() {
        return Err(GatewayError::bad_request("model: must not be empty"));
    }
    Ok(out)
}

/// The body with `stream_options.include_usage: true`, or `None` when the client already asked.
/// Only `stream_options` is re-encoded; every other member keeps its exact text.
fn with_include_usage(f: &Fields) -> Result<Option<bytes::Bytes>, GatewayError> {
    let mut options: Fields = match f.get("stream_options").map(|v| v.get()) {
        None | Some("null") => Fields::new(),
        Some(raw) => {
            serde_json::from_str(raw).map_err(|_| GatewayError::bad_request("stream_options: must be an object"))?
        }
    };
    if options.get("include_usage").map(|v| v.get().trim()) == Some("true") {
        return Ok(None);
    }
    let yes = RawValue::from_string("true".to_owned())
        .map_err(|e| GatewayError::bad_request(format!("stream_options: {e}")))?;
    options.insert("include_usage".to_owned(), yes);
    let mut fields = f.clone();
    let encoded = serde_json::to_string(&options).map_err(|e| GatewayError::bad_request(e.to_string()))?;
    let raw = RawValue::from_string(encoded).map_err(|e| GatewayError::bad_request(e.to_string()))?;
    fields.insert("stream_options".to_owned(), raw);
    serde_json::to_vec(&fields).map(|v| Some(v.into())).map_err(|e| GatewayError::bad_request(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(endpoint: Endpoint) -> Route {
        Route {
            platform: Platform::OpenAi,
            endpoint,
            upstream_path: String::new(),
            upstream_query: None,
            path_model: None,
            alt_sse: false,
        }
    }

    #[test]
    fn the_table_is_in_the_order_of_the_enum() {
        for (i, spec) in ENDPOINTS.iter().enumerate() {
            assert_eq!(spec.endpoint as usize, i, "{spec:?}");
            assert!(spec.usage.is_some() || !spec.has_body || spec.path.contains("count"), "{spec:?}");
        }
    }

    #[test]
    fn injects_include_usage_keeping_other_members() {
        let body = br#"{"model":"gpt-5","stream":true,"temperature":0.70000000000000001,"messages":[]}"#;
        let i = inspect(&route(Endpoint::OpenAiChat), bytes::Bytes::from_static(body)).unwrap();
        assert!(i.injected_include_usage);
        let text = std::str::from_utf8(&i.upstream_body).unwrap();
        assert!(text.contains(r#""stream_options":{"include_usage":true}"#), "{text}");
        assert!(text.contains(r#""temperature":0.70000000000000001"#), "{text}");
        let asked = br#"{"model":"gpt-5","stream":true,"stream_options":{"include_usage":true}}"#;
        let i = inspect(&route(Endpoint::OpenAiChat), bytes::Bytes::from_static(asked)).unwrap();
        assert!(!i.injected_include_usage);
        assert_eq!(&i.upstream_body[..], asked);
    }

    #[test]
    fn gemini_candidates_are_read_as_the_strict_bound_reads_them() {
        // The meter must wait for as many candidates as the hold was sized for, in every spelling.
        for (body, n) in [
            (r#"{"generationConfig":{"candidateCount":"\u0032"}}"#, 2),
            (r#"{"generationConfig":{"candidateCount":2.0}}"#, 2),
            (r#"{"generation_config":{"candidate_count":"3"},"generationConfig":{"candidateCount":1}}"#, 3),
            (r#"{"generationConfig":{"candidateCount":0}}"#, 1),
            (r#"{"contents":[]}"#, 1),
        ] {
            let fields: Fields = serde_json::from_str(body).unwrap();
            assert_eq!(gemini_candidates(&gemini_configs(&fields).unwrap()), n, "{body}");
            let bound = tollgate_core::estimate::RequestBound::read(ApiFamily::Gemini, body.as_bytes());
            assert_eq!(bound.choices, n, "{body}");
        }
    }

    #[test]
    fn bad_bodies_name_the_field() {
        let r = route(Endpoint::AnthropicMessages);
        let err = |b: &'static [u8]| inspect(&r, bytes::Bytes::from_static(b)).unwrap_err().to_string();
        assert!(err(b"not json").contains("JSON object"));
        assert!(err(b"[1]").contains("JSON object"));
        assert!(err(br#"{"max_tokens":5}"#).contains("model"));
        assert!(err(br#"{"model":5}"#).contains("model: must be a string"));
        assert!(err(br#"{"model":"m","stream":"yes"}"#).contains("stream"));
        assert!(err(br#"{"model":"m","max_tokens":-1}"#).contains("max_tokens"));
    }
}
