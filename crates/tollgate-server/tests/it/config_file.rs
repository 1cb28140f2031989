//! Issue 16, configuration as code: a TOML file of settings, upstreams and price overrides is
//! validated as a whole (nothing is written when one value is wrong, and the error names its path),
//! applied by difference (applying it again changes nothing), read secrets from the environment,
//! and round-trips through `config export`; `tollgate serve --config` restarts from it.

use std::process::Command;

use tollgate_core::money::Money;
use tollgate_core::platform::Platform;
use tollgate_core::settings::Enforcement;
use tollgate_server::config_file::{self, ConfigError};
use tollgate_server::mock_upstream::{MOCK_KEY, MockUpstream};
use tollgate_store::testing::TestDb;

use crate::gateway::multiprocess::start;
use crate::util::gateway::{ANTHROPIC_COST_NANOS, MODEL, anthropic_prompt};
use crate::util::test_app::{TEST_SECRET_KEY, TestApp, journal_dir};

const FILE: &str = r#"
[settings]
quota_enforcement = "strict"
[settings.default_platform_quotas.anthropic]
daily = 12.000000001
weekly = 100

[[upstreams]]
name = "primary"
platform = "anthropic"
base_url = "http://127.0.0.1:9/"
api_key = { env = "PRIMARY_KEY" }

[prices."acme/model-1.5"]
platform = "openai"
input_per_mtok = 0.123456789
output_per_mtok = 2
"#;

fn env(name: &str) -> Option<String> {
    (name == "PRIMARY_KEY").then(|| "sk-primary-0123456789".to_owned())
}

async fn apply(app: &TestApp, text: &str, dry_run: bool) -> Result<Vec<String>, ConfigError> {
    let file = config_file::parse(text, &env)?;
    Ok(config_file::apply(&app.state, &file, dry_run).await?.changes)
}

async fn primary(app: &TestApp) -> tollgate_store::Upstream {
    let all = app.state.store.list_upstreams().await.unwrap();
    let stored = all.into_iter().find(|u| u.name == "primary").expect("primary is stored");
    let key = app.state.secrets.open(stored.api_key.expose()).unwrap();
    tollgate_store::Upstream { api_key: key.into(), ..stored }
}

