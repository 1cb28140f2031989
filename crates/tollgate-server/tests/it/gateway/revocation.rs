//! Revoking a key or disabling a user through the console takes effect on the next request of this
//! process, and cuts the streams already running at their next chunk.

use futures_util::StreamExt;
use http::StatusCode;
use tollgate_core::platform::Platform;

use crate::util::gateway::{MODEL, slow_stream_past_first_text};
use crate::util::test_app::{Login, TestApp};

/// A console user with an API key created through the console: (login, key id, secret).
async fn user_with_key(app: &TestApp, admin: &Login, email: &str) -> (Login, i64, String) {
    let user = app.user(admin, email).await;
    let r = app.call("POST", "/api/v1/user/api-keys", Some(&user.token), Some(r#"{"name":"k"}"#)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let j = r.json();
    (user, j["id"].as_i64().unwrap(), j["secret"].as_str().unwrap().to_owned())
}

async fn ask(app: &TestApp, secret: &str) -> StatusCode {
    let body = format!(r#"{{"model":"{MODEL}","max_tokens":8,"messages":[]}}"#);
    app.post_json("/v1/messages", &[("x-api-key", secret)], &body).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_and_disable_apply_to_the_next_request() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let admin = app.admin().await;
    let (user, key_id, secret) = user_with_key(&app, &admin, "r@example.com").await;
    assert_eq!(ask(&app, &secret).await, StatusCode::OK, "cached now");
    let r = app.call("DELETE", &format!("/api/v1/user/api-keys/{key_id}"), Some(&user.token), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(ask(&app, &secret).await, StatusCode::UNAUTHORIZED, "revoked, without waiting for the cache");

    let (other, _, secret2) = user_with_key(&app, &admin, "d@example.com").await;
    assert_eq!(ask(&app, &secret2).await, StatusCode::OK);
    let uri = format!("/api/v1/admin/users/{}", other.id);
    let r = app.call("PATCH", &uri, Some(&admin.token), Some(r#"{"status":"disabled"}"#)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(ask(&app, &secret2).await, StatusCode::FORBIDDEN, "disabled at once");
    let r = app.call("PATCH", &uri, Some(&admin.token), Some(r#"{"status":"active"}"#)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(ask(&app, &secret2).await, StatusCode::OK, "enabled again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_stream_is_cut_when_its_key_is_revoked() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let base = app.listen().await;
    let admin = app.admin().await;
    let (user, key_id, secret) = user_with_key(&app, &admin, "s@example.com").await;
    let mut stream = slow_stream_past_first_text(&base, &secret).await;
    let r = app.call("DELETE", &format!("/api/v1/user/api-keys/{key_id}"), Some(&user.token), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let mut rest = String::new();
    let mut failed = false;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => rest.push_str(&String::from_utf8_lossy(&c)),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed && !rest.contains("message_stop"), "the stream ran on: {rest}");
    // What was produced is still charged.
    assert!(app.spent(user.id, Platform::Anthropic).await > 0);
}
