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
