//! Every route, in one place. Handlers are thin: build the [`Route`], hand over to the pipeline.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tollgate_core::platform::Platform;

use crate::gateway::error::{ErrorShape, GatewayError};
use crate::gateway::family::{Endpoint, Route};
use crate::gateway::{self};
use crate::state::AppState;
use crate::{metrics_export, ui};

/// The whole application.
pub fn app(state: AppState) -> Router {
    let gateway = Router::new()
        .route("/v1/messages", post(anthropic_messages))
        .route("/v1/messages/count_tokens", post(anthropic_count_tokens))
        .route("/v1/chat/completions", post(openai_chat))
        .route("/v1/responses", post(openai_responses))
        .route("/v1/models", get(openai_models))
        .route("/v1beta/models/{model_action}", post(gemini))
        .route("/v1/models/{model_action}", post(gemini))
        .route("/antigravity/v1/messages", post(anthropic_messages))
        .route("/antigravity/v1/messages/count_tokens", post(anthropic_count_tokens))
        .route("/antigravity/v1beta/models/{model_action}", post(gemini))
        .route("/antigravity/v1/models/{model_action}", post(gemini));
    Router::new()
        .merge(gateway)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_export::render))
        .fallback(ui::serve_ui)
        .with_state(state)
}

/// The platform billed for a request: the entry route, with `/antigravity` selecting antigravity.
fn platform_of(uri: &Uri, native: Platform) -> Platform {
    if uri.path().starts_with("/antigravity/") { Platform::Antigravity } else { native }
}

/// The query without the client's `key`, and that key.
fn split_query(uri: &Uri) -> (Option<String>, Option<String>) {
    let Some(q) = uri.query() else { return (None, None) };
    let mut key = None;
    let kept: Vec<&str> = q
        .split('&')
        .filter(|pair| match pair.strip_prefix("key=") {
            Some(v) => {
                key = Some(percent_decode(v));
                false
            }
            None => !pair.is_empty(),
        })
        .collect();
    ((!kept.is_empty()).then(|| kept.join("&")), key)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn route(platform: Platform, endpoint: Endpoint, uri: &Uri, path_model: Option<String>) -> (Route, Option<String>) {
    let (upstream_query, key) = split_query(uri);
    let alt_sse = upstream_query.as_deref().is_some_and(|q| q.split('&').any(|p| p == "alt=sse"));
    let upstream_path = uri.path().strip_prefix("/antigravity").unwrap_or(uri.path()).to_owned();
    (Route { platform, endpoint, upstream_path, upstream_query, path_model, alt_sse }, key)
}

async fn dispatch(
    state: AppState,
    native: Platform,
    endpoint: Endpoint,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (r, key) = route(platform_of(&uri, native), endpoint, &uri, None);
    gateway::handle(state, r, method, headers, key, body).await
}

/// `POST /v1/messages` (Anthropic Messages; also under `/antigravity`).
async fn anthropic_messages(State(s): State<AppState>, m: Method, uri: Uri, h: HeaderMap, body: Body) -> Response {
    dispatch(s, Platform::Anthropic, Endpoint::AnthropicMessages, m, uri, h, body).await
}

/// `POST /v1/messages/count_tokens` (never charged).
async fn anthropic_count_tokens(State(s): State<AppState>, m: Method, uri: Uri, h: HeaderMap, body: Body) -> Response {
    dispatch(s, Platform::Anthropic, Endpoint::AnthropicCountTokens, m, uri, h, body).await
}

/// `POST /v1/chat/completions` (OpenAI Chat Completions).
async fn openai_chat(State(s): State<AppState>, m: Method, uri: Uri, h: HeaderMap, body: Body) -> Response {
    dispatch(s, Platform::OpenAi, Endpoint::OpenAiChat, m, uri, h, body).await
}

/// `POST /v1/responses` (OpenAI Responses).
async fn openai_responses(State(s): State<AppState>, m: Method, uri: Uri, h: HeaderMap, body: Body) -> Response {
    dispatch(s, Platform::OpenAi, Endpoint::OpenAiResponses, m, uri, h, body).await
}

/// `GET /v1/models` (OpenAI; never charged).
async fn openai_models(State(s): State<AppState>, m: Method, uri: Uri, h: HeaderMap, body: Body) -> Response {
    dispatch(s, Platform::OpenAi, Endpoint::OpenAiModels, m, uri, h, body).await
}

/// `POST /v1beta/models/{model}:{action}` and `/v1/models/…` (Gemini; also under `/antigravity`).
async fn gemini(
    State(s): State<AppState>,
    Path(model_action): Path<String>,
    m: Method,
    uri: Uri,
    h: HeaderMap,
    body: Body,
) -> Response {
    let Some((model, action)) = model_action.rsplit_once(':') else {
        return GatewayError::bad_request("expected models/{model}:{action}").into_response_as(ErrorShape::Gemini);
    };
    let endpoint = match action {
        "generateContent" => Endpoint::GeminiGenerate,
        "streamGenerateContent" => Endpoint::GeminiStream,
        "countTokens" => Endpoint::GeminiCountTokens,
        other => {
            return GatewayError::bad_request(format!("unsupported method {other:?}"))
                .into_response_as(ErrorShape::Gemini);
        }
    };
    let (r, key) = route(platform_of(&uri, Platform::Gemini), endpoint, &uri, Some(model.to_owned()));
    gateway::handle(s, r, m, h, key, body).await
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can reach its database.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_key_is_removed_and_decoded() {
        let uri: Uri = "/v1beta/models/g:streamGenerateContent?alt=sse&key=tg-a%2Bb&x=1".parse().unwrap();
        assert_eq!(split_query(&uri), (Some("alt=sse&x=1".to_owned()), Some("tg-a+b".to_owned())));
        let uri: Uri = "/v1/x?key=abc".parse().unwrap();
        assert_eq!(split_query(&uri), (None, Some("abc".to_owned())));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
