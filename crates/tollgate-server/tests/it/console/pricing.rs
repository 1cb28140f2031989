//! `GET /admin/pricing`, `PUT/DELETE /admin/pricing/{model}`.

use http::StatusCode;

use crate::util::test_app::{TestApp, assert_error};

async fn pricing(app: TestApp) {
    let admin = app.admin().await;
    let t = Some(admin.token.as_str());
    let j = app.get_as("/api/v1/admin/pricing", &admin.token).await.json();
    let models = j["models"].as_array().unwrap();
    assert!(models.len() > 10);
    assert!(models.iter().all(|m| m["source"] == "builtin"));
    assert!(j["fallback"]["anthropic"].is_object() || j["fallback"]["anthropic"].is_null());
    let body = r#"{"platform":"openai","input_per_mtok":1.5,"output_per_mtok":2.25,"cache_read_per_mtok":0.000000001}"#;
    let r = app.call("PUT", "/api/v1/admin/pricing/vendor%2Fmodel-x", t, Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains(r#""cache_read_per_mtok":0.000000001"#), "{}", r.text());
    assert_eq!((r.json()["model"].as_str(), r.json()["source"].as_str()), (Some("vendor/model-x"), Some("override")));
    let j = app.get_as("/api/v1/admin/pricing", &admin.token).await.json();
    let m = j["models"].as_array().unwrap().iter().find(|m| m["model"] == "vendor/model-x").unwrap().clone();
    assert_eq!((m["input_per_mtok"].to_string(), m["source"].as_str()), ("1.5".into(), Some("override")));
    let r = app.call("DELETE", "/api/v1/admin/pricing/vendor%2Fmodel-x", t, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_error(
        &app.call("DELETE", "/api/v1/admin/pricing/vendor%2Fmodel-x", t, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    for (body, field) in [
        (r#"{"input_per_mtok":1,"output_per_mtok":1}"#, "platform"),
        (r#"{"platform":"openai","output_per_mtok":1}"#, "input_per_mtok"),
        (r#"{"platform":"openai","input_per_mtok":-1,"output_per_mtok":1}"#, "input_per_mtok"),
        (r#"{"platform":"openai","input_per_mtok":1,"output_per_mtok":"1"}"#, "output_per_mtok"),
        (
            r#"{"platform":"openai","input_per_mtok":1,"output_per_mtok":1,"cache_write_1h_per_mtok":1e-10}"#,
            "cache_write_1h_per_mtok",
        ),
        (r#"{"platform":"openai","input_per_mtok":1,"output_per_mtok":1,"long_context":{"x":1}}"#, "long_context"),
    ] {
        assert_error(
            &app.call("PUT", "/api/v1/admin/pricing/m", t, Some(body)).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            Some(field),
        );
    }
    assert!(app.state.store.list_price_overrides().await.unwrap().is_empty());
}
crate::both_backends!(pricing_merges_overrides, super::pricing);
