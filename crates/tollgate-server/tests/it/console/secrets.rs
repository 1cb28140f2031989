//! Secrets at rest: upstream API keys and OAuth client secrets are stored encrypted; a missing or
//! wrong key is a clear error at start; plaintext rows are encrypted at start; rotation.

use std::os::unix::fs::PermissionsExt as _;

use http::StatusCode;
use jiff::Timestamp;
use tollgate_core::platform::Platform;
use tollgate_server::config::GatewayConfig;
use tollgate_server::secrets::{SecretBox, key, stored};
use tollgate_server::state::AppState;
use tollgate_store::testing::TestDb;
use tollgate_store::{NewUpstream, UpstreamProtocol};

use crate::util::test_app::{TEST_SECRET_KEY, TestApp, journal_dir};

fn config_with(secret_key: Option<&str>, generated: Option<std::path::PathBuf>) -> GatewayConfig {
    GatewayConfig {
        journal_dir: Some(journal_dir()),
        secret_key: secret_key.map(Into::into),
        generated_key_file: generated,
        ..GatewayConfig::default()
    }
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

async fn start_error(db: &TestDb, config: GatewayConfig) -> String {
    match AppState::new(db.open().await.unwrap(), config).await {
        Ok(_) => panic!("the app started"),
        Err(e) => e.to_string(),
    }
}

async fn secrets_are_encrypted_at_rest(app: TestApp) {
    let admin = app.admin().await;
    let body =
        r#"{"platform":"openai","name":"prod-openai","base_url":"https://x.example","api_key":"sk-very-secret-9876"}"#;
    let r = app.call("POST", "/api/v1/admin/upstreams", Some(&admin.token), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["api_key_masked"], "sk-…9876");
    app.put_settings(&admin, r#"{"oauth_github":{"client_id":"gid","client_secret":"gh-client-secret"}}"#).await;

    let raw = app.state.store.list_upstreams().await.unwrap();
    let key = raw[0].api_key.expose();
    assert!(key.starts_with("enc:v1:") && !key.contains("sk-very"), "{key}");
    let settings = app.state.store.load_settings().await.unwrap();
    let github = &settings["oauth_github"];
    assert!(github.contains("enc:v1:") && !github.contains("gh-client-secret"), "{github}");
    // Read back decrypted where they are used.
    assert_eq!(
        app.state.settings.get().oauth[&tollgate_core::platform::AuthSource::GitHub].client_secret.as_deref(),
        Some("gh-client-secret")
    );
    let listed = app.get_as("/api/v1/admin/upstreams", &admin.token).await.json();
    assert_eq!(listed["upstreams"][0]["api_key_masked"], "sk-…9876");

    // The wrong key: the start fails, naming the upstream.
    let wrong = key::generate();
    let e = start_error(&app.db, config_with(Some(&wrong), None)).await;
    assert!(e.contains("prod-openai") && e.contains("cannot be decrypted"), "{e}");
    // No key, and the default key file missing: no new key is generated over encrypted rows.
    let dir = journal_dir();
    let e = start_error(&app.db, config_with(None, Some(dir.join("secret.key")))).await;
    assert!(e.contains("TOLLGATE_SECRET_KEY") && e.contains("encrypted secrets"), "{e}");
    assert!(!dir.join("secret.key").exists());

    // Rotation re-encrypts everything; afterwards only the new key opens them.
    let old = SecretBox::new(&key::parse(TEST_SECRET_KEY, "t").unwrap());
    let new_text = key::generate();
    let new = SecretBox::new(&key::parse(&new_text, "t").unwrap());
    assert_eq!(stored::rotate(&*app.state.store, &old, &new).await.unwrap(), (1, 1));
    let e = start_error(&app.db, config_with(Some(TEST_SECRET_KEY), None)).await;
    assert!(e.contains("prod-openai"), "{e}");
    let rotated = AppState::new(app.db.open().await.unwrap(), config_with(Some(&new_text), None)).await.unwrap();
    assert_eq!(
        rotated.settings.get().oauth[&tollgate_core::platform::AuthSource::GitHub].client_secret.as_deref(),
        Some("gh-client-secret")
    );
    rotated.shutdown.cancel();
}
crate::both_backends!(upstream_keys_and_oauth_secrets_are_encrypted, super::secrets_are_encrypted_at_rest);

#[tokio::test]
async fn plaintext_rows_are_encrypted_at_start_and_a_fresh_install_generates_its_key() {
    let db = TestDb::sqlite();
    let store = db.open().await.unwrap();
    let old_row = NewUpstream {
        platform: Platform::Anthropic,
        name: "legacy".into(),
        base_url: "http://127.0.0.1:9".into(),
        api_key: "sk-legacy-plain".into(),
        enabled: true,
        priority: 0,
        protocol: UpstreamProtocol::Native,
    };
    store.create_upstream(&old_row, Timestamp::now()).await.unwrap();
    let dir = journal_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("secret.key");
    let app = AppState::new(store.clone(), config_with(None, Some(key_file.clone()))).await.unwrap();
    assert_eq!(mode(&key_file), 0o600, "the generated key file is private");
    let sealed = store.list_upstreams().await.unwrap()[0].api_key.expose().to_owned();
    assert!(sealed.starts_with("enc:v1:"), "{sealed}");
    assert_eq!(app.secrets.open(&sealed).unwrap(), "sk-legacy-plain");
    app.shutdown.cancel();
    // The next start reads the same file.
    let again = AppState::new(store, config_with(None, Some(key_file))).await.unwrap();
    assert_eq!(again.secrets.open(&sealed).unwrap(), "sk-legacy-plain");
    again.shutdown.cancel();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn database_journal_and_key_files_are_private() {
    let dir = journal_dir();
    let db_path = dir.join("sub").join("t.db");
    let url = format!("sqlite://{}", db_path.display());
    let store = tollgate_server::files::connect_store(&url).await.unwrap();
    store.count_users().await.unwrap();
    let app = TestApp::with_config(
        TestDb::Sqlite { url: url.clone() },
        GatewayConfig { journal_dir: Some(dir.join("journal")), ..GatewayConfig::default() },
    )
    .await;
    for suffix in ["", "-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", db_path.display()));
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    for entry in std::fs::read_dir(dir.join("journal")).unwrap() {
        let p = entry.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    app.stop().await;
    // An existing world-readable database is narrowed at start.
    std::fs::set_permissions(&db_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    tollgate_server::files::connect_store(&url).await.unwrap();
    assert_eq!(mode(&db_path), 0o600);
    let _ = std::fs::remove_dir_all(dir);
}
