//! The back-channel calls: code → access token → user info. One attempt each, never retried (a code
//! is single-use, and a POST must not be repeated).

use serde::Deserialize;
use serde_json::Value;
use tollgate_core::oauth::OAuthConfig;
use tollgate_core::platform::AuthSource;

use super::providers::{Endpoints, Identity};

/// JSON from a provider, with its error fields turned into a message.
async fn read_json(resp: Result<reqwest::Response, reqwest::Error>, what: &str) -> Result<Value, String> {
    // Without the URL: WeChat takes the client secret in the query string.
    let resp = resp.map_err(|e| format!("{what} request failed: {}", e.without_url()))?;
    let status = resp.status();
    let body: Value =
        resp.json().await.map_err(|e| format!("{what} answer is not JSON ({status}): {}", e.without_url()))?;
    // Standard OAuth2 errors, WeChat's errcode, DingTalk's code/message.
    let err =
        body.get("error").and_then(Value::as_str).map(str::to_owned).or_else(|| {
            body.get("errcode").and_then(Value::as_i64).filter(|c| *c != 0).map(|c| format!("errcode {c}"))
        });
    if let Some(e) = err {
        let detail = ["error_description", "errmsg", "message"]
            .iter()
            .find_map(|k| body.get(*k).and_then(Value::as_str))
            .unwrap_or("");
        return Err(format!("{what} refused: {e} {detail}").trim().to_owned());
    }
    if !status.is_success() {
        let msg = body.get("message").and_then(Value::as_str).unwrap_or("");
        return Err(format!("{what} failed with {status} {msg}").trim().to_owned());
    }
    Ok(body)
}

fn string(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Exchanges the code and fetches the user's identity.
pub async fn identify(
    http: &reqwest::Client,
    source: AuthSource,
    cfg: &OAuthConfig,
    ep: &Endpoints,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> Result<Identity, String> {
    let secret = cfg.client_secret.as_deref().unwrap_or("");
    match source {
        AuthSource::WeChat => {
            let token = read_json(
                http.get(&ep.token)
                    .query(&[("appid", cfg.client_id.as_str()), ("secret", secret), ("code", code)])
                    .query(&[("grant_type", "authorization_code")])
                    .send()
                    .await,
                "token",
            )
            .await?;
            let access = string(&token, "access_token").ok_or("token answer without access_token")?;
            let openid = string(&token, "openid").ok_or("token answer without openid")?;
            let info = read_json(
                http.get(&ep.userinfo)
                    .query(&[("access_token", access.as_str()), ("openid", openid.as_str())])
                    .send()
                    .await,
                "user info",
            )
            .await?;
            let subject = string(&info, "unionid").or_else(|| string(&token, "unionid")).unwrap_or(openid);
            Ok(Identity { subject, email: None, name: string(&info, "nickname") })
        }
        AuthSource::DingTalk => {
            #[derive(serde::Serialize)]
            #[serde(rename_all = "camelCase")]
            struct TokenRequest<'a> {
                client_id: &'a str,
                client_secret: &'a str,
                code: &'a str,
                grant_type: &'a str,
            }
            let body = TokenRequest {
                client_id: &cfg.client_id,
                client_secret: secret,
                code,
                grant_type: "authorization_code",
            };
            let token = read_json(http.post(&ep.token).json(&body).send().await, "token").await?;
            let access = string(&token, "accessToken").ok_or("token answer without accessToken")?;
            let info = read_json(
                http.get(&ep.userinfo).header("x-acs-dingtalk-access-token", access).send().await,
                "user info",
            )
            .await?;
            let subject =
                string(&info, "unionId").or_else(|| string(&info, "openId")).ok_or("user info without unionId")?;
            Ok(Identity { subject, email: string(&info, "email"), name: string(&info, "nick") })
        }
        _ => {
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("client_id", cfg.client_id.as_str()),
                ("client_secret", secret),
            ];
            if let Some(v) = verifier {
                form.push(("code_verifier", v));
            }
            let token = read_json(
                http.post(&ep.token).header(reqwest::header::ACCEPT, "application/json").form(&form).send().await,
                "token",
            )
            .await?;
            let access = string(&token, "access_token").ok_or("token answer without access_token")?;
            let info = read_json(
                http.get(&ep.userinfo)
                    .bearer_auth(access)
                    .header(reqwest::header::ACCEPT, "application/json")
                    .send()
                    .await,
                "user info",
            )
            .await?;
            standard_identity(source, &info)
        }
    }
}

/// GitHub and linux.do answer `{id, login|username, name, email}`; OIDC answers `{sub, email,
/// email_verified, name}`. An OIDC email is used only when not marked unverified.
fn standard_identity(source: AuthSource, info: &Value) -> Result<Identity, String> {
    #[derive(Deserialize)]
    struct Oidc {
        email_verified: Option<bool>,
    }
    let subject = match source {
        AuthSource::GitHub | AuthSource::LinuxDo => string(info, "id"),
        _ => string(info, "sub"),
    }
    .ok_or("user info without a subject id")?;
    let verified = serde_json::from_value::<Oidc>(info.clone()).ok().and_then(|o| o.email_verified).unwrap_or(true);
    let email = string(info, "email").filter(|_| verified);
    let name = string(info, "name").or_else(|| string(info, "login")).or_else(|| string(info, "username"));
    Ok(Identity { subject, email, name })
}
