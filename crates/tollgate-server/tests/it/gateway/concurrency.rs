//! 200 parallel requests against a small limit. Strict: the charged total never exceeds the limit.
//! Soft: every request that was answered is charged exactly once. Both settlement modes.

use std::sync::Arc;

use tollgate_core::platform::Platform;
use tollgate_core::settings::validate_changes;

use crate::util::gateway::{ANTHROPIC_COST_NANOS, anthropic_prompt, daily};
use tollgate_server::config::{GatewayConfig, SettlementMode};

use crate::util::test_app::TestApp;

const PARALLEL: usize = 200;

async fn run(app: &Arc<TestApp>, secret: &str, stream: bool) -> usize {
    let body = anthropic_prompt(stream, 50);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..PARALLEL {
        let (app, secret, body) = (app.clone(), secret.to_owned(), body.clone());
        set.spawn(async move { app.post_json("/v1/messages", &[("x-api-key", &secret)], &body).await.status.as_u16() });
    }
    let mut ok = 0;
    while let Some(s) = set.join_next().await {
        match s.unwrap() {
            200 => ok += 1,
            429 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    ok
}

async fn strict_never_exceeds_and_soft_charges_once(app: TestApp) {
    let app = Arc::new(app.with_mocks(false).await);
    // Strict: a 0.02 USD daily cap; each request is estimated high, so fewer fit than would in soft.
    let changes = validate_changes(r#"{"quota_enforcement":"strict"}"#).unwrap();
    app.state.store.save_settings(&changes, jiff::Timestamp::now()).await.unwrap();
    app.state.settings.refresh().await.unwrap();
    let strict = app.caller("strict@example.com", &daily(Platform::Anthropic, "0.02")).await;
    let ok = run(&app, &strict.secret, false).await;
    let spent = app.spent(strict.user_id, Platform::Anthropic).await;
    assert!(ok >= 1, "strict mode admitted nothing");
    assert!(spent <= 20_000_000, "strict spend {spent} exceeds the 0.02 USD limit");
    assert_eq!(spent, ok as i64 * ANTHROPIC_COST_NANOS);

    // Soft: 200 parallel streams; the cap is crossed, but every answered request is charged once.
    let changes = validate_changes(r#"{"quota_enforcement":"soft"}"#).unwrap();
    app.state.store.save_settings(&changes, jiff::Timestamp::now()).await.unwrap();
    app.state.settings.refresh().await.unwrap();
    let soft = app.caller("soft@example.com", &daily(Platform::Anthropic, "0.02")).await;
    let ok = run(&app, &soft.secret, true).await;
    // Streams settle in their bodies, which `post_json` read to the end.
    assert_eq!(app.spent(soft.user_id, Platform::Anthropic).await, ok as i64 * ANTHROPIC_COST_NANOS);
    assert!(ok >= 18, "soft mode admitted only {ok}");
}
crate::both_backends!(strict_and_soft_under_200_parallel_requests, super::strict_never_exceeds_and_soft_charges_once);

async fn in_direct_settlement_mode(app: TestApp) {
    let config = GatewayConfig { settlement: SettlementMode::Direct, ..GatewayConfig::default() };
    strict_never_exceeds_and_soft_charges_once(TestApp::with_config(app.db.clone(), config).await).await;
}
crate::both_backends!(strict_and_soft_with_direct_settlement, super::in_direct_settlement_mode);
