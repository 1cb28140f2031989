//! Issue 16, the request log and the analytics charts: every gateway request — charged, refused,
//! failed — is found with its cost, tokens, latency, upstream and ids; filters, keyset paging, the
//! user's own view, the streamed CSV, retention pruning, and the grouped totals.

use std::time::Duration;

use http::StatusCode;
use jiff::{Timestamp, ToSpan};
use serde_json::Value;
use tollgate_core::platform::Platform;

use crate::util::gateway::{MODEL, anthropic_prompt};
use crate::util::test_app::{Login, TestApp, assert_error};

/// A signed-in user with a gateway key made through the console.
async fn user_with_key(app: &TestApp, admin: &Login, email: &str) -> (Login, String, i64) {
    let login = app.user(admin, email).await;
    let r = app.call("POST", "/api/v1/user/api-keys", Some(&login.token), Some(r#"{"name":"laptop"}"#)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let k = r.json();
    (login, k["secret"].as_str().unwrap().to_owned(), k["id"].as_i64().unwrap())
}

/// The log as `token` sees it at `uri`, once it holds `n` rows (unbilled rows are written in the
/// background).
async fn log_of(app: &TestApp, uri: &str, token: &str, n: usize) -> Value {
    for _ in 0..100 {
        let r = app.get_as(uri, token).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
        let j = r.json();
        if j["entries"].as_array().unwrap().len() >= n {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{uri} never held {n} rows: {}", app.get_as(uri, token).await.text());
}

fn find(entries: &Value, pred: impl Fn(&Value) -> bool) -> &Value {
    entries.as_array().unwrap().iter().find(|e| pred(e)).unwrap_or_else(|| panic!("no such entry in {entries}"))
}

async fn every_request_is_logged_with_its_cost(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    let (alice, secret, key_id) = user_with_key(&app, &admin, "alice@example.com").await;
    let (bob, _, _) = user_with_key(&app, &admin, "bob@example.com").await;
    let key = [("x-api-key", secret.as_str()), ("x-request-id", "client-abc-1")];

    // Charged: a whole answer (with the client's id) and a stream.
    let r = app.post_json("/v1/messages", &key, &anthropic_prompt(false, 50)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let whole_id = r.headers["x-tollgate-request-id"].to_str().unwrap().to_owned();
    let r = app.post_json("/v1/messages", &key[..1], &anthropic_prompt(true, 50)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Refused: a body without a model, and a key that does not exist.
    let r = app.post_json("/v1/messages", &key[..1], r#"{"max_tokens":5,"messages":[]}"#).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = app.post_json("/v1/messages", &[("x-api-key", "tg-nobody")], &anthropic_prompt(false, 5)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let all = log_of(&app, "/api/v1/admin/request-log", &admin.token, 4).await;
    let entries = &all["entries"];
    assert_eq!(entries.as_array().unwrap().len(), 4, "{all}");
    assert!(all["next_cursor"].is_null());
    let whole = find(entries, |e| e["request_id"] == whole_id.as_str());
    assert_eq!(whole["client_request_id"], "client-abc-1");
    assert_eq!(whole["user_email"], "alice@example.com");
    assert_eq!((whole["api_key_id"].as_i64(), whole["key_name"].as_str()), (Some(key_id), Some("laptop")));
    assert_eq!((whole["platform"].as_str(), whole["model"].as_str()), (Some("anthropic"), Some(MODEL)));
    assert_eq!((whole["outcome"].as_str(), whole["http_status"].as_i64()), (Some("ok"), Some(200)));
    assert_eq!(whole["charged"], true);
    // The mock's usage at the test price: 100 in, 50 out, 30 cache read, 12 + 8 cache writes.
    assert_eq!(whole["cost_usd"].to_string(), "0.001152");
    let tokens: Vec<i64> = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"]
        .iter()
        .map(|k| whole[k].as_i64().unwrap())
        .collect();
    assert_eq!(tokens, [100, 50, 30, 20]);
    assert!(whole["ttfb_ms"].as_i64().is_some_and(|t| t <= whole["latency_ms"].as_i64().unwrap()), "{whole}");
    assert!(whole["upstream_name"].as_str().is_some_and(|n| n.starts_with("mock-anthropic")), "{whole}");
    let stream = find(entries, |e| e["charged"] == true && e["request_id"] != whole_id.as_str());
    assert_eq!(stream["cost_usd"].to_string(), "0.001152");
    assert!(stream["ttfb_ms"].is_i64(), "{stream}");
    let bad_body = find(entries, |e| e["http_status"] == 400);
    assert_eq!((bad_body["charged"].as_bool(), bad_body["cost_usd"].to_string()), (Some(false), "0".to_owned()));
    assert_eq!(bad_body["user_email"], "alice@example.com");
    assert_eq!(bad_body["route"], "/v1/messages");
    let no_key = find(entries, |e| e["http_status"] == 401);
    assert!(no_key["user_id"].is_null() && no_key["model"].is_null(), "{no_key}");
    assert_eq!(no_key["outcome"], "invalid_api_key");
    // Newest first.
    let times: Vec<&str> = entries.as_array().unwrap().iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    // Filters.
    let f = app.get_as("/api/v1/admin/request-log?status=4xx", &admin.token).await.json();
    assert_eq!(f["entries"].as_array().unwrap().len(), 2, "{f}");
    let f = app.get_as("/api/v1/admin/request-log?request_id=client-abc-1", &admin.token).await.json();
    assert_eq!(f["entries"][0]["request_id"], whole_id.as_str());
    let f = app.get_as(&format!("/api/v1/admin/request-log?user_id={}&status=200", alice.id), &admin.token).await;
    assert_eq!(f.json()["entries"].as_array().unwrap().len(), 2, "{}", f.text());
    let f = app.get_as(&format!("/api/v1/admin/request-log?key_id={key_id}&model={MODEL}"), &admin.token).await;
    assert_eq!(f.json()["entries"].as_array().unwrap().len(), 2, "{}", f.text());
    let f = app.get_as("/api/v1/admin/request-log?platform=openai", &admin.token).await.json();
    assert_eq!(f["entries"], serde_json::json!([]));
    let tomorrow = Timestamp::now().checked_add(48.hours()).unwrap().strftime("%Y-%m-%d").to_string();
    let f = app.get_as(&format!("/api/v1/admin/request-log?from={tomorrow}"), &admin.token).await.json();
    assert_eq!(f["entries"], serde_json::json!([]));

    // Keyset paging: one row a page, every row once, in order.
    let mut seen = Vec::new();
    let mut uri = "/api/v1/admin/request-log?limit=1".to_owned();
    loop {
        let page = app.get_as(&uri, &admin.token).await.json();
        seen.extend(page["entries"].as_array().unwrap().iter().map(|e| e["request_id"].clone()));
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/api/v1/admin/request-log?limit=1&cursor={c}"),
            None => break,
        }
    }
    let expected: Vec<Value> = entries.as_array().unwrap().iter().map(|e| e["request_id"].clone()).collect();
    assert_eq!(seen, expected);

    // A user sees only their own rows, without the upstream account; `user_id` is not theirs to pick.
    let own = log_of(&app, "/api/v1/user/request-log", &alice.token, 3).await;
    assert_eq!(own["entries"].as_array().unwrap().len(), 3, "the refused key is nobody's: {own}");
    assert!(own["entries"].as_array().unwrap().iter().all(|e| e.get("upstream_name").is_none()), "{own}");
    let r = app.get_as(&format!("/api/v1/user/request-log?user_id={}", bob.id), &alice.token).await;
    assert_eq!(r.json()["entries"].as_array().unwrap().len(), 3);
    assert_eq!(app.get_as("/api/v1/user/request-log", &bob.token).await.json()["entries"], serde_json::json!([]));
    let r = app.get_as("/api/v1/admin/request-log", &alice.token).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Bad parameters name themselves.
    for (q, field) in [
        ("status=abc", "status"),
        ("from=yesterday", "from"),
        ("limit=0", "limit"),
        ("cursor=x", "cursor"),
        ("platform=mars", "platform"),
        ("user_id=-1", "user_id"),
    ] {
        let r = app.get_as(&format!("/api/v1/admin/request-log?{q}"), &admin.token).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_input", Some(field));
    }

    // CSV: the same rows, exact cost, spreadsheet-safe cells.
    let r = app.get_as(&format!("/api/v1/admin/request-log.csv?user_id={}", alice.id), &admin.token).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(r.headers["content-disposition"].to_str().unwrap().contains("attachment"));
    let text = r.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("time,request_id,") && lines[0].ends_with(",ttfb_ms,upstream_id,upstream_name"));
    let whole_line = lines.iter().find(|l| l.contains(&whole_id)).unwrap();
    assert!(whole_line.contains(",0.001152,") && whole_line.contains(",client-abc-1,"), "{whole_line}");
    let r = app.get_as("/api/v1/user/request-log.csv", &bob.token).await;
    assert_eq!(r.text().lines().count(), 1, "header only");
    // The user's export has no upstream columns, as their JSON view has none.
    assert!(r.text().trim_end().ends_with(",latency_ms,ttfb_ms"), "{}", r.text());
    let r = app.get_as("/api/v1/user/request-log.csv", &alice.token).await;
    assert!(r.text().lines().skip(1).all(|l| l.split(',').count() == 21), "{}", r.text());

    // Analytics: the two charges, by day, model and key; the admin sees the top spender.
    let a = app.get_as("/api/v1/user/analytics?days=7", &alice.token).await.json();
    assert_eq!(a["by_day"].as_array().unwrap().len(), 7);
    assert_eq!(a["by_day"][6]["cost_usd"].to_string(), "0.002304", "{a}");
    assert_eq!(a["total"]["requests"], 2);
    assert_eq!(a["total"]["input_tokens"], 200);
    assert_eq!((a["by_model"][0]["model"].as_str(), a["by_model"][0]["requests"].as_i64()), (Some(MODEL), Some(2)));
    assert_eq!(a["by_key"][0]["key_name"], "laptop");
    assert!(a.get("top_users").is_none());
    let b = app.get_as("/api/v1/user/analytics", &bob.token).await.json();
    assert_eq!((b["days"].as_i64(), b["total"]["cost_usd"].to_string()), (Some(30), "0".to_owned()));
    let all = app.get_as("/api/v1/admin/analytics?days=1", &admin.token).await.json();
    assert_eq!(all["top_users"][0]["email"], "alice@example.com");
    assert_eq!(all["top_users"][0]["cost_usd"].to_string(), "0.002304");
    let r = app.get_as("/api/v1/admin/analytics?days=0", &admin.token).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_input", Some("days"));

    // Retention: validated, and pruning keeps what is younger than the retention.
    let r = app
        .call("PUT", "/api/v1/admin/settings", Some(&admin.token), Some(r#"{"request_log_retention_days":3}"#))
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_input", Some("request_log_retention_days"));
    app.put_settings(&admin, r#"{"request_log_retention_days":30}"#).await;
    let s = app.get_as("/api/v1/admin/settings", &admin.token).await.json();
    assert_eq!(s["settings"]["request_log_retention_days"], 30);
    let store = &*app.state.store;
    assert_eq!(tollgate_server::request_log::prune(store, 30, Timestamp::now()).await.unwrap(), 0);
    let later = Timestamp::now().checked_add((31 * 24).hours()).unwrap();
    assert_eq!(tollgate_server::request_log::prune(store, 30, later).await.unwrap(), 4);
    assert_eq!(app.get_as("/api/v1/admin/request-log", &admin.token).await.json()["entries"], serde_json::json!([]));
    // The quota counters are not the log: the spend stays.
    assert_eq!(app.spent(alice.id, Platform::Anthropic).await, 2 * 1_152_000);
    app.put_settings(&admin, r#"{"request_log_retention_days":0}"#).await;
    let s = app.get_as("/api/v1/admin/settings", &admin.token).await.json();
    assert!(s["settings"]["request_log_retention_days"].is_null());
}
crate::both_backends!(every_request_is_logged_with_its_cost, super::every_request_is_logged_with_its_cost);
