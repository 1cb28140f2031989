//! `GET/POST /user/api-keys`, `DELETE /user/api-keys/{id}`.

use http::StatusCode;

use crate::util::test_app::{TestApp, assert_error};

async fn keys(app: TestApp) {
    let admin = app.admin().await;
    let alice = app.user(&admin, "alice@example.com").await;
    let bob = app.user(&admin, "bob@example.com").await;
    let t = Some(alice.token.as_str());
    let r = app.call("POST", "/api/v1/user/api-keys", t, Some(r#"{"name":"laptop"}"#)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let k = r.json();
    let secret = k["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tg-") && secret.starts_with(k["prefix"].as_str().unwrap()));
    assert_eq!(k["platforms"], serde_json::Value::Null);
    assert_eq!(k["last_used_at"], serde_json::Value::Null);
    let r =
        app.call("POST", "/api/v1/user/api-keys", t, Some(r#"{"name":"ci","platforms":["openai","gemini"]}"#)).await;
    assert_eq!(r.json()["platforms"], serde_json::json!(["openai", "gemini"]));
    // The gateway finds the key by the hash of its secret.
    let found =
        app.state.store.find_api_key_by_hash(&tollgate_server::keys::hash_secret(&secret)).await.unwrap().unwrap();
    assert_eq!(found.user_id, alice.id);

    let list = app.get_as("/api/v1/user/api-keys", &alice.token).await;
    assert!(!list.text().contains(&secret) && !list.text().contains("secret"));
    assert_eq!(list.json()["api_keys"].as_array().unwrap().len(), 2);
    assert_eq!(app.get_as("/api/v1/user/api-keys", &bob.token).await.json()["api_keys"], serde_json::json!([]));
    // Bob cannot revoke Alice's key.
    let path = format!("/api/v1/user/api-keys/{}", k["id"]);
    assert_error(&app.call("DELETE", &path, Some(&bob.token), None).await, StatusCode::NOT_FOUND, "not_found", None);
    let r = app.call("DELETE", &path, t, None).await;
    assert_eq!((r.status, r.body.len()), (StatusCode::NO_CONTENT, 0));
    assert_error(&app.call("DELETE", &path, t, None).await, StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(app.get_as("/api/v1/user/api-keys", &alice.token).await.json()["api_keys"].as_array().unwrap().len(), 1);

    for (body, field) in [
        (r#"{}"#, "name"),
        (r#"{"name":""}"#, "name"),
        (r#"{"name":5}"#, "name"),
        (r#"{"name":"k","platforms":[]}"#, "platforms"),
        (r#"{"name":"k","platforms":"openai"}"#, "platforms"),
        (r#"{"name":"k","platforms":["openai","bedrock"]}"#, "platforms[1]"),
        (r#"{"name":"k","platforms":["openai","openai"]}"#, "platforms[1]"),
    ] {
        assert_error(
            &app.call("POST", "/api/v1/user/api-keys", t, Some(body)).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some(field),
        );
    }
}
crate::both_backends!(api_keys_are_per_user, super::keys);
