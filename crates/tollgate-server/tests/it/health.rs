use http::StatusCode;

use crate::util::test_app::TestApp;

async fn health_and_readiness(app: TestApp) {
    let r = app.get("/healthz").await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "ok"));
    let r = app.get("/readyz").await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "ready"));
}
crate::both_backends!(health_and_readiness_ok, super::health_and_readiness);

#[tokio::test]
async fn unknown_paths_serve_the_console() {
    let app = TestApp::sqlite().await;
    let r = app.get("/admin/users").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("<!doctype html"), "{}", r.text());
}

#[tokio::test]
async fn migrate_and_admin_create_from_the_binary() {
    let bin = env!("CARGO_BIN_EXE_tollgate");
    let db = tollgate_store::testing::TestDb::sqlite();
    let out = std::process::Command::new(bin).args(["migrate", "--database-url", &db.url()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let create = |pw: &str, promote: bool| {
        let mut args = vec!["admin", "create", "--email", "Root@Example.com", "--password", pw];
        if promote {
            args.push("--promote");
        }
        std::process::Command::new(bin).args(args).args(["--database-url", &db.url()]).output().unwrap()
    };
    let out = create("short", false);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));
    let out = create("long-enough-pw", false);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin root@example.com"));
    // Again without --promote: refused, the password is unchanged.
    let out = create("another-password", false);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--promote"), "{}", String::from_utf8_lossy(&out.stderr));
    // With --promote: the same account, re-passworded, and the output says what was ended.
    let out = create("another-password", true);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("promoted existing account") && said.contains("ended 0 session(s)"), "{said}");
    let store = db.open().await.unwrap();
    let admin = store.find_user_by_email("root@example.com").await.unwrap().unwrap();
    assert_eq!(admin.role, tollgate_store::Role::Admin);
    let hash = admin.password_hash.as_deref();
    assert!(hash.is_some());
    assert!(tollgate_server::console::accounts::verify_password("another-password", hash).await);
    assert!(!tollgate_server::console::accounts::verify_password("long-enough-pw", hash).await);
    assert_eq!(store.count_users().await.unwrap(), 1);
}

/// `tollgate --version` names the commit the binary was built from.
#[test]
fn version_names_the_git_revision() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate")).arg("--version").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let rev = text
        .trim()
        .strip_prefix(concat!("tollgate ", env!("CARGO_PKG_VERSION"), " ("))
        .and_then(|r| r.strip_suffix(')'));
    let rev = rev.unwrap_or_else(|| panic!("unexpected version line: {text}"));
    assert!(rev == "unknown" || (rev.len() == 12 && rev.bytes().all(|b| b.is_ascii_hexdigit())), "{text}");
}

/// `--log-format json` writes one JSON object per log line.
#[test]
fn json_logs_are_one_object_per_line() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("tollgate-json-logs-{}", std::process::id()));
    let db = format!("sqlite://{}", dir.join("t.db").display());
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0", "--database-url", &db, "--data-dir"])
        .arg(&dir)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Logs go to standard output, read on a thread so a server that never logs cannot hang the test.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut listening = None;
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(30)) {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if v["message"] == "tollgate listening" {
            listening = Some(v);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let v = listening.expect("a listening line");
    assert_eq!((v["level"].as_str(), v["backend"].as_str()), (Some("INFO"), Some("sqlite")));
    assert!(v["timestamp"].is_string() && v["addr"].is_string(), "{v}");
}
