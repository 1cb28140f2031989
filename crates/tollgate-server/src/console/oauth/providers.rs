//! What differs between providers: endpoints, the shape of the authorize URL, of the token exchange
//! and of the user info. Every endpoint can be overridden in the source's settings value.
//!
//! Wire facts:
//! - Standard OAuth2 / OIDC (GitHub, Google, linux.do, generic OIDC): RFC 6749 code flow; the token
//!   request is a form POST (`Accept: application/json`, which GitHub needs to answer in JSON).
//!   PKCE (RFC 7636, S256) where the provider supports it.
//! - WeChat website login (open.weixin.qq.com "网站应用微信登录"): `qrconnect?appid=…&scope=snsapi_login
//!   …#wechat_redirect`; the token is a GET `sns/oauth2/access_token?appid&secret&code&grant_type`
//!   answering `{access_token, openid, unionid?}` or `{errcode, errmsg}`; user info is a GET
//!   `sns/userinfo?access_token&openid` → `{openid, nickname, unionid?}`. The subject is the unionid
//!   when present (stable across a company's apps), else the openid.
//! - DingTalk (login.dingtalk.com/oauth2/auth, new-style API): the callback carries `authCode`;
//!   the token is a JSON POST to `v1.0/oauth2/userAccessToken` with `{clientId, clientSecret, code,
//!   grantType}` → `{accessToken, expireIn, refreshToken}`; user info is
//!   `GET v1.0/contact/users/me` with header `x-acs-dingtalk-access-token` →
//!   `{nick, unionId, openId, email?, mobile?}`. The subject is the unionId.

use serde::Deserialize;
use tollgate_core::oauth::OAuthConfig;
use tollgate_core::platform::AuthSource;

/// A provider's resolved endpoints.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub authorize: String,
    pub token: String,
    pub userinfo: String,
    pub scopes: String,
    pub pkce: bool,
}

/// Built-in endpoints: (authorize, token, userinfo, scopes, pkce). The generic OIDC source has none.
fn defaults(source: AuthSource) -> Option<(&'static str, &'static str, &'static str, &'static str, bool)> {
    Some(match source {
        AuthSource::GitHub => (
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            "https://api.github.com/user",
            "read:user user:email",
            true,
        ),
        AuthSource::Google => (
            "https://accounts.google.com/o/oauth2/v2/auth",
            "https://oauth2.googleapis.com/token",
            "https://openidconnect.googleapis.com/v1/userinfo",
            "openid email profile",
            true,
        ),
        AuthSource::LinuxDo => (
            "https://connect.linux.do/oauth2/authorize",
            "https://connect.linux.do/oauth2/token",
            "https://connect.linux.do/api/user",
            "user",
            false,
        ),
        AuthSource::DingTalk => (
            "https://login.dingtalk.com/oauth2/auth",
            "https://api.dingtalk.com/v1.0/oauth2/userAccessToken",
            "https://api.dingtalk.com/v1.0/contact/users/me",
            "openid",
            false,
        ),
        AuthSource::WeChat => (
            "https://open.weixin.qq.com/connect/qrconnect",
            "https://api.weixin.qq.com/sns/oauth2/access_token",
            "https://api.weixin.qq.com/sns/userinfo",
            "snsapi_login",
            false,
        ),
        AuthSource::Oidc | AuthSource::Email => return None,
    })
}

/// The subset of an OIDC discovery document we use.
#[derive(Debug, Deserialize)]
pub struct Discovery {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: Option<String>,
}

/// Endpoints of `source`: configured overrides, else discovery (OIDC), else the built-ins.
pub async fn endpoints(source: AuthSource, cfg: &OAuthConfig, http: &reqwest::Client) -> Result<Endpoints, String> {
    let (mut authorize, mut token, mut userinfo, scopes, pkce) = match defaults(source) {
        Some((a, t, u, s, p)) => (Some(a.to_owned()), Some(t.to_owned()), Some(u.to_owned()), s.to_owned(), p),
        None => (None, None, None, "openid email profile".to_owned(), true),
    };
    if let Some(url) = &cfg.discovery_url {
        let doc: Discovery = http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("discovery failed: {e}"))?
            .json()
            .await
            .map_err(|e| format!("bad discovery document: {e}"))?;
        authorize = Some(doc.authorization_endpoint);
        token = Some(doc.token_endpoint);
        userinfo = doc.userinfo_endpoint.or(userinfo);
    }
    let pick = |over: &Option<String>, base: Option<String>, what: &str| {
        over.clone().or(base).ok_or_else(|| format!("no {what} endpoint configured"))
    };
    Ok(Endpoints {
        authorize: pick(&cfg.authorize_url, authorize, "authorization")?,
        token: pick(&cfg.token_url, token, "token")?,
        userinfo: pick(&cfg.userinfo_url, userinfo, "user info")?,
        scopes: cfg.scopes.clone().unwrap_or(scopes),
        pkce,
    })
}

/// The URL the browser is sent to.
pub fn authorize_url(
    source: AuthSource,
    ep: &Endpoints,
    cfg: &OAuthConfig,
    redirect_uri: &str,
    state: &str,
    challenge: Option<&str>,
) -> Result<String, String> {
    let mut url = reqwest::Url::parse(&ep.authorize).map_err(|e| format!("bad authorization URL: {e}"))?;
    {
        let mut q = url.query_pairs_mut();
        match source {
            AuthSource::WeChat => {
                q.append_pair("appid", &cfg.client_id);
            }
            _ => {
                q.append_pair("client_id", &cfg.client_id);
            }
        }
        q.append_pair("redirect_uri", redirect_uri);
        q.append_pair("response_type", "code");
        if !ep.scopes.is_empty() {
            q.append_pair("scope", &ep.scopes);
        }
        q.append_pair("state", state);
        if source == AuthSource::DingTalk {
            q.append_pair("prompt", "consent");
        }
        if let Some(c) = challenge {
            q.append_pair("code_challenge", c);
            q.append_pair("code_challenge_method", "S256");
        }
    }
    let mut s = url.to_string();
    // WeChat requires this fragment on the QR-connect page.
    if source == AuthSource::WeChat {
        s.push_str("#wechat_redirect");
    }
    Ok(s)
}

/// Who the provider says the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Stable id at the provider.
    pub subject: String,
    /// Only when the provider vouches for it.
    pub email: Option<String>,
    pub name: Option<String>,
}
