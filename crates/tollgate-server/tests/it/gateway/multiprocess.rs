//! Two `tollgate serve` processes on one PostgreSQL database, load split across them: strict mode
//! never exceeds a limit, no charge is lost (one process is killed outright and restarted on its
//! settlement journal), and a limit changed through one process is enforced by the other on its
//! next request (limits are read per request in strict mode; see docs/quotas.md).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tollgate_core::platform::Platform;
use tollgate_core::settings::validate_changes;
use tollgate_store::testing::TestDb;

use crate::util::gateway::{ANTHROPIC_COST_NANOS, MODEL, anthropic_prompt, daily};
use crate::util::test_app::{TestApp, journal_dir};

pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `tollgate serve` process on `db` with its own journal and the extra environment `env`, once ready.
pub(crate) async fn start(db: &TestDb, journal: &std::path::Path, env: &[(&str, &str)]) -> (Server, String) {
    let port = free_port();
    let journal = journal.to_string_lossy();
    let child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database-url", &db.url()])
        .args(["--journal-dir", &journal])
        .env("TOLLGATE_SETTINGS_REFRESH_SECS", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child); // killed and reaped on drop, whatever happens below
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/readyz")).await.is_ok_and(|r| r.status() == 200) {
            return (server, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("tollgate serve did not become ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_quota() {
    let Some(db) = TestDb::postgres("it_two_processes").await else {
        eprintln!("skipped: TOLLGATE_TEST_PG_URL is not set");
        return;
    };
    // The test process seeds the database and hosts the mock upstream.
    let app = TestApp::on(db.clone()).await.with_mocks(false).await;
    let price = crate::util::gateway::test_price(Platform::Anthropic);
    app.state.store.upsert_price_override(MODEL, &price, jiff::Timestamp::now()).await.unwrap();
    let strict = validate_changes(r#"{"quota_enforcement":"strict"}"#).unwrap();
    app.state.store.save_settings(&strict, jiff::Timestamp::now()).await.unwrap();
    let c = app.caller("two@example.com", &daily(Platform::Anthropic, "0.05")).await;
    let (journal_a, journal_b) = (journal_dir(), journal_dir());
    let (server_a, a) = start(&db, &journal_a, &[]).await;
    let (server_b, b) = start(&db, &journal_b, &[]).await;

    let http = reqwest::Client::new();
    let body = anthropic_prompt(false, 50);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..120 {
        let url = format!("{}/v1/messages", if i % 2 == 0 { &a } else { &b });
        let (http, body, secret) = (http.clone(), body.clone(), c.secret.clone());
        set.spawn(async move {
            let r = http.post(url).header("x-api-key", secret).header("content-type", "application/json").body(body);
            r.send().await.unwrap().status().as_u16()
        });
    }
    let mut ok = 0i64;
    while let Some(s) = set.join_next().await {
        match s.unwrap() {
            200 => ok += 1,
            429 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    // Process a is killed outright (its last charges may exist only in its journal) and started
    // again on its journal; process b stops gracefully (it writes everything before exiting).
    drop(server_a);
    let status = Command::new("kill").args(["-TERM", &server_b.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    let mut server_b = server_b;
    assert!(server_b.0.wait().unwrap().success(), "b did not stop cleanly");
    let (_a, a) = start(&db, &journal_a, &[]).await;
    let (_b, b) = start(&db, &journal_b, &[]).await;
    let spent = app.spent(c.user_id, Platform::Anthropic).await;
    assert!(ok >= 1);
    assert!(spent <= 50_000_000, "spent {spent} exceeds the 0.05 USD limit");
    assert_eq!(spent, ok * ANTHROPIC_COST_NANOS, "a charge was lost or doubled");

    // A limit changed through one process (here: its database) is enforced by the other at once.
    let other = app.caller("three@example.com", &[]).await;
    let send = |base: &str| {
        http.post(format!("{base}/v1/messages"))
            .header("x-api-key", &other.secret)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    assert_eq!(send(&a).await.unwrap().status(), 200);
    app.state.store.upsert_for_user(other.user_id, &daily(Platform::Anthropic, "0")).await.unwrap();
    assert_eq!(send(&b).await.unwrap().status(), 403);
    assert_eq!(send(&a).await.unwrap().status(), 403);
}
