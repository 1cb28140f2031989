//! `GET/POST /admin/upstreams`, `PATCH/DELETE /admin/upstreams/{id}`.

use http::StatusCode;

use crate::util::test_app::{TestApp, assert_error};

async fn crud(app: TestApp) {
    let admin = app.admin().await;
    let t = Some(admin.token.as_str());
    let body = r#"{"platform":"anthropic","name":"main","base_url":"https://api.anthropic.com/","api_key":"sk-ant-secret-abcd","enabled":true,"priority":5}"#;
    let r = app.call("POST", "/api/v1/admin/upstreams", t, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let u = r.json();
    assert_eq!(u["api_key_masked"], "sk-…abcd");
    assert_eq!(u["base_url"], "https://api.anthropic.com");
    assert_eq!(u["protocol"], "native");
    assert!(!r.text().contains("secret"), "{}", r.text());
    let id = u["id"].as_i64().unwrap();
    let body = r#"{"platform":"antigravity","name":"cc","base_url":"http://127.0.0.1:9","api_key":"k2-000000000wxyz","protocol":"v1internal"}"#;
    assert_eq!(app.call("POST", "/api/v1/admin/upstreams", t, Some(body)).await.status, StatusCode::CREATED);
    let list = app.get_as("/api/v1/admin/upstreams", &admin.token).await;
    assert!(!list.text().contains("secret"));
    assert_eq!(list.json()["upstreams"].as_array().unwrap().len(), 2);
    // PATCH without api_key keeps the credential.
    let r = app
        .call("PATCH", &format!("/api/v1/admin/upstreams/{id}"), t, Some(r#"{"enabled":false,"priority":-1}"#))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        (r.json()["enabled"].as_bool(), r.json()["priority"].as_i64(), r.json()["api_key_masked"].as_str()),
        (Some(false), Some(-1), Some("sk-…abcd"))
    );
    let stored = app.state.store.list_upstreams().await.unwrap();
    let sealed = stored.iter().find(|u| u.id == id).unwrap().api_key.expose().to_owned();
    assert!(sealed.starts_with("enc:v1:") && !sealed.contains("sk-ant"), "{sealed}");
    assert_eq!(app.state.secrets.open(&sealed).unwrap(), "sk-ant-secret-abcd");
    let r = app.call("DELETE", &format!("/api/v1/admin/upstreams/{id}"), t, None).await;
    assert_eq!((r.status, r.body.len()), (StatusCode::NO_CONTENT, 0));
    assert_error(
        &app.call("DELETE", &format!("/api/v1/admin/upstreams/{id}"), t, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &app.call("PATCH", &format!("/api/v1/admin/upstreams/{id}"), t, Some("{}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
}
crate::both_backends!(upstreams_crud_with_write_only_key, super::crud);

async fn validation(app: TestApp) {
    let admin = app.admin().await;
    let t = Some(admin.token.as_str());
    let ok = serde_json::json!({"platform":"openai","name":"n","base_url":"https://x.example","api_key":"k"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = ok.clone();
        if v.is_null() {
            b.as_object_mut().unwrap().remove(k);
        } else {
            b[k] = v;
        }
        b.to_string()
    };
    let cases = [
        (with("platform", "bedrock".into()), "platform"),
        (with("platform", serde_json::Value::Null), "platform"),
        (with("name", "".into()), "name"),
        (with("base_url", "ftp://x".into()), "base_url"),
        (with("base_url", "not a url".into()), "base_url"),
        (with("api_key", serde_json::Value::Null), "api_key"),
        (with("priority", 1.5.into()), "priority"),
        (with("enabled", "yes".into()), "enabled"),
        (with("protocol", "grpc".into()), "protocol"),
        (with("protocol", "v1internal".into()), "protocol"),
    ];
    for (body, field) in cases {
        assert_error(
            &app.call("POST", "/api/v1/admin/upstreams", t, Some(&body)).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some(field),
        );
    }
    assert!(app.state.store.list_upstreams().await.unwrap().is_empty());
}
crate::both_backends!(upstreams_validation, super::validation);
