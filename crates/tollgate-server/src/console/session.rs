//! Console sessions: the token (a cookie or a bearer header), the CSRF rule, and the extractors
//! that give handlers the signed-in user.
//!
//! The token is 256 random bits; only its SHA-256 is stored. A cookie-authenticated request that
//! changes state must echo the session's CSRF token in `X-CSRF-Token` (the `tollgate_csrf` cookie is
//! readable by the page's script, not by other sites). A bearer token is never sent by a browser on
//! its own, so it needs no CSRF header.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use jiff::{SignedDuration, Timestamp};
use rand::RngCore;
use tollgate_store::{NewSession, Role, User};

use super::error::ConsoleError;
use crate::keys::hash_secret;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "tollgate_session";
pub const CSRF_COOKIE: &str = "tollgate_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a console session lasts.
pub const SESSION_TTL: SignedDuration = SignedDuration::from_hours(7 * 24);

/// Random hex of `bytes` bytes.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// The value of cookie `name`, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// Whether the client reached us over HTTPS, as a trusted proxy says (`X-Forwarded-Proto` from
/// anyone else is removed before handlers run: see `console::client`).
pub fn is_https(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value. `Secure` only over HTTPS, so plain-HTTP local setups keep working.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_secs: i64,
    http_only: bool,
    secure: bool,
    path: &str,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; Max-Age={max_age_secs}; SameSite=Lax");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("tollgate_invalid=; Max-Age=0"))
}

/// A new session for `user`: the stored row, the token and the cookies that carry it.
pub struct IssuedSession {
    pub token: String,
    pub cookies: [HeaderValue; 2],
}

/// Creates a session and the cookies for it.
pub async fn issue(state: &AppState, user: &User, secure: bool) -> Result<IssuedSession, ConsoleError> {
    let token = random_hex(32);
    let csrf = random_hex(16);
    let now = Timestamp::now();
    let new = NewSession {
        token_hash: hash_secret(&token),
        user_id: user.id,
        csrf_token: csrf.clone(),
        expires_at: now.checked_add(SESSION_TTL).map_err(|e| ConsoleError::Internal(e.to_string()))?,
    };
    state.store.create_session(&new, now).await?;
    let age = SESSION_TTL.as_secs();
    let cookies = [
        set_cookie(SESSION_COOKIE, &token, age, true, secure, "/"),
        set_cookie(CSRF_COOKIE, &csrf, age, false, secure, "/"),
    ];
    Ok(IssuedSession { token, cookies })
}

/// Cookies that end the session in the browser.
pub fn clearing_cookies(secure: bool) -> [HeaderValue; 2] {
    [set_cookie(SESSION_COOKIE, "", 0, true, secure, "/"), set_cookie(CSRF_COOKIE, "", 0, false, secure, "/")]
}

/// The signed-in user of a console request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    /// SHA-256 of the session token (to end this session on logout).
    pub token_hash: String,
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (token, via_cookie) = match bearer(&parts.headers) {
            Some(t) => (t, false),
            None => match cookie(&parts.headers, SESSION_COOKIE).filter(|t| !t.is_empty()) {
                Some(t) => (t, true),
                None => return Err(ConsoleError::Unauthenticated("sign in first".into())),
            },
        };
        let token_hash = hash_secret(&token);
        let session = state
            .store
            .find_session(&token_hash, Timestamp::now())
            .await?
            .ok_or_else(|| ConsoleError::Unauthenticated("the session has expired; sign in again".into()))?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if via_cookie && !safe {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
                return Err(ConsoleError::CsrfFailed);
            }
        }
        Ok(Caller { user: session.user, token_hash })
    }
}

/// A signed-in admin; 403 for other users.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.user.role != Role::Admin {
            return Err(ConsoleError::Forbidden("this needs an admin account".into()));
        }
        Ok(Admin(caller))
    }
}