async fn applies_by_difference_and_all_or_nothing(app: TestApp) {
    let changes = apply(&app, FILE, false).await.unwrap();
    assert_eq!(
        changes,
        [
            "settings: default_platform_quotas set",
            "settings: quota_enforcement set",
            "prices: + acme/model-1.5",
            "upstreams: + primary",
        ]
    );
    let settings = app.state.settings.get();
    assert_eq!(settings.enforcement, Enforcement::Strict);
    let limits = settings.system_quotas.get(Platform::Anthropic);
    assert_eq!(limits.daily, Some(Money::parse("12.000000001").unwrap()), "amounts stay exact");
    let up = primary(&app).await;
    assert_eq!(
        (up.base_url.as_str(), up.api_key.expose(), up.priority),
        ("http://127.0.0.1:9", "sk-primary-0123456789", 0)
    );
    let price = app.state.ledger.prices().table().get("acme/model-1.5").cloned().unwrap();
    assert_eq!(price.input_per_mtok.to_string(), "0.123456789");

    // The same file again: nothing to do.
    assert_eq!(apply(&app, FILE, false).await.unwrap(), Vec::<String>::new());

    // A change, dry: reported, not written. The key, left out, stays.
    let moved = FILE.replace("api_key = { env = \"PRIMARY_KEY\" }", "priority = 5\nenabled = false");
    assert_eq!(apply(&app, &moved, true).await.unwrap(), ["upstreams: ~ primary (enabled, priority)"]);
    assert_eq!(primary(&app).await.priority, 0);
    assert_eq!(apply(&app, &moved, false).await.unwrap(), ["upstreams: ~ primary (enabled, priority)"]);
    let up = primary(&app).await;
    assert_eq!((up.priority, up.enabled, up.api_key.expose()), (5, false, "sk-primary-0123456789"));

    // One wrong value anywhere: an error naming it, and nothing written (the settings before it
    // were valid).
    let refused = [
        (moved.replace("\"strict\"", "\"soft\"").replace("http://127.0.0.1:9/", "ftp://x"), "upstreams[0].base_url"),
        (moved.replace("\"strict\"", "\"soft\"").replace("priority = 5", "priorty = 5"), "upstreams[0].priorty"),
        (format!("{moved}\n[[upstreams]]\nname = \"primary\"\n"), "upstreams[1].name"),
        (
            format!("{moved}\n[[upstreams]]\nname = \"second\"\nplatform = \"openai\"\nbase_url = \"http://a\"\n"),
            "upstreams[1].api_key",
        ),
        (moved.replace("output_per_mtok = 2", "output_per_mtok = -2"), "prices.\"acme/model-1.5\".output_per_mtok"),
        (moved.replace("weekly = 100", "weekly = \"100\""), "settings.default_platform_quotas.anthropic.weekly"),
        (moved.replace("quota_enforcement", "quota_enforcment"), "settings.quota_enforcment"),
        (moved.replace("[settings]", "[setting]"), "setting"),
    ];
    for (text, path) in refused {
        let e = apply(&app, &text, false).await.expect_err(path);
        assert_eq!(e.path, path, "{e}");
    }
    assert_eq!(app.state.settings.get().enforcement, Enforcement::Strict);
    assert_eq!(app.state.store.list_upstreams().await.unwrap().len(), 1);

    // Export, then apply the export: nothing changes; no secret is written out.
    let exported = config_file::export(&app.state).await.unwrap();
    assert!(exported.contains("daily = 12.000000001") && exported.contains("name = \"primary\""), "{exported}");
    assert!(exported.contains("[prices.\"acme/model-1.5\"]") && exported.contains("input_per_mtok = 0.123456789"));
    assert!(!exported.contains("sk-primary"), "{exported}");
    assert_eq!(apply(&app, &exported, false).await.unwrap(), Vec::<String>::new(), "{exported}");

    // Changes are audited, without an actor.
    let audit = app.state.store.list_audit(None, 1, 100).await.unwrap();
    let actions: Vec<&str> = audit.entries.iter().filter(|e| e.actor_id.is_none()).map(|e| e.action.as_str()).collect();
    for action in ["settings.update", "price.update", "upstream.create", "upstream.update"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}
crate::both_backends!(applies_by_difference, super::applies_by_difference_and_all_or_nothing);

fn tollgate(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .args(["--database-url", &db.url()])
        .env("TOLLGATE_SECRET_KEY", TEST_SECRET_KEY)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// Black-box: `config apply`, then `serve --config` on the same file routes to the upstream and
/// charges the price it names; `config export` shows what the file set; a wrong file stops the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_starts_from_its_file() {
    let db = TestDb::sqlite();
    let app = TestApp::on(db.clone()).await;
    let mock = MockUpstream::start(&app.state.tasks, app.state.shutdown.clone(), false).await.unwrap();
    let c = app.caller("file@example.com", &[]).await;
    let dir = journal_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tollgate.toml");
    let text = format!(
        "[settings.default_platform_quotas.anthropic]\ndaily = 12.000000001\n\n\
         [[upstreams]]\nname = \"primary\"\nplatform = \"anthropic\"\nbase_url = \"{}\"\napi_key = {{ env = \"PRIMARY_KEY\" }}\n\n\
         [prices.\"{MODEL}\"]\nplatform = \"anthropic\"\ninput_per_mtok = 3\noutput_per_mtok = 15\n\
         cache_read_per_mtok = 0.3\ncache_write_5m_per_mtok = 3.75\ncache_write_1h_per_mtok = 6\n",
        mock.base_url()
    );
    std::fs::write(&path, &text).unwrap();
    let file = path.to_str().unwrap();
    let key = [("PRIMARY_KEY", MOCK_KEY)];

    let out = tollgate(&db, &["config", "apply", file, "--dry-run"], &key);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("upstreams: + primary") && stdout.contains("--dry-run"), "{out:?}");
    assert!(app.state.store.list_upstreams().await.unwrap().is_empty(), "a dry run writes nothing");

    let (server, base) =
        start(&db, &journal_dir(), &[("TOLLGATE_CONFIG", file), ("TOLLGATE_SECRET_KEY", TEST_SECRET_KEY), key[0]])
            .await;
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/messages"))
        .header("x-api-key", &c.secret)
        .header("content-type", "application/json")
        .body(anthropic_prompt(false, 50))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut spent = 0;
    for _ in 0..100 {
        spent = app.spent(c.user_id, Platform::Anthropic).await;
        if spent != 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(spent, ANTHROPIC_COST_NANOS, "charged at the file's price");
    drop(server);

    let out = tollgate(&db, &["config", "export"], &[]);
    let exported = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(exported.contains("daily = 12.000000001") && exported.contains(&mock.base_url()), "{exported}");
    let out = tollgate(&db, &["config", "apply", file], &key);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no changes"), "{out:?}");

    // A wrong file: the start stops, naming the value; without the variable, naming that.
    std::fs::write(&path, text.replace("input_per_mtok = 3", "input_per_mtok = \"3\"")).unwrap();
    let out = tollgate(&db, &["serve", "--config", file, "--listen", "127.0.0.1:0"], &key);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains(&format!("prices.{MODEL}.input_per_mtok")), "{stderr}");
    let out = tollgate(&db, &["config", "apply", file], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("upstreams[0].api_key: environment variable PRIMARY_KEY is not set"),
        "{stderr}"
    );
}
