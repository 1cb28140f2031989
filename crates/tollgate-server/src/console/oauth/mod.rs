//! OAuth2 / OpenID Connect signup and login: `GET /auth/oauth/{source}/start` and `…/callback`.
//!
//! `start` picks a random `state` (and a PKCE verifier where the provider supports it), keeps them in
//! a short-lived HttpOnly cookie scoped to these routes, and redirects to the provider. `callback`
//! checks the state against the cookie, exchanges the code, reads the identity and finds or creates
//! the user: a new user snapshots its source's default quotas in the same transaction as its
//! creation; a known identity just logs in. Failures redirect to `/login?oauth_error=<reason>`,
//! because this is a browser navigation, not an API call.

pub mod exchange;
pub mod providers;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use jiff::Timestamp;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tollgate_core::platform::AuthSource;
use tollgate_store::{NewUser, StoreError, User, UserStatus};

use super::error::ConsoleError;
use super::session::{self, cookie, random_hex, set_cookie};
use crate::state::AppState;

const STATE_COOKIE: &str = "tollgate_oauth";
const STATE_COOKIE_PATH: &str = "/api/v1/auth/oauth";
const STATE_TTL_SECS: i64 = 600;

fn redirect(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    for c in cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// Back to the login page with a reason the UI can show.
fn fail(reason: &str, detail: &str, secure: bool) -> Response {
    tracing::warn!(reason, detail, "OAuth login failed");
    let clear = set_cookie(STATE_COOKIE, "", 0, true, secure, STATE_COOKIE_PATH);
    redirect(&format!("/login?oauth_error={reason}"), vec![clear])
}

fn parse_source(name: &str) -> Result<AuthSource, ConsoleError> {
    name.parse::<AuthSource>()
        .ok()
        .filter(|s| *s != AuthSource::Email)
        .ok_or_else(|| ConsoleError::not_found(format!("no OAuth login {name:?}")))
}

/// The callback URL: configured, else from the request's `Host` (and `X-Forwarded-Proto`).
fn redirect_uri(source: AuthSource, configured: Option<&str>, headers: &HeaderMap) -> Result<String, ConsoleError> {
    if let Some(url) = configured {
        return Ok(url.to_owned());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b)))
        .ok_or_else(|| ConsoleError::invalid("", "missing or invalid Host header"))?;
    let scheme = if session::is_https(headers) { "https" } else { "http" };
    Ok(format!("{scheme}://{host}/api/v1/auth/oauth/{source}/callback"))
}

fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Redirects to the provider's login page. 404 for a source that is not configured.
pub async fn start(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    let source = parse_source(&source)?;
    let settings = state.settings.get();
    let cfg = settings
        .oauth
        .get(&source)
        .ok_or_else(|| ConsoleError::not_found(format!("{source} login is not configured")))?;
    let ep = providers::endpoints(source, cfg, &state.console.http).await.map_err(ConsoleError::Unavailable)?;
    let redirect_to = redirect_uri(source, cfg.redirect_url.as_deref(), &headers)?;
    let st = random_hex(16);
    let verifier = ep.pkce.then(|| random_hex(32));
    let challenge = verifier.as_deref().map(pkce_challenge);
    let url = providers::authorize_url(source, &ep, cfg, &redirect_to, &st, challenge.as_deref())
        .map_err(ConsoleError::Internal)?;
    let value = format!("{source}.{st}.{}", verifier.unwrap_or_default());
    let c = set_cookie(STATE_COOKIE, &value, STATE_TTL_SECS, true, session::is_https(&headers), STATE_COOKIE_PATH);
    Ok(redirect(&url, vec![c]))
}

/// What a provider sends back. DingTalk calls the code `authCode`.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    #[serde(rename = "authCode")]
    auth_code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Finishes the login: checks the state, exchanges the code, finds or creates the user, sets the
