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
        ttfb_ms: None,
        client_request_id: None,
    }
}

async fn a_killed_process_journal_is_applied_once_at_the_next_start(app: TestApp) {
    let c = app.caller("journal@example.com", &daily(Platform::Anthropic, "1")).await;
    let dir = journal_dir();
    let now = Timestamp::now();
    {
        // What a process killed before its worker wrote anything leaves: three charges, one of them
        // appended twice (a retried append).
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

fn only_segment(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().ends_with(".jsonl"))
        .unwrap()
}

#[tokio::test]
async fn a_damaged_journal_stops_the_start_until_it_is_repaired() {
    let app = TestApp::sqlite().await;
    let c = app.caller("damaged@example.com", &[]).await;
    let dir = journal_dir();
    {
        let (journal, _) = Journal::open(&dir).unwrap();
        for (id, nanos) in [("d-1", 1_000), ("d-2", 20_000)] {
            journal.append(&Line::new(Timestamp::now(), &record(id, c.user_id, nanos))).unwrap();
        }
    }
    // One charge altered on disk, then a torn write.
    let segment = only_segment(&dir);
    let text = std::fs::read_to_string(&segment).unwrap().replacen("\"d-2\"", "\"d-X\"", 1);
    std::fs::write(&segment, format!("{text}{{\"at\":")).unwrap();

    let config = || GatewayConfig { journal_dir: Some(dir.clone()), ..GatewayConfig::default() };
    let started = tollgate_server::state::AppState::new(
        app.db.open().await.unwrap(),
        GatewayConfig { secret_key: Some(crate::util::test_app::TEST_SECRET_KEY.into()), ..config() },
    )
    .await;
    let err = started.err().map(|e| e.to_string()).unwrap_or_default();
    let name = segment.file_name().unwrap().to_string_lossy().into_owned();
    assert!(err.contains(&format!("{name} line 2: checksum mismatch")), "{err}");
    assert!(err.contains("tollgate journal repair"), "{err}");

    let bin = env!("CARGO_BIN_EXE_tollgate");
    let tool = |cmd: &str| {
        std::process::Command::new(bin)
            .args(["journal", cmd, "--journal-dir", dir.to_str().unwrap(), "--database-url", &app.db.url()])
            .output()
            .unwrap()
    };
    let checked = tool("check");
    let said = String::from_utf8_lossy(&checked.stdout).into_owned();
    assert!(!checked.status.success(), "{said}");
    assert!(said.contains("line 2: checksum mismatch") && said.contains("line 3: partial line"), "{said}");
    let repaired = tool("repair");
    let said = String::from_utf8_lossy(&repaired.stdout).into_owned();
    assert!(repaired.status.success(), "{said}{}", String::from_utf8_lossy(&repaired.stderr));
    assert!(said.contains("d-X") && said.contains("moved the damaged lines"), "every moved line is printed: {said}");
    let rejected = std::fs::read_to_string(format!("{}.rejected", segment.display())).unwrap();
    assert_eq!(rejected.lines().count(), 2, "{rejected}");
    assert!(tool("check").status.success());

    let restarted = TestApp::with_config(app.db.clone(), config()).await;
    assert_eq!(restarted.spent(c.user_id, Platform::Anthropic).await, 1_000, "the good line is applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_journal_makes_the_gateway_unready_until_a_write_succeeds() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let c = app.caller("full@example.com", &[]).await;
    let body = format!(r#"{{"model":"{MODEL}","max_tokens":8,"messages":[]}}"#);
    let headers = [("x-api-key", c.secret.as_str())];
    let ask = || app.post_json("/v1/messages", &headers, &body);
    assert_eq!(ask().await.status, 200);
    let journal = app.state.ledger.journal().unwrap().clone();
    journal.inject_write_failures(true);
    // The charge cannot be committed: the answer is withheld.
    let r = ask().await;
    assert!(r.status.is_server_error(), "{}", r.text());
    assert!(!r.text().contains("\"content\""), "an uncharged answer was released: {}", r.text());
    let ready = app.get("/readyz").await;
    assert_eq!((ready.status.as_u16(), ready.text().as_str()), (503, "settlement journal unwritable"));
    let r = ask().await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("billing_unavailable"), "{}", r.text());
    // The disk recovers: the next check's probe write succeeds.
    journal.inject_write_failures(false);
    assert_eq!(app.get("/readyz").await.status, 200);
    assert_eq!(ask().await.status, 200);
}
