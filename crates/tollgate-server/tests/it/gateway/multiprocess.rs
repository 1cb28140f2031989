//! Two `tollgate serve` processes on one PostgreSQL database, load split across them: strict mode
//! never exceeds a limit, no charge is lost (one process is killed outright and restarted on its
//! settlement journal), and a limit changed through one process is enforced by the other on its
//! next request (limits are read per request in strict mode; see docs/quotas.md); a key's own cap holds
//! across both processes too.

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
    let (server, base, _) = spawn(db, journal, env, &[], false).await;
    (server, base)
}

/// [`start`] with `--log-format json` and its standard output, one line per message (read on a
/// thread, so a server that never logs cannot hang a test).
pub(crate) async fn start_logging(
    db: &TestDb,
    journal: &std::path::Path,
) -> (Server, String, std::sync::mpsc::Receiver<String>) {
    let (server, base, lines) = spawn(db, journal, &[("RUST_LOG", "info")], &["--log-format", "json"], true).await;
    (server, base, lines.unwrap())
}

async fn spawn(
    db: &TestDb,
    journal: &std::path::Path,
    env: &[(&str, &str)],
    global: &[&str],
    capture: bool,
) -> (Server, String, Option<std::sync::mpsc::Receiver<String>>) {
    let port = free_port();
    let journal = journal.to_string_lossy();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(global)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database-url", &db.url()])
        .args(["--journal-dir", &journal])
        .env("TOLLGATE_SETTINGS_REFRESH_SECS", "1")
        .envs(env.iter().copied())
        .stdout(if capture { Stdio::piped() } else { Stdio::null() })
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = child.stdout.take().map(|stdout| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        rx
    });
    let server = Server(child); // killed and reaped on drop, whatever happens below
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/readyz")).await.is_ok_and(|r| r.status() == 200) {
            return (server, base, lines);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("tollgate serve did not become ready");
}

/// The test process's app on `db`, hosting the mock upstreams, with the test price stored where
/// the other processes read it.
pub(crate) async fn seeded(db: &TestDb) -> TestApp {
    let app = TestApp::on(db.clone()).await.with_mocks(false).await;
    let price = crate::util::gateway::test_price(Platform::Anthropic);
    app.state.store.upsert_price_override(MODEL, &price, jiff::Timestamp::now()).await.unwrap();
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_quota() {
    let Some(db) = TestDb::postgres("it_two_processes").await else {
        eprintln!("skipped: TOLLGATE_TEST_PG_URL is not set");
        return;
    };
    // The test process seeds the database and hosts the mock upstream.
    let app = seeded(&db).await;
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

/// Issue 15 on two processes: a key's cap below its user's stops that key on both processes
/// (strict mode: never past the cap, whichever process answers), not the user's other key, and
/// `GET /v1/usage` on the other process shows the key's spend as stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_key_budget() {
    let Some(db) = TestDb::postgres("it_two_processes_key").await else {
        eprintln!("skipped: TOLLGATE_TEST_PG_URL is not set");
        return;
    };
    let app = seeded(&db).await;
    let strict = validate_changes(r#"{"quota_enforcement":"strict"}"#).unwrap();
    app.state.store.save_settings(&strict, jiff::Timestamp::now()).await.unwrap();
    let admin = app.admin().await;
    let user = app.user(&admin, "twokeys@example.com").await;
    let path = format!("/api/v1/admin/users/{}/platform-quotas", user.id);
    let body = r#"{"quotas":[{"platform":"anthropic","daily_limit_usd":1}]}"#;
    assert_eq!(app.call("PUT", &path, Some(&admin.token), Some(body)).await.status, 200);
    let key = |body: &'static str| {
        let app = &app;
        let token = user.token.clone();
        async move {
            let r = app.call("POST", "/api/v1/user/api-keys", Some(&token), Some(body)).await;
            assert_eq!(r.status, 201, "{}", r.text());
            let j = r.json();
            (j["id"].as_i64().unwrap(), j["secret"].as_str().unwrap().to_owned())
        }
    };
    let (capped, capped_secret) =
        key(r#"{"name":"capped","quotas":[{"platform":"anthropic","daily_limit_usd":0.02}]}"#).await;
    let (_, free_secret) = key(r#"{"name":"free"}"#).await;
    let (_a_server, a) = start(&db, &journal_dir(), &[]).await;
    let (_b_server, b) = start(&db, &journal_dir(), &[]).await;

    let http = reqwest::Client::new();
    let body = anthropic_prompt(false, 50);
    let send = |base: &str, secret: &str| {
        http.post(format!("{base}/v1/messages"))
            .header("x-api-key", secret)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    let mut set = tokio::task::JoinSet::new();
    for i in 0..80 {
        let r = send(if i % 2 == 0 { &a } else { &b }, &capped_secret);
        set.spawn(async move {
            let r = r.await.unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        });
    }
    let mut ok = 0i64;
    while let Some(s) = set.join_next().await {
        match s.unwrap() {
            (200, _) => ok += 1,
            (429, text) => assert!(text.contains("key_quota_exhausted"), "{text}"),
            (other, text) => panic!("unexpected status {other}: {text}"),
        }
    }
    assert!(ok >= 1);
    // Holds of the burst may have refused a request that fits once they are settled: spend the
    // rest one request at a time, alternating processes, until the cap refuses. (A hold lasts until
    // its process has written the charge, a few milliseconds after the answer: the pause lets the
    // other process see the charge instead of the larger hold.)
    for i in 0.. {
        assert!(i < 40, "the capped key was never refused");
        tokio::time::sleep(Duration::from_millis(200)).await;
        match send(if i % 2 == 0 { &a } else { &b }, &capped_secret).await.unwrap().status().as_u16() {
            200 => ok += 1,
            429 => break,
            other => panic!("unexpected status {other}"),
        }
    }
    // Both processes wrote everything they answered once their settlement journals are applied.
    let spent_by_key = || async {
        for _ in 0..100 {
            let row = app.state.store.get_key_quota(capped, Platform::Anthropic).await.unwrap();
            let n = row.map_or(0, |r| r.usage[tollgate_core::window::QuotaWindow::Daily.index()].usage.nanos());
            if n == ok * ANTHROPIC_COST_NANOS {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the key's row never reached {ok} answers");
    };
    let spent = spent_by_key().await;
    assert!(spent <= 20_000_000, "the key spent {spent} nano-USD of a 0.02 USD cap");
    assert_eq!(app.spent(user.id, Platform::Anthropic).await, spent, "the user is charged what the key is");
    // The capped key is refused on both processes; the user's other key passes on both.
    for base in [&a, &b] {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(send(base, &capped_secret).await.unwrap().status(), 429);
        assert_eq!(send(base, &free_secret).await.unwrap().status(), 200);
    }
    // What the key reads about itself on the other process is what the database holds.
    let usage: serde_json::Value = http
        .get(format!("{b}/v1/usage"))
        .header("x-api-key", &capped_secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let daily = &usage["key"]["platform_quotas"][0];
    assert_eq!(
        daily["daily_usage_usd"].to_string(),
        tollgate_core::money::Money::from_nanos(spent).unwrap().to_string()
    );
    assert_eq!(daily["daily_limit_usd"].to_string(), "0.02");
}
