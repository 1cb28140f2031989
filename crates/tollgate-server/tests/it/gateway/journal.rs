//! The settlement journal across a crash: what a killed process left is applied, once, when the
//! next process starts on the same journal, and the applied segment files are deleted.

use jiff::Timestamp;
use tollgate_core::money::Money;
use tollgate_core::platform::Platform;
use tollgate_core::usage::Usage;
use tollgate_server::config::GatewayConfig;
use tollgate_server::ledger::journal::{Journal, Line};
use tollgate_store::NewUsageRecord;

use crate::util::gateway::{MODEL, daily};
use crate::util::test_app::{TestApp, journal_dir};

fn record(request_id: &str, user_id: i64, nanos: i64) -> NewUsageRecord {
    NewUsageRecord {
        request_id: request_id.into(),
        user_id,
        api_key_id: None,
        platform: Platform::Anthropic,
        model: MODEL.into(),
        usage: Usage { input_tokens: 100, output_tokens: 50, ..Usage::default() },
        cost: Money::from_nanos(nanos).unwrap(),
        status: "ok".into(),
        http_status: Some(200),
        latency_ms: 3,
        upstream_id: None,
        output_estimated: false,
        held: false,
        tool_cost: Default::default(),
    }
}

async fn a_killed_process_journal_is_applied_once_at_the_next_start(app: TestApp) {
    let c = app.caller("journal@example.com", &daily(Platform::Anthropic, "1")).await;
    let dir = journal_dir();
    let now = Timestamp::now();
    {
        // What a process killed before its worker wrote anything leaves: three charges, one of them
        // appended twice (a retried append), then a torn line.
        let (journal, leftovers) = Journal::open(&dir).unwrap();
        assert!(leftovers.is_empty());
        for (id, nanos) in [("j-1", 1_000), ("j-2", 20_000), ("j-3", 300_000), ("j-1", 1_000)] {
            journal.append(&Line::new(now, &record(id, c.user_id, nanos))).unwrap();
        }
    }
    let segment = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("settlements-"))
        .unwrap()
        .path();
    std::io::Write::write_all(&mut std::fs::OpenOptions::new().append(true).open(&segment).unwrap(), b"{\"at\":")
        .unwrap();

    let config = GatewayConfig { journal_dir: Some(dir.clone()), ..GatewayConfig::default() };
    let restarted = TestApp::with_config(app.db.clone(), config).await;
    assert_eq!(restarted.spent(c.user_id, Platform::Anthropic).await, 321_000);
    assert!(!segment.exists(), "an applied segment is deleted");
    restarted.stop().await;

    // Applying a line again (a crash during the replay, before its segment was deleted) charges
    // nothing more.
    {
        let (journal, _) = Journal::open(&dir).unwrap();
        journal.append(&Line::new(now, &record("j-2", c.user_id, 20_000))).unwrap();
    }
    let config = GatewayConfig { journal_dir: Some(dir), ..GatewayConfig::default() };
    let third = TestApp::with_config(app.db.clone(), config).await;
    assert_eq!(third.spent(c.user_id, Platform::Anthropic).await, 321_000);
}
crate::both_backends!(journal_replay, super::a_killed_process_journal_is_applied_once_at_the_next_start);
