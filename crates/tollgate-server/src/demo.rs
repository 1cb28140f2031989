//! `tollgate demo`: a self-contained demo on SQLite with a seeded admin and a demo user.

use std::net::SocketAddr;
use std::path::PathBuf;

use jiff::Timestamp;
use tollgate_core::money::Money;
use tollgate_core::platform::{AuthSource, Platform};
use tollgate_core::quota::WindowLimits;
use tollgate_store::{NewApiKey, NewUpstream, NewUser, Store, UpstreamProtocol};

use crate::config::GatewayConfig;
use crate::console::accounts;
use crate::keys;
use crate::mock_upstream::{MOCK_KEY, MockUpstream};
use crate::state::AppState;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "tollgate-admin";
pub const USER_EMAIL: &str = "demo@example.com";
pub const USER_PASSWORD: &str = "tollgate-demo";
/// The demo user's API key. A fixed, public secret: the demo is for trying things on localhost.
pub const DEMO_API_KEY: &str = "tg-demo-0000000000000000000000000000000000000000";
/// Upstream accounts the demo (re)creates on every start, pointing at its mock upstreams.
const MOCK_PREFIX: &str = "demo-mock";

/// `tollgate demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, env = "TOLLGATE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Folder for the demo's SQLite database.
    #[arg(long, env = "TOLLGATE_DEMO_DIR", default_value = "data/demo")]
    pub dir: PathBuf,
}

/// Seeds the demo accounts (once), starts the mock upstreams and serves until Ctrl-C.
pub async fn run(
    args: DemoArgs,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let url = format!("sqlite://{}", args.dir.join("tollgate.db").display());
    let store = crate::files::connect_store(&url).await?;
    seed(&*store).await?;
    let config = GatewayConfig {
        journal_dir: Some(args.dir.join("tollgate.db.journal")),
        generated_key_file: Some(args.dir.join("secret.key")),
        ..GatewayConfig::default()
    };
    let state = AppState::new(store.clone(), config).await?;
    let mock = MockUpstream::start(&state.tasks, state.shutdown.clone(), false).await?;
    point_upstreams_at(&*store, &state.secrets, &mock.base_url()).await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    println!("{}", banner(&addr.to_string(), &url));
    crate::serve(listener, state, shutdown).await?;
    Ok(())
}

/// What the demo prints: where to go, who to log in as, and curl lines that work as printed.
pub fn banner(addr: &str, db_url: &str) -> String {
    let base = format!("http://{addr}");
    format!(
        r#"
Tollgate demo is running at {base}/

  Console, admin:  {ADMIN_EMAIL} / {ADMIN_PASSWORD}
  Console, user:   {USER_EMAIL} / {USER_PASSWORD}   (quotas per platform: 0.02 USD a day, 0.10 a week, 0.50 a month)
  Demo API key:    {DEMO_API_KEY}

The upstreams are built-in mocks that speak each provider's wire format. Try:

  curl -s {base}/v1/messages -H 'x-api-key: {DEMO_API_KEY}' -H 'content-type: application/json' \
    -d '{{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{{"role":"user","content":"Hello"}}]}}'

  curl -sN {base}/v1/chat/completions -H 'Authorization: Bearer {DEMO_API_KEY}' -H 'content-type: application/json' \
    -d '{{"model":"gpt-5","stream":true,"messages":[{{"role":"user","content":"Hello"}}]}}'

  curl -s '{base}/v1beta/models/gemini-2.5-flash:generateContent' -H 'x-goog-api-key: {DEMO_API_KEY}' \
    -H 'content-type: application/json' -d '{{"contents":[{{"parts":[{{"text":"Hello"}}]}}]}}'

  curl -sN '{base}/antigravity/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse' \
    -H 'x-goog-api-key: {DEMO_API_KEY}' -H 'content-type: application/json' -d '{{"contents":[{{"parts":[{{"text":"Hi"}}]}}]}}'

Each answer is charged against the demo user's quota; watch it on the dashboard. Response headers
x-tollgate-quota-* tell what is left. Database: {db_url}. Press Ctrl-C to stop.
"#
    )
}

/// (Re)creates one mock account per platform; antigravity also gets a Cloud Code (v1internal) one,
/// tried first for Gemini requests.
async fn point_upstreams_at(
    store: &dyn Store,
    secrets: &crate::secrets::SecretBox,
    base_url: &str,
) -> anyhow::Result<()> {
    for u in store.list_upstreams().await? {
        if u.name.starts_with(MOCK_PREFIX) {
            store.delete_upstream(u.id).await?;
        }
    }
    let mut accounts: Vec<(Platform, UpstreamProtocol)> =
        Platform::ALL.iter().map(|p| (*p, UpstreamProtocol::Native)).collect();
    accounts.push((Platform::Antigravity, UpstreamProtocol::V1Internal));
    for (platform, protocol) in accounts {
        let v1 = protocol == UpstreamProtocol::V1Internal;
        let new = NewUpstream {
            platform,
            name: if v1 {
                format!("{MOCK_PREFIX}-{platform}-cloudcode@demo-project")
            } else {
                format!("{MOCK_PREFIX}-{platform}")
            },
            base_url: base_url.to_owned(),
            api_key: tollgate_store::Secret::new(secrets.seal(MOCK_KEY)),
            enabled: true,
            priority: if v1 { 0 } else { 1 },
            protocol,
        };
        store.create_upstream(&new, Timestamp::now()).await?;
    }
    Ok(())
}

async fn seed(store: &dyn Store) -> anyhow::Result<()> {
    // Signup is closed on a fresh install; the demo opens it (once: an admin may close it again) so
    // its visitors can try registering. It runs on localhost with public passwords anyway.
    if !store.load_settings().await?.contains_key(tollgate_core::settings::REGISTRATION_ENABLED) {
        store
            .save_settings(
                &[(tollgate_core::settings::REGISTRATION_ENABLED.to_owned(), "true".to_owned())],
                Timestamp::now(),
            )
            .await?;
    }
    if store.find_user_by_email(ADMIN_EMAIL).await?.is_none() {
        accounts::create_admin(store, ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    }
    if store.find_user_by_email(USER_EMAIL).await?.is_none() {
        let mut new = NewUser::new(USER_EMAIL, AuthSource::Email);
        new.display_name = "Demo User".to_owned();
        new.password_hash = Some(accounts::hash_password(USER_PASSWORD).await?);
        // Small caps, so a few dozen demo requests show the bars fill up and the 429 arrive.
        let usd = |text| Money::parse(text).ok();
        let quotas: Vec<(Platform, WindowLimits)> = Platform::ALL
            .iter()
            .map(|p| {
                (*p, WindowLimits { five_hour: None, daily: usd("0.02"), weekly: usd("0.1"), monthly: usd("0.5") })
            })
            .collect();
        store.create_user(&new, &quotas, Timestamp::now()).await?;
    }
    let hash = keys::hash_secret(DEMO_API_KEY);
    if store.find_api_key_by_hash(&hash).await?.is_none()
        && let Some(user) = store.find_user_by_email(USER_EMAIL).await?
    {
        let key = NewApiKey {
            user_id: user.id,
            name: "demo key".to_owned(),
            prefix: keys::shown_prefix(DEMO_API_KEY),
            key_hash: hash,
            platforms: None,
            limits: Vec::new(),
            lifetime_limit: None,
        };
        store.create_api_key(&key, Timestamp::now()).await?;
    }
    Ok(())
}
