//! Every route, in one place. Handlers are thin: build the [`Route`], hand over to the pipeline.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use tollgate_core::platform::Platform;

use crate::console::error::ConsoleError;
use crate::console::{admin, analytics, auth, meta, oauth, openapi, rate_limits, request_log, user};
use crate::gateway::error::{ErrorShape, GatewayError};
use crate::gateway::family::{Endpoint, Route};
use crate::gateway::{self};
use crate::state::AppState;
use crate::{metrics_export, ui};

/// The console API, mounted at `/api/v1`. Keep `console/openapi.json` in step with this list.
pub fn console_routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::openapi))
        .route("/meta", get(meta::meta))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/register", post(auth::register))
        .route("/auth/oauth/{source}/start", get(oauth::start))
        .route("/auth/oauth/{source}/callback", get(oauth::callback))
        .route("/me", get(auth::me))
        .route("/admin/settings", get(admin::settings::get_settings).put(admin::settings::put_settings))
        .route("/admin/users", get(admin::users::list_users).post(admin::users::create_user))
        .route("/admin/users/{id}", get(admin::users::get_user).patch(admin::users::update_user))
        .route("/admin/users/{id}/platform-quotas", get(admin::quotas::get_quotas).put(admin::quotas::put_quotas))
        .route("/admin/users/{id}/platform-quotas/reset", post(admin::quotas::reset_quota))
        .route("/admin/users/{id}/platform-quotas/top-up", post(admin::quotas::top_up_quota))
        .route("/admin/users/{id}/api-keys", get(admin::api_keys::list_user_keys))
        .route("/admin/users/{id}/api-keys/{key_id}/quotas", put(admin::api_keys::put_user_key_quotas))
        .route("/admin/users/{id}/api-keys/{key_id}/top-up", post(admin::api_keys::top_up_user_key))
        .route("/admin/users/{id}/language", put(admin::alerts::put_user_language))
        .route("/admin/users/{id}/rate-limits", get(rate_limits::get_user_limits).put(rate_limits::put_user_limits))
        .route("/admin/audit", get(admin::audit::list_audit))
        .route("/admin/request-log", get(request_log::admin_log))
        .route("/admin/request-log.csv", get(request_log::admin_csv))
        .route("/admin/analytics", get(analytics::admin_analytics))
        .route("/admin/alerts", get(admin::alerts::list_alerts))
        .route("/admin/upstreams", get(admin::upstreams::list_upstreams).post(admin::upstreams::create_upstream))
        .route(
            "/admin/upstreams/{id}",
            axum::routing::patch(admin::upstreams::update_upstream).delete(admin::upstreams::delete_upstream),
        )
        .route("/admin/pricing", get(admin::pricing::get_pricing))
        .route("/admin/pricing/unpriced", get(admin::pricing::list_unpriced))
        .route(
            "/admin/pricing/import",
            post(admin::pricing::import_prices)
                .layer(axum::extract::DefaultBodyLimit::max(admin::pricing::MAX_IMPORT_BYTES + 64 * 1024)),
        )
        .route("/admin/pricing/{*model}", put(admin::pricing::put_price).delete(admin::pricing::delete_price))
        .route("/user/platform-quotas", get(user::quotas::my_quotas))
        .route("/user/usage", get(user::quotas::my_usage))
        .route("/user/request-log", get(request_log::my_log))
        .route("/user/request-log.csv", get(request_log::my_csv))
        .route("/user/analytics", get(analytics::my_analytics))
        .route("/user/notices", get(user::notices::list_notices))
        .route("/user/notices/read-all", post(user::notices::read_all_notices))
        .route("/user/notices/{id}/read", post(user::notices::read_notice))
        .route("/user/language", get(user::notices::get_language).put(user::notices::put_language))
        .route("/user/api-keys", get(user::api_keys::list_keys).post(user::api_keys::create_key))
        .route("/user/api-keys/{id}", axum::routing::delete(user::api_keys::revoke_key))
        .route("/user/api-keys/{id}/quotas", put(user::api_keys::put_key_quotas))
        .route("/user/api-keys/{id}/rate-limits", get(rate_limits::get_key_limits).put(rate_limits::put_key_limits))
        // An unknown API path is a JSON 404, never the web console's index.html.
        .fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
}

