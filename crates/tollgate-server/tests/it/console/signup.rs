//! Signup from each of the seven sources snapshots exactly "system defaults patched by the source's
//! overrides", in the same transaction as the user; a known identity logs in without a new snapshot.

use std::collections::BTreeMap;

use tollgate_core::platform::AuthSource;

use super::oauth::{session_of, sign_in};
use crate::util::mock_oauth::MockOAuth;
use crate::util::test_app::TestApp;

/// System: anthropic 10/50/null, openai disabled daily, gemini 100 monthly. Each source overrides
/// differently (0, a number, null = inherit, a new platform, nothing at all).
const SYSTEM: &str =
    r#"{"anthropic":{"daily":10,"weekly":50,"monthly":null},"openai":{"daily":0},"gemini":{"monthly":100}}"#;

fn overrides() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("email", r#"{"anthropic":{"daily":0}}"#),
        ("linuxdo", r#"{"openai":{"daily":5}}"#),
        ("oidc", r#"{"antigravity":{"weekly":7}}"#),
        ("wechat", r#"{"gemini":{"monthly":0}}"#),
        ("github", r#"{"anthropic":{"weekly":null,"monthly":1.5}}"#),
        ("google", r#"{}"#),
        ("dingtalk", r#"{"anthropic":{"daily":null},"openai":{"weekly":0.000000001}}"#),
    ])
}

/// (platform, daily, weekly, monthly) rows each source's new user must get.
fn expected(source: &str) -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    let base = [("anthropic", "10", "50", "-"), ("openai", "0", "-", "-"), ("gemini", "-", "-", "100")];
    let mut rows: Vec<_> = base.to_vec();
    match source {
        "email" => rows[0] = ("anthropic", "0", "50", "-"),
        "linuxdo" => rows[1] = ("openai", "5", "-", "-"),
        "oidc" => rows.push(("antigravity", "-", "7", "-")),
        "wechat" => rows[2] = ("gemini", "-", "-", "0"),
        "github" => rows[0] = ("anthropic", "10", "50", "1.5"),
        "dingtalk" => rows[1] = ("openai", "0", "0.000000001", "-"),
        _ => {}
    }
    rows
}

async fn rows_of(app: &TestApp, user_id: i64) -> Vec<(String, String, String, String)> {
    let s = |v: Option<tollgate_core::money::Money>| v.map_or("-".to_owned(), |m| m.to_string());
    app.state
        .store
        .list_by_user(user_id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.platform.to_string(), s(r.limits.daily), s(r.limits.weekly), s(r.limits.monthly)))
        .collect()
}

async fn seven_sources(app: TestApp) {
    let mock = MockOAuth::start().await;
    let admin = app.admin().await;
    let mut settings = serde_json::from_str::<serde_json::Value>(&mock.all_settings()).unwrap();
    settings["default_platform_quotas"] = serde_json::from_str(SYSTEM).unwrap();
    for (src, o) in overrides() {
        settings[format!("auth_source_default_{src}_platform_quotas")] = serde_json::from_str(o).unwrap();
    }
    app.put_settings(&admin, &settings.to_string()).await;

    for source in AuthSource::ALL.iter().map(|s| s.as_str()) {
        let token = if source == "email" {
            let body = r#"{"email":"mail@example.com","password":"pass-word-1","display_name":"M"}"#;
            let r = app.call("POST", "/api/v1/auth/register", None, Some(body)).await;
            r.json()["token"].as_str().unwrap().to_owned()
        } else {
            session_of(&sign_in(&app, source, &format!("{source}1")).await)
        };
        let me = app.get_as("/api/v1/me", &token).await.json();
        assert_eq!(me["auth_source"], source);
        let want: Vec<_> = expected(source)
            .into_iter()
            .map(|(a, b, c, d)| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned()))
            .collect();
        let mut got = rows_of(&app, me["id"].as_i64().unwrap()).await;
        let order = |p: &str| ["anthropic", "openai", "gemini", "antigravity"].iter().position(|x| *x == p);
        got.sort_by_key(|r| order(&r.0));
        assert_eq!(got, want, "{source}");
    }

    // A known identity logs in without a new snapshot, even after the admin changed its limits
    // and the defaults changed.
    let r = sign_in(&app, "github", "github1").await;
    let uid = app.get_as("/api/v1/me", &session_of(&r)).await.json()["id"].as_i64().unwrap();
    let path = format!("/api/v1/admin/users/{uid}/platform-quotas");
    app.call("PUT", &path, Some(&admin.token), Some(r#"{"quotas":[{"platform":"gemini","daily_limit_usd":3}]}"#)).await;
    app.put_settings(&admin, r#"{"default_platform_quotas":{"openai":{"daily":99}}}"#).await;
    let users = app.state.store.count_users().await.unwrap();
    let again = sign_in(&app, "github", "github1").await;
    assert_eq!(app.get_as("/api/v1/me", &session_of(&again)).await.json()["id"], uid);
    assert_eq!(app.state.store.count_users().await.unwrap(), users);
    let active: Vec<_> = app
        .state
        .store
        .list_by_user(uid)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.active)
        .map(|r| r.platform.to_string())
        .collect();
    assert_eq!(active, ["gemini"]);
}
crate::both_backends!(signup_from_each_source_snapshots_its_defaults, super::seven_sources);
