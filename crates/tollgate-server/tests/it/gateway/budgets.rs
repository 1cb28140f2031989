//! Issue 15 budgets, black-box through the router against the mock upstream, on SQLite and
//! PostgreSQL: a key's own limits stop that key and not the user's other keys; a key's lifetime
//! budget spans platforms; the 5-hour window ends five hours after its first charge; an admin
//! top-up raises one window once and ends with it; strict mode never lets a key pass its cap.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use tollgate_core::money::Money;
use tollgate_core::platform::Platform;
use tollgate_core::quota::WindowLimits;
use tollgate_core::settings::validate_changes;
use tollgate_core::window::{QuotaWindow, WindowClock};

use crate::util::gateway::{ANTHROPIC_COST_NANOS, MODEL, OTHER_COST_NANOS, anthropic_prompt, daily};
use crate::util::test_app::{Login, TestApp, assert_error};

fn nanos(n: i64) -> Money {
    Money::from_nanos(n).unwrap()
}

/// One mock answer's cost in USD, as JSON text (0.001152).
fn one_answer() -> String {
    nanos(ANTHROPIC_COST_NANOS).to_string()
}

fn msg() -> String {
    format!(r#"{{"model":"{MODEL}","max_tokens":8,"messages":[]}}"#)
}

async fn ask(app: &TestApp, secret: &str) -> crate::util::test_app::Reply {
    app.post_json("/v1/messages", &[("x-api-key", secret)], &msg()).await
}

/// Creates a key through the user's console API; returns (id, secret, response).
async fn create_key(app: &TestApp, user: &Login, body: &str) -> (i64, String, serde_json::Value) {
    let r = app.call("POST", "/api/v1/user/api-keys", Some(&user.token), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let j = r.json();
    (j["id"].as_i64().unwrap(), j["secret"].as_str().unwrap().to_owned(), j)
}

fn key_of(list: &serde_json::Value, id: i64) -> &serde_json::Value {
    list["api_keys"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap()
}

async fn key_limit_stops_the_key_and_not_the_users_other_keys(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    let user = app.user(&admin, "keys@example.com").await;
    let body = r#"{"quotas":[{"platform":"anthropic","daily_limit_usd":1}]}"#;
    let path = format!("/api/v1/admin/users/{}/platform-quotas", user.id);
    assert_eq!(app.call("PUT", &path, Some(&admin.token), Some(body)).await.status, StatusCode::OK);

    // Key A may spend one answer a day on anthropic; key B has no limits of its own.
    let cap = one_answer();
    let body = format!(r#"{{"name":"a","quotas":[{{"platform":"anthropic","daily_limit_usd":{cap}}}]}}"#);
    let (a, a_secret, created) = create_key(&app, &user, &body).await;
    assert_eq!(created["platform_quotas"][0]["daily_limit_usd"].to_string(), cap);
    assert_eq!(created["lifetime_limit_usd"], serde_json::Value::Null);
    let (b, b_secret, _) = create_key(&app, &user, r#"{"name":"b"}"#).await;

    let r = ask(&app, &a_secret).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.headers["x-tollgate-key-quota-daily-limit-usd"], cap.as_str());
    assert_eq!(r.headers["x-tollgate-quota-daily-limit-usd"], "1");
    let r = ask(&app, &a_secret).await;
    assert_eq!(r.status, 429, "{}", r.text());
    let j = r.json();
    assert_eq!(j["error"]["code"], "key_quota_exhausted");
    assert_eq!(j["error"]["quota_owner"], "api_key");
    assert_eq!(j["error"]["window"], "daily");
    let text = j["error"]["message"].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "API key anthropic daily quota of this key exhausted: used {cap} USD of {cap} USD; resets at"
        )),
        "{text}"
    );
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    let clock = app.state.settings.clock();
    let now = jiff::Timestamp::now();
    let end = clock.current(QuotaWindow::Daily, None, now).unwrap().end;
    assert!(retry.abs_diff(WindowClock::seconds_until(now, end)) <= 2, "Retry-After {retry}");
    // The user's other key still works: the user's own cap is far away.
    assert_eq!(ask(&app, &b_secret).await.status, 200);
    assert_eq!(app.spent(user.id, Platform::Anthropic).await, 2 * ANTHROPIC_COST_NANOS);

    // The user sees each key's spend and what is left; B's spend is counted though it has no limit.
    let list = app.get_as("/api/v1/user/api-keys", &user.token).await.json();
    let qa = &key_of(&list, a)["platform_quotas"][0];
    assert_eq!((qa["daily_usage_usd"].to_string(), qa["daily_remaining_usd"].to_string()), (cap.clone(), "0".into()));
    let qb = &key_of(&list, b)["platform_quotas"][0];
    assert_eq!(
        (qb["daily_usage_usd"].to_string(), qb["daily_limit_usd"].clone()),
        (cap.clone(), serde_json::Value::Null)
    );
    assert_eq!(key_of(&list, b)["lifetime_usage_usd"].to_string(), cap);
    // So does the key itself, on GET /v1/usage: the key's figures and the user's.
    let u = app
        .send(http::Request::get("/v1/usage").header("x-api-key", &a_secret).body(axum::body::Body::empty()).unwrap())
        .await
        .json();
    assert_eq!(u["key"]["platform_quotas"][0]["daily_remaining_usd"].to_string(), "0");
    let twice = nanos(2 * ANTHROPIC_COST_NANOS).to_string();
    assert_eq!(u["platform_quotas"][0]["daily_usage_usd"].to_string(), twice);
    assert_eq!(
        u["platform_quotas"][0]["daily_remaining_usd"].to_string(),
        (Money::ONE.saturating_sub(nanos(2 * ANTHROPIC_COST_NANOS))).to_string()
    );

    // Bad limits are refused naming the field; nothing is created.
    let bad = r#"{"name":"c","quotas":[{"platform":"anthropic","five_hour_limit_usd":-1}]}"#;
    let r = app.call("POST", "/api/v1/user/api-keys", Some(&user.token), Some(bad)).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_input", Some("quotas[0].five_hour_limit_usd"));
    let r = app
        .call("POST", "/api/v1/user/api-keys", Some(&user.token), Some(r#"{"name":"c","lifetime_limit_usd":"5"}"#))
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_input", Some("lifetime_limit_usd"));
    assert_eq!(app.get_as("/api/v1/user/api-keys", &user.token).await.json()["api_keys"].as_array().unwrap().len(), 2);

    // Raising A's cap lets A through again at once; the change is audited.
    let r = app
        .call(
            "PUT",
            &format!("/api/v1/user/api-keys/{a}/quotas"),
            Some(&user.token),
            Some(r#"{"quotas":[{"platform":"anthropic","daily_limit_usd":1}]}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["platform_quotas"][0]["daily_limit_usd"], 1);
    assert_eq!(ask(&app, &a_secret).await.status, 200);
    let audit = app.get_as(&format!("/api/v1/admin/audit?user_id={}", user.id), &admin.token).await.json();
    assert_eq!(audit["entries"][0]["action"], "api_key.quotas.update");
    // Another user cannot touch A; the admin can, through the user's keys.
    let other = app.user(&admin, "other@example.com").await;
    let r = app
        .call("PUT", &format!("/api/v1/user/api-keys/{a}/quotas"), Some(&other.token), Some(r#"{"quotas":[]}"#))
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found", None);
    let path = format!("/api/v1/admin/users/{}/api-keys/{a}/quotas", user.id);
    let r = app
        .call("PUT", &path, Some(&admin.token), Some(r#"{"quotas":[{"platform":"anthropic","daily_limit_usd":0}]}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = ask(&app, &a_secret).await;
    assert_eq!((r.status, r.json()["error"]["code"].clone()), (StatusCode::FORBIDDEN, "key_quota_disabled".into()));
    let listed = app.get_as(&format!("/api/v1/admin/users/{}/api-keys", user.id), &admin.token).await.json();
    assert_eq!(key_of(&listed, a)["platform_quotas"][0]["daily_limit_usd"], 0);
    assert!(
        key_of(&listed, a)["platform_quotas"][0].get("daily_window_start").is_some(),
        "admin view has window starts"
    );
}

crate::both_backends!(
    key_limit_stops_the_key_and_not_the_users_other_keys_on_both_backends,
    super::key_limit_stops_the_key_and_not_the_users_other_keys
);

async fn lifetime_budget_spans_platforms(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    let user = app.user(&admin, "life@example.com").await;
    let body = format!(r#"{{"name":"trial","lifetime_limit_usd":{}}}"#, one_answer());
    let (id, secret, _) = create_key(&app, &user, &body).await;
    assert_eq!(ask(&app, &secret).await.status, 200);
    let r = ask(&app, &secret).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let j = r.json();
    assert_eq!(
        (j["error"]["code"].as_str(), j["error"]["window"].as_str()),
        (Some("key_budget_spent"), Some("lifetime"))
    );
    assert!(r.headers.get("retry-after").is_none());
    // The console shows it spent (and, having caught up, so does every platform's admission).
    let list = app.get_as("/api/v1/user/api-keys", &user.token).await.json();
    assert_eq!(key_of(&list, id)["lifetime_remaining_usd"], 0);
    let chat = format!(r#"{{"model":"{MODEL}","messages":[]}}"#);
    let r = app.post_json("/v1/chat/completions", &[("authorization", &format!("Bearer {secret}"))], &chat).await;
    assert_eq!((r.status, r.json()["error"]["code"].clone()), (StatusCode::FORBIDDEN, "key_budget_spent".into()));
    // A new key of the same user is not affected.
    let (_, fresh, _) = create_key(&app, &user, r#"{"name":"fresh"}"#).await;
    let r = app.post_json("/v1/chat/completions", &[("authorization", &format!("Bearer {fresh}"))], &chat).await;
    assert_eq!(r.status, 200);
    assert_eq!(app.spent(user.id, Platform::OpenAi).await, OTHER_COST_NANOS);
}

crate::both_backends!(lifetime_budget_spans_platforms_on_both_backends, super::lifetime_budget_spans_platforms);

/// The stored start of a user's 5-hour window (ms), read as the console's admin view shows it.
async fn five_hour_start(app: &TestApp, user_id: i64) -> jiff::Timestamp {
    app.state.ledger.caught_up().await;
    let rows = app.state.store.list_by_user(user_id).await.unwrap();
    rows[0].usage[QuotaWindow::FiveHour.index()].start.unwrap()
}

/// The second `t` falls in (a rolling window starts on one).
fn second_of(t: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_second(t.as_second()).unwrap()
}

async fn five_hour_window_ends_five_hours_after_its_first_charge(app: TestApp) {
    let app = app.with_mocks(false).await;
    let cap = nanos(ANTHROPIC_COST_NANOS);
    let limits = WindowLimits { five_hour: Some(cap), ..Default::default() };
    let c = app.caller("five@example.com", &[(Platform::Anthropic, limits)]).await;
    let before = jiff::Timestamp::now();
    let r = ask(&app, &c.secret).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["x-tollgate-quota-five-hour-limit-usd"], cap.to_string().as_str());
    let start = five_hour_start(&app, c.user_id).await;
    assert_eq!(start.subsec_nanosecond(), 0, "rolling windows count in whole seconds");
    assert!(start >= second_of(before), "the window starts on the second of its first charge");
    let r = ask(&app, &c.secret).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"]["window"], "five_hour");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((5 * 3600 - 5..=5 * 3600).contains(&retry), "Retry-After {retry}");
    let resets = start.checked_add(jiff::SignedDuration::from_hours(5)).unwrap();
    let admin = app.admin().await;
    let view = app.get_as(&format!("/api/v1/admin/users/{}/platform-quotas", c.user_id), &admin.token).await.json();
    let zone = app.state.settings.clock().zone;
    assert_eq!(
        view["platform_quotas"][0]["five_hour_resets_at"],
        tollgate_server::console::views::rfc3339(resets, &zone)
    );
    assert_eq!(
        view["platform_quotas"][0]["five_hour_window_start"],
        tollgate_server::console::views::rfc3339(start, &zone)
    );

    // Five hours pass (the stored start is moved back to 3 s short of that): still refused, for
    // at most 3 more seconds; then the window is over and the next charge starts a new one.
    let back = 5 * 3_600_000 - 3_000;
    app.db
        .exec(&format!("UPDATE user_platform_quotas SET five_hour_window_start_ms = five_hour_window_start_ms - {back} WHERE user_id = {}", c.user_id))
        .await
        .unwrap();
    app.state.ledger.invalidate_user(c.user_id);
    let r = ask(&app, &c.secret).await;
    assert_eq!(r.status, 429);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry <= 3, "Retry-After {retry}");
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    let at = jiff::Timestamp::now();
    assert_eq!(ask(&app, &c.secret).await.status, 200);
    let new_start = five_hour_start(&app, c.user_id).await;
    assert!(new_start >= second_of(at), "{new_start} vs {at}");
    let rows = app.state.store.list_by_user(c.user_id).await.unwrap();
    assert_eq!(rows[0].usage[QuotaWindow::FiveHour.index()].usage, cap);
    // The daily window kept counting both answers.
    assert_eq!(app.spent(c.user_id, Platform::Anthropic).await, 2 * ANTHROPIC_COST_NANOS);
}

crate::both_backends!(
    five_hour_window_on_both_backends,
    super::five_hour_window_ends_five_hours_after_its_first_charge
);

async fn top_up_raises_one_window_once(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    let cap = one_answer();
    let c = app.caller("topup@example.com", &daily(Platform::Anthropic, &cap)).await;
    assert_eq!(ask(&app, &c.secret).await.status, 200);
    assert_eq!(ask(&app, &c.secret).await.status, 429);

    let path = format!("/api/v1/admin/users/{}/platform-quotas/top-up", c.user_id);
    let body = format!(r#"{{"platform":"anthropic","window":"daily","amount_usd":{cap}}}"#);
    let r = app.call("POST", &path, Some(&admin.token), Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = &r.json()["platform_quotas"][0];
    assert_eq!((v["daily_limit_usd"].to_string(), v["daily_topup_usd"].to_string()), (cap.clone(), cap.clone()));
    assert_eq!(v["daily_remaining_usd"].to_string(), cap);
    let r = ask(&app, &c.secret).await;
    assert_eq!(r.status, 200);
    let twice = nanos(2 * ANTHROPIC_COST_NANOS).to_string();
    assert_eq!(r.headers["x-tollgate-quota-daily-limit-usd"], twice.as_str());
    let r = ask(&app, &c.secret).await;
    assert_eq!(r.status, 429);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains(&format!("used {twice} USD of {twice} USD")));

    // Only a capped window can be topped up; amounts above 0; admins only.
    for (body, field) in [
        (r#"{"platform":"anthropic","window":"weekly","amount_usd":1}"#, "window"),
        (r#"{"platform":"gemini","window":"daily","amount_usd":1}"#, "window"),
        (r#"{"platform":"anthropic","window":"daily","amount_usd":0}"#, "amount_usd"),
        (r#"{"platform":"anthropic","window":"hourly","amount_usd":1}"#, "window"),
    ] {
        let r = app.call("POST", &path, Some(&admin.token), Some(body)).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_input", Some(field));
    }
    let plain = app.user(&admin, "plain@example.com").await;
    assert_eq!(app.call("POST", &path, Some(&plain.token), Some(&body)).await.status, StatusCode::FORBIDDEN);
    let audit = app.get_as(&format!("/api/v1/admin/audit?user_id={}", c.user_id), &admin.token).await.json();
    let e = &audit["entries"][0];
    assert_eq!((e["action"].as_str(), e["platform"].as_str()), (Some("user.quota.top_up"), Some("anthropic")));
    assert_eq!(e["after"]["topup_usd"].to_string(), cap);

    // The top-up ends with its window: once the day is over (its stored start moved back a day),
    // the view shows none and the next charge clears it from the row.
    app.db
        .exec(&format!("UPDATE user_platform_quotas SET daily_window_start_ms = daily_window_start_ms - 86400000 WHERE user_id = {}", c.user_id))
        .await
        .unwrap();
    app.state.ledger.invalidate_user(c.user_id);
    let v = app.get_as(&format!("/api/v1/admin/users/{}/platform-quotas", c.user_id), &admin.token).await.json();
    assert_eq!(v["platform_quotas"][0]["daily_topup_usd"], 0);
    assert_eq!(ask(&app, &c.secret).await.status, 200);
    app.state.ledger.caught_up().await;
    let rows = app.state.store.list_by_user(c.user_id).await.unwrap();
    assert_eq!(rows[0].topup[QuotaWindow::Daily.index()], Money::ZERO);
    assert_eq!(rows[0].limits.daily, Some(nanos(ANTHROPIC_COST_NANOS)), "the limit itself never changed");

    // A key's window is topped up the same way.
    let user = app.user(&admin, "keytop@example.com").await;
    let body = format!(r#"{{"name":"k","quotas":[{{"platform":"anthropic","daily_limit_usd":{cap}}}]}}"#);
    let (key, secret, _) = create_key(&app, &user, &body).await;
    assert_eq!(ask(&app, &secret).await.status, 200);
    assert_eq!(ask(&app, &secret).await.status, 429);
    let path = format!("/api/v1/admin/users/{}/api-keys/{key}/top-up", user.id);
    let r = app
        .call(
            "POST",
            &path,
            Some(&admin.token),
            Some(&format!(r#"{{"platform":"anthropic","window":"daily","amount_usd":{cap}}}"#)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["platform_quotas"][0]["daily_topup_usd"].to_string(), cap);
    assert_eq!(ask(&app, &secret).await.status, 200);
    // Another user's id in the path: 404.
    let wrong = format!("/api/v1/admin/users/{}/api-keys/{key}/top-up", c.user_id);
    let r = app
        .call(
            "POST",
            &wrong,
            Some(&admin.token),
            Some(&format!(r#"{{"platform":"anthropic","window":"daily","amount_usd":{cap}}}"#)),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

crate::both_backends!(top_up_on_both_backends, super::top_up_raises_one_window_once);

async fn strict_mode_never_lets_a_key_pass_its_cap(app: TestApp) {
    let app = Arc::new(app.with_mocks(false).await);
    let changes = validate_changes(r#"{"quota_enforcement":"strict"}"#).unwrap();
    app.state.store.save_settings(&changes, jiff::Timestamp::now()).await.unwrap();
    app.state.settings.refresh().await.unwrap();
    let admin = app.admin().await;
    let user = app.user(&admin, "strictkey@example.com").await;
    // The user is unlimited; the key may spend 0.02 USD a day.
    let (_, secret, _) =
        create_key(&app, &user, r#"{"name":"s","quotas":[{"platform":"anthropic","daily_limit_usd":0.02}]}"#).await;
    let body = anthropic_prompt(false, 50);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (app, secret, body) = (app.clone(), secret.clone(), body.clone());
        set.spawn(async move { app.post_json("/v1/messages", &[("x-api-key", &secret)], &body).await.status.as_u16() });
    }
    let (mut ok, mut refused) = (0, 0);
    while let Some(s) = set.join_next().await {
        match s.unwrap() {
            200 => ok += 1,
            429 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(ok > 0 && refused > 0, "ok {ok}, refused {refused}");
    let spent = app.spent(user.id, Platform::Anthropic).await;
    assert_eq!(spent, ok as i64 * ANTHROPIC_COST_NANOS);
    assert!(spent <= 20_000_000, "a key in strict mode spent {spent} nano-USD of a 0.02 USD cap");
}

crate::both_backends!(strict_key_cap_on_both_backends, super::strict_mode_never_lets_a_key_pass_its_cap);
