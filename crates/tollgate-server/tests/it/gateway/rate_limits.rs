//! Rate limits (docs/rate-limits.md): RPM and concurrency hold under 200 parallel requests, a key
//! limit stops that key only, TPM refuses once answered tokens reach the limit, every platform's
//! 429 is native with Retry-After, settings errors name the field, and two processes on one
//! PostgreSQL share one RPM limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use http::StatusCode;
use tollgate_core::platform::Platform;
use tollgate_store::testing::TestDb;

use crate::util::gateway::{MODEL, anthropic_prompt};
use crate::util::test_app::{Login, TestApp, assert_error};

const PARALLEL: usize = 200;

/// Waits out the last seconds of a UTC minute, so a burst falls into one minute bucket.
async fn fresh_minute() {
    let into = jiff::Timestamp::now().as_millisecond().rem_euclid(60_000);
    if into > 45_000 {
        tokio::time::sleep(Duration::from_millis(u64::try_from(60_000 - into + 200).unwrap())).await;
    }
}

/// Fires `PARALLEL` requests at once on `path` with `headers`; returns (2xx, 429) counts.
async fn burst(app: &Arc<TestApp>, path: &str, headers: Vec<(String, String)>, body: String) -> (usize, usize) {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..PARALLEL {
        let (app, headers, body, path) = (app.clone(), headers.clone(), body.clone(), path.to_owned());
        set.spawn(async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.post_json(&path, &h, &body).await.status.as_u16()
        });
    }
    let (mut ok, mut limited) = (0, 0);
    while let Some(s) = set.join_next().await {
        match s.unwrap() {
            200 => ok += 1,
            429 => limited += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    (ok, limited)
}

fn anthropic_headers(secret: &str) -> Vec<(String, String)> {
    vec![("x-api-key".into(), secret.to_owned())]
}

/// RPM = 10 against 200 parallel requests in one minute: exactly 10 pass (the bound within a minute
/// bucket is the limit itself).
async fn rpm_holds_under_200_parallel(app: TestApp) {
    let app = Arc::new(app.with_mocks(false).await);
    let admin = app.admin().await;
    app.put_settings(&admin, r#"{"default_rate_limits":{"anthropic":{"rpm":10}}}"#).await;
    let c = app.caller("rpm@example.com", &[]).await;
    fresh_minute().await;
    let (ok, limited) = burst(&app, "/v1/messages", anthropic_headers(&c.secret), anthropic_prompt(false, 50)).await;
    assert_eq!(ok, 10, "{ok} passed an RPM limit of 10");
    assert_eq!(limited, PARALLEL - 10);
    // Another platform is not limited.
    let r = app
        .post_json(
            "/v1/chat/completions",
            &[("authorization", &format!("Bearer {}", c.secret))],
            &format!(r#"{{"model":"{MODEL}","messages":[]}}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A user override lifts the default for that user.
    let body = r#"{"rate_limits":[{"platform":"anthropic","rpm":null}]}"#;
    let uri = format!("/api/v1/admin/users/{}/rate-limits", c.user_id);
    let r = app.call("PUT", &uri, Some(&admin.token), Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["effective"][0]["rpm"], serde_json::Value::Null, "{}", r.text());
    assert_eq!(
        app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &anthropic_prompt(false, 50)).await.status,
        200
    );
}
crate::both_backends!(rpm_holds_under_200_parallel_requests, super::rpm_holds_under_200_parallel);

/// An Anthropic upstream that holds each answer for `hold`, counting the most requests it ever had
/// in flight at once.
fn holding_upstream(hold: Duration, max_seen: Arc<AtomicUsize>) -> Router {
    let running = Arc::new(AtomicUsize::new(0));
    Router::new().route(
        "/v1/messages",
        post(move || {
            let (running, max_seen) = (running.clone(), max_seen.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                max_seen.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(hold).await;
                running.fetch_sub(1, Ordering::SeqCst);
                axum::Json(serde_json::json!({
                    "id": "msg_1", "type": "message", "role": "assistant", "model": MODEL,
                    "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
                    "usage": {"input_tokens": 10, "output_tokens": 5}
                }))
            }
        }),
    )
}

/// Concurrency = 3 against 200 parallel requests to an upstream that holds each answer: the
/// upstream never sees more than 3 at once, and the rest are refused.
async fn concurrency_holds_under_200_parallel(app: TestApp) {
    let app = Arc::new(app.with_mocks(false).await);
    let max_seen = Arc::new(AtomicUsize::new(0));
    app.scripted(Platform::Anthropic, holding_upstream(Duration::from_millis(400), max_seen.clone())).await;
    let admin = app.admin().await;
    let c = app.caller("conc@example.com", &[]).await;
    let uri = format!("/api/v1/admin/users/{}/rate-limits", c.user_id);
    let body = r#"{"rate_limits":[{"platform":"anthropic","concurrency":3}]}"#;
    let r = app.call("PUT", &uri, Some(&admin.token), Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (ok, limited) = burst(&app, "/v1/messages", anthropic_headers(&c.secret), anthropic_prompt(false, 50)).await;
    let max = max_seen.load(Ordering::SeqCst);
    assert!(max <= 3, "{max} requests ran at once against a concurrency limit of 3");
    assert!(ok >= 3 && limited > 0, "ok {ok}, limited {limited}");
    // Slots are freed when answers end: the next requests pass again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &anthropic_prompt(false, 50)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The change was audited.
    let audit = app.call("GET", "/api/v1/admin/audit", Some(&admin.token), None).await.text();
    assert!(audit.contains("user.rate_limits.update"), "{audit}");
}
crate::both_backends!(concurrency_holds_under_200_parallel_requests, super::concurrency_holds_under_200_parallel);

/// Creates a key for a signed-in user through the console; returns (id, secret).
async fn new_key(app: &TestApp, login: &Login, name: &str) -> (i64, String) {
    let body = serde_json::json!({"name": name}).to_string();
    let r = app.call("POST", "/api/v1/user/api-keys", Some(&login.token), Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let j = r.json();
    (j["id"].as_i64().unwrap(), j["secret"].as_str().unwrap().to_owned())
}

/// A key's RPM limit stops that key while the user's other key still works; its owner may tighten
/// it but not loosen it; an admin may.
async fn key_limit_stops_that_key_only(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    let user = app.user(&admin, "keys@example.com").await;
    let (limited_id, limited) = new_key(&app, &user, "limited").await;
    let (_, free) = new_key(&app, &user, "free").await;
    let uri = format!("/api/v1/user/api-keys/{limited_id}/rate-limits");
    let r =
        app.call("PUT", &uri, Some(&user.token), Some(r#"{"rate_limits":[{"platform":"anthropic","rpm":2}]}"#)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    fresh_minute().await;
    let body = anthropic_prompt(false, 50);
    for _ in 0..2 {
        assert_eq!(app.post_json("/v1/messages", &[("x-api-key", &limited)], &body).await.status, 200);
    }
    let r = app.post_json("/v1/messages", &[("x-api-key", &limited)], &body).await;
    assert_eq!(r.status, 429, "{}", r.text());
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("API key") && message.contains("anthropic rpm"), "{message}");
    assert_eq!(r.json()["error"]["rate_limit"], "key_rpm");
    for _ in 0..3 {
        assert_eq!(app.post_json("/v1/messages", &[("x-api-key", &free)], &body).await.status, 200);
    }
    // The owner may not loosen the key's limit (403 naming the field) nor remove it; an admin may.
    let looser = r#"{"rate_limits":[{"platform":"anthropic","rpm":5}]}"#;
    let r = app.call("PUT", &uri, Some(&user.token), Some(looser)).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("rate_limits[0].rpm"), "{}", r.text());
    let r = app.call("PUT", &uri, Some(&user.token), Some(r#"{"rate_limits":[]}"#)).await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = app.call("PUT", &uri, Some(&admin.token), Some(looser)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = app.call("GET", &uri, Some(&user.token), None).await.json();
    assert_eq!(got["rate_limits"][0]["rpm"], 5);
    // Someone else's key is not found.
    let other = app.user(&admin, "other@example.com").await;
    assert_eq!(app.call("GET", &uri, Some(&other.token), None).await.status, 404);
}
crate::both_backends!(key_limit_stops_that_key_and_not_the_users_other_key, super::key_limit_stops_that_key_only);

/// TPM = 500: each mock answer has 150 prompt + 50 output tokens; the third answer brings the
/// minute to 600, so the fourth request is refused with the tpm limit named.
async fn tpm_refuses_after_answered_tokens(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    app.put_settings(&admin, r#"{"auth_source_default_email_rate_limits":{"anthropic":{"tpm":500}}}"#).await;
    let c = app.caller("tpm@example.com", &[]).await;
    fresh_minute().await;
    let body = anthropic_prompt(false, 50);
    for i in 0..3 {
        let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &body).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
    }
    let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &body).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["error"]["rate_limit"], "user_tpm", "{}", r.text());
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
}
crate::both_backends!(tpm_refuses_once_answered_tokens_reach_the_limit, super::tpm_refuses_after_answered_tokens);

/// RPM = 1 on every platform: each platform's second request gets its own native 429 with
/// Retry-After, naming the limit.
#[tokio::test]
async fn every_platform_answers_its_native_429() {
    tollgate_server::metrics_export::install();
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let admin = app.admin().await;
    let one = r#"{"rpm":1}"#;
    app.put_settings(
        &admin,
        &format!(
            r#"{{"default_rate_limits":{{"anthropic":{one},"openai":{one},"gemini":{one},"antigravity":{one}}}}}"#
        ),
    )
    .await;
    let c = app.caller("native@example.com", &[]).await;
    fresh_minute().await;
    let bearer = format!("Bearer {}", c.secret);
    let msg = anthropic_prompt(false, 50);
    let chat = format!(r#"{{"model":"{MODEL}","messages":[]}}"#);
    let gem = r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#.to_owned();
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, String);
    let cases: Vec<Case> = vec![
        ("/v1/messages", vec![("x-api-key", c.secret.as_str())], msg.clone()),
        ("/v1/chat/completions", vec![("authorization", bearer.as_str())], chat),
        ("/v1beta/models/tollgate-test-model:generateContent", vec![("x-goog-api-key", c.secret.as_str())], gem),
        ("/antigravity/v1/messages", vec![("x-api-key", c.secret.as_str())], msg),
    ];
    for (path, headers, body) in &cases {
        assert_eq!(app.post_json(path, headers, body).await.status, 200, "{path}");
        let r = app.post_json(path, headers, body).await;
        assert_eq!(r.status, 429, "{path}: {}", r.text());
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{path}");
        let j = r.json();
        match *path {
            "/v1/messages" | "/antigravity/v1/messages" => {
                assert_eq!(j["type"], "error");
                assert_eq!(j["error"]["type"], "rate_limit_error");
                assert_eq!(j["error"]["rate_limit"], "user_rpm");
            }
            "/v1/chat/completions" => {
                assert_eq!(j["error"]["type"], "rate_limit_error");
                assert_eq!(j["error"]["code"], "rate_limit_exceeded");
            }
            _ => {
                assert_eq!(j["error"]["code"], 429);
                assert_eq!(j["error"]["status"], "RESOURCE_EXHAUSTED");
                assert_eq!(j["error"]["details"][0]["metadata"]["rate_limit"], "user_rpm");
            }
        }
        let message = j["error"]["message"].as_str().unwrap();
        assert!(message.contains("rpm") && message.contains("user level"), "{message}");
    }
    let metrics = tollgate_server::metrics_export::render_text().await;
    let text =
        String::from_utf8_lossy(&axum::body::to_bytes(metrics.into_body(), usize::MAX).await.unwrap()).to_string();
    assert!(text.contains("tollgate_rate_limited_total"), "{text}");
}

/// Settings and override errors name the field; nothing is saved.
#[tokio::test]
async fn invalid_limits_name_the_field() {
    let app = TestApp::sqlite().await;
    let admin = app.admin().await;
    let put = |body: &'static str| app.call("PUT", "/api/v1/admin/settings", Some(&admin.token), Some(body));
    let r = put(r#"{"default_rate_limits":{"anthropic":{"rpm":0}}}"#).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_input", Some("default_rate_limits.anthropic.rpm"));
    let r = put(r#"{"auth_source_default_github_rate_limits":{"openai":{"concurrency":1.5}}}"#).await;
    assert_error(
        &r,
        StatusCode::BAD_REQUEST,
        "invalid_input",
        Some("auth_source_default_github_rate_limits.openai.concurrency"),
    );
    let r = put(r#"{"default_rate_limits":{"bedrock":{}}}"#).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_input", Some("default_rate_limits.bedrock"));
    let uri = format!("/api/v1/admin/users/{}/rate-limits", admin.id);
    let r =
        app.call("PUT", &uri, Some(&admin.token), Some(r#"{"rate_limits":[{"platform":"gemini","tpm":-1}]}"#)).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_input", Some("rate_limits[0].tpm"));
    let settings = app.call("GET", "/api/v1/admin/settings", Some(&admin.token), None).await.json();
    assert_eq!(settings["settings"]["default_rate_limits"], serde_json::json!({}));
}

/// Two `tollgate serve` processes on one PostgreSQL share one RPM limit: 200 requests split across
/// them pass exactly the limit in total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_rpm_limit() {
    let Some(db) = TestDb::postgres("it_rate_two_processes").await else {
        eprintln!("skipped: TOLLGATE_TEST_PG_URL is not set");
        return;
    };
    let app = crate::gateway::multiprocess::seeded(&db).await;
    let limits =
        tollgate_core::settings::validate_changes(r#"{"default_rate_limits":{"anthropic":{"rpm":15}}}"#).unwrap();
    app.state.store.save_settings(&limits, jiff::Timestamp::now()).await.unwrap();
    let c = app.caller("shared@example.com", &[]).await;
    let (_server_a, a) = super::multiprocess::start(&db, &crate::util::test_app::journal_dir(), &[]).await;
    let (_server_b, b) = super::multiprocess::start(&db, &crate::util::test_app::journal_dir(), &[]).await;
    fresh_minute().await;
    let http = reqwest::Client::new();
    let body = anthropic_prompt(false, 50);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..PARALLEL {
        let url = format!("{}/v1/messages", if i % 2 == 0 { &a } else { &b });
        let (http, body, secret) = (http.clone(), body.clone(), c.secret.clone());
        set.spawn(async move {
            let r = http.post(url).header("x-api-key", secret).header("content-type", "application/json").body(body);
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.headers().contains_key("retry-after"))
        });
    }
    let (mut ok, mut limited) = (0, 0);
    while let Some(s) = set.join_next().await {
        match s.unwrap() {
            (200, _) => ok += 1,
            (429, true) => limited += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(ok, 15, "{ok} passed a shared RPM limit of 15");
    assert_eq!(limited, PARALLEL - 15);
}

/// Concurrency = 1 and a slow stream: the stream holds the slot while it runs, and a client that
/// hangs up frees it (the response body's drop guard), without waiting for the lease to expire.
async fn a_stream_holds_its_slot_until_the_client_hangs_up(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    app.put_settings(&admin, r#"{"default_rate_limits":{"anthropic":{"concurrency":1}}}"#).await;
    let c = app.caller("stream@example.com", &[]).await;
    let base = app.listen().await;
    let stream = crate::util::gateway::slow_stream_past_first_text(&base, &c.secret).await;
    let body = anthropic_prompt(false, 50);
    let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &body).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["error"]["rate_limit"], "user_concurrency");
    assert_eq!(r.headers["retry-after"], "1");
    drop(stream);
    // The release is immediate on SQLite and one background statement on PostgreSQL.
    let mut status = 0;
    for _ in 0..50 {
        status = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &body).await.status.as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200, "the slot was not freed when the client hung up");
}
crate::both_backends!(
    a_stream_holds_its_slot_until_the_client_hangs_up,
    super::a_stream_holds_its_slot_until_the_client_hangs_up
);
