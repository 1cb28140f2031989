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

/// A price file is validated whole, shown as a diff, and applied in one audited step.
async fn import(app: TestApp) {
    let admin = app.admin().await;
    let t = Some(admin.token.as_str());
    let litellm = serde_json::json!({
        "sample_spec": {"input_cost_per_token": 0},
        "gpt-5": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1.25e-06,
            "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-07,
            "search_context_cost_per_query": 0.01},
        "acme-chat-1": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2e-06,
            "output_cost_per_token": 8.000000000000001e-06},
        "text-embedding-3-small": {"litellm_provider": "openai", "mode": "embedding", "input_cost_per_token": 2e-08,
            "output_cost_per_token": 0}
    })
    .to_string();
    let body = serde_json::json!({"file": litellm}).to_string();
    let r = app.call("POST", "/api/v1/admin/pricing/import", t, Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(
        (j["format"].as_str(), j["skipped"].as_u64(), j["applied"].as_bool()),
        (Some("litellm"), Some(1), Some(false))
    );
    let changes = j["changes"].as_array().unwrap();
    // gpt-5 is unchanged but for its search fee; acme-chat-1 is new.
    assert_eq!(changes.len(), 2, "{j}");
    let acme = changes.iter().find(|c| c["model"] == "acme-chat-1").unwrap();
    assert!(acme["before"].is_null());
    assert_eq!(acme["after"]["output_per_mtok"].to_string(), "8");
    assert!(app.state.store.list_price_overrides().await.unwrap().is_empty(), "a dry run changes nothing");

    let body = serde_json::json!({"file": litellm, "apply": true}).to_string();
    let r = app.call("POST", "/api/v1/admin/pricing/import", t, Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(app.state.store.list_price_overrides().await.unwrap().len(), 2);
    assert!(
        app.state.ledger.prices().is_known(tollgate_core::platform::Platform::OpenAi, "acme-chat-1"),
        "applied at once"
    );
    let audit = app.get_as("/api/v1/admin/audit", &admin.token).await.json();
    assert!(audit["entries"].as_array().unwrap().iter().any(|e| e["action"] == "price.import"), "{audit}");

    // One bad entry: 400 naming it, nothing written.
    let bad = r#"{"models":{"good-model":{"platform":"openai","input_per_mtok":1,"output_per_mtok":2},"bad-model":{"platform":"openai","input_per_mtok":-1,"output_per_mtok":2}}}"#;
    let body = serde_json::json!({"file": bad, "apply": true}).to_string();
    let r = app.call("POST", "/api/v1/admin/pricing/import", t, Some(&body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.json()["error"]["field"].as_str().unwrap().contains("bad-model"), "{}", r.text());
    assert_eq!(app.state.store.list_price_overrides().await.unwrap().len(), 2);
}
crate::both_backends!(import_validates_diffs_and_applies, super::import);
