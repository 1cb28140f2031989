//! `POST /auth/login`, `POST /auth/logout`, `GET /me`, `POST /auth/register`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tollgate_core::platform::AuthSource;
use tollgate_store::{NewUser, User, UserStatus};

use super::accounts::{self, MIN_PASSWORD_CHARS};
use super::body::{JsonObject, Obj};
use super::error::{ConsoleError, ConsoleResult};
use super::session::{self, Caller};
use super::views::UserOut;
use crate::state::AppState;

/// Longest accepted password (argon2 work grows with it).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// `{"token","user"}`.
#[derive(Serialize)]
pub struct LoginOut {
    pub token: String,
    pub user: UserOut,
}

/// The client's address: as resolved from a trusted proxy's `X-Forwarded-For` (see
/// [`super::client`]), else the TCP peer when the server runs with connect info.
pub struct ClientAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let resolved = parts.extensions.get::<super::client::ClientIp>().map(|c| c.0);
        let ip = resolved.unwrap_or_else(|| parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()));
        Ok(ClientAddr(ip.map(|ip| ip.to_string())))
    }
}

/// An email address: trimmed, with one `@`, no spaces, at most 254 chars; no control or invisible
/// characters and no empty domain label (`demo@example.com.`, `dem\u{200b}o@…`), which would let a
/// second account look like an existing one in the admin's lists.
pub fn parse_email(o: &Obj) -> ConsoleResult<String> {
    let email = o.text("email", 254)?;
    let invisible = |c: char| {
        c.is_control()
            || c.is_whitespace()
            || matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
    };
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.split('.').all(|label| !label.is_empty())
                && !email.contains(invisible)
        }
        None => false,
    };
    if !valid {
        return Err(ConsoleError::invalid(o.field("email"), "must be an email address"));
    }
    Ok(email.to_lowercase())
}

/// A new password: 8..=1024 characters.
pub fn parse_new_password(o: &Obj, name: &str) -> ConsoleResult<Option<String>> {
    let Some(pw) = o.opt_string(name)? else { return Ok(None) };
    let n = pw.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(ConsoleError::invalid(
            o.field(name),
            format!("must have at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(ConsoleError::invalid(o.field(name), format!("must have at most {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(Some(pw))
}

/// The response of a successful login or signup: the session cookies and `{"token","user"}`.
pub async fn signed_in(state: &AppState, headers: &HeaderMap, user: &User) -> ConsoleResult<Response> {
    let issued = session::issue(state, user, session::is_https(headers)).await?;
    let zone = state.settings.clock().zone;
    let mut resp = Json(LoginOut { token: issued.token, user: UserOut::new(user, &zone) }).into_response();
    for c in issued.cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(resp)
}

/// Signs in with email and password. 401 for a wrong password or unknown email, 429 when throttled.
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: JsonObject,
) -> ConsoleResult<Response> {
    let o = &body.obj;
    let email = o.text("email", 254)?;
    let password = o.opt_string("password")?.ok_or_else(|| ConsoleError::invalid("password", "is required"))?;
    let throttle = &state.console.throttle;
    throttle
        .check(&email, address.as_deref())
        .map_err(|secs| ConsoleError::TooManyRequests { retry_after_secs: secs })?;
    let user = state.store.find_user_by_email(&email).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let ok = password.chars().count() <= MAX_PASSWORD_CHARS && accounts::verify_password(&password, hash).await;
    let user = match user {
        Some(u) if ok && u.password_hash.is_some() => u,
        _ => {
            throttle.failed(&email, address.as_deref());
            return Err(ConsoleError::Unauthenticated("wrong email or password".into()));
        }
    };
    throttle.succeeded(&email, address.as_deref());
    if user.status != UserStatus::Active {
        return Err(ConsoleError::Forbidden("this account is disabled".into()));
    }
    signed_in(&state, &headers, &user).await
}

/// Ends the current session and clears the cookies. Returns `{}`.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, caller: Caller) -> ConsoleResult<Response> {
    state.store.delete_session(&caller.token_hash).await?;
    let mut resp = Json(serde_json::json!({})).into_response();
    for c in session::clearing_cookies(session::is_https(&headers)) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(resp)
}

/// The signed-in user.
pub async fn me(State(state): State<AppState>, caller: Caller) -> Json<UserOut> {
    Json(UserOut::new(&caller.user, &state.settings.clock().zone))
}

/// Email signup, when `registration_enabled`: the new user snapshots the email source's defaults.
pub async fn register(State(state): State<AppState>, headers: HeaderMap, body: JsonObject) -> ConsoleResult<Response> {
    let settings = state.settings.get();
    if !settings.registration_enabled {
        return Err(ConsoleError::Forbidden("registration is closed".into()));
    }
    let o = &body.obj;
    let email = parse_email(o)?;
    let password =
        parse_new_password(o, "password")?.ok_or_else(|| ConsoleError::invalid("password", "is required"))?;
    let display_name = o.opt_text("display_name", 100)?.unwrap_or_default();
    let mut new = NewUser::new(&email, AuthSource::Email);
    new.display_name = display_name;
    new.password_hash = Some(accounts::hash_password(&password).await?);
    let user = accounts::create_user(&*state.store, &settings, &new, true).await.map_err(|e| match e {
        tollgate_store::StoreError::Conflict(_) => {
            ConsoleError::Conflict { field: Some("email".into()), message: "this email is already registered".into() }
        }
        other => other.into(),
    })?;
    signed_in(&state, &headers, &user).await
}
