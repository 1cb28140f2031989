//! `/metrics` is not public: loopback-only by default, a bearer token, or a separate listener.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Request, StatusCode};
use tollgate_server::config::GatewayConfig;
use tollgate_store::testing::TestDb;

use crate::util::test_app::{TestApp, journal_dir};

fn scrape(peer: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::get("/metrics");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut req = b.body(Body::empty()).unwrap();
    req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    req
}

async fn app_with(token: Option<&str>, listen: Option<&str>) -> TestApp {
    let config = GatewayConfig {
        journal_dir: Some(journal_dir()),
        metrics_token: token.map(Into::into),
        metrics_listen: listen.map(|l| l.parse().unwrap()),
        ..GatewayConfig::default()
    };
    TestApp::with_config(TestDb::sqlite(), config).await
}

#[tokio::test]
async fn metrics_default_to_loopback_clients_without_a_proxy() {
    let app = app_with(None, None).await;
    assert_eq!(app.send(scrape("127.0.0.1:5000", &[])).await.status, StatusCode::OK);
    assert_eq!(app.send(scrape("[::1]:5000", &[])).await.status, StatusCode::OK);
    assert_eq!(app.send(scrape("203.0.113.4:5000", &[])).await.status, StatusCode::NOT_FOUND);
    // Through a reverse proxy on the same host: not published.
    let r = app.send(scrape("127.0.0.1:5000", &[("x-forwarded-for", "203.0.113.4")])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_token_is_required_when_set() {
    let app = app_with(Some("scrape-token-0123456789"), None).await;
    assert_eq!(app.send(scrape("127.0.0.1:5000", &[])).await.status, StatusCode::UNAUTHORIZED);
    let wrong = [("authorization", "Bearer scrape-token-0123456780")];
    assert_eq!(app.send(scrape("203.0.113.4:5000", &wrong)).await.status, StatusCode::UNAUTHORIZED);
    let right = [("authorization", "Bearer scrape-token-0123456789")];
    let r = app.send(scrape("203.0.113.4:5000", &right)).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn a_separate_metrics_listener_takes_them_off_the_main_one() {
    let app = app_with(None, Some("127.0.0.1:0")).await;
    assert_eq!(app.send(scrape("127.0.0.1:5000", &[])).await.status, StatusCode::NOT_FOUND);
    let served = tollgate_server::metrics_export::separate_app(app.state.clone());
    let r = tower::ServiceExt::oneshot(served, Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// The tokens charged are counted by platform, kind and the price table's name of the model; a
/// model name the table does not know is counted as `other`, so clients cannot grow the labels.
#[tokio::test]
async fn tokens_are_counted_under_bounded_model_labels() {
    use crate::util::gateway::MODEL;
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let c = app.caller("tokens@example.com", &[]).await;
    for model in [MODEL, "made-up-model-for-metrics-x1"] {
        let body = format!(r#"{{"model":"{model}","max_tokens":8,"messages":[]}}"#);
        let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &body).await;
        assert_eq!(r.status, StatusCode::OK, "{model}: {}", r.text());
    }
    let text = app.send(scrape("127.0.0.1:5000", &[])).await.text();
    let count = |model: &str, kind: &str| {
        text.lines()
            .filter(|l| l.starts_with("tollgate_tokens_total{"))
            .filter(|l| l.contains(&format!("model=\"{model}\"")) && l.contains(&format!("kind=\"{kind}\"")))
            .filter(|l| l.contains("platform=\"anthropic\""))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum::<f64>()
    };
    assert!(count(MODEL, "output") >= 50.0 && count(MODEL, "input") >= 100.0, "{text}");
    assert!(count("other", "output") > 0.0, "{text}");
    assert!(!text.lines().any(|l| l.starts_with("tollgate_tokens_total") && l.contains("made-up-model")), "{text}");
}

/// A capped window's remaining budget is a gauge, updated after each charge is written; an
/// unlimited window has none.
#[tokio::test]
async fn capped_windows_have_remaining_budget_gauges() {
    use crate::util::gateway::{ANTHROPIC_COST_NANOS, MODEL, daily};
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let c = app.caller("gauge@example.com", &daily(tollgate_core::platform::Platform::Anthropic, "1")).await;
    let body = format!(r#"{{"model":"{MODEL}","max_tokens":8,"messages":[]}}"#);
    assert_eq!(app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &body).await.status, StatusCode::OK);
    app.state.ledger.caught_up().await;
    let series = |window: &str| {
        let user = format!("user_id=\"{}\"", c.user_id);
        let window = format!("window=\"{window}\"");
        move |l: &&str| l.starts_with("tollgate_quota_remaining_usd{") && l.contains(&user) && l.contains(&window)
    };
    let expected = (1_000_000_000 - ANTHROPIC_COST_NANOS) as f64 / 1e9;
    for _ in 0..50 {
        let text = app.send(scrape("127.0.0.1:5000", &[])).await.text();
        if let Some(line) = text.lines().find(series("daily")) {
            let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
            assert!((value - expected).abs() < 1e-9, "{line}");
            assert!(line.contains("platform=\"anthropic\""), "{line}");
            assert!(!text.lines().any(|l| series("weekly")(&l)), "an unlimited window has no gauge");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no remaining-budget gauge for user {}", c.user_id);
}