/// session cookies and redirects to `/`.
pub async fn callback(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ConsoleError> {
    let source = parse_source(&source)?;
    let secure = session::is_https(&headers);
    let Ok(Query(q)) = query else { return Ok(fail("bad_request", "unreadable query", secure)) };
    let Some(cfg) = state.settings.get().oauth.get(&source).cloned() else {
        return Err(ConsoleError::not_found(format!("{source} login is not configured")));
    };
    if let Some(e) = &q.error {
        return Ok(fail("denied", &format!("{e} {}", q.error_description.as_deref().unwrap_or("")), secure));
    }
    // The state must match the one this browser was given at start, for this source.
    let saved = cookie(&headers, STATE_COOKIE).unwrap_or_default();
    let mut parts = saved.splitn(3, '.');
    let (saved_source, saved_state, verifier) = (parts.next(), parts.next(), parts.next());
    let state_ok = saved_source == Some(source.as_str())
        && saved_state.is_some_and(|s| !s.is_empty() && Some(s) == q.state.as_deref());
    if !state_ok {
        return Ok(fail("state_mismatch", "state does not match the login that was started", secure));
    }
    let Some(code) = q.code.or(q.auth_code).filter(|c| !c.is_empty()) else {
        return Ok(fail("bad_request", "no code", secure));
    };
    let http = &state.console.http;
    let ep = match providers::endpoints(source, &cfg, http).await {
        Ok(ep) => ep,
        Err(e) => return Ok(fail("provider", &e, secure)),
    };
    let redirect_to = redirect_uri(source, cfg.redirect_url.as_deref(), &headers)?;
    let verifier = verifier.filter(|v| !v.is_empty() && ep.pkce);
    let identity = match exchange::identify(http, source, &cfg, &ep, &code, &redirect_to, verifier).await {
        Ok(i) => i,
        Err(e) => return Ok(fail("provider", &e, secure)),
    };
    let user = match find_or_create(&state, source, &identity).await {
        Ok(u) => u,
        Err(Refusal::Closed) => return Ok(fail("registration_closed", "new accounts are not accepted", secure)),
        Err(Refusal::Disabled) => return Ok(fail("disabled", "account disabled", secure)),
        Err(Refusal::Error(e)) => return Err(e),
    };
    let issued = session::issue(&state, &user, secure).await?;
    let mut cookies = issued.cookies.to_vec();
    cookies.push(set_cookie(STATE_COOKIE, "", 0, true, secure, STATE_COOKIE_PATH));
    Ok(redirect("/", cookies))
}

enum Refusal {
    Closed,
    Disabled,
    Error(ConsoleError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Error(e.into())
    }
}

/// A placeholder address for identities without a usable email (WeChat never gives one; an email
/// that already belongs to another account is not linked, so an OAuth login cannot take it over).
fn placeholder_email(source: AuthSource, subject: &str) -> String {
    let safe: String =
        subject.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    format!("{source}_{safe}@oauth.invalid")
}

async fn find_or_create(state: &AppState, source: AuthSource, id: &providers::Identity) -> Result<User, Refusal> {
    if let Some(u) = state.store.find_user_by_identity(source, &id.subject).await? {
        return if u.status == UserStatus::Active { Ok(u) } else { Err(Refusal::Disabled) };
    }
    let settings = state.settings.get();
    if !settings.registration_enabled {
        return Err(Refusal::Closed);
    }
    let email = match &id.email {
        Some(e) if state.store.find_user_by_email(e).await?.is_none() => e.clone(),
        _ => placeholder_email(source, &id.subject),
    };
    let mut new = NewUser::new(&email, source);
    new.display_name = id.name.clone().unwrap_or_default().chars().take(100).collect();
    let initial = settings.defaults_for(source).snapshot();
    match state.store.create_user_with_identity(&new, source, &id.subject, &initial, Timestamp::now()).await {
        Ok(u) => Ok(u),
        // Two callbacks for the same new identity raced: the other one created it.
        Err(StoreError::Conflict(_)) => {
            state.store.find_user_by_identity(source, &id.subject).await?.ok_or(Refusal::Error(
                ConsoleError::Conflict { field: None, message: "this account's email is already in use".into() },
            ))
        }
        Err(e) => Err(e.into()),
    }
}