async fn api_not_found() -> ConsoleError {
    ConsoleError::not_found("no such API route")
}

async fn api_method_not_allowed() -> impl IntoResponse {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(
            serde_json::json!({"error":{"code":"method_not_allowed","message":"method not allowed on this route"}}),
        ),
    )
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let gateway = Router::new()
        .route("/v1/messages", post(anthropic_messages))
        .route("/v1/messages/count_tokens", post(anthropic_count_tokens))
        .route("/v1/chat/completions", post(openai_chat))
        .route("/v1/responses", post(openai_responses))
        .route("/v1/models", get(models))
        .route("/v1/usage", get(key_usage))
        .route("/antigravity/v1/usage", get(key_usage))
        .route("/v1beta/models", get(models))
        .route("/v1beta/models/{model_action}", post(gemini).get(models))
        .route("/v1/models/{model_action}", post(gemini).get(models))
        .route("/antigravity/v1/messages", post(anthropic_messages))
        .route("/antigravity/v1/messages/count_tokens", post(anthropic_count_tokens))
        .route("/antigravity/v1/models", get(models))
        .route("/antigravity/v1beta/models", get(models))
        .route("/antigravity/v1beta/models/{model_action}", post(gemini).get(models))
        .route("/antigravity/v1/models/{model_action}", post(gemini).get(models))
        .method_not_allowed_fallback(gateway_method_not_allowed);
    let app = Router::new()
        .merge(gateway)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_export::render))
        .nest("/api/v1", console_routes())
        .fallback(fallback)
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(state.clone(), run_to_completion));
    crate::hardening::wrap(app, state)
}

/// Runs every handler as a task that shutdown waits for, so a client that disconnects cannot cancel
/// it half-way: a write is never abandoned inside its transaction, and an answer the upstream
/// already produced is still charged. (A streamed body is polled by the connection, not this task:
/// it still stops when the client goes, and its settlement guard takes over.)
async fn run_to_completion(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match state.tasks.spawn(next.run(req)).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(error = %e, "request handler failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The error shape a gateway path answers in.
fn shape_of(path: &str) -> Option<ErrorShape> {
    let p = path.strip_prefix("/antigravity").unwrap_or(path);
    if p.starts_with("/v1beta/") || p.starts_with("/v1/models/") && p.contains(':') {
        Some(ErrorShape::Gemini)
    } else if p.starts_with("/v1/messages") || path.starts_with("/antigravity/") {
        Some(ErrorShape::Anthropic)
    } else if p.starts_with("/v1/") || p == "/v1" {
        Some(ErrorShape::OpenAi)
    } else {
        None
    }
}

/// Unknown gateway and API paths get a JSON 404 in their own shape; everything else is the console.
async fn fallback(uri: Uri) -> Response {
    match shape_of(uri.path()) {
        Some(shape) => GatewayError::NoRoute(uri.path().to_owned()).into_response_as(shape),
        None if uri.path().starts_with("/api/") => ConsoleError::not_found("no such API route").into_response(),
        None => ui::serve_ui(uri).await,
    }
}

/// A known gateway path called with the wrong method: 405 in the path's own shape.
async fn gateway_method_not_allowed(uri: Uri) -> Response {
    let shape = shape_of(uri.path()).unwrap_or(ErrorShape::OpenAi);
    let mut resp = GatewayError::bad_request(format!("method not allowed on {}", uri.path())).into_response_as(shape);
    *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    resp
}

/// The platform billed for a request: the entry route, with `/antigravity` selecting antigravity.
fn platform_of(uri: &Uri, native: Platform) -> Platform {
    if uri.path().starts_with("/antigravity/") { Platform::Antigravity } else { native }
}

/// The query parameters `endpoint` forwards upstream ([`Endpoint::forwarded_query`]), and the
/// client's `key` (its credential, never forwarded).
fn split_query(uri: &Uri, endpoint: Endpoint) -> (Option<String>, Option<String>) {
    let Some(q) = uri.query() else { return (None, None) };
    let allowed = endpoint.forwarded_query();
    let mut key = None;
    let kept: Vec<&str> = q
        .split('&')
        .filter(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if name == "key" {
                key = Some(percent_decode(value));
                return false;
            }
            allowed.iter().any(|(n, only)| *n == name && only.is_none_or(|v| v == value))
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
    let (upstream_query, key) = split_query(uri, endpoint);
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

/// Model listings and lookups (never charged): `GET /v1/models[/{id}]` is OpenAI's, Anthropic's or
/// Gemini's (google-genai calls `/v1`) depending on the credential header the client's SDK sends;
/// `GET /v1beta/models[/{name}]` is Gemini's. Under `/antigravity`, Anthropic or Gemini.
async fn models(State(s): State<AppState>, m: Method, uri: Uri, h: HeaderMap, body: Body) -> Response {
    let gemini_key = h.contains_key("x-goog-api-key") || split_query(&uri, Endpoint::GeminiModels).1.is_some();
    let anthropic = h.contains_key("x-api-key") || h.contains_key("anthropic-version");
    let antigravity = uri.path().starts_with("/antigravity/");
    let (native, endpoint) = if uri.path().contains("/v1beta/") || gemini_key {
        (Platform::Gemini, Endpoint::GeminiModels)
    } else if anthropic || antigravity {
        (Platform::Anthropic, Endpoint::AnthropicModels)
    } else {
        (Platform::OpenAi, Endpoint::OpenAiModels)
    };
    // Gemini's `models/{name}:{action}` is a generation (or count), never a lookup: as a GET it
    // would be forwarded uncharged. (OpenAI model ids may hold colons: `ft:gpt-4o-mini:org::id`.)
    if endpoint == Endpoint::GeminiModels && uri.path().rsplit('/').next().is_some_and(|last| last.contains(':')) {
        return GatewayError::bad_request("models/{model}:{action} must be a POST")
            .into_response_as(ErrorShape::Gemini);
    }
    dispatch(s, native, endpoint, m, uri, h, body).await
}

/// `GET /v1/usage`: the caller's quotas, read with the gateway key (never charged).
async fn key_usage(State(s): State<AppState>, uri: Uri, h: HeaderMap) -> Response {
    let (_, key) = split_query(&uri, Endpoint::GeminiModels);
    match gateway::key_usage::key_usage(&s, &h, key.as_deref()).await {
        Ok(json) => json.into_response(),
        Err(e) => e.into_response_as(ErrorShape::OpenAi),
    }
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
    // The path is forwarded as sent, so a name that an upstream could decode into another path
    // (`flash%2F..%2Fpro`) would be priced as one model and served as another.
    if model.is_empty() || !model.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_@".contains(&b)) {
        return GatewayError::bad_request(
            "model: the model in the path must be a plain name (letters, digits, '.', '-', '_', '@')",
        )
        .into_response_as(ErrorShape::Gemini);
    }
    let (r, key) = route(platform_of(&uri, Platform::Gemini), endpoint, &uri, Some(model.to_owned()));
    gateway::handle(s, r, m, h, key, body).await
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can reach its database.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.ledger.check_writable().is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "settlement journal unwritable").into_response();
    }
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
        assert_eq!(split_query(&uri, Endpoint::GeminiStream), (Some("alt=sse".to_owned()), Some("tg-a+b".to_owned())));
        let uri: Uri = "/v1/x?key=abc".parse().unwrap();
        assert_eq!(split_query(&uri, Endpoint::OpenAiChat), (None, Some("abc".to_owned())));
        // Field masks and other encodings never reach the upstream.
        let uri: Uri = "/v1beta/models/g:generateContent?fields=candidates&%24fields=x&alt=proto".parse().unwrap();
        assert_eq!(split_query(&uri, Endpoint::GeminiGenerate), (None, None));
        let uri: Uri = "/v1/messages?beta=true&debug=1".parse().unwrap();
        assert_eq!(split_query(&uri, Endpoint::AnthropicMessages), (Some("beta=true".to_owned()), None));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
